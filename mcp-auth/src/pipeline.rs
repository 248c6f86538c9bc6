//! The one request pipeline of a protected resource: every request the bearer layer guards goes
//! through these steps, in this order, whatever its scheme.
//!
//! | step | reads | refusal |
//! |---|---|---|
//! | 1. wiring | a metadata request that reached the layer | (answered with the public document) |
//! | 2. framing | `Origin`, `Host`, the request target, `Transfer-Encoding` | `403` / `400` |
//! | 3. origin | `Origin` against the allowed origins | `403`, no CORS headers |
//! | 4. preflight | `OPTIONS` | (answered `204` with CORS headers) |
//! | 5. credentials | `Authorization`, read once into [`Credentials`]; none, at a resource with public MCP operations: the body decides (step 10) | `401` (none), `400` (malformed) |
//! | 6. scheme | `Bearer` at a resource that requires DPoP | `401 invalid_token` |
//! | 7. token | the verifier; what it knows at once ([`TokenVerifier::verify_cached`]) without waiting | `401 invalid_token`, `503` |
//! | 8. proof | `DPoP`: the key binding and the proof, every step of RFC 9449 §4.3 ([`dpop`]) | `401 invalid_dpop_proof`, `use_dpop_nonce`, `503` |
//! | 9. scopes | the layer's required scopes | `403 insufficient_scope` |
//! | 10. MCP mode | the JSON-RPC body: headers, per-operation roles and scopes, bindings; list answers filtered ([`crate::mcp`]) | `400`, `403`, `404`, `413`, `415`, `503` |
//!
//! A request decided without waiting (a refusal, or a `Bearer` token the verifier answers at
//! once) is answered, or passed on with the inner service's own future, inside `call`: no box,
//! no task state. Only a verification that waits, a DPoP proof (its replay claim) and MCP mode
//! (the body) take the boxed future; they carry the credentials read in step 5 with them.
//!
//! Every refusal is an [`AuthRejection`] built from the resource's challenge context for the
//! request's scheme; the ones that depend only on their kind are rendered once per layer.

pub(crate) mod dpop;

use std::any::TypeId;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, Method, Request};
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::auth_info::AuthInfo;
use crate::bearer::{Credentials, MalformedCredentials, OwnedToken, Scheme, read_credentials};
use crate::binding::Outage;
use crate::cors;
use crate::error::{ErrorCode, VerifyError};
use crate::extract::{Authenticated, LayerContext};
use crate::mcp::{McpAccess, McpPolicy};
use crate::protection::Protection;
use crate::rejection::{AuthRejection, ErrorBodyHook, PrebuiltRejections, RejectionKey};
use crate::spec::AnyResource;
use crate::telemetry;
use crate::verify::{TokenVerifier as _, bearer_only};

/// Guards routes with bearer tokens (and DPoP-bound ones) for one protected resource: see the
/// `layer` module for what a request meets in it.
///
/// Made by [`ResourceAuth::layer`](crate::ResourceAuth::layer) (or
/// [`ResourceServer::bearer`](crate::ResourceServer::bearer)). `R` ties the layer to a
/// `#[mcp_resource]` type, so that [`Auth<R>`](crate::Auth) only accepts tokens this layer
/// verified; runtime-configured resources use [`AnyResource`].
pub struct BearerLayer<R = AnyResource> {
    config: Arc<LayerConfig>,
    _resource: PhantomData<fn() -> R>,
}

#[derive(Clone)]
struct LayerConfig {
    protection: Arc<Protection>,
    required: Arc<[String]>,
    /// The `scope` of challenges to requests without (valid) credentials.
    unauthenticated_scopes: Vec<String>,
    error_body: Option<ErrorBodyHook>,
    cors: bool,
    /// MCP mode: per-operation scopes from the JSON-RPC body and session binding.
    mcp: Option<Arc<McpPolicy>>,
    /// The largest JSON-RPC body MCP mode reads, when set (the default otherwise).
    mcp_max_body_bytes: Option<usize>,
    /// The refusals rendered so far (used without an `error_body` hook); replaced by every
    /// edit of the configuration.
    prebuilt: Arc<PrebuiltRejections>,
    /// What the requests this layer passes carry to the code behind it (one allocation per
    /// layer, shared by them); rebuilt by every edit of the configuration.
    context: Arc<LayerContext>,
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
            .field("resource", &self.config.protection.id)
            .field("required_scopes", &self.config.required)
            .finish_non_exhaustive()
    }
}

