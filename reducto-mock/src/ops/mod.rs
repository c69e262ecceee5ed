//! The operations beyond parse: extract, split, classify, edit, pipeline
//! (each sync and as a job), deleting jobs and uploads, and the webhook
//! portal.
//!
//! Every document operation goes through one path (`run_op`): validate
//! the body (FastAPI-shaped 422s), resolve its input to documents (404 for
//! an unknown file or job), compute the result, and record a job of the
//! operation's type. A sync request answers after
//! `ServerBuilder::sync_latency` with the response; an async one answers
//! `{"job_id"}` at once and the job completes after
//! `ServerBuilder::job_duration`, like a parse job. Each operation module
//! only says how to read its own options ([`Op::config`]) and how to turn
//! documents into its response ([`Op::run`]). A job whose body asks for a
//! webhook (`async.webhook`, or edit's `webhook`) has it delivered when it
//! ends, by the job creation every route shares (`NewJob::webhook`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::results::{self, Parsed, Source};
use crate::routes::{self, auth_error, detail, validation, verr, InputRef};
use crate::state::{AppState, Finished, NewJob};
use crate::webhooks::{self, WebhookAt};

pub(crate) mod classify;
pub(crate) mod edit;
pub(crate) mod extract;
pub(crate) mod pipeline;
pub(crate) mod split;
pub(crate) mod text;

/// Add the routes of this module.
pub(crate) fn routes(router: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    router
        .route("/extract", post(sync_unless_async::<extract::Extract>))
        .route("/extract_async", post(async_op::<extract::Extract>))
        .route("/split", post(sync_op::<split::Split>))
        .route("/split_async", post(async_op::<split::Split>))
        .route("/classify", post(sync_op::<classify::Classify>))
        .route("/classify_async", post(async_op::<classify::Classify>))
        .route("/edit", post(sync_op::<edit::Edit>))
        .route("/edit_async", post(async_op::<edit::Edit>))
        .route("/pipeline", post(sync_op::<pipeline::Pipeline>))
        .route("/pipeline_async", post(async_op::<pipeline::Pipeline>))
        // `/job/{job_id}` (GET) is registered by `routes`; axum merges the
        // methods of one path.
        .route("/job/{job_id}", delete(delete_job))
        // A catch-all so that an unescaped `reducto://...` id (with its
        // slashes) reaches the handler too.
        .route("/upload/{*file_id}", delete(delete_upload))
        .route("/configure_webhook", post(configure_webhook))
}

// ---------------------------------------------------------------- bodies

/// A JSON request body being validated: typed reads that record
/// FastAPI/pydantic-shaped errors (with `loc` `["body", ...path]`) instead
/// of failing at the first one.
pub(crate) struct Body {
    value: Value,
    errors: Vec<Value>,
}

