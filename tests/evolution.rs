//! An old build decodes responses of an evolved API.
//!
//! The `reducto` crate as built today (its public types, from today's
//! `openapi.yaml`) reads the answers of a newer Reducto: new job statuses,
//! job types and block types, and new fields of every shape at every level,
//! both the ones v1.12.20 really added over v1.11.57 (`error`,
//! `response_type`, `document_properties`, `merged_tables`, the usage
//! breakdowns, job type `Chart`) and the shapes `reducto_codegen::evolve`
//! adds (nullable, arrays of nullable items, maps of unions, date-times,
//! nested objects). Where a type is open the new value is kept as sent;
//! everything the old build knows still decodes to the same values.
//! (`reducto-evolution-check` proves the other direction: the evolved spec
//! itself generates, compiles and decodes.)

use reducto::types::{BlockType, Job, JobResult, JobStatus, JobType, JobsResponse, ParseResult};
use serde_json::{json, Value};

/// A status, job type and block type no version of the spec lists; a space
/// in it, as Reducto's own block types have.
const NEW_VALUE: &str = "Added Later";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// New fields of every shape, as a newer API adds them to any object.
fn new_fields() -> Value {
    json!({
        "evolved_note": null,
        "evolved_ref": { "kind": "k", "weight": 0.5 },
        "evolved_scores": [0.25, null, 1.0],
        "evolved_map": { "s": "text", "i": 7, "d": { "kind": "detail" } },
        "evolved_at": "2026-11-29T13:00:00Z",
        "evolved_nested": { "label": "outer", "inner": { "depth": 2 } },
        "evolved_level": 4,
    })
}

fn add(object: &mut Value, fields: &Value) {
    let object = object.as_object_mut().expect("an object");
    for (key, value) in fields.as_object().unwrap() {
        object.insert(key.clone(), value.clone());
    }
}

/// A completed parse job as a newer API answers `GET /job`.
fn evolved_job() -> Value {
    let mut job = fixture("job_completed_parse.json");
    job["status"] = json!(NEW_VALUE);
    job["type"] = json!("Chart");
    add(&mut job, &new_fields());
    // v1.12.20's ErrorDetail, with an error name this build does not know
    // (ErrorCode is open).
    job["error"] = json!({ "code": 206, "name": "PartialResult", "message": "2 pages skipped" });
    let parsed = &mut job["result"];
    add(parsed, &new_fields());
    parsed["response_type"] = json!("parse");
    parsed["document_properties"] = json!({ "title": "Annual Report", "author": null });
    let usage = &mut parsed["usage"];
    // A model, tier and billing category no spec lists: each would make the
    // whole result undecodable if its enum were closed.
    usage["usage_breakdown"] = json!({
        "parse_model": NEW_VALUE, "tier": NEW_VALUE, "parse_pages": 3, "agentic_pages": 1
    });
    usage["non_empty_cell_count"] = json!(12);
    usage["page_billing_breakdown"] = json!({ "1": ["page", NEW_VALUE], "2": ["chart_agent"] });
    let chunk = &mut parsed["result"]["chunks"][0];
    add(chunk, &new_fields());
    let block = &mut chunk["blocks"][0];
    block["type"] = json!(NEW_VALUE);
    let bbox = json!({ "left": 0.1, "top": 0.2, "width": 0.5, "height": 0.1, "page": 1 });
    block["merged_tables"] = json!([{ "content": "| a |", "bbox": bbox }]);
    add(block, &new_fields());
    add(&mut block["bbox"], &new_fields());
    job
}

#[test]
fn job_of_a_newer_api_keeps_new_values_and_known_ones() {
    let job: Job = serde_json::from_value(evolved_job()).expect("the old build decodes it");
    assert_eq!(job.status, JobStatus::Other(NEW_VALUE.into()));
    assert!(!job.status.is_terminal(), "an unknown status is not final");
    // "Chart" is new in v1.12.20: kept as sent whether or not this build knows it.
    assert_eq!(job.type_.as_ref().map(JobType::as_str), Some("Chart"));
    assert_eq!(job.progress, Some(100.0));

    // The new fields did not push the result into another union variant.
    let Some(JobResult::ParseResponse(parsed)) = &job.result else {
        panic!("not a parse result: {:?}", job.result);
    };
    assert_eq!(parsed.job_id, "9d3c6a1e-52f4-4b7a-8e0d-6f1b2a3c4d5e");
    assert_eq!(parsed.usage.num_pages, 3);
    let ParseResult::FullResult(full) = &parsed.result else {
        panic!("not a full result");
    };
    let block = &full.chunks[0].blocks[0];
    assert_eq!(block.type_, BlockType::Other(NEW_VALUE.into()));
    assert_eq!(block.content, "Acme Corp Annual Report 2024");
    assert_eq!(block.bbox.original_page, Some(3));
    assert_eq!(full.chunks[0].blocks[1].type_, BlockType::SectionHeader);

    // The new values go back out as they came.
    let again = serde_json::to_value(&job).unwrap();
    assert_eq!(again["status"], NEW_VALUE);
    assert_eq!(again["type"], "Chart");
    assert_eq!(
        again["result"]["result"]["chunks"][0]["blocks"][0]["type"],
        NEW_VALUE
    );
}

