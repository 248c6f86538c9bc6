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
use http::{Method, Request};
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::auth_info::AuthInfo;
use crate::bearer::{BearerOutcome, TokenShape, extract_bearer_scanned};
use crate::cors;
use crate::error::VerifyError;
use crate::extract::{Authenticated, LayerContext};
use crate::mcp::{McpPolicy, McpScopes};
use crate::rejection::{AuthRejection, ErrorBodyHook, PrebuiltRejections, RejectionKey};
use crate::resource::{AnyResource, ResourceAuth, ResourceInner};
use crate::scope::challenge_scopes;
use crate::verify::{MissTicket, Probe, TokenVerifier as _};

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
    /// The refusals rendered so far (used without an `error_body` hook); replaced by every
    /// edit of the configuration.
    prebuilt: Arc<PrebuiltRejections>,
    /// What the requests this layer passes carry to the code behind it (one allocation per
    /// layer, shared by them); rebuilt by every edit of the configuration.
    context: Arc<LayerContext>,
}

/// The [`LayerContext`] of a layer of `R` with this resource, required scopes and error body.
fn layer_context<R: 'static>(
    resource: &Arc<ResourceInner>,
    required: &Arc<[String]>,
    error_body: Option<&ErrorBodyHook>,
) -> Arc<LayerContext> {
    Arc::new(LayerContext {
        resource: Arc::clone(resource),
        marker: TypeId::of::<R>(),
        required: Arc::clone(required),
        error_body: error_body.cloned(),
    })
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
        let required: Arc<[String]> = Arc::from(Vec::new());
        let context = layer_context::<R>(&resource, &required, None);
        Self {
            config: Arc::new(LayerConfig {
                resource,
                required,
                unauthenticated_scopes,
                error_body: None,
                cors: true,
                mcp: None,
                prebuilt: Arc::default(),
                context,
            }),
            _resource: PhantomData,
        }
    }

    fn edit(self, f: impl FnOnce(&mut LayerConfig)) -> Self {
        let mut config = LayerConfig::clone(&self.config);
        f(&mut config);
        config.prebuilt = Arc::default();
        config.context = layer_context::<R>(
            &config.resource,
            &config.required,
            config.error_body.as_ref(),
        );
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
    /// [`mcp_max_body_bytes`](Self::mcp_max_body_bytes)), checks the standard MCP headers
    /// against it (`400` on disagreement), requires the scopes `scopes` names for its operations
    /// (answering `403 insufficient_scope` before dispatch), and binds the sessions and tasks the
    /// server creates to the user who created them, in the resource's
    /// [binding store](crate::binding). See [`crate::mcp`].
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

pin_project_lite::pin_project! {
    /// The response future of a [`BearerService`] whose inner service answers with `F`.
    pub struct BearerFuture<F> {
        #[pin]
        state: FutureState<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = FutureStateProj]
    enum FutureState<F> {
        /// Answered without waiting (a rejection or a preflight): no task state to allocate.
        Ready { response: Option<Response> },
        /// Decided without waiting and passed on: the inner service's own future, unboxed.
        Passed {
            #[pin]
            future: F,
            cors_origin: Option<http::HeaderValue>,
            watch: Option<Watch>,
        },
        /// Decided after waiting (verification, MCP mode, DPoP).
        Boxed { future: Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>> },
    }
}

impl<F> BearerFuture<F> {
    fn ready(response: Response) -> Self {
        Self {
            state: FutureState::Ready {
                response: Some(response),
            },
        }
    }

    fn passed(future: F, cors_origin: Option<http::HeaderValue>, watch: Option<Watch>) -> Self {
        Self {
            state: FutureState::Passed {
                future,
                cors_origin,
                watch,
            },
        }
    }

    fn boxed(future: impl Future<Output = Result<Response, Infallible>> + Send + 'static) -> Self {
        Self {
            state: FutureState::Boxed {
                future: Box::pin(future),
            },
        }
    }
}

impl<F> Future for BearerFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            // Polled again after completion: a contract violation; answer rather than panic.
            FutureStateProj::Ready { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_default()))
            }
            FutureStateProj::Passed {
                future,
                cors_origin,
                watch,
            } => {
                let Ok(response) = std::task::ready!(future.poll(cx));
                let response = match watch {
                    Some(watch) => watch.checked(response),
                    None => response,
                };
                Poll::Ready(Ok(with_cors(response, cors_origin.as_ref())))
            }
            FutureStateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F> std::fmt::Debug for BearerFuture<F> {
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
    type Future = BearerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let config = &*self.config;
        // At debug, like the per-request outcomes: at info, formatting it costs every request.
        let span = tracing::debug_span!(
            "mcp_auth",
            resource = %config.resource.id,
            method = %request.method(),
            path = %request.uri().path(),
        );
        if let Some(response) = wiring_mistake(config, &request) {
            return BearerFuture::ready(response);
        }
        // Ambiguous `Origin` or `Host` lines: refused before anything else (see `framing`).
        if let Some(rejection) = crate::framing::refusal(
            request.version(),
            request.uri(),
            request.headers(),
            &config.resource.authority,
        ) {
            return BearerFuture::ready(rejection.render(config.error_body.as_ref()));
        }
        // The origin policy is decided once: a refused origin gets 403 before any token check,
        // and CORS headers go only to an allowed one (a refused page must not read the 403).
        let origin = crate::framing::single_origin(request.headers()).cloned();
        let allowed = origin.as_ref().map(|o| {
            config
                .resource
                .settings
                .origins
                .allows(o, &config.resource.origin)
        });
        let origin = origin.filter(|_| allowed == Some(true));
        let cors_origin = origin.filter(|_| config.cors);
        // A request decided without waiting (a refusal, or a token the verifier's cache
        // answers) is answered here, or passed on without a task of its own; in MCP mode an
        // accepted one still goes through the MCP checks, which read the body and wait. (A
        // resource that accepts DPoP checks a proof on every request: the full path.)
        let mut ticket = None;
        let mut verified = None;
        if config.resource.dpop.is_none() {
            let entered = span.enter();
            let decided = match start(config, allowed == Some(false), Head::of(&request)) {
                Err(rejected) => Some(Err(rejected)),
                Ok(Start::Preflight) => {
                    let response = cors::endpoint_preflight(request.headers());
                    drop(entered);
                    return BearerFuture::ready(with_cors(response, cors_origin.as_ref()));
                }
                Ok(Start::Token(token, shape)) => {
                    match config.resource.verifier.probe(token, shape) {
                        Some(Probe::Answer(outcome)) => Some(finish(config, outcome)),
                        Some(Probe::Miss(missed)) => {
                            ticket = Some(missed);
                            None
                        }
                        None => None,
                    }
                }
            };
            match decided {
                Some(Err(rejected)) => {
                    let response = reject(config, rejected);
                    drop(entered);
                    return BearerFuture::ready(with_cors(response, cors_origin.as_ref()));
                }
                Some(Ok(authenticated)) if config.mcp.is_none() => {
                    let watch = Watch::of(&authenticated);
                    attach(&mut request, authenticated);
                    // `poll_ready` readied this very service, and it answers now: no clone of
                    // it, no box, no task state of ours.
                    let future = self.inner.call(request);
                    drop(entered);
                    return BearerFuture::passed(future, cors_origin, watch);
                }
                Some(Ok(authenticated)) => {
                    verified = Some(authenticated);
                    drop(entered);
                }
                None => drop(entered),
            }
        }
        // The ready inner service goes with the request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        let future = async move {
            let response = match verified {
                Some(authenticated) => proceed(&config, &mut inner, request, authenticated).await?,
                None => {
                    match authorize(&config, allowed == Some(false), Head::of(&request), ticket)
                        .await
                    {
                        Ok(Decision::Preflight) => cors::endpoint_preflight(request.headers()),
                        Ok(Decision::Proceed(authenticated)) => {
                            proceed(&config, &mut inner, request, *authenticated).await?
                        }
                        Err(rejected) => reject(&config, rejected),
                    }
                }
            };
            Ok(with_cors(response, cors_origin.as_ref()))
        };
        BearerFuture::boxed(future.instrument(span))
    }
}

