//! Webhook deliveries, like Reducto's: when an async job that asked for a
//! webhook ends, POST `{"status", "job_id", "metadata"}` (status
//! `Completed` or `Failed`; a cancelled job is `Failed`) to its URL (direct
//! mode) or to the configured Svix endpoint, signed (Svix mode); retry a
//! failed delivery up to 3 times with exponential backoff.
//!
//! One task per job with a webhook waits (tokio clock) for the job's end or
//! its cancellation; the tasks are aborted when the server shuts down.
//!
//! The Svix signature (Standard Webhooks: `v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">`) is computed here, independently of the SDK's
//! verifier, so the SDK's tests check one implementation against another.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::record::lock;
use crate::routes::verr;
use crate::state::AppState;

/// Retries after the first attempt, as Reducto documents.
pub const WEBHOOK_RETRIES: u32 = 3;

/// What a job asked for in `async.webhook`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WebhookRequest {
    pub(crate) mode: WebhookMode,
    pub(crate) metadata: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum WebhookMode {
    Direct(String),
    Svix,
}

/// Where a body asks for a webhook.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum WebhookAt {
    /// `async.webhook` (`AsyncConfig`: parse, extract, split, classify,
    /// pipeline), metadata in `async.metadata`; a webhook without `mode` is
    /// Svix (the first variant of the spec's union, which defaults it).
    Async,
    /// A top-level `webhook` (`WebhookConfigNew`: edit), metadata in it;
    /// without `mode` it is disabled, as the spec's default says.
    TopLevel,
}

/// The webhook a job's body asks for, validated like FastAPI would, or
/// `None` (absent, `null` or mode `disabled`). The one reader of webhook
/// requests, used for every operation's jobs.
pub(crate) fn requested(body: &Value, at: WebhookAt) -> Result<Option<WebhookRequest>, Vec<Value>> {
    let (webhook, metadata, prefix, default_mode) = match at {
        WebhookAt::Async => {
            let asynchronous = body.get("async");
            (
                asynchronous.and_then(|a| a.get("webhook")),
                asynchronous.and_then(|a| a.get("metadata")),
                vec!["body", "async", "webhook"],
                "svix",
            )
        }
        WebhookAt::TopLevel => (
            body.get("webhook"),
            None,
            vec!["body", "webhook"],
            "disabled",
        ),
    };
    let Some(webhook) = webhook else {
        return Ok(None);
    };
    let loc = |field: Option<&str>| {
        let mut loc: Vec<Value> = prefix.iter().map(|p| json!(p)).collect();
        loc.extend(field.map(|f| json!(f)));
        Value::Array(loc)
    };
    let obj = match webhook {
        Value::Null => return Ok(None),
        Value::Object(o) => o,
        other => {
            return Err(vec![verr(
                loc(None),
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
                other.clone(),
            )])
        }
    };
    // `AsyncConfig.metadata`, else the newer `WebhookConfigNew.metadata`.
    let metadata = metadata
        .filter(|m| !m.is_null())
        .or_else(|| obj.get("metadata"))
        .cloned()
        .unwrap_or(Value::Null);
    let mode = match obj.get("mode") {
        None => Value::String(default_mode.to_owned()),
        Some(m) => m.clone(),
    };
    let mode = match mode.as_str() {
        Some("svix") => WebhookMode::Svix,
        Some("disabled") => return Ok(None),
        Some("direct") => match obj.get("url") {
            Some(Value::String(url)) => WebhookMode::Direct(url.clone()),
            Some(other) => {
                return Err(vec![verr(
                    loc(Some("url")),
                    "Input should be a valid string",
                    "string_type",
                    other.clone(),
                )])
            }
            None => {
                return Err(vec![verr(
                    loc(Some("url")),
                    "Field required",
                    "missing",
                    webhook.clone(),
                )])
            }
        },
        _ => {
            return Err(vec![json!({
                "type": "literal_error",
                "loc": loc(Some("mode")),
                "msg": "Input should be 'svix', 'direct' or 'disabled'",
                "input": mode,
                "ctx": { "expected": "'svix', 'direct' or 'disabled'" },
            })])
        }
    };
    Ok(Some(WebhookRequest { mode, metadata }))
}

