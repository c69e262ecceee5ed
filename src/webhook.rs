//! Webhooks instead of polling: ask for one when starting a job, then turn
//! each delivery into a typed [`WebhookEvent`], verifying its signature when
//! it came through Svix.
//!
//! Reducto notifies a job's end in one of two modes (chosen per job with
//! [`WebhookConfig`]):
//!
//! - **direct**: Reducto POSTs `{"status", "job_id", "metadata"}` to your URL,
//!   unsigned, retrying a failed delivery up to 3 times with exponential
//!   backoff. Parse it with [`WebhookEvent::from_body`].
//! - **Svix**: the event goes through Svix, which delivers it to the
//!   endpoints configured in Reducto's portal and signs it with the
//!   [Standard Webhooks](https://www.standardwebhooks.com) scheme. Verify and
//!   parse it with a [`Verifier`].
//!
//! Everything here is framework-agnostic: give the request's headers (an
//! [`http::HeaderMap`] or any name/value list, see [`HeaderLookup`]) and its
//! raw body bytes, exactly as received (re-serialized JSON would not verify).
//!
//! ```
//! use reducto::webhook::{Verifier, WebhookError};
//!
//! # fn handle(headers: &http::HeaderMap, body: &[u8]) -> Result<(), WebhookError> {
//! let verifier = Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let event = verifier.verify(headers, body)?; // from your web framework
//! println!("job {} is {}", event.job_id, event.status);
//! # Ok(()) }
//! ```
//!
//! A signature proves who sent a delivery and, with the timestamp tolerance,
//! bounds how late it can be replayed; to reject a replay *within* the
//! tolerance, remember the `svix-id` header of the deliveries you handled.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::JobStatus;

/// How Reducto notifies a job's end, for `run_job`'s `.webhook(...)`.
///
/// ```
/// use reducto::webhook::WebhookConfig;
/// use serde_json::json;
///
/// // POST to my URL, unsigned, with my own metadata echoed back.
/// let direct = WebhookConfig::direct("https://example.com/reducto")
///     .metadata(json!({"document": "contract-17.pdf"}));
/// // Through Svix (signed), to the endpoints subscribed to these channels.
/// let svix = WebhookConfig::svix_channels(["invoices"]);
/// # let _ = (direct, svix);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// Where and how the notification goes.
    pub mode: WebhookMode,
    /// Any JSON, sent back as the event's `metadata` (e.g. your own id for
    /// the document).
    pub metadata: Option<Value>,
}

/// The delivery mode of a [`WebhookConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookMode {
    /// POST the event to this URL, unsigned.
    Direct {
        /// An `http://` or `https://` URL.
        url: String,
    },
    /// Send the event through Svix, signed, to the endpoints configured in
    /// Reducto's webhook portal.
    Svix {
        /// Only the endpoints subscribed to these channels; empty means all.
        channels: Vec<String>,
    },
}

impl WebhookConfig {
    /// Direct mode: Reducto POSTs the event to `url`.
    pub fn direct(url: impl Into<String>) -> Self {
        WebhookConfig {
            mode: WebhookMode::Direct { url: url.into() },
            metadata: None,
        }
    }

    /// Svix mode, to every endpoint configured in Reducto's portal.
    pub fn svix() -> Self {
        WebhookConfig::svix_channels(Vec::<String>::new())
    }

    /// Svix mode, only to the endpoints subscribed to these channels.
    pub fn svix_channels<I, S>(channels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        WebhookConfig {
            mode: WebhookMode::Svix {
                channels: channels.into_iter().map(Into::into).collect(),
            },
            metadata: None,
        }
    }

