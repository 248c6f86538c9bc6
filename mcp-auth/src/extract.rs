//! Axum extractors: [`Auth`] hands the verified token to handlers, [`ScopeGuard`] enforces the
//! scopes of `#[requires_scope]`.

use std::any::{TypeId, type_name};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::auth_info::AuthInfo;
use crate::mcp::Needs;
use crate::protection::Protection;
use crate::rejection::{AuthRejection, ErrorBodyHook};
use crate::spec::AnyResource;
use crate::spec::ScopeSet;

/// What a verified request carries in its extensions: the record that only the bearer layer
/// creates, and that [`Auth`], [`ScopeGuard`], MCP mode and `mcp_auth::rmcp` trust.
#[derive(Clone)]
pub(crate) struct Authenticated {
    pub(crate) info: AuthInfo,
    /// The layer that verified the token (one allocation per layer, shared by its requests).
    pub(crate) layer: Arc<LayerContext>,
    /// Where the request's code records what could not answer it (a binding its state handles
    /// could not make or check, a downstream exchange); the layer that set it answers `503`
    /// then (see `binding::Outage`). With the `rmcp` feature (the only way to state handles),
    /// or at a resource that exchanges tokens.
    pub(crate) outage: Option<Arc<crate::binding::Outage>>,
    /// The verified token itself, kept only when the resource exchanges tokens for downstream
    /// APIs (see [`crate::downstream`]); never in a log line or a `Debug` form.
    pub(crate) token: Option<crate::bearer::OwnedToken>,
}

impl Authenticated {
    /// This record with the verified `token`, when `protection` may exchange it.
    pub(crate) fn with_token(
        mut self,
        protection: &Protection,
        token: crate::bearer::OwnedToken,
    ) -> Self {
        if protection.downstream.is_some() {
            self.token = Some(token);
        }
        self
    }

    /// A token for `audience` with `scopes` on the caller's behalf (see [`crate::downstream`]).
    /// An authorization server that cannot answer is also recorded in the request's outage
    /// record, so that the layer answers `503` with `Retry-After` whatever the code behind it
    /// does with the error.
    pub(crate) async fn downstream_token(
        &self,
        audience: &str,
        scopes: &[&str],
    ) -> Result<crate::downstream::DownstreamToken, crate::downstream::DownstreamError> {
        use crate::downstream::DownstreamError;
        let protection = &self.layer.protection;
        let exchanger = protection
            .downstream
            .as_ref()
            .ok_or(DownstreamError::NotConfigured)?;
        let token = self.token.as_ref().ok_or(DownstreamError::NoToken)?;
        if self.info.token_kind() == crate::auth_info::TokenKind::ApiKey {
            return Err(DownstreamError::NoToken);
        }
        let result = exchanger
            .token(token.as_str(), &self.info, audience, scopes)
            .await;
        if let Err(DownstreamError::Unavailable {
            reason,
            retry_after,
        }) = &result
        {
            // The layer tells the operator when it answers the 503.
            if let Some(outage) = &self.outage {
                outage.record_unavailable(
                    crate::binding::OutageSource::AuthorizationServer,
                    reason,
                    Some(*retry_after),
                );
            }
        }
        if let Err(error) = &result
            && error.refuses_the_client()
        {
            protection
                .notices
                .downstream_client_refused(&protection.id, self.info.issuer());
        }
        result
    }
}

/// What the layer that verified a token tells the code behind it.
pub(crate) struct LayerContext {
    pub(crate) protection: Arc<Protection>,
    /// The `#[mcp_resource]` type of the layer.
    pub(crate) marker: TypeId,
    /// The layer's required scopes.
    pub(crate) required: Arc<[String]>,
    pub(crate) error_body: Option<ErrorBodyHook>,
}

