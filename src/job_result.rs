//! A job as `GET /job/{id}` returns it, with its result typed by the job's
//! kind.
//!
//! The spec describes a job's `result` as a `oneOf` with a discriminator on
//! `response_type`. Decoding it as an untagged union (try each variant in
//! turn) would take one kind for another when their shapes overlap, and a
//! result that fits none would fail with "did not match any variant". Here the
//! variant is chosen from what the result says it is (`response_type`, else
//! the job's `type`), and a decode failure names the JSON path that failed.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

use crate::types::{
    ChartResponse, ClassifyResponse, EditResponse, ErrorDetail, ExtractResponse, JobStatus,
    JobType, ParseResponse, PipelineResponse, SplitResponse, V3ExtractResponse,
};

/// A job as `GET /job/{job_id}` returns it: status, progress, and the
/// result once completed.
///
/// ```
/// use reducto::types::{Job, JobResult, JobStatus};
///
/// let job: Job = serde_json::from_str(r#"{"status": "Completed", "type": "Classify",
///     "result": {"response_type": "classify", "job_id": "c1",
///                "result": {"category": "invoice"}}}"#).unwrap();
/// assert_eq!(job.status, JobStatus::Completed);
/// assert!(matches!(job.result, Some(JobResult::ClassifyResponse(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawJob")]
#[non_exhaustive]
pub struct Job {
    /// The state of the job.
    pub status: JobStatus,
    /// The result, once completed, typed by the job's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    /// Progress as the server reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    /// Why the job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The structured error of a failed job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
    /// What kind of work the job does.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<JobType>,
    /// Pages processed so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_pages: Option<i64>,
    /// Pages in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_pages: Option<i64>,
    /// Seconds the job took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// When the job was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The request the job was created with, as JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_config: Option<String>,
    /// Storage details, as the server sends them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Value>,
    /// Where the job came from, as the server sends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
}

/// The wire form of a job, before its result is decoded by kind.
#[derive(Deserialize)]
struct RawJob {
    status: JobStatus,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    progress: Option<f64>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    error: Option<ErrorDetail>,
    #[serde(default, rename = "type")]
    type_: Option<JobType>,
    #[serde(default)]
    num_pages: Option<i64>,
    #[serde(default)]
    total_pages: Option<i64>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    raw_config: Option<String>,
    #[serde(default)]
    bucket: Option<Value>,
    #[serde(default)]
    source: Option<Value>,
}

impl TryFrom<RawJob> for Job {
    type Error = String;

    fn try_from(raw: RawJob) -> Result<Job, String> {
        let result = match raw.result {
            None | Some(Value::Null) => None,
            Some(value) => Some(JobResult::decode(value, raw.type_.as_ref())?),
        };
        Ok(Job {
            status: raw.status,
            result,
            progress: raw.progress,
            reason: raw.reason,
            error: raw.error,
            type_: raw.type_,
            num_pages: raw.num_pages,
            total_pages: raw.total_pages,
            duration: raw.duration,
            created_at: raw.created_at,
            raw_config: raw.raw_config,
            bucket: raw.bucket,
            source: raw.source,
        })
    }
}

/// A completed job's result, by kind. Match on it, or use
/// [`Reducto`](crate::Reducto)'s typed waits (`run_job(..).wait()`), which
/// hand back the one kind they expect.
// Unboxed like the spec's union it replaces (patterns stay plain); one
// result per polled job, so the size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum JobResult {
    /// `response_type: parse`.
    ParseResponse(ParseResponse),
    /// `response_type: extract` (the extract API before v3).
    ExtractResponse(ExtractResponse),
    /// `response_type: v3_extract`.
    V3ExtractResponse(V3ExtractResponse),
    /// `response_type: split`.
    SplitResponse(SplitResponse),
    /// `response_type: classify`.
    ClassifyResponse(ClassifyResponse),
    /// `response_type: edit`.
    EditResponse(EditResponse),
    /// `response_type: pipeline`.
    PipelineResponse(PipelineResponse),
    /// `response_type: chart`.
    ChartResponse(ChartResponse),
    /// A kind this version of the crate does not know, kept as sent.
    Other(Value),
}

