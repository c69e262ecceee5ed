//! Helpers shared by the stream, wait and retry tests.
#![allow(dead_code)]

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use reducto::{PollPolicy, Reducto, ReductoBuilder};
use reducto_mock::{RecordedRequest, Server};

/// The API key every test client sends.
pub const KEY: &str = "test-key";

/// A builder for a client of `url` with the test key, ignoring the
/// environment (a developer's `REDUCTO_API_KEY` must not leak in).
pub fn builder_for(url: &str) -> ReductoBuilder {
    Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(url)
}

/// A client of `server` with the default settings.
pub fn client_for(server: &Server) -> Reducto {
    builder_for(&server.url())
        .build()
        .expect("valid configuration")
}

/// A local server whose jobs take `duration` (tokio clock) to finish.
pub async fn server_with_duration(duration: Duration) -> Server {
    Server::builder()
        .job_duration(duration)
        .start()
        .await
        .expect("server starts")
}

/// The recorded requests with this method and exactly this path.
pub fn requests_to(server: &Server, method: &str, path: &str) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

/// The recorded requests with this method whose path starts with `prefix`.
pub fn requests_under(server: &Server, method: &str, prefix: &str) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .collect()
}

/// The number of `GET /jobs` requests the server received.
pub fn list_requests(server: &Server) -> usize {
    requests_to(server, "GET", "/jobs").len()
}

/// The number of `GET /job/{id}` requests (polls) the server received.
pub fn polls(server: &Server) -> usize {
    requests_under(server, "GET", "/job/").len()
}

/// A request's query as `(name, value)` pairs, in order (values are not
/// percent-decoded: the tests only send digits, booleans and hex cursors).
pub fn query(request: &RecordedRequest) -> Vec<(String, String)> {
    request
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

/// The value of query parameter `name`, if the request has it.
pub fn query_param(request: &RecordedRequest, name: &str) -> Option<String> {
    query(request)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The `x-reducto-retry-count` header of each request.
pub fn retry_counts(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.header("x-reducto-retry-count").unwrap_or("-").to_owned())
        .collect()
}

/// Under a paused clock: returns once the runtime has been idle (no task
/// runnable, no I/O event pending) for `secs` seconds of virtual time.
///
/// Tokio only auto-advances a paused clock when a zero-timeout poll of the
/// I/O driver wakes nothing, so loopback traffic in flight (written to the
/// kernel, not yet read) holds the clock still; every timer due earlier
/// (backoff, polling, server latency) fires on the way.
pub async fn idle(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// The default polling schedule without jitter: polls at 0, 1, 3, 7, 15,
/// 25, 35, ... seconds (intervals 1, 2, 4, 8, then 10 s).
pub fn exact_polls() -> PollPolicy {
    PollPolicy::default().jitter(false)
}

/// Seconds since `start` on tokio's clock (virtual under a paused clock).
pub fn secs_since(start: tokio::time::Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Captures this thread's `tracing` output (spans shown when they close)
/// until the guard drops. The test runtime must be single-threaded so that
/// every task logs on this thread.
pub fn capture_tracing() -> (Captured, TracingGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // tracing caches each callsite's interest globally. With exactly one
    // registered dispatcher it computes that interest for a callsite first
    // hit on another test's thread from *that* thread's default (none), so
    // the request span would be cached as "never" and vanish here too. A
    // second (silent) dispatcher makes tracing combine all of them into
    // "sometimes", decided per call by the calling thread's subscriber.
    let silent = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::callsite::rebuild_interest_cache();
    (
        captured,
        TracingGuard {
            _default: guard,
            _silent: silent,
        },
    )
}

/// Ends the capture when dropped.
pub struct TracingGuard {
    _default: tracing::subscriber::DefaultGuard,
    _silent: tracing::Dispatch,
}