impl<R: 'static> BearerLayer<R> {
    /// A layer for `protection`, tied to the marker type `R`, with no required scopes.
    pub(crate) fn new(protection: Arc<Protection>) -> Self {
        protection.notices.layer_made();
        let unauthenticated_scopes = protection.challenge.base_scopes.clone();
        let required: Arc<[String]> = Arc::from(Vec::new());
        let config = LayerConfig {
            context: context::<R>(&protection, &required, None),
            protection,
            required,
            unauthenticated_scopes,
            error_body: None,
            cors: true,
            mcp: None,
            mcp_max_body_bytes: None,
            prebuilt: Arc::default(),
        };
        Self {
            config: Arc::new(config),
            _resource: PhantomData,
        }
    }

    fn edit(self, f: impl FnOnce(&mut LayerConfig)) -> Self {
        let mut config = LayerConfig::clone(&self.config);
        f(&mut config);
        config.prebuilt = Arc::default();
        if let Some(mcp) = &config.mcp {
            config.mcp = Some(Arc::new(McpPolicy {
                access: Arc::clone(&mcp.access),
                max_body_bytes: config.mcp_body_limit(),
            }));
        }
        config.context = context::<R>(
            &config.protection,
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
            for s in &c.protection.challenge.base_scopes {
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
    /// against it (`400` on disagreement), requires the scopes and roles `access` names for its
    /// operations (answering `403` before dispatch), passes the operations `access` makes public
    /// without a token, filters list answers per caller, and binds the sessions and tasks the
    /// server creates to the user who created them, in the resource's
    /// [binding store](crate::binding). See [`crate::mcp`].
    pub fn mcp(self, access: McpAccess) -> Self {
        self.edit(|c| c.mcp = Some(Arc::new(McpPolicy::new(access, c.mcp_body_limit()))))
    }

    /// The largest JSON-RPC body MCP mode reads (default 4 MiB); larger ones get `413`. It does
    /// not switch MCP mode on: without [`mcp`](Self::mcp) no body is read, and a layer with this
    /// setting alone logs a warning (once) when it wraps a service.
    pub fn mcp_max_body_bytes(self, max: usize) -> Self {
        self.edit(|c| c.mcp_max_body_bytes = Some(max))
    }
}

impl LayerConfig {
    /// The body limit MCP mode applies.
    fn mcp_body_limit(&self) -> usize {
        self.mcp_max_body_bytes
            .unwrap_or(crate::mcp::DEFAULT_MAX_BODY_BYTES)
    }
}

/// The [`LayerContext`] of a layer of `R` for `protection`, with its required scopes and body
/// hook.
fn context<R: 'static>(
    protection: &Arc<Protection>,
    required: &Arc<[String]>,
    error_body: Option<&ErrorBodyHook>,
) -> Arc<LayerContext> {
    Arc::new(LayerContext {
        protection: Arc::clone(protection),
        marker: TypeId::of::<R>(),
        required: Arc::clone(required),
        error_body: error_body.cloned(),
    })
}

impl<S, R: 'static> Layer<S> for BearerLayer<R> {
    type Service = BearerService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        if self.config.mcp.is_none() && self.config.mcp_max_body_bytes.is_some() {
            let protection = &self.config.protection;
            protection.notices.body_limit_without_mcp(&protection.id);
        }
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
            .field("resource", &self.config.protection.id)
            .finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// The response future of a [`BearerService`] whose inner service answers with `F`.
    ///
    /// Polling it again after it completed panics, as with `futures`' futures.
    pub struct BearerFuture<F> {
        #[pin]
        state: FutureState<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = FutureStateProj]
    #[project_replace = FutureStateReplace]
    enum FutureState<F> {
        /// Answered without waiting (a refusal or a preflight): no task state to allocate.
        Ready { response: Response },
        /// Decided without waiting and passed on: the inner service's own future, unboxed.
        Passed {
            #[pin]
            future: F,
            cors_origin: Option<HeaderValue>,
            watch: Option<Watch>,
        },
        /// Decided after waiting (verification, a DPoP proof, MCP mode).
        Boxed { future: Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>> },
        /// Completed.
        Done,
    }
}