impl Body {
    /// A request body, which must be a JSON object.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Body, Vec<Value>> {
        let value = routes::json_body(bytes)?;
        if !value.is_object() {
            return Err(vec![verr(
                json!(["body"]),
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
                value,
            )]);
        }
        Ok(Body::from_value(value))
    }

    /// A body given as JSON (a pipeline step).
    pub(crate) fn from_value(value: Value) -> Body {
        Body {
            value,
            errors: Vec::new(),
        }
    }

    /// The value at `path`, if every step of it is present.
    pub(crate) fn get(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.value, |v, key| v.get(key))
    }

    fn loc(path: &[&str]) -> Value {
        let mut loc = vec![json!("body")];
        loc.extend(path.iter().map(|p| json!(p)));
        Value::Array(loc)
    }

    /// Record an error at `path`.
    pub(crate) fn error(&mut self, path: &[&str], msg: &str, kind: &str, input: Value) {
        self.errors.push(verr(Body::loc(path), msg, kind, input));
    }

    /// Record an error at an explicit `loc` (list items).
    pub(crate) fn error_at(&mut self, loc: Value, msg: &str, kind: &str, input: Value) {
        self.errors.push(verr(loc, msg, kind, input));
    }

    /// The field at `path` is required.
    pub(crate) fn require(&mut self, path: &[&str]) -> Option<Value> {
        let found = self.get(path).cloned();
        if found.is_none() {
            let parent = path
                .split_last()
                .and_then(|(_, parent)| self.get(parent).cloned())
                .unwrap_or(Value::Null);
            self.error(path, "Field required", "missing", parent);
        }
        found
    }

    /// An optional object at `path`.
    pub(crate) fn object(&mut self, path: &[&str]) -> Option<Map<String, Value>> {
        match self.get(path).cloned() {
            None => None,
            Some(Value::Object(o)) => Some(o),
            Some(v) => {
                self.error(
                    path,
                    "Input should be a valid dictionary or object to extract fields from",
                    "model_attributes_type",
                    v,
                );
                None
            }
        }
    }

    /// An optional boolean at `path`.
    pub(crate) fn bool(&mut self, path: &[&str], default: bool) -> bool {
        match self.get(path).cloned() {
            None => default,
            Some(Value::Bool(b)) => b,
            Some(v) => {
                self.error(path, "Input should be a valid boolean", "bool_type", v);
                default
            }
        }
    }

    /// An optional string at `path` (`null` counts as absent).
    pub(crate) fn string(&mut self, path: &[&str]) -> Option<String> {
        match self.get(path).cloned() {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(v) => {
                self.error(path, "Input should be a valid string", "string_type", v);
                None
            }
        }
    }

    /// An optional number at `path` within `min..=max` (`null`: absent).
    pub(crate) fn number(&mut self, path: &[&str], min: f64, max: f64) -> Option<f64> {
        match self.get(path).cloned() {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(n) if n < min => {
                    let msg = format!("Input should be greater than or equal to {min}");
                    self.error(path, &msg, "greater_than_equal", v);
                    None
                }
                Some(n) if n > max => {
                    let msg = format!("Input should be less than or equal to {max}");
                    self.error(path, &msg, "less_than_equal", v);
                    None
                }
                Some(n) => Some(n),
                None => {
                    self.error(path, "Input should be a valid number", "float_type", v);
                    None
                }
            },
        }
    }

    /// An optional string at `path` that must be one of `allowed`.
    pub(crate) fn choice(&mut self, path: &[&str], allowed: &[&str], default: &str) -> String {
        match self.get(path).cloned() {
            None => default.to_owned(),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => s,
            Some(v) => {
                let expected = allowed
                    .iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.errors.push(json!({
                    "type": "enum",
                    "loc": Body::loc(path),
                    "msg": format!("Input should be {expected}"),
                    "input": v,
                    "ctx": { "expected": expected },
                }));
                default.to_owned()
            }
        }
    }

    /// An optional list at `path`.
    pub(crate) fn list(&mut self, path: &[&str]) -> Option<Vec<Value>> {
        match self.get(path).cloned() {
            None => None,
            Some(Value::Array(items)) => Some(items),
            Some(v) => {
                self.error(path, "Input should be a valid list", "list_type", v);
                None
            }
        }
    }

    /// String field `key` of `item`, item `i` of the list at `list`
    /// (`null` counts as absent when not `required`).
    pub(crate) fn item_string(
        &mut self,
        (list, i, item): (&str, usize, &Value),
        key: &str,
        required: bool,
    ) -> Option<String> {
        match item.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            None | Some(Value::Null) if !required => None,
            other => {
                self.item_error((list, i, item), key, other, "a valid string", "string_type");
                None
            }
        }
    }

    /// Required list-of-strings field `key` of list item `i` (see
    /// [`Body::item_string`]).
    pub(crate) fn item_strings(
        &mut self,
        (list, i, item): (&str, usize, &Value),
        key: &str,
    ) -> Option<Vec<String>> {
        match item.get(key) {
            Some(Value::Array(v)) if v.iter().all(Value::is_string) => Some(
                v.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            other => {
                self.item_error(
                    (list, i, item),
                    key,
                    other,
                    "a valid list of strings",
                    "list_type",
                );
                None
            }
        }
    }

    fn item_error(
        &mut self,
        (list, i, item): (&str, usize, &Value),
        key: &str,
        found: Option<&Value>,
        expected: &str,
        kind: &str,
    ) {
        let loc = json!(["body", list, i, key]);
        match found {
            None => self.error_at(loc, "Field required", "missing", item.clone()),
            Some(v) => self.error_at(loc, &format!("Input should be {expected}"), kind, v.clone()),
        }
    }

    /// The document input at `field`: `str | list[str] | UploadResponse`
    /// (no list when `list` is false).
    pub(crate) fn input(&mut self, field: &str, list: bool) -> Vec<InputRef> {
        let Some(input) = self.require(&[field]) else {
            return Vec::new();
        };
        if !list && input.is_array() {
            self.error(
                &[field],
                "Input should be a valid string",
                "string_type",
                input,
            );
            return Vec::new();
        }
        match routes::validate_input(&input, field) {
            Ok(refs) => refs,
            Err(errors) => {
                self.errors.extend(errors);
                Vec::new()
            }
        }
    }

    /// Fields allowed at `path`: any other is refused (pydantic's
    /// `extra="forbid"`).
    pub(crate) fn only(&mut self, path: &[&str], allowed: &[&str]) {
        let extra: Vec<(String, Value)> = match self.get(path) {
            Some(Value::Object(o)) => o
                .iter()
                .filter(|(k, _)| !allowed.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => return,
        };
        for (key, value) in extra {
            let mut at: Vec<&str> = path.to_vec();
            at.push(&key);
            self.error(
                &at,
                "Extra inputs are not permitted",
                "extra_forbidden",
                value,
            );
        }
    }

    /// The errors recorded, if any.
    pub(crate) fn finish(self) -> Result<Value, Vec<Value>> {
        if self.errors.is_empty() {
            Ok(self.value)
        } else {
            Err(self.errors)
        }
    }
}

// ---------------------------------------------------------------- operations

/// One document operation (see the module docs).
pub(crate) trait Op: 'static {
    /// The `type` of its jobs (`Extract`, `Split`, ...).
    const JOB_TYPE: &'static str;
    /// The body field naming the document.
    const INPUT: &'static str = "input";
    /// Whether that field may be a list of documents.
    const LIST_INPUT: bool = true;
    /// Which of the async options `async` (an object) and
    /// `queue_priority` its async body has.
    const ASYNC_OPTIONS: &'static [&'static str] = &["async"];
    /// Where its body asks for a webhook.
    const WEBHOOK_AT: WebhookAt = WebhookAt::Async;
    /// The operation's validated options.
    type Config: Send + 'static;

    /// Read and validate the operation's own fields (not the input, not
    /// `async`).
    fn config(body: &mut Body) -> Self::Config;

    /// Refuse a valid request naming something that does not exist: the
    /// 404 detail.
    fn check(_config: &Self::Config, _state: &AppState) -> Result<(), String> {
        Ok(())
    }

    /// The response for these documents, or why the job fails.
    fn run(config: &Self::Config, work: &Work<'_>) -> Result<Finished, String>;
}

