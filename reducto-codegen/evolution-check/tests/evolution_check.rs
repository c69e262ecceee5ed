//! The bindings generated from the evolved `openapi.yaml`: every mutation did
//! its work, every operation has a method, and responses that use the new
//! parts (new enum values, new fields of every shape, the new operation's
//! awkward schemas) decode with the values kept. That the bindings compile
//! warning-free is proven by this crate building under the workspace's
//! `clippy -D warnings`; that their descriptions make no failing doctest, by
//! `cargo test --workspace` running this crate's doctests.

use std::collections::BTreeSet;

use reducto::types::{BlockType, JobStatus, JobType};
use reducto_codegen::evolve::{self, NEW_ENUM_VALUE};
use reducto_evolution_check::{
    generated::{
        types::{
            EnhancedAsyncJobResponse, EnhancedAsyncJobResponseResult, EvolvedAnnotateRequest,
            EvolvedAnnotateRequestMode, EvolvedAnnotateRequestStatus, EvolvedAnnotateResponse,
            EvolvedAnnotateResponseStatus, JobsResponse, ParseResponseEvolvedMapValue,
            ParseResponseResult,
        },
        Client, ClientInfo,
    },
    report, Inner,
};
use serde_json::{json, Value};

fn evolved_spec() -> Value {
    serde_json::from_str(report::EVOLVED_SPEC).expect("the build wrote JSON")
}

#[test]
fn every_mutation_but_the_pending_ones_ran_and_changed_something() {
    let ran: Vec<&str> = report::MUTATIONS.iter().map(|(name, _)| *name).collect();
    let expected: Vec<&str> = evolve::ALL
        .iter()
        .map(|m| m.name)
        .filter(|name| !evolve::is_pending(name))
        .collect();
    assert_eq!(ran, expected);
    for (name, places) in report::MUTATIONS {
        assert!(
            *places > 0,
            "mutation {name} found nothing to change in openapi.yaml"
        );
    }
    // A pending mutation must still have something to change, so that
    // removing it from PENDING_FIXES really adds coverage.
    for (pending, _) in evolve::PENDING_FIXES {
        let mutation = evolve::ALL.iter().find(|m| m.name == *pending).unwrap();
        let mut doc = evolved_spec();
        assert!(
            (mutation.apply)(&mut doc) > 0,
            "pending mutation {pending} would change nothing"
        );
    }
}

/// Every string enum the generator emits as a closed Rust enum gained the
/// new value (one-value enums are `const` discriminators, which no API
/// extends); the open ones (`reducto::types`) keep it as sent, tested below.
#[test]
fn every_generated_string_enum_gained_the_new_value() {
    let file = syn::parse_file(include_str!(concat!(env!("OUT_DIR"), "/evolved_api.rs")))
        .expect("the generated code parses");
    let types = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref(),
            _ => None,
        })
        .expect("a `types` module");
    let renamed = |v: &syn::Variant| {
        v.attrs.iter().find_map(|a| {
            let syn::Meta::List(list) = &a.meta else {
                return None;
            };
            let rename: syn::MetaNameValue = list.parse_args().ok()?;
            match rename.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) if rename.path.is_ident("rename") => Some(s.value()),
                _ => None,
            }
        })
    };
    let mut lacking = Vec::new();
    let mut checked = 0;
    for item in &types.1 {
        let syn::Item::Enum(e) = item else { continue };
        let unit = e.variants.iter().all(|v| v.fields.is_empty());
        if !unit || e.variants.len() < 2 {
            continue;
        }
        checked += 1;
        let values: Vec<String> = e
            .variants
            .iter()
            .map(|v| renamed(v).unwrap_or_else(|| v.ident.to_string()))
            .collect();
        if !values.iter().any(|v| v == NEW_ENUM_VALUE) {
            lacking.push(format!("{}: {values:?}", e.ident));
        }
    }
    assert!(checked > 0, "no closed string enum was generated");
    assert!(
        lacking.is_empty(),
        "enums without {NEW_ENUM_VALUE:?}: {lacking:#?}"
    );
}

