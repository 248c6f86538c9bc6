//! Rate-limited operator logs: what an operator must act on (an authorization server that cannot
//! be reached, a flood of refused requests) is logged at most once per interval per resource,
//! with the number of events since the previous line. Per-request outcomes log at `debug`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The shortest time between two lines of one kind for one resource.
pub(crate) const INTERVAL_MS: u64 = 10_000;

/// Lets one event per interval through and counts the others.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    /// Unix milliseconds from which the next line may be written.
    next_ms: AtomicU64,
    /// Events since the last line written.
    suppressed: AtomicU64,
}

impl Throttle {
    /// `Some(events suppressed since the last line)` when this event may be logged.
    pub(crate) fn admit(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let next = self.next_ms.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + INTERVAL_MS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// The throttled operator logs of one resource.
#[derive(Debug, Default)]
pub(crate) struct Alerts {
    /// The authorization server (JWKS or introspection) could not be used.
    pub(crate) unavailable: Throttle,
    /// Requests refused with 401/403 (a flood shows as a large count).
    pub(crate) rejected: Throttle,
    /// The binding store could not be used.
    pub(crate) store_unavailable: Throttle,
    /// Session or task ids presented by another user than their owner.
    pub(crate) foreign_binding: Throttle,
    /// Ids the MCP server issued that were bound to another user already.
    pub(crate) id_collision: Throttle,
}

impl Alerts {
    /// Notes a refused request; one `info` line per interval with the count.
    pub(crate) fn rejected(&self, resource: &str, status: u16) {
        if let Some(suppressed) = self.rejected.admit() {
            tracing::info!(
                resource,
                status,
                suppressed,
                interval_secs = INTERVAL_MS / 1000,
                "requests rejected (one line per interval; per-request detail at debug)"
            );
        }
    }

    /// The binding store could not take or check a binding (it did not answer, or it is full:
    /// `reason` says which, and what to change): requests that need one get `503`.
    pub(crate) fn store_unavailable(&self, resource: &str, reason: &str) {
        if let Some(suppressed) = self.store_unavailable.admit() {
            tracing::warn!(
                resource,
                %reason,
                suppressed,
                "binding store unavailable; requests that need a session, task, state handle or DPoP proof binding get 503"
            );
        }
    }

    /// A session or task bound to one user was presented with another user's token.
    pub(crate) fn foreign_binding(&self, resource: &str, kind: &'static str) {
        if let Some(suppressed) = self.foreign_binding.admit() {
            tracing::warn!(
                resource,
                kind,
                suppressed,
                "a session or task id bound to another user was presented; refused"
            );
        }
    }

    /// The MCP server issued a session or task id already bound to another user.
    pub(crate) fn id_collision(&self, resource: &str) {
        if let Some(suppressed) = self.id_collision.admit() {
            tracing::warn!(
                resource,
                suppressed,
                "the MCP server issued a session or task id that is bound to another user; its answer was withheld (are its ids random?)"
            );
        }
    }

    pub(crate) fn unavailable(&self, resource: &str, reason: &str) {
        if let Some(suppressed) = self.unavailable.admit() {
            tracing::warn!(resource, %reason, suppressed, "authorization server unavailable");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count() {
        let throttle = Throttle::default();
        assert_eq!(throttle.admit(), Some(0));
        for _ in 0..9_999 {
            assert_eq!(throttle.admit(), None);
        }
        throttle.next_ms.store(0, Ordering::Relaxed);
        assert_eq!(throttle.admit(), Some(9_999));
    }
}
