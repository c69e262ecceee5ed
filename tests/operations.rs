//! Every operation of the handwritten layer against the local server:
//! extract (typed and untyped), split, classify, edit, pipeline, sync and as
//! jobs; jobs typed by kind; deleting jobs and uploads; the webhook portal.

mod common;

use std::time::Duration;

use common::*;
use reducto::{
    types::{JobResult, SplitResponseResult},
    Document, DocumentInput, Error, Reducto,
};
use reducto_mock::Server;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

const INVOICE: &str = "# Invoice\n\nInvoice number: INV-7\nVendor: Acme Tools\nCurrency: EUR\nTotal due: $1,523.50\n\n## Lines\n\n- Description: Widget; Quantity: 2; Amount: 1,000.00\n- Description: Gadget; Quantity: 1; Amount: 523.50\n";

/// Three pages: an invoice, a receipt, the invoice's terms.
const PACKET: &str = "Invoice number: INV-1\nInvoice total due: 10\n\u{c}Receipt of payment\nReceipt number: R-9\nPaid by card\n\u{c}Invoice terms: payment due in 30 days\nInvoice number: INV-2\n";

/// An invoice.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Invoice {
    /// The invoice number, as printed.
    number: String,
    /// The total due.
    total: f64,
    currency: Option<Currency>,
    /// The purchase order, when there is one.
    po_number: Option<String>,
    lines: Vec<Line>,
}

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
#[allow(clippy::upper_case_acronyms)]
enum Currency {
    USD,
    EUR,
    GBP,
}

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Line {
    description: String,
    quantity: u32,
    amount: f64,
}

fn expected_invoice() -> Invoice {
    Invoice {
        number: "INV-7".into(),
        total: 1523.5,
        currency: Some(Currency::EUR),
        po_number: None,
        lines: vec![
            Line {
                description: "Widget".into(),
                quantity: 2,
                amount: 1000.0,
            },
            Line {
                description: "Gadget".into(),
                quantity: 1,
                amount: 523.5,
            },
        ],
    }
}

async fn fast() -> (Server, Reducto) {
    let server = server_with_duration(Duration::ZERO).await;
    let client = client_for(&server);
    (server, client)
}

async fn upload(client: &Reducto, name: &str, text: &str) -> reducto::types::UploadResponse {
    client
        .upload(Document::bytes(text.as_bytes().to_vec(), name))
        .await
        .expect("upload")
}

/// An error and its causes, as one line (whichever level says what).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The JSON body that created job `job_id`, as the server stored it.
async fn body_of(client: &Reducto, job_id: &str) -> Value {
    let job = client.job().get(job_id).await.expect("the job");
    serde_json::from_str(job.raw_config.as_deref().expect("raw_config")).expect("a JSON body")
}

#[tokio::test]
async fn typed_extraction_round_trips_nested_enums_options_and_arrays() {
    let (_server, client) = fast().await;
    let invoice = upload(&client, "invoice.md", INVOICE).await;
    let extracted = client.extract().run::<Invoice>(&invoice).await.unwrap();
    assert_eq!(extracted.value, expected_invoice());
    assert!(extracted.citations.is_none());

    // The schema sent is the cleaned one: inline, no null types, only what
    // was set besides it.
    let body = body_of(&client, extracted.job_id.as_deref().unwrap()).await;
    let schema = &body["instructions"]["schema"];
    let text = schema.to_string();
    assert!(
        !text.contains("$ref") && !text.contains("$defs") && !text.contains("null"),
        "{text}"
    );
    assert_eq!(
        schema["properties"]["currency"]["enum"],
        json!(["USD", "EUR", "GBP"])
    );
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["input", "instructions"]
    );
}

#[tokio::test]
async fn typed_extraction_as_a_job_with_citations_and_reuse() {
    let (_server, client) = fast().await;
    let invoice = upload(&client, "invoice.md", INVOICE).await;
    // Parse once, then extract from the parse (jobid://).
    let parsed = client.parse().run(&invoice).await.unwrap();
    let started = client
        .extract()
        .run_job::<Invoice>(parsed.reuse())
        .citations(true)
        .deep_extract(true)
        .priority(true)
        .await
        .unwrap();
    let body = body_of(&client, &started.job_id).await;
    let extracted = started.wait().await.unwrap();
    assert_eq!(extracted.value, expected_invoice());
    // The invoice has no purchase order: not every value was found, so the
    // mock's deep extract says "low".
    assert_eq!(extracted.confidence(), Some("low"));
    let cited = extracted.citations.expect("citations kept");
    assert!(cited["number"]["citations"].is_array(), "{cited}");

    assert_eq!(body["input"], format!("jobid://{}", parsed.job_id));
    assert_eq!(
        body["settings"],
        json!({"citations": {"enabled": true}, "deep_extract": true})
    );
    assert_eq!(body["async"], json!({"priority": true}));
}

