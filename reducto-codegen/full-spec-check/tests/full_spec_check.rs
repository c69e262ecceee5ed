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

fn spec() -> serde_json::Value {
    serde_json::from_str(FULL_SPEC).unwrap()
}

/// Every operation of the spec but multipart POST /upload is in the report,
/// once, and has a method in the generated code; a failure names them.
#[test]
fn every_json_operation_is_generated_once() {
    let generated: BTreeSet<(String, String)> = report::OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        generated.len(),
        report::OPERATIONS.len(),
        "an operation was listed twice"
    );
    let mut expected: BTreeSet<(String, String)> = reducto_codegen::subset::operations(&spec())
        .into_iter()
        .collect();
    assert!(expected.remove(&("post".to_owned(), "/upload".to_owned())));
    assert_eq!(generated, expected);
    let code = include_str!(concat!(env!("OUT_DIR"), "/reducto_api.rs"));
    let missing = reducto_codegen::operations_without_method(&spec(), code);
    assert!(
        missing.is_empty(),
        "operations without a method: {missing:?}"
    );
}

/// The methods the `reducto` crate calls exist with the types it expects
/// (this fails to compile otherwise), and `/job` returns the enhanced job.
#[test]
fn client_has_the_methods_the_crate_uses() {
    let _methods: [&dyn std::any::Any; 6] = [
        &Client::parse_parse_post,
        &Client::async_parse_parse_async_post,
        &Client::retrieve_parse_job_job_id_get,
        &Client::cancel_job_cancel_job_id_post,
        &Client::get_jobs_jobs_get,
        &Client::get_version_version_get,
    ];

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
    assert_eq!(
        Client::api_version(),
        spec()["info"]["version"].as_str().unwrap()
    );
}

#[test]
fn every_rewrite_ran_and_did_its_work_on_the_whole_spec() {
    let ran: Vec<&str> = report::REWRITES.iter().map(|(name, _)| *name).collect();
    let all: Vec<&str> = rewrite::ALL.iter().map(|r| r.name).collect();
    assert_eq!(ran, all, "the build report lists every rewrite, in order");
    // The whole spec exercises every rewrite but the ones that guard
    // against shapes only a newer spec has (reducto-evolution-check
    // exercises those).
    const FOR_NEWER_SPECS: &[&str] = &[
        // The first integer `const` is v1.12.20's ChartUsage.num_charts.
        "numeric_enums_to_plain_numbers",
        "dedent_descriptions_inside_description_properties",
        // No published spec has a code fence in a description yet.
        "fence_code_as_text",
    ];
    for (name, places) in report::REWRITES {
        if !FOR_NEWER_SPECS.contains(name) {
            assert!(*places > 0, "{name} changed nothing in the whole spec");
        }
    }
    let places = |name: &str| report::REWRITES.iter().find(|(n, _)| *n == name).unwrap().1;
    // Counted in the spec itself: the multipart operations, and the error
    // responses of the operations left.
    let doc = spec();
    let operations: Vec<&serde_json::Value> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .collect();
    let multipart = operations
        .iter()
        .filter(|op| {
            op.pointer("/requestBody/content/multipart~1form-data")
                .is_some()
        })
        .count();
    assert_eq!(places("drop_multipart_operations"), multipart);
    let errors: usize = operations
        .iter()
        .filter(|op| {
            op.pointer("/requestBody/content/multipart~1form-data")
                .is_none()
        })
        .filter_map(|op| op["responses"].as_object())
        .map(|r| r.keys().filter(|status| !status.starts_with('2')).count())
        .sum();
    assert_eq!(places("error_responses_to_unexpected"), errors);
}

#[test]
fn open_enums_found_every_location_and_value() {
    // Missing here exactly where v1.11.57 has no such property: deep
    // extract's confidence, the usage breakdowns (models, tiers), per-page
    // billing and the failed job's error code are all new in v1.12.20.
    let doc = spec();
    let in_spec = |schema: &str, property: &str| {
        let component = &doc["components"]["schemas"][schema];
        let first = property.split('/').next().unwrap_or_default();
        !component.is_null() && (property.is_empty() || !component["properties"][first].is_null())
    };
    for entry in reducto_codegen::REDUCTO_OPEN_ENUMS {
        for (schema, property) in entry.locations {
            let place = if property.is_empty() {
                (*schema).to_owned()
            } else {
                format!("{schema}.{property}")
            };
            let missing = report::MISSING_OPEN_ENUM_LOCATIONS.contains(&place.as_str());
            assert_eq!(missing, !in_spec(schema, property), "{place}");
        }
    }
    assert!(
        report::MISSING_OPEN_ENUM_LOCATIONS.contains(&"ErrorCode"),
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
    // Each open enum holds the values the spec lists at its locations.
    for entry in reducto_codegen::REDUCTO_OPEN_ENUMS {
        let name = entry.name;
        if entry.locations.iter().all(|(s, p)| !in_spec(s, p)) {
            continue; // Not in this older spec (checked above).
        }
        let mut documented: Vec<&str> = entry
            .locations
            .iter()
            .filter(|(schema, property)| in_spec(schema, property))
            .flat_map(|(schema, property)| {
                let prop = &doc["components"]["schemas"][schema]["properties"][property];
                std::iter::once(prop)
                    .chain(prop["anyOf"].as_array().into_iter().flatten())
                    .filter_map(|s| s["enum"].as_array())
                    .flatten()
                    .filter_map(serde_json::Value::as_str)
            })
            .collect();
        documented.sort_unstable();
        documented.dedup();
        assert!(!documented.is_empty(), "{name}: no values in the spec");
        assert_eq!(values(name), documented, "{name}");
    }
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