/// One job's webhook delivery as the server performed it; see
/// [`Server::webhook_deliveries`](crate::Server::webhook_deliveries).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDelivery {
    /// The job whose end is notified.
    pub job_id: String,
    /// `"direct"` or `"svix"`.
    pub mode: String,
    /// Where it is sent (`None` for Svix mode without a configured
    /// endpoint).
    pub url: Option<String>,
    /// The JSON body, once the job has ended (`null` before).
    pub body: Value,
    /// The `svix-id` of a Svix delivery (the same for every attempt).
    pub message_id: Option<String>,
    /// Attempts so far, in order.
    pub attempts: Vec<DeliveryAttempt>,
    /// Where the delivery stands.
    pub outcome: DeliveryOutcome,
}

/// One POST of a [`WebhookDelivery`].
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryAttempt {
    /// When it was sent, counted from the job's end (tokio clock): retries
    /// show the backoff.
    pub after: Duration,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// Why no status (connection refused, invalid URL, ...).
    pub error: Option<String>,
}

/// Where a [`WebhookDelivery`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The job has not ended yet, or an attempt or retry is under way.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Every attempt (1 + [`WEBHOOK_RETRIES`]) failed.
    GaveUp,
    /// Svix mode, but the server has no Svix endpoint configured (see
    /// [`ServerBuilder::svix_endpoint`](crate::ServerBuilder::svix_endpoint)).
    NoEndpoint,
    /// The job was deleted (`DELETE /job/{id}`) before it ended: nothing
    /// was sent.
    JobDeleted,
}

/// The Svix endpoint: URL and decoded signing key.
#[derive(Clone, Debug)]
pub(crate) struct SvixEndpoint {
    pub(crate) url: String,
    key: Vec<u8>,
}

impl SvixEndpoint {
    /// `secret` is `whsec_<base64>` (prefix optional).
    pub(crate) fn new(url: String, secret: &str) -> io::Result<SvixEndpoint> {
        let encoded = secret.trim();
        let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
        match base64::engine::general_purpose::STANDARD.decode(encoded) {
            Ok(key) if !key.is_empty() => Ok(SvixEndpoint { url, key }),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the Svix secret must be whsec_<base64 of a non-empty key>",
            )),
        }
    }

    /// The `svix-signature` value for one attempt.
    fn signature(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let mut signed = Vec::with_capacity(id.len() + body.len() + 24);
        signed.extend_from_slice(id.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(timestamp.to_string().as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(body);
        let mac = hmac_sha256::HMAC::mac(&signed, &self.key);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac)
        )
    }
}

/// Delivery machinery shared by the handlers.
pub(crate) struct Webhooks {
    client: Client<HttpConnector, Full<Bytes>>,
    backoff: Duration,
    svix: Option<SvixEndpoint>,
    tasks: Mutex<JoinSet<()>>,
    /// The most recent deliveries, oldest first (at most `keep`).
    deliveries: Mutex<VecDeque<Arc<Mutex<WebhookDelivery>>>>,
    /// How many deliveries are kept for [`Webhooks::deliveries`]; `None`:
    /// all (the server's record limit).
    keep: Option<usize>,
    /// Wakes a job's task when the job is cancelled.
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Deliveries not finished yet.
    pending: watch::Sender<usize>,
}

/// Decrements the pending count when a delivery task ends (or is aborted).
struct PendingGuard(watch::Sender<usize>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Webhooks {
    pub(crate) fn new(backoff: Duration, svix: Option<SvixEndpoint>, keep: Option<usize>) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        Webhooks {
            // No idle connections kept: no pool timer to be auto-advanced
            // under a paused clock, and receivers see one request per
            // connection, like deliveries from different machines.
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build(http),
            backoff,
            svix,
            tasks: Mutex::new(JoinSet::new()),
            deliveries: Mutex::new(VecDeque::new()),
            keep,
            wakers: Mutex::new(HashMap::new()),
            pending: watch::channel(0).0,
        }
    }

    /// Start the delivery task of a new job.
    pub(crate) fn spawn(&self, state: &Arc<AppState>, job_id: String, request: WebhookRequest) {
        let (mode, url) = match &request.mode {
            WebhookMode::Direct(url) => ("direct", Some(url.clone())),
            WebhookMode::Svix => ("svix", self.svix.as_ref().map(|s| s.url.clone())),
        };
        let delivery = Arc::new(Mutex::new(WebhookDelivery {
            job_id: job_id.clone(),
            mode: mode.to_owned(),
            url,
            body: Value::Null,
            message_id: None,
            attempts: Vec::new(),
            outcome: DeliveryOutcome::Pending,
        }));
        {
            // The record of old deliveries is dropped; a pending one keeps
            // running (its task holds it).
            let mut deliveries = lock(&self.deliveries);
            deliveries.push_back(delivery.clone());
            while deliveries.len() > self.keep.unwrap_or(usize::MAX) {
                deliveries.pop_front();
            }
        }
        let waker = Arc::new(Notify::new());
        lock(&self.wakers).insert(job_id.clone(), waker.clone());
        self.pending.send_modify(|n| *n += 1);
        let guard = PendingGuard(self.pending.clone());
        let state = state.clone();
        let mut tasks = lock(&self.tasks);
        // Reap finished tasks so the set stays small.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let _guard = guard;
            deliver(state, job_id, request, delivery, waker).await;
        });
    }

    /// A job changed before its scheduled end (cancelled): wake its task.
    pub(crate) fn job_changed(&self, job_id: &str) {
        if let Some(waker) = lock(&self.wakers).get(job_id) {
            waker.notify_one();
        }
    }

    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.deliveries)
            .iter()
            .map(|d| lock(d).clone())
            .collect()
    }

    /// Resolves once no delivery is pending.
    pub(crate) async fn idle(&self) {
        let mut rx = self.pending.subscribe();
        // The sender lives as long as `self`: this cannot fail.
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Stop every delivery (server shutdown).
    pub(crate) fn abort_all(&self) {
        lock(&self.tasks).abort_all();
    }
}

