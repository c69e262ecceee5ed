//! Request recording: every request the server receives is logged, in order,
//! so tests can assert on what a client actually sent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::faults::FaultAction;

/// One request as the server received it.
///
/// Returned by [`Server::requests`](crate::Server::requests). Fields are
/// filled in as the request is processed, so a snapshot taken while a request
/// is still in flight may show a partial `body_len` or `multipart_parts`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `"GET"`.
    pub method: String,
    /// Request path exactly as sent on the wire (still percent-encoded),
    /// without the query string, e.g. `"/job/a%2Fb"`.
    pub path: String,
    /// Raw query string without the leading `?`, if the request had one.
    pub query: Option<String>,
    /// All request headers in the order received; names are lower-case.
    /// Values that are not UTF-8 are converted lossily.
    pub headers: Vec<(String, String)>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Parts of a `multipart/form-data` body (only for `POST /upload`, and
    /// only the parts the server read before answering).
    pub multipart_parts: Vec<MultipartPart>,
    /// Number of request-body bytes the server read. Requests rejected
    /// before their body is read (e.g. a 401) report 0 or a partial count.
    pub body_len: usize,
    /// Faults injected into this request, in the order they were applied
    /// (empty for a normal request). See [`Faults`](crate::Faults).
    pub faults: Vec<FaultAction>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request carried header `name` (case-insensitive).
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// Whether any fault was injected into this request.
    pub fn faulted(&self) -> bool {
        !self.faults.is_empty()
    }
}

/// One part of a recorded `multipart/form-data` body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultipartPart {
    /// The part's form field name (`file` for uploads).
    pub name: String,
    /// The `filename` from its `Content-Disposition`, if any.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Size of the part's content in bytes.
    pub size: usize,
}

/// Shared slot for one request; the body counter is atomic because the body
/// is read by hyper/axum while handlers hold other references.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    req: Mutex<RecordedRequest>,
    body_len: AtomicUsize,
}

/// Handle to a request's record, stored in the request's extensions so
/// middleware and handlers can add details (multipart parts, faults).
#[derive(Clone, Debug)]
pub(crate) struct RecordHandle(Arc<Slot>);

impl RecordHandle {
    pub(crate) fn add_body_bytes(&self, n: usize) {
        self.0.body_len.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_part(&self, part: MultipartPart) {
        lock(&self.0.req).multipart_parts.push(part);
    }

    pub(crate) fn add_fault(&self, fault: FaultAction) {
        lock(&self.0.req).faults.push(fault);
    }
}

/// The ordered log of requests: all of them, or the most recent `limit`
/// (0 records nothing), so a long-running server's memory stays bounded.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    entries: Mutex<std::collections::VecDeque<Arc<Slot>>>,
    limit: Option<usize>,
}

impl Recorder {
    pub(crate) fn with_limit(limit: Option<usize>) -> Recorder {
        Recorder {
            entries: Mutex::default(),
            limit,
        }
    }

    pub(crate) fn push(&self, req: RecordedRequest) -> RecordHandle {
        let slot = Arc::new(Slot {
            req: Mutex::new(req),
            body_len: AtomicUsize::new(0),
        });
        let mut entries = lock(&self.entries);
        entries.push_back(slot.clone());
        if let Some(limit) = self.limit {
            while entries.len() > limit {
                entries.pop_front();
            }
        }
        RecordHandle(slot)
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        let entries = lock(&self.entries).clone();
        entries
            .iter()
            .map(|slot| {
                let mut r = lock(&slot.req).clone();
                r.body_len = slot.body_len.load(Ordering::Relaxed);
                r
            })
            .collect()
    }

    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
    }
}

/// Locks a mutex, ignoring poisoning: the mock's state stays usable even if
/// a test thread panicked while holding a lock.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
