//! The tower layer that guards routes with bearer tokens.
//!
//! [`BearerLayer`] runs before every request to the routes it wraps (the MCP endpoint is one
//! route, so one layer guards every MCP request, RS-32):
//!
//! 1. `OPTIONS` is answered with `204` and CORS headers, never authenticated (RS-26, RS-60).
//! 2. A present `Origin` outside the configured allow-list gets `403` before any token check
//!    (RS-58).
//! 3. The token is taken from the `Authorization` header only ([`extract_bearer`], RS-27..RS-31):
//!    none → `401` with a challenge without error code (RS-19); malformed → `400
//!    invalid_request` (RS-30).
//! 4. The resource's verifier checks it: invalid → `401 invalid_token` (RS-21); the
//!    authorization server is unreachable → `503` with `Retry-After`, so clients do not loop
//!    into re-authorization.
//! 5. The layer's required scopes (all of them, with the resource's scope hierarchy, RS-49):
//!    missing → `403 insufficient_scope` with every scope the operation needs plus the granted
//!    baseline scopes (RS-47, RS-48).
//! 6. The verified token goes into the request extensions, where [`Auth`](crate::Auth) finds
//!    it, and the request proceeds. A clone of the [`AuthInfo`] is inserted there too, for code
//!    that reads extensions directly (`Extension<AuthInfo>` in axum, `parts.extensions` in an
//!    rmcp tool, see `mcp_auth::rmcp` with the `rmcp` feature).
//!
//! Every `401`/`403` carries one `Bearer` challenge with the absolute `resource_metadata` URL
//! (RS-16, RS-18, RS-25), a JSON body without token material (RS-24), and the CORS headers a
//! browser client needs to read the challenge (RS-26).

use std::any::TypeId;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::auth_info::AuthInfo;
use crate::bearer::{BearerOutcome, MalformedCredentials, extract_bearer};
use crate::challenge::BearerChallenge;
use crate::error::{ErrorCode, VerifyError};
use crate::mcp::{McpPolicy, McpScopes};
use crate::resource::ResourceHandle;
use crate::verify::TokenVerifier as _;

/// The marker of layers and extractors that are not tied to a `#[mcp_resource]` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyResource;

/// A rejection the layer (or a scope guard) answers with, before the handler runs.
///
/// [`BearerLayer::error_body`] lets applications shape its JSON body; the status and the
/// RFC 6750 headers are always set by the layer.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    pub(crate) status: StatusCode,
    pub(crate) code: Option<ErrorCode>,
    pub(crate) description: String,
    pub(crate) challenge: Option<BearerChallenge>,
    pub(crate) retry_after: Option<u64>,
}

