//! Helpers shared by the integration tests.
#![allow(dead_code)]

use reqwest::{Client, Response};
use serde_json::Value;

pub const KEY: &str = "test-key";

/// A client that keeps no idle connections, so no client-side pool timer
/// exists to be auto-advanced under a paused tokio clock.
pub fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(0)
        .pool_idle_timeout(None)
        .build()
        .expect("client builds")
}

/// Status and JSON body of a response.
pub async fn json(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, value)
}

pub async fn get(c: &Client, url: &str) -> (u16, Value) {
    json(c.get(url).bearer_auth(KEY).send().await.expect("send")).await
}

pub async fn post_json(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    json(
        c.post(url)
            .bearer_auth(KEY)
            .json(body)
            .send()
            .await
            .expect("send"),
    )
    .await
}

/// Upload bytes as part `file` with this filename.
pub async fn upload(c: &Client, base: &str, name: &str, bytes: Vec<u8>) -> String {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let (status, body) = json(
        c.post(format!("{base}/upload"))
            .bearer_auth(KEY)
            .multipart(form)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["file_id"].as_str().expect("file_id").to_owned()
}

/// Assert `v` has exactly these keys (all required and optional-but-emitted
/// fields of a schema), so shape drift is caught.
pub fn assert_keys(v: &Value, keys: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut got: Vec<&str> = obj.keys().map(String::as_str).collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "keys of {v}");
}

/// Checks a ParseResponse against the spec's required fields and types.
pub fn check_parse_response(v: &Value) {
    assert_keys(
        v,
        &[
            "job_id",
            "duration",
            "pdf_url",
            "studio_link",
            "usage",
            "result",
            // v1.12.20's discriminator of job results (not in v1.11.57);
            // the Python SDK reads it too.
            "response_type",
        ],
    );
    assert!(v["job_id"].is_string());
    assert_eq!(v["response_type"], "parse");
    assert!(v["duration"].is_number());
    assert!(v["pdf_url"].is_null() && v["studio_link"].is_null());
    assert!(v["usage"]["num_pages"].is_u64());
    assert!(v["usage"]["credits"].is_number());
    let result = &v["result"];
    match result["type"].as_str() {
        Some("full") => check_full_result(result),
        Some("url") => {
            assert_keys(result, &["type", "url", "result_id"]);
            assert!(result["url"].is_string() && result["result_id"].is_string());
        }
        other => panic!("bad result type {other:?}"),
    }
}

pub fn check_full_result(r: &Value) {
    assert_keys(r, &["type", "chunks", "ocr", "custom"]);
    for chunk in r["chunks"].as_array().expect("chunks") {
        assert_keys(
            chunk,
            &[
                "content",
                "embed",
                "enriched",
                "enrichment_success",
                "blocks",
            ],
        );
        assert!(chunk["content"].is_string() && chunk["embed"].is_string());
        assert!(chunk["enriched"].is_null());
        assert_eq!(chunk["enrichment_success"], false);
        for block in chunk["blocks"].as_array().expect("blocks") {
            assert_keys(
                block,
                &[
                    "type",
                    "bbox",
                    "content",
                    "image_url",
                    "chart_data",
                    "confidence",
                    "granular_confidence",
                    "extra",
                ],
            );
            assert!(block["content"].is_string());
            let bbox = &block["bbox"];
            for k in ["left", "top", "width", "height"] {
                let x = bbox[k].as_f64().expect("number");
                assert!((0.0..=1.0).contains(&x), "{k}={x}");
            }
            assert!(bbox["page"].as_u64().expect("page") >= 1);
            assert_eq!(bbox["page"], bbox["original_page"]);
        }
    }
}
