//! The one error type of the crate.
//!
//! HTTP failures are classified the way Reducto's official SDKs classify them
//! (one variant per class: 400, 401, 403, 404, 409, 422, 429, >= 500, any
//! other status), so code written against their docs translates directly.
//! Every HTTP variant carries an [`ApiError`] with the status, the response
//! headers and the body exactly as received.

use std::{fmt, time::Duration};

use bytes::Bytes;
use reqwest::{header::HeaderMap, StatusCode};

use crate::types::{JobStatus, ValidationError};

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong calling Reducto.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// 400: the request was malformed.
    BadRequest(Box<ApiError>),
    /// 401: the API key is missing or wrong.
    Authentication(Box<ApiError>),
    /// 403: the key may not do this.
    PermissionDenied(Box<ApiError>),
    /// 404: no such job, file or route.
    NotFound(Box<ApiError>),
    /// 409: the request conflicts with the resource's state.
    Conflict(Box<ApiError>),
    /// 422: the server rejected a parameter; see [`ApiError::validation_errors`].
    UnprocessableEntity(Box<ApiError>),
    /// 429: too many requests; see [`ApiError::retry_after`].
    RateLimit(Box<ApiError>),
    /// 500 and above.
    InternalServer(Box<ApiError>),
    /// Any other non-success status.
    Status(Box<ApiError>),
    /// The connection could not be made or broke before a response arrived.
    Connection(TransportError),
    /// The request, or connecting, took longer than its timeout.
    Timeout(TransportError),
    /// A success response whose body is not what the API documents.
    Decode(Box<DecodeError>),
    /// A response body larger than the client's limit (see
    /// [`ReductoBuilder::max_response_size`](crate::ReductoBuilder::max_response_size));
    /// reading stopped there, so memory stays bounded.
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Refused before any request was sent: an argument is invalid.
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The client could not be configured (no API key, ambiguous or invalid
    /// base URL, an HTTP client that failed to build).
    Config(String),
    /// A local file to upload could not be read.
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A waited-on job ended as `Failed`.
    #[non_exhaustive]
    JobFailed {
        /// The job.
        job_id: String,
        /// The server's reason, when it gave one.
        reason: Option<String>,
    },
    /// A waited-on job was cancelled.
    #[non_exhaustive]
    JobCancelled {
        /// The job.
        job_id: String,
    },
    /// The deadline of a wait passed before the job finished.
    #[non_exhaustive]
    WaitTimeout {
        /// The job.
        job_id: String,
        /// The status the last successful poll saw, if any poll succeeded.
        last_status: Option<JobStatus>,
        /// The progress (a fraction, 0.0 to 1.0) the last successful poll saw.
        last_progress: Option<f64>,
    },
    /// A listing stopped before its last page without an error of its own:
    /// the task fetching its pages panicked, or the runtime it ran on shut
    /// down. The listing is incomplete; resume it from its
    /// `resume_cursor()`.
    Interrupted(String),
    /// The server returned a pagination cursor it had already returned:
    /// following it would list the same jobs forever.
    CursorLoop {
        /// The repeated cursor.
        cursor: String,
    },
    /// A batch's state file could not be read or written, or holds a line
    /// that is not a state record (see [`batch`](crate::batch)).
    StateFile {
        /// The state file.
        path: std::path::PathBuf,
        /// The 1-based line at fault, when one is.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// The HTTP status, for errors that came with a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Decode(e) => Some(e.status),
            _ => self.api_error().map(|e| e.status),
        }
    }

    /// The response headers, for errors that came with a response.
    pub fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Error::Decode(e) => Some(&e.headers),
            _ => self.api_error().map(|e| &e.headers),
        }
    }

    /// The response body, for errors that came with a response.
    pub fn body(&self) -> Option<&Bytes> {
        match self {
            Error::Decode(e) => Some(&e.body),
            _ => self.api_error().map(|e| &e.body),
        }
    }

    /// The details of an HTTP error status, whatever its class.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::BadRequest(e)
            | Error::Authentication(e)
            | Error::PermissionDenied(e)
            | Error::NotFound(e)
            | Error::Conflict(e)
            | Error::UnprocessableEntity(e)
            | Error::RateLimit(e)
            | Error::InternalServer(e)
            | Error::Status(e) => Some(e),
            _ => None,
        }
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }

    /// True for a 401.
    pub fn is_authentication(&self) -> bool {
        matches!(self, Error::Authentication(_))
    }

    /// True for a 429.
    pub fn is_rate_limit(&self) -> bool {
        matches!(self, Error::RateLimit(_))
    }

    /// True for a connection failure or a timeout.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Connection(_) | Error::Timeout(_))
    }

    /// Whether the official SDKs' rules would retry this error: connection
    /// failures, timeouts, 408, 409, 429 and >= 500, unless the server said
    /// otherwise with `x-should-retry`.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connection(_) | Error::Timeout(_) => true,
            _ => match self.api_error() {
                Some(e) => crate::retry::should_retry_status(e.status, &e.headers),
                None => false,
            },
        }
    }

    /// Builds the error for a non-success response, classifying its status.
    pub(crate) fn from_status(status: StatusCode, headers: HeaderMap, body: Bytes) -> Error {
        let api = Box::new(ApiError::new(status, headers, body));
        match status.as_u16() {
            400 => Error::BadRequest(api),
            401 => Error::Authentication(api),
            403 => Error::PermissionDenied(api),
            404 => Error::NotFound(api),
            409 => Error::Conflict(api),
            422 => Error::UnprocessableEntity(api),
            429 => Error::RateLimit(api),
            500.. => Error::InternalServer(api),
            _ => Error::Status(api),
        }
    }

    /// Classifies a reqwest failure that happened before a response arrived.
    pub(crate) fn from_transport(error: reqwest::Error) -> Error {
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            if let Some(too_large) = cause.downcast_ref::<crate::transport::BodyTooLarge>() {
                return Error::ResponseTooLarge {
                    limit: too_large.limit,
                };
            }
            source = cause.source();
        }
        if error.is_timeout() {
            Error::Timeout(TransportError(error))
        } else {
            Error::Connection(TransportError(error))
        }
    }

    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadRequest(e) => write!(f, "bad request: {e}"),
            Error::Authentication(e) => write!(f, "authentication failed: {e}"),
            Error::PermissionDenied(e) => write!(f, "permission denied: {e}"),
            Error::NotFound(e) => write!(f, "not found: {e}"),
            Error::Conflict(e) => write!(f, "conflict: {e}"),
            Error::UnprocessableEntity(e) => write!(f, "invalid request: {e}"),
            Error::RateLimit(e) => write!(f, "rate limited: {e}"),
            Error::InternalServer(e) => write!(f, "server error: {e}"),
            Error::Status(e) => write!(f, "unexpected status: {e}"),
            // This level only; the causes are the source chain (the std
            // convention, so that reporters print each once).
            Error::Connection(_) => f.write_str("connection failed"),
            Error::Timeout(_) => f.write_str("request timed out"),
            Error::Decode(e) => write!(f, "{e}"),
            Error::ResponseTooLarge { limit } => {
                write!(f, "the response body exceeds the {limit}-byte limit")
            }
            Error::InvalidArgument { name, reason } => write!(f, "invalid {name}: {reason}"),
            Error::Config(reason) => write!(f, "client configuration: {reason}"),
            Error::File { path, .. } => write!(f, "reading {}", path.display()),
            Error::JobFailed { job_id, reason } => match reason {
                Some(reason) => write!(f, "job {job_id} failed: {reason}"),
                None => write!(f, "job {job_id} failed"),
            },
            Error::JobCancelled { job_id } => write!(f, "job {job_id} was cancelled"),
            Error::WaitTimeout {
                job_id,
                last_status,
                ..
            } => match last_status {
                Some(status) => write!(f, "gave up waiting for job {job_id} (last status {status})"),
                None => write!(f, "gave up waiting for job {job_id} (no status seen)"),
            },
            Error::Interrupted(why) => write!(f, "the listing was interrupted: {why}"),
            Error::CursorLoop { cursor } => write!(
                f,
                "the server returned pagination cursor {cursor:?} twice; stopping instead of looping"
            ),
            Error::StateFile { path, line, reason } => match line {
                Some(line) => write!(f, "state file {} line {line}: {reason}", path.display()),
                None => write!(f, "state file {}: {reason}", path.display()),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connection(e) | Error::Timeout(e) => Some(e),
            // Error::Decode displays the DecodeError itself: its source is
            // the next level.
            Error::Decode(e) => Some(&e.source),
            Error::File { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// An HTTP error response: status, headers and body exactly as received.
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiError {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> ApiError {
        ApiError {
            status,
            headers,
            body,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy for invalid UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `detail` message of a FastAPI error body (`{"detail": "..."}`).
    pub fn detail(&self) -> Option<String> {
        match self.json()?.get("detail")? {
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The per-field details of a 422 (`{"detail": [{"loc", "msg", "type"}]}`);
    /// empty when the body has none.
    pub fn validation_errors(&self) -> Vec<ValidationError> {
        #[derive(serde::Deserialize)]
        struct Body {
            detail: Vec<ValidationError>,
        }
        serde_json::from_slice::<Body>(&self.body)
            .map(|b| b.detail)
            .unwrap_or_default()
    }

    /// How long the server asked the client to wait (`retry-after-ms`, then
    /// `retry-after` in seconds or as an HTTP date), whatever its value.
    pub fn retry_after(&self) -> Option<Duration> {
        crate::retry::parse_retry_after(&self.headers, std::time::SystemTime::now())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.text())
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        let details = self.validation_errors();
        if !details.is_empty() {
            let parts: Vec<String> = details
                .iter()
                .map(|d| {
                    let loc: Vec<String> = d.loc.iter().map(|l| l.to_string()).collect();
                    format!("{}: {}", loc.join("."), d.msg)
                })
                .collect();
            return write!(f, ": {}", parts.join("; "));
        }
        if let Some(detail) = self.detail() {
            return write!(f, ": {detail}");
        }
        let text = self.text();
        if !text.is_empty() {
            // Bodies can be whole HTML pages; a message needs only the start.
            let short: String = text.chars().take(200).collect();
            write!(f, ": {short}")?;
            if short.len() < text.len() {
                f.write_str("…")?;
            }
        }
        Ok(())
    }
}

/// A connection failure or timeout: no response arrived, or its body broke
/// off.
///
/// Its `Display` is the HTTP client's message for this level (what failed,
/// and the URL, never the key); the causes ("connection refused", "reset by
/// peer") are its [`source`](std::error::Error::source) chain, each said
/// once. [`inner`](Self::inner) gives the HTTP client's error itself.
#[derive(Debug)]
pub struct TransportError(reqwest::Error);

impl TransportError {
    /// The underlying HTTP client's error.
    pub fn inner(&self) -> &reqwest::Error {
        &self.0
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// A success status whose body could not be decoded as the documented type.
/// The decoder's message is its [`source`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub struct DecodeError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body exactly as received.
    pub body: Bytes,
    /// Where in the body decoding failed, e.g. `result.lines[1].total`
    /// (`.` for the top level); `None` where the decoder did not say.
    pub path: Option<String>,
    /// What the decoder said.
    pub source: serde_json::Error,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not decode the HTTP {} response ({} bytes){}",
            self.status,
            self.body.len(),
            match &self.path {
                Some(path) => format!(" at {path}"),
                None => String::new(),
            },
        )
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