#[tokio::test]
async fn a_value_the_type_cannot_hold_is_a_clear_error() {
    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Wrong {
        /// The invoice number.
        number: u32,
    }
    let (_server, client) = fast().await;
    let invoice = upload(&client, "invoice.md", INVOICE).await;
    let err = client.extract().run::<Wrong>(&invoice).await.unwrap_err();
    let text = chain(&err);
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(text.contains("at result[0].number"), "{text}");
    // The mock reads the number's digits: what came, and what was expected.
    assert!(text.contains("integer `-7`, expected u32"), "{text}");
}

#[tokio::test]
async fn untyped_extraction_keeps_json_in_and_out() {
    let (_server, client) = fast().await;
    let invoice = upload(&client, "invoice.md", INVOICE).await;
    let schema = json!({"type": "object", "properties": {"vendor": {"type": "string"}}});
    let out = client
        .extract()
        .run::<Value>(&invoice)
        .schema(schema)
        .await
        .unwrap();
    assert_eq!(out.value, json!([{"vendor": "Acme Tools"}]));

    let err = client.extract().run::<Value>(&invoice).await.unwrap_err();
    assert!(err.to_string().contains("needs a schema"), "{err}");
}

#[tokio::test]
async fn url_results_are_fetched_for_extract_split_and_classify() {
    let (server, client) = fast().await;
    let invoice = upload(&client, "invoice.md", INVOICE).await;
    let extracted = client
        .extract()
        .run::<Invoice>(&invoice)
        .force_url_result(true)
        .await
        .unwrap();
    assert_eq!(extracted.value, expected_invoice());
    let fetched = requests_under(&server, "GET", "/results/");
    assert_eq!(fetched.len(), 1);
    assert!(!fetched[0].has_header("authorization"));

    let packet = upload(&client, "packet.txt", PACKET).await;
    let split = client
        .split()
        .run(&packet)
        .category("invoice", "invoice total")
        .category("receipt", "receipt payment")
        .settings(
            reducto::types::SplitSettings::default(), // the whole group, generated type
        )
        .await
        .unwrap();
    assert!(matches!(split.result, SplitResponseResult::SplitResult(_)));
}

#[tokio::test]
async fn split_assigns_pages_sync_and_as_a_job() {
    let (_server, client) = fast().await;
    let packet = upload(&client, "packet.txt", PACKET).await;
    let started = client
        .split()
        .run_job(&packet)
        .partitioned_category("invoice", "invoice total", "invoice number")
        .category("receipt", "receipt payment")
        .await
        .unwrap();
    let body = body_of(&client, &started.job_id).await;
    let done = started.wait().await.unwrap();
    let SplitResponseResult::SplitResult(result) = &done.result else {
        panic!("{:?}", done.result)
    };
    let pages: Vec<(String, Vec<i64>)> = result
        .splits
        .iter()
        .map(|s| (s.name.clone(), s.pages.clone()))
        .collect();
    assert_eq!(
        pages,
        [("invoice".into(), vec![1, 3]), ("receipt".into(), vec![2])]
    );
    assert_eq!(
        body["split_description"][0]["partition_key"],
        "invoice number"
    );
    assert!(
        body.get("async").is_none(),
        "nothing set, nothing sent: {body}"
    );

    let sync = client
        .split()
        .run(&packet)
        .category("receipt", "receipt payment")
        .await
        .unwrap();
    assert_eq!(sync.response_type.to_string(), "split");

    // No category: refused before sending.
    let err = client.split().run(&packet).await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidArgument {
            name: "split_description",
            ..
        }
    ));
}

#[tokio::test]
async fn classify_picks_by_criteria_sync_and_as_a_job() {
    let (_server, client) = fast().await;
    let invoice = upload(&client, "invoice.md", INVOICE).await;
    let kind = client
        .classify()
        .run(&invoice)
        .category("receipt", ["receipt", "paid"])
        .category("invoice", ["invoice", "total due"])
        .category_group("finance", ["invoice", "receipt"])
        .await
        .unwrap();
    assert_eq!(kind.category, "invoice");
    assert_eq!(kind.response.extra_metadata["grouping"], "finance");

    let started = client
        .classify()
        .run_job(&invoice)
        .categories(["receipt", "invoice"])
        .webhook_url("https://example.com/hook")
        .await
        .unwrap();
    let body = body_of(&client, &started.job_id).await;
    assert_eq!(
        body["async"]["webhook"],
        json!({"mode": "direct", "url": "https://example.com/hook"})
    );
    // Any job's result, typed by its kind.
    let job = client.job().wait(&started.job_id).await.unwrap();
    assert!(matches!(job.result, Some(JobResult::ClassifyResponse(_))));
    assert_eq!(started.wait().await.unwrap().category, "invoice");
}

