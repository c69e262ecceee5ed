//! Retries against the local server (and wiremock where whole request
//! bodies must be seen): the official SDKs' rules for what is retried, how
//! long each wait is, `retry-after`, `x-should-retry`, transport failures,
//! replayed bodies, and what the tracing spans say.
//!
//! Delays are asserted on a paused tokio clock with jitter off, so
//! `Instant::elapsed` is exactly the virtual time slept.

mod common;

use std::time::Duration;

use common::*;
use reducto::{Document, Error, Reducto, RetryPolicy};
use reducto_mock::{FaultAction, FaultRule, Faults, Server};
use tokio::time::Instant;

/// The official defaults without jitter: waits of exactly 0.5 s, 1 s, ...
fn exact() -> RetryPolicy {
    RetryPolicy::default().jitter(false)
}

/// A server whose matching requests get `action`: the next `times` ones,
/// or all of them with `None`.
async fn faulty(route: &str, action: FaultAction, times: Option<u32>) -> Server {
    let rule = FaultRule::new(action).route(route);
    let rule = match times {
        Some(n) => rule.times(n),
        None => rule.always(),
    };
    Server::builder()
        .job_duration(Duration::ZERO)
        .faults(Faults::new(7).rule(rule))
        .start()
        .await
        .expect("server starts")
}

fn client_with(server: &Server, policy: RetryPolicy) -> Reducto {
    builder_for(&server.url()).retry(policy).build().unwrap()
}

