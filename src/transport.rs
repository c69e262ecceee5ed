//! Everything between a call and the wire: authentication, `User-Agent`,
//! per-request timeouts, retries, tracing, and turning the generated
//! client's results into this crate's [`Error`].
//!
//! The generated bindings call [`CallContext::send`] through progenitor's
//! `exec` hook, and the handwritten upload calls it directly, so every
//! request of the crate goes through the one retry loop below.

use std::{
    fmt,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::{
    header::{HeaderMap, HeaderValue, AUTHORIZATION, USER_AGENT},
    StatusCode,
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

    /// Sends `first`, retrying by the policy. `replay` produces the request
    /// for each retry, or `None` when the body cannot be sent again (then the
    /// last outcome is returned as is).
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
            let outcome = self
                .shared
                .http
                .execute(request)
                .instrument(span.clone())
                .await;
            span.record("duration_ms", started.elapsed().as_millis() as u64);

            let retry_after_headers = match &outcome {
                Ok(response) => {
                    span.record("status", response.status().as_u16());
                    let retry_it = should_retry_status(response.status(), response.headers());
                    retry_it.then(|| Some(response.headers().clone()))
                }
                Err(error) => {
                    // The causes, not reqwest's message: that names the URL,
                    // which for a presigned result URL carries a signature.
                    let cause = causes(error);
                    span.in_scope(|| tracing::debug!(error = %cause, "request failed"));
                    should_retry_transport(error).then_some(None)
                }
            };
            let wanted = retry_after_headers.filter(|_| retry < policy.max_retries);
            let Some(headers) = wanted else {
                return self.finish(outcome);
            };
            // Get the next request before dropping this outcome: if the body
            // cannot be replayed, this outcome is the answer.
            let next = match replay().await {
                Ok(Some(next)) => next,
                Ok(None) => return self.finish(outcome),
                Err(e) => return Err(SendError::Prepare(e)),
            };
            let delay = policy.delay(retry, headers.as_ref());
            span.in_scope(|| {
                tracing::debug!(delay_ms = delay.as_millis() as u64, "retrying");
            });
            drop(outcome);
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

    fn finish<E>(
        &self,
        outcome: reqwest::Result<reqwest::Response>,
    ) -> Result<reqwest::Response, SendError<E>> {
        match outcome {
            Ok(response) => {
                if let Ok(mut last) = self.last_response.lock() {
                    *last = Some((response.status(), response.headers().clone()));
                }
                Ok(limit_body(response, self.shared.max_response_bytes))
            }
            Err(e) if !self.authenticate => Err(SendError::Transport(e.without_url())),
            Err(e) => Err(SendError::Transport(e)),
        }
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

/// Rebuilds `response` so that reading its body fails once more than `limit`
/// bytes arrive (at once, when `content-length` already says so), instead of
/// buffering an endless or gigantic body.
fn limit_body(response: reqwest::Response, limit: u64) -> reqwest::Response {
    use futures::StreamExt;

    let declared_too_large = response.content_length().is_some_and(|len| len > limit);
    let (status, version, headers) = (
        response.status(),
        response.version(),
        response.headers().clone(),
    );
    let mut seen: u64 = 0;
    let mut failed = declared_too_large;
    let body = response.bytes_stream().map(move |chunk| {
        // The stream is not polled past its first error, so a body declared
        // too large is never read at all.
        if failed {
            return Err(
                Box::new(BodyTooLarge { limit }) as Box<dyn std::error::Error + Send + Sync>
            );
        }
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > limit {
            failed = true;
            return Err(Box::new(BodyTooLarge { limit }) as _);
        }
        Ok(chunk)
    });
    let mut limited = http::Response::new(reqwest::Body::wrap_stream(body));
    *limited.status_mut() = status;
    *limited.version_mut() = version;
    *limited.headers_mut() = headers;
    reqwest::Response::from(limited)
}

/// Decodes a success response's JSON body, or classifies the error status.
pub(crate) async fn decode_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, Error> {
    if !response.status().is_success() {
        return Err(error_from_response(response).await);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(Error::from_transport)?;
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
