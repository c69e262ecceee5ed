//! Fault injection: make the mock misbehave on demand, reproducibly.
//!
//! A [`Faults`] value is a seed plus an ordered list of [`FaultRule`]s. For
//! every request to a known route the rules are checked in order; each rule
//! that matches the request (route and method) and whose [`Trigger`] fires
//! applies its [`FaultAction`]:
//!
//! - [`FaultAction::Latency`] and [`FaultAction::CursorLoop`] are *modifiers*:
//!   they apply and evaluation continues with the next rule;
//! - [`FaultAction::Status`], [`FaultAction::Respond`],
//!   [`FaultAction::RateLimit`] and [`FaultAction::DropConnection`] are
//!   *terminal*: the first one that fires
//!   replaces the normal response and later rules are not evaluated (so their
//!   "next N" counters are not consumed).
//!
//! Probabilities draw from one `StdRng` seeded with [`Faults::seed`], so the
//! same sequence of requests sees the same faults on every run. Every applied
//! action is recorded in [`RecordedRequest::faults`](crate::RecordedRequest::faults).
//!
//! ```
//! use std::time::Duration;
//! use reducto_mock::{FaultAction, FaultRule, Faults};
//!
//! // Fail the next 2 requests to /jobs with 503, then behave.
//! let faults = Faults::new(7).rule(FaultRule::new(FaultAction::Status(503)).route("/jobs").times(2));
//! // 30% of all requests get a 429 with `retry-after: 1`.
//! let flaky = Faults::new(42).rule(FaultRule::new(FaultAction::rate_limit_secs(1)).probability(0.3));
//! // Every GET /job/{job_id} is 200 ms slower.
//! let slow = Faults::new(0).rule(
//!     FaultRule::new(FaultAction::Latency(Duration::from_millis(200)))
//!         .route("/job/{job_id}")
//!         .method("GET"),
//! );
//! # let _ = (faults, flaky, slow);
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;

use crate::record::{lock, RecordHandle};
use crate::state::AppState;

/// What a fault does to a request.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Answer `429 Too Many Requests` with body `{"detail": ...}` and the
    /// given `retry-after` (seconds, or any text such as an HTTP date) and
    /// `retry-after-ms` headers; `None` omits a header.
    RateLimit {
        /// Value of the `retry-after` header.
        retry_after: Option<String>,
        /// Value of the `retry-after-ms` header.
        retry_after_ms: Option<String>,
    },
    /// Answer with this status (e.g. 500, 502, 503) and body
    /// `{"detail": "Mock fault: injected HTTP <code>"}`. A code outside
    /// 100..=999 becomes 500.
    Status(u16),
    /// Answer with exactly this status, these headers and this body
    /// (`content-type: application/json` if the body is valid JSON, else
    /// `text/plain`, unless `headers` sets one), e.g. a 409 with
    /// `x-should-retry: false`, or a 400 whose body is not JSON. Invalid
    /// header names or values are skipped.
    Respond {
        /// Status code (outside 100..=999 becomes 500).
        status: u16,
        /// Extra response headers.
        headers: Vec<(String, String)>,
        /// Response body, sent as-is.
        body: String,
    },
    /// Wait this long (on the tokio clock) before handling the request
    /// normally. Several latency rules add up.
    Latency(Duration),
    /// Close the TCP connection without sending any response; the client
    /// sees an incomplete message / connection reset.
    DropConnection,
    /// Only meaningful for `GET /jobs`: the response's `next_cursor` is one
    /// the client has already been given (the request's own cursor, or, on a
    /// first page, a cursor meaning "from the top" that every looped page
    /// repeats). Use it with [`Trigger::Always`] or `times(n)` with `n >= 2`
    /// so the repetition is visible to the client.
    CursorLoop,
}

impl FaultAction {
    /// A 429 with `retry-after: <secs>`.
    pub fn rate_limit_secs(secs: u64) -> Self {
        FaultAction::RateLimit {
            retry_after: Some(secs.to_string()),
            retry_after_ms: None,
        }
    }