/// What an operation works on.
pub(crate) struct Work<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) docs: &'a [Source],
}

impl Work<'_> {
    /// The documents parsed as `/parse` would (fails on the failure marker).
    pub(crate) fn parse(&self) -> Result<Parsed, String> {
        results::parse(self.docs, self.state.config.chunk_size, None)
    }
}

/// A fresh id for a response nested in another (a pipeline's steps).
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `ParseUsage` for `pages` pages.
pub(crate) fn parse_usage(pages: u64) -> Value {
    json!({ "num_pages": pages, "credits": pages as f64 })
}

/// When a request answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Mode {
    /// Sync: the response, after the sync latency.
    Sync,
    /// `{"job_id"}` at once.
    Async,
    /// Sync, unless the body has an `async` object (`/extract` takes
    /// `SyncExtractConfig | AsyncExtractConfig`).
    SyncUnlessAsync,
}

/// `O` answered synchronously.
async fn sync_op<O: Op>(state: State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    run_op::<O>(Mode::Sync, state, headers, body).await
}

/// `O` as a job.
async fn async_op<O: Op>(state: State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    run_op::<O>(Mode::Async, state, headers, body).await
}

/// `O` answered synchronously unless the body asks for a job.
async fn sync_unless_async<O: Op>(
    state: State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run_op::<O>(Mode::SyncUnlessAsync, state, headers, body).await
}

