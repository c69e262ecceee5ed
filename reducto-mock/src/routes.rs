//! HTTP routes and FastAPI-shaped error bodies.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use bytes::BytesMut;
use serde_json::{json, Value};

use crate::faults::{self, CursorLoop};
use crate::record::{MultipartPart, RecordHandle};
use crate::results::{self, Source};
use crate::state::{AppState, Finished, NewJob, OrderKey, Outcome, StoredFile};
use crate::webhooks::{self, WebhookAt, WebhookRequest};

/// The version string served by `GET /version`.
pub const VERSION: &str = "v1.12.20-mock";

/// Build the router for a server state.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let router = Router::new()
        .route("/version", get(version))
        .route("/upload", post(upload))
        .route("/parse", post(parse_sync))
        .route("/parse_async", post(parse_async))
        .route("/job/{job_id}", get(get_job))
        .route("/cancel/{job_id}", post(cancel_job))
        .route("/jobs", get(list_jobs))
        .route("/results/{result_id}", get(get_result));
    // Extract, split, classify, edit, pipeline, deletes, webhooks.
    crate::ops::routes(router)
        // Route layer: runs only for matched routes, after routing, so the
        // fault rules can see the route template.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            faults::middleware,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Uploads of ~100 MB must work: no body limit (bodies are streamed).
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

// ---------------------------------------------------------------- errors

/// `{"detail": msg}` with the given status.
pub(crate) fn detail(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "detail": msg }))).into_response()
}

/// FastAPI's 422 `{"detail": [ValidationError...]}`.
pub(crate) fn validation(errors: Vec<Value>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "detail": errors })),
    )
        .into_response()
}

/// One FastAPI/pydantic `ValidationError` object.
pub(crate) fn verr(loc: Value, msg: &str, kind: &str, input: Value) -> Value {
    json!({ "type": kind, "loc": loc, "msg": msg, "input": input })
}

async fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> Response {
    detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// Bearer auth, FastAPI `HTTPBearer` style: a 401 response unless the
/// request carries `Authorization: Bearer <key>` with an acceptable key.
pub(crate) fn auth_error(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let unauthorized = |msg: &str| {
        let mut resp = detail(StatusCode::UNAUTHORIZED, msg);
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        resp
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Some(unauthorized("Not authenticated"));
    };
    let value = value.to_str().unwrap_or("");
    let (scheme, key) = value.split_once(' ').unwrap_or((value, ""));
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() {
        return Some(unauthorized("Invalid authentication credentials"));
    }
    match &state.config.api_key {
        Some(expected) if expected != key => Some(unauthorized("Invalid API key")),
        _ => None,
    }
}

// ---------------------------------------------------------------- /version

async fn version() -> Json<&'static str> {
    Json(VERSION)
}

// ---------------------------------------------------------------- /upload

async fn upload(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if let Some(resp) = auth_error(&state, req.headers()) {
        return resp;
    }
    let record = req.extensions().get::<RecordHandle>().cloned();
    let query_ext = query_pairs(req.uri().query())
        .into_iter()
        .rev()
        .find(|(k, _)| k == "extension")
        .map(|(_, v)| v);
    let missing_file = || {
        validation(vec![verr(
            json!(["body", "file"]),
            "Field required",
            "missing",
            Value::Null,
        )])
    };
    // Not multipart at all: FastAPI sees no `file` field.
    let Ok(mut multipart) = axum::extract::Multipart::from_request(req, &()).await else {
        return missing_file();
    };
    let malformed = || {
        detail(
            StatusCode::BAD_REQUEST,
            "There was an error parsing the body",
        )
    };
    let mut file: Option<(Option<String>, Bytes)> = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return malformed(),
        };
        let name = field.name().unwrap_or("").to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        // Only the first `file` part is kept; other parts are read and
        // counted so the recording shows them.
        let keep = name == "file" && file.is_none();
        let mut buf = BytesMut::new();
        let mut size = 0usize;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len();
                    if keep {
                        buf.extend_from_slice(&chunk);
                    }
                }
                Ok(None) => break,
                Err(_) => return malformed(),
            }
        }
        if let Some(r) = &record {
            r.add_part(MultipartPart {
                name: name.clone(),
                filename: filename.clone(),
                content_type,
                size,
            });
        }
        if keep {
            file = Some((filename, buf.freeze()));
        }
    }
    let Some((filename, bytes)) = file else {
        return missing_file();
    };
    let ext = query_ext
        .as_deref()
        .and_then(clean_ext)
        .or_else(|| filename.as_deref().and_then(ext_of));
    let id = uuid::Uuid::new_v4();
    let file_id = match &ext {
        Some(e) => format!("reducto://{id}.{e}"),
        None => format!("reducto://{id}"),
    };
    state.add_file(
        file_id.clone(),
        StoredFile {
            filename,
            ext,
            bytes,
        },
    );
    Json(json!({ "file_id": file_id, "presigned_url": null })).into_response()
}