    /// A 429 with `retry-after-ms: <ms>`.
    pub fn rate_limit_ms(ms: u64) -> Self {
        FaultAction::RateLimit {
            retry_after: None,
            retry_after_ms: Some(ms.to_string()),
        }
    }

    /// Terminal actions replace the response; the others modify it.
    fn is_terminal(&self) -> bool {
        matches!(
            self,
            FaultAction::RateLimit { .. }
                | FaultAction::Status(_)
                | FaultAction::Respond { .. }
                | FaultAction::DropConnection
        )
    }
}

/// When a rule fires.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// On every matching request.
    Always,
    /// On each matching request with this probability (0.0..=1.0), drawn
    /// from the seeded generator.
    Probability(f64),
    /// On the next N matching requests, then never again.
    Times(u32),
}

/// One fault rule: which requests it applies to, when, and what it does.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// Route filter; `None` matches every route. A pattern matches when it
    /// equals the raw request path (`"/jobs"`, `"/job/abc"`), or the route
    /// template (`"/job/{job_id}"`), or, ending in `*`, is a prefix of the
    /// raw path (`"/job/*"`).
    pub route: Option<String>,
    /// Method filter (case-insensitive); `None` matches every method.
    pub method: Option<String>,
    /// When the rule fires.
    pub trigger: Trigger,
    /// What it does.
    pub action: FaultAction,
}

impl FaultRule {
    /// A rule applying `action` to every request (narrow it with the
    /// builder methods).
    pub fn new(action: FaultAction) -> Self {
        FaultRule {
            route: None,
            method: None,
            trigger: Trigger::Always,
            action,
        }
    }

    /// Restrict to a route (see [`FaultRule::route`] field for patterns).
    pub fn route(mut self, pattern: impl Into<String>) -> Self {
        self.route = Some(pattern.into());
        self
    }

    /// Restrict to an HTTP method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Fire with probability `p` per matching request.
    pub fn probability(mut self, p: f64) -> Self {
        self.trigger = Trigger::Probability(p);
        self
    }

    /// Fire on the next `n` matching requests only.
    pub fn times(mut self, n: u32) -> Self {
        self.trigger = Trigger::Times(n);
        self
    }

    /// Fire on every matching request (the default).
    pub fn always(mut self) -> Self {
        self.trigger = Trigger::Always;
        self
    }

    fn matches(&self, method: &str, path: &str, template: Option<&str>) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let route_ok = match self.route.as_deref() {
            None => true,
            Some(p) => match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => p == path || Some(p) == template,
            },
        };
        method_ok && route_ok
    }
}

/// A fault configuration: a seed for reproducible randomness plus ordered
/// rules. `Faults::default()` injects nothing.
///
/// Set it with [`ServerBuilder::faults`](crate::ServerBuilder::faults) or at
/// runtime with [`Server::set_faults`](crate::Server::set_faults) (which
/// resets the generator and all "times" counters).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Seed of the `StdRng` used by [`Trigger::Probability`].
    pub seed: u64,
    /// Rules, checked in order.
    pub rules: Vec<FaultRule>,
}

impl Faults {
    /// No rules, with this seed.
    pub fn new(seed: u64) -> Self {
        Faults {
            seed,
            rules: Vec::new(),
        }
    }

    /// Append a rule.
    pub fn rule(mut self, rule: FaultRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Shorthand: `GET /jobs` always answers with a repeated cursor
    /// ([`FaultAction::CursorLoop`]).
    pub fn cursor_loop(self) -> Self {
        self.rule(
            FaultRule::new(FaultAction::CursorLoop)
                .route("/jobs")
                .method("GET"),
        )
    }
}

/// Live fault state: rules with their remaining counters and the generator.
pub(crate) struct FaultEngine {
    inner: Mutex<EngineState>,
}

struct EngineState {
    rules: Vec<FaultRule>,
    rng: StdRng,
}

impl FaultEngine {
    pub(crate) fn new(faults: Faults) -> Self {
        FaultEngine {
            inner: Mutex::new(EngineState::from(faults)),
        }
    }