/// Every operation of the evolved spec but the multipart ones (written by
/// hand in the `reducto` crate) was generated.
#[test]
fn every_operation_of_the_evolved_spec_was_generated() {
    let doc = evolved_spec();
    let multipart: BTreeSet<(String, String)> = reducto_codegen::subset::operations(&doc)
        .into_iter()
        .filter(|(method, path)| {
            let pointer = format!(
                "/paths/{}/{method}/requestBody/content/multipart~1form-data",
                path.replace('~', "~0").replace('/', "~1")
            );
            doc.pointer(&pointer).is_some()
        })
        .collect();
    let expected: BTreeSet<(String, String)> = reducto_codegen::subset::operations(&doc)
        .into_iter()
        .filter(|op| !multipart.contains(op))
        .collect();
    let generated: BTreeSet<(String, String)> = report::OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&generated).collect();
    assert!(missing.is_empty(), "operations not generated: {missing:?}");
    assert!(generated.contains(&("post".into(), "/evolved/{job-id}/annotate".into())));
}

/// The new operation is a method with the parameters its spec declares: a
/// dashed path parameter, an `exclusiveMinimum: 0` query parameter (a
/// `NonZeroU64`) and the body. Type-checked, never run.
#[test]
fn new_operation_is_a_client_method() {
    #[allow(dead_code)]
    async fn annotate(client: &Client, body: &EvolvedAnnotateRequest) -> EvolvedAnnotateResponse {
        client
            .annotate_evolved_post("job-1", std::num::NonZeroU64::new(5), body)
            .await
            .unwrap()
            .into_inner()
    }
    let client = Client::new("http://localhost", Inner);
    assert_eq!(client.baseurl(), "http://localhost");
}

/// Keyword and dashed property names, a union with a default, a pattern, a
/// 3.1 type array, both exclusive-bound forms and a recursive schema all
/// survive a round trip under their wire names.
#[test]
fn new_operation_request_round_trips_awkward_names() {
    let wire = json!({
        "status": "final",
        "type": "invoice",
        "ref": "inv-42",
        "self": true,
        "async": false,
        "match": null,
        "x-request-id": "req-1",
        "mode": 3,
        "threshold": 0.5,
        "legacy_threshold": 0.25,
        "labels": ["a", "b"],
        "tree": { "label": "root", "children": [
            { "label": "leaf", "children": [], "parent": { "label": "root" } } ] },
    });
    let request: EvolvedAnnotateRequest = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(request.status, EvolvedAnnotateRequestStatus::Final);
    assert_eq!(request.type_, "invoice");
    assert_eq!(request.ref_.as_deref(), Some("inv-42"));
    assert_eq!(request.self_, Some(true));
    assert_eq!(request.async_, Some(false));
    assert_eq!(request.match_, None);
    assert_eq!(request.x_request_id.as_deref(), Some("req-1"));
    assert!(matches!(
        request.mode,
        Some(EvolvedAnnotateRequestMode::Integer(n)) if n.get() == 3
    ));
    let tree = request.tree.as_ref().unwrap();
    assert_eq!(tree.children[0].label, "leaf");
    assert_eq!(tree.children[0].parent.as_ref().unwrap().label, "root");

    let sent = serde_json::to_value(&request).unwrap();
    for key in ["type", "ref", "self", "async", "x-request-id", "mode"] {
        assert_eq!(sent[key], wire[key], "{key}");
    }
    // The union's default is the server's business: absent stays absent.
    let minimal: EvolvedAnnotateRequest =
        serde_json::from_value(json!({ "status": "draft", "type": "t" })).unwrap();
    assert_eq!(minimal.mode, None);
    assert_eq!(
        serde_json::to_value(&minimal).unwrap(),
        json!({ "status": "draft", "type": "t" })
    );
}

/// The two inline enums titled `Status` stay two types with their own values.
#[test]
fn the_two_status_enums_are_not_merged() {
    let response: EvolvedAnnotateResponse = serde_json::from_value(json!({
        "job_id": "j",
        "status": "Annotated",
        "annotations": [{ "label": "a", "children": [{ "label": "b" }] }],
        "created_at": "2026-11-29T13:00:00Z",
        "score": null,
    }))
    .unwrap();
    assert_eq!(response.status, EvolvedAnnotateResponseStatus::Annotated);
    assert_eq!(response.annotations[0].children[0].label, "b");
    assert_eq!(
        response.created_at.unwrap().to_rfc3339(),
        "2026-11-29T13:00:00+00:00"
    );
    assert_eq!(response.score, None);
    // Each enum knows only its own values (and the one every enum gained).
    assert!(serde_json::from_value::<EvolvedAnnotateResponseStatus>(json!("final")).is_err());
    assert!(serde_json::from_value::<EvolvedAnnotateRequestStatus>(json!("Annotated")).is_err());
    assert_eq!(
        serde_json::from_value::<EvolvedAnnotateRequestStatus>(json!(NEW_ENUM_VALUE)).unwrap(),
        EvolvedAnnotateRequestStatus::AddedLater
    );
}

