//! Everything between a call and the wire: authentication, `User-Agent`,
//! per-request timeouts, retries, reading the body, tracing, and turning
//! the generated client's results into this crate's [`Error`].
//!
//! The generated bindings call [`CallContext::send`] through progenitor's
//! `exec` hook, and the handwritten calls (upload, synchronous parse, result
//! fetch) call it directly, so every request of the crate goes through the
//! one retry loop below. The loop reads each response's body whole (up to
//! the size limit) before deciding, so a connection that breaks mid-body is
//! retried like any connection failure, and hands the caller (or
//! progenitor) a response rebuilt around the bytes, with its real URL.
//!
//! Headers, decided here once for every request:
//!
//! - `Authorization` on requests to Reducto, never on presigned result URLs.
//! - `User-Agent: reducto-rs/<version>` and `x-reducto-retry-count`.
//! - **No `api-version` header, on any request.** Reducto's spec declares no
//!   such parameter and the official SDKs and CLI send none; progenitor adds
//!   one (the spec's `info.version`) to generated calls only, which would
//!   make two kinds of request depend on which layer built them. It is
//!   removed in `CallContext::prepare`; the version the crate was built
//!   against is in the `User-Agent`'s crate version instead.

use std::{
    fmt,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::{
    header::{HeaderMap, HeaderValue, AUTHORIZATION, USER_AGENT},
    ResponseBuilderExt, StatusCode,
};
use tracing::Instrument;

use crate::{
    error::{DecodeError, Error},
    generated,
    retry::{should_retry_status, should_retry_transport, RetryPolicy},
};

/// The `User-Agent` sent with every request.
pub(crate) const USER_AGENT_VALUE: &str = concat!("reducto-rs/", env!("CARGO_PKG_VERSION"));

/// Configuration shared by every call of one [`Reducto`](crate::Reducto).
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    /// `base_url`, parsed once: each request's URL starts from a copy.
    pub(crate) base: reqwest::Url,
    /// `Bearer <key>`, marked sensitive so that reqwest and `Debug` hide it.
    pub(crate) authorization: HeaderValue,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// Bodies larger than this are not read (memory stays bounded).
    pub(crate) max_response_bytes: u64,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Per-call overrides of the client's settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<RetryPolicy>,
}

/// What the generated client carries for one call (progenitor's "inner").
#[derive(Clone)]
pub(crate) struct CallContext {
    shared: Arc<Shared>,
    options: RequestOptions,
    /// False for requests to other hosts (presigned result URLs): the key
    /// stays home, and the URL (whose query is a signature) is kept out of
    /// errors and logs.
    authenticate: bool,
    /// Status and headers of the response the call ended with, for decode
    /// errors (progenitor keeps only the body).
    last_response: Arc<Mutex<Option<(StatusCode, HeaderMap)>>>,
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("shared", &self.shared)
            .field("options", &self.options)
            .finish()
    }
}

/// Why [`CallContext::send`] produced no response.
pub(crate) enum SendError<E> {
    /// Building a replayed request failed (a file could not be reopened).
    Prepare(E),
    /// No response arrived.
    Transport(reqwest::Error),
}

impl CallContext {
    pub(crate) fn new(shared: Arc<Shared>, options: RequestOptions) -> CallContext {
        CallContext {
            shared,
            options,
            authenticate: true,
            last_response: Arc::default(),
        }
    }

    /// The same call, sending no API key (for presigned result URLs).
    pub(crate) fn without_key(mut self) -> CallContext {
        self.authenticate = false;
        self
    }

    /// The generated client, bound to this call's settings.
    pub(crate) fn api(&self) -> generated::Client {
        generated::Client::new_with_client(
            &self.shared.base_url,
            self.shared.http.clone(),
            self.clone(),
        )
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        self.options.retry.as_ref().unwrap_or(&self.shared.retry)
    }

    fn timeout(&self) -> Duration {
        self.options.timeout.unwrap_or(self.shared.timeout)
    }