    /// JSON metadata included in the event (replaces any earlier value).
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Refuses what the API would accept but cannot honour.
    pub(crate) fn validate(&self) -> Result<()> {
        match &self.mode {
            WebhookMode::Direct { url } => {
                let url = url.trim();
                let scheme_ok = url
                    .split_once("://")
                    .is_some_and(|(s, rest)| matches!(s, "http" | "https") && !rest.is_empty());
                if !scheme_ok {
                    return Err(Error::invalid(
                        "webhook.url",
                        format!("a direct webhook needs an http(s) URL, got {url:?}"),
                    ));
                }
            }
            WebhookMode::Svix { channels } => {
                if channels.iter().any(|c| c.trim().is_empty()) {
                    return Err(Error::invalid(
                        "webhook.channels",
                        "a channel name is empty",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The webhook object of an async config (`async.webhook`). The mode is
    /// sent although the spec defaults it: the webhook is an untagged
    /// union, so it names its variant. Built as JSON, not from generated
    /// structs, so a field the spec adds later needs no edit here.
    pub(crate) fn webhook_json(&self) -> Value {
        match &self.mode {
            WebhookMode::Direct { url } => json!({ "mode": "direct", "url": url }),
            // No channels: every endpoint (the field is left out, as the
            // spec's default).
            WebhookMode::Svix { channels } if channels.is_empty() => json!({ "mode": "svix" }),
            WebhookMode::Svix { channels } => json!({ "mode": "svix", "channels": channels }),
        }
    }
}

/// A job's end, as Reducto delivers it: `{"status", "job_id", "metadata"}`.
///
/// Unknown fields are kept in [`extra`](Self::extra) and an unknown status
/// in [`JobStatus::Other`], so a newer API never makes a delivery
/// unreadable.
///
/// ```
/// use reducto::{webhook::WebhookEvent, JobStatus};
///
/// let body = br#"{"status": "Completed", "job_id": "3f2c", "metadata": {"doc": 7}, "region": "us"}"#;
/// let event = WebhookEvent::from_body(body)?;
/// assert_eq!(event.status, JobStatus::Completed);
/// assert_eq!(event.metadata, Some(serde_json::json!({"doc": 7})));
/// assert_eq!(event.extra["region"], "us");
/// # Ok::<(), reducto::webhook::WebhookError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The job that ended.
    pub job_id: String,
    /// How it ended: Reducto documents `Completed` and `Failed` (a
    /// cancelled job is `Failed`, its reason `"Job cancelled by user"`);
    /// fetch the job for its result or reason.
    pub status: JobStatus,
    /// The metadata given with the webhook, if any (`null` reads as `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Fields this version of the crate does not know, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WebhookEvent {
    /// Parses a delivery's body without verifying it (direct mode is
    /// unsigned; use a [`Verifier`] for Svix deliveries).
    pub fn from_body(body: &[u8]) -> std::result::Result<WebhookEvent, WebhookError> {
        serde_json::from_slice(body).map_err(WebhookError::InvalidJson)
    }
}

/// Why a delivery was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebhookError {
    /// The secret is not `whsec_<base64>` (or plain base64) of a non-empty
    /// key.
    InvalidSecret(String),
    /// A required header is absent, under both its names: the `svix-` name
    /// given here (e.g. `"svix-signature"`) and its unbranded `webhook-`
    /// twin.
    MissingHeader(&'static str),
    /// A header is present but unreadable: not UTF-8, or a timestamp that is
    /// not whole seconds. The name is the one it came under (`svix-` or
    /// `webhook-`).
    InvalidHeader(&'static str),
    /// No `v1` signature in `svix-signature` matches the body with this
    /// secret: a tampered body or headers, or another secret.
    InvalidSignature,
    /// The timestamp is older than the tolerance (a late replay).
    TimestampTooOld {
        /// How old it was.
        age: Duration,
    },
    /// The timestamp is further in the future than the tolerance.
    TimestampInFuture {
        /// How far ahead it was.
        ahead: Duration,
    },
    /// The body is not a JSON event (after a valid signature, if any).
    InvalidJson(serde_json::Error),
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::InvalidSecret(why) => write!(f, "invalid webhook secret: {why}"),
            WebhookError::MissingHeader(name) => match name.strip_prefix("svix-") {
                Some(rest) => write!(f, "missing webhook header {name} (or webhook-{rest})"),
                None => write!(f, "missing webhook header {name}"),
            },
            WebhookError::InvalidHeader(name) => write!(f, "invalid webhook header {name}"),
            WebhookError::InvalidSignature => f.write_str("no valid webhook signature"),
            WebhookError::TimestampTooOld { age } => {
                write!(f, "webhook timestamp too old ({} s)", age.as_secs())
            }
            WebhookError::TimestampInFuture { ahead } => {
                write!(
                    f,
                    "webhook timestamp in the future ({} s ahead)",
                    ahead.as_secs()
                )
            }
            WebhookError::InvalidJson(e) => write!(f, "webhook body is not a job event: {e}"),
        }
    }
}

impl std::error::Error for WebhookError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WebhookError::InvalidJson(e) => Some(e),
            _ => None,
        }
    }
}

/// Request headers, looked up by lower-case name, case-insensitively.
///
/// Implemented for [`http::HeaderMap`] (axum, hyper, reqwest, actix's
/// `http` types...), for lists of name/value pairs and for maps from names
/// to values, so any framework's headers can be given.
pub trait HeaderLookup {
    /// The first value of header `name`; `Some(Err(()))` if it is not UTF-8.
    fn header(&self, name: &str) -> Option<std::result::Result<&str, ()>>;
}

impl HeaderLookup for http::HeaderMap {
    fn header(&self, name: &str) -> Option<std::result::Result<&str, ()>> {
        self.get(name).map(|v| v.to_str().map_err(|_| ()))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn header(&self, name: &str) -> Option<std::result::Result<&str, ()>> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| Ok(v.as_ref()))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<std::result::Result<&str, ()>> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, S> HeaderLookup for std::collections::HashMap<K, V, S> {
    fn header(&self, name: &str) -> Option<std::result::Result<&str, ()>> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| Ok(v.as_ref()))
    }
}