impl<F> BearerFuture<F> {
    fn ready(response: Response) -> Self {
        Self {
            state: FutureState::Ready { response },
        }
    }

    fn passed(future: F, cors_origin: Option<HeaderValue>, watch: Option<Watch>) -> Self {
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
        let mut state = self.project().state;
        let response = match state.as_mut().project() {
            FutureStateProj::Ready { .. } => match state.project_replace(FutureState::Done) {
                FutureStateReplace::Ready { response } => return Poll::Ready(Ok(response)),
                _ => unreachable!("the state was Ready"),
            },
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
                with_cors(response, cors_origin.as_ref())
            }
            FutureStateProj::Boxed { future } => {
                let Ok(response) = std::task::ready!(future.as_mut().poll(cx));
                response
            }
            FutureStateProj::Done => panic!("BearerFuture polled after completion"),
        };
        state.project_replace(FutureState::Done);
        Poll::Ready(Ok(response))
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
        let protection = &*config.protection;
        // At debug, like the per-request outcomes: at info, formatting it costs every request.
        let span = tracing::debug_span!(
            "mcp_auth",
            resource = %protection.id,
            method = %request.method(),
            path = %request.uri().path(),
        );
        let entered = span.enter();
        // 1. A metadata request that reached the layer: the (public) document.
        if (request.method() == Method::GET || request.method() == Method::HEAD)
            && protection.document.is_path(request.uri().path())
        {
            protection.notices.metadata_behind_layer(&protection.id);
            return BearerFuture::ready(protection.document.response());
        }
        // 2. Ambiguous `Origin` or `Host` lines, request target or transfer coding; the one
        // `Origin` line, read once.
        let origin = match crate::framing::checked_origin(
            request.version(),
            request.uri(),
            request.headers(),
            &protection.authority,
        ) {
            Ok(origin) => origin.cloned(),
            Err(rejection) => {
                return BearerFuture::ready(reject(config, Rejected::Other(rejection)));
            }
        };
        // 3. The origin policy, decided once: a refused origin gets 403 before any token
        // check, and CORS headers go only to an allowed one (a refused page must not read it).
        if let Some(origin) = &origin
            && !protection.origins.allows(origin, &protection.origin)
        {
            let rejection = AuthRejection::forbidden_origin();
            return BearerFuture::ready(reject(config, Rejected::Other(Box::new(rejection))));
        }
        let cors_origin = origin.filter(|_| config.cors);
        // 4. A CORS preflight carries no credentials.
        if request.method() == Method::OPTIONS && config.cors {
            let response = cors::endpoint_preflight(request.headers());
            return BearerFuture::ready(with_cors(response, cors_origin.as_ref()));
        }
        // 5.-7. The credentials, read once; a Bearer token the verifier knows is decided now.
        let dpop = protection.dpop.is_some();
        let next = match read_credentials(request.headers(), request.uri(), dpop) {
            // Without credentials, only a request to the MCP endpoint itself whose every
            // operation is public may pass: the body decides, once it is read. Other routes
            // behind the layer have no public operations.
            Credentials::None { .. }
                if config.mcp.as_ref().is_some_and(|p| p.access.has_public())
                    && request.uri().path() == protection.path =>
            {
                Next::Wait(Waiting::Anonymous)
            }
            Credentials::None { .. } => Next::Refuse(Rejected::Known(RejectionKey::Missing)),
            // A DPoP-only resource takes no Bearer credentials at all, readable or not: the
            // answer names the scheme to use. Two `Authorization` headers stay ambiguous.
            Credentials::Malformed(Scheme::Bearer, why)
                if why != MalformedCredentials::MultipleHeaders && dpop_required(protection) =>
            {
                tracing::debug!(reason = "bearer_refused", "token rejected");
                Next::Refuse(Rejected::Known(RejectionKey::DpopRequired))
            }
            Credentials::Malformed(scheme, why) => {
                tracing::debug!(reason = ?why, "malformed credentials");
                Next::Refuse(Rejected::Known(RejectionKey::Malformed(scheme, why)))
            }
            Credentials::Token(Scheme::Bearer, _) if dpop_required(protection) => {
                tracing::debug!(reason = "bearer_refused", "token rejected");
                Next::Refuse(Rejected::Known(RejectionKey::DpopRequired))
            }
            Credentials::Token(Scheme::Bearer, token) => {
                let started = protection.telemetry.start_probe();
                let known = protection
                    .api_key(token)
                    .or_else(|| protection.verifier.verify_cached(token));
                match known {
                    Some(outcome) => {
                        protection.telemetry.verified(started, true);
                        match bearer_outcome(config, outcome) {
                            // The token goes with the request only when it may be exchanged.
                            Ok(authenticated) if protection.downstream.is_some() => {
                                let token = OwnedToken::of(request.headers(), token);
                                Next::Proceed(authenticated.with_token(protection, token))
                            }
                            Ok(authenticated) => Next::Proceed(authenticated),
                            Err(rejected) => Next::Refuse(rejected),
                        }
                    }
                    None => {
                        protection.telemetry.cache_missed();
                        Next::Wait(Waiting::Bearer(OwnedToken::of(request.headers(), token)))
                    }
                }
            }
            Credentials::Token(Scheme::Dpop, token) => {
                Next::Wait(Waiting::Dpop(OwnedToken::of(request.headers(), token)))
            }
        };
        let authenticated = match next {
            Next::Refuse(rejected) => {
                let response = reject(config, rejected);
                drop(entered);
                return BearerFuture::ready(with_cors(response, cors_origin.as_ref()));
            }
            Next::Proceed(authenticated) if config.mcp.is_none() => {
                protection.telemetry.allowed(Some(&authenticated.info), &[]);
                let watch = attach(&mut request, authenticated);
                // `poll_ready` readied this very service, and it answers now: no clone of it,
                // no box, no task state of ours.
                let future = self.inner.call(request);
                drop(entered);
                return BearerFuture::passed(future, cors_origin, watch);
            }
            Next::Proceed(authenticated) => Waiting::Decided(authenticated),
            Next::Wait(waiting) => waiting,
        };
        drop(entered);
        // The ready inner service goes with the request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        let future = async move {
            if let Waiting::Anonymous = authenticated {
                let response = proceed_anonymously(&config, &mut inner, request).await?;
                return Ok(with_cors(response, cors_origin.as_ref()));
            }
            let head = Head {
                method: request.method(),
                uri: request.uri(),
                headers: request.headers(),
            };
            let decided = authenticated.decide(&config, head).await;
            let response = match decided {
                Ok(authenticated) => proceed(&config, &mut inner, request, authenticated).await?,
                Err(rejected) => reject(&config, rejected),
            };
            Ok(with_cors(response, cors_origin.as_ref()))
        };
        BearerFuture::boxed(future.instrument(span))
    }
}