/// Adds the CORS headers for an allowed `origin` (`None`: not allowed, or CORS is off).
fn with_cors(mut response: Response, origin: Option<&http::HeaderValue>) -> Response {
    if let Some(origin) = origin {
        cors::add_endpoint_headers(response.headers_mut(), origin);
    }
    response
}

/// The response to a refused request. A refusal that depends only on its kind is rendered once
/// per layer and answered from the copy afterwards (unless an `error_body` hook builds bodies).
fn reject(config: &LayerConfig, rejected: Rejected) -> Response {
    let (status, response) = match rejected {
        Rejected::Known(key) if config.error_body.is_none() => {
            let prebuilt = config.prebuilt.get_or_build(key, |key| {
                key.rejection(&config.resource, &config.unauthenticated_scopes)
            });
            (prebuilt.status(), prebuilt.response())
        }
        Rejected::Known(key) => {
            let rejection = key.rejection(&config.resource, &config.unauthenticated_scopes);
            (
                rejection.status(),
                rejection.render(config.error_body.as_ref()),
            )
        }
        Rejected::Other(rejection) => (
            rejection.status(),
            rejection.render(config.error_body.as_ref()),
        ),
    };
    let status = status.as_u16();
    tracing::debug!(status, "request rejected");
    config.resource.alerts.rejected(&config.resource.id, status);
    response
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
        let watch = Watch::of(&authenticated);
        let mut request = request;
        attach(&mut request, authenticated);
        let response = inner.call(request).await?;
        return Ok(match watch {
            Some(watch) => watch.checked(response),
            None => response,
        });
    };
    let inspected = match policy.inspect(request).await {
        Ok(inspected) => inspected,
        Err(response) => return Ok(response),
    };
    let binder = crate::mcp::Binder::new(&config.resource, &authenticated.info);
    let session = match binder
        .check_session(inspected.request.headers(), &inspected.id)
        .await
    {
        Ok(session) => session,
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
    let outage = authenticated.outage.clone();
    attach(&mut request, authenticated);
    let response = inner.call(request).await?;
    let response = binder
        .after(
            &method,
            session.as_ref(),
            inspected.calls_tool,
            &inspected.id,
            outage,
            response,
        )
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

/// Why a request was refused.
enum Rejected {
    /// A refusal that depends only on its kind (see [`RejectionKey`]).
    Known(RejectionKey),
    /// Any other: rendered for this request (boxed: these are the rare ones).
    Other(Box<AuthRejection>),
}

/// What [`start`] reads of a request (not the body, which is not `Sync`).
#[derive(Clone, Copy)]
struct Head<'a> {
    method: &'a Method,
    headers: &'a http::HeaderMap,
    uri: &'a http::Uri,
}