#[tokio::test]
async fn edit_returns_a_fetchable_document_and_takes_no_lists() {
    let (_server, client) = fast().await;
    let invoice = upload(&client, "invoice.md", INVOICE).await;
    let edited = client
        .edit()
        .run(&invoice, "replace \"Acme Tools\" with \"Zenith\"")
        .await
        .unwrap();
    let text = reqwest::get(&edited.document_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("Vendor: Zenith"), "{text}");
    let job_id = edited.job_id.clone().expect("a job id");
    assert_eq!(
        body_of(&client, &job_id).await["document_url"],
        json!(invoice)
    );

    // As a job: priority and webhook are top-level in edit's async body.
    let job = client
        .edit()
        .run_job(&invoice, "Currency: USD")
        .priority(true)
        .metadata(json!({"batch": 7}))
        .await
        .unwrap();
    let body = body_of(&client, &job.job_id).await;
    assert_eq!(body["priority"], true);
    assert_eq!(body["webhook"]["metadata"], json!({"batch": 7}));
    let done = job.wait().await.unwrap();
    assert!(done.document_url.starts_with("http"));

    let err = client
        .edit()
        .run(DocumentInput::Urls(vec!["https://a".into()]), "x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { name: "input", .. }));
    // Edit jobs take no queue priority: refused, not silently dropped.
    let err = client
        .edit()
        .run_job(&invoice, "x")
        .queue_priority(reducto::types::QueuePriority::Batch)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidArgument {
            name: "queue_priority",
            ..
        }
    ));
}

/// A local server that knows the pipeline `packets` (the conformance
/// suite's: split, then one extraction per section), a client for it and
/// the packet uploaded.
async fn packets_pipeline() -> (Server, Reducto, reducto::types::UploadResponse) {
    let definition: Value =
        serde_json::from_str(include_str!("../conformance/python/pipeline.json")).unwrap();
    let server = Server::builder()
        .job_duration(Duration::ZERO)
        .pipeline("packets", definition)
        .start()
        .await
        .unwrap();
    let client = client_for(&server);
    let packet = upload(&client, "packet.txt", PACKET).await;
    (server, client, packet)
}