/// What the steps that need no waiting decided.
enum Next {
    Refuse(Rejected),
    Proceed(Authenticated),
    Wait(Waiting),
}

/// What is left to decide after waiting, with the credentials read in step 5.
enum Waiting {
    /// Decided already (MCP mode still reads the body).
    Decided(Authenticated),
    /// A Bearer token the verifier must verify in full.
    Bearer(OwnedToken),
    /// A DPoP token: its verification, its key binding and its proof.
    Dpop(OwnedToken),
    /// No credentials, at a resource with public operations: the body says whether it asks for
    /// public ones only.
    Anonymous,
}

/// What the steps that wait read of a request (its body is not `Sync`).
#[derive(Clone, Copy)]
pub(crate) struct Head<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a http::Uri,
    pub(crate) headers: &'a http::HeaderMap,
}

impl Waiting {
    async fn decide(self, config: &LayerConfig, head: Head<'_>) -> Result<Authenticated, Rejected> {
        match self {
            Self::Decided(authenticated) => Ok(authenticated),
            Self::Anonymous => Err(Rejected::Known(RejectionKey::Missing)),
            Self::Bearer(token) => {
                let telemetry = &config.protection.telemetry;
                let started = telemetry.start();
                let outcome = config.protection.verifier.verify(token.as_str()).await;
                telemetry.verified(started, false);
                bearer_outcome(config, outcome).map(|a| a.with_token(&config.protection, token))
            }
            Self::Dpop(token) => {
                let info = dpop::authenticate(
                    &config.protection,
                    &config.unauthenticated_scopes,
                    head,
                    token.as_str(),
                )
                .await
                .map_err(|rejection| Rejected::Other(Box::new(rejection)))?;
                scoped(config, info).map(|a| a.with_token(&config.protection, token))
            }
        }
    }
}

