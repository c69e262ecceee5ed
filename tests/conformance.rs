//! Conformance against Prism, the mock server of Reducto's SDK generator,
//! serving Reducto's full published spec: something nobody here wrote.
//!
//! Every client call, with and without its optional parameters, goes through
//! a recording proxy to Prism. Prism reports each request that breaks the
//! spec in an `sl-violations` response header; any violation fails the test.
//! The client must also decode what Prism answers: its static examples, its
//! dynamic (random, schema-valid) data, and its 422 bodies.
//!
//! One violation is the spec's, not the client's: `POST /parse` takes
//! `oneOf [SyncParseConfig, AsyncParseConfig]`, and every field of
//! `SyncParseConfig` is also a field of `AsyncParseConfig` (neither forbids
//! other properties), so every valid body matches both and `oneOf` ("exactly
//! one") fails for all of them. The proxy accepts that violation only when
//! it is the only one and the body is checked here, with the `jsonschema`
//! crate, to be a valid `SyncParseConfig`; Prism then answers 422 whatever
//! was sent, so the proxy asks it again with a probe body that matches only
//! the sync branch (an invalid `queue_priority`, a field `SyncParseConfig`
//! does not have) to get a 200 for the client to decode.
//!
//! Needs Prism: `bash .ci/conformance.sh` installs it (`npm ci`), starts it
//! and runs these tests with `REDUCTO_PRISM_URL` set. Run with `--ignored`
//! but without the variable, the tests fail rather than pass silently.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    response::Response,
    Router,
};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reducto::{
    types::{
        AsyncConfig, ChunkingChunkMode, Enhance, Formatting, FormattingTableOutputFormat,
        JobResult, QueuePriority, Retrieval, Settings, SettingsExtractionMode, SettingsOcrSystem,
        SettingsReturnImagesItem, Spreadsheet,
    },
    Document, DocumentInput, Error, JobStatus, ParseOptions, PollPolicy, Reducto,
};
use serde_json::{json, Value};

mod spec_schema;
use spec_schema::{component_validator, schema_errors, short};

/// A body as text for a failure message, cut to `max` characters.
fn text(bytes: &[u8], max: usize) -> String {
    short(&String::from_utf8_lossy(bytes), max)
}

// ------------------------------------------------------------------ proxy

/// What to ask Prism for, with a `Prefer` header on every request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Static examples (no `Prefer`).
    Static,
    /// `Prefer: dynamic=true`: random data valid against each schema.
    Dynamic,
    /// `Prefer: code=422[, dynamic=true]`: the spec's validation error.
    Error422 { dynamic: bool },
}

impl Mode {
    fn prefer(self) -> Option<&'static str> {
        match self {
            Mode::Static => None,
            Mode::Dynamic => Some("dynamic=true"),
            Mode::Error422 { dynamic: false } => Some("code=422"),
            Mode::Error422 { dynamic: true } => Some("code=422, dynamic=true"),
        }
    }

    fn expected_status(self) -> u16 {
        match self {
            Mode::Error422 { .. } => 422,
            _ => 200,
        }
    }
}

/// One request as Prism judged it.
#[derive(Debug, Clone)]
struct Exchange {
    /// `METHOD /path?query`.
    request: String,
    request_body: Bytes,
    status: u16,
    /// The `sl-violations` header, parsed.
    violations: Option<Value>,
    response_body: Bytes,
    /// For the `POST /parse` spec defect: the probe sent to get a response
    /// (its status and violations), see the module docs.
    probe: Option<(u16, Option<Value>)>,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    mode: Mode,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

/// Headers that belong to one connection, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    violations: Option<Value>,
    body: Bytes,
}

impl Proxy {
    async fn send(
        &self,
        method: &axum::http::Method,
        path: &str,
        headers: &axum::http::HeaderMap,
        body: Bytes,
    ) -> Result<Answer, String> {
        let mut outgoing = self
            .http
            .request(method.clone(), format!("{}{path}", self.upstream))
            .body(body);
        for (name, value) in headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                outgoing = outgoing.header(name, value);
            }
        }
        if let Some(prefer) = self.mode.prefer() {
            outgoing = outgoing.header("prefer", prefer);
        }
        let answer = outgoing.send().await.map_err(|e| format!("{e:?}"))?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let violations = headers.get("sl-violations").and_then(|v| {
            let raw = String::from_utf8_lossy(v.as_bytes()).into_owned();
            request_side(serde_json::from_str(&raw).unwrap_or(Value::String(raw)))
        });
        let body = answer.bytes().await.map_err(|e| format!("{e:?}"))?;
        Ok(Answer {
            status,
            headers,
            violations,
            body,
        })
    }
}

