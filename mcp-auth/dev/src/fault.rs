//! Fault injection and request counting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How a route misbehaves, set with
/// [`AuthorizationServer::set_fault`](super::AuthorizationServer::set_fault).
///
/// A fault stays until [`clear_faults`](super::AuthorizationServer::clear_faults) or until
/// another fault is set for the same path. Requests are counted before a fault applies.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth_dev::Fault;
///
/// let outage = Fault::Status(503);
/// let slow = Fault::Delay(Duration::from_secs(2));
/// let garbage = Fault::Body {
///     status: 200,
///     content_type: "text/html".into(),
///     body: "<html>login</html>".into(),
/// };
/// let lying = Fault::json(200, &serde_json::json!({"active": true, "exp": 1}));
/// # let _ = (outage, slow, garbage, lying);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and a JSON error body
    /// (`{"error":"server_error"|"invalid_request","error_description":...}`). A number that is
    /// not a valid HTTP status (below 100 or above 999) is answered with 500.
    Status(u16),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer with exactly this status, `Content-Type` and body.
    Body {
        /// The HTTP status (invalid numbers become 500).
        status: u16,
        /// The `Content-Type` header (an invalid header value becomes `text/plain`).
        content_type: String,
        /// The body.
        body: String,
    },
}

impl Fault {
    /// A [`Fault::Body`] holding `body` as `application/json`.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::Body {
            status,
            content_type: "application/json".into(),
            body: body.to_string(),
        }
    }
}

/// Counters and faults, keyed by request path.
#[derive(Debug, Default)]
pub(crate) struct Traffic {
    total: AtomicUsize,
    counts: Mutex<HashMap<String, usize>>,
    faults: Mutex<HashMap<String, Fault>>,
}

impl Traffic {
    /// Counts one request at `path` and returns the fault set for it.
    pub(crate) fn record(&self, path: &str) -> Option<Fault> {
        self.total.fetch_add(1, Ordering::SeqCst);
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(path.to_owned())
            .or_default() += 1;
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned()
    }

    pub(crate) fn count(&self, path: &str) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    pub(crate) fn set_fault(&self, path: String, fault: Fault) {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path, fault);
    }

    pub(crate) fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