#[tokio::test]
async fn pipeline_chains_sync_and_as_a_job() {
    let (_server, client, packet) = packets_pipeline().await;
    let out = client.pipeline().run(&packet, "packets").await.unwrap();
    assert!(
        out.result.split.is_some() && out.result.extract.is_some(),
        "{out:?}"
    );
    let job = client
        .pipeline()
        .run_job(&packet, "packets")
        .wait()
        .await
        .unwrap();
    let splits =
        |r: &reducto::types::PipelineResponse| r.result.split.as_ref().map(|s| s.result.clone());
    assert_eq!(splits(&job), splits(&out));

    let err = client.pipeline().run(&packet, "nope").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn deleting_jobs_and_uploads_and_the_webhook_portal() {
    let (server, client) = fast().await;
    let invoice = upload(&client, "invoice.md", INVOICE).await;
    let job_id = client.parse().run_job(&invoice).await.unwrap().job_id;
    let deleted = client
        .job()
        .delete(&job_id)
        .include_persisted(true)
        .await
        .unwrap();
    assert_eq!(deleted.job_id, job_id);
    let sent = requests_under(&server, "DELETE", "/job/");
    assert_eq!(
        query_param(&sent[0], "include_persisted").as_deref(),
        Some("true")
    );
    assert!(client.job().get(&job_id).await.unwrap_err().is_not_found());

    let gone = client.delete_upload(&invoice.file_id).await.unwrap();
    assert_eq!(gone.file_id, invoice.file_id);
    let err = client.parse().run(&invoice).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(client.delete_upload("").await.is_err());

    let portal = client.configure_webhook().await.unwrap();
    assert!(portal.starts_with("http"), "{portal}");
}

#[tokio::test]
async fn any_jobs_url_results_resolve_by_kind() {
    let (server, client) = fast().await;
    let packet = upload(&client, "packet.txt", PACKET).await;
    let split = client
        .split()
        .run_job(&packet)
        .category("receipt", "receipt payment")
        .force_url_result(true)
        .await
        .unwrap();
    let classify = client
        .classify()
        .run_job(&packet)
        .categories(["receipt", "invoice"])
        .force_url_result(true)
        .await
        .unwrap();
    let extract = client
        .extract()
        .run_job::<Invoice>(&packet)
        .force_url_result(true)
        .await
        .unwrap();

    let result = |id: String| {
        let client = client.clone();
        async move { client.job().wait(&id).await.unwrap().result.unwrap() }
    };
    let split = result(split.job_id).await;
    assert!(
        matches!(&split, JobResult::SplitResponse(s) if matches!(s.result, SplitResponseResult::UrlResult(_))),
        "{split:?}"
    );
    let JobResult::SplitResponse(split) = split.resolve(&client).await.unwrap() else {
        panic!("the kind changed")
    };
    assert!(matches!(split.result, SplitResponseResult::SplitResult(_)));

    let classify = result(classify.job_id)
        .await
        .resolve(&client)
        .await
        .unwrap();
    let JobResult::ClassifyResponse(classify) = classify else {
        panic!("{classify:?}")
    };
    assert!(matches!(
        classify.result,
        reducto::types::ClassifyResponseResult::ClassifyResponseCategory(_)
    ));

    let extract = result(extract.job_id).await.resolve(&client).await.unwrap();
    let JobResult::V3ExtractResponse(extract) = extract else {
        panic!("{extract:?}")
    };
    let json = serde_json::to_value(&extract.result).unwrap();
    assert_eq!(json[0]["number"], "INV-1", "{json}");
    // Three results fetched, none with the key.
    let fetched = requests_under(&server, "GET", "/results/");
    assert_eq!(fetched.len(), 3);
    assert!(fetched.iter().all(|r| !r.has_header("authorization")));
}

/// A pipeline's extractions (one per split section here) may each come
/// back as a URL: `resolve` fetches every one, without the key, and gives
/// back exactly the inline result.
#[tokio::test]
async fn a_pipelines_nested_url_results_resolve() {
    use wiremock::{
        matchers::{method, path},
        Mock, MockServer, ResponseTemplate,
    };
    let (_server, client, packet) = packets_pipeline().await;
    let inline = client
        .pipeline()
        .run_job(&packet, "packets")
        .wait()
        .await
        .unwrap();
    let inline = serde_json::to_value(&inline).unwrap();

    // Each section's extraction moves behind a URL on another host.
    let storage = MockServer::start().await;
    let mut by_url = inline.clone();
    let sections = by_url["result"]["extract"]
        .as_array_mut()
        .expect("one extraction per split section");
    assert!(sections.len() >= 2, "{sections:?}");
    for (i, section) in sections.iter_mut().enumerate() {
        let result = &mut section["result"]["result"];
        let route = format!("/stored/{i}");
        Mock::given(method("GET"))
            .and(path(route.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(result.clone()))
            .expect(1)
            .mount(&storage)
            .await;
        *result = json!({
            "type": "url",
            "url": format!("{}{route}", storage.uri()),
            "result_id": format!("stored-{i}"),
        });
    }
    let by_url: JobResult = serde_json::from_value(by_url).unwrap();
    assert_ne!(serde_json::to_value(&by_url).unwrap(), inline);

    let resolved = by_url.resolve(&client).await.unwrap();
    assert_eq!(serde_json::to_value(&resolved).unwrap(), inline);
    let fetched = storage.received_requests().await.unwrap();
    assert!(fetched
        .iter()
        .all(|r| !r.headers.contains_key("authorization")));
}

/// A job whose result breaks its kind's schema: the error names the kind
/// and the JSON path, not "did not match any variant" of the kinds.
/// (Unions inside a kind, e.g. a classify result's category-or-URL, are
/// the generated types' own.)
#[tokio::test]
async fn a_malformed_job_result_names_its_kind_and_path() {
    use wiremock::{matchers::method, Mock, MockServer, ResponseTemplate};
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "Completed", "type": "Classify",
            "result": {"response_type": "classify", "job_id": 7,
                       "result": {"category": "invoice"}}
        })))
        .mount(&mock)
        .await;
    let client = builder_for(&mock.uri()).build().unwrap();
    let err = client.job().get("c1").await.unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}")
    };
    let text = chain(&err);
    assert_eq!(decode.path.as_deref(), Some("."), "{text}");
    assert!(
        text.contains("the classify result at result.job_id: invalid type: integer `7`"),
        "{text}"
    );
    assert!(!text.contains("did not match any variant"), "{text}");
}