#[test]
fn jobs_page_of_a_newer_api_keeps_every_new_value() {
    let mut page = fixture("jobs_page.json");
    add(&mut page, &new_fields());
    let jobs = page["jobs"].as_array_mut().unwrap();
    let known = jobs.len();
    for job in jobs.iter_mut() {
        add(job, &new_fields());
    }
    let mut newer = jobs[0].clone();
    newer["status"] = json!(NEW_VALUE);
    newer["type"] = json!("Chart");
    newer["job_id"] = json!("new-1");
    jobs.push(newer);

    let page: JobsResponse = serde_json::from_value(page).expect("the old build decodes it");
    assert_eq!(page.jobs.len(), known + 1);
    let last = page.jobs.last().unwrap();
    assert_eq!(last.job_id, "new-1");
    assert_eq!(last.status.as_str(), NEW_VALUE);
    assert_eq!(last.type_.as_str(), "Chart");
    assert_eq!(page.jobs[0].status, JobStatus::Pending);
    assert_eq!(page.jobs[0].type_, JobType::Parse);
    assert_eq!(
        page.next_cursor.as_deref(),
        Some("eyJjcmVhdGVkX2F0IjogIjIwMjUtMDUtMDFUMDg6MDA6MDBaIn0=")
    );
}

#[test]
fn url_result_of_a_newer_api_decodes() {
    let mut parsed = fixture("parse_sync_url.json");
    add(&mut parsed, &new_fields());
    add(&mut parsed["result"], &new_fields());
    parsed["response_type"] = json!("parse");
    let parsed: reducto::types::ParseResponse =
        serde_json::from_value(parsed).expect("the old build decodes it");
    let ParseResult::UrlResult(url) = &parsed.result else {
        panic!("the url result decoded as another variant");
    };
    assert!(url.url.starts_with("https://"));
}

/// A job of a type this build does not know carries a result of a shape it
/// does not know: the job still decodes (the result is picked by the kind
/// the response names, not by trying untagged variants), its status is
/// readable, and the result is kept whole as `JobResult::Other`.
#[test]
fn job_of_a_new_type_with_a_new_result_shape_decodes() {
    let result = json!({ "response_type": "translate", "job_id": "t-1",
        "translations": [{ "lang": "fr", "text": "Bonjour" }] });
    let job = json!({ "status": "Completed", "type": "Translate", "progress": 1.0,
        "result": result.clone() });
    let job: Job = serde_json::from_value(job).expect("the old build decodes it");
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.type_.as_ref().map(JobType::as_str), Some("Translate"));
    match job.result {
        Some(reducto::types::JobResult::Other(kept)) => assert_eq!(kept, result),
        other => panic!("the result is kept as sent, not dropped: {other:?}"),
    }
}

/// The enums a usage breakdown, a split or a classification carry grow as
/// Reducto adds models, tiers, billing categories and confidence levels: a
/// value this build does not know is kept, never a decode failure.
#[test]
fn usage_models_tiers_billing_and_confidence_of_a_newer_api_are_kept() {
    use reducto::types::{BillingCategory, Confidence, ParseModel, UsageBreakdown, UsageTier};

    let job: Job = serde_json::from_value(evolved_job()).expect("the old build decodes it");
    let Some(JobResult::ParseResponse(parsed)) = &job.result else {
        panic!("not a parse result: {:?}", job.result);
    };
    let Some(UsageBreakdown::ParseUsageBreakdown(breakdown)) = &parsed.usage.usage_breakdown else {
        panic!("not a parse breakdown: {:?}", parsed.usage.usage_breakdown);
    };
    assert_eq!(breakdown.parse_model, ParseModel::Other(NEW_VALUE.into()));
    assert_eq!(breakdown.tier, UsageTier::Other(NEW_VALUE.into()));
    let billing = parsed
        .usage
        .page_billing_breakdown
        .as_ref()
        .expect("billing");
    assert_eq!(
        billing["1"],
        [
            BillingCategory::Page,
            BillingCategory::Other(NEW_VALUE.into())
        ]
    );
    let again = serde_json::to_value(&job).unwrap();
    assert_eq!(
        again["result"]["usage"]["usage_breakdown"]["parse_model"],
        NEW_VALUE
    );
    assert_eq!(
        again["result"]["usage"]["page_billing_breakdown"]["1"][1],
        NEW_VALUE
    );

    // A confidence level between the two most results know.
    let criterion: reducto::types::CriteriaConfidence =
        serde_json::from_value(json!({ "criterion": "has a total", "confidence": "medium" }))
            .expect("decodes");
    assert_eq!(criterion.confidence, Confidence::Medium);
    assert_eq!(
        serde_json::to_value(&criterion).unwrap()["confidence"],
        "medium"
    );
    let split: reducto::types::Split =
        serde_json::from_value(json!({ "name": "a", "pages": [1], "conf": "certain" })).unwrap();
    assert_eq!(split.conf, Confidence::Other("certain".into()));
    // A split without `conf` still gets the spec's default.
    let split: reducto::types::Split =
        serde_json::from_value(json!({ "name": "a", "pages": [1] })).unwrap();
    assert_eq!(split.conf, Confidence::Low);
}