fn respond(status: u16, headers: &[(&str, &str)]) -> FaultAction {
    FaultAction::Respond {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: format!(r#"{{"detail": "injected {status}"}}"#),
    }
}

#[tokio::test(start_paused = true)]
async fn two_503s_then_success_takes_three_attempts_and_backs_off() {
    let server = faulty("/jobs", FaultAction::Status(503), Some(2)).await;
    let client = client_with(&server, exact());

    let start = Instant::now();
    let page = client.job().get_all().await.unwrap();
    assert!(page.jobs.is_empty());
    assert_eq!(start.elapsed(), Duration::from_millis(500 + 1_000));

    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(requests.len(), 3);
    assert_eq!(retry_counts(&requests), ["0", "1", "2"]);
    let faulted: Vec<bool> = requests.iter().map(|r| r.faulted()).collect();
    assert_eq!(faulted, [true, true, false]);
    // Every attempt is a complete request: key, agent, same query.
    for r in &requests {
        assert_eq!(r.header("authorization"), Some("Bearer test-key"));
        assert!(r.header("user-agent").unwrap().starts_with("reducto-rs/"));
    }
}

#[tokio::test(start_paused = true)]
async fn the_default_policy_gives_up_after_three_attempts() {
    let server = faulty("/jobs", FaultAction::Status(503), None).await;

    // The default policy, jitter and all: 3 attempts, waits of
    // 0.75..=1.0 x (0.5 s + 1 s).
    let start = Instant::now();
    let error = client_for(&server).job().get_all().await.unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(
        error.api_error().unwrap().detail().as_deref(),
        Some("Mock fault: injected HTTP 503")
    );
    assert!(error.is_retryable());
    assert_eq!(list_requests(&server), 3);
    assert!(
        (Duration::from_millis(1_125)..=Duration::from_millis(1_500)).contains(&elapsed),
        "{elapsed:?}"
    );

    // Without jitter, exactly 0.5 + 1 s.
    server.clear_requests();
    let start = Instant::now();
    client_with(&server, exact())
        .job()
        .get_all()
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(1_500));
    assert_eq!(list_requests(&server), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_policies_from_the_client_and_per_call() {
    let server = faulty("/jobs", FaultAction::Status(502), None).await;
    let attempts = |server: &Server| {
        let n = list_requests(server);
        server.clear_requests();
        n
    };

    // RetryPolicy::none() on the client: one attempt, no wait.
    let none = client_with(&server, RetryPolicy::none());
    let start = Instant::now();
    let error = none.job().get_all().await.unwrap_err();
    assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(attempts(&server), 1);

    // Per call: none() overrides the client's default policy...
    let default = client_for(&server);
    let start = Instant::now();
    default
        .job()
        .get_all()
        .retry(RetryPolicy::none())
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(attempts(&server), 1);
    // ...and a patient policy overrides the client's none().
    let start = Instant::now();
    none.job()
        .get_all()
        .retry(exact().max_retries(4))
        .await
        .unwrap_err();
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(500 + 1_000 + 2_000 + 4_000)
    );
    assert_eq!(attempts(&server), 5);
    // The same per-call override on other calls.
    none.job().get("x").retry(exact()).await.unwrap_err();
    assert_eq!(
        requests_to(&server, "GET", "/job/x").len(),
        1,
        "404 is final"
    );
    server.clear_requests();

    // The builder's max_retries shorthand.
    let one_retry = builder_for(&server.url()).max_retries(1).build().unwrap();
    one_retry.job().get_all().await.unwrap_err();
    assert_eq!(attempts(&server), 2);

    // initial_delay and max_delay: 1, 2, then capped at 3 s.
    let capped = exact()
        .max_retries(5)
        .initial_delay(Duration::from_secs(1))
        .max_delay(Duration::from_secs(3));
    let start = Instant::now();
    none.job().get_all().retry(capped).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2 + 3 + 3 + 3));
    assert_eq!(attempts(&server), 6);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_within_sixty_seconds() {
    let ms = Duration::from_millis;
    // (retry-after, retry-after-ms, the wait before the retry)
    let cases: &[(Option<&str>, Option<&str>, Duration)] = &[
        (Some("3"), None, ms(3_000)),
        (Some("1.5"), None, ms(1_500)),
        (None, Some("250"), ms(250)),
        // retry-after-ms is read first.
        (Some("9"), Some("1500"), ms(1_500)),
        (Some("60"), None, ms(60_000)),
        // Over 60 s, zero, or unreadable: the computed backoff (0.5 s).
        (Some("120"), None, ms(500)),
        (None, Some("61000"), ms(500)),
        (Some("0"), None, ms(500)),
        (Some("soon"), None, ms(500)),
        (Some("Wed, 21 Oct 2015 07:28:00 GMT"), None, ms(500)),
        (None, None, ms(500)),
    ];
    for (retry_after, retry_after_ms, wait) in cases {
        let action = FaultAction::RateLimit {
            retry_after: retry_after.map(str::to_owned),
            retry_after_ms: retry_after_ms.map(str::to_owned),
        };
        let server = faulty("/jobs", action, Some(1)).await;
        let start = Instant::now();
        client_with(&server, exact())
            .job()
            .get_all()
            .await
            .unwrap_or_else(|e| panic!("{retry_after:?}/{retry_after_ms:?}: {e}"));
        assert_eq!(
            start.elapsed(),
            *wait,
            "retry-after {retry_after:?}, retry-after-ms {retry_after_ms:?}"
        );
        assert_eq!(list_requests(&server), 2);
    }

    // retry-after on a 503 counts too.
    let server = faulty("/jobs", respond(503, &[("retry-after", "2")]), Some(1)).await;
    let start = Instant::now();
    client_with(&server, exact()).job().get_all().await.unwrap();
    assert_eq!(start.elapsed(), ms(2_000));

    // A 429 that is not retried exposes the header.
    let server = faulty("/jobs", FaultAction::rate_limit_secs(3), None).await;
    let error = client_with(&server, RetryPolicy::none())
        .job()
        .get_all()
        .await
        .unwrap_err();
    assert!(error.is_rate_limit(), "{error:?}");
    assert_eq!(error.api_error().unwrap().retry_after(), Some(ms(3_000)));
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date() {
    // An HTTP date has whole seconds and is compared with the wall clock:
    // 10 s ahead, truncated to the second, is a wait in (9 s, 10 s].
    let at = chrono::Utc::now() + chrono::Duration::seconds(10);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let action = FaultAction::RateLimit {
        retry_after: Some(date.clone()),
        retry_after_ms: None,
    };
    let server = faulty("/jobs", action, Some(1)).await;
    let start = Instant::now();
    client_with(&server, exact()).job().get_all().await.unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed > Duration::from_secs(8) && elapsed <= Duration::from_secs(10),
        "{date}: waited {elapsed:?}"
    );
    assert_eq!(list_requests(&server), 2);
}