/// The violations of the request alone. Prism also reports where its own
/// answer breaks the spec (v1.12.20's examples and random data do, e.g.
/// `credit_breakdown` keys outside its `propertyNames` enum, and the
/// `/extract` answer's `oneOf` whose two branches overlap): the spec's
/// inconsistencies, not the client's, so they are left out.
fn request_side(violations: Value) -> Option<Value> {
    let is_request = |v: &Value| v["location"][0] == "request";
    match violations {
        Value::Array(all) => {
            let request: Vec<Value> = all.into_iter().filter(is_request).collect();
            (!request.is_empty()).then_some(Value::Array(request))
        }
        // "Too many violations! [...]", cut short: keep it if any part of
        // it is about the request.
        Value::String(text) => text
            .contains(r#""location":["request""#)
            .then_some(Value::String(text)),
        other => Some(other),
    }
}

/// The spec's own `oneOf` defect on `POST /parse` (see the module docs):
/// exactly one violation, `oneOf` at the request body.
fn is_parse_one_of_defect(violations: &Option<Value>) -> bool {
    match violations
        .as_ref()
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([only]) => only["code"] == "oneOf" && only["location"] == json!(["request", "body"]),
        _ => false,
    }
}

/// The endpoints whose body is `oneOf [Sync.., Async..]` with the same
/// defect as `POST /parse` (the async config has every field of the sync
/// one, and `queue_priority` besides): path, sync and async components.
const ONE_OF_DEFECTS: &[(&str, &str, &str)] = &[
    ("POST /parse", "SyncParseConfig", "AsyncParseConfig"),
    ("POST /extract", "SyncExtractConfig", "AsyncExtractConfig"),
];

fn one_of_defect(path: &str) -> Option<(&'static str, &'static str)> {
    ONE_OF_DEFECTS
        .iter()
        .find(|(request, _, _)| request.strip_prefix("POST ") == Some(path))
        .map(|(_, sync, asynchronous)| (*sync, *asynchronous))
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let request_body = to_bytes(body, 64 << 20).await.unwrap_or_default();
    let first = match proxy
        .send(&parts.method, &path, &parts.headers, request_body.clone())
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            return Response::builder()
                .status(502)
                .body(Body::from(format!("proxy: {e}")))
                .unwrap_or_default()
        }
    };
    let mut exchange = Exchange {
        request: format!("{} {path}", parts.method),
        request_body: request_body.clone(),
        status: first.status,
        violations: first.violations.clone(),
        response_body: first.body.clone(),
        probe: None,
    };
    let mut answer = first;
    if parts.method == axum::http::Method::POST
        && one_of_defect(parts.uri.path()).is_some()
        && is_parse_one_of_defect(&answer.violations)
    {
        let probe_body = serde_json::from_slice::<Value>(&request_body)
            .ok()
            .and_then(|mut body| {
                let object = body.as_object_mut()?;
                if object.contains_key("queue_priority") {
                    return None;
                }
                object.insert("queue_priority".into(), json!("x-conformance-probe"));
                serde_json::to_vec(&body).ok()
            });
        if let Some(probe_body) = probe_body {
            if let Ok(probe) = proxy
                .send(&parts.method, &path, &parts.headers, probe_body.into())
                .await
            {
                exchange.probe = Some((probe.status, probe.violations.clone()));
                answer = probe;
            }
        }
    }
    exchange.response_body = answer.body.clone();
    proxy.exchanges.lock().unwrap().push(exchange);

    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    response.body(Body::from(answer.body)).unwrap_or_default()
}

/// Prism's URL; fails the test (rather than passing silently) without it.
fn prism_url() -> String {
    match std::env::var("REDUCTO_PRISM_URL") {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "REDUCTO_PRISM_URL is not set: these tests need Prism's mock of the published \
             spec; run `bash .ci/conformance.sh`, which starts Prism and sets it"
        ),
    }
}

struct Harness {
    client: Reducto,
    base_url: String,
    mode: Mode,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    /// How many exchanges `assert_conformant` has already judged.
    judged: usize,
    _server: tokio::task::JoinHandle<()>,
}