fn dpop_required(protection: &Protection) -> bool {
    protection
        .challenge
        .dpop
        .as_ref()
        .is_some_and(|offer| !offer.bearer)
}

/// Why a request was refused.
enum Rejected {
    /// A refusal that depends only on its kind (see [`RejectionKey`]).
    Known(RejectionKey),
    /// Any other: rendered for this request (boxed: these are the rare ones).
    Other(Box<AuthRejection>),
    /// A verified token without the layer's scopes, and the token.
    Scope(Box<AuthRejection>, Box<AuthInfo>),
}

impl Rejected {
    /// The audit trail's `reason`: a stable code.
    fn reason(&self) -> &'static str {
        match self {
            Self::Known(RejectionKey::Missing) => "no_credentials",
            Self::Known(RejectionKey::Malformed(..)) => "malformed_credentials",
            Self::Known(RejectionKey::DpopRequired) => "dpop_required",
            Self::Known(RejectionKey::Verify(error)) => error.kind(),
            Self::Scope(..) => "insufficient_scope",
            Self::Other(rejection) => match rejection.error_code() {
                Some(ErrorCode::InvalidRequest) => "invalid_request",
                Some(ErrorCode::InvalidToken) => "invalid_token",
                Some(ErrorCode::InsufficientScope) => "insufficient_scope",
                Some(ErrorCode::Unavailable) => "unavailable",
                Some(ErrorCode::InvalidDpopProof) => "invalid_dpop_proof",
                Some(ErrorCode::UseDpopNonce) => "use_dpop_nonce",
                Some(ErrorCode::Forbidden) => "missing_role",
                None if rejection.status() == http::StatusCode::FORBIDDEN => "origin",
                None => "invalid_request",
            },
        }
    }
}

/// The verifier's verdict on a Bearer token, then the Bearer rule (a key-bound token is refused
/// as Bearer, RFC 9449 §7.2, whatever the verifier) and the layer's required scopes.
fn bearer_outcome(
    config: &LayerConfig,
    outcome: Result<AuthInfo, VerifyError>,
) -> Result<Authenticated, Rejected> {
    match outcome.and_then(bearer_only) {
        Ok(info) => scoped(config, info),
        Err(error) => {
            log_refused_token(&config.protection, &error);
            if matches!(error, VerifyError::Unavailable { .. }) {
                return Err(Rejected::Other(Box::new(AuthRejection::from_verify_error(
                    &config.protection.challenge,
                    Scheme::Bearer,
                    &error,
                    &config.unauthenticated_scopes,
                ))));
            }
            Err(Rejected::Known(RejectionKey::Verify(error)))
        }
    }
}

/// Step 9: the layer's required scopes, for a verified token.
fn scoped(config: &LayerConfig, info: AuthInfo) -> Result<Authenticated, Rejected> {
    let protection = &config.protection;
    if let Err(missing) = protection
        .hierarchy
        .require(info.scopes(), config.required.iter())
    {
        if crate::notice::Mismatch::scopes_in_scp(&info) {
            let mismatch = crate::notice::Mismatch::ScopesInScp;
            protection.notices.mismatch(&protection.id, mismatch);
        }
        let rejection = AuthRejection::insufficient_scope(
            &protection.challenge,
            &info,
            [],
            &config.required,
            &missing,
        );
        return Err(Rejected::Scope(Box::new(rejection), Box::new(info)));
    }
    // No user data in per-request logs: not the subject, not the client, not the token.
    tracing::debug!(kind = ?info.token_kind(), dpop = info.dpop_jkt().is_some(), "token verified");
    Ok(Authenticated {
        info,
        layer: Arc::clone(&config.context),
        outage: watch_outage(protection),
        token: None,
    })
}

/// The one log of a refused token: `debug` per request; what the operator acts on (an
/// unreachable authorization server, a provider's `typ`) through the resource's notices.
pub(crate) fn log_refused_token(protection: &Protection, error: &VerifyError) {
    match error {
        VerifyError::Unavailable { reason, .. } => {
            tracing::debug!(%reason, "authorization server unavailable");
            protection.notices.unavailable(&protection.id, reason);
        }
        other => {
            tracing::debug!(reason = other.kind(), "token rejected");
            if let Some(mismatch) = crate::notice::Mismatch::of(other) {
                protection.notices.mismatch(&protection.id, mismatch);
            }
        }
    }
}

