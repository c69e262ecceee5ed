//! `Server` / `ServerBuilder`: binding, the accept loop and shutdown.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::faults::{ConnKill, Faults, ServerStats};
use crate::record::RecordedRequest;
use crate::state::{AppState, Config, SeedJob};

/// A running mock server, bound to `127.0.0.1`.
///
/// Dropping it shuts it down gracefully: the listener closes at once, idle
/// connections close, and in-flight requests finish before their connection
/// task ends (no task outlives that). [`Server::shutdown`] does the same and
/// waits for it.
pub struct Server {
    state: Arc<AppState>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Configures and starts a [`Server`]; get one with [`Server::builder`].
///
/// Defaults: any non-empty bearer key accepted, async jobs take 2 s, results
/// always inline, chunks of up to 1000 characters, no added latency, no
/// faults, random port.
#[derive(Clone, Debug, Default)]
pub struct ServerBuilder {
    config: Config,
    port: u16,
    faults: Faults,
}

/// An uploaded file as stored by the server (see [`Server::uploaded_file`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedFile {
    /// The id returned to the client, `reducto://<uuid>[.<ext>]`.
    pub file_id: String,
    /// The multipart part's filename, if it had one.
    pub filename: Option<String>,
    /// The extension used for the file id (from `?extension=` or the
    /// filename), if any.
    pub extension: Option<String>,
    /// The file's content.
    pub bytes: Vec<u8>,
}

impl ServerBuilder {
    /// Accept only this bearer key (any other key gets 401). By default any
    /// non-empty key is accepted.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.api_key = Some(key.into());
        self
    }

    /// How long an async job stays `Pending` before it completes or fails
    /// (default 2 s, measured on the tokio clock). `Duration::ZERO` makes a
    /// job complete by the first time it is looked at.
    pub fn job_duration(mut self, d: Duration) -> Self {
        self.config.job_duration = d;
        self
    }

    /// Return results whose serialized `FullResult` is larger than `bytes`
    /// as a `UrlResult` pointing at `GET /results/{result_id}` (default:
    /// never, unless the request sets `settings.force_url_result`).
    pub fn url_result_threshold(mut self, bytes: usize) -> Self {
        self.config.url_result_threshold = Some(bytes);
        self
    }

    /// Maximum characters per chunk for text documents (default 1000).
    pub fn chunk_size(mut self, chars: usize) -> Self {
        self.config.chunk_size = chars.max(1);
        self
    }

    /// Bind to this port on 127.0.0.1 (default 0: a random free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Delay before a synchronous request (`POST /parse`, `/extract`,
    /// `/split`, `/classify`, `/edit`, `/pipeline`) answers (default none).
    /// Its job is listed as `Pending` meanwhile.
    pub fn sync_latency(mut self, d: Duration) -> Self {
        self.config.sync_latency = d;
        self
    }

    /// Delay added to every `GET /jobs` page (default none), e.g. to measure
    /// page prefetching.
    pub fn page_latency(mut self, d: Duration) -> Self {
        self.config.page_latency = d;
        self
    }

    /// Whether `GET /job/{id}` answers `Cancelled` for a cancelled job, as
    /// the server once did (default false). The spec does not allow that
    /// status on that endpoint (Reducto's Python SDK in strict mode rejects
    /// it, and its CLI's `job --wait` never ends), so by default a cancelled
    /// job is `Failed` there with the reason `"Job cancelled by user"`;
    /// `GET /jobs` lists it as `Cancelled`, which its schema documents.
    /// Turn this on to test a client's handling of `Cancelled` from
    /// `GET /job`.
    pub fn cancelled_on_get_job(mut self, on: bool) -> Self {
        self.config.cancelled_on_get_job = on;
        self
    }

    /// Keep only the most recent `n` requests for
    /// [`Server::requests`] (0 records none). Default: all, which a test
    /// wants; a server running for hours should set a limit (the binary's
    /// default is 1000).
    pub fn record_limit(mut self, n: usize) -> Self {
        self.config.record_limit = Some(n);
        self
    }

    /// Keep only the most recent `n` uploads (an older `reducto://` id is
    /// then unknown). Default: all; the binary's default is 1000.
    pub fn upload_limit(mut self, n: usize) -> Self {
        self.config.upload_limit = Some(n);
        self
    }

    /// Initial fault rules (default none); see [`Faults`].
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Register a pipeline served by `POST /pipeline` and
    /// `/pipeline_async` as `pipeline_id` `id` (Reducto's pipelines are
    /// built in its Studio; the mock's are given here). The definition is a
    /// JSON object with any of the steps `split`, `extract` and `edit`,
    /// each holding the options of that endpoint's body (everything but
    /// the document), and an optional `parse` object (accepted, not used):
    /// the pipeline parses, splits, extracts (per split category when it
    /// splits) and edits. A definition the endpoints would refuse makes
    /// [`ServerBuilder::start`] fail with an `InvalidInput` error naming
    /// the field.
    ///
    /// ```
    /// use serde_json::json;
    /// let builder = reducto_mock::Server::builder().pipeline(
    ///     "invoices",
    ///     json!({
    ///         "split": { "split_description": [
    ///             { "name": "Invoice", "description": "invoice total due" }
    ///         ] },
    ///         "extract": { "instructions": { "schema": {
    ///             "type": "object",
    ///             "properties": { "total": { "type": "number" } }
    ///         } } }
    ///     }),
    /// );
    /// # let _ = builder;
    /// ```
    pub fn pipeline(mut self, id: impl Into<String>, definition: serde_json::Value) -> Self {
        self.config.pipelines.insert(id.into(), definition);
        self
    }

    /// Bind and start serving on the current tokio runtime.
    ///
    /// # Errors
    /// Binding fails, or a [`ServerBuilder::pipeline`] definition is
    /// invalid (`InvalidInput`).
    pub async fn start(self) -> io::Result<Server> {
        for (id, definition) in &self.config.pipelines {
            crate::ops::pipeline::validate(definition).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("pipeline {id:?}: {e}"))
            })?;
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState::new(
            self.config,
            format!("http://{addr}"),
            self.faults,
        ));
        let router = crate::routes::router(state.clone());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, state.clone(), rx));
        Ok(Server {
            state,
            addr,
            shutdown: tx,
            task: Some(task),
        })
    }
}