impl Harness {
    async fn start(mode: Mode) -> Harness {
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let proxy = Proxy {
            upstream: prism_url(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
            mode,
            exchanges: exchanges.clone(),
        };
        let app = Router::new().fallback(forward).with_state(proxy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let base_url = format!("http://{addr}");
        let client = Reducto::builder()
            .read_env(false)
            .api_key("prism-accepts-any-bearer-key")
            .base_url(&base_url)
            .build()
            .unwrap();
        Harness {
            client,
            base_url,
            mode,
            exchanges,
            judged: 0,
            _server: server,
        }
    }

    fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().unwrap().clone()
    }

    fn last(&self) -> Exchange {
        self.exchanges()
            .last()
            .cloned()
            .expect("a request reached Prism")
    }

    /// Fails unless every request since the last call conformed: no
    /// violation (but the spec's own `POST /parse` defect, checked) and the
    /// mode's status. At least `expected` requests must have been made.
    fn assert_conformant(&mut self, expected: usize) {
        let all = self.exchanges();
        let new = &all[self.judged.min(all.len())..];
        self.judged = all.len();
        let status = self.mode.expected_status();
        let mut problems = Vec::new();
        for exchange in new {
            let mut bad = Vec::new();
            let defect = exchange
                .request
                .strip_prefix("POST ")
                .and_then(one_of_defect)
                .filter(|_| is_parse_one_of_defect(&exchange.violations));
            if let Some((sync, asynchronous)) = defect {
                let sync_config = component_validator(sync);
                let async_config = component_validator(asynchronous);
                // The spec's defect: allowed only for a valid sync body.
                match serde_json::from_slice::<Value>(&exchange.request_body) {
                    Ok(body) => {
                        let errors = schema_errors(&sync_config, &body);
                        if !errors.is_empty() {
                            bad.push(format!(
                                "the body is not a valid {sync}:\n    {}",
                                errors.join("\n    ")
                            ));
                        }
                        if !async_config.is_valid(&body) {
                            bad.push(format!(
                                "Prism's oneOf violation is not the spec defect: the body is \
                                 not also a valid {asynchronous}"
                            ));
                        }
                    }
                    Err(e) => bad.push(format!("the body is not JSON: {e}")),
                }
                match &exchange.probe {
                    Some((probe_status, None)) if *probe_status == status => {}
                    other => bad.push(format!("the probe was not answered cleanly: {other:?}")),
                }
            } else {
                if let Some(violations) = &exchange.violations {
                    bad.push(format!(
                        "sl-violations: {}",
                        serde_json::to_string_pretty(violations).unwrap_or_default()
                    ));
                }
                // The spec's success for deleting a job is 202 Accepted.
                let status = match status {
                    200 if exchange.request.starts_with("DELETE /job/") => 202,
                    other => other,
                };
                if exchange.status != status {
                    bad.push(format!("status {} (expected {status})", exchange.status));
                }
            }
            if !bad.is_empty() {
                problems.push(format!(
                    "{}\n  request body: {}\n  response: {}\n  {}",
                    exchange.request,
                    text(&exchange.request_body, 2000),
                    text(&exchange.response_body, 600),
                    bad.join("\n  ")
                ));
            }
        }
        assert!(
            problems.is_empty(),
            "{} of {} requests broke the published spec (mode {:?}):\n\n{}",
            problems.len(),
            new.len(),
            self.mode,
            problems.join("\n\n")
        );
        let defects = new
            .iter()
            .filter(|e| is_parse_one_of_defect(&e.violations))
            .count();
        eprintln!(
            "{} requests conformed (mode {:?}; {defects} POST /parse with the spec's oneOf defect)",
            new.len(),
            self.mode
        );
        assert!(
            new.len() >= expected,
            "only {} requests reached Prism, expected at least {expected}: {:#?}",
            new.len(),
            new.iter().map(|e| &e.request).collect::<Vec<_>>()
        );
    }
}

/// Unwraps a call's result, printing Prism's response when it failed.
fn ok<T>(h: &Harness, what: &str, result: Result<T, Error>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => {
            let last = h.last();
            panic!(
                "{what} failed: {e}\n  {e:?}\n  last request: {}\n  response ({}): {}",
                last.request,
                last.status,
                text(&last.response_body, 4000)
            )
        }
    }
}

// ------------------------------------------------------------------ inputs

/// A temporary directory removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "reducto-conformance-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every common option set through `ParseOptions`' setters.
fn setter_options() -> ParseOptions {
    ParseOptions::new()
        .ocr_system(SettingsOcrSystem::Legacy)
        .extraction_mode(SettingsExtractionMode::Ocr)
        .pages(1, 3)
        .document_password("secret")
        .force_url_result(true)
        .return_images(vec![
            SettingsReturnImagesItem::Figure,
            SettingsReturnImagesItem::Table,
        ])
        .chunk_mode(ChunkingChunkMode::Variable)
        .chunk_size(500)
        .table_output_format(FormattingTableOutputFormat::Md)
        .add_page_markers(true)
        .merge_tables(true)
        .summarize_figures(false)
}

/// Every field of every option group, set to a value other than its
/// default; `page_range` is one of the spec's four shapes.
fn every_option(page_range: Value) -> Value {
    json!({
        "enhance": {
            "agentic": [
                {"scope": "table", "prompt": "Keep the units"},
                // v1.12.20 dropped FigureAgentic.return_overlays.
                {"scope": "figure", "prompt": "Describe the axes",
                 "advanced_chart_agent": true},
                {"scope": "text", "prompt": "Fix OCR errors"}
            ],
            "summarize_figures": false,
            "intelligent_ordering": true
        },
        "retrieval": {
            "chunking": {"chunk_mode": "page_sections", "chunk_size": 800, "chunk_overlap": 50},
            "filter_blocks": ["Header", "Footer", "Page Number", "Section Header", "Key Value"],
            "embedding_optimized": true
        },
        "formatting": {
            "add_page_markers": true,
            "table_output_format": "jsonbbox",
            "merge_tables": true,
            "include": ["change_tracking", "highlight", "comments", "hyperlinks",
                        "signatures", "ignore_watermarks"]
        },
        "spreadsheet": {
            "split_large_tables": {"enabled": false, "size": {"row": 20, "column": 8}},
            "include": ["cell_colors", "formula", "dropdowns"],
            "clustering": "fast",
            "exclude": ["hidden_sheets", "hidden_rows", "hidden_cols", "styling",
                        "spreadsheet_images"]
        },
        "settings": {
            "ocr_system": "legacy",
            "extraction_mode": "ocr",
            "force_url_result": true,
            "force_file_extension": "pdf",
            "return_ocr_data": true,
            "return_images": ["figure", "table", "page"],
            "embed_pdf_metadata": true,
            "persist_results": true,
            "timeout": 120.5,
            "page_range": page_range,
            "document_password": "secret"
        }
    })
}

