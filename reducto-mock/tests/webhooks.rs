//! Webhook deliveries: when a job with a webhook ends, the server POSTs to
//! the receiver, retries failures with backoff (tokio clock), signs Svix
//! deliveries, and stops delivering when shut down.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use common::*;
use reducto_mock::{DeliveryOutcome, Server, FAIL_MARKER, WEBHOOK_RETRIES};
use serde_json::{json, Value};

/// A webhook receiver answering from a script (then 200), recording what
/// it received.
#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<u16>>>,
    received: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

impl Receiver {
    /// Serve on a random port; returns the receiver and its `/hook` URL.
    async fn start(script: &[u16]) -> (Receiver, String) {
        let receiver = Receiver {
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            ..Receiver::default()
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn received(&self) -> Vec<(HeaderMap, Value)> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).expect("JSON delivery");
    r.received.lock().unwrap().push((headers, value));
    let code = r.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(code).expect("status")
}

async fn server(duration: Duration) -> Server {
    Server::builder()
        .job_duration(duration)
        .start()
        .await
        .expect("start")
}

/// Starts an async parse with this `async` config; returns the job id.
async fn start_job(s: &Server, input: &str, asynchronous: Value) -> String {
    let (status, body) = post_json(
        &client(),
        &format!("{}/parse_async", s.url()),
        &json!({"input": input, "async": asynchronous}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["job_id"].as_str().expect("job_id").to_owned()
}

fn secs(s: &[u64]) -> Vec<Duration> {
    s.iter().map(|&n| Duration::from_secs(n)).collect()
}

#[tokio::test(start_paused = true)]
async fn a_receiver_failing_twice_gets_three_attempts() {
    let s = server(Duration::from_secs(5)).await;
    let (receiver, url) = Receiver::start(&[500, 503]).await;
    let job = start_job(
        &s,
        "https://example.com/a.pdf",
        json!({"webhook": {"mode": "direct", "url": url}, "metadata": {"doc": 7}}),
    )
    .await;
    let start = tokio::time::Instant::now();
    s.webhooks_idle().await;
    // Delivered 5 s after submission, then retried after 1 s and 2 s more.
    assert_eq!(start.elapsed(), Duration::from_secs(5 + 1 + 2));
    let deliveries = s.webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d.job_id, job);
    assert_eq!(d.mode, "direct");
    assert_eq!(d.outcome, DeliveryOutcome::Delivered);
    let statuses: Vec<_> = d.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(503), Some(200)]);
    let after: Vec<_> = d.attempts.iter().map(|a| a.after).collect();
    assert_eq!(after, secs(&[0, 1, 3]));
    let expected = json!({"status": "Completed", "job_id": job, "metadata": {"doc": 7}});
    assert_eq!(d.body, expected);
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|(h, body)| *body == expected
        && h.get("content-type").map(|v| v.as_bytes()) == Some(b"application/json".as_slice())
        && !h.contains_key("svix-signature")));
}

#[tokio::test(start_paused = true)]
async fn a_receiver_that_always_fails_gets_one_plus_three_attempts() {
    let s = Server::builder()
        .job_duration(Duration::ZERO)
        .webhook_backoff(Duration::from_millis(500))
        .start()
        .await
        .expect("start");
    let (receiver, url) = Receiver::start(&[500; 10]).await;
    start_job(
        &s,
        "https://example.com/a.pdf",
        json!({"webhook": {"mode": "direct", "url": url}}),
    )
    .await;
    s.webhooks_idle().await;
    let d = &s.webhook_deliveries()[0];
    assert_eq!(d.outcome, DeliveryOutcome::GaveUp);
    assert_eq!(d.attempts.len(), 1 + WEBHOOK_RETRIES as usize);
    let after: Vec<_> = d.attempts.iter().map(|a| a.after).collect();
    assert_eq!(
        after,
        [0, 500, 1500, 3500].map(Duration::from_millis).to_vec()
    );
    assert_eq!(receiver.received().len(), 4);
    // The server gave up: no fifth attempt, however long we wait.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(receiver.received().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn unreachable_receivers_are_recorded_and_given_up() {
    let s = server(Duration::ZERO).await;
    // A port nothing listens on (bound, then closed).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    drop(listener);
    start_job(
        &s,
        "https://example.com/a.pdf",
        json!({"webhook": {"mode": "direct", "url": url}}),
    )
    .await;
    start_job(
        &s,
        "https://example.com/a.pdf",
        json!({"webhook": {"mode": "direct", "url": "not a url"}}),
    )
    .await;
    s.webhooks_idle().await;
    for d in s.webhook_deliveries() {
        assert_eq!(d.outcome, DeliveryOutcome::GaveUp);
        assert_eq!(d.attempts.len(), 4);
        assert!(d
            .attempts
            .iter()
            .all(|a| a.status.is_none() && a.error.is_some()));
    }
}

