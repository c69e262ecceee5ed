//! Realistic responses of every operation, decoded into the public types.
//!
//! The fixtures in `tests/fixtures/` are shaped like Reducto's real answers
//! (per the published schemas and documentation examples): fields the spec
//! marks nullable are sent as `null`, and some carry fields the spec does not
//! list, as a newer server would. Each test checks concrete values, so a
//! response that decodes into the wrong variant of an untagged union fails.

use chrono::SecondsFormat;
use reducto::types::{
    AsyncParseResponse, BlockType, ClassifyResponseResult, ExtractResponseResult, FullResult,
    HttpValidationError, Job, JobResult, JobStatus, JobType, JobsResponse, ParseOutcome,
    ParseResponse, ParseResult, UploadResponse, UrlResultType, ValidationErrorLocItem,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Decodes a fixture, naming it in the failure.
fn decode<T: DeserializeOwned>(name: &str, text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| {
        panic!(
            "{name} does not decode as {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

macro_rules! fixture {
    ($name:literal) => {
        decode($name, include_str!(concat!("fixtures/", $name)))
    };
}

/// The parse response a job's result or a synchronous parse carries.
fn parse_result_of(job: &Job) -> &ParseResponse {
    match job
        .result
        .as_ref()
        .expect("a completed job carries a result")
    {
        JobResult::ParseResponse(parsed) => parsed,
        other => panic!("a parse result decoded as another variant: {other:?}"),
    }
}

fn full(parsed: &ParseResponse) -> &FullResult {
    match &parsed.result {
        ParseResult::FullResult(full) => full,
        ParseResult::UrlResult(url) => panic!("expected the full result, got {url:?}"),
    }
}

fn block_types(full: &FullResult) -> Vec<Vec<BlockType>> {
    full.chunks
        .iter()
        .map(|c| c.blocks.iter().map(|b| b.type_.clone()).collect())
        .collect()
}

fn rfc3339(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

// ---------------------------------------------------------------------------
// POST /upload

#[test]
fn upload_response() {
    let upload: UploadResponse = fixture!("upload.json");
    assert_eq!(
        upload.file_id,
        "reducto://4c9e1f0a-8d3b-4f7e-9a61-2b5d7c3e8f10.pdf"
    );
    assert!(upload
        .presigned_url
        .as_deref()
        .unwrap()
        .starts_with("https://reducto-storage.s3.amazonaws.com/uploads/"));

    let bare: UploadResponse = decode("inline", r#"{"file_id": "reducto://x.pdf"}"#);
    assert_eq!(bare.presigned_url, None);
}

// ---------------------------------------------------------------------------
// POST /parse

#[test]
fn sync_parse_full_result_with_every_kind_of_block() {
    let parsed: ParseResponse = fixture!("parse_sync_full.json");
    assert_eq!(parsed.job_id, "9d3c6a1e-52f4-4b7a-8e0d-6f1b2a3c4d5e");
    assert_eq!(parsed.duration, 6.482);
    assert!(parsed.pdf_url.as_deref().unwrap().contains("/converted/"));
    assert_eq!(
        parsed.studio_link.as_deref(),
        Some("https://studio.reducto.ai/job/9d3c6a1e-52f4-4b7a-8e0d-6f1b2a3c4d5e")
    );
    assert_eq!(parsed.usage.num_pages, 3);
    assert_eq!(parsed.usage.credits, Some(4.5));
    let breakdown = parsed.usage.credit_breakdown.as_ref().unwrap();
    assert_eq!(breakdown["parse"], 3.0);
    assert_eq!(breakdown["figure_summary"], 1.0);

    let full = full(&parsed);
    assert_eq!(full.chunks.len(), 3);
    assert_eq!(
        block_types(full),
        vec![
            vec![BlockType::Title, BlockType::SectionHeader, BlockType::Text],
            vec![BlockType::Table],
            vec![
                BlockType::Figure,
                BlockType::ListItem,
                BlockType::PageNumber
            ],
        ]
    );
    assert_eq!(full.ocr, None);
    assert_eq!(full.custom, None);

    let first = &full.chunks[0];
    assert!(first.content.starts_with("# Acme Corp Annual Report 2024"));
    assert_eq!(first.enriched, None);
    assert!(!first.enrichment_success);
    let header = &first.blocks[1];
    assert_eq!(header.content, "1. Financial Highlights");
    assert_eq!(header.confidence.as_deref(), Some("high"));
    assert_eq!(
        header
            .granular_confidence
            .as_ref()
            .unwrap()
            .parse_confidence,
        Some(0.97)
    );
    // A field the spec does not list (`logprobs_confidence`) is ignored.
    assert_eq!(first.blocks[2].confidence.as_deref(), Some("low"));

    let table_chunk = &full.chunks[1];
    assert!(table_chunk.enrichment_success);
    assert!(table_chunk
        .enriched
        .as_deref()
        .unwrap()
        .starts_with("Quarterly revenue rose"));
    assert_ne!(table_chunk.embed, table_chunk.content);
    let table = &table_chunk.blocks[0];
    assert!(table.content.starts_with("<table><tr><th>Quarter</th>"));
    assert_eq!(table.bbox.page, 2);
    assert_eq!(table.bbox.original_page, Some(4));
    assert_eq!(
        (
            table.bbox.left,
            table.bbox.top,
            table.bbox.width,
            table.bbox.height
        ),
        (0.102, 0.312, 0.796, 0.214)
    );

    let figure = &full.chunks[2].blocks[0];
    assert_eq!(figure.bbox.page, 3);
    assert_eq!(figure.bbox.original_page, Some(5));
    assert!(figure
        .image_url
        .as_deref()
        .unwrap()
        .contains("figure-3-0.png"));
    assert_eq!(figure.chart_data.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        figure.extra.as_ref().unwrap().get("is_chart"),
        Some(&json!(true))
    );
    assert_eq!(full.chunks[2].blocks[2].content, "5");
}

/// `POST /parse` answers `anyOf [ParseResponse, AsyncParseResponse]`, an
/// untagged enum: a full parse must not decode as the bare job id.
#[test]
fn parse_endpoint_union_picks_the_right_variant() {
    let sync: ParseOutcome = fixture!("parse_sync_full.json");
    match sync {
        ParseOutcome::ParseResponse(parsed) => {
            assert_eq!(full(&parsed).chunks.len(), 3)
        }
        other => panic!("a full parse decoded as {other:?}"),
    }
    let url: ParseOutcome = fixture!("parse_sync_url.json");
    assert!(matches!(url, ParseOutcome::ParseResponse(_)));
    let job: ParseOutcome = fixture!("parse_async.json");
    match job {
        ParseOutcome::AsyncParseResponse(job) => {
            assert_eq!(job.job_id, "0b8f3a52-6c1d-4e9b-a7f4-3d2e1c0b9a87")
        }
        other => panic!("a job id decoded as {other:?}"),
    }
}

#[test]
fn sync_parse_url_result() {
    let parsed: ParseResponse = fixture!("parse_sync_url.json");
    assert_eq!(parsed.usage.num_pages, 412);
    assert_eq!(parsed.pdf_url, None);
    match &parsed.result {
        ParseResult::UrlResult(url) => {
            assert_eq!(url.type_, UrlResultType::Url);
            assert_eq!(url.result_id, "res_7f5e2d1c3b4a4c8d");
            assert!(url.url.starts_with(
                "https://reducto-results.s3.amazonaws.com/7f5e2d1c-3b4a-4c8d-9e0f-1a2b3c4d5e6f/"
            ));
        }
        ParseResult::FullResult(_) => panic!("a URL result decoded as a full result"),
    }
}

// ---------------------------------------------------------------------------
// POST /parse_async

#[test]
fn async_parse_response() {
    let job: AsyncParseResponse = fixture!("parse_async.json");
    assert_eq!(job.job_id, "0b8f3a52-6c1d-4e9b-a7f4-3d2e1c0b9a87");
}

// ---------------------------------------------------------------------------
// GET /job/{job_id}

#[test]
fn pending_job_with_progress() {
    let job: Job = fixture!("job_pending.json");
    assert_eq!(job.status, JobStatus::Pending);
    assert!(!job.status.is_terminal());
    assert_eq!(job.progress, Some(42.5));
    assert_eq!(job.result, None);
    assert_eq!(job.reason, None);
    assert_eq!(job.type_, Some(JobType::Parse));
    assert_eq!(job.num_pages, None);
    assert_eq!(job.total_pages, Some(12));
    assert_eq!(job.duration, None);
    assert_eq!(
        job.source,
        Some(json!("reducto://4c9e1f0a-8d3b-4f7e-9a61-2b5d7c3e8f10.pdf"))
    );
    assert_eq!(
        rfc3339(job.created_at.as_ref().unwrap()),
        "2025-06-03T14:21:07.512345Z"
    );
    let config: Value = serde_json::from_str(job.raw_config.as_deref().unwrap()).unwrap();
    assert_eq!(config["retrieval"]["chunking"]["chunk_mode"], "variable");
}

/// The job result is an untagged union of seven response types; a parse
/// result must land in `ParseResponse`, whole, and equal the same result
/// returned by a synchronous parse.
#[test]
fn completed_job_carries_the_full_parse_result() {
    let job: Job = fixture!("job_completed_parse.json");
    assert_eq!(job.status, JobStatus::Completed);
    assert!(job.status.is_terminal());
    assert_eq!(job.progress, Some(100.0));
    assert_eq!(job.num_pages, Some(3));
    assert_eq!(job.duration, Some(6.482));
    let parsed = parse_result_of(&job);
    let sync: ParseResponse = fixture!("parse_sync_full.json");
    assert_eq!(parsed, &sync);
    assert_eq!(full(parsed).chunks[1].blocks[0].type_, BlockType::Table);
}

#[test]
fn completed_job_with_a_url_result() {
    let job: Job = fixture!("job_completed_url.json");
    let parsed = parse_result_of(&job);
    assert!(
        matches!(&parsed.result, ParseResult::UrlResult(u) if u.result_id == "res_7f5e2d1c3b4a4c8d")
    );
}

#[test]
fn failed_job_with_reason() {
    let job: Job = fixture!("job_failed.json");
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.status.is_terminal());
    assert_eq!(
        job.reason.as_deref(),
        Some("Document could not be processed: the file is password protected.")
    );
    assert_eq!(job.result, None);
    assert_eq!(job.duration, Some(1.204));
    assert_eq!(
        rfc3339(job.created_at.as_ref().unwrap()),
        "2025-06-03T14:25:44.018Z"
    );
}

/// A newer server: a status and a job type this version does not know, and
/// fields the spec does not list. It decodes, keeping the strings.
#[test]
fn job_from_a_newer_api_keeps_unknown_values() {
    let job: Job = fixture!("job_unknown.json");
    assert_eq!(job.status, JobStatus::Other("Archived".into()));
    assert_eq!(job.status.as_str(), "Archived");
    assert!(!job.status.is_terminal());
    assert_eq!(job.type_, Some(JobType::Other("Translate".into())));
    assert_eq!(job.type_.as_ref().unwrap().to_string(), "Translate");
    assert_eq!(job.num_pages, Some(7));
    assert_eq!(job.duration, Some(12.75));
    assert_eq!(job.source.as_ref().unwrap()["kind"], "upload");
    assert_eq!(
        rfc3339(job.created_at.as_ref().unwrap()),
        "2025-06-01T09:00:00Z"
    );
    // Unknown values survive a round trip unchanged.
    let again = serde_json::to_value(&job).unwrap();
    assert_eq!(again["status"], "Archived");
    assert_eq!(again["type"], "Translate");
}

#[test]
fn job_result_with_an_unknown_block_type() {
    let job: Job = fixture!("job_unknown_block.json");
    let parsed = parse_result_of(&job);
    assert_eq!(parsed.job_id, "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d");
    let types = block_types(full(parsed));
    assert_eq!(
        types,
        vec![vec![
            BlockType::Title,
            BlockType::SectionHeader,
            BlockType::Text,
            BlockType::Other("Checkbox".into()),
        ]]
    );
    let checkbox = &full(parsed).chunks[0].blocks[3];
    assert_eq!(checkbox.content, "[x] I agree to the terms");
    assert_eq!(checkbox.bbox.original_page, Some(1));
}

/// The union's other variants are told apart too (a classify result has no
/// usage, an extract result's `result` is a list).
#[test]
fn job_results_of_other_job_types_are_not_taken_for_parses() {
    let extract: Job = decode(
        "inline extract job",
        r#"{"status": "Completed", "type": "Extract", "progress": null, "reason": null,
            "result": {"job_id": "e1", "usage": {"num_pages": 2, "num_fields": 3, "credits": 4.0},
                       "result": [{"invoice_number": "INV-001", "total": 1234.56}],
                       "citations": null, "studio_link": null}}"#,
    );
    match extract.result.unwrap() {
        JobResult::ExtractResponse(e) => {
            // Since v1.12.20 an extract result may also be a URL
            // (`force_url_result`); this one is inline.
            let ExtractResponseResult::Array(rows) = &e.result else {
                panic!("inline extract result decoded as {:?}", e.result);
            };
            assert_eq!(rows[0]["invoice_number"], "INV-001");
            assert_eq!(e.usage.num_fields, 3);
        }
        other => panic!("extract result decoded as {other:?}"),
    }
    let classify: Job = decode(
        "inline classify job",
        r#"{"status": "Completed", "type": "Classify",
            "result": {"job_id": "c1", "duration": 1.2, "result": {"category": "invoice"},
                       "response_confidence": null}}"#,
    );
    match classify.result.unwrap() {
        JobResult::ClassifyResponse(c) => match c.result {
            ClassifyResponseResult::ClassifyResponseCategory(category) => {
                assert_eq!(category.category, "invoice")
            }
            other => panic!("inline classify result decoded as {other:?}"),
        },
        other => panic!("classify result decoded as {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// GET /jobs

#[test]
fn jobs_page_with_every_status_and_type_and_one_unknown() {
    let page: JobsResponse = fixture!("jobs_page.json");
    assert_eq!(page.jobs.len(), 8);
    assert_eq!(
        page.next_cursor.as_deref(),
        Some("eyJjcmVhdGVkX2F0IjogIjIwMjUtMDUtMDFUMDg6MDA6MDBaIn0=")
    );
    let statuses: Vec<&JobStatus> = page.jobs.iter().map(|j| &j.status).collect();
    assert_eq!(
        statuses,
        [
            &JobStatus::Pending,
            &JobStatus::Idle,
            &JobStatus::InProgress,
            &JobStatus::Completing,
            &JobStatus::Completed,
            &JobStatus::Failed,
            &JobStatus::Cancelled,
            &JobStatus::Other("Archived".into()),
        ]
    );
    let types: Vec<&JobType> = page.jobs.iter().map(|j| &j.type_).collect();
    assert_eq!(
        types,
        [
            &JobType::Parse,
            &JobType::Extract,
            &JobType::Split,
            &JobType::Edit,
            &JobType::Pipeline,
            &JobType::Classify,
            &JobType::Chart,
            &JobType::Other("Translate".into()),
        ]
    );
    // Every value the spec documents has its own variant (whatever the
    // spec version: no count of one version's values here).
    for known in JobStatus::KNOWN {
        assert!(
            !matches!(JobStatus::from(*known), JobStatus::Other(_)),
            "{known}"
        );
    }
    for known in JobType::KNOWN {
        assert!(
            !matches!(JobType::from(*known), JobType::Other(_)),
            "{known}"
        );
    }
    let completed = &page.jobs[4];
    assert_eq!(completed.job_id, "11111111-aaaa-4aaa-8aaa-000000000005");
    assert_eq!(completed.num_pages, Some(10));
    assert_eq!(completed.total_pages, Some(10));
    assert_eq!(completed.duration, Some(2.34));
    assert_eq!(completed.bucket, Some(json!("us-east-1")));
    assert_eq!(completed.raw_config, r#"{"pipeline_id": "k9x2"}"#);
    assert_eq!(rfc3339(&completed.created_at), "2025-06-03T14:26:00Z");
    assert_eq!(
        rfc3339(&page.jobs[0].created_at),
        "2025-06-03T14:30:00.000001Z"
    );
    assert_eq!(page.jobs[0].num_pages, None);
    assert_eq!(page.jobs[6].total_pages, Some(80));
}

#[test]
fn last_jobs_page_has_a_null_cursor() {
    let page: JobsResponse = decode("inline", r#"{"jobs": [], "next_cursor": null}"#);
    assert!(page.jobs.is_empty());
    assert_eq!(page.next_cursor, None);
}

// ---------------------------------------------------------------------------
// GET /version, POST /cancel/{job_id}, errors

#[test]
fn version_is_a_json_string() {
    let version: String = fixture!("version.json");
    assert_eq!(version, "v1.11.57-53-gd264b2c6d");
}

/// The spec gives `POST /cancel` an untyped (`{}`) response: any JSON.
#[test]
fn cancel_response_is_any_json() {
    let cancelled: Value = fixture!("cancel.json");
    assert_eq!(cancelled, json!({}));
    for other in [
        r#"null"#,
        r#""Cancelled""#,
        r#"{"job_id": "j", "status": "Cancelled"}"#,
    ] {
        decode::<Value>("inline cancel", other);
    }
}

#[test]
fn validation_error_with_mixed_locations() {
    let error: HttpValidationError = fixture!("validation_error_422.json");
    assert_eq!(error.detail.len(), 3);

    let missing = &error.detail[0];
    assert_eq!(missing.type_, "missing");
    assert_eq!(missing.msg, "Field required");
    assert_eq!(
        missing.loc,
        [
            ValidationErrorLocItem::String("body".into()),
            ValidationErrorLocItem::String("SyncParseConfig".into()),
            ValidationErrorLocItem::String("input".into()),
        ]
    );
    assert_eq!(
        missing.input.as_ref().unwrap()["settings"]["page_range"],
        json!([1, 2])
    );

    let index = &error.detail[1];
    assert_eq!(
        index.loc,
        [
            ValidationErrorLocItem::String("body".into()),
            ValidationErrorLocItem::String("SyncParseConfig".into()),
            ValidationErrorLocItem::String("settings".into()),
            ValidationErrorLocItem::String("page_range".into()),
            ValidationErrorLocItem::Integer(1),
        ]
    );
    let path: Vec<String> = index.loc.iter().map(ToString::to_string).collect();
    assert_eq!(path.join("."), "body.SyncParseConfig.settings.page_range.1");
    assert_eq!(index.input, Some(json!("two")));

    let limit = &error.detail[2];
    assert_eq!(limit.type_, "less_than_equal");
    assert_eq!(limit.ctx.get("le"), Some(&json!(500)));
}

// ---------------------------------------------------------------------------
// Round trips and schemas

#[test]
fn parse_response_round_trips() {
    for text in [
        include_str!("fixtures/parse_sync_full.json"),
        include_str!("fixtures/parse_sync_url.json"),
    ] {
        let parsed: ParseResponse = decode("fixture", text);
        let encoded = serde_json::to_string(&parsed).unwrap();
        let again: ParseResponse = decode("re-encoded", &encoded);
        assert_eq!(again, parsed);
    }
}

#[test]
fn jobs_round_trip_with_unknown_values() {
    let job: Job = fixture!("job_unknown_block.json");
    let again: Job = decode("re-encoded", &serde_json::to_string(&job).unwrap());
    assert_eq!(again, job);
    let page: JobsResponse = fixture!("jobs_page.json");
    let again: JobsResponse = decode("re-encoded", &serde_json::to_string(&page).unwrap());
    assert_eq!(again, page);
}

#[test]
fn parse_response_schema_describes_chunks_blocks_and_boxes() {
    let schema = serde_json::to_value(schemars::schema_for!(ParseResponse)).unwrap();
    let text = schema.to_string();
    for word in ["chunks", "blocks", "bbox", "original_page", "credits"] {
        assert!(text.contains(word), "the schema does not mention {word}");
    }
    let defs = &schema["$defs"];
    assert_eq!(defs["BoundingBox"]["type"], "object");
    // The open enum inside it is an open string, not a closed enum.
    assert_eq!(defs["BlockType"]["type"], "string");
    assert!(defs["BlockType"].get("enum").is_none());
}

#[test]
fn job_status_schema_is_an_open_string() {
    let schema = serde_json::to_value(schemars::schema_for!(JobStatus)).unwrap();
    assert_eq!(schema["type"], "string");
    assert!(schema.get("enum").is_none(), "closed enum: {schema}");
    assert!(schema.get("const").is_none());
    let examples = schema["examples"].as_array().unwrap();
    assert_eq!(examples.len(), JobStatus::KNOWN.len());
    assert!(examples.contains(&json!("Cancelled")));
}