/// The response to a refused request. A refusal that depends only on its kind is rendered once
/// per layer and answered from the copy afterwards (unless an `error_body` hook builds bodies).
fn reject(config: &LayerConfig, rejected: Rejected) -> Response {
    reject_for(config, rejected, &[])
}

/// [`reject`], for a request whose body was read: its `operations` are recorded with the refusal.
fn reject_for(
    config: &LayerConfig,
    rejected: Rejected,
    operations: &[telemetry::OperationLabel],
) -> Response {
    let ctx = &config.protection.challenge;
    let scopes = &config.unauthenticated_scopes;
    let reason = rejected.reason();
    let mut caller = None;
    let (status, response) = match rejected {
        Rejected::Known(key) if config.error_body.is_none() => {
            let response = config
                .prebuilt
                .respond(key, |key| key.rejection(ctx, scopes));
            (response.status(), response)
        }
        Rejected::Known(key) => {
            let rejection = key.rejection(ctx, scopes);
            (
                rejection.status(),
                rejection.render(config.error_body.as_ref()),
            )
        }
        Rejected::Other(rejection) => (
            rejection.status(),
            rejection.render(config.error_body.as_ref()),
        ),
        Rejected::Scope(rejection, info) => {
            caller = Some(info);
            (
                rejection.status(),
                rejection.render(config.error_body.as_ref()),
            )
        }
    };
    let status = status.as_u16();
    tracing::debug!(status, "request rejected");
    let protection = &config.protection;
    protection.notices.rejected(&protection.id, status);
    protection
        .telemetry
        .refused(&response, reason, caller.as_deref(), operations);
    response
}

/// Adds the CORS headers for an allowed `origin` (`None`: not allowed, or CORS is off).
fn with_cors(mut response: Response, origin: Option<&HeaderValue>) -> Response {
    if let Some(origin) = origin {
        cors::add_endpoint_headers(response.headers_mut(), origin);
    }
    response
}

/// Step 10, and the request passed on: in MCP mode the session, per-operation and binding
/// checks first.
async fn proceed<S>(
    config: &LayerConfig,
    inner: &mut S,
    request: Request<Body>,
    authenticated: Authenticated,
) -> Result<Response, Infallible>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let telemetry = &config.protection.telemetry;
    let Some(policy) = &config.mcp else {
        telemetry.allowed(Some(&authenticated.info), &[]);
        let mut request = request;
        let watch = attach(&mut request, authenticated);
        let response = inner.call(request).await?;
        return Ok(match watch {
            Some(watch) => watch.checked(response),
            None => response,
        });
    };
    let info = &authenticated.info;
    let inspected = match policy.inspect(request).await {
        Ok(inspected) => inspected,
        Err(response) => {
            telemetry.refused(&response, "invalid_body", Some(info), &[]);
            return Ok(response);
        }
    };
    let operations = &inspected.operations;
    let refused = |response: Response, reason| {
        telemetry.refused(&response, reason, Some(info), operations);
        Ok(response)
    };
    let binder = crate::mcp::Binder::new(&config.protection, info);
    let session = match binder
        .check_session(inspected.request.headers(), &inspected.id)
        .await
    {
        Ok(session) => session,
        Err(response) => return refused(response, "session"),
    };
    let needs = crate::mcp::Needs::of(&inspected.scopes, &inspected.roles);
    if let Some(rejection) = authenticated.operation_refusal(&needs) {
        return refused(rejection, telemetry::OPERATION);
    }
    if let Err(response) = binder.check_tasks(&inspected.tasks, &inspected.id).await {
        return refused(response, "task");
    }
    telemetry.allowed(Some(info), operations);
    let mut request = inspected.request;
    let method = request.method().clone();
    let uri = request.uri().clone();
    let caller = (!inspected.lists.is_empty()).then(|| authenticated.clone());
    let outage = attach(&mut request, authenticated).map(|watch| watch.outage);
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
    let response = match caller {
        Some(caller) => {
            let access = Arc::clone(&policy.access);
            inspected.lists.filter(access, Some(caller), response).await
        }
        None => response,
    };
    // Only a request the MCP service answered shows where it is mounted: a client posting to
    // any other path behind the layer cannot raise the warning.
    if method == Method::POST && response.status().is_success() {
        let protection = &config.protection;
        protection
            .notices
            .mcp_request_at(&protection.id, uri.path(), &protection.path);
    }
    Ok(response)
}

