//! The tower layer that guards routes with bearer tokens.
//!
//! [`BearerLayer`] runs before every request to the routes it wraps (the MCP endpoint is one
//! route, so one layer guards every MCP request, as MCP requires):
//!
//! 1. `OPTIONS` is answered with `204` and CORS headers, never authenticated (browsers send
//!    CORS preflights without credentials).
//! 2. A present `Origin` outside the configured allow-list gets `403` before any token check
//!    (MCP's Streamable HTTP transport: Origin validation). Before that, header lines whose
//!    repetition changes meaning are refused: more than one `Origin` (`403`), a missing, repeated
//!    or invalid `Host` in HTTP/1.1 (`400`, RFC 9112 §3.2).
//! 3. The token is taken from the `Authorization` header only ([`extract_bearer`], RFC 6750
//!    §2.1, MCP's token requirements): none → `401` with a challenge without error code;
//!    malformed → `400 invalid_request` (both RFC 6750 §3.1).
//! 4. The resource's verifier checks it: invalid → `401 invalid_token` (RFC 6750 §3.1); the
//!    authorization server is unreachable → `503` with `Retry-After`, so clients do not loop
//!    into re-authorization.
//! 5. The layer's required scopes (all of them, with the resource's scope hierarchy, as MCP
//!    requires): missing → `403 insufficient_scope` with every scope the operation needs plus
//!    the granted baseline scopes (RFC 6750 §3.1, MCP's scope challenge handling).
//! 6. The verified token goes into the request extensions, where [`Auth`](crate::Auth) finds it,
//!    and the request proceeds. A clone of the [`AuthInfo`](crate::AuthInfo) is inserted there too,
//!    for code that reads extensions directly (`Extension<AuthInfo>` in axum, `parts.extensions` in
//!    an rmcp tool, see `mcp_auth::rmcp` with the `rmcp` feature).
//!
//! Every `401`/`403` carries one `Bearer` challenge with the absolute `resource_metadata` URL
//! (RFC 6750 §3, RFC 9728 §5.1), a JSON body without token material, and the CORS headers a
//! browser client needs to read the challenge.

use std::any::TypeId;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use http::header::HeaderMap;
use http::{Method, Request};
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::bearer::{BearerOutcome, extract_bearer};
use crate::cors;
use crate::error::VerifyError;
use crate::extract::Authenticated;
use crate::mcp::{McpPolicy, McpScopes};
use crate::rejection::{AuthRejection, ErrorBodyHook};
use crate::resource::{AnyResource, ResourceAuth, ResourceInner};
use crate::scope::challenge_scopes;
use crate::verify::TokenVerifier as _;

/// Guards routes with bearer tokens for one protected resource. See the [module docs](self).
///
/// Made by [`ResourceAuth::layer`] (or [`ResourceServer::bearer`](crate::ResourceServer::bearer)).
/// `R` ties the layer to a `#[mcp_resource]` type, so that [`Auth<R>`](crate::Auth) only accepts
/// tokens this layer verified; runtime-configured resources use [`AnyResource`].
pub struct BearerLayer<R = AnyResource> {
    config: Arc<LayerConfig>,
    _resource: PhantomData<fn() -> R>,
}

#[derive(Clone)]
struct LayerConfig {
    resource: Arc<ResourceInner>,
    required: Arc<[String]>,
    /// The `scope` of challenges to requests without (valid) credentials.
    unauthenticated_scopes: Vec<String>,
    error_body: Option<ErrorBodyHook>,
    cors: bool,
    /// MCP mode: per-operation scopes from the JSON-RPC body and session binding.
    mcp: Option<Arc<McpPolicy>>,
}

impl<R> Clone for BearerLayer<R> {
    fn clone(&self) -> Self {
        Self {
            config: Arc::clone(&self.config),
            _resource: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for BearerLayer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerLayer")
            .field("resource", &self.config.resource.id)
            .field("required_scopes", &self.config.required)
            .finish_non_exhaustive()
    }
}

impl<R: 'static> BearerLayer<R> {
    /// A layer for `resource`, tied to the marker type `R`, with no required scopes.
    pub(crate) fn for_resource(resource: Arc<ResourceInner>) -> Self {
        resource.wiring.layer_made();
        let unauthenticated_scopes = resource.base_scopes.clone();
        Self {
            config: Arc::new(LayerConfig {
                resource,
                required: Arc::from(Vec::new()),
                unauthenticated_scopes,
                error_body: None,
                cors: true,
                mcp: None,
            }),
            _resource: PhantomData,
        }
    }