#[tokio::test(start_paused = true)]
async fn failed_and_cancelled_jobs_are_notified_when_they_end() {
    let s = server(Duration::from_secs(60)).await;
    let (receiver, url) = Receiver::start(&[]).await;
    let hook = json!({"webhook": {"mode": "direct", "url": url}});
    let failed = start_job(
        &s,
        &format!("https://example.com/{FAIL_MARKER}"),
        hook.clone(),
    )
    .await;
    let cancelled = start_job(&s, "https://example.com/a.pdf", hook).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (status, _) = post_json(
        &client(),
        &format!("{}/cancel/{cancelled}", s.url()),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    // The cancellation is delivered at once, not at the job's planned end,
    // as `Failed`: Reducto's webhooks say `Completed` or `Failed` only.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let got: Vec<Value> = receiver.received().into_iter().map(|(_, b)| b).collect();
    assert_eq!(
        got,
        [json!({"status": "Failed", "job_id": cancelled, "metadata": null})]
    );
    s.webhooks_idle().await;
    let got: Vec<Value> = receiver.received().into_iter().map(|(_, b)| b).collect();
    assert_eq!(
        got[1],
        json!({"status": "Failed", "job_id": failed, "metadata": null})
    );
    assert_eq!(got.len(), 2);
}

/// `v1,<base64 HMAC-SHA256(key, "id.ts.body")>` computed by the test.
fn expected_signature(secret: &str, id: &str, ts: &str, body: &[u8]) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut msg = format!("{id}.{ts}.").into_bytes();
    msg.extend_from_slice(body);
    format!("v1,{}", engine.encode(hmac_sha256::HMAC::mac(&msg, &key)))
}

#[tokio::test]
async fn svix_deliveries_go_to_the_endpoint_signed() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (receiver, url) = Receiver::start(&[502]).await;
    let s = Server::builder()
        .job_duration(Duration::ZERO)
        .webhook_backoff(Duration::from_millis(10))
        .svix_endpoint(&url, SECRET)
        .start()
        .await
        .expect("start");
    let job = start_job(
        &s,
        "https://example.com/a.pdf",
        json!({"webhook": {"mode": "svix", "channels": ["eu"]}, "metadata": {"k": "v"}}),
    )
    .await;
    s.webhooks_idle().await;
    let d = &s.webhook_deliveries()[0];
    assert_eq!(
        (d.mode.as_str(), d.url.as_deref()),
        ("svix", Some(url.as_str()))
    );
    assert_eq!(d.outcome, DeliveryOutcome::Delivered);
    let id = d.message_id.clone().expect("svix id");
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for (headers, body) in &received {
        let h = |n: &str| headers.get(n).expect(n).to_str().unwrap().to_owned();
        // The same message id on a retry, as Svix does.
        assert_eq!(h("svix-id"), id);
        let bytes = serde_json::to_vec(body).unwrap();
        assert_eq!(
            *body,
            json!({"status": "Completed", "job_id": job, "metadata": {"k": "v"}})
        );
        assert_eq!(
            h("svix-signature"),
            expected_signature(SECRET, &id, &h("svix-timestamp"), &bytes)
        );
    }
}