fn options_from(groups: &Value) -> ParseOptions {
    fn group<T: serde::de::DeserializeOwned>(groups: &Value, name: &str) -> Option<T> {
        Some(
            serde_json::from_value(groups[name].clone())
                .unwrap_or_else(|e| panic!("the SDK's {name} type cannot hold {name}: {e}")),
        )
    }
    let mut options = ParseOptions::new();
    options.enhance = group::<Enhance>(groups, "enhance");
    options.retrieval = group::<Retrieval>(groups, "retrieval");
    options.formatting = group::<Formatting>(groups, "formatting");
    options.spreadsheet = group::<Spreadsheet>(groups, "spreadsheet");
    options.settings = group::<Settings>(groups, "settings");
    options
}

/// `sent` carries everything in `expected` (a missing key and `null` are the
/// same); returns the differences.
fn missing_from(expected: &Value, sent: &Value, at: &str, out: &mut Vec<String>) {
    match (expected, sent) {
        (Value::Object(e), Value::Object(s)) => {
            for (key, value) in e {
                let other = s.get(key).unwrap_or(&Value::Null);
                missing_from(value, other, &format!("{at}/{key}"), out);
            }
        }
        (Value::Array(e), Value::Array(s)) if e.len() == s.len() => {
            for (i, (e, s)) in e.iter().zip(s).enumerate() {
                missing_from(e, s, &format!("{at}/{i}"), out);
            }
        }
        (e, s) if e == s => {}
        (Value::Number(e), Value::Number(s)) if e.as_f64() == s.as_f64() => {}
        (e, s) => out.push(format!("{at}: set {e}, sent {s}")),
    }
}

/// Polls every few milliseconds for `polling`, then waits out the final
/// lead (the last poll is made `FINAL_POLL_LEAD` before the deadline), so
/// that each wait makes several polls.
fn quick_polls(polling: Duration) -> PollPolicy {
    PollPolicy::default()
        .initial_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
        .deadline(reducto::wait::FINAL_POLL_LEAD + polling)
}

// ------------------------------------------------------------------ tests

