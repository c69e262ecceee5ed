//! A job's result with its URL results fetched, whatever its kind.

use serde_json::Value;

use super::{classify::Classify, fetch_result, fetch_url, split::Split, url_of, Operation};
use crate::{
    error::Result,
    transport::RequestOptions,
    types::{
        ExtractResponseCitations, ExtractResponseResult, JobResult, ParseResponse,
        ParseResponseResult, PipelineResultParse,
    },
    Reducto,
};

impl JobResult {
    /// This result with every URL result in it fetched (without the
    /// Reducto key), as `run` and `run_job(..).wait()` hand results back:
    /// for a result from `client.job().get` or `client.job().wait`.
    /// Reducto returns a URL instead of a large result (or always, with
    /// `force_url_result`). An edit's document stays at its URL (it is a
    /// file, not JSON).
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto, job_id: String) -> Result<(), reducto::Error> {
    /// let job = client.job().wait(&job_id).await?;
    /// if let Some(result) = job.result {
    ///     let inline = result.resolve(&client).await?;
    ///     println!("{inline:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resolve(self, client: &Reducto) -> Result<JobResult> {
        Ok(match self {
            JobResult::ParseResponse(parsed) => {
                JobResult::ParseResponse(resolve_parse(client, parsed).await?)
            }
            JobResult::SplitResponse(split) => {
                JobResult::SplitResponse(Split::finish(client.clone(), split).await?)
            }
            JobResult::ClassifyResponse(classified) => JobResult::ClassifyResponse(
                Classify::finish(client.clone(), classified).await?.response,
            ),
            JobResult::ExtractResponse(mut extract) => {
                if let ExtractResponseResult::UrlResult(url) = &extract.result {
                    extract.result = ExtractResponseResult::Array(fetch_result(client, url).await?);
                }
                if let Some(ExtractResponseCitations::UrlResult(url)) = &extract.citations {
                    let citations = fetch_result(client, url).await?;
                    extract.citations = Some(ExtractResponseCitations::Array(citations));
                }
                JobResult::ExtractResponse(extract)
            }
            JobResult::V3ExtractResponse(extract) => {
                // The v3 result is any JSON; a URL result is one shaped
                // `{type: "url", url}`.
                let mut value = serde_json::to_value(&extract).unwrap_or(Value::Null);
                match url_of(value.get("result")) {
                    Some(url) => {
                        value["result"] =
                            fetch_url(client, &RequestOptions::default(), &url).await?;
                        serde_json::from_value(value)
                            .map(JobResult::V3ExtractResponse)
                            .unwrap_or(JobResult::V3ExtractResponse(extract))
                    }
                    None => JobResult::V3ExtractResponse(extract),
                }
            }
            JobResult::PipelineResponse(mut pipeline) => {
                if let Some(split) = pipeline.result.split.take() {
                    pipeline.result.split = Some(Split::finish(client.clone(), split).await?);
                }
                pipeline.result.parse = match pipeline.result.parse.take() {
                    Some(PipelineResultParse::ParseResponse(parsed)) => Some(
                        PipelineResultParse::ParseResponse(resolve_parse(client, parsed).await?),
                    ),
                    Some(PipelineResultParse::Array(all)) => {
                        let mut resolved = Vec::with_capacity(all.len());
                        for parsed in all {
                            resolved.push(resolve_parse(client, parsed).await?);
                        }
                        Some(PipelineResultParse::Array(resolved))
                    }
                    None => None,
                };
                JobResult::PipelineResponse(pipeline)
            }
            other => other,
        })
    }
}

async fn resolve_parse(client: &Reducto, mut parsed: ParseResponse) -> Result<ParseResponse> {
    if matches!(parsed.result, ParseResponseResult::UrlResult(_)) {
        let full = client.parse().full_result(&parsed).await?;
        parsed.result = ParseResponseResult::FullResult(full);
    }
    Ok(parsed)
}
