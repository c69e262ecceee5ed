//! Webhooks: verifying Svix-signed deliveries (Standard Webhooks), parsing
//! events, and asking for a webhook when starting a job.

mod common;

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::*;
use reducto::types::AsyncConfig;
use reducto::webhook::{
    HeaderLookup, Verifier, WebhookConfig, WebhookError, WebhookEvent, DEFAULT_TOLERANCE,
};
use reducto::{Error, JobStatus};
use serde_json::{json, Value};

/// Standard Webhooks' published test vector.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const VECTOR_TS: u64 = 1_614_265_330;
const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
const VECTOR_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const BODY: &str = r#"{"status":"Completed","job_id":"job-1","metadata":{"doc":7}}"#;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// `v1,<base64 HMAC-SHA256(key, "id.ts.body")>`, computed in the test.
fn sign(secret: &str, id: &str, ts: impl Display, body: &str) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.trim_start_matches("whsec_"))
        .expect("base64 secret");
    let mac = hmac_sha256::HMAC::mac(format!("{id}.{ts}.{body}").as_bytes(), &key);
    format!("v1,{}", engine.encode(mac))
}

fn headers(id: &str, ts: impl Display, signature: &str) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("svix-id", id.parse().expect("header"));
    h.insert("svix-timestamp", ts.to_string().parse().expect("header"));
    h.insert("svix-signature", signature.parse().expect("header"));
    h
}

fn verifier() -> Verifier {
    Verifier::new(SECRET).expect("valid secret")
}

#[test]
fn the_published_test_vector_verifies() {
    // The test's own signer agrees with the published vector...
    assert_eq!(sign(SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY), VECTOR_SIG);
    // ...and so does the verifier (the body is not a job event).
    let h = headers(VECTOR_ID, VECTOR_TS, VECTOR_SIG);
    verifier()
        .check_signature(&h, VECTOR_BODY.as_bytes(), at(VECTOR_TS))
        .expect("valid");
    assert!(matches!(
        verifier().verify_at(&h, VECTOR_BODY.as_bytes(), at(VECTOR_TS)),
        Err(WebhookError::InvalidJson(_))
    ));
}

#[test]
fn a_valid_delivery_gives_the_event() {
    let now = 1_700_000_000;
    let h = headers("msg_1", now, &sign(SECRET, "msg_1", now, BODY));
    let event = verifier()
        .verify_at(&h, BODY.as_bytes(), at(now + 10))
        .expect("valid");
    assert_eq!(event.job_id, "job-1");
    assert_eq!(event.status, JobStatus::Completed);
    assert_eq!(event.metadata, Some(json!({"doc": 7})));
    assert!(event.extra.is_empty());
    // Now, on the real clock.
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let h = headers("msg_2", real, &sign(SECRET, "msg_2", real, BODY));
    assert_eq!(
        verifier().verify(&h, BODY.as_bytes()).expect("valid"),
        event
    );
}

#[test]
fn tampering_or_another_secret_is_refused() {
    let now = 1_700_000_000;
    let sig = sign(SECRET, "msg_1", now, BODY);
    let tampered = BODY.replace("Completed", "Failed");
    let h = headers("msg_1", now, &sig);
    assert!(matches!(
        verifier().verify_at(&h, tampered.as_bytes(), at(now)),
        Err(WebhookError::InvalidSignature)
    ));
    // Another id or timestamp under the same signature.
    for h in [headers("msg_2", now, &sig), headers("msg_1", now + 1, &sig)] {
        assert!(matches!(
            verifier().verify_at(&h, BODY.as_bytes(), at(now)),
            Err(WebhookError::InvalidSignature)
        ));
    }
    // Signed with another secret.
    let other = "whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=";
    let h = headers("msg_1", now, &sign(other, "msg_1", now, BODY));
    assert!(matches!(
        verifier().verify_at(&h, BODY.as_bytes(), at(now)),
        Err(WebhookError::InvalidSignature)
    ));
    assert!(Verifier::new(other)
        .expect("valid")
        .verify_at(&h, BODY.as_bytes(), at(now))
        .is_ok());
}