impl<'a> Head<'a> {
    fn of(request: &'a Request<Body>) -> Self {
        Self {
            method: request.method(),
            headers: request.headers(),
            uri: request.uri(),
        }
    }
}

/// What the checks before verification found.
enum Start<'a> {
    Preflight,
    /// The bearer token, to verify, and its shape if the extraction learnt it.
    Token(&'a str, Option<TokenShape>),
}

/// The checks before the verifier: origin, preflight, the bearer token's presence and syntax.
fn start<'a>(
    config: &LayerConfig,
    origin_refused: bool,
    parts: Head<'a>,
) -> Result<Start<'a>, Rejected> {
    if origin_refused {
        return Err(Rejected::Other(Box::new(AuthRejection::forbidden_origin())));
    }
    if *parts.method == Method::OPTIONS && config.cors {
        return Ok(Start::Preflight);
    }
    match extract_bearer_scanned(parts.headers, parts.uri) {
        Ok((BearerOutcome::Token(token), shape)) => Ok(Start::Token(token, shape)),
        Ok((BearerOutcome::Missing | BearerOutcome::OtherScheme, _)) => {
            Err(Rejected::Known(RejectionKey::Missing))
        }
        Err(why) => {
            tracing::debug!(reason = ?why, "malformed credentials");
            Err(Rejected::Known(RejectionKey::Malformed(why)))
        }
    }
}