/// An extension from a file name (`report.final.PDF` -> `PDF`).
fn ext_of(name: &str) -> Option<String> {
    let (_, ext) = name.rsplit_once('.')?;
    clean_ext(ext)
}

/// Keep only plausible extension characters (alphanumerics and inner dots,
/// as in `tar.gz`) so a file id stays a clean URI.
fn clean_ext(ext: &str) -> Option<String> {
    let ext: String = ext
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let ext = ext.trim_matches('.');
    (!ext.is_empty()).then(|| ext.to_owned())
}

// ---------------------------------------------------------------- /parse

/// A validated parse request.
struct ParseRequest {
    inputs: Vec<InputRef>,
    /// The `input` value as sent, served back as the job's `source`.
    source: Value,
    force_url: bool,
    force_ext: Option<String>,
    raw_config: String,
    /// The webhook asked for (`async.webhook`).
    webhook: Option<WebhookRequest>,
}

pub(crate) enum InputRef {
    File(String),
    Job(String),
    Remote(String),
}

async fn parse_sync(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(resp) = auth_error(&state, &headers) {
        return resp;
    }
    let latency = state.config.sync_latency;
    // `/parse` also takes an `AsyncParseConfig`: its webhook is delivered.
    let (job_id, outcome) = match start_parse(&state, &body, latency) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    // The job exists (and is listed as Pending) while the latency elapses.
    tokio::time::sleep(latency).await;
    match outcome {
        Ok(finished) => Json(finished.stamp(&job_id, latency.as_secs_f64())).into_response(),
        Err(reason) => detail(StatusCode::INTERNAL_SERVER_ERROR, &reason),
    }
}

