//! What the request path reads of a resource: one value, built with the resource, shared by its
//! layers, its extractors and the code behind them.
//!
//! The layer decides a request from this alone: how its `Host` and `Origin` are judged, how its
//! token is verified (and, for DPoP, its proof), what its refusals say, where its bindings live
//! and what the operator is told. The resource's configuration, its routers and its metadata
//! builder live above it (`ProtectedResource`) and never reach the request path.

use std::sync::Arc;

use crate::binding::BindingOptions;
use crate::cors::OriginPolicy;
use crate::dpop::DpopVerifier;
use crate::notice::Notices;
use crate::rejection::ChallengeContext;
use crate::scope::ScopeHierarchy;
use crate::verify::SharedVerifier;
use crate::well_known::Document;

impl Protection {
    /// The answer for a Bearer `token` that is one of the resource's API keys; `None` for any
    /// other token (and at once for a JWT-shaped one: no key looks like a JWT).
    pub(crate) fn api_key(
        &self,
        token: &str,
    ) -> Option<Result<crate::AuthInfo, crate::VerifyError>> {
        let (keys, clock) = self.api_keys.as_ref()?;
        if crate::jws::is_jwt_shaped(token) {
            return None;
        }
        keys.check(token, clock.unix_seconds(), &self.roles)
    }
}

/// A resource as its request path sees it.
#[derive(Debug)]
pub(crate) struct Protection {
    /// The canonical resource identifier.
    pub(crate) id: String,
    /// `host[:port]` of the identifier (no default port): the `Host` its clients send, valid
    /// without parsing.
    pub(crate) authority: String,
    /// `scheme://host[:port]` of the identifier: a browser's same-origin `Origin`.
    pub(crate) origin: String,
    /// The path of the identifier, where the MCP service is expected.
    pub(crate) path: String,
    /// Which other browser origins may call.
    pub(crate) origins: OriginPolicy,
    pub(crate) verifier: SharedVerifier,
    /// The DPoP proof checks, when the resource accepts the `DPoP` scheme.
    pub(crate) dpop: Option<Arc<DpopVerifier>>,
    pub(crate) hierarchy: ScopeHierarchy,
    /// Where its tokens hold their roles.
    pub(crate) roles: crate::role::RoleClaim,
    /// The static API keys it accepts beside tokens, and the clock their expiry is read on.
    pub(crate) api_keys: Option<(crate::verify::ApiKeys, crate::clock::SharedClock)>,
    /// What every refusal's challenges say.
    pub(crate) challenge: ChallengeContext,
    /// Where sessions, tasks and handles are bound to their users.
    pub(crate) bindings: BindingOptions,
    /// The metadata document, for a metadata request that reached the layer.
    pub(crate) document: Arc<Document>,
    /// The operator lines of the resource.
    pub(crate) notices: Arc<Notices>,
    /// Its client for downstream tokens, when configured.
    pub(crate) downstream: Option<Arc<crate::downstream::Exchanger>>,
    /// Its decisions, as metrics and audit events.
    pub(crate) telemetry: crate::telemetry::Telemetry,
}