#[tokio::test]
#[ignore = "needs Prism: run .ci/conformance.sh"]
async fn every_call_conforms_and_decodes_static_examples() {
    let mut h = Harness::start(Mode::Static).await;
    let c = h.client.clone();

    // GET /version
    let version = ok(&h, "api_version", c.api_version().await);
    assert!(!version.is_empty());
    h.assert_conformant(1);

    // POST /upload: bytes, a path, a reader; with and without `extension`.
    let dir = TempDir::new("static");
    let path = dir.0.join("report.md");
    std::fs::write(&path, "# Report\n\nBody.").unwrap();
    let bare = dir.0.join("scan");
    std::fs::write(&bare, "%PDF-1.4 not really").unwrap();
    let upload = ok(
        &h,
        "upload bytes",
        c.upload(Document::bytes("# Notes", "notes.md")).await,
    );
    assert!(!upload.file_id.is_empty());
    ok(
        &h,
        "upload bytes + extension",
        c.upload(Document::bytes("%PDF-1.4", "scan"))
            .extension("pdf")
            .await,
    );
    ok(&h, "upload path", c.upload(&path).await);
    ok(
        &h,
        "upload path + extension",
        c.upload(&bare).extension("pdf").await,
    );
    ok(
        &h,
        "upload reader",
        c.upload(Document::reader(
            tokio::fs::File::open(&path).await.unwrap(),
            "report.md",
        ))
        .await,
    );
    ok(
        &h,
        "upload reader + extension",
        c.upload(Document::reader(
            tokio::fs::File::open(&bare).await.unwrap(),
            "scan",
        ))
        .extension("pdf")
        .timeout(Duration::from_secs(30))
        .await,
    );
    h.assert_conformant(6);

    // POST /parse and /parse_async: each input form, default options.
    let inputs = [
        DocumentInput::from(&upload),
        DocumentInput::from("https://example.com/report.pdf"),
        DocumentInput::from(upload.file_id.clone()),
        DocumentInput::job("a-job-id"),
        DocumentInput::from(vec![
            "https://example.com/a.pdf".to_owned(),
            "https://example.com/b.pdf".to_owned(),
        ]),
    ];
    for input in &inputs {
        let parsed = ok(&h, "parse run", c.parse().run(input.clone()).await);
        assert!(parsed.chunks().is_some() || parsed.url_result().is_some());
        let job = ok(&h, "parse run_job", c.parse().run_job(input.clone()).await);
        assert!(!job.job_id.is_empty());
    }
    h.assert_conformant(10);

    // The setters, and the async job's own options.
    ok(
        &h,
        "parse run + options",
        c.parse().run(&upload).options(setter_options()).await,
    );
    ok(
        &h,
        "parse run_job + options",
        c.parse().run_job(&upload).options(setter_options()).await,
    );
    ok(
        &h,
        "parse run_job + async_config + queue_priority",
        c.parse()
            .run_job(&upload)
            .options(setter_options())
            .async_config(AsyncConfig {
                metadata: Some(json!({"team": "docs", "attempt": 1})),
                priority: Some(true),
                ..Default::default()
            })
            .queue_priority(QueuePriority::Batch)
            .retry(reducto::RetryPolicy::none())
            .await,
    );
    ok(
        &h,
        "parse run_job + queue_priority auto",
        c.parse()
            .run_job("https://example.com/x.pdf")
            .queue_priority(QueuePriority::Auto)
            .await,
    );
    h.assert_conformant(4);

    // GET /job, POST /cancel.
    let job = ok(&h, "job get", c.job().get("a-job-id").await);
    assert!(JobStatus::KNOWN.contains(&job.status.as_str()), "{job:?}");
    ok(
        &h,
        "job get + timeout",
        c.job()
            .get("3f2c0bd8-9d1e-4c0a-8f4e-1a2b3c4d5e6f")
            .timeout(Duration::from_secs(30))
            .await,
    );
    ok(&h, "job cancel", c.job().cancel("a-job-id").await);
    h.assert_conformant(3);

    // GET /jobs: one page with and without each parameter.
    let page = ok(&h, "get_all", c.job().get_all().await);
    assert!(!page.jobs.is_empty(), "{page:?}");
    ok(&h, "get_all limit", c.job().get_all().limit(1).await);
    ok(&h, "get_all limit 500", c.job().get_all().limit(500).await);
    ok(
        &h,
        "get_all cursor",
        c.job().get_all().cursor("a-cursor").await,
    );
    ok(
        &h,
        "get_all exclude_configs",
        c.job().get_all().exclude_configs(true).await,
    );
    ok(
        &h,
        "get_all exclude_configs false",
        c.job().get_all().exclude_configs(false).await,
    );
    ok(
        &h,
        "get_all everything",
        c.job()
            .get_all()
            .limit(50)
            .cursor("a-cursor")
            .exclude_configs(true)
            .await,
    );
    h.assert_conformant(7);

    // Streams over the pages. Prism's static `next_cursor` is the same on
    // every page, which the stream rightly calls a loop after the second
    // page, so take two.
    let jobs: Vec<_> = ok(
        &h,
        "stream",
        c.job()
            .get_all()
            .limit(1)
            .exclude_configs(true)
            .stream()
            .take(2)
            .try_collect()
            .await,
    );
    assert_eq!(jobs.len(), 2);
    let pages: Vec<_> = ok(
        &h,
        "pages",
        c.job()
            .get_all()
            .limit(2)
            .cursor("start-here")
            .prefetch(0)
            .pages()
            .take(2)
            .try_collect()
            .await,
    );
    assert_eq!(pages.len(), 2);
    // ... and the loop is reported, not followed.
    let looped: Result<Vec<_>, _> = c.job().get_all().limit(1).stream().try_collect().await;
    assert!(
        matches!(looped, Err(Error::CursorLoop { .. })),
        "{looped:?}"
    );
    h.assert_conformant(6);

    // Waiting polls GET /job (Prism's static job stays Pending) and can
    // cancel at the deadline.
    let waited = c
        .job()
        .wait("a-job-id")
        .poll_policy(quick_polls(Duration::from_millis(60)))
        .cancel_on_timeout(true)
        .await;
    assert!(
        matches!(waited, Err(Error::WaitTimeout { .. })),
        "{waited:?}"
    );
    let updates: Vec<_> = c
        .job()
        .watch_with("a-job-id", quick_polls(Duration::from_millis(40)))
        .collect()
        .await;
    assert!(matches!(updates.first(), Some(Ok(_))), "{updates:?}");
    let all: Vec<_> = c
        .job()
        .wait_all(["job-1", "job-2"])
        .poll_policy(quick_polls(Duration::from_millis(40)))
        .stream()
        .collect()
        .await;
    assert_eq!(all.len(), 2);
    let submitted = c
        .parse()
        .run_job(&upload)
        .wait_with(quick_polls(Duration::from_millis(40)))
        .await;
    assert!(
        matches!(submitted, Err(Error::WaitTimeout { .. })),
        "{submitted:?}"
    );
    h.assert_conformant(8);
}

#[tokio::test]
#[ignore = "needs Prism: run .ci/conformance.sh"]
async fn every_option_field_is_sent_as_the_spec_says() {
    let mut h = Harness::start(Mode::Static).await;
    let c = h.client.clone();
    let page_ranges = [
        json!({"start": 2, "end": 9}),
        json!([{"start": 1, "end": 2}, {"start": 5, "end": 6}]),
        json!([1, 3, 5]),
        json!(["1-3", "7"]),
    ];
    let webhooks = [
        json!({"mode": "direct", "url": "https://example.com/hook"}),
        json!({"mode": "svix", "channels": ["parse-jobs"]}),
    ];
    for (i, page_range) in page_ranges.into_iter().enumerate() {
        let groups = every_option(page_range);
        let async_config = json!({
            "metadata": {"team": "docs", "attempt": i},
            "priority": true,
            "webhook": webhooks[i % 2],
        });
        let config: AsyncConfig = serde_json::from_value(async_config.clone())
            .expect("the SDK's async config type holds the spec's");

        ok(
            &h,
            "run with every option",
            c.parse()
                .run("https://example.com/report.pdf")
                .options(options_from(&groups))
                .await,
        );
        let sent: Value = serde_json::from_slice(&h.last().request_body).unwrap();
        let mut lost = Vec::new();
        missing_from(&groups, &sent, "", &mut lost);

        ok(
            &h,
            "run_job with every option",
            c.parse()
                .run_job("https://example.com/report.pdf")
                .options(options_from(&groups))
                .async_config(config)
                .queue_priority(QueuePriority::Batch)
                .await,
        );
        let sent: Value = serde_json::from_slice(&h.last().request_body).unwrap();
        let mut expected = groups.clone();
        expected["async"] = async_config;
        expected["queue_priority"] = json!("batch");
        missing_from(&expected, &sent, "", &mut lost);
        assert!(
            lost.is_empty(),
            "options were lost or changed on the way out:\n{}",
            lost.join("\n")
        );
    }
    h.assert_conformant(8);
}