#[tokio::test]
async fn svix_without_an_endpoint_and_bad_secrets() {
    let s = server(Duration::ZERO).await;
    start_job(&s, "https://example.com/a.pdf", json!({"webhook": {}})).await;
    s.webhooks_idle().await;
    let d = &s.webhook_deliveries()[0];
    assert_eq!(
        (d.mode.as_str(), d.outcome),
        ("svix", DeliveryOutcome::NoEndpoint)
    );
    assert!(d.attempts.is_empty());
    for bad in ["whsec_", "whsec_!!", ""] {
        let err = Server::builder()
            .svix_endpoint("http://127.0.0.1:1/", bad)
            .start()
            .await
            .expect_err(bad);
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}

#[tokio::test]
async fn webhook_configs_are_validated() {
    let s = server(Duration::ZERO).await;
    let c = client();
    for (webhook, loc) in [
        (
            json!({"mode": "direct"}),
            json!(["body", "async", "webhook", "url"]),
        ),
        (
            json!({"mode": "direct", "url": 5}),
            json!(["body", "async", "webhook", "url"]),
        ),
        (
            json!({"mode": "email"}),
            json!(["body", "async", "webhook", "mode"]),
        ),
        (json!("https://x"), json!(["body", "async", "webhook"])),
    ] {
        let (status, body) = post_json(
            &c,
            &format!("{}/parse_async", s.url()),
            &json!({"input": "https://example.com/a.pdf", "async": {"webhook": webhook}}),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["detail"][0]["loc"], loc);
    }
    // Disabled, null or absent: no delivery.
    for asynchronous in [
        json!({"webhook": {"mode": "disabled"}}),
        json!({"webhook": null}),
        json!({}),
    ] {
        start_job(&s, "https://example.com/a.pdf", asynchronous).await;
    }
    assert!(s.webhook_deliveries().is_empty());
}

#[tokio::test(start_paused = true)]
async fn shutting_down_stops_pending_deliveries() {
    let s = server(Duration::from_secs(30)).await;
    let (receiver, url) = Receiver::start(&[]).await;
    start_job(
        &s,
        "https://example.com/a.pdf",
        json!({"webhook": {"mode": "direct", "url": url}}),
    )
    .await;
    s.shutdown().await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(receiver.received().is_empty());
}

/// Every operation's jobs notify their end through the one job-creation
/// path: the `*_async` routes (edit's top-level `webhook` too), and
/// `/extract` and `/parse` given an async config.
#[tokio::test(start_paused = true)]
async fn every_operation_notifies_its_end() {
    let s = Server::builder()
        .job_duration(Duration::from_secs(5))
        .pipeline(
            "totals",
            json!({ "extract": { "instructions": { "schema": {
                "type": "object", "properties": { "total": { "type": "number" } }
            } } } }),
        )
        .start()
        .await
        .expect("start");
    let (receiver, url) = Receiver::start(&[]).await;
    let c = client();
    let file = upload(
        &c,
        &s.url(),
        "invoice.md",
        b"# Invoice\n\nInvoice number: INV-7\nTotal: 12.50\n".to_vec(),
    )
    .await;
    let hook =
        |op: &str| json!({"webhook": {"mode": "direct", "url": url}, "metadata": {"op": op}});
    let schema = json!({ "properties": { "invoice_number": { "type": "string" } } });
    let requests = [
        (
            "/extract_async",
            json!({"input": file, "instructions": {"schema": schema}, "async": hook("extract_async")}),
        ),
        (
            "/extract",
            json!({"input": file, "instructions": {"schema": schema}, "async": hook("extract")}),
        ),
        (
            "/split_async",
            json!({"input": file, "split_description": [{"name": "Invoice", "description": "invoice"}], "async": hook("split_async")}),
        ),
        (
            "/classify_async",
            json!({"input": file, "classification_schema": [{"category": "invoice", "criteria": ["invoice"]}], "async": hook("classify_async")}),
        ),
        (
            "/pipeline_async",
            json!({"input": file, "pipeline_id": "totals", "async": hook("pipeline_async")}),
        ),
        (
            "/edit_async",
            json!({"document_url": {"file_id": file}, "edit_instructions": "Total: 13.00",
            "webhook": {"mode": "direct", "url": url, "metadata": {"op": "edit_async"}}}),
        ),
    ];
    let mut jobs = Vec::new();
    for (path, body) in &requests {
        let (status, answer) = post_json(&c, &format!("{}{path}", s.url()), body).await;
        assert_eq!(status, 200, "{path}: {answer}");
        let id = answer["job_id"].as_str().expect("job_id").to_owned();
        jobs.push((path.trim_start_matches('/').to_owned(), id));
    }
    // `/parse` given an `AsyncParseConfig` answers the result, and notifies.
    let (status, answer) = post_json(
        &c,
        &format!("{}/parse", s.url()),
        &json!({"input": file, "async": hook("parse")}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["job_id"].as_str().expect("job_id").to_owned();
    jobs.push(("parse".to_owned(), id));
    // A sync split's `async` is an extra the spec ignores: no delivery.
    let split = json!({"input": file, "split_description": [{"name": "Invoice", "description": "invoice"}], "async": hook("split")});
    let (status, answer) = post_json(&c, &format!("{}/split", s.url()), &split).await;
    assert_eq!(status, 200, "{answer}");
    s.webhooks_idle().await;
    let mut got: Vec<Value> = receiver.received().into_iter().map(|(_, b)| b).collect();
    got.sort_by_key(|b| b["metadata"]["op"].as_str().unwrap_or("").to_owned());
    let mut want: Vec<Value> = jobs
        .iter()
        .map(|(op, id)| json!({"status": "Completed", "job_id": id, "metadata": {"op": op}}))
        .collect();
    want.sort_by_key(|b| b["metadata"]["op"].as_str().unwrap_or("").to_owned());
    assert_eq!(got, want);
    let deliveries = s.webhook_deliveries();
    assert_eq!(deliveries.len(), jobs.len());
    assert!(deliveries
        .iter()
        .all(|d| d.outcome == DeliveryOutcome::Delivered && d.attempts.len() == 1));
}

#[tokio::test(start_paused = true)]
async fn edit_webhooks_default_to_disabled_and_deleted_jobs_are_not_notified() {
    let s = server(Duration::from_secs(30)).await;
    let (receiver, url) = Receiver::start(&[]).await;
    let c = client();
    let file = upload(&c, &s.url(), "form.txt", b"Status: draft\n".to_vec()).await;
    // `WebhookConfigNew.mode` defaults to disabled.
    let (status, body) = post_json(
        &c,
        &format!("{}/edit_async", s.url()),
        &json!({"document_url": file, "edit_instructions": "Status: final", "webhook": {"url": url}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A bad top-level webhook is a 422 at its own place.
    let (status, body) = post_json(
        &c,
        &format!("{}/edit_async", s.url()),
        &json!({"document_url": file, "edit_instructions": "x", "webhook": {"mode": "direct"}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "webhook", "url"]));
    assert!(s.webhook_deliveries().is_empty());

    let job = start_job(
        &s,
        "https://example.com/a.pdf",
        json!({"webhook": {"mode": "direct", "url": url}}),
    )
    .await;
    let resp = c
        .delete(format!("{}/job/{job}", s.url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 202);
    // The delivery ends at once, without waiting for the planned end.
    let start = tokio::time::Instant::now();
    s.webhooks_idle().await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    let deliveries = s.webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].outcome, DeliveryOutcome::JobDeleted);
    assert!(deliveries[0].attempts.is_empty());
    assert!(receiver.received().is_empty());
}

/// A long-running server keeps only its last `record_limit` deliveries on
/// record, and still makes every one.
#[tokio::test(start_paused = true)]
async fn the_delivery_record_is_bounded_by_the_record_limit() {
    let s = Server::builder()
        .job_duration(Duration::from_secs(1))
        .record_limit(2)
        .start()
        .await
        .expect("start");
    let (receiver, url) = Receiver::start(&[]).await;
    let mut jobs = Vec::new();
    for _ in 0..5 {
        let hook = json!({"webhook": {"mode": "direct", "url": url}});
        jobs.push(start_job(&s, "https://example.com/a.pdf", hook).await);
    }
    s.webhooks_idle().await;
    assert_eq!(receiver.received().len(), 5);
    let kept: Vec<String> = s
        .webhook_deliveries()
        .into_iter()
        .map(|d| d.job_id)
        .collect();
    assert_eq!(kept, jobs[3..]);
}