/// The checks of a request, verification included. `ticket`: the verifier's cache already
/// missed this request's token.
async fn authorize(
    config: &LayerConfig,
    origin_refused: bool,
    parts: Head<'_>,
    ticket: Option<MissTicket>,
) -> Result<Decision, Rejected> {
    if let Some(dpop) = config.resource.dpop.as_deref() {
        // The DPoP path reads both schemes itself (see `crate::dpop`).
        if origin_refused {
            return Err(Rejected::Other(Box::new(AuthRejection::forbidden_origin())));
        }
        if *parts.method == Method::OPTIONS && config.cors {
            return Ok(Decision::Preflight);
        }
        return authorize_dpop(config, dpop, parts.method, parts.headers, parts.uri)
            .await
            .map_err(|rejection| Rejected::Other(Box::new(rejection)));
    }
    let token = match start(config, origin_refused, parts)? {
        Start::Preflight => return Ok(Decision::Preflight),
        Start::Token(token, _) => token,
    };
    let verifier = &config.resource.verifier;
    let outcome = match ticket {
        Some(ticket) => verifier.verify_missed(token, ticket).await,
        None => verifier.verify(token).await,
    };
    finish(config, outcome).map(|authenticated| Decision::Proceed(Box::new(authenticated)))
}

/// The checks after the verifier: its verdict, then the layer's required scopes.
fn finish(
    config: &LayerConfig,
    outcome: Result<AuthInfo, VerifyError>,
) -> Result<Authenticated, Rejected> {
    let resource = &config.resource;
    let info = match outcome {
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
            if matches!(error, VerifyError::Unavailable { .. }) {
                return Err(Rejected::Other(Box::new(AuthRejection::from_verify_error(
                    resource,
                    &error,
                    &config.unauthenticated_scopes,
                ))));
            }
            return Err(Rejected::Known(RejectionKey::Verify(error)));
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
        return Err(Rejected::Other(Box::new(
            AuthRejection::insufficient_scope(resource, &scopes, &missing),
        )));
    }
    // No user data in per-request logs: not the subject, not the client, not the token.
    tracing::debug!(kind = ?info.token_kind(), "token verified");
    Ok(Authenticated {
        info,
        layer: Arc::clone(&config.context),
        outage: watch_outage(),
    })
}

/// The outage record of a request whose code may use state handles (only rmcp tools can).
fn watch_outage() -> Option<Arc<crate::binding::Outage>> {
    cfg!(feature = "rmcp").then(Arc::default)
}

/// What a request passed on without MCP mode needs to turn its answer into `503` when its code
/// met a binding store that could not take or check a state handle.
struct Watch {
    outage: Arc<crate::binding::Outage>,
    layer: Arc<LayerContext>,
}

impl Watch {
    fn of(authenticated: &Authenticated) -> Option<Self> {
        authenticated.outage.as_ref().map(|outage| Self {
            outage: Arc::clone(outage),
            layer: Arc::clone(&authenticated.layer),
        })
    }

    /// `response`, or `503` with `Retry-After` if a binding failed while it was made; an event
    /// stream (whose status goes out before the tool runs) is watched, and ends with an error
    /// event if a binding fails while it streams.
    fn checked(&self, response: Response) -> Response {
        let resource = &self.layer.resource;
        let Some(report) = self.outage.report() else {
            let streams = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/event-stream"));
            if !streams {
                return response;
            }
            let outage = Some(Arc::clone(&self.outage));
            // Without MCP mode the request's JSON-RPC id is not read: the error answers `null`.
            return crate::mcp::watch_events(
                response,
                resource,
                None,
                outage,
                serde_json::Value::Null,
            );
        };
        tracing::debug!("a state handle could not be bound or checked; answered 503");
        resource
            .alerts
            .store_unavailable(&resource.id, &report.reason);
        AuthRejection::binding_store_unavailable(resource, report.retry_after)
            .render(self.layer.error_body.as_ref())
    }
}

/// [`authorize`] for a resource that accepts DPoP: the `DPoP` and `Bearer` schemes as its policy
/// says (see [`crate::dpop`]), then the same scope decision, with the DPoP challenge.
async fn authorize_dpop(
    config: &LayerConfig,
    dpop: &crate::dpop::DpopVerifier,
    method: &Method,
    headers: &http::HeaderMap,
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
        layer: Arc::clone(&config.context),
        outage: watch_outage(),
    })))
}
