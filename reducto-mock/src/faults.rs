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
//! Before the rules, [`Limit`]s model Reducto's ingress limits: "more than N
//! requests in flight" and "more than R requests per second" answer `429
//! {"detail": ...}` with `retry-after` and `retry-after-ms`, whatever the
//! rules say; [`Server::stats`](crate::Server::stats) counts those 429s.
//!
//! Probabilities draw from one `StdRng` seeded with [`Faults::seed`], so the
//! same sequence of requests sees the same faults on every run. Every applied
//! action is recorded in [`RecordedRequest::faults`](crate::RecordedRequest::faults).
//!
//! ```
//! use std::time::Duration;
//! use reducto_mock::{FaultAction, FaultRule, Faults, Limit};
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
//! // Like Reducto: at most 200 concurrent POST /parse, 500 requests/s overall.
//! let limited = Faults::new(0)
//!     .limit(Limit::in_flight(200).route("/parse"))
//!     .limit(Limit::per_second(500));
//! # let _ = (faults, flaky, slow, limited);
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;
use tokio::time::Instant;

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

    fn matches(&self, req: &RequestKey<'_>) -> bool {
        req.matches(self.route.as_deref(), self.method.as_deref())
    }
}

/// What rules and limits match against: a request's method, raw path and
/// route template.
struct RequestKey<'a> {
    method: &'a str,
    path: &'a str,
    template: Option<&'a str>,
}

impl RequestKey<'_> {
    /// The route/method filter shared by [`FaultRule`] and [`Limit`].
    fn matches(&self, route: Option<&str>, method: Option<&str>) -> bool {
        let method_ok = method.is_none_or(|m| m.eq_ignore_ascii_case(self.method));
        let route_ok = match route {
            None => true,
            Some(p) => match p.strip_suffix('*') {
                Some(prefix) => self.path.starts_with(prefix),
                None => p == self.path || Some(p) == self.template,
            },
        };
        method_ok && route_ok
    }
}

/// How a [`Limit`] counts requests.
#[derive(Clone, Debug, PartialEq)]
pub enum LimitKind {
    /// At most `max` matching requests in flight (admitted and not yet
    /// answered, latency faults included); one more gets a 429 whose
    /// `retry-after` is `retry_after`.
    InFlight {
        /// Requests allowed at once.
        max: usize,
        /// Advertised wait (whole seconds, rounded up, in `retry-after`;
        /// milliseconds in `retry-after-ms`).
        retry_after: Duration,
    },
    /// At most `max` matching requests admitted per second (tokio clock);
    /// the 429's retry headers say when a request would next be admitted.
    /// Refused requests do not count.
    Rate {
        /// Requests admitted per window.
        max: u32,
        /// Sliding or fixed window.
        window: Window,
    },
}

/// The 1 s window of a [`LimitKind::Rate`] limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Window {
    /// Any 1 s interval admits at most `max` requests.
    #[default]
    Sliding,
    /// Consecutive 1 s windows counted from the moment the limit was set
    /// (server start or [`Server::set_faults`](crate::Server::set_faults));
    /// a burst may straddle a boundary.
    Fixed,
}

/// An ingress limit like Reducto's (429 above a request rate or above a
/// number of concurrent requests), optionally for some routes only.
///
/// Limits are checked before the fault rules, in order, and only for known
/// routes; a request refused by one limit is not counted by the others. A
/// refusal is `429 {"detail": "Rate limit exceeded: ..."}` with
/// `retry-after` (seconds) and `retry-after-ms`, recorded in
/// [`RecordedRequest::faults`](crate::RecordedRequest::faults) as a
/// [`FaultAction::RateLimit`] and counted in
/// [`Server::stats`](crate::Server::stats).
///
/// ```
/// use reducto_mock::{Faults, Limit};
/// let faults = Faults::new(0)
///     .limit(Limit::in_flight(200).route("/parse").method("POST"))
///     .limit(Limit::per_second(500).fixed_window());
/// # let _ = faults;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// Route filter, with the patterns of [`FaultRule::route`](FaultRule#structfield.route);
    /// `None` counts every route together.
    pub route: Option<String>,
    /// Method filter (case-insensitive); `None` matches every method.
    pub method: Option<String>,
    /// What is counted and the threshold.
    pub kind: LimitKind,
}