async fn run_op<O: Op>(
    mode: Mode,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    if let Some(resp) = auth_error(&state, &headers) {
        return resp;
    }
    let mut body = match Body::from_bytes(&raw) {
        Ok(b) => b,
        Err(errors) => return validation(errors),
    };
    let inputs = body.input(O::INPUT, O::LIST_INPUT);
    let is_async = match mode {
        Mode::Sync => false,
        Mode::Async => true,
        Mode::SyncUnlessAsync => body.get(&["async"]).is_some(),
    };
    // Async options: only their shape matters to the mock.
    if is_async {
        if O::ASYNC_OPTIONS.contains(&"async") {
            body.object(&["async"]);
        }
        if O::ASYNC_OPTIONS.contains(&"queue_priority") {
            body.choice(&["queue_priority"], &["auto", "batch"], "auto");
        }
    }
    // A job that asks for a webhook gets one when it ends. A sync body's
    // `async` is an extra the spec ignores (`/parse` is the one sync route
    // whose body may be an async config; `/extract` with one is a job).
    let webhook = if is_async {
        match webhooks::requested(&body.value, O::WEBHOOK_AT) {
            Ok(w) => w,
            Err(errors) => {
                body.errors.extend(errors);
                None
            }
        }
    } else {
        None
    };
    let config = O::config(&mut body);
    let source = body.get(&[O::INPUT]).cloned().unwrap_or(Value::Null);
    if let Err(errors) = body.finish() {
        return validation(errors);
    }
    if let Err(msg) = O::check(&config, &state) {
        return detail(StatusCode::NOT_FOUND, &msg);
    }
    let docs = match routes::resolve(&state, &inputs) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let outcome = O::run(
        &config,
        &Work {
            state: &state,
            docs: &docs,
        },
    );
    let duration = if is_async {
        state.config.job_duration
    } else {
        state.config.sync_latency
    };
    let job_id = state.create_job(NewJob {
        job_type: O::JOB_TYPE,
        docs: Arc::new(docs),
        outcome: outcome.clone(),
        duration,
        raw_config: String::from_utf8_lossy(&raw).into_owned(),
        source,
        webhook,
    });
    if is_async {
        return Json(json!({ "job_id": job_id })).into_response();
    }
    // The job exists (and is listed as Pending) while the latency elapses.
    tokio::time::sleep(duration).await;
    match outcome {
        Ok(finished) => Json(finished.stamp(&job_id, duration.as_secs_f64())).into_response(),
        Err(reason) => detail(StatusCode::INTERNAL_SERVER_ERROR, &reason),
    }
}

/// The response a seeded `Completed` job of `job_type` serves when the test
/// gave none: what the operation answers, with default options, for a
/// placeholder document naming the job. `None` for `Parse` and unknown
/// types (the caller serves a `ParseResponse`).
pub(crate) fn seeded_response(
    state: &AppState,
    job_type: &str,
    job_id: &str,
    secs: f64,
) -> Option<Value> {
    fn seeded<O: Op>(body: Value, work: &Work<'_>) -> Option<Finished> {
        let config = O::config(&mut Body::from_value(body));
        O::run(&config, work).ok()
    }
    let placeholder = format!("Placeholder document of seeded job {job_id}.\n");
    let docs = [Source::File {
        file_id: format!("jobid://{job_id}"),
        filename: None,
        ext: Some("txt".to_owned()),
        bytes: placeholder.into(),
    }];
    let work = Work { state, docs: &docs };
    let finished = match job_type {
        "Extract" => seeded::<extract::Extract>(json!({}), &work),
        "Split" => seeded::<split::Split>(json!({ "split_description": [] }), &work),
        "Classify" => seeded::<classify::Classify>(
            json!({ "classification_schema": [{ "category": "document", "criteria": [] }] }),
            &work,
        ),
        "Edit" => seeded::<edit::Edit>(json!({ "edit_instructions": "" }), &work),
        "Pipeline" => pipeline::seeded(&work),
        _ => None,
    }?;
    Some(finished.stamp(job_id, secs))
}