impl AuthRejection {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The outcome (`None` for a request without credentials or with a refused origin).
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.code
    }

    /// A human-readable description without token material.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The `WWW-Authenticate` challenge, for `400`/`401`/`403`.
    pub fn challenge(&self) -> Option<&BearerChallenge> {
        self.challenge.as_ref()
    }

    /// The default JSON body: `{"error": .., "error_description": ..}` (RS-24). `error` is the
    /// RFC 6750 code, left out for a request without credentials (RFC 6750 §3.1); a `503` says
    /// `temporarily_unavailable`.
    pub fn default_body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        match self.code {
            Some(ErrorCode::Unavailable) => {
                body.insert("error".into(), "temporarily_unavailable".into());
            }
            Some(code) => {
                if let Some(name) = code.as_rfc6750() {
                    body.insert("error".into(), name.into());
                }
            }
            None => {}
        }
        body.insert("error_description".into(), self.description.clone().into());
        serde_json::Value::Object(body)
    }

    pub(crate) fn missing_credentials(resource: &ResourceHandle, scopes: &[String]) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: None,
            description: "Authentication required: send an OAuth 2.1 access token in the Authorization header (Bearer scheme)".into(),
            challenge: Some(BearerChallenge::new(resource.metadata_url()).scope(scopes)),
            retry_after: None,
        }
    }

    pub(crate) fn malformed(resource: &ResourceHandle, why: MalformedCredentials) -> Self {
        let description = why.to_string();
        Self {
            status: StatusCode::BAD_REQUEST,
            code: Some(ErrorCode::InvalidRequest),
            challenge: Some(
                BearerChallenge::new(resource.metadata_url())
                    .error(ErrorCode::InvalidRequest)
                    .error_description(description.clone()),
            ),
            description,
            retry_after: None,
        }
    }

    pub(crate) fn from_verify_error(
        resource: &ResourceHandle,
        error: &VerifyError,
        scopes: &[String],
    ) -> Self {
        let description = error.to_string();
        match error {
            VerifyError::Unavailable { retry_after, .. } => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: Some(ErrorCode::Unavailable),
                // The reason names upstream URLs: log it, do not send it.
                description: "The authorization server is temporarily unavailable; retry later"
                    .into(),
                challenge: None,
                retry_after: Some(
                    retry_after
                        .as_secs()
                        .max(resource.settings.retry_after_floor),
                ),
            },
            VerifyError::InsufficientScope { required } => {
                let missing: Vec<&str> = required.iter().map(String::as_str).collect();
                Self::insufficient_scope(resource, required, &missing)
            }
            _ => Self {
                status: StatusCode::UNAUTHORIZED,
                code: Some(ErrorCode::InvalidToken),
                challenge: Some(
                    BearerChallenge::new(resource.metadata_url())
                        .error(ErrorCode::InvalidToken)
                        .error_description(description.clone())
                        .scope(scopes),
                ),
                description,
                retry_after: None,
            },
        }
    }

    pub(crate) fn insufficient_scope(
        resource: &ResourceHandle,
        challenge_scopes: &[String],
        missing: &[&str],
    ) -> Self {
        let description = format!("{} required", missing.join(" "));
        Self {
            status: StatusCode::FORBIDDEN,
            code: Some(ErrorCode::InsufficientScope),
            challenge: Some(
                BearerChallenge::new(resource.metadata_url())
                    .error(ErrorCode::InsufficientScope)
                    .scope(challenge_scopes)
                    .error_description(description.clone()),
            ),
            description,
            retry_after: None,
        }
    }

    pub(crate) fn forbidden_origin() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: None,
            description: "The request's Origin is not allowed".into(),
            challenge: None,
            retry_after: None,
        }
    }

    /// The response, its body built by `hook` when the application set one.
    pub(crate) fn render(self, hook: Option<&ErrorBodyHook>) -> Response {
        let body = match hook {
            Some(hook) => hook(&self),
            None => self.default_body(),
        };
        self.into_response_with(body)
    }

    /// The response, with `body` as JSON.
    pub(crate) fn into_response_with(self, body: serde_json::Value) -> Response {
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = &self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge.to_header_value());
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.render(None)
    }
}

/// A function that builds the JSON body of rejections.
pub type ErrorBodyHook = Arc<dyn Fn(&AuthRejection) -> serde_json::Value + Send + Sync>;

/// What a verified request carries in its extensions.
#[derive(Clone)]
pub(crate) struct Authenticated {
    pub(crate) info: AuthInfo,
    pub(crate) resource: Arc<ResourceHandle>,
    pub(crate) marker: TypeId,
    pub(crate) required: Arc<[String]>,
    pub(crate) error_body: Option<ErrorBodyHook>,
}

impl Authenticated {
    /// The scopes to name in a challenge for an operation that needs `needed`: every needed
    /// scope, then the baseline scopes the token still holds (RS-48's compatible strategy),
    /// without duplicates, in a fixed order so repeats are byte-identical.
    pub(crate) fn challenge_scopes(&self, needed: &[String]) -> Vec<String> {
        challenge_scopes(&self.resource, needed, &self.info)
    }

    pub(crate) fn reject(&self, rejection: AuthRejection) -> Response {
        rejection.render(self.error_body.as_ref())
    }
}