impl Authenticated {
    /// The scope decision for an operation that needs `needed` (beyond the layer's required
    /// scopes, which the layer already checked): `None` when the token has them, else the
    /// `403 insufficient_scope` refusal.
    pub(crate) fn scope_refusal<'a>(
        &self,
        needed: impl Iterator<Item = &'a str> + Clone,
    ) -> Option<AuthRejection> {
        let protection = &self.layer.protection;
        let missing = protection
            .hierarchy
            .require(self.info.scopes(), needed.clone())
            .err()?;
        if crate::notice::Mismatch::scopes_in_scp(&self.info) {
            let mismatch = crate::notice::Mismatch::ScopesInScp;
            protection.notices.mismatch(&protection.id, mismatch);
        }
        Some(AuthRejection::insufficient_scope(
            &protection.challenge,
            &self.info,
            needed,
            &self.layer.required,
            &missing,
        ))
    }

    /// [`scope_refusal`](Self::scope_refusal), rendered with the layer's body hook.
    pub(crate) fn refusal<'a>(
        &self,
        needed: impl Iterator<Item = &'a str> + Clone,
    ) -> Option<Response> {
        self.scope_refusal(needed)
            .map(|rejection| rejection.render(self.layer.error_body.as_ref()))
    }

    /// The role decision for an operation that needs `roles`: `None` when the token holds them,
    /// else the `403` that names the missing ones (see `AuthRejection::forbidden_roles`).
    pub(crate) fn role_refusal(&self, roles: &[&str]) -> Option<AuthRejection> {
        let missing = self.layer.protection.roles.missing(&self.info, roles);
        (!missing.is_empty()).then(|| AuthRejection::forbidden_roles(&missing))
    }

    /// The decision for an operation that needs `needs`, rendered with the layer's body hook:
    /// roles first (a token lacking both gets the answer re-authorizing cannot fix), then
    /// scopes.
    pub(crate) fn operation_refusal(&self, needs: &Needs<'_>) -> Option<Response> {
        match self.role_refusal(needs.roles()) {
            Some(rejection) => Some(rejection.render(self.layer.error_body.as_ref())),
            None => self.refusal(needs.scopes().iter().copied()),
        }
    }

    /// Whether the token may use an operation that needs `needs` (what lists show).
    pub(crate) fn permits(&self, needs: &Needs<'_>) -> bool {
        let protection = &self.layer.protection;
        protection
            .roles
            .missing(&self.info, needs.roles())
            .is_empty()
            && protection
                .hierarchy
                .require(self.info.scopes(), needs.scopes().iter().copied())
                .is_ok()
    }
}

/// The verified token of the request, for handlers behind a [`BearerLayer`](crate::BearerLayer).
///
/// `Auth<Notes>` only accepts a token verified by the layer of the `#[mcp_resource]` type
/// `Notes`, so a handler cannot be reached with a token verified for another resource. `Auth`
/// (that is, `Auth<AnyResource>`) accepts the token of any layer.
///
/// Used on a route without the layer, extraction fails loudly with a `500` that says so: it
/// never lets the request through unauthenticated.
///
/// ```
/// use mcp_auth::Auth;
///
/// async fn whoami(auth: Auth) -> String {
///     format!("{} via {}", auth.subject().unwrap_or("?"), auth.client_id().unwrap_or("?"))
/// }
/// ```
pub struct Auth<R = AnyResource> {
    authenticated: Authenticated,
    _resource: PhantomData<fn() -> R>,
}

impl<R> Auth<R> {
    /// Takes the [`AuthInfo`] out.
    pub fn into_inner(self) -> AuthInfo {
        self.authenticated.info
    }

    /// A token for the downstream API `audience` (its resource identifier, or a name the
    /// authorization server knows) with `scopes`, obtained on the caller's behalf by exchanging
    /// the request's token (see [`downstream`](crate::downstream)); cached until shortly
    /// before it, or the caller's token, expires.
    ///
    /// ```
    /// use mcp_auth::Auth;
    /// use mcp_auth::downstream::DownstreamError;
    ///
    /// async fn backup(auth: Auth) -> Result<String, DownstreamError> {
    ///     let token = auth.downstream_token("https://backup.example.com/api", &["backup:write"]).await?;
    ///     let request = token.authorize(reqwest::Client::new().post("https://backup.example.com/api"));
    ///     # let _ = request;
    ///     Ok("sent".into())
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`DownstreamError`](crate::downstream::DownstreamError): the resource has no downstream client, the request no token to
    /// exchange (an API key), or the authorization server refused, failed or did not answer in
    /// time. As a handler's error it answers `502` for a refused exchange. An authorization
    /// server that was unavailable is also recorded with the request: the layer answers `503`
    /// with `Retry-After`, whatever the handler returns (for an answer already streaming, the
    /// stream ends with an error event).
    pub async fn downstream_token(
        &self,
        audience: &str,
        scopes: &[&str],
    ) -> Result<crate::downstream::DownstreamToken, crate::downstream::DownstreamError> {
        self.authenticated.downstream_token(audience, scopes).await
    }
}

