//! Extract, split, classify, edit, pipeline (sync and as jobs), deleting
//! jobs and uploads, and the webhook portal, over real HTTP.

mod common;

use std::time::Duration;

use common::*;
use reducto_mock::{Server, FAIL_MARKER};
use serde_json::{json, Value};

const INVOICE: &str = "# Invoice\n\nInvoice number: INV-7\nVendor: Acme Tools\nCurrency: EUR\nTotal due: $1,523.50\n\n## Lines\n\n- Description: Widget; Quantity: 2; Amount: 1,000.00\n- Description: Gadget; Quantity: 1; Amount: 523.50\n";

/// Three pages: an invoice, a receipt, the invoice's terms.
const PACKET: &str = "Invoice number: INV-1\nInvoice total due: 10\n\u{c}Receipt of payment\nReceipt number: R-9\nPaid by card\n\u{c}Invoice terms: payment due in 30 days\nInvoice number: INV-2\n";

fn invoice_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "number": { "type": "string", "description": "The invoice number, as printed." },
            "total": { "type": "number", "title": "Total due" },
            "currency": { "anyOf": [{ "$ref": "#/$defs/Currency" }, { "type": "null" }] },
            "po_number": { "type": ["string", "null"] },
            "lines": { "type": "array", "items": { "$ref": "#/$defs/Line" } }
        },
        "required": ["number", "total", "lines"],
        "$defs": {
            "Currency": { "type": "string", "enum": ["USD", "EUR", "GBP"] },
            "Line": {
                "type": "object",
                "properties": {
                    "description": { "type": "string" },
                    "quantity": { "type": "integer" },
                    "amount": { "type": "number" }
                },
                "required": ["description", "quantity", "amount"]
            }
        }
    })
}

async fn server(builder: reducto_mock::ServerBuilder) -> Server {
    builder.start().await.expect("start")
}

async fn fast() -> Server {
    server(Server::builder().job_duration(Duration::ZERO)).await
}

async fn post(s: &Server, path: &str, body: &Value) -> (u16, Value) {
    post_json(&client(), &format!("{}{path}", s.url()), body).await
}

async fn job(s: &Server, id: &str) -> (u16, Value) {
    get(&client(), &format!("{}/job/{id}", s.url())).await
}

async fn upload_text(s: &Server, name: &str, text: &str) -> String {
    upload(&client(), &s.url(), name, text.as_bytes().to_vec()).await
}

// ------------------------------------------------------------------ extract