/// Wait for the job's end, then POST until a 2xx or the retries run out.
async fn deliver(
    state: Arc<AppState>,
    job_id: String,
    request: WebhookRequest,
    delivery: Arc<Mutex<WebhookDelivery>>,
    waker: Arc<Notify>,
) {
    let status = loop {
        match state.job_end(&job_id) {
            // Deleted before it ended: nothing to notify.
            None => {
                lock(&state.webhooks.wakers).remove(&job_id);
                lock(&delivery).outcome = DeliveryOutcome::JobDeleted;
                return;
            }
            // Reducto's webhooks say `Completed` or `Failed` only: a
            // cancelled job is `Failed`, as `GET /job` reports it.
            Some((status, None)) if status == "Completed" => break "Completed",
            Some((_, None)) => break "Failed",
            Some((_, Some(ends_at))) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(ends_at) => {}
                    _ = waker.notified() => {}
                }
            }
        }
    };
    lock(&state.webhooks.wakers).remove(&job_id);
    let ended = Instant::now();
    let body = json!({ "status": status, "job_id": job_id, "metadata": request.metadata });
    let bytes = Bytes::from(body.to_string());
    let webhooks = &state.webhooks;
    let (url, svix) = match &request.mode {
        WebhookMode::Direct(url) => (url.clone(), None),
        WebhookMode::Svix => match &webhooks.svix {
            Some(endpoint) => (endpoint.url.clone(), Some(endpoint)),
            None => {
                let mut d = lock(&delivery);
                d.body = body;
                d.outcome = DeliveryOutcome::NoEndpoint;
                return;
            }
        },
    };
    let message_id = svix.map(|_| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    {
        let mut d = lock(&delivery);
        d.body = body;
        d.message_id = message_id.clone();
    }
    for attempt in 0..=WEBHOOK_RETRIES {
        if attempt > 0 {
            tokio::time::sleep(webhooks.backoff * 2u32.pow(attempt - 1)).await;
        }
        let after = ended.elapsed();
        let result = post(webhooks, &url, &bytes, svix.zip(message_id.as_deref())).await;
        let ok = matches!(result, Ok(s) if (200..300).contains(&s));
        let mut d = lock(&delivery);
        d.attempts.push(DeliveryAttempt {
            after,
            status: result.as_ref().ok().copied(),
            error: result.err(),
        });
        if ok {
            d.outcome = DeliveryOutcome::Delivered;
            return;
        }
    }
    lock(&delivery).outcome = DeliveryOutcome::GaveUp;
}

/// One POST; the receiver's status or why there was none.
async fn post(
    webhooks: &Webhooks,
    url: &str,
    body: &Bytes,
    svix: Option<(&SvixEndpoint, &str)>,
) -> Result<u16, String> {
    let mut request = axum::http::Request::post(url).header("content-type", "application/json");
    if let Some((endpoint, id)) = svix {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        request = request
            .header("svix-id", id)
            .header("svix-timestamp", timestamp.to_string())
            .header("svix-signature", endpoint.signature(id, timestamp, body));
    }
    let request = request
        .body(Full::new(body.clone()))
        .map_err(|e| format!("invalid request: {e}"))?;
    let response = webhooks
        .client
        .request(request)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    // Read the answer so the connection ends cleanly; its content is ignored.
    let _ = response.into_body().collect().await;
    Ok(status)
}