pub(crate) fn challenge_scopes(
    resource: &ResourceHandle,
    needed: &[String],
    info: &AuthInfo,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in needed {
        if !out.contains(scope) {
            out.push(scope.clone());
        }
    }
    for scope in resource.scopes_supported() {
        if info.has_scope(scope) && !out.contains(scope) {
            out.push(scope.clone());
        }
    }
    out
}

/// Guards routes with bearer tokens for one protected resource. See the [module docs](self).
///
/// `R` ties the layer to a `#[mcp_resource]` type, so that [`Auth<R>`](crate::Auth) only accepts
/// tokens this layer verified; runtime-configured resources use [`AnyResource`].
pub struct BearerLayer<R = AnyResource> {
    config: Arc<LayerConfig>,
    _resource: PhantomData<fn() -> R>,
}

struct LayerConfig {
    resource: Arc<ResourceHandle>,
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
            .field("resource", &self.config.resource.id())
            .field("required_scopes", &self.config.required)
            .finish_non_exhaustive()
    }
}

impl BearerLayer<AnyResource> {
    /// A layer for `resource` with no required scopes. See also
    /// [`ResourceServer::bearer`](crate::ResourceServer::bearer).
    pub fn new(resource: Arc<ResourceHandle>) -> Self {
        Self::for_resource(resource)
    }
}