impl<T: HeaderLookup + ?Sized> HeaderLookup for &T {
    fn header(&self, name: &str) -> Option<std::result::Result<&str, ()>> {
        (**self).header(name)
    }
}

/// The default [`Verifier::tolerance`]: 5 minutes, as Svix and the
/// Standard Webhooks libraries use.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Verifies Svix-signed (Standard Webhooks) deliveries and parses them.
///
/// A delivery is accepted when its `svix-timestamp` is within the
/// tolerance of now and one of the space-separated `v1,<base64>` entries of
/// `svix-signature` (several during a key rotation; other versions are
/// ignored) is the HMAC-SHA256, under the secret, of
/// `"<svix-id>.<svix-timestamp>.<body>"`, compared in constant time. The
/// unbranded `webhook-id` / `webhook-timestamp` / `webhook-signature`
/// headers are read when the `svix-` ones are absent.
#[derive(Clone)]
pub struct Verifier {
    key: Vec<u8>,
    tolerance: Duration,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("Verifier")
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for the endpoint secret shown in the webhook portal,
    /// `whsec_<base64>` (the prefix is optional).
    pub fn new(secret: &str) -> std::result::Result<Verifier, WebhookError> {
        let encoded = secret.trim();
        let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| WebhookError::InvalidSecret(format!("not base64 after whsec_: {e}")))?;
        if key.is_empty() {
            return Err(WebhookError::InvalidSecret("the key is empty".into()));
        }
        Ok(Verifier {
            key,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// How far a timestamp may be from now, either way (default
    /// [`DEFAULT_TOLERANCE`]).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies a delivery received now and parses its event.
    pub fn verify(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> std::result::Result<WebhookEvent, WebhookError> {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// [`verify`](Self::verify) as if received at `now` (for replaying a
    /// stored delivery, or tests).
    pub fn verify_at(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
        now: SystemTime,
    ) -> std::result::Result<WebhookEvent, WebhookError> {
        self.check_signature(headers, body, now)?;
        WebhookEvent::from_body(body)
    }

    /// Checks the headers and signature only (for a body that is not a job
    /// event, e.g. another Svix event type).
    pub fn check_signature(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
        now: SystemTime,
    ) -> std::result::Result<(), WebhookError> {
        let (id, _) = required(headers, "svix-id", "webhook-id")?;
        let (timestamp, timestamp_header) =
            required(headers, "svix-timestamp", "webhook-timestamp")?;
        let (signatures, _) = required(headers, "svix-signature", "webhook-signature")?;
        let seconds: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| WebhookError::InvalidHeader(timestamp_header))?;
        self.check_time(seconds, now)?;

        let mut mac = hmac_sha256::HMAC::new(&self.key);
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected = mac.finalize();

        let engine = base64::engine::general_purpose::STANDARD;
        // Every candidate is compared (no early exit on a match), each in
        // constant time.
        let mut valid = subtle::Choice::from(0);
        for entry in signatures.split(' ') {
            let Some(("v1", encoded)) = entry.split_once(',') else {
                continue; // another scheme version, or noise
            };
            if let Ok(candidate) = engine.decode(encoded) {
                if candidate.len() == expected.len() {
                    valid |= candidate.as_slice().ct_eq(&expected);
                }
            }
        }
        if bool::from(valid) {
            Ok(())
        } else {
            Err(WebhookError::InvalidSignature)
        }
    }

    fn check_time(&self, seconds: i64, now: SystemTime) -> std::result::Result<(), WebhookError> {
        let now = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => i128::from(d.as_secs()),
            Err(e) => -i128::from(e.duration().as_secs()),
        };
        let diff = now - i128::from(seconds);
        let tolerance = i128::from(self.tolerance.as_secs());
        let secs =
            |d: i128| Duration::from_secs(u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX));
        if diff > tolerance {
            Err(WebhookError::TimestampTooOld { age: secs(diff) })
        } else if -diff > tolerance {
            Err(WebhookError::TimestampInFuture { ahead: secs(diff) })
        } else {
            Ok(())
        }
    }
}

/// The `svix-` header, else its unbranded `webhook-` twin, with the name
/// of the one found (an invalid value names the header it came in).
fn required<'h>(
    headers: &'h (impl HeaderLookup + ?Sized),
    name: &'static str,
    unbranded: &'static str,
) -> std::result::Result<(&'h str, &'static str), WebhookError> {
    let found = match headers.header(name) {
        Some(value) => Some((value, name)),
        None => headers.header(unbranded).map(|value| (value, unbranded)),
    };
    match found {
        Some((Ok(value), header)) => Ok((value, header)),
        Some((Err(()), header)) => Err(WebhookError::InvalidHeader(header)),
        None => Err(WebhookError::MissingHeader(name)),
    }
}