    fn edit(self, f: impl FnOnce(&mut LayerConfig)) -> Self {
        let mut config = LayerConfig::clone(&self.config);
        f(&mut config);
        Self {
            config: Arc::new(config),
            _resource: PhantomData,
        }
    }

    /// Scopes every request must have been granted, all of them. They lead the `scope` of the
    /// challenges, followed by `scopes_supported`.
    pub fn required_scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let required: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.edit(|c| {
            let mut challenge = required.clone();
            for s in &c.resource.base_scopes {
                if !challenge.contains(s) {
                    challenge.push(s.clone());
                }
            }
            c.unauthenticated_scopes = challenge;
            c.required = Arc::from(required);
        })
    }

    /// Builds the JSON body of every rejection (the status and the `WWW-Authenticate`,
    /// `Retry-After` and CORS headers stay the layer's).
    pub fn error_body(
        self,
        hook: impl Fn(&AuthRejection) -> serde_json::Value + Send + Sync + 'static,
    ) -> Self {
        self.edit(|c| c.error_body = Some(Arc::new(hook)))
    }

    /// Turns off the layer's CORS handling (answering preflights, `Access-Control-*` headers),
    /// for applications that put their own CORS layer outside this one.
    pub fn without_cors(self) -> Self {
        self.edit(|c| c.cors = false)
    }

    /// MCP mode: reads the JSON-RPC body of each `POST` (up to 4 MiB, see
    /// [`mcp_max_body_bytes`](Self::mcp_max_body_bytes)), requires the scopes `scopes` names for
    /// its operations (answering `403 insufficient_scope` before dispatch), and binds the MCP
    /// sessions the server issues to the user who created them. See [`crate::mcp`].
    pub fn mcp(self, scopes: McpScopes) -> Self {
        self.edit(|c| {
            let max = c
                .mcp
                .as_ref()
                .map_or(crate::mcp::DEFAULT_MAX_BODY_BYTES, |m| m.max_body_bytes);
            c.mcp = Some(Arc::new(McpPolicy::new(scopes, max)));
        })
    }

    /// The largest JSON-RPC body MCP mode reads (default 4 MiB); larger ones get `413`.
    pub fn mcp_max_body_bytes(self, max: usize) -> Self {
        self.edit(|c| {
            let scopes = c.mcp.as_ref().map(|m| m.scopes.clone()).unwrap_or_default();
            c.mcp = Some(Arc::new(McpPolicy::new(scopes, max)));
        })
    }
}

impl<R: 'static> BearerLayer<R> {
    /// The resource this layer protects.
    pub fn resource(&self) -> ResourceAuth<R> {
        ResourceAuth::from_inner(Arc::clone(&self.config.resource))
    }
}

impl<S, R: 'static> Layer<S> for BearerLayer<R> {
    type Service = BearerService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerService {
            inner,
            config: Arc::clone(&self.config),
            _resource: PhantomData,
        }
    }
}

/// The service of a [`BearerLayer`].
pub struct BearerService<S, R = AnyResource> {
    inner: S,
    config: Arc<LayerConfig>,
    _resource: PhantomData<fn() -> R>,
}

impl<S: Clone, R> Clone for BearerService<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            _resource: PhantomData,
        }
    }
}

impl<S, R> std::fmt::Debug for BearerService<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerService")
            .field("resource", &self.config.resource.id)
            .finish_non_exhaustive()
    }
}

/// The response future of a [`BearerService`].
pub struct BearerFuture {
    inner: Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>,
}

impl Future for BearerFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for BearerFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerFuture")
    }
}