#[tokio::test]
#[ignore = "needs Prism: run .ci/conformance.sh"]
async fn random_schema_valid_responses_decode() {
    let mut h = Harness::start(Mode::Dynamic).await;
    let c = h.client.clone();
    let parse_response = component_validator("ParseResponse");
    let async_parse_response = component_validator("AsyncParseResponse");
    let mut failures = Vec::new();
    let mut async_answers_to_sync_parse = 0;
    let describe = |what: &str, e: &Error, last: &Exchange| {
        format!(
            "{what}: {e}\n  request: {}\n  response: {}",
            last.request,
            text(&last.response_body, 6000)
        )
    };
    // More with REDUCTO_PRISM_ROUNDS, to hunt for rare shapes.
    let rounds: usize = std::env::var("REDUCTO_PRISM_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    for round in 0..rounds {
        if let Err(e) = c.api_version().await {
            failures.push(describe("api_version", &e, &h.last()));
        }
        let upload = match c
            .upload(Document::bytes("# Notes", "notes.md"))
            .extension("md")
            .await
        {
            Ok(upload) => Some(upload),
            Err(e) => {
                failures.push(describe("upload", &e, &h.last()));
                None
            }
        };
        let input = upload.map_or_else(
            || DocumentInput::from("https://example.com/a.pdf"),
            DocumentInput::from,
        );
        match c.parse().run(input.clone()).await {
            Ok(_) => {}
            Err(e) => {
                // The spec's /parse answer is anyOf ParseResponse |
                // AsyncParseResponse; the second only answers a request
                // with an async config, which `run` never sends, so `run`
                // decodes a ParseResponse. Prism picks either at random.
                let last = h.last();
                let body: Value = serde_json::from_slice(&last.response_body).unwrap_or_default();
                if async_parse_response.is_valid(&body) && !parse_response.is_valid(&body) {
                    async_answers_to_sync_parse += 1;
                } else {
                    failures.push(describe("parse run", &e, &last));
                }
            }
        }
        if let Err(e) = c.parse().run_job(input).options(setter_options()).await {
            failures.push(describe("parse run_job", &e, &h.last()));
        }
        match c.job().get(format!("job-{round}")).await {
            Ok(job) => {
                // An untagged union: a result that is a valid ParseResponse
                // must come out as one, not as another kind of result.
                let last = h.last();
                let body: Value = serde_json::from_slice(&last.response_body).unwrap_or_default();
                let result = &body["result"];
                if parse_response.is_valid(result)
                    && !matches!(job.result, Some(JobResult::ParseResponse(_)))
                {
                    failures.push(format!(
                        "job get: a ParseResponse result decoded as {:?}\n  response: {}",
                        job.result,
                        text(&last.response_body, 6000)
                    ));
                }
                // ... and it comes out as the variant its `response_type`
                // names (the spec's discriminator), whatever else it holds.
                if let (Some(decoded), Some(kind)) = (&job.result, result["response_type"].as_str())
                {
                    let debug = format!("{decoded:?}");
                    let variant = debug.split('(').next().unwrap_or_default().to_owned();
                    let expected = match kind {
                        "parse" => "ParseResponse",
                        "extract" => "ExtractResponse",
                        "v3_extract" => "V3ExtractResponse",
                        "split" => "SplitResponse",
                        "classify" => "ClassifyResponse",
                        "edit" => "EditResponse",
                        "pipeline" => "PipelineResponse",
                        "chart" => "ChartResponse",
                        _ => "Other",
                    };
                    if variant != expected {
                        failures.push(format!(
                            "job get: a {kind:?} result decoded as {variant}\n  response: {}",
                            text(&last.response_body, 6000)
                        ));
                    }
                }
            }
            Err(e) => failures.push(describe("job get", &e, &h.last())),
        }
        if let Err(e) = c.job().cancel(format!("job-{round}")).await {
            failures.push(describe("job cancel", &e, &h.last()));
        }
        if let Err(e) = c
            .job()
            .get_all()
            .limit(10)
            .cursor("a-cursor")
            .exclude_configs(round % 2 == 0)
            .await
        {
            failures.push(describe("get_all", &e, &h.last()));
        }
        let streamed: Result<Vec<_>, _> = c
            .job()
            .get_all()
            .limit(3)
            .stream()
            .take(4)
            .try_collect()
            .await;
        match streamed {
            // Random cursors may repeat or be null: both end the stream.
            Ok(_) | Err(Error::CursorLoop { .. }) => {}
            Err(e) => failures.push(describe("stream", &e, &h.last())),
        }
        let waited = c
            .job()
            .wait(format!("job-{round}"))
            .poll_policy(quick_polls(Duration::from_millis(30)))
            .await;
        match waited {
            Ok(_) | Err(Error::JobFailed { .. }) | Err(Error::WaitTimeout { .. }) => {}
            Err(e) => failures.push(describe("wait", &e, &h.last())),
        }
    }
    eprintln!(
        "{async_answers_to_sync_parse} of {rounds} random /parse answers were \
         AsyncParseResponses (allowed by the spec's anyOf, never sent for a request \
         without an async config)"
    );
    assert!(
        failures.is_empty(),
        "{} responses Prism generated from the spec did not decode:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    h.assert_conformant(rounds * 8);
}

#[tokio::test]
#[ignore = "needs Prism: run .ci/conformance.sh"]
async fn the_specs_422_bodies_decode_as_validation_errors() {
    for dynamic in [false, true] {
        let mut h = Harness::start(Mode::Error422 { dynamic }).await;
        let c = h.client.clone();
        let rounds = if dynamic { 10 } else { 1 };
        let mut failures = Vec::new();
        for _ in 0..rounds {
            let results: Vec<(&str, Option<Error>)> = vec![
                ("upload", c.upload(Document::bytes("x", "a.md")).await.err()),
                (
                    "parse run",
                    c.parse().run("https://e.com/a.pdf").await.err(),
                ),
                (
                    "parse run_job",
                    c.parse().run_job("https://e.com/a.pdf").await.err(),
                ),
                ("job get", c.job().get("j").await.err()),
                ("job cancel", c.job().cancel("j").await.err()),
                ("get_all", c.job().get_all().limit(5).await.err()),
            ];
            let exchanges = h.exchanges();
            let answers = &exchanges[exchanges.len() - results.len()..];
            for ((what, error), exchange) in results.into_iter().zip(answers) {
                let body: Value =
                    serde_json::from_slice(&exchange.response_body).unwrap_or_default();
                let sent = body["detail"].as_array().map_or(0, Vec::len);
                match error {
                    Some(Error::UnprocessableEntity(e)) if e.validation_errors().len() == sent => {}
                    other => failures.push(format!(
                        "{what}: expected a 422 with {sent} validation errors, got {other:?}\n  \
                         response: {}",
                        text(&exchange.response_body, 3000)
                    )),
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
        h.assert_conformant(rounds * 6);
    }
}

/// The checks above are only as good as the proxy's reading of Prism's
/// verdicts: requests that break the spec must show up as violations.
#[tokio::test]
#[ignore = "needs Prism: run .ci/conformance.sh"]
async fn the_proxy_sees_prisms_violations() {
    let h = Harness::start(Mode::Static).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let auth = "Bearer any";
    http.get(format!("{}/jobs?limit=0", h.base_url))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    http.post(format!("{}/parse_async", h.base_url))
        .header("authorization", auth)
        .json(&json!({"input": 5, "queue_priority": "urgent"}))
        .send()
        .await
        .unwrap();
    http.post(format!("{}/parse", h.base_url))
        .header("authorization", auth)
        .json(&json!({"input": "https://e.com/a.pdf", "settings": {"ocr_system": "magic"}}))
        .send()
        .await
        .unwrap();
    http.get(format!("{}/job/x", h.base_url))
        .send()
        .await
        .unwrap();
    let seen = h.exchanges();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    for exchange in &seen[..3] {
        let violations = exchange.violations.as_ref().and_then(Value::as_array);
        assert!(
            violations.is_some_and(|v| !v.is_empty()),
            "no violation recorded for {exchange:#?}"
        );
        assert!(
            !is_parse_one_of_defect(&exchange.violations),
            "an invalid body passed as the spec defect: {exchange:#?}"
        );
    }
    // No key: Prism refuses it.
    assert_eq!(seen[3].status, 401, "{:#?}", seen[3]);
}

// ------------------------------------------------------------ operations

/// An invoice, for typed extraction.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Invoice {
    /// The invoice number, as printed.
    number: String,
    total: f64,
    currency: Option<Currency>,
    lines: Vec<InvoiceLine>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
enum Currency {
    Usd,
    Eur,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct InvoiceLine {
    description: String,
    amount: f64,
}

/// A typed extraction decodes, or fails only to decode Prism's data (which
/// is no invoice): never a request or transport error.
fn typed<T: std::fmt::Debug>(h: &Harness, what: &str, result: Result<T, Error>) {
    match result {
        Ok(_) | Err(Error::Decode(_)) => {}
        Err(e) => answered::<T>(h, what, Err(e)),
    }
}

/// An operation's answer decodes. With random data, a URL result is a
/// random string: fetching it fails with a typed error, which is right.
fn answered<T>(h: &Harness, what: &str, result: Result<T, Error>) {
    match (h.mode, result) {
        (_, Ok(_)) => {}
        (Mode::Dynamic, Err(Error::InvalidArgument { name: "url", .. }))
        | (Mode::Dynamic, Err(Error::Connection(_))) => {}
        (_, Err(e)) => {
            ok::<()>(h, what, Err(e));
        }
    }
}

/// Every operation beyond parse and the job calls — extract (typed and
/// untyped), split, classify, edit, pipeline, sync and as jobs, with and
/// without their options; job and upload deletion; the webhook portal —
/// sends what the spec says and decodes Prism's static and random answers.
#[tokio::test]
#[ignore = "needs Prism: run .ci/conformance.sh"]
async fn every_operation_conforms_and_decodes() {
    for mode in [Mode::Static, Mode::Dynamic] {
        let mut h = Harness::start(mode).await;
        let c = h.client.clone();
        let upload = ok(
            &h,
            "upload",
            c.upload(Document::bytes("# Notes", "notes.md")).await,
        );
        let url = "https://example.com/packet.pdf";
        let schema = json!({"type": "object", "properties": {"total": {"type": "number"}}});

        // Extract: untyped and typed, sync and async, bare and with options.
        answered(
            &h,
            "extract",
            c.extract()
                .run::<Value>(&upload)
                .schema(schema.clone())
                .await,
        );
        typed(&h, "extract typed", c.extract().run::<Invoice>(url).await);
        typed(
            &h,
            "extract typed + options",
            c.extract()
                .run::<Invoice>(DocumentInput::job("a-job-id"))
                .system_prompt("Be precise.")
                .citations(true)
                .deep_extract(true)
                .pages(1, 3)
                .include_images(true)
                .await,
        );
        answered(
            &h,
            "extract run_job",
            c.extract()
                .run_job::<Value>(&upload)
                .schema(schema.clone())
                .await,
        );
        answered(
            &h,
            "extract run_job + async options",
            c.extract()
                .run_job::<Invoice>(url)
                .array_extract(true)
                .priority(true)
                .metadata(json!({"team": "docs"}))
                .webhook_url("https://example.com/hook")
                .queue_priority(QueuePriority::Batch)
                .await,
        );
        h.assert_conformant(6);

        // Split.
        answered(
            &h,
            "split",
            c.split().run(&upload).category("invoice", "Invoices").await,
        );
        answered(
            &h,
            "split + options",
            c.split()
                .run(vec![url.to_owned(), "https://example.com/b.pdf".to_owned()])
                .partitioned_category("invoice", "Invoices", "invoice number")
                .category("receipt", "Receipts")
                .split_rules("One invoice per partition.")
                .deep_split(true)
                .allow_page_overlap(false)
                .await,
        );
        answered(
            &h,
            "split run_job",
            c.split().run_job(url).category("invoice", "Invoices").await,
        );
        answered(
            &h,
            "split run_job + svix webhook",
            c.split()
                .run_job(url)
                .category("invoice", "Invoices")
                .svix_webhook(["ops"])
                .await,
        );
        h.assert_conformant(4);

        // Classify.
        answered(
            &h,
            "classify",
            c.classify()
                .run(url)
                .categories(["invoice", "receipt"])
                .await,
        );
        answered(
            &h,
            "classify + options",
            c.classify()
                .run(&upload)
                .category("invoice", ["invoice", "total due"])
                .category("receipt", ["receipt"])
                .category_group("finance", ["invoice", "receipt"])
                .document_metadata("From the finance inbox.")
                .model(reducto::types::ClassifyConfigModel::Accurate)
                .pages(1, 2)
                .await,
        );
        answered(
            &h,
            "classify run_job",
            c.classify()
                .run_job(url)
                .categories(["invoice"])
                .priority(false)
                .await,
        );
        h.assert_conformant(3);

        // Edit.
        answered(&h, "edit", c.edit().run(&upload, "Name: Ada").await);
        answered(
            &h,
            "edit + options",
            c.edit()
                .run(url, "Name: Ada")
                .flatten(true)
                .color("#FF0000")
                .await,
        );
        answered(&h, "edit run_job", c.edit().run_job(url, "Name: Ada").await);
        answered(
            &h,
            "edit run_job + priority, webhook, metadata",
            c.edit()
                .run_job(url, "Name: Ada")
                .priority(true)
                .webhook_url("https://example.com/hook")
                .metadata(json!({"k": 1}))
                .await,
        );
        h.assert_conformant(4);

        // Pipeline.
        answered(&h, "pipeline", c.pipeline().run(url, "pipeline-id").await);
        answered(
            &h,
            "pipeline + options",
            c.pipeline()
                .run(&upload, "pipeline-id")
                .document_password("pw")
                .await,
        );
        answered(
            &h,
            "pipeline run_job",
            c.pipeline().run_job(url, "pipeline-id").await,
        );
        h.assert_conformant(3);

        // Deletions and the webhook portal.
        answered(&h, "job delete", c.job().delete("a-job-id").await);
        answered(
            &h,
            "job delete + include_persisted",
            c.job().delete("a-job-id").include_persisted(true).await,
        );
        answered(&h, "delete_upload", c.delete_upload(&upload.file_id).await);
        answered(&h, "configure_webhook", c.configure_webhook().await);
        h.assert_conformant(4);
    }
}