async fn parse_async(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(resp) = auth_error(&state, &headers) {
        return resp;
    }
    match start_parse(&state, &body, state.config.job_duration) {
        Ok((job_id, _)) => Json(json!({ "job_id": job_id })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Why a request was refused.
pub(crate) enum StartError {
    /// 422 with these validation errors.
    Invalid(Vec<Value>),
    /// 404 with this detail.
    NotFound(String),
}

impl IntoResponse for StartError {
    fn into_response(self) -> Response {
        match self {
            StartError::Invalid(errors) => validation(errors),
            StartError::NotFound(msg) => detail(StatusCode::NOT_FOUND, &msg),
        }
    }
}

/// Validate, resolve inputs, parse and create the job (with the webhook
/// it asked for); returns the job's id and outcome.
fn start_parse(
    state: &Arc<AppState>,
    body: &[u8],
    duration: Duration,
) -> Result<(String, Outcome), StartError> {
    let req = validate_parse(body).map_err(StartError::Invalid)?;
    let docs = resolve(state, &req.inputs)?;
    let outcome =
        results::parse(&docs, state.config.chunk_size, req.force_ext.as_deref()).map(|parsed| {
            let (result, pages) = state.finish_result(parsed, req.force_url);
            Finished {
                response: results::parse_response("", 0.0, pages, result),
                pages,
            }
        });
    let job_id = state.create_job(NewJob {
        job_type: "Parse",
        docs: Arc::new(docs),
        outcome: outcome.clone(),
        duration,
        raw_config: req.raw_config,
        source: req.source,
        webhook: req.webhook,
    });
    Ok((job_id, outcome))
}

/// The documents named by validated inputs; 404 for an unknown file or job.
pub(crate) fn resolve(state: &AppState, inputs: &[InputRef]) -> Result<Vec<Source>, StartError> {
    let mut docs = Vec::new();
    for input in inputs {
        match input {
            InputRef::File(id) => match state.file(id) {
                Some(f) => docs.push(Source::File {
                    file_id: id.clone(),
                    filename: f.filename,
                    ext: f.ext,
                    bytes: f.bytes,
                }),
                None => return Err(StartError::NotFound(format!("File not found: {id}"))),
            },
            InputRef::Job(id) => match state.job_docs(id) {
                Some(d) => docs.extend(d),
                None => return Err(StartError::NotFound("Job not found".to_owned())),
            },
            InputRef::Remote(url) => docs.push(Source::Remote {
                reference: url.clone(),
            }),
        }
    }
    Ok(docs)
}

/// Objects that must be JSON objects when present.
const OBJECT_OPTIONS: &[&str] = &[
    "enhance",
    "retrieval",
    "formatting",
    "spreadsheet",
    "settings",
    "async",
];

/// Validate a parse body the way FastAPI/pydantic would, shallowly: the
/// `input` union fully, the option groups only for being objects (plus the
/// few settings the mock acts on).
fn validate_parse(body: &[u8]) -> Result<ParseRequest, Vec<Value>> {
    let value = json_body(body)?;
    let Some(obj) = value.as_object() else {
        return Err(vec![verr(
            json!(["body"]),
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
            value.clone(),
        )]);
    };
    let mut errors = Vec::new();
    let mut inputs = Vec::new();
    match obj.get("input") {
        None => errors.push(verr(
            json!(["body", "input"]),
            "Field required",
            "missing",
            value.clone(),
        )),
        Some(input) => match validate_input(input, "input") {
            Ok(v) => inputs = v,
            Err(e) => errors.extend(e),
        },
    }
    for key in OBJECT_OPTIONS {
        if let Some(v) = obj.get(*key) {
            if !v.is_object() {
                errors.push(verr(
                    json!(["body", key]),
                    "Input should be a valid dictionary or object to extract fields from",
                    "model_attributes_type",
                    v.clone(),
                ));
            }
        }
    }
    if let Some(v) = obj.get("queue_priority") {
        if v != "auto" && v != "batch" {
            errors.push(json!({
                "type": "enum",
                "loc": ["body", "queue_priority"],
                "msg": "Input should be 'auto' or 'batch'",
                "input": v,
                "ctx": { "expected": "'auto' or 'batch'" },
            }));
        }
    }
    let settings = obj.get("settings").and_then(Value::as_object);
    let mut force_url = false;
    if let Some(v) = settings.and_then(|s| s.get("force_url_result")) {
        match v.as_bool() {
            Some(b) => force_url = b,
            None => errors.push(verr(
                json!(["body", "settings", "force_url_result"]),
                "Input should be a valid boolean",
                "bool_type",
                v.clone(),
            )),
        }
    }
    let mut force_ext = None;
    match settings.and_then(|s| s.get("force_file_extension")) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => force_ext = Some(s.clone()),
        Some(v) => errors.push(verr(
            json!(["body", "settings", "force_file_extension"]),
            "Input should be a valid string",
            "string_type",
            v.clone(),
        )),
    }
    let webhook = match webhooks::requested(&value, WebhookAt::Async) {
        Ok(w) => w,
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ParseRequest {
        inputs,
        source: obj.get("input").cloned().unwrap_or(Value::Null),
        force_url,
        force_ext,
        raw_config: String::from_utf8_lossy(body).into_owned(),
        webhook,
    })
}

/// The JSON value of a request body, or FastAPI's 422 errors for an empty
/// or malformed body.
pub(crate) fn json_body(body: &[u8]) -> Result<Value, Vec<Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![verr(
            json!(["body"]),
            "Field required",
            "missing",
            Value::Null,
        )]);
    }
    serde_json::from_slice(body).map_err(|e| {
        let pos = byte_offset(body, e.line(), e.column());
        vec![json!({
            "type": "json_invalid",
            "loc": ["body", pos],
            "msg": "JSON decode error",
            "input": {},
            "ctx": { "error": e.to_string() },
        })]
    })
}