impl<S, R> Service<Request<Body>> for BearerService<S, R>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BearerFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The ready inner service serves this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        // At debug, like the per-request outcomes: at info, formatting it costs every request.
        let span = tracing::debug_span!(
            "mcp_auth",
            resource = %config.resource.id,
            method = %request.method(),
            path = %request.uri().path(),
        );
        if let Some(response) = wiring_mistake(&config, &request) {
            return BearerFuture {
                inner: Box::pin(std::future::ready(Ok(response))),
            };
        }
        // Ambiguous `Origin` or `Host` lines: refused before anything else (see `framing`).
        if let Some(rejection) =
            crate::framing::refusal(request.version(), request.uri(), request.headers())
        {
            let response = rejection.render(config.error_body.as_ref());
            return BearerFuture {
                inner: Box::pin(std::future::ready(Ok(response))),
            };
        }
        let future = async move {
            // The origin policy is decided once: a refused origin gets 403 before any token
            // check, and CORS headers go only to an allowed one (a refused page must not read
            // the 403).
            let origin = crate::framing::single_origin(request.headers()).cloned();
            let allowed = origin.as_ref().map(|o| {
                config
                    .resource
                    .settings
                    .origins
                    .allows(o, &config.resource.origin)
            });
            let origin = origin.filter(|_| allowed == Some(true));
            let mut response = match authorize::<R>(
                &config,
                allowed == Some(false),
                request.method(),
                request.headers(),
                request.uri(),
            )
            .await
            {
                Ok(Decision::Preflight) => cors::endpoint_preflight(request.headers()),
                Ok(Decision::Proceed(authenticated)) => {
                    proceed(&config, &mut inner, request, *authenticated).await?
                }
                Err(rejection) => {
                    let status = rejection.status().as_u16();
                    tracing::debug!(status, "request rejected");
                    config.resource.alerts.rejected(&config.resource.id, status);
                    rejection.render(config.error_body.as_ref())
                }
            };
            if config.cors
                && let Some(origin) = origin
            {
                cors::add_endpoint_headers(response.headers_mut(), &origin);
            }
            Ok(response)
        };
        BearerFuture {
            inner: Box::pin(future.instrument(span)),
        }
    }
}

/// Catches hand-wiring mistakes the request shows (see [`crate::endpoint`]): a metadata request
/// that reached the layer is answered with the (public) document. (A mount path that differs
/// from the identifier's is noticed in [`proceed`], once the MCP service has answered.)
fn wiring_mistake(config: &LayerConfig, request: &Request<Body>) -> Option<Response> {
    let resource = &config.resource;
    let path = request.uri().path();
    let method = request.method();
    if (method == Method::GET || method == Method::HEAD)
        && crate::well_known::is_document_path(resource, path)
    {
        resource.wiring.metadata_behind_layer(&resource.id);
        return Some(crate::well_known::document_response(resource));
    }
    None
}

/// Runs an authenticated request: in MCP mode the session and per-operation checks first.
async fn proceed<S>(
    config: &LayerConfig,
    inner: &mut S,
    request: Request<Body>,
    authenticated: Authenticated,
) -> Result<Response, Infallible>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let Some(policy) = &config.mcp else {
        let mut request = request;
        attach(&mut request, authenticated);
        return inner.call(request).await;
    };
    let binder = crate::mcp::Binder::new(&config.resource, &authenticated.info);
    let session = match binder.check_session(request.headers()).await {
        Ok(session) => session,
        Err(response) => return Ok(response),
    };
    let inspected = match policy.inspect(request).await {
        Ok(inspected) => inspected,
        Err(response) => return Ok(response),
    };
    if let Some(response) = authenticated.refusal(inspected.needed.iter().map(String::as_str)) {
        return Ok(response);
    }
    if let Err(response) = binder.check_tasks(&inspected.tasks, &inspected.id).await {
        return Ok(response);
    }
    let mut request = inspected.request;
    let method = request.method().clone();
    let uri = request.uri().clone();
    attach(&mut request, authenticated);
    let response = inner.call(request).await?;
    let response = binder
        .after(&method, session.as_ref(), inspected.calls_tool, response)
        .await;
    // Only a request the MCP service answered shows where it is mounted: a client posting to
    // any other path behind the layer cannot raise the warning.
    if method == Method::POST && response.status().is_success() {
        let resource = &config.resource;
        resource.wiring.mcp_request_at(&resource.id, uri.path());
    }
    Ok(response)
}

/// Puts the verified token into the request extensions: the [`Authenticated`] record that
/// [`Auth`](crate::Auth) and `mcp_auth::rmcp` trust (only this layer can create one), and a plain
/// [`AuthInfo`](crate::AuthInfo) clone for `Extension<AuthInfo>` users.
fn attach(request: &mut Request<Body>, authenticated: Authenticated) {
    let extensions = request.extensions_mut();
    extensions.insert(authenticated.info.clone());
    extensions.insert(authenticated);
}