#[test]
fn timestamps_outside_the_tolerance_are_refused() {
    let ts = 1_700_000_000;
    let h = headers("msg_1", ts, &sign(SECRET, "msg_1", ts, BODY));
    let check = |v: &Verifier, now: u64| v.verify_at(&h, BODY.as_bytes(), at(now));
    let v = verifier();
    // The default is Svix's 5 minutes, as a literal: the test must not
    // follow the constant if it changes.
    let limit = 300;
    assert_eq!(DEFAULT_TOLERANCE, Duration::from_secs(limit));
    assert!(check(&v, ts + limit).is_ok());
    assert!(check(&v, ts - limit).is_ok());
    // Expired: the same delivery replayed later than the tolerance.
    match check(&v, ts + limit + 1) {
        Err(WebhookError::TimestampTooOld { age }) => {
            assert_eq!(age, Duration::from_secs(limit + 1))
        }
        other => panic!("{other:?}"),
    }
    // From the future.
    match check(&v, ts - limit - 1) {
        Err(WebhookError::TimestampInFuture { ahead }) => {
            assert_eq!(ahead, Duration::from_secs(limit + 1))
        }
        other => panic!("{other:?}"),
    }
    // A configured tolerance: a replay after 31 s is refused at 30 s.
    let strict = verifier().tolerance(Duration::from_secs(30));
    assert!(check(&strict, ts + 30).is_ok());
    assert!(check(&strict, ts - 30).is_ok());
    assert!(matches!(
        check(&strict, ts + 31),
        Err(WebhookError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        check(&strict, ts - 31),
        Err(WebhookError::TimestampInFuture { .. })
    ));
    // No tolerance: only the very second.
    let exact = verifier().tolerance(Duration::ZERO);
    assert!(check(&exact, ts).is_ok());
    assert!(matches!(
        check(&exact, ts + 1),
        Err(WebhookError::TimestampTooOld { age }) if age == Duration::from_secs(1)
    ));
    assert!(matches!(
        check(&exact, ts - 1),
        Err(WebhookError::TimestampInFuture { ahead }) if ahead == Duration::from_secs(1)
    ));
    // The timestamp is checked before the signature: a stale forgery is
    // reported as stale, a fresh one as forged.
    let forged = headers("msg_1", ts, "v1,AAAA");
    assert!(matches!(
        v.verify_at(&forged, BODY.as_bytes(), at(ts + limit + 5)),
        Err(WebhookError::TimestampTooOld { .. })
    ));
}

#[test]
fn during_a_key_rotation_any_listed_signature_may_match() {
    let ts = 1_700_000_000;
    let old = sign(
        "whsec_b2xkLXNlY3JldC1iZWZvcmUtcm90YXRpb24=",
        "msg_1",
        ts,
        BODY,
    );
    let new = sign(SECRET, "msg_1", ts, BODY);
    for list in [format!("{old} {new}"), format!("{new} {old}")] {
        let h = headers("msg_1", ts, &list);
        assert!(
            verifier().verify_at(&h, BODY.as_bytes(), at(ts)).is_ok(),
            "{list}"
        );
    }
    let h = headers("msg_1", ts, &old);
    assert!(verifier().verify_at(&h, BODY.as_bytes(), at(ts)).is_err());
}

#[test]
fn only_v1_signatures_count() {
    let ts = 1_700_000_000;
    let good = sign(SECRET, "msg_1", ts, BODY);
    let mac = good.trim_start_matches("v1,");
    // The right MAC under another version label is ignored...
    for list in [
        format!("v2,{mac}"),
        format!("v1a,{mac}"),
        mac.to_owned(),
        String::new(),
        "v1,not-base64!! v1,".to_owned(),
    ] {
        let h = headers("msg_1", ts, &list);
        assert!(
            matches!(
                verifier().verify_at(&h, BODY.as_bytes(), at(ts)),
                Err(WebhookError::InvalidSignature)
            ),
            "{list:?}"
        );
    }
    // ...and does not stop a v1 entry after it from matching.
    let h = headers("msg_1", ts, &format!("v2,{mac} v1,garbage {good}"));
    assert!(verifier().verify_at(&h, BODY.as_bytes(), at(ts)).is_ok());
}

#[test]
fn missing_or_unreadable_headers_are_named() {
    let ts = 1_700_000_000;
    let sig = sign(SECRET, "msg_1", ts, BODY);
    for missing in ["svix-id", "svix-timestamp", "svix-signature"] {
        let mut h = headers("msg_1", ts, &sig);
        h.remove(missing);
        match verifier().verify_at(&h, BODY.as_bytes(), at(ts)) {
            Err(WebhookError::MissingHeader(name)) => assert_eq!(name, missing),
            other => panic!("{missing}: {other:?}"),
        }
    }
    let mut h = headers("msg_1", ts, &sig);
    h.insert("svix-timestamp", "yesterday".parse().unwrap());
    assert!(matches!(
        verifier().verify_at(&h, BODY.as_bytes(), at(ts)),
        Err(WebhookError::InvalidHeader("svix-timestamp"))
    ));
    let mut h = headers("msg_1", ts, &sig);
    h.insert(
        "svix-id",
        http::HeaderValue::from_bytes(b"msg\xff").expect("opaque bytes"),
    );
    assert!(matches!(
        verifier().verify_at(&h, BODY.as_bytes(), at(ts)),
        Err(WebhookError::InvalidHeader("svix-id"))
    ));
    // Unbranded headers: a bad value names the header it came in.
    let unbranded: Vec<(&str, String)> = vec![
        ("webhook-id", "msg_1".into()),
        ("webhook-timestamp", "yesterday".into()),
        ("webhook-signature", sig.clone()),
    ];
    assert!(matches!(
        verifier().verify_at(&unbranded, BODY.as_bytes(), at(ts)),
        Err(WebhookError::InvalidHeader("webhook-timestamp"))
    ));
    let unbranded: Vec<(&str, String)> = vec![
        ("webhook-id", "msg_1".into()),
        ("webhook-signature", sig.clone()),
    ];
    let err = verifier()
        .verify_at(&unbranded, BODY.as_bytes(), at(ts))
        .unwrap_err();
    assert!(matches!(err, WebhookError::MissingHeader("svix-timestamp")));
    assert_eq!(
        err.to_string(),
        "missing webhook header svix-timestamp (or webhook-timestamp)"
    );
}

#[test]
fn any_header_source_works() {
    let ts = 1_700_000_000;
    let sig = sign(SECRET, "msg_1", ts, BODY);
    let ts_text = ts.to_string();
    // Name/value pairs, any case.
    let pairs = vec![
        ("Svix-Id", "msg_1"),
        ("SVIX-TIMESTAMP", ts_text.as_str()),
        ("svix-signature", sig.as_str()),
    ];
    assert!(verifier()
        .verify_at(&pairs, BODY.as_bytes(), at(ts))
        .is_ok());
    assert!(verifier()
        .verify_at(&pairs[..], BODY.as_bytes(), at(ts))
        .is_ok());
    // A map, with the unbranded Standard Webhooks names.
    let map: HashMap<String, String> = [
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", ts_text.as_str()),
        ("webhook-signature", sig.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert!(verifier().verify_at(&map, BODY.as_bytes(), at(ts)).is_ok());
}

#[test]
fn malformed_secrets_are_refused() {
    for bad in ["whsec_", "", "whsec_not base64!", "whsec_####"] {
        assert!(
            matches!(Verifier::new(bad), Err(WebhookError::InvalidSecret(_))),
            "{bad:?}"
        );
    }
    // The prefix is optional; the key never shows in Debug.
    let v = Verifier::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
    assert_eq!(format!("{v:?}"), "Verifier { tolerance: 300s, .. }");
    let h = headers(VECTOR_ID, VECTOR_TS, VECTOR_SIG);
    assert!(v
        .check_signature(&h, VECTOR_BODY.as_bytes(), at(VECTOR_TS))
        .is_ok());
}

#[test]
fn direct_deliveries_parse_and_keep_what_is_unknown() {
    let event = WebhookEvent::from_body(BODY.as_bytes()).expect("event");
    assert_eq!(event.status, JobStatus::Completed);
    let newer = br#"{"status":"Archived","job_id":"j","metadata":null,"attempt":2}"#;
    let event = WebhookEvent::from_body(newer).expect("event");
    assert_eq!(event.status, JobStatus::Other("Archived".into()));
    assert_eq!(event.metadata, None);
    assert_eq!(event.extra["attempt"], 2);
    let round_trip: Value = serde_json::to_value(&event).expect("serialize");
    assert_eq!(round_trip["attempt"], 2);
    for bad in [&b"not json"[..], b"{}", br#"{"job_id":"j"}"#, b"[1]"] {
        assert!(matches!(
            WebhookEvent::from_body(bad),
            Err(WebhookError::InvalidJson(_))
        ));
    }
}

#[test]
fn a_clock_before_1970_still_measures_the_distance() {
    // `SystemTime` can be before the epoch (a misset clock, or a replay
    // tool); the distance must stay signed, not flip to its absolute value.
    let now = UNIX_EPOCH - Duration::from_secs(1_000);
    let check = |ts: i64| {
        let h = headers("msg_1", ts, &sign(SECRET, "msg_1", ts, BODY));
        verifier().verify_at(&h, BODY.as_bytes(), now)
    };
    assert!(check(-1_000).is_ok());
    assert!(check(-1_300).is_ok());
    match check(0) {
        Err(WebhookError::TimestampInFuture { ahead }) => {
            assert_eq!(ahead, Duration::from_secs(1_000))
        }
        other => panic!("{other:?}"),
    }
    match check(-1_301) {
        Err(WebhookError::TimestampTooOld { age }) => assert_eq!(age, Duration::from_secs(301)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn headers_behind_a_reference_are_read_through_it() {
    // Code generic over `impl HeaderLookup`, given borrowed headers: the
    // lookup goes through `&T`.
    fn verify_any(headers: impl HeaderLookup, now: u64) -> Result<WebhookEvent, WebhookError> {
        verifier().verify_at(&headers, BODY.as_bytes(), at(now))
    }
    let ts = 1_700_000_000;
    let h = headers("msg_1", ts, &sign(SECRET, "msg_1", ts, BODY));
    assert_eq!(verify_any(&h, ts).expect("valid").job_id, "job-1");
    // Present names are found, absent ones are reported by name.
    let pairs = vec![("svix-id", "msg_1")];
    match verify_any(&pairs, ts) {
        Err(WebhookError::MissingHeader("svix-timestamp")) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_say_what_went_wrong_and_keep_their_cause() {
    use std::error::Error as _;

    let json = WebhookEvent::from_body(b"not json").expect_err("not an event");
    let cause = json.source().expect("the JSON error is the source");
    assert!(cause.is::<serde_json::Error>(), "{cause:?}");
    assert!(json
        .to_string()
        .starts_with("webhook body is not a job event: "));
    for (e, text) in [
        (WebhookError::InvalidSignature, "no valid webhook signature"),
        (
            WebhookError::MissingHeader("svix-id"),
            "missing webhook header svix-id (or webhook-id)",
        ),
        (
            WebhookError::MissingHeader("x-other"),
            "missing webhook header x-other",
        ),
        (
            WebhookError::InvalidHeader("svix-timestamp"),
            "invalid webhook header svix-timestamp",
        ),
        (
            WebhookError::TimestampTooOld {
                age: Duration::from_secs(301),
            },
            "webhook timestamp too old (301 s)",
        ),
        (
            WebhookError::TimestampInFuture {
                ahead: Duration::from_secs(7),
            },
            "webhook timestamp in the future (7 s ahead)",
        ),
    ] {
        assert_eq!(e.to_string(), text);
        assert!(e.source().is_none(), "{e:?}");
    }
}

/// The async config the server received, from the job's `raw_config`.
async fn sent_async_config(server: &reducto_mock::Server, job_id: &str) -> Value {
    let job = client_for(server).job().get(job_id).await.expect("job");
    let raw: Value = serde_json::from_str(job.raw_config.as_deref().expect("raw_config"))
        .expect("raw_config is the request body");
    raw["async"].clone()
}

#[tokio::test]
async fn run_job_sends_the_webhook_in_the_spec_shape() {
    let server = server_with_duration(Duration::from_secs(60)).await;
    let client = client_for(&server);
    let url = "https://example.com/report.pdf";

    let job = client
        .parse()
        .run_job(url)
        .webhook(WebhookConfig::direct("https://hooks.example.com/r").metadata(json!({"doc": 7})))
        .await
        .expect("job");
    assert_eq!(
        sent_async_config(&server, &job.job_id).await,
        json!({"webhook": {"mode": "direct", "url": "https://hooks.example.com/r"},
               "metadata": {"doc": 7}})
    );

    // Svix mode with channels; the async config's priority and metadata are
    // kept (the webhook has none), in either order of the setters.
    let base = AsyncConfig {
        metadata: Some(json!("from-config")),
        priority: Some(true),
        webhook: None,
    };
    let job = client
        .parse()
        .run_job(url)
        .webhook(WebhookConfig::svix_channels(["invoices", "eu"]))
        .async_config(base)
        .await
        .expect("job");
    assert_eq!(
        sent_async_config(&server, &job.job_id).await,
        json!({"webhook": {"mode": "svix", "channels": ["invoices", "eu"]},
               "metadata": "from-config", "priority": true})
    );
    let job = client
        .parse()
        .run_job(url)
        .webhook(WebhookConfig::svix())
        .await
        .expect("job");
    assert_eq!(
        sent_async_config(&server, &job.job_id).await,
        json!({"webhook": {"mode": "svix"}})
    );
}

#[tokio::test]
async fn an_unusable_webhook_is_refused_before_sending() {
    let server = server_with_duration(Duration::from_secs(60)).await;
    let client = client_for(&server);
    for (config, name) in [
        (WebhookConfig::direct(""), "webhook.url"),
        (WebhookConfig::direct("hooks.example.com/r"), "webhook.url"),
        (WebhookConfig::direct("ftp://example.com"), "webhook.url"),
        (
            WebhookConfig::svix_channels(["ok", " "]),
            "webhook.channels",
        ),
    ] {
        match client
            .parse()
            .run_job("https://example.com/a.pdf")
            .webhook(config)
            .await
        {
            Err(Error::InvalidArgument { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{other:?}"),
        }
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}

/// What the test receiver got: the verified (Svix) or parsed (direct)
/// event, or why it was refused.
type Received = Arc<Mutex<Vec<Result<WebhookEvent, String>>>>;

/// A receiver verifying `/svix` deliveries with [`SECRET`] and parsing
/// `/direct` ones; returns what it got and its base URL.
async fn receiver() -> (Received, String) {
    use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};

    async fn svix(State(got): State<Received>, headers: HeaderMap, body: Bytes) {
        let event = verifier()
            .verify(&headers, &body)
            .map_err(|e| e.to_string());
        got.lock().unwrap().push(event);
    }
    async fn direct(State(got): State<Received>, body: Bytes) {
        let event = WebhookEvent::from_body(&body).map_err(|e| e.to_string());
        got.lock().unwrap().push(event);
    }
    let got = Received::default();
    let app = Router::new()
        .route("/svix", post(svix))
        .route("/direct", post(direct))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (got, base)
}

/// End to end: the local server delivers, the receiver verifies with the
/// SDK. The server signs with its own code, so this checks the verifier
/// against an independent signer.
#[tokio::test]
async fn deliveries_from_the_local_server_verify() {
    let (got, base) = receiver().await;
    let server = reducto_mock::Server::builder()
        .job_duration(Duration::ZERO)
        .svix_endpoint(format!("{base}/svix"), SECRET)
        .start()
        .await
        .unwrap();
    let client = client_for(&server);
    let signed = client
        .parse()
        .run_job("https://example.com/a.pdf")
        .webhook(WebhookConfig::svix().metadata(json!({"doc": "a"})))
        .await
        .unwrap();
    let unsigned = client
        .parse()
        .run_job("https://example.com/b.pdf")
        .webhook(WebhookConfig::direct(format!("{base}/direct")).metadata(json!({"doc": "b"})))
        .await
        .unwrap();
    server.webhooks_idle().await;

    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    for (job, doc) in [(&signed.job_id, "a"), (&unsigned.job_id, "b")] {
        let event = got
            .iter()
            .filter_map(|e| e.as_ref().ok())
            .find(|e| &e.job_id == job)
            .unwrap_or_else(|| panic!("no valid event for {job}: {got:?}"));
        assert_eq!(event.status, JobStatus::Completed);
        assert_eq!(event.metadata, Some(json!({"doc": doc})));
    }
}

#[tokio::test]
async fn deliveries_signed_with_another_secret_are_refused() {
    let (got, base) = receiver().await;
    let server = reducto_mock::Server::builder()
        .job_duration(Duration::ZERO)
        .svix_endpoint(
            format!("{base}/svix"),
            "whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=",
        )
        .start()
        .await
        .unwrap();
    client_for(&server)
        .parse()
        .run_job("https://example.com/a.pdf")
        .webhook(WebhookConfig::svix())
        .await
        .unwrap();
    server.webhooks_idle().await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got, [Err("no valid webhook signature".to_owned())]);
}