/// A request without credentials at a resource with public operations: passed on, with no
/// verified token, when every operation it asks for is public; otherwise the `401` challenge of
/// any request without credentials. A body that cannot be read as JSON-RPC, or a request that
/// names a session or a task (which belong to users), is not public. Its lists show the public
/// entries only.
async fn proceed_anonymously<S>(
    config: &LayerConfig,
    inner: &mut S,
    request: Request<Body>,
) -> Result<Response, Infallible>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    let missing = || reject(config, Rejected::Known(RejectionKey::Missing));
    let Some(policy) = &config.mcp else {
        return Ok(missing());
    };
    let Ok(inspected) = policy.inspect(request).await else {
        return Ok(missing());
    };
    let names_state = inspected
        .request
        .headers()
        .contains_key(crate::mcp::SESSION_HEADER)
        || !inspected.tasks.is_empty();
    if !inspected.public || names_state {
        let missing = Rejected::Known(RejectionKey::Missing);
        return Ok(reject_for(config, missing, &inspected.operations));
    }
    tracing::debug!("public operation, no token");
    config
        .protection
        .telemetry
        .allowed(None, &inspected.operations);
    let response = inner.call(inspected.request).await?;
    let access = Arc::clone(&policy.access);
    Ok(inspected.lists.filter(access, None, response).await)
}

/// Puts the verified token into the request extensions: the [`Authenticated`] record that
/// [`Auth`](crate::Auth) and `mcp_auth::rmcp` trust (only this layer can create one), and a plain
/// [`AuthInfo`](crate::AuthInfo) clone for `Extension<AuthInfo>` users. Returns what watches
/// the request's state handles, when its code can make any.
fn attach(request: &mut Request<Body>, authenticated: Authenticated) -> Option<Watch> {
    let watch = Watch::of(&authenticated);
    let extensions = request.extensions_mut();
    extensions.insert(authenticated.info.clone());
    extensions.insert(authenticated);
    watch
}

/// The outage record of a request whose code may meet an outage: state handles (only rmcp
/// tools have them) or a downstream exchange.
fn watch_outage(protection: &Protection) -> Option<Arc<Outage>> {
    (cfg!(feature = "rmcp") || protection.downstream.is_some()).then(Arc::default)
}

/// What a request passed on without MCP mode needs to turn its answer into `503` when its code
/// met a binding store that could not take or check a state handle.
struct Watch {
    outage: Arc<Outage>,
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
        let protection = &self.layer.protection;
        let Some(report) = self.outage.report() else {
            if !crate::mcp::media_type(&response).eq_ignore_ascii_case("text/event-stream") {
                return response;
            }
            let outage = Some(Arc::clone(&self.outage));
            // Without MCP mode the request's JSON-RPC id is not read: the error answers `null`.
            return crate::mcp::watch_events(
                response,
                protection,
                None,
                outage,
                serde_json::Value::Null,
            );
        };
        tracing::debug!(source = ?report.source, "the request's code met an outage; answered 503");
        report.notify(&protection.notices, &protection.id);
        AuthRejection::unavailable(
            &protection.challenge,
            report.source.description(),
            report.retry_after,
        )
        .render(self.layer.error_body.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "BearerFuture polled after completion")]
    fn a_future_polled_after_completion_panics() {
        let future: BearerFuture<std::future::Ready<Result<Response, Infallible>>> =
            BearerFuture::ready(Response::new(Body::empty()));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut future = std::pin::pin!(future);
        assert!(future.as_mut().poll(&mut cx).is_ready());
        let _ = future.as_mut().poll(&mut cx);
    }

    #[test]
    fn a_passed_future_completes_with_the_inner_answer() {
        let inner = std::future::ready(Ok::<_, Infallible>(Response::new(Body::from("inner"))));
        let future = BearerFuture::passed(inner, None, None);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut future = std::pin::pin!(future);
        let Poll::Ready(Ok(response)) = future.as_mut().poll(&mut cx) else {
            panic!("ready");
        };
        assert_eq!(response.status(), http::StatusCode::OK);
    }
}