impl Limit {
    /// At most `max` requests in flight; refusals advertise a 1 s wait
    /// (change it with [`Limit::retry_after`]).
    pub fn in_flight(max: usize) -> Self {
        Limit {
            route: None,
            method: None,
            kind: LimitKind::InFlight {
                max,
                retry_after: Duration::from_secs(1),
            },
        }
    }

    /// At most `max` requests per second, sliding window.
    pub fn per_second(max: u32) -> Self {
        Limit {
            route: None,
            method: None,
            kind: LimitKind::Rate {
                max,
                window: Window::Sliding,
            },
        }
    }

    /// Count a rate limit in fixed 1 s windows instead of a sliding one (no
    /// effect on an in-flight limit).
    pub fn fixed_window(mut self) -> Self {
        if let LimitKind::Rate { window, .. } = &mut self.kind {
            *window = Window::Fixed;
        }
        self
    }

    /// The wait an in-flight limit advertises (no effect on a rate limit,
    /// whose wait is computed from its window).
    pub fn retry_after(mut self, d: Duration) -> Self {
        if let LimitKind::InFlight { retry_after, .. } = &mut self.kind {
            *retry_after = d;
        }
        self
    }

    /// Only count requests to this route (see [`FaultRule::route`](FaultRule#structfield.route)).
    pub fn route(mut self, pattern: impl Into<String>) -> Self {
        self.route = Some(pattern.into());
        self
    }

    /// Only count requests with this HTTP method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }
}

/// Counters of the requests the server has seen on known routes; see
/// [`Server::stats`](crate::Server::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Requests to known routes received (answered or not yet).
    pub requests: u64,
    /// Requests answered 429 by an in-flight [`Limit`].
    pub limited_in_flight: u64,
    /// Requests answered 429 by a rate [`Limit`].
    pub limited_rate: u64,
    /// Requests in flight right now.
    pub in_flight: usize,
    /// The most requests in flight at once since start (or the last
    /// [`Server::reset_stats`](crate::Server::reset_stats)).
    pub peak_in_flight: usize,
}

impl ServerStats {
    /// Requests answered 429 by any [`Limit`] (fault rules not included).
    pub fn limited(&self) -> u64 {
        self.limited_in_flight + self.limited_rate
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
    /// Ingress limits, checked before the rules.
    pub limits: Vec<Limit>,
}

impl Faults {
    /// No rules, with this seed.
    pub fn new(seed: u64) -> Self {
        Faults {
            seed,
            rules: Vec::new(),
            limits: Vec::new(),
        }
    }