    pub(crate) fn set(&self, faults: Faults) {
        *lock(&self.inner) = EngineState::from(faults);
    }

    /// Decide which actions apply to this request (modifiers, then at most
    /// one terminal action last).
    fn decide(&self, method: &str, path: &str, template: Option<&str>) -> Vec<FaultAction> {
        let mut guard = lock(&self.inner);
        let state = &mut *guard;
        let mut fired = Vec::new();
        for rule in state.rules.iter_mut() {
            if !rule.matches(method, path, template) {
                continue;
            }
            let fires = match &mut rule.trigger {
                Trigger::Always => true,
                Trigger::Probability(p) => state.rng.random::<f64>() < *p,
                Trigger::Times(n) => {
                    if *n > 0 {
                        *n -= 1;
                        true
                    } else {
                        false
                    }
                }
            };
            if fires {
                fired.push(rule.action.clone());
                if rule.action.is_terminal() {
                    break;
                }
            }
        }
        fired
    }
}

impl From<Faults> for EngineState {
    fn from(f: Faults) -> Self {
        EngineState {
            rules: f.rules,
            rng: StdRng::seed_from_u64(f.seed),
        }
    }
}

/// Marker put in a request's extensions when [`FaultAction::CursorLoop`]
/// applies; read by the `/jobs` handler.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CursorLoop;

/// Per-connection handle: notifying it makes the connection task drop the
/// connection without writing a response.
#[derive(Clone, Debug)]
pub(crate) struct ConnKill(pub(crate) Arc<Notify>);

/// Axum middleware (route layer) applying the configured faults.
pub(crate) async fn middleware(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let actions = state
        .faults
        .decide(req.method().as_str(), req.uri().path(), template.as_deref());
    if actions.is_empty() {
        return next.run(req).await;
    }
    let record = req.extensions().get::<RecordHandle>().cloned();
    for action in &actions {
        if let Some(r) = &record {
            r.add_fault(action.clone());
        }
        match action {
            FaultAction::Latency(d) => tokio::time::sleep(*d).await,
            FaultAction::CursorLoop => {
                req.extensions_mut().insert(CursorLoop);
            }
            FaultAction::Status(code) => {
                let status =
                    StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return crate::routes::detail(
                    status,
                    &format!("Mock fault: injected HTTP {}", status.as_u16()),
                );
            }
            FaultAction::Respond {
                status,
                headers,
                body,
            } => return custom_response(*status, headers, body),
            FaultAction::RateLimit {
                retry_after,
                retry_after_ms,
            } => {
                let mut resp = crate::routes::detail(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Rate limit exceeded (mock fault)",
                );
                let headers = resp.headers_mut();
                // Header values come from test code; invalid ones are skipped
                // rather than panicking.
                if let Some(v) = retry_after.as_deref().and_then(header_value) {
                    headers.insert("retry-after", v);
                }
                if let Some(v) = retry_after_ms.as_deref().and_then(header_value) {
                    headers.insert("retry-after-ms", v);
                }
                return resp.into_response();
            }
            FaultAction::DropConnection => {
                match req.extensions().get::<ConnKill>() {
                    Some(kill) => {
                        kill.0.notify_one();
                        // The connection task drops this future together
                        // with the connection; never answer.
                        std::future::pending::<()>().await;
                    }
                    // Not served through our accept loop (cannot happen in
                    // practice): the closest thing is a bare 502.
                    None => return StatusCode::BAD_GATEWAY.into_response(),
                }
            }
        }
    }
    next.run(req).await
}

fn header_value(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

fn custom_response(status: u16, headers: &[(String, String)], body: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if serde_json::from_str::<serde_json::Value>(body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut resp = (status, body.to_owned()).into_response();
    let map = resp.headers_mut();
    map.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in headers {
        if let (Ok(n), Some(v)) = (HeaderName::from_bytes(name.as_bytes()), header_value(value)) {
            map.insert(n, v);
        }
    }
    resp
}
