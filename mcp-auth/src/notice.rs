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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The shortest time between two throttled lines of one kind for one resource.
pub(crate) const INTERVAL_MS: u64 = 10_000;

/// How long after its metadata router is made a resource is expected to have its layer.
const WIRING_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

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
    /// Whether the event happened already.
    fn is_done(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

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
    downstream_client_refused: Throttle,
    foreign_binding: Throttle,
    id_collision: Throttle,
    metadata_behind_layer: Once,
    mount_path: Once,
    no_layer: Once,
    #[cfg(feature = "rmcp")]
    unchecked_tool_scopes: Once,
    /// One per [`Mismatch`].
    mismatches: [Once; Mismatch::COUNT],
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
        crate::metric::count(
            crate::metric::BINDING_STORE_ERRORS,
            &[("resource", resource)],
        );
        if let Some(suppressed) = self.store_unavailable.admit() {
            tracing::warn!(
                resource,
                %reason,
                suppressed,
                "binding store unavailable; requests that need a session, task, state handle or DPoP proof binding get 503"
            );
        }
    }

    /// The token endpoint of `issuer` refused the resource server's own client for a downstream
    /// exchange (`invalid_client`, `unauthorized_client`): every caller's exchange fails until
    /// the configuration is fixed.
    pub(crate) fn downstream_client_refused(&self, resource: &str, issuer: &str) {
        if let Some(suppressed) = self.downstream_client_refused.admit() {
            tracing::warn!(
                resource,
                issuer,
                suppressed,
                "the token endpoint refused the resource server's client for a downstream exchange; check its client id, secret or key (ProtectedResource::downstream), and that the authorization server lets it use the grant for that audience"
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

    /// A metadata router was made, at start-up: once the code that builds the application has
    /// run (two seconds later), warns when no bearer layer was made for the resource, so that a
    /// forgotten layer is named before the first client calls (outside a tokio runtime, at the
    /// first metadata request only).
    pub(crate) fn check_layer_soon(self: Arc<Self>, id: &str) {
        if self.no_layer.is_done() {
            return;
        }
        // A thread, not a task: a runtime without its timer (or none at all) must not matter.
        // The line goes to the subscriber of the code that made the router.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let id = id.to_owned();
        let spawned = std::thread::Builder::new()
            .name("mcp-auth-wiring".into())
            .spawn(move || {
                std::thread::sleep(WIRING_GRACE);
                tracing::dispatcher::with_default(&dispatch, || self.metadata_served(&id));
            });
        // No thread: the first metadata request still checks.
        drop(spawned);
    }

    /// The metadata document is being served: warns (once) when no layer protects the resource.
    pub(crate) fn metadata_served(&self, id: &str) {
        if self.layers.load(Ordering::Relaxed) == 0 && self.no_layer.first() {
            tracing::warn!(
                resource = %id,
                "the metadata document of `{id}` is served, but no bearer layer was made for it \
                 (within 2 s of its metadata router): \
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

    /// A token was refused for a difference between what the provider issues and what the
    /// resource expects: the first time per cause, a `warn` naming the setting or the
    /// provider-side fix. Clients only see the RFC 6750 refusal.
    pub(crate) fn mismatch(&self, id: &str, mismatch: Mismatch) {
        if self.mismatches[mismatch as usize].first() {
            tracing::warn!(resource = %id, "{}", mismatch.advice(id));
        }
    }
}

/// A provider's token shape the resource refuses by default, and what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mismatch {
    /// `typ` is `JWT` or absent, not `at+jwt`.
    Typ,
    /// No `aud` claim.
    NoAudience,
    /// An `aud` that does not name the resource (an API identifier).
    ForeignAudience,
    /// `azp` and no `client_id`.
    ClientIdInAzp,
    /// Scopes in `scp`, which the resource does not read: refused for its scopes.
    ScopesInScp,
}

impl Mismatch {
    const COUNT: usize = 5;

    fn advice(self, id: &str) -> String {
        match self {
            Self::Typ => "an access token was refused because its `typ` header is not `at+jwt` (RFC 9068 §4). \
                 If your authorization server mints `typ: JWT` access tokens (Keycloak, Auth0's default \
                 token profile, Entra ID, ...), accept them with `accept_jwt_typ = true` in \
                 #[mcp_resource], or `.verify(|v| v.typ(TypPolicy::AllowJwt))` on the resource".to_owned(),
            Self::NoAudience => format!(
                "an access token was refused because it has no `aud` claim: this resource accepts \
                 only tokens issued for it (RFC 8707, MCP's audience validation). Keycloak 26 and \
                 Cognito issue access tokens without `aud` by default: have the provider put `{id}` \
                 in `aud` (Keycloak: an Audience mapper, or clients sending `resource={id}`; \
                 Cognito: a resource server with that identifier), or, giving up the audience \
                 binding for one issuer, `.verify(|v| v.accept_missing_audience_from(ISSUER))`"
            ),
            Self::ForeignAudience => format!(
                "an access token was refused because its `aud` does not name this resource \
                 (`{id}`): the provider issued it for another audience, usually an API identifier \
                 (Auth0's API audience, Entra's `api://...`, Okta's authorization-server audience). \
                 Make that identifier `{id}` at the provider, have clients send `resource={id}` \
                 (RFC 8707), or accept the identifier too with `.verify(|v| v.extra_audience(\"...\"))`"
            ),
            Self::ClientIdInAzp => "an access token was refused because it names its client in `azp` \
                 and has no `client_id` (RFC 9068 §2.2); Keycloak and Entra ID do this. Accept `azp` \
                 as the client id with `lenient_claims = true` in #[mcp_resource] (or \
                 `.verify(|v| v.claims(ClaimsProfile::Lenient))`), or add a `client_id` claim at the \
                 provider".to_owned(),
            Self::ScopesInScp => "a token without a `scope` claim but with `scp` was refused for its \
                 scopes: this resource reads scopes from `scope` (RFC 9068 §2.2.3). If your provider \
                 puts them in `scp` (Okta, Entra ID), read it with `scope_claim = \"scp\"` in \
                 #[mcp_resource], or `.verify(|v| v.scope_claims([ScopeClaim::Scope, ScopeClaim::Scp]))`"
                .to_owned(),
        }
    }

    /// The mismatch a verification error shows, if it is one.
    pub(crate) fn of(error: &crate::VerifyError) -> Option<Self> {
        match error {
            crate::VerifyError::InvalidType => Some(Self::Typ),
            crate::VerifyError::MissingClaim("aud") => Some(Self::NoAudience),
            crate::VerifyError::InvalidAudience => Some(Self::ForeignAudience),
            crate::VerifyError::ClientIdInAzp => Some(Self::ClientIdInAzp),
            _ => None,
        }
    }

    /// Whether the token `info`, refused for its scopes, holds them in an `scp` the resource
    /// does not read.
    pub(crate) fn scopes_in_scp(info: &crate::AuthInfo) -> bool {
        info.scopes().is_empty()
            && !info.claims().contains_key("scope")
            && info.claims().contains_key("scp")
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
    fn each_mismatch_is_told_once_naming_its_fix() {
        let notices = Notices::default();
        for mismatch in [
            Mismatch::Typ,
            Mismatch::NoAudience,
            Mismatch::ForeignAudience,
            Mismatch::ClientIdInAzp,
            Mismatch::ScopesInScp,
        ] {
            assert!(notices.mismatches[mismatch as usize].first());
            assert!(!notices.mismatches[mismatch as usize].first());
        }
        let id = "https://mcp.example.com/mcp";
        assert!(
            Mismatch::NoAudience
                .advice(id)
                .contains("accept_missing_audience_from")
        );
        assert!(
            Mismatch::ForeignAudience
                .advice(id)
                .contains("extra_audience")
        );
        assert!(
            Mismatch::ClientIdInAzp
                .advice(id)
                .contains("lenient_claims")
        );
        assert!(Mismatch::ScopesInScp.advice(id).contains("scope_claim"));
        assert!(Mismatch::Typ.advice(id).contains("accept_jwt_typ"));
    }

    #[test]
    fn once_is_once() {
        let once = Once::default();
        assert!(once.first());
        assert!(!once.first());
    }
}