    /// Sends `first`, retrying by the policy, and reads the whole response
    /// body (up to the size limit) inside the loop, so that a connection
    /// that breaks while the body arrives is retried like one that breaks
    /// before. `replay` produces the request for each retry, or `None` when
    /// the body cannot be sent again (then the last outcome is returned as
    /// is). The response returned carries its body in memory.
    pub(crate) async fn send<E, F, Fut>(
        &self,
        operation: &'static str,
        first: reqwest::Request,
        mut replay: F,
    ) -> Result<reqwest::Response, SendError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<reqwest::Request>, E>>,
    {
        let policy = self.retry_policy().clone();
        let limit = self.shared.max_response_bytes;
        let mut request = first;
        let mut retry: u32 = 0;
        loop {
            self.prepare(&mut request, retry);
            let span = tracing::debug_span!(
                "reducto.request",
                operation,
                attempt = retry + 1,
                method = %request.method(),
                path = request.url().path(),
                status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            let started = Instant::now();
            let url = request.url().clone();
            let attempt = async {
                let response = self
                    .shared
                    .http
                    .execute(request)
                    .await
                    .map_err(Failure::Send)?;
                tracing::Span::current().record("status", response.status().as_u16());
                // reqwest reports a body that breaks off as a decode error
                // without the URL: give it the URL back, and retry it as
                // the connection failure it is.
                read_whole(response, limit)
                    .await
                    .map_err(|e| Failure::Body(e.with_url(url.clone())))
            }
            .instrument(span.clone())
            .await;
            span.record("duration_ms", started.elapsed().as_millis() as u64);

            // Only error responses consult `x-should-retry`, as in the
            // official SDKs: a success is never sent again.
            let retry_after_headers = match &attempt {
                Ok(Read::Whole(response)) => {
                    should_retry_status(response.status, &response.headers)
                        .then(|| Some(response.headers.clone()))
                }
                Ok(Read::TooLarge { .. }) => None,
                Err(failure) => {
                    // The causes, not reqwest's message: that names the URL,
                    // which for a presigned result URL carries a signature.
                    let cause = causes(failure.error());
                    span.in_scope(|| tracing::debug!(error = %cause, "request failed"));
                    let retryable = match failure {
                        Failure::Send(error) => should_retry_transport(error),
                        Failure::Body(_) => true,
                    };
                    retryable.then_some(None)
                }
            };
            let wanted = retry_after_headers.filter(|_| retry < policy.retries());
            let Some(headers) = wanted else {
                return self.finish(attempt, url);
            };
            // Get the next request before dropping this outcome: if the body
            // cannot be replayed, this outcome is the answer.
            let next = match replay().await {
                Ok(Some(next)) => next,
                Ok(None) => return self.finish(attempt, url),
                Err(e) => return Err(SendError::Prepare(e)),
            };
            let delay = policy.delay(retry, headers.as_ref());
            span.in_scope(|| {
                tracing::debug!(delay_ms = delay.as_millis() as u64, "retrying");
            });
            drop(attempt);
            tokio::time::sleep(delay).await;
            request = next;
            retry += 1;
        }
    }

    /// Sends a request whose body can be cloned (JSON, empty), retrying by
    /// the policy, for the calls written by hand.
    pub(crate) async fn execute(
        &self,
        operation: &'static str,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, Error> {
        let template = request.try_clone();
        let replay = || {
            std::future::ready(Ok::<_, std::convert::Infallible>(
                template.as_ref().and_then(reqwest::Request::try_clone),
            ))
        };
        match self.send(operation, request, replay).await {
            Ok(response) => Ok(response),
            Err(SendError::Transport(e)) => Err(Error::from_transport(e)),
            Err(SendError::Prepare(never)) => match never {},
        }
    }

    /// The response the call ends with, rebuilt around its buffered body
    /// (and keeping its URL, without the query for presigned URLs).
    fn finish<E>(
        &self,
        attempt: Result<Read, Failure>,
        mut url: reqwest::Url,
    ) -> Result<reqwest::Response, SendError<E>> {
        if !self.authenticate {
            url.set_query(None);
        }
        let read = match attempt {
            Ok(read) => read,
            Err(failure) => {
                let e = failure.into_error();
                let e = if self.authenticate {
                    e
                } else {
                    e.without_url()
                };
                return Err(SendError::Transport(e));
            }
        };
        let (head, body) = match read {
            Read::Whole(whole) => {
                let body = reqwest::Body::from(whole.body.clone());
                (whole, body)
            }
            Read::TooLarge { head } => {
                // Reading this body fails at once, with the error that
                // `Error::from_transport` finds in the source chain.
                let limit = self.shared.max_response_bytes;
                let failing = futures::stream::once(std::future::ready(Err::<bytes::Bytes, _>(
                    Box::new(BodyTooLarge { limit }) as Box<dyn std::error::Error + Send + Sync>,
                )));
                (head, reqwest::Body::wrap_stream(failing))
            }
        };
        if let Ok(mut last) = self.last_response.lock() {
            *last = Some((head.status, head.headers.clone()));
        }
        // Only the URL can be set on a builder that cannot fail: no status
        // or header is parsed there, so the default is never used.
        let (mut parts, ()) = http::Response::builder()
            .url(url)
            .body(())
            .unwrap_or_default()
            .into_parts();
        parts.status = head.status;
        parts.version = head.version;
        parts.headers = head.headers;
        let rebuilt = http::Response::from_parts(parts, body);
        Ok(reqwest::Response::from(rebuilt))
    }

    /// Adds what every attempt carries: the key, the `User-Agent`, the retry
    /// count and the timeout.
    fn prepare(&self, request: &mut reqwest::Request, retry: u32) {
        let headers = request.headers_mut();
        if self.authenticate {
            headers.insert(AUTHORIZATION, self.shared.authorization.clone());
        } else {
            headers.remove(AUTHORIZATION);
        }
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert("x-reducto-retry-count", HeaderValue::from(retry));
        // The crate sends no `api-version` (see the module docs): progenitor
        // adds one to generated calls, so it is taken off here, in the one
        // place every request passes.
        headers.remove("api-version");
        *request.timeout_mut() = Some(self.timeout());
    }

    /// Turns a generated call's failure into this crate's error, reading the
    /// body of an error response.
    pub(crate) async fn error(&self, error: progenitor_client::Error<()>) -> Error {
        use progenitor_client::Error as P;
        match error {
            P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => {
                Error::from_transport(e)
            }
            P::UnexpectedResponse(response) => error_from_response(response).await,
            P::InvalidResponsePayload(body, source) => {
                let (status, headers) = self
                    .last_response
                    .lock()
                    .ok()
                    .and_then(|mut l| l.take())
                    .unwrap_or((StatusCode::OK, HeaderMap::new()));
                Error::Decode(Box::new(DecodeError {
                    status,
                    headers,
                    body,
                    path: None,
                    source,
                }))
            }
            P::ErrorResponse(value) => {
                Error::from_status(value.status(), value.headers().clone(), bytes::Bytes::new())
            }
            P::InvalidRequest(reason) | P::Custom(reason) => Error::invalid("request", reason),
        }
    }
}

/// An error's causes, without its own message.
fn causes(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.is_empty() {
        text.push_str(if error.is_timeout() {
            "timed out"
        } else {
            "failed"
        });
    }
    text
}

/// The error a body stream yields past the size limit; found again in the
/// reqwest error's source chain by [`Error::from_transport`].
#[derive(Debug)]
pub(crate) struct BodyTooLarge {
    pub(crate) limit: u64,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "response body exceeds {} bytes", self.limit)
    }
}