enum Decision {
    Preflight,
    Proceed(Box<Authenticated>),
}

async fn authorize<R: 'static>(
    config: &LayerConfig,
    origin_refused: bool,
    method: &Method,
    headers: &HeaderMap,
    uri: &http::Uri,
) -> Result<Decision, AuthRejection> {
    let resource = &config.resource;
    if origin_refused {
        return Err(AuthRejection::forbidden_origin());
    }
    if method == Method::OPTIONS && config.cors {
        return Ok(Decision::Preflight);
    }
    if let Some(dpop) = resource.dpop.as_deref() {
        return authorize_dpop::<R>(config, dpop, method, headers, uri).await;
    }
    let token = match extract_bearer(headers, uri) {
        Ok(BearerOutcome::Token(token)) => token,
        Ok(BearerOutcome::Missing | BearerOutcome::OtherScheme) => {
            return Err(AuthRejection::missing_credentials(
                resource,
                &config.unauthenticated_scopes,
            ));
        }
        Err(why) => {
            tracing::debug!(reason = ?why, "malformed credentials");
            return Err(AuthRejection::malformed(resource, why));
        }
    };
    let info = match resource.verifier.verify(token).await {
        Ok(info) => info,
        Err(error) => {
            match &error {
                VerifyError::Unavailable { reason, .. } => {
                    tracing::debug!(%reason, "authorization server unavailable");
                    resource.alerts.unavailable(&resource.id, reason);
                }
                VerifyError::InvalidType => {
                    tracing::debug!(reason = error.kind(), "token rejected");
                    resource.wiring.typ_refused(&resource.id);
                }
                other => tracing::debug!(reason = other.kind(), "token rejected"),
            }
            return Err(AuthRejection::from_verify_error(
                resource,
                &error,
                &config.unauthenticated_scopes,
            ));
        }
    };
    if let Err(missing) = resource
        .hierarchy
        .require(info.scopes(), config.required.iter())
    {
        tracing::debug!(missing = ?missing.scopes(), "insufficient scope");
        let scopes = challenge_scopes(
            config.required.iter().map(String::as_str),
            &resource.base_scopes,
            &info,
        );
        return Err(AuthRejection::insufficient_scope(
            resource, &scopes, &missing,
        ));
    }
    // No user data in per-request logs: not the subject, not the client, not the token.
    tracing::debug!(kind = ?info.token_kind(), "token verified");
    Ok(Decision::Proceed(Box::new(Authenticated {
        info,
        resource: Arc::clone(resource),
        marker: TypeId::of::<R>(),
        required: Arc::clone(&config.required),
        error_body: config.error_body.clone(),
    })))
}

/// [`authorize`] for a resource that accepts DPoP: the `DPoP` and `Bearer` schemes as its policy
/// says (see [`crate::dpop`]), then the same scope decision, with the DPoP challenge.
async fn authorize_dpop<R: 'static>(
    config: &LayerConfig,
    dpop: &crate::dpop::DpopVerifier,
    method: &Method,
    headers: &HeaderMap,
    uri: &http::Uri,
) -> Result<Decision, AuthRejection> {
    let resource = &config.resource;
    let (info, scheme) = crate::dpop::layer::authenticate(
        resource,
        dpop,
        &config.unauthenticated_scopes,
        method,
        headers,
        uri,
    )
    .await?;
    if let Err(missing) = resource
        .hierarchy
        .require(info.scopes(), config.required.iter())
    {
        tracing::debug!(missing = ?missing.scopes(), "insufficient scope");
        let scopes = challenge_scopes(
            config.required.iter().map(String::as_str),
            &resource.base_scopes,
            &info,
        );
        let rejection = AuthRejection::insufficient_scope(resource, &scopes, &missing);
        return Err(crate::dpop::layer::decorate(
            rejection, resource, scheme, &scopes,
        ));
    }
    tracing::debug!(kind = ?info.token_kind(), ?scheme, "token verified");
    Ok(Decision::Proceed(Box::new(Authenticated {
        info,
        resource: Arc::clone(resource),
        marker: TypeId::of::<R>(),
        required: Arc::clone(&config.required),
        error_body: config.error_body.clone(),
    })))
}
