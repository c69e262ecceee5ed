//! The bindings generated from the whole published spec: what the build
//! reported, that every operation is there, and that a realistic `/job`
//! response decodes with them. (That they compile is proven by this test
//! building at all; that their docs hold no accidental code blocks, by the
//! crate's doctests passing.)

use std::collections::BTreeSet;

use reducto_codegen::rewrite;
use reducto_full_spec_check::{
    generated::{
        types::{EnhancedAsyncJobResponse, EnhancedAsyncJobResponseResult, ParseResponseResult},
        Client, ClientInfo,
    },
    open::{BlockType, JobStatus, JobType},
    report,
};

const FULL_SPEC: &str = include_str!("../../fixtures/reducto-openapi-v1.11.57.json");

fn spec_operations() -> BTreeSet<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(FULL_SPEC).unwrap();
    reducto_codegen::subset::operations(&doc)
        .into_iter()
        .collect()
}

#[test]
fn sixteen_operations_all_but_multipart_upload() {
    assert_eq!(report::OPERATIONS.len(), 16, "{:?}", report::OPERATIONS);
    let generated: BTreeSet<(String, String)> = report::OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(generated.len(), 16, "an operation was listed twice");
    assert!(!report::OPERATIONS
        .iter()
        .any(|(_, path)| *path == "/upload"));
    let mut expected = spec_operations();
    assert_eq!(expected.len(), 17);
    expected.remove(&("post".to_owned(), "/upload".to_owned()));
    assert_eq!(generated, expected);
}

/// Each operation is a method of the generated client (this fails to compile
/// if one is missing), and `/job` returns the enhanced job type.
#[test]
fn client_has_a_method_per_operation() {
    let methods: [&dyn std::any::Any; 16] = [
        &Client::parse_parse_post,
        &Client::async_parse_parse_async_post,
        &Client::extract_extract_post,
        &Client::extract_async_extract_async_post,
        &Client::split_split_post,
        &Client::split_async_split_async_post,
        &Client::edit_edit_post,
        &Client::edit_async_edit_async_post,
        &Client::pipeline_pipeline_post,
        &Client::pipeline_async_pipeline_async_post,
        &Client::classify_classify_post,
        &Client::retrieve_parse_job_job_id_get,
        &Client::cancel_job_cancel_job_id_post,
        &Client::get_jobs_jobs_get,
        &Client::webhook_portal_configure_webhook_post,
        &Client::get_version_version_get,
    ];
    assert_eq!(methods.len(), report::OPERATIONS.len());

    // Type-checked, never run.
    #[allow(dead_code)]
    async fn job(client: &Client) -> EnhancedAsyncJobResponse {
        client
            .retrieve_parse_job_job_id_get("id")
            .await
            .unwrap()
            .into_inner()
    }
    let client = Client::new("http://localhost", reducto_full_spec_check::Inner);
    assert_eq!(client.baseurl(), "http://localhost");
    assert_eq!(Client::api_version(), "v1.11.57-53-gd264b2c6d");
}

#[test]
fn every_rewrite_ran_and_did_its_work_on_the_whole_spec() {
    let ran: Vec<&str> = report::REWRITES.iter().map(|(name, _)| *name).collect();
    let all: Vec<&str> = rewrite::ALL.iter().map(|r| r.name).collect();
    assert_eq!(ran, all, "the build report lists every rewrite, in order");
    // The whole spec exercises every rewrite but those written for what
    // only other specs have.
    const NEWER_SPECS_ONLY: &[&str] = &[
        // The first integer `const` is v1.12.20's ChartUsage.num_charts.
        "numeric_enums_to_plain_numbers",
        // No published spec has a code fence in a description yet.
        "fence_code_as_text",
    ];
    for (name, places) in report::REWRITES {
        assert!(
            *places > 0 || NEWER_SPECS_ONLY.contains(name),
            "{name} changed nothing in the whole spec"
        );
    }
    let places = |name: &str| report::REWRITES.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(places("drop_multipart_operations"), 1, "only POST /upload");
    // The 422 of each of the 15 operations left that documents one.
    assert_eq!(places("error_responses_to_unexpected"), 15);
    // GET /job only: the agentic variants differ in `scope`.
    assert_eq!(places("collapse_superset_any_of"), 1);
}

#[test]
fn open_enums_found_every_location_and_value() {
    // ErrorCode (the failed job's `error.name`) is new in v1.12.20.
    assert_eq!(
        report::MISSING_OPEN_ENUM_LOCATIONS,
        ["ErrorCode"],
        "{:?}",
        report::MISSING_OPEN_ENUM_LOCATIONS
    );
    let values = |name: &str| -> Vec<&str> {
        let mut listed = report::OPEN_ENUM_VALUES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .to_vec();
        listed.sort_unstable();
        listed
    };
    assert_eq!(
        values("JobStatus"),
        [
            "Cancelled",
            "Completed",
            "Completing",
            "Failed",
            "Idle",
            "InProgress",
            "Pending"
        ]
    );
    assert_eq!(values("JobType").len(), 6);
    assert_eq!(values("BlockType").len(), 12);
}

/// A completed parse job, as `GET /job` returns it, decodes with the
/// generated types into the parse variant of the result union.
#[test]
fn realistic_completed_job_decodes() {
    let job: EnhancedAsyncJobResponse = serde_json::from_str(include_str!(
        "../../../tests/fixtures/job_completed_parse.json"
    ))
    .unwrap();
    assert_eq!(job.status, JobStatus("Completed".into()));
    assert_eq!(job.type_, Some(JobType("Parse".into())));
    assert_eq!(job.progress, Some(100.0));
    let Some(EnhancedAsyncJobResponseResult::ParseResponse(parsed)) = &job.result else {
        panic!("not a parse result: {:?}", job.result);
    };
    assert_eq!(parsed.usage.num_pages, 3);
    let ParseResponseResult::FullResult(full) = &parsed.result else {
        panic!("not a full result");
    };
    let types: Vec<&str> = full
        .chunks
        .iter()
        .flat_map(|c| &c.blocks)
        .map(|b| b.type_.0.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "Title",
            "Section Header",
            "Text",
            "Table",
            "Figure",
            "List Item",
            "Page Number"
        ]
    );
    assert_eq!(full.chunks[1].blocks[0].bbox.original_page, Some(4));

    let unknown: EnhancedAsyncJobResponse = serde_json::from_str(include_str!(
        "../../../tests/fixtures/job_unknown_block.json"
    ))
    .unwrap();
    let Some(EnhancedAsyncJobResponseResult::ParseResponse(parsed)) = &unknown.result else {
        panic!("not a parse result");
    };
    let ParseResponseResult::FullResult(full) = &parsed.result else {
        panic!("not a full result");
    };
    assert_eq!(full.chunks[0].blocks[3].type_, BlockType("Checkbox".into()));
}

#[test]
fn newer_status_and_fields_decode() {
    let job: EnhancedAsyncJobResponse =
        serde_json::from_str(include_str!("../../../tests/fixtures/job_unknown.json")).unwrap();
    assert_eq!(job.status, JobStatus("Archived".into()));
    assert_eq!(job.type_, Some(JobType("Translate".into())));
}