/// Validate the `input` union: `str | list[str] | UploadResponse`.
pub(crate) fn validate_input(input: &Value, field: &str) -> Result<Vec<InputRef>, Vec<Value>> {
    match input {
        Value::String(s) => classify_input(s, json!(["body", field]))
            .map(|r| vec![r])
            .map_err(|e| vec![e]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(vec![verr(
                    json!(["body", field]),
                    "Value error, input must not be an empty list",
                    "value_error",
                    input.clone(),
                )]);
            }
            let mut refs = Vec::new();
            let mut errs = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => match classify_input(s, json!(["body", field, i])) {
                        Ok(r) => refs.push(r),
                        Err(e) => errs.push(e),
                    },
                    other => errs.push(verr(
                        json!(["body", field, "list[str]", i]),
                        "Input should be a valid string",
                        "string_type",
                        other.clone(),
                    )),
                }
            }
            if errs.is_empty() {
                Ok(refs)
            } else {
                Err(errs)
            }
        }
        Value::Object(o) => {
            let mut errs = Vec::new();
            let file_id = match o.get("file_id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(v) => {
                    errs.push(verr(
                        json!(["body", field, "UploadResponse", "file_id"]),
                        "Input should be a valid string",
                        "string_type",
                        v.clone(),
                    ));
                    None
                }
                None => {
                    errs.push(verr(
                        json!(["body", field, "UploadResponse", "file_id"]),
                        "Field required",
                        "missing",
                        input.clone(),
                    ));
                    None
                }
            };
            match o.get("presigned_url") {
                None | Some(Value::Null) | Some(Value::String(_)) => {}
                Some(v) => errs.push(verr(
                    json!(["body", field, "UploadResponse", "presigned_url"]),
                    "Input should be a valid string",
                    "string_type",
                    v.clone(),
                )),
            }
            match file_id {
                Some(id) if errs.is_empty() => Ok(vec![classify_input(
                    &id,
                    json!(["body", field, "UploadResponse", "file_id"]),
                )
                .map_err(|e| vec![e])?]),
                _ => Err(errs),
            }
        }
        // Like pydantic, one error per member of the union.
        _ => Err(vec![
            verr(
                json!(["body", field, "str"]),
                "Input should be a valid string",
                "string_type",
                input.clone(),
            ),
            verr(
                json!(["body", field, "list[str]"]),
                "Input should be a valid list",
                "list_type",
                input.clone(),
            ),
            verr(
                json!(["body", field, "UploadResponse"]),
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
                input.clone(),
            ),
        ]),
    }
}

/// Which kind of document reference a string is.
fn classify_input(s: &str, loc: Value) -> Result<InputRef, Value> {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("reducto://") {
        Ok(InputRef::File(s.to_owned()))
    } else if let Some(id) = s.strip_prefix("jobid://") {
        Ok(InputRef::Job(id.to_owned()))
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(InputRef::Remote(s.to_owned()))
    } else {
        Err(verr(
            loc,
            "Value error, input must be a reducto:// file id, a jobid:// reference or an http(s) URL",
            "value_error",
            Value::String(s.to_owned()),
        ))
    }
}

/// Byte offset of serde_json's (1-based line, 1-based column) position.
fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in body.split(|&b| b == b'\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1).min(l.len());
        }
        offset += l.len() + 1;
    }
    body.len()
}

// ---------------------------------------------------------------- jobs

async fn get_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    job_id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    if let Some(resp) = auth_error(&state, &headers) {
        return resp;
    }
    // An id that is not valid UTF-8 once decoded cannot name a job.
    let Ok(Path(job_id)) = job_id else {
        return detail(StatusCode::NOT_FOUND, "Job not found");
    };
    match state.job_json(&job_id) {
        Some(v) => Json(v).into_response(),
        None => detail(StatusCode::NOT_FOUND, "Job not found"),
    }
}

async fn cancel_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    job_id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    if let Some(resp) = auth_error(&state, &headers) {
        return resp;
    }
    let Ok(Path(job_id)) = job_id else {
        return detail(StatusCode::NOT_FOUND, "Job not found");
    };
    let cancelled = state.cancel(&job_id);
    match cancelled {
        Some(status) => Json(json!({ "job_id": job_id, "status": status })).into_response(),
        None => detail(StatusCode::NOT_FOUND, "Job not found"),
    }
}

/// A decoded `/jobs` cursor.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cursor {
    /// "From the newest job" (only produced by the cursor-loop fault).
    Top,
    /// After this job in listing order.
    After(OrderKey),
}

const CURSOR_PREFIX: &str = "v1:";

/// Cursors are hex of `v1:<micros>:<seq>` (or `v1:top`): opaque to clients,
/// and they point after a specific job rather than at an offset.
fn encode_cursor(c: Cursor) -> String {
    let text = match c {
        Cursor::Top => format!("{CURSOR_PREFIX}top"),
        Cursor::After(k) => format!("{CURSOR_PREFIX}{}:{}", k.micros, k.seq),
    };
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(s: &str) -> Option<Cursor> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix(CURSOR_PREFIX)?;
    if rest == "top" {
        return Some(Cursor::Top);
    }
    let (micros, seq) = rest.split_once(':')?;
    Some(Cursor::After(OrderKey {
        micros: micros.parse().ok()?,
        seq: seq.parse().ok()?,
    }))
}