impl<R: 'static> BearerLayer<R> {
    /// A layer for `resource`, tied to the marker type `R`.
    pub fn for_resource(resource: Arc<ResourceHandle>) -> Self {
        let unauthenticated_scopes = resource.scopes_supported().to_vec();
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
        let mut config = LayerConfig {
            resource: Arc::clone(&self.config.resource),
            required: Arc::clone(&self.config.required),
            unauthenticated_scopes: self.config.unauthenticated_scopes.clone(),
            error_body: self.config.error_body.clone(),
            cors: self.config.cors,
            mcp: self.config.mcp.clone(),
        };
        f(&mut config);
        Self {
            config: Arc::new(config),
            _resource: PhantomData,
        }
    }

    /// Scopes every request must have been granted, all of them (RS-33). They lead the `scope`
    /// of the challenges, followed by `scopes_supported`.
    pub fn required_scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let required: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.edit(|c| {
            let mut challenge = required.clone();
            for s in c.resource.scopes_supported() {
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
    /// its operations (answering `403 insufficient_scope` before dispatch, RS-46), and binds the
    /// MCP sessions the server issues to the user who created them (RS-56). See [`crate::mcp`].
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

    /// The resource this layer protects.
    pub fn resource(&self) -> &Arc<ResourceHandle> {
        &self.config.resource
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
            .field("resource", &self.config.resource.id())
            .finish_non_exhaustive()
    }
}

/// The request headers a browser MCP client sends (RS-60), allowed in preflights.
const ALLOWED_REQUEST_HEADERS: &str = "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id, mcp-method, mcp-name";
/// The response headers a browser client must be able to read (RS-26).
const EXPOSED_HEADERS: &str = "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version";

impl<S, R> Service<Request<Body>> for BearerService<S, R>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The ready inner service serves this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        let span = tracing::info_span!(
            "mcp_auth",
            resource = %config.resource.id(),
            method = %request.method(),
            path = %request.uri().path(),
        );
        Box::pin(
            async move {
                // CORS headers only for an allowed origin: a refused page must not read the 403.
                let origin = request.headers().get(header::ORIGIN).cloned().filter(|o| {
                    config
                        .resource
                        .settings
                        .origins
                        .allows(o, &config.resource.origin)
                });
                let mut response = match authorize::<R>(
                    &config,
                    request.method(),
                    request.headers(),
                    request.uri(),
                )
                .await
                {
                    Ok(Decision::Preflight) => preflight(&config, request.headers()),
                    Ok(Decision::Proceed(authenticated)) => {
                        proceed(&config, &mut inner, request, *authenticated).await?
                    }
                    Err(rejection) => {
                        tracing::info!(status = rejection.status.as_u16(), "request rejected");
                        rejection.render(config.error_body.as_ref())
                    }
                };
                if config.cors
                    && let Some(origin) = origin
                {
                    add_cors_headers(response.headers_mut(), &origin);
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
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
    if let Some(response) = policy.session_refusal(request.headers(), &authenticated.info) {
        return Ok(response);
    }
    let (mut request, needed) = match policy.inspect(request).await {
        Ok(inspected) => inspected,
        Err(response) => return Ok(response),
    };
    if !needed.is_empty() {
        let needed: Vec<&str> = needed.iter().map(String::as_str).collect();
        if let Some(response) = crate::extract::missing_scopes_response(&authenticated, &needed) {
            return Ok(response);
        }
    }
    let method = request.method().clone();
    let session = request.headers().get(crate::mcp::SESSION_HEADER).cloned();
    let info = authenticated.info.clone();
    attach(&mut request, authenticated);
    let response = inner.call(request).await?;
    policy.after_response(&method, session.as_ref(), &response, &info);
    Ok(response)
}

/// Puts the verified token into the request extensions: the [`Authenticated`] record that
/// [`Auth`](crate::Auth) and `mcp_auth::rmcp` trust (only this layer can create one), and a plain
/// [`AuthInfo`] clone for `Extension<AuthInfo>` users.
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
    method: &Method,
    headers: &HeaderMap,
    uri: &http::Uri,
) -> Result<Decision, AuthRejection> {
    let resource = &config.resource;
    if let Some(origin) = headers.get(header::ORIGIN)
        && !resource.settings.origins.allows(origin, &resource.origin)
    {
        return Err(AuthRejection::forbidden_origin());
    }
    if method == Method::OPTIONS && config.cors {
        return Ok(Decision::Preflight);
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
            tracing::info!(reason = ?why, "malformed credentials");
            return Err(AuthRejection::malformed(resource, why));
        }
    };
    let info = match resource.verifier().verify(token).await {
        Ok(info) => info,
        Err(error) => {
            match &error {
                VerifyError::Unavailable { reason, .. } => {
                    tracing::warn!(%reason, "authorization server unavailable");
                }
                other => tracing::info!(reason = other.kind(), "token rejected"),
            }
            return Err(AuthRejection::from_verify_error(
                resource,
                &error,
                &config.unauthenticated_scopes,
            ));
        }
    };
    let missing = resource
        .scope_hierarchy()
        .missing(info.scopes(), &config.required);
    if !missing.is_empty() {
        tracing::info!(missing = ?missing, "insufficient scope");
        let scopes = challenge_scopes(resource, &config.required, &info);
        return Err(AuthRejection::insufficient_scope(
            resource, &scopes, &missing,
        ));
    }
    tracing::debug!(
        sub = info.subject().unwrap_or(""),
        client_id = info.client_id().unwrap_or(""),
        "token verified"
    );
    Ok(Decision::Proceed(Box::new(Authenticated {
        info,
        resource: Arc::clone(resource),
        marker: TypeId::of::<R>(),
        required: Arc::clone(&config.required),
        error_body: config.error_body.clone(),
    })))
}

fn preflight(config: &LayerConfig, request_headers: &HeaderMap) -> Response {
    let _ = config;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    let mut allowed = ALLOWED_REQUEST_HEADERS.to_owned();
    if let Some(requested) = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
    {
        for name in requested
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let lower = name.to_ascii_lowercase();
            let known = allowed.split(", ").any(|a| a == lower);
            if !known
                && lower.starts_with("mcp-")
                && HeaderName::from_bytes(lower.as_bytes()).is_ok()
            {
                allowed.push_str(", ");
                allowed.push_str(&lower);
            }
        }
    }
    if let Ok(value) = HeaderValue::from_str(&allowed) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    headers.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    response
}

fn add_cors_headers(headers: &mut HeaderMap, origin: &HeaderValue) {
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if !headers.contains_key(header::ACCESS_CONTROL_EXPOSE_HEADERS) {
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
}