#[tokio::test(start_paused = true)]
async fn x_should_retry_overrides_the_status() {
    // false on a 503: not retried.
    let server = faulty("/jobs", respond(503, &[("x-should-retry", "false")]), None).await;
    let error = client_with(&server, exact())
        .job()
        .get_all()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
    assert!(!error.is_retryable());
    assert_eq!(list_requests(&server), 1);

    // true on a 400: retried (and the retry succeeds).
    let server = faulty(
        "/jobs",
        respond(400, &[("x-should-retry", "true")]),
        Some(1),
    )
    .await;
    let start = Instant::now();
    client_with(&server, exact()).job().get_all().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(retry_counts(&requests), ["0", "1"]);

    // true on every 400: retried until the policy gives up.
    let server = faulty("/jobs", respond(400, &[("x-should-retry", "true")]), None).await;
    let error = client_with(&server, exact())
        .job()
        .get_all()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BadRequest(_)), "{error:?}");
    assert_eq!(list_requests(&server), 3);
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_not_retried_and_transient_ones_are() {
    for status in [400, 401, 403, 404, 422] {
        let server = faulty("/jobs", respond(status, &[]), None).await;
        let start = Instant::now();
        let error = client_with(&server, exact())
            .job()
            .get_all()
            .await
            .unwrap_err();
        let class_ok = match status {
            400 => matches!(error, Error::BadRequest(_)),
            401 => matches!(error, Error::Authentication(_)),
            403 => matches!(error, Error::PermissionDenied(_)),
            404 => matches!(error, Error::NotFound(_)),
            _ => matches!(error, Error::UnprocessableEntity(_)),
        };
        assert!(class_ok, "{status}: {error:?}");
        assert!(!error.is_retryable(), "{status}");
        assert_eq!(list_requests(&server), 1, "{status} is not retried");
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
    for status in [408, 409, 429, 500, 502, 503, 504] {
        let server = faulty("/jobs", respond(status, &[]), Some(1)).await;
        let start = Instant::now();
        client_with(&server, exact())
            .job()
            .get_all()
            .await
            .unwrap_or_else(|e| panic!("{status} then 200: {e}"));
        assert_eq!(list_requests(&server), 2, "{status} is retried");
        assert_eq!(start.elapsed(), Duration::from_millis(500), "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_connection_is_retried() {
    let server = faulty("/jobs", FaultAction::DropConnection, Some(1)).await;
    let start = Instant::now();
    client_with(&server, exact()).job().get_all().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].faults, [FaultAction::DropConnection]);
    assert_eq!(retry_counts(&requests), ["0", "1"]);

    // Every attempt dropped: a connection error after 3 attempts.
    let server = faulty("/jobs", FaultAction::DropConnection, None).await;
    let start = Instant::now();
    let error = client_with(&server, exact())
        .job()
        .get_all()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{error:?}");
    assert!(error.is_transport() && error.is_retryable());
    assert_eq!(start.elapsed(), Duration::from_millis(1_500));
    assert_eq!(list_requests(&server), 3);
}

#[tokio::test(start_paused = true)]
async fn connection_refused_is_a_connection_error_after_the_retries() {
    // A port that was free a moment ago: nothing listens there now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = builder_for(&format!("http://127.0.0.1:{port}"))
        .retry(exact())
        .build()
        .unwrap();
    let start = Instant::now();
    let error = client.job().get_all().await.unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{error:?}");
    assert!(error.is_retryable());
    // Three attempts: the waits between them are the evidence.
    assert_eq!(start.elapsed(), Duration::from_millis(1_500));

    let client = builder_for(&format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let start = Instant::now();
    let error = client.job().get_all().await.unwrap_err();
    assert!(matches!(error, Error::Connection(_)), "{error:?}");
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_request_timeout_is_retried() {
    // The first two attempts take 10 s at the server; each is given 2 s.
    let server = faulty(
        "/jobs",
        FaultAction::Latency(Duration::from_secs(10)),
        Some(2),
    )
    .await;
    let client = client_with(&server, exact());
    let start = Instant::now();
    client
        .job()
        .get_all()
        .timeout(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(2_000 + 500 + 2_000 + 1_000)
    );
    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(retry_counts(&requests), ["0", "1", "2"]);

    // Always slow: a timeout error after 3 attempts.
    let server = faulty("/jobs", FaultAction::Latency(Duration::from_secs(10)), None).await;
    let error = client_with(&server, exact())
        .job()
        .get_all()
        .timeout(Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "{error:?}");
    assert_eq!(list_requests(&server), 3);
}

#[tokio::test(start_paused = true)]
async fn posts_are_retried_with_the_same_body() {
    let server = faulty("/parse_async", FaultAction::Status(503), Some(1)).await;
    let client = client_with(&server, exact());
    let job = client
        .parse()
        .run_job("https://example.com/report.pdf")
        .await
        .unwrap();
    assert!(!job.job_id.is_empty());
    let posts = requests_to(&server, "POST", "/parse_async");
    assert_eq!(posts.len(), 2);
    assert_eq!(retry_counts(&posts), ["0", "1"]);
    // The fault answered before reading the first body; the retry's body
    // is the whole JSON request.
    assert!(posts[1].body_len > 0);
    assert_eq!(server.job_count(), 1, "one job created");

    let server = faulty("/parse", FaultAction::Status(500), Some(1)).await;
    let client = client_with(&server, exact());
    let parsed = client
        .parse()
        .run("https://example.com/report.pdf")
        .await
        .unwrap();
    assert!(parsed.chunks().is_some());
    assert_eq!(requests_to(&server, "POST", "/parse").len(), 2);
}

/// A document whose every byte is checkable: 100 KiB of a counting pattern.
fn document_bytes() -> Vec<u8> {
    (0..100 * 1024u32).map(|i| (i % 251) as u8).collect()
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(start_paused = true)]
async fn uploads_from_a_path_or_bytes_are_replayed_on_retry() {
    let content = document_bytes();
    let dir = std::env::temp_dir().join(format!("reducto-retry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scan.pdf");
    std::fs::write(&path, &content).unwrap();

    let documents = [
        ("scan.pdf", Document::from(path.as_path())),
        ("memo.pdf", Document::bytes(content.clone(), "memo.pdf")),
    ];
    for (file_name, document) in documents {
        let server = faulty("/upload", FaultAction::Status(503), Some(1)).await;
        let client = client_with(&server, exact());
        let upload = client.upload(document).await.unwrap();
        let stored = server.uploaded_file(&upload.file_id).unwrap();
        assert_eq!(stored.bytes, content, "{file_name}");
        assert_eq!(stored.filename.as_deref(), Some(file_name));

        let posts = requests_to(&server, "POST", "/upload");
        assert_eq!(posts.len(), 2, "{file_name}");
        assert_eq!(retry_counts(&posts), ["0", "1"]);
        assert_eq!(posts[0].faults, [FaultAction::Status(503)]);
        let parts = &posts[1].multipart_parts;
        assert_eq!(parts.len(), 1, "{file_name}");
        assert_eq!(parts[0].name, "file");
        assert_eq!(parts[0].filename.as_deref(), Some(file_name));
        assert_eq!(parts[0].size, content.len(), "{file_name}: the whole file");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_upload_from_a_reader_is_sent_once() {
    let server = faulty("/upload", FaultAction::Status(503), Some(1)).await;
    let client = client_with(&server, exact());
    let reader = std::io::Cursor::new(document_bytes());
    let error = client
        .upload(Document::reader(reader, "stream.pdf"))
        .await
        .unwrap_err();
    // The server answered 503 without reading the body: depending on
    // timing the client sees the 503 or a broken connection. Either way,
    // once.
    assert!(
        matches!(error, Error::InternalServer(_) | Error::Connection(_)),
        "{error:?}"
    );
    idle(60).await;
    assert_eq!(requests_to(&server, "POST", "/upload").len(), 1);
}

// wiremock serves from its own thread: under a paused clock this runtime
// would see no I/O while waiting for it, auto-advance to the next timer
// (the hour-long request timeout) and time the request out. So this test
// runs on the real clock with a 1 ms backoff.
#[tokio::test]
async fn every_upload_attempt_carries_the_whole_multipart_body() {
    use wiremock::{
        matchers::{method, path},
        Mock, MockServer, ResponseTemplate,
    };
    let content = document_bytes();
    let dir = std::env::temp_dir().join(format!("reducto-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("scan.pdf");
    std::fs::write(&file, &content).unwrap();
    let fast = exact().initial_delay(Duration::from_millis(1));

    let kinds = ["path", "bytes", "reader"];
    for kind in kinds {
        let mock = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/upload"))
            .respond_with(
                ResponseTemplate::new(503).set_body_json(serde_json::json!({"detail": "busy"})),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&mock)
            .await;
        Mock::given(method("POST"))
            .and(path("/upload"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"file_id": "reducto://abc.pdf", "presigned_url": null}),
            ))
            .with_priority(2)
            .mount(&mock)
            .await;
        let client = builder_for(&mock.uri())
            .retry(fast.clone())
            .build()
            .unwrap();
        let document = match kind {
            "path" => Document::from(file.as_path()),
            "bytes" => Document::bytes(content.clone(), "scan.pdf"),
            _ => Document::reader(std::io::Cursor::new(content.clone()), "scan.pdf"),
        };
        let outcome = client.upload(document).await;
        let received = mock.received_requests().await.unwrap();
        if kind == "reader" {
            let error = outcome.unwrap_err();
            assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
            assert_eq!(received.len(), 1, "a reader cannot be replayed");
        } else {
            assert_eq!(outcome.unwrap().file_id, "reducto://abc.pdf");
            assert_eq!(received.len(), 2, "{kind}");
        }
        for (i, request) in received.iter().enumerate() {
            assert!(
                contains(&request.body, &content),
                "{kind} attempt {i}: the whole file"
            );
            assert!(
                contains(&request.body, br#"name="file"; filename="scan.pdf""#),
                "{kind} attempt {i}"
            );
            assert_eq!(
                request.headers.get("x-reducto-retry-count").unwrap(),
                &i.to_string(),
                "{kind}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn tracing_names_the_operation_and_attempt_and_never_the_key() {
    const SECRET: &str = "sk-tracing-secret-4242";
    let (captured, _tracing) = capture_tracing();

    let server = Server::builder()
        .faults(
            Faults::new(1)
                .rule(
                    FaultRule::new(FaultAction::Status(503))
                        .route("/jobs")
                        .times(2),
                )
                .rule(
                    FaultRule::new(FaultAction::DropConnection)
                        .route("/upload")
                        .times(1),
                ),
        )
        .start()
        .await
        .unwrap();
    let client = Reducto::builder()
        .read_env(false)
        .api_key(SECRET)
        .base_url(server.url())
        .retry(exact())
        .build()
        .unwrap();
    client.job().get_all().await.unwrap();
    client
        .upload(Document::bytes(b"hello".to_vec(), "a.txt"))
        .await
        .unwrap();
    // Requests really carried the key.
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some(&format!("Bearer {SECRET}"))));

    let log = captured.text();
    let lines: Vec<&str> = log.lines().collect();
    let list_spans: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("reducto.request") && l.contains("operation=\"get_jobs_jobs_get\""))
        .collect();
    for attempt in 1..=3 {
        assert!(
            list_spans
                .iter()
                .any(|l| l.contains(&format!("attempt={attempt}"))),
            "no span for attempt {attempt} in:\n{log}"
        );
    }
    // Each retry is announced with its delay, inside the failed attempt's span.
    let retrying: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("retrying"))
        .collect();
    assert!(
        retrying
            .iter()
            .any(|l| l.contains("attempt=1") && l.contains("delay_ms=500")),
        "{log}"
    );
    assert!(
        retrying
            .iter()
            .any(|l| l.contains("attempt=2") && l.contains("delay_ms=1000")),
        "{log}"
    );
    assert!(list_spans.iter().any(|l| l.contains("status=503")), "{log}");
    assert!(list_spans.iter().any(|l| l.contains("status=200")), "{log}");
    // The upload: a dropped connection, logged, then a second attempt.
    assert!(
        lines.iter().any(|l| l.contains("operation=\"upload\"")
            && l.contains("attempt=1")
            && l.contains("request failed")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("operation=\"upload\"") && l.contains("attempt=2")),
        "{log}"
    );
    // Never the key, in any form.
    assert!(!log.contains(SECRET), "the key leaked:\n{log}");
    assert!(
        !log.contains("tracing-secret"),
        "part of the key leaked:\n{log}"
    );
    assert!(
        !log.contains("Bearer"),
        "an authorization header leaked:\n{log}"
    );
}

#[tokio::test(start_paused = true)]
async fn extreme_retry_settings_neither_panic_nor_retry_for_ever() {
    let server = faulty("/jobs", FaultAction::Status(503), None).await;
    let client = builder_for(&server.url())
        .timeout(Duration::MAX)
        .max_response_size(u64::MAX)
        .retry(
            RetryPolicy::default()
                .max_retries(u32::MAX)
                .initial_delay(Duration::MAX)
                .max_delay(Duration::MAX)
                .max_retry_after(Duration::MAX),
        )
        .build()
        .unwrap();
    let error = client.job().get_all().await.unwrap_err();
    assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
    // Clamped to the documented ceiling.
    assert_eq!(
        requests_to(&server, "GET", "/jobs").len() as u32,
        1 + reducto::RetryPolicy::MAX_RETRIES
    );
}

#[tokio::test(start_paused = true)]
async fn huge_server_retry_after_values_are_ignored_not_panics() {
    for (name, value) in [
        ("retry-after-ms", "1e300"),
        ("retry-after", "1e300"),
        ("retry-after", "18446744073709551616"),
        ("retry-after-ms", "NaN"),
    ] {
        let server = faulty("/jobs", respond(429, &[(name, value)]), Some(1)).await;
        let client = client_with(&server, exact().max_retry_after(Duration::MAX));
        let start = Instant::now();
        client.job().get_all().await.unwrap();
        // Not honoured: the computed backoff (0.5 s) instead.
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(500),
            "{name}: {value}"
        );
    }
}