impl std::error::Error for BodyTooLarge {}

/// Why an attempt produced no response.
pub(crate) enum Failure {
    /// Sending, or waiting for the response head, failed.
    Send(reqwest::Error),
    /// The body broke off while it arrived.
    Body(reqwest::Error),
}

impl Failure {
    fn error(&self) -> &reqwest::Error {
        match self {
            Failure::Send(e) | Failure::Body(e) => e,
        }
    }

    fn into_error(self) -> reqwest::Error {
        match self {
            Failure::Send(e) | Failure::Body(e) => e,
        }
    }
}

/// A response read whole, or refused for its size.
pub(crate) enum Read {
    /// Status, headers and the whole body.
    Whole(Buffered),
    /// The body is (or was declared) larger than the limit: not read on.
    TooLarge {
        /// The status and headers, with an empty body.
        head: Buffered,
    },
}

/// A response whose body is in memory.
pub(crate) struct Buffered {
    status: StatusCode,
    version: http::Version,
    headers: HeaderMap,
    body: bytes::Bytes,
}

/// Reads `response` whole, stopping once more than `limit` bytes arrive (at
/// once, when `content-length` already says so) instead of buffering an
/// endless or gigantic body. A failure while the body arrives is the
/// reqwest error it is, so the retry loop treats it like any other.
async fn read_whole(mut response: reqwest::Response, limit: u64) -> reqwest::Result<Read> {
    let mut head = Buffered {
        status: response.status(),
        version: response.version(),
        headers: std::mem::take(response.headers_mut()),
        body: bytes::Bytes::new(),
    };
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit) {
        return Ok(Read::TooLarge { head });
    }
    // One chunk (the common case for small JSON) is kept without a copy.
    let mut first: Option<bytes::Bytes> = None;
    let mut more: Vec<u8> = Vec::new();
    let mut seen: u64 = 0;
    while let Some(chunk) = response.chunk().await? {
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit {
            return Ok(Read::TooLarge { head });
        }
        match first.take() {
            None if more.is_empty() => first = Some(chunk),
            None => more.extend_from_slice(&chunk),
            Some(earlier) => {
                let capacity = declared.unwrap_or(seen).min(limit);
                more.reserve(usize::try_from(capacity).unwrap_or(0));
                more.extend_from_slice(&earlier);
                more.extend_from_slice(&chunk);
            }
        }
    }
    head.body = first.unwrap_or_else(|| bytes::Bytes::from(more));
    Ok(Read::Whole(head))
}