impl<R> Deref for Auth<R> {
    type Target = AuthInfo;

    fn deref(&self) -> &AuthInfo {
        &self.authenticated.info
    }
}

impl<R> Clone for Auth<R> {
    fn clone(&self) -> Self {
        Self {
            authenticated: self.authenticated.clone(),
            _resource: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for Auth<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Auth")
            .field(&self.authenticated.info)
            .finish()
    }
}

/// Why [`Auth`] or [`ScopeGuard`] could not be extracted: the route is not behind the right
/// layer. A programming error, answered with `500` and a message that says how to fix it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct MissingAuthLayer(String);

impl IntoResponse for MissingAuthLayer {
    fn into_response(self) -> Response {
        tracing::error!(message = %self.0, "mcp-auth extractor used without its layer");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({
                "error": "server_error",
                "error_description": self.0,
            })),
        )
            .into_response()
    }
}

fn authenticated<R: 'static>(parts: &Parts) -> Result<&Authenticated, MissingAuthLayer> {
    let Some(auth) = parts.extensions.get::<Authenticated>() else {
        return Err(MissingAuthLayer(format!(
            "Auth<{}> needs the route to be behind mcp-auth's bearer layer; add `.layer(..layer())` to the router that holds this route",
            short_name::<R>()
        )));
    };
    if TypeId::of::<R>() != TypeId::of::<AnyResource>() && auth.layer.marker != TypeId::of::<R>() {
        return Err(MissingAuthLayer(format!(
            "Auth<{}> is used behind the layer of another resource ({}); use that resource's layer or Auth<AnyResource>",
            short_name::<R>(),
            auth.layer.protection.id
        )));
    }
    Ok(auth)
}

fn short_name<T>() -> &'static str {
    let full = type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

impl<S: Send + Sync, R: 'static> FromRequestParts<S> for Auth<R> {
    type Rejection = MissingAuthLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            authenticated: authenticated::<R>(parts)?.clone(),
            _resource: PhantomData,
        })
    }
}

/// Enforces the scopes and roles `S` before a handler runs; inserted by `#[requires_scope]` and
/// `#[requires_role]`.
///
/// A token without the scopes gets the `403 insufficient_scope` challenge of the layer (RFC 6750
/// §3.1), with every scope the handler needs plus the baseline scopes the token holds (clients
/// such as the TypeScript SDK replace their scopes with the challenged ones). A token without
/// the roles gets `403` with no challenge error (see [`crate::mcp`]).
pub struct ScopeGuard<R, S> {
    _marker: PhantomData<fn() -> (R, S)>,
}

impl<R, S> std::fmt::Debug for ScopeGuard<R, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScopeGuard")
    }
}

/// The rejection of a [`ScopeGuard`].
#[derive(Debug)]
pub enum ScopeRejection {
    /// The route is not behind the resource's layer.
    MissingLayer(MissingAuthLayer),
    /// The token lacks scopes: the ready `403` response.
    Insufficient(Response),
}

impl IntoResponse for ScopeRejection {
    fn into_response(self) -> Response {
        match self {
            Self::MissingLayer(e) => e.into_response(),
            Self::Insufficient(response) => response,
        }
    }
}

impl<St: Send + Sync, R: 'static, S: ScopeSet> FromRequestParts<St> for ScopeGuard<R, S> {
    type Rejection = ScopeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let auth = authenticated::<R>(parts).map_err(ScopeRejection::MissingLayer)?;
        let needs = Needs::from_static(S::SCOPES, S::ROLES);
        if let Some(response) = auth.operation_refusal(&needs) {
            return Err(ScopeRejection::Insufficient(response));
        }
        Ok(Self {
            _marker: PhantomData,
        })
    }
}

#[cfg(feature = "rmcp")]
impl Authenticated {
    /// The state handles of the token's user on this resource (see
    /// [`StateHandles`](crate::binding::StateHandles)).
    pub(crate) fn handles(&self) -> crate::binding::StateHandles {
        let protection = &self.layer.protection;
        crate::binding::StateHandles::new(
            Arc::clone(protection.bindings.shared()),
            Arc::from(protection.id.as_str()),
            crate::binding::Owner::of(&self.info),
            self.outage.clone(),
        )
    }
}