impl JobResult {
    /// Decodes a result by the kind it names: its `response_type`, else the
    /// kind the spec gives as that field's default for the job's `type`
    /// (older servers send no `response_type`), else a parse result (the
    /// only kind the first API version had). An unknown kind is kept as
    /// [`JobResult::Other`]; a known kind that does not decode is an error
    /// naming the path that failed.
    pub(crate) fn decode(value: Value, job_type: Option<&JobType>) -> Result<JobResult, String> {
        let named = value
            .get("response_type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let kind = match (&named, job_type) {
            (Some(kind), _) => kind.as_str(),
            (None, Some(JobType::Parse)) | (None, None) => "parse",
            (None, Some(JobType::Extract)) => "extract",
            (None, Some(JobType::Split)) => "split",
            (None, Some(JobType::Classify)) => "classify",
            (None, Some(JobType::Edit)) => "edit",
            (None, Some(JobType::Pipeline)) => "pipeline",
            (None, Some(JobType::Chart)) => "chart",
            (None, Some(JobType::Other(_))) => return Ok(JobResult::Other(value)),
        };
        fn typed<T: DeserializeOwned>(
            kind: &str,
            value: Value,
            wrap: fn(T) -> JobResult,
        ) -> Result<JobResult, String> {
            decode_at(&value)
                .map(wrap)
                .map_err(|e| format!("the {kind} result at result.{e}"))
        }
        match kind {
            "parse" => typed(kind, value, JobResult::ParseResponse),
            "extract" => typed(kind, value, JobResult::ExtractResponse),
            "v3_extract" => typed(kind, value, JobResult::V3ExtractResponse),
            "split" => typed(kind, value, JobResult::SplitResponse),
            "classify" => typed(kind, value, JobResult::ClassifyResponse),
            "edit" => typed(kind, value, JobResult::EditResponse),
            "pipeline" => typed(kind, value, JobResult::PipelineResponse),
            "chart" => typed(kind, value, JobResult::ChartResponse),
            _ => Ok(JobResult::Other(value)),
        }
    }
}

impl<'de> Deserialize<'de> for JobResult {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        JobResult::decode(value, None).map_err(serde::de::Error::custom)
    }
}

/// A decode failure inside a JSON value: where, and what the decoder said.
#[derive(Debug)]
pub(crate) struct PathError {
    pub(crate) path: String,
    pub(crate) source: serde_json::Error,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.source)
    }
}

/// `serde_json::from_value`, naming the path that failed.
pub(crate) fn decode_at<T: DeserializeOwned>(value: &Value) -> Result<T, PathError> {
    // Tracking the path costs on every field; a success does not need it,
    // so it is tracked only to say where a failure is (the same
    // deserializer fails at the same place the second time).
    if let Ok(decoded) = T::deserialize(value) {
        return Ok(decoded);
    }
    serde_path_to_error::deserialize(value).map_err(|e| PathError {
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_kind_comes_from_response_type_not_from_the_shape() {
        // A classify result in a job whose `type` says Split: response_type wins.
        let job: Job = serde_json::from_value(json!({
            "status": "Completed", "type": "Split",
            "result": {"response_type": "classify", "job_id": "c", "result": {"category": "a"}}
        }))
        .unwrap();
        assert!(matches!(job.result, Some(JobResult::ClassifyResponse(_))));
    }

    #[test]
    fn a_bad_result_names_its_kind_and_path() {
        let err = serde_json::from_value::<Job>(json!({
            "status": "Completed",
            "result": {"response_type": "split", "usage": {"num_pages": "two"},
                       "result": {"splits": [], "section_mapping": null}}
        }))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("split result at result.usage.num_pages"),
            "{err}"
        );
        assert!(err.contains("invalid type: string \"two\""), "{err}");
        assert!(!err.contains("did not match any variant"), "{err}");
    }

    #[test]
    fn every_kind_the_spec_names_decodes_into_its_variant() {
        // A chart job (new in v1.12.20) with no `response_type`: the job's
        // type picks the variant, and the chart is not kept raw.
        let job: Job = serde_json::from_value(json!({
            "status": "Completed", "type": "Chart",
            "result": {"job_id": "c", "result": {
                "chart_data": {"series": []}, "summary": "a bar chart",
                "reconstruction_url": "https://x/c.png", "verified": true
            }}
        }))
        .unwrap();
        let Some(JobResult::ChartResponse(chart)) = &job.result else {
            panic!("not a chart: {:?}", job.result)
        };
        assert_eq!(chart.result.summary, "a bar chart");
        // The same result named by its `response_type`.
        let named: Job = serde_json::from_value(json!({
            "status": "Completed",
            "result": {"response_type": "chart", "job_id": "c", "result": {
                "chart_data": {}, "summary": "s", "reconstruction_url": "u", "verified": false
            }}
        }))
        .unwrap();
        assert!(matches!(named.result, Some(JobResult::ChartResponse(_))));
    }

    #[test]
    fn unknown_kinds_are_kept_raw() {
        let raw = json!({"response_type": "translate", "text": "hola"});
        let job: Job = serde_json::from_value(
            json!({"status": "Completed", "type": "Translate", "result": raw}),
        )
        .unwrap();
        assert_eq!(job.result, Some(JobResult::Other(raw)));
        assert_eq!(job.type_, Some(JobType::Other("Translate".into())));
    }
}