/// A completed job of the evolved API: a new status, a new job type, a new
/// block type, and the new fields of every shape at the top, in the parse
/// result and on a block.
fn evolved_job() -> Value {
    let mut job: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/job_completed_parse.json"
    ))
    .unwrap();
    job["status"] = json!(NEW_ENUM_VALUE);
    job["type"] = json!(NEW_ENUM_VALUE);
    let new_fields = json!({
        "evolved_note": "note",
        "evolved_ref": { "kind": "k", "weight": 0.5 },
        "evolved_scores": [0.25, null, 1.0],
        "evolved_map": { "s": "text", "i": 7, "d": { "kind": "detail" } },
        "evolved_at": "2026-11-29T13:00:00Z",
        "evolved_nested": { "label": "outer", "inner": { "depth": 2 } },
    });
    for (key, value) in new_fields.as_object().unwrap() {
        job[key] = value.clone();
        job["result"][key] = value.clone();
    }
    let block = &mut job["result"]["result"]["chunks"][0]["blocks"][0];
    block["type"] = json!(NEW_ENUM_VALUE);
    block["evolved_note"] = json!("on a block");
    job
}

#[test]
fn job_with_new_values_and_fields_decodes_with_values_kept() {
    let job: EnhancedAsyncJobResponse = serde_json::from_value(evolved_job()).unwrap();
    assert_eq!(job.status, JobStatus::Other(NEW_ENUM_VALUE.into()));
    assert_eq!(job.type_, Some(JobType::Other(NEW_ENUM_VALUE.into())));
    assert_eq!(job.evolved_note.as_deref(), Some("note"));
    assert_eq!(job.evolved_ref.as_ref().unwrap().kind, "k");
    assert_eq!(job.evolved_scores, [Some(0.25), None, Some(1.0)]);
    assert_eq!(
        job.evolved_at.unwrap().to_rfc3339(),
        "2026-11-29T13:00:00+00:00"
    );
    let nested = job.evolved_nested.as_ref().unwrap();
    assert_eq!(nested.label.as_deref(), Some("outer"));
    assert_eq!(nested.inner.as_ref().unwrap().depth, Some(2));

    let Some(EnhancedAsyncJobResponseResult::ParseResponse(parsed)) = &job.result else {
        panic!("not a parse result: {:?}", job.result);
    };
    // The map of unions keeps each value's variant, in the spec's order.
    assert!(matches!(
        &parsed.evolved_map["s"],
        ParseResponseEvolvedMapValue::String(s) if s == "text"
    ));
    assert!(matches!(
        parsed.evolved_map["i"],
        ParseResponseEvolvedMapValue::Integer(7)
    ));
    assert!(matches!(
        &parsed.evolved_map["d"],
        ParseResponseEvolvedMapValue::EvolvedDetail(d) if d.kind == "detail" && d.weight.is_none()
    ));
    let ParseResponseResult::FullResult(full) = &parsed.result else {
        panic!("not a full result");
    };
    let block = &full.chunks[0].blocks[0];
    assert_eq!(block.type_, BlockType::Other(NEW_ENUM_VALUE.into()));
    assert_eq!(block.evolved_note.as_deref(), Some("on a block"));

    // Re-encoded, the values a newer API sent go back out as they came.
    let again = serde_json::to_value(&job).unwrap();
    assert_eq!(again["status"], NEW_ENUM_VALUE);
    assert_eq!(again["evolved_map"], evolved_job()["evolved_map"]);
    assert_eq!(
        again["result"]["result"]["chunks"][0]["blocks"][0]["type"],
        NEW_ENUM_VALUE
    );
}

#[test]
fn jobs_listing_with_new_values_decodes() {
    let mut page: Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/jobs_page.json")).unwrap();
    page["jobs"][0]["status"] = json!(NEW_ENUM_VALUE);
    page["jobs"][0]["type"] = json!(NEW_ENUM_VALUE);
    page["jobs"][0]["evolved_note"] = json!("listed");
    page["evolved_scores"] = json!([null]);
    let page: JobsResponse = serde_json::from_value(page).unwrap();
    assert_eq!(page.jobs[0].status.as_str(), NEW_ENUM_VALUE);
    assert_eq!(page.jobs[0].type_.as_str(), NEW_ENUM_VALUE);
    assert_eq!(page.jobs[0].evolved_note.as_deref(), Some("listed"));
    assert_eq!(page.evolved_scores, [None]);
}