impl Server {
    /// Start a server with default settings on a random port.
    ///
    /// # Panics
    /// If binding 127.0.0.1:0 fails (use [`ServerBuilder::start`] to handle
    /// that error).
    pub async fn start() -> Server {
        match Server::builder().start().await {
            Ok(s) => s,
            Err(e) => panic!("reducto-mock: cannot bind 127.0.0.1: {e}"),
        }
    }

    /// A builder with default settings.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.snapshot()
    }

    /// Forget the recorded requests.
    pub fn clear_requests(&self) {
        self.state.recorder.clear()
    }

    /// Insert jobs directly (no HTTP, fast); returns their ids in order.
    /// Later items count as newer when creation times tie.
    pub fn seed_jobs(&self, jobs: impl IntoIterator<Item = SeedJob>) -> Vec<String> {
        self.state.seed(jobs)
    }

    /// Number of jobs (created through the API or seeded).
    pub fn job_count(&self) -> usize {
        self.state.job_count()
    }

    /// Replace the fault rules and limits at runtime; resets the random
    /// generator to the new seed, all "times" counters and the limits'
    /// windows (requests already in flight do not count against the new
    /// limits). `Faults::default()` disables faults.
    pub fn set_faults(&self, faults: Faults) {
        self.state.faults.set(faults)
    }

    /// Counters of requests to known routes: received, answered 429 by a
    /// [`Limit`](crate::Limit), in flight now and at most. They survive
    /// [`Server::set_faults`]; see [`Server::reset_stats`].
    pub fn stats(&self) -> ServerStats {
        self.state.faults.stats()
    }

    /// Zero the counters of [`Server::stats`] (e.g. between benchmark
    /// runs); the peak restarts from the requests in flight now.
    pub fn reset_stats(&self) {
        self.state.faults.reset_stats()
    }

    /// Remove all fault rules and limits.
    pub fn clear_faults(&self) {
        self.state.faults.set(Faults::default())
    }

    /// An uploaded file by its `reducto://` id.
    pub fn uploaded_file(&self, file_id: &str) -> Option<UploadedFile> {
        self.state.file(file_id).map(|f| UploadedFile {
            file_id: file_id.to_owned(),
            filename: f.filename,
            extension: f.ext,
            bytes: f.bytes.to_vec(),
        })
    }

    /// Shut down and wait until the listener and all connections are closed
    /// (in-flight requests finish first).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The accept loop sees this, stops accepting and winds down its
        // connections by itself; Drop cannot wait for it.
        let _ = self.shutdown.send(true);
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve_conn(stream, router.clone(), state.clone(), shutdown.clone()));
                }
                // E.g. too many open files: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished connection tasks so the set does not grow.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            // Changed or sender dropped: either way, stop.
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

/// Serve one HTTP/1 connection. Each request is recorded, its body is
/// wrapped to count bytes, and it carries a [`ConnKill`] so a fault can drop
/// the connection without answering.
async fn serve_conn(
    stream: TcpStream,
    router: Router,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let conn_kill = ConnKill(kill.clone());
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let router = router.clone();
        let req = prepare(req, &state, conn_kill.clone());
        async move { Ok::<_, Infallible>(router.oneshot(req).await.unwrap_or_else(|e| match e {})) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        // No server-side timers: they would misbehave under a paused tokio
        // clock, and a test double has no need for them.
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut draining = *shutdown.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            // Dropping `conn` closes the socket with no response written.
            _ = kill.notified() => break,
            _ = shutdown.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Record the request and attach the per-request extensions.
fn prepare(req: Request<Incoming>, state: &AppState, kill: ConnKill) -> Request<Body> {
    let (mut parts, body) = req.into_parts();
    let text = |v: &header::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    let record = state.recorder.push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), text(v)))
            .collect(),
        content_type: parts.headers.get(header::CONTENT_TYPE).map(text),
        ..RecordedRequest::default()
    });
    let counter = record.clone();
    let body = body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counter.add_body_bytes(data.len());
        }
        frame
    });
    parts.extensions.insert(record);
    parts.extensions.insert(kill);
    Request::from_parts(parts, Body::new(body))
}