/// Decodes a success response's JSON body, or classifies the error status.
pub(crate) async fn decode_json<T: serde::de::DeserializeOwned>(
    mut response: reqwest::Response,
) -> Result<T, Error> {
    if !response.status().is_success() {
        return Err(error_from_response(response).await);
    }
    let status = response.status();
    // Taken, not cloned: the body is already in memory and needs no header.
    let headers = std::mem::take(response.headers_mut());
    let body = response.bytes().await.map_err(Error::from_transport)?;
    // The path is tracked only to say where a failure is: tracking costs on
    // every field, and a success does not need it.
    if let Ok(decoded) = serde_json::from_slice(&body) {
        return Ok(decoded);
    }
    let mut decoder = serde_json::Deserializer::from_slice(&body);
    let decoded = match serde_path_to_error::deserialize(&mut decoder) {
        // Trailing bytes after the value are an error too, as in from_slice.
        Ok(value) => decoder.end().map(|()| value).map_err(|e| (None, e)),
        Err(e) => Err((Some(e.path().to_string()), e.into_inner())),
    };
    decoded.map_err(|(path, source)| {
        Error::Decode(Box::new(crate::error::DecodeError {
            status,
            headers,
            body,
            path,
            source,
        }))
    })
}

/// Classifies a non-success response, keeping its body.
pub(crate) async fn error_from_response(response: reqwest::Response) -> Error {
    let status = response.status();
    let headers = response.headers().clone();
    match response.bytes().await {
        Ok(body) => Error::from_status(status, headers, body),
        Err(e) => Error::from_transport(e),
    }
}

/// Sends every request of the generated client through [`CallContext::send`].
impl progenitor_client::ClientHooks<CallContext> for generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &progenitor_client::OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        use progenitor_client::ClientInfo;
        // JSON and empty bodies clone; a request that does not is sent once.
        let template = request.try_clone();
        let replay = || {
            std::future::ready(Ok::<_, std::convert::Infallible>(
                template.as_ref().and_then(reqwest::Request::try_clone),
            ))
        };
        match self.inner().send(info.operation_id, request, replay).await {
            Ok(response) => Ok(response),
            Err(SendError::Transport(e)) => Err(e),
            Err(SendError::Prepare(never)) => match never {},
        }
    }
}