// ---------------------------------------------------------------- deletes

/// The 422 errors of the optional `include_persisted` query (a boolean,
/// parsed as laxly as pydantic does).
fn include_persisted_errors(uri: &Uri) -> Vec<Value> {
    let pairs = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned();
    let Some((_, raw)) = pairs.filter(|(k, _)| k == "include_persisted").last() else {
        return Vec::new();
    };
    let ok = routes::parse_bool(&raw).is_some();
    if ok {
        Vec::new()
    } else {
        vec![verr(
            json!(["query", "include_persisted"]),
            "Input should be a valid boolean, unable to interpret input",
            "bool_parsing",
            Value::String(raw),
        )]
    }
}

/// `DELETE /job/{job_id}`: 202 `{"job_id"}`; the job is gone from `/job`,
/// `/jobs` and `jobid://` inputs. Unknown: 404.
async fn delete_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    job_id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    if let Some(resp) = auth_error(&state, &headers) {
        return resp;
    }
    let errors = include_persisted_errors(&uri);
    if !errors.is_empty() {
        return validation(errors);
    }
    match job_id {
        Ok(Path(id)) if state.delete_job(&id) => {
            (StatusCode::ACCEPTED, Json(json!({ "job_id": id }))).into_response()
        }
        _ => detail(StatusCode::NOT_FOUND, "Job not found"),
    }
}

/// `DELETE /upload/{file_id}`: `{"file_id"}`; later uses of the id are
/// 404s. The id may be sent with or without its `reducto://` prefix,
/// escaped or not.
async fn delete_upload(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    file_id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    if let Some(resp) = auth_error(&state, &headers) {
        return resp;
    }
    let Ok(Path(raw)) = file_id else {
        return detail(StatusCode::NOT_FOUND, "File not found");
    };
    // Some clients collapse `//` in paths.
    let bare = raw
        .strip_prefix("reducto://")
        .or_else(|| raw.strip_prefix("reducto:/"))
        .unwrap_or(&raw);
    let file_id = format!("reducto://{bare}");
    if state.delete_file(&file_id) {
        Json(json!({ "file_id": file_id })).into_response()
    } else {
        detail(StatusCode::NOT_FOUND, &format!("File not found: {file_id}"))
    }
}

// ---------------------------------------------------------------- webhooks

/// `POST /configure_webhook`: the URL of a (Svix) webhook portal, as a JSON
/// string. The mock's portal URL is not served.
async fn configure_webhook(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(resp) = auth_error(&state, &headers) {
        return resp;
    }
    Json(format!(
        "{}/webhook-portal/{}",
        state.base_url,
        uuid::Uuid::new_v4()
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_reads_record_every_error() {
        let mut body = Body::from_value(json!({
            "a": { "b": "x" },
            "n": 100,
            "c": "nope",
            "o": 3,
        }));
        assert!(!body.bool(&["a", "b"], false));
        assert_eq!(body.number(&["n"], 1.0, 72.0), None);
        assert_eq!(body.choice(&["c"], &["yes", "no"], "yes"), "yes");
        assert!(body.object(&["o"]).is_none());
        assert!(body.require(&["missing"]).is_none());
        let errors = body.finish().expect_err("five errors");
        let kinds: Vec<&str> = errors.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(
            kinds,
            [
                "bool_type",
                "less_than_equal",
                "enum",
                "model_attributes_type",
                "missing"
            ]
        );
        assert_eq!(errors[0]["loc"], json!(["body", "a", "b"]));
    }
}