/// Pydantic's lax bool parsing of a query value.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
        "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// Decoded query pairs.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn list_jobs(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if let Some(resp) = auth_error(&state, req.headers()) {
        return resp;
    }
    let cursor_loop = req.extensions().get::<CursorLoop>().is_some();
    // Like FastAPI, the last occurrence of a repeated parameter wins.
    let pairs = query_pairs(req.uri().query());
    let last = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut errors = Vec::new();
    let mut limit = 100usize;
    if let Some(raw) = last("limit") {
        match raw.trim().parse::<i64>() {
            Err(_) => errors.push(verr(
                json!(["query", "limit"]),
                "Input should be a valid integer, unable to parse string as an integer",
                "int_parsing",
                Value::String(raw),
            )),
            Ok(n) if n > 500 => errors.push(json!({
                "type": "less_than_equal",
                "loc": ["query", "limit"],
                "msg": "Input should be less than or equal to 500",
                "input": raw,
                "ctx": { "le": 500 },
            })),
            Ok(n) if n < 1 => errors.push(json!({
                "type": "greater_than_equal",
                "loc": ["query", "limit"],
                "msg": "Input should be greater than or equal to 1",
                "input": raw,
                "ctx": { "ge": 1 },
            })),
            // 1..=500 fits in usize.
            Ok(n) => limit = usize::try_from(n).unwrap_or(100),
        }
    }
    let mut exclude_configs = false;
    if let Some(raw) = last("exclude_configs") {
        match parse_bool(&raw) {
            Some(b) => exclude_configs = b,
            None => errors.push(verr(
                json!(["query", "exclude_configs"]),
                "Input should be a valid boolean, unable to interpret input",
                "bool_parsing",
                Value::String(raw),
            )),
        }
    }
    let raw_cursor = last("cursor").filter(|c| !c.is_empty());
    let mut cursor = None;
    if let Some(raw) = &raw_cursor {
        match decode_cursor(raw) {
            Some(c) => cursor = Some(c),
            None => errors.push(verr(
                json!(["query", "cursor"]),
                "Value error, invalid cursor",
                "value_error",
                Value::String(raw.clone()),
            )),
        }
    }
    if !errors.is_empty() {
        return validation(errors);
    }
    // Added latency per page (for prefetching benchmarks).
    tokio::time::sleep(state.config.page_latency).await;
    let after = match cursor {
        Some(Cursor::After(k)) => Some(k),
        Some(Cursor::Top) | None => None,
    };
    let (jobs, more) = state.list(after, limit, exclude_configs);
    let next_cursor = if cursor_loop {
        // Repeat a cursor the client already has.
        Some(raw_cursor.unwrap_or_else(|| encode_cursor(Cursor::Top)))
    } else {
        more.map(|k| encode_cursor(Cursor::After(k)))
    };
    Json(json!({ "jobs": jobs, "next_cursor": next_cursor })).into_response()
}

// ---------------------------------------------------------------- results

/// Serves stored URL results without auth, like a presigned storage URL.
async fn get_result(
    State(state): State<Arc<AppState>>,
    result_id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let found = result_id.ok().and_then(|Path(id)| state.stored_result(&id));
    match found {
        Some((content_type, bytes)) => {
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => detail(StatusCode::NOT_FOUND, "Result not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        let k = OrderKey {
            micros: 1_700_000_000_123_456,
            seq: 42,
        };
        let c = encode_cursor(Cursor::After(k));
        assert_eq!(decode_cursor(&c), Some(Cursor::After(k)));
        assert_eq!(
            decode_cursor(&encode_cursor(Cursor::Top)),
            Some(Cursor::Top)
        );
        for bad in ["", "zz", "abc", "00", "é", "76313a78"] {
            assert_eq!(decode_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn byte_offsets() {
        assert_eq!(byte_offset(b"{\n  x", 2, 3), 4);
        assert_eq!(byte_offset(b"{x", 1, 2), 1);
    }

    #[test]
    fn extensions() {
        assert_eq!(ext_of("a.b.PDF").as_deref(), Some("PDF"));
        assert_eq!(ext_of("noext"), None);
        assert_eq!(clean_ext(".txt").as_deref(), Some("txt"));
        assert_eq!(clean_ext("../"), None);
        assert_eq!(clean_ext("tar.gz").as_deref(), Some("tar.gz"));
        assert_eq!(clean_ext("a b/c").as_deref(), Some("abc"));
    }
}