    /// Append an ingress limit.
    pub fn limit(mut self, limit: Limit) -> Self {
        self.limits.push(limit);
        self
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

/// Live fault state: rules with their remaining counters and the generator,
/// limits with their counters, and the server-wide statistics.
pub(crate) struct FaultEngine {
    inner: Mutex<EngineState>,
    stats: Arc<Counters>,
}

struct EngineState {
    rules: Vec<FaultRule>,
    limits: Vec<LimitState>,
    rng: StdRng,
}

/// A limit and what it has counted.
struct LimitState {
    spec: Limit,
    /// Admitted requests not yet answered (shared with their guards, so a
    /// `set_faults` while requests are in flight does not corrupt the new
    /// limits' counts).
    in_flight: Arc<AtomicUsize>,
    /// Admission times within the last window (sliding window).
    log: VecDeque<Instant>,
    /// Index of the current fixed window and its admissions.
    fixed: (u64, u32),
    /// Origin of the fixed windows.
    origin: Instant,
}

/// Server-wide counters behind [`ServerStats`].
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    limited_in_flight: AtomicU64,
    limited_rate: AtomicU64,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

/// Held while an admitted request is being handled; releases its in-flight
/// slots when dropped (also when the connection is dropped mid-request).
pub(crate) struct Admission {
    slots: Vec<Arc<AtomicUsize>>,
    stats: Arc<Counters>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        for slot in &self.slots {
            slot.fetch_sub(1, Ordering::AcqRel);
        }
        self.stats.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The decision for one request.
enum Verdict {
    /// Refused by a limit: the advertised wait and whether it was a rate
    /// limit.
    Limited { wait: Duration, rate: bool },
    /// Admitted: keep the guard until answered; apply these actions.
    Admitted(Admission, Vec<FaultAction>),
}

const WINDOW: Duration = Duration::from_secs(1);

impl LimitState {
    fn new(spec: Limit, origin: Instant) -> Self {
        LimitState {
            spec,
            in_flight: Arc::new(AtomicUsize::new(0)),
            log: VecDeque::new(),
            fixed: (0, 0),
            origin,
        }
    }

    /// `Some(wait)` if this request must be refused now.
    fn refuses(&mut self, now: Instant) -> Option<Duration> {
        match self.spec.kind {
            LimitKind::InFlight { max, retry_after } => {
                (self.in_flight.load(Ordering::Acquire) >= max).then_some(retry_after)
            }
            LimitKind::Rate {
                max,
                window: Window::Sliding,
            } => {
                while self
                    .log
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
                {
                    self.log.pop_front();
                }
                if self.log.len() < max as usize {
                    return None;
                }
                // Admitted again when the oldest admission leaves the window
                // (max 0: never; advertise a whole window).
                let oldest = self.log.front().copied().unwrap_or(now);
                Some(
                    (oldest + WINDOW)
                        .saturating_duration_since(now)
                        .max(Duration::from_millis(1)),
                )
            }
            LimitKind::Rate {
                max,
                window: Window::Fixed,
            } => {
                let elapsed = now.saturating_duration_since(self.origin);
                let index = (elapsed.as_nanos() / WINDOW.as_nanos()) as u64;
                if self.fixed.0 != index {
                    self.fixed = (index, 0);
                }
                if self.fixed.1 < max {
                    return None;
                }
                let next = self.origin + WINDOW * u32::try_from(index + 1).unwrap_or(u32::MAX);
                Some(
                    next.saturating_duration_since(now)
                        .max(Duration::from_millis(1)),
                )
            }
        }
    }

    /// Count an admitted request.
    fn admit(&mut self, now: Instant, slots: &mut Vec<Arc<AtomicUsize>>) {
        match self.spec.kind {
            LimitKind::InFlight { .. } => {
                self.in_flight.fetch_add(1, Ordering::AcqRel);
                slots.push(self.in_flight.clone());
            }
            LimitKind::Rate {
                window: Window::Sliding,
                ..
            } => self.log.push_back(now),
            LimitKind::Rate {
                window: Window::Fixed,
                ..
            } => self.fixed.1 += 1,
        }
    }
}

impl FaultEngine {
    pub(crate) fn new(faults: Faults) -> Self {
        FaultEngine {
            inner: Mutex::new(EngineState::from(faults)),
            stats: Arc::default(),
        }
    }

    pub(crate) fn set(&self, faults: Faults) {
        *lock(&self.inner) = EngineState::from(faults);
    }

    pub(crate) fn stats(&self) -> ServerStats {
        let c = &self.stats;
        ServerStats {
            requests: c.requests.load(Ordering::Acquire),
            limited_in_flight: c.limited_in_flight.load(Ordering::Acquire),
            limited_rate: c.limited_rate.load(Ordering::Acquire),
            in_flight: c.in_flight.load(Ordering::Acquire),
            peak_in_flight: c.peak_in_flight.load(Ordering::Acquire),
        }
    }

    /// Zero the counters (the peak restarts from the requests in flight).
    pub(crate) fn reset_stats(&self) {
        let c = &self.stats;
        c.requests.store(0, Ordering::Release);
        c.limited_in_flight.store(0, Ordering::Release);
        c.limited_rate.store(0, Ordering::Release);
        c.peak_in_flight
            .store(c.in_flight.load(Ordering::Acquire), Ordering::Release);
    }

    /// Check the limits, then decide which actions apply to this request
    /// (modifiers, then at most one terminal action last).
    fn decide(&self, req: &RequestKey<'_>) -> Verdict {
        let mut guard = lock(&self.inner);
        let state = &mut *guard;
        self.stats.requests.fetch_add(1, Ordering::AcqRel);
        let now = Instant::now();
        for limit in state.limits.iter_mut() {
            if !req.matches(limit.spec.route.as_deref(), limit.spec.method.as_deref()) {
                continue;
            }
            if let Some(wait) = limit.refuses(now) {
                let rate = matches!(limit.spec.kind, LimitKind::Rate { .. });
                let counter = if rate {
                    &self.stats.limited_rate
                } else {
                    &self.stats.limited_in_flight
                };
                counter.fetch_add(1, Ordering::AcqRel);
                return Verdict::Limited { wait, rate };
            }
        }
        let mut slots = Vec::new();
        for limit in state.limits.iter_mut() {
            if req.matches(limit.spec.route.as_deref(), limit.spec.method.as_deref()) {
                limit.admit(now, &mut slots);
            }
        }
        let in_flight = self.stats.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        self.stats
            .peak_in_flight
            .fetch_max(in_flight, Ordering::AcqRel);
        let admission = Admission {
            slots,
            stats: self.stats.clone(),
        };
        let mut fired = Vec::new();
        for rule in state.rules.iter_mut() {
            if !rule.matches(req) {
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
        Verdict::Admitted(admission, fired)
    }
}

impl From<Faults> for EngineState {
    fn from(f: Faults) -> Self {
        let origin = Instant::now();
        EngineState {
            rules: f.rules,
            limits: f
                .limits
                .into_iter()
                .map(|l| LimitState::new(l, origin))
                .collect(),
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
    let record = req.extensions().get::<RecordHandle>().cloned();
    let key = RequestKey {
        method: req.method().as_str(),
        path: req.uri().path(),
        template: template.as_deref(),
    };
    let (_admission, actions) = match state.faults.decide(&key) {
        Verdict::Admitted(admission, actions) => (admission, actions),
        Verdict::Limited { wait, rate } => {
            let action = FaultAction::RateLimit {
                retry_after: Some(wait.as_secs_f64().ceil().max(1.0).to_string()),
                retry_after_ms: Some(wait.as_millis().max(1).to_string()),
            };
            if let Some(r) = &record {
                r.add_fault(action.clone());
            }
            let what = if rate {
                "too many requests per second"
            } else {
                "too many concurrent requests"
            };
            return rate_limited(
                &action,
                &format!("Rate limit exceeded: {what} (mock limit)"),
            );
        }
    };
    if actions.is_empty() {
        return next.run(req).await;
    }
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
            FaultAction::RateLimit { .. } => {
                return rate_limited(action, "Rate limit exceeded (mock fault)")
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

/// A 429 `{"detail": msg}` with the retry headers of a
/// [`FaultAction::RateLimit`].
fn rate_limited(action: &FaultAction, msg: &str) -> Response {
    let mut resp = crate::routes::detail(StatusCode::TOO_MANY_REQUESTS, msg);
    if let FaultAction::RateLimit {
        retry_after,
        retry_after_ms,
    } = action
    {
        let headers = resp.headers_mut();
        // Header values come from test code; invalid ones are skipped
        // rather than panicking.
        if let Some(v) = retry_after.as_deref().and_then(header_value) {
            headers.insert("retry-after", v);
        }
        if let Some(v) = retry_after_ms.as_deref().and_then(header_value) {
            headers.insert("retry-after-ms", v);
        }
    }
    resp
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