#[tokio::test]
async fn extract_fills_the_schema_from_the_document() {
    let s = fast().await;
    let file = upload_text(&s, "invoice.md", INVOICE).await;
    let (status, body) = post(
        &s,
        "/extract",
        &json!({ "input": file, "instructions": { "schema": invoice_schema() } }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response_type"], "v3_extract");
    assert!(body["job_id"].is_string() && body["duration"].is_number());
    assert_eq!(
        body["result"],
        json!([{
            "number": "INV-7",
            "total": 1523.5,
            "currency": "EUR",
            "po_number": null,
            "lines": [
                { "description": "Widget", "quantity": 2, "amount": 1000.0 },
                { "description": "Gadget", "quantity": 1, "amount": 523.5 }
            ]
        }])
    );
    assert_eq!(body["usage"]["num_pages"], 1);
    assert_eq!(body["usage"]["num_fields"], 10);
    assert!(body["confidence"].is_null());
}

#[tokio::test]
async fn extract_with_citations_deep_extract_and_url_results() {
    let s = fast().await;
    let file = upload_text(&s, "invoice.md", INVOICE).await;
    let (status, body) = post(
        &s,
        "/extract",
        &json!({
            "input": file,
            "instructions": { "schema": invoice_schema(), "system_prompt": "Be exact." },
            "settings": {
                "citations": { "enabled": true, "parent_block": "bbox_only" },
                "deep_extract": true
            }
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(result["number"]["value"], "INV-7");
    let cite = &result["number"]["citations"][0];
    assert_eq!(cite["content"], "Invoice number: INV-7");
    assert_eq!(cite["bbox"]["page"], 1);
    assert_eq!(cite["parentBlock"]["content"], "");
    assert_eq!(result["lines"][1]["amount"]["value"], 523.5);
    assert_eq!(
        result["po_number"],
        json!({ "value": null, "citations": [] })
    );
    // One value (po_number) was not found.
    assert_eq!(body["confidence"], "low");

    // Forced URL result: the URL serves the result without auth.
    let (_, body) = post(
        &s,
        "/extract",
        &json!({ "input": file, "instructions": { "schema": invoice_schema() },
                 "settings": { "force_url_result": true } }),
    )
    .await;
    assert_eq!(body["result"]["type"], "url", "{body}");
    let url = body["result"]["url"].as_str().expect("url");
    let fetched: Value = client()
        .get(url)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(fetched[0]["number"], "INV-7");
}

#[tokio::test(start_paused = true)]
async fn extract_jobs_reuse_a_parse_through_jobid() {
    let s = server(Server::builder().job_duration(Duration::from_secs(10))).await;
    let file = upload_text(&s, "invoice.md", INVOICE).await;
    let (_, parse) = post(&s, "/parse_async", &json!({ "input": file })).await;
    let parse_id = parse["job_id"].as_str().expect("id");
    let jobid = format!("jobid://{parse_id}");
    let schema = json!({ "properties": { "vendor": { "type": "string" } } });
    // /extract with an async config is a job too.
    let mut ids = Vec::new();
    for path in ["/extract_async", "/extract"] {
        let (status, body) = post(
            &s,
            path,
            &json!({ "input": jobid, "instructions": { "schema": schema }, "async": {} }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["job_id"].as_str().expect("job id").to_owned());
    }
    let (_, pending) = job(&s, &ids[0]).await;
    assert_eq!(pending["status"], "Pending");
    assert_eq!(pending["type"], "Extract");
    tokio::time::advance(Duration::from_secs(11)).await;
    for id in &ids {
        let (_, done) = job(&s, id).await;
        assert_eq!(done["status"], "Completed", "{done}");
        assert_eq!(done["result"]["response_type"], "v3_extract");
        assert_eq!(done["result"]["job_id"], id.as_str());
        assert_eq!(
            done["result"]["result"],
            json!([{ "vendor": "Acme Tools" }])
        );
        assert_eq!(done["source"], jobid.as_str());
    }
    let (_, list) = get(&client(), &format!("{}/jobs", s.url())).await;
    let types: Vec<&str> = list["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["type"].as_str())
        .collect();
    assert_eq!(types, ["Extract", "Extract", "Parse"]);
}

#[tokio::test]
async fn extract_refuses_bad_bodies() {
    let s = fast().await;
    for (body, loc) in [
        (json!({ "instructions": {} }), json!(["body", "input"])),
        (
            json!({ "input": "https://e.com/a.pdf", "instructions": { "schema": [1] } }),
            json!(["body", "instructions", "schema"]),
        ),
        (
            json!({ "input": "https://e.com/a.pdf", "settings": { "citations": { "enabled": "yes" } } }),
            json!(["body", "settings", "citations", "enabled"]),
        ),
        (
            json!({ "input": "https://e.com/a.pdf", "settings": { "citations": { "parent_block": "some" } } }),
            json!(["body", "settings", "citations", "parent_block"]),
        ),
    ] {
        let (status, answer) = post(&s, "/extract", &body).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert_eq!(answer["detail"][0]["loc"], loc, "{answer}");
    }
    let (status, _) = post(&s, "/extract", &json!({ "input": "reducto://nope.md" })).await;
    assert_eq!(status, 404);
    let failing = upload_text(&s, "bad.md", FAIL_MARKER).await;
    let (status, body) = post(&s, "/extract", &json!({ "input": failing })).await;
    assert_eq!(status, 500);
    assert!(body["detail"].is_string());
}

// ------------------------------------------------------------------ classify

#[tokio::test]
async fn classify_picks_the_category_whose_criteria_occur_most() {
    let s = fast().await;
    let file = upload_text(&s, "invoice.md", INVOICE).await;
    let schema = json!([
        { "category": "receipt", "criteria": ["payment receipt", "paid"] },
        { "category": "invoice", "criteria": ["invoice number", "total due"] },
        { "category": "contract", "criteria": ["signature"] }
    ]);
    let (status, body) = post(
        &s,
        "/classify",
        &json!({
            "input": file,
            "classification_schema": schema,
            "category_groups": { "finance": ["invoice", "receipt"] }
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response_type"], "classify");
    assert_eq!(body["result"], json!({ "category": "invoice" }));
    assert_eq!(body["extra_metadata"], json!({ "grouping": "finance" }));
    let categories = &body["response_confidence"]["categories"];
    assert_eq!(categories[1]["confidence"], 1.0);
    assert_eq!(categories[0]["criteria_confidence"][1]["confidence"], "low");
    assert_eq!(
        categories[1]["criteria_confidence"][0]["confidence"],
        "high"
    );
    assert_eq!(body["usage"]["num_categories"], 3);

    // Ties (here: nothing matches) go to the first category listed.
    let (_, body) = post(
        &s,
        "/classify",
        &json!({ "input": file, "classification_schema": [
            { "category": "memo", "criteria": ["memorandum"] },
            { "category": "letter", "criteria": ["sincerely"] }
        ] }),
    )
    .await;
    assert_eq!(body["result"]["category"], "memo");

    // As a job.
    let (_, submitted) = post(
        &s,
        "/classify_async",
        &json!({ "input": file, "classification_schema": schema }),
    )
    .await;
    let (_, done) = job(&s, submitted["job_id"].as_str().expect("id")).await;
    assert_eq!(done["type"], "Classify");
    assert_eq!(done["result"]["result"]["category"], "invoice");

    let (status, body) = post(&s, "/classify", &json!({ "input": file })).await;
    assert_eq!(status, 422, "no categories: {body}");
}

// ------------------------------------------------------------------ split

#[tokio::test]
async fn split_assigns_pages_by_category_words() {
    let s = fast().await;
    let file = upload_text(&s, "packet.txt", PACKET).await;
    let description = json!([
        { "name": "Invoice", "description": "An invoice with its total due", "partition_key": "invoice number" },
        { "name": "Receipt", "description": "A receipt of payment" },
        { "name": "Contract", "description": "A signed agreement" }
    ]);
    let (status, body) = post(
        &s,
        "/split",
        &json!({ "input": file, "split_description": description }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response_type"], "split");
    let result = &body["result"];
    assert_eq!(
        result["section_mapping"],
        json!({ "Invoice": [1, 3], "Receipt": [2], "Contract": [] })
    );
    assert_eq!(result["splits"][0]["conf"], "high");
    assert_eq!(result["splits"][2]["conf"], "low");
    assert_eq!(
        result["splits"][0]["partitions"],
        json!([
            { "name": "INV-1", "pages": [1], "conf": "high" },
            { "name": "INV-2", "pages": [3], "conf": "high" }
        ])
    );
    assert!(result["splits"][1]["partitions"].is_null());
    assert_eq!(body["usage"]["num_pages"], 3);

    // Deep split: page evidence instead of page numbers.
    let (_, body) = post(
        &s,
        "/split",
        &json!({ "input": file, "split_description": description, "settings": { "deep_split": true } }),
    )
    .await;
    let pages = &body["result"]["splits"][1]["pages"];
    assert_eq!(pages[0]["page_number"], 2, "{body}");
    assert!(pages[0]["evidence"]
        .as_str()
        .unwrap_or("")
        .contains("receipt"));

    // As a job.
    let (_, submitted) = post(
        &s,
        "/split_async",
        &json!({ "input": file, "split_description": description }),
    )
    .await;
    let (_, done) = job(&s, submitted["job_id"].as_str().expect("id")).await;
    assert_eq!(done["type"], "Split");
    assert_eq!(
        done["result"]["result"]["section_mapping"]["Receipt"],
        json!([2])
    );

    let (status, _) = post(&s, "/split", &json!({ "input": file })).await;
    assert_eq!(status, 422, "split_description is required");
}

// ------------------------------------------------------------------ edit

#[tokio::test]
async fn edit_serves_the_edited_document() {
    let s = fast().await;
    let file = upload_text(&s, "form.md", "# Form\n\nName: ____\nStatus: draft\n").await;
    let (status, body) = post(
        &s,
        "/edit",
        &json!({
            "document_url": file,
            "edit_instructions": "replace \"Form\" with \"Application\"\nName: Ada Lovelace",
            "edit_options": { "color": "#00FF00" }
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response_type"], "edit");
    let url = body["document_url"].as_str().expect("url");
    // No auth needed, like a presigned URL.
    let edited = client()
        .get(url)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert_eq!(
        edited,
        "# Application\n\nName: Ada Lovelace\nStatus: draft\n"
    );

    let (_, submitted) = post(
        &s,
        "/edit_async",
        &json!({ "document_url": { "file_id": file }, "edit_instructions": "Status: final" }),
    )
    .await;
    let (_, done) = job(&s, submitted["job_id"].as_str().expect("id")).await;
    assert_eq!(done["type"], "Edit");
    let url = done["result"]["document_url"].as_str().expect("url");
    let edited = client()
        .get(url)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(edited.ends_with("Status: final\n"), "{edited}");

    for bad in [
        json!({ "document_url": file }),
        json!({ "document_url": [file], "edit_instructions": "x" }),
        json!({ "document_url": file, "edit_instructions": "x", "edit_options": { "color": "red" } }),
    ] {
        let (status, body) = post(&s, "/edit", &bad).await;
        assert_eq!(status, 422, "{bad} -> {body}");
    }
}

// ------------------------------------------------------------------ pipeline

#[tokio::test]
async fn pipeline_chains_parse_split_and_extract() {
    let s = server(
        Server::builder()
            .job_duration(Duration::ZERO)
            .pipeline(
                "packets",
                json!({
                    "split": { "split_description": [
                        { "name": "Invoice", "description": "invoice total due" },
                        { "name": "Receipt", "description": "receipt payment" }
                    ] },
                    "extract": { "instructions": { "schema": {
                        "type": "object",
                        "properties": { "invoice_number": { "type": ["string", "null"] } }
                    } } }
                }),
            )
            .pipeline(
                "invoice",
                json!({ "extract": { "instructions": { "schema": invoice_schema() } } }),
            ),
    )
    .await;
    let file = upload_text(&s, "packet.txt", PACKET).await;
    let (status, body) = post(
        &s,
        "/pipeline",
        &json!({ "input": file, "pipeline_id": "packets" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response_type"], "pipeline");
    let result = &body["result"];
    assert_eq!(result["parse"]["response_type"], "parse");
    assert_eq!(
        result["split"]["result"]["section_mapping"]["Receipt"],
        json!([2])
    );
    let extract = result["extract"].as_array().expect("per split");
    assert_eq!(extract.len(), 2);
    assert_eq!(extract[0]["split_name"], "Invoice");
    assert_eq!(extract[0]["page_range"], json!([1, 3]));
    assert_eq!(
        extract[0]["result"]["result"],
        json!([{ "invoice_number": "INV-1" }])
    );
    assert_eq!(
        extract[1]["result"]["result"],
        json!([{ "invoice_number": null }])
    );
    assert!(result["edit"].is_null());

    let invoice = upload_text(&s, "invoice.md", INVOICE).await;
    let (_, submitted) = post(
        &s,
        "/pipeline_async",
        &json!({ "input": invoice, "pipeline_id": "invoice", "settings": { "document_password": "x" } }),
    )
    .await;
    let (_, done) = job(&s, submitted["job_id"].as_str().expect("id")).await;
    assert_eq!(done["type"], "Pipeline");
    assert_eq!(
        done["result"]["result"]["extract"]["result"][0]["total"],
        1523.5
    );
    assert!(done["result"]["result"]["split"].is_null());

    let (status, _) = post(
        &s,
        "/pipeline",
        &json!({ "input": file, "pipeline_id": "nope" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = post(
        &s,
        "/pipeline",
        &json!({ "input": file, "pipeline_id": "packets", "settings": { "other": 1 } }),
    )
    .await;
    assert_eq!(status, 422, "PipelineSettings forbids other fields");
}

#[tokio::test]
async fn an_invalid_pipeline_definition_fails_start() {
    let err = Server::builder()
        .pipeline("bad", json!({ "split": { "split_description": "no" } }))
        .start()
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("split_description"), "{err}");
    let err = Server::builder()
        .pipeline("bad", json!({ "classify": {} }))
        .start()
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("classify"), "{err}");
}

// ------------------------------------------------------------------ deletes

#[tokio::test]
async fn deleting_jobs_and_uploads() {
    let s = fast().await;
    let c = client();
    let file = upload_text(&s, "invoice.md", INVOICE).await;
    let (_, parse) = post(&s, "/parse_async", &json!({ "input": file })).await;
    let id = parse["job_id"].as_str().expect("id");

    let delete = |path: String| {
        let c = c.clone();
        async move { json(c.delete(path).bearer_auth(KEY).send().await.expect("send")).await }
    };
    let (status, body) = delete(format!("{}/job/{id}?include_persisted=true", s.url())).await;
    assert_eq!((status, body), (202, json!({ "job_id": id })));
    assert_eq!(job(&s, id).await.0, 404);
    assert_eq!(s.job_count(), 0);
    let (status, _) = post(&s, "/extract", &json!({ "input": format!("jobid://{id}") })).await;
    assert_eq!(status, 404, "jobid:// of a deleted job");
    assert_eq!(delete(format!("{}/job/{id}", s.url())).await.0, 404);
    let (status, body) = delete(format!("{}/job/x?include_persisted=maybe", s.url())).await;
    assert_eq!(status, 422, "{body}");

    // Escaped, as SDKs send it; and unescaped, slashes and all.
    let escaped = file.replace(':', "%3A").replace('/', "%2F");
    let (status, body) = delete(format!("{}/upload/{escaped}", s.url())).await;
    assert_eq!((status, body), (200, json!({ "file_id": file })));
    let (status, _) = post(&s, "/parse", &json!({ "input": file })).await;
    assert_eq!(status, 404, "the file is gone");
    assert_eq!(delete(format!("{}/upload/{file}", s.url())).await.0, 404);
    let other = upload_text(&s, "b.md", "b").await;
    let (status, _) = delete(format!("{}/upload/{other}", s.url())).await;
    assert_eq!(status, 200);
    assert!(s.uploaded_file(&other).is_none());
}

#[tokio::test]
async fn configure_webhook_returns_a_portal_url() {
    let s = fast().await;
    let (status, body) = json(
        client()
            .post(format!("{}/configure_webhook", s.url()))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    let url = body.as_str().expect("a JSON string");
    assert!(
        url.starts_with(&format!("{}/webhook-portal/", s.url())),
        "{url}"
    );
    let unauthenticated = client()
        .post(format!("{}/configure_webhook", s.url()))
        .send()
        .await
        .expect("send");
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test]
async fn seeded_completed_jobs_serve_a_result_of_their_kind() {
    let s = fast().await;
    let kinds = [
        ("Extract", "v3_extract"),
        ("Split", "split"),
        ("Classify", "classify"),
        ("Edit", "edit"),
        ("Pipeline", "pipeline"),
        ("Parse", "parse"),
        ("Hologram", "parse"),
    ];
    let ids = s.seed_jobs(
        kinds
            .iter()
            .map(|(kind, _)| reducto_mock::SeedJob::completed().job_type(*kind)),
    );
    for ((kind, response_type), id) in kinds.iter().zip(&ids) {
        let (status, body) = job(&s, id).await;
        assert_eq!(status, 200);
        assert_eq!(body["type"], *kind);
        assert_eq!(body["result"]["response_type"], *response_type, "{body}");
        assert_eq!(body["result"]["job_id"], id.as_str(), "{body}");
    }
    // The seeded edit's document is served.
    let (_, edit) = job(&s, &ids[3]).await;
    let url = edit["result"]["document_url"].as_str().expect("url");
    let text = client()
        .get(url)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(text.contains(&ids[3]), "{text}");
}
