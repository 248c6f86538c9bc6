//! What an operator is told, and how often: the one place operator lines are written.
//!
//! Per-request outcomes log at `debug`. What an operator acts on is written here, at `warn` (or
//! `info` for a count), in one of two ways:
//! - **once** per resource, for a wiring mistake or a provider mismatch that repeats on every
//!   request and has one fix ([`Once`]);
//! - **throttled**, at most one line per interval per resource with the number of events since
//!   the previous line, for what clients can trigger at will (an unreachable authorization
//!   server, a flood of refusals, a binding store that cannot answer) ([`Throttle`]).
//!
//! No line holds a token, a subject or a client id.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The shortest time between two throttled lines of one kind for one resource.
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

/// Lets the first event through, and no other.
#[derive(Debug, Default)]
pub(crate) struct Once(AtomicBool);

impl Once {
    /// `true` the first time only.
    pub(crate) fn first(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }
}

/// The operator lines of one resource.
#[derive(Debug, Default)]
pub(crate) struct Notices {
    unavailable: Throttle,
    rejected: Throttle,
    store_unavailable: Throttle,
    foreign_binding: Throttle,
    id_collision: Throttle,
    metadata_behind_layer: Once,
    mount_path: Once,
    no_layer: Once,
    #[cfg(feature = "rmcp")]
    unchecked_tool_scopes: Once,
    typ_refused: Once,
    body_limit_without_mcp: Once,
    /// Bearer layers made for the resource, for the "served unprotected" notice.
    layers: AtomicUsize,
}

impl Notices {
    /// A refused request; one `info` line per interval with the count.
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

    /// The authorization server (its keys, its introspection endpoint) could not be used.
    pub(crate) fn unavailable(&self, resource: &str, reason: &str) {
        if let Some(suppressed) = self.unavailable.admit() {
            tracing::warn!(resource, %reason, suppressed, "authorization server unavailable");
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

    /// A layer with a body limit for MCP mode but without MCP mode wrapped a service: warns once.
    pub(crate) fn body_limit_without_mcp(&self, id: &str) {
        if self.body_limit_without_mcp.first() {
            tracing::warn!(
                resource = %id,
                "a bearer layer of `{id}` sets mcp_max_body_bytes but is not in MCP mode: it reads no \
                 body, so per-operation scopes and session binding are not enforced. Add \
                 `.mcp(Server::tool_scopes())`, or use `resource.mcp_layer(..)`"
            );
        }
    }

    /// Records that a bearer layer was made.
    pub(crate) fn layer_made(&self) {
        self.layers.fetch_add(1, Ordering::Relaxed);
    }

    /// The metadata document is being served: warns (once) when no layer protects the resource.
    pub(crate) fn metadata_served(&self, id: &str) {
        if self.layers.load(Ordering::Relaxed) == 0 && self.no_layer.first() {
            tracing::warn!(
                resource = %id,
                "the metadata document of `{id}` is served, but no bearer layer was made for it: \
                 its endpoint is not protected. Wire it with `.mcp_router(service, Server::tool_scopes())` \
                 (or put `.layer(resource.mcp_layer(..))` on the routes that serve it)"
            );
        }
    }

    /// A metadata request reached the bearer layer: warns once.
    pub(crate) fn metadata_behind_layer(&self, id: &str) {
        if self.metadata_behind_layer.first() {
            tracing::warn!(
                resource = %id,
                "the metadata router of `{id}` is merged inside the bearer layer; the layer answers \
                 its requests itself, but merge it outside: `.layer(..).merge(resource.metadata_router())`, \
                 or use `.mcp_router(..)`"
            );
        }
    }

    /// An MCP request arrived at `path` while the identifier says `expected`: warns once.
    pub(crate) fn mcp_request_at(&self, id: &str, path: &str, expected: &str) {
        if path != expected && self.mount_path.first() {
            tracing::warn!(
                resource = %id,
                "MCP requests arrive at `{path}`, but the resource identifier `{id}` says `{expected}`: \
                 MCP clients compare the two and refuse the server. Mount the MCP service at \
                 `{expected}` (`.mcp_router(..)` does), or change the identifier to the public URL \
                 of the endpoint"
            );
        }
    }

    /// A `#[requires_scope]` tool was reached by a token without its scopes: warns once.
    #[cfg(feature = "rmcp")]
    pub(crate) fn unchecked_tool_scopes(&self, id: &str, resource_type: &str) {
        if self.unchecked_tool_scopes.first() {
            tracing::warn!(
                resource = %id,
                "a tool marked #[requires_scope] was called with a token that lacks its scopes, and \
                 the layer did not refuse it: the MCP service is not behind `mcp_layer(..::tool_scopes())` \
                 of `{resource_type}`. The tool refused the call with a JSON-RPC error; wire the \
                 endpoint with `.mcp_router(service, Server::tool_scopes())` so that clients get the \
                 `403` they step up on"
            );
        }
    }

    /// A token was refused for its `typ` header: names the setting, once. Clients only see
    /// "must be at+jwt"; the operator's log says how to accept the provider's tokens.
    pub(crate) fn typ_refused(&self, id: &str) {
        if self.typ_refused.first() {
            tracing::warn!(
                resource = %id,
                "an access token was refused because its `typ` header is not `at+jwt` (RFC 9068 §4). \
                 If your authorization server mints `typ: JWT` access tokens (Keycloak, Auth0's default \
                 token profile, Entra ID, ...), accept them with `accept_jwt_typ = true` in \
                 #[mcp_resource], or `.verify(|v| v.typ(TypPolicy::AllowJwt))` on the resource"
            );
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

    #[test]
    fn once_is_once() {
        let once = Once::default();
        assert!(once.first());
        assert!(!once.first());
    }
}
