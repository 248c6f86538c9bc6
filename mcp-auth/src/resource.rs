//! The runtime configuration: protected resources and the server that hosts them.
//!
//! * [`ProtectedResource`]: one resource's configuration, before it is checked: its identifier,
//!   the authorization servers it trusts, how tokens are verified, and its RFC 9728 metadata
//!   document (edited through [`ProtectedResource::metadata`]).
//! * [`ResourceServer`]: the resources of one server, checked and built by
//!   [`ResourceServerBuilder::build`], which also holds what applies to all of them (browser
//!   origins, the clock, the HTTP client, the metadata `Cache-Control`). Every problem is
//!   reported at once, with the same rules as the macros ([`mcp_auth_rules`]).
//! * [`ResourceAuth`]: one built resource, a cheap `Clone` handle that gives the bearer layer,
//!   the metadata router and the verifier. `#[mcp_resource]` types start one with
//!   `Notes::builder().build().await` as `ResourceAuth<Notes>`.
//!
//! ```
//! use mcp_auth::{ProtectedResource, ResourceServer};
//!
//! let auth = ResourceServer::builder()
//!     .resource(
//!         ProtectedResource::new("https://api.example.com/notes")
//!             .issuer_with_jwks("https://auth.example.com", "https://auth.example.com/jwks")
//!             .metadata(|m| m.scopes_supported(["read:notes", "write:notes"]).resource_name("Notes")),
//!     )
//!     .build()?;
//! let notes = auth.resource("https://api.example.com/notes").unwrap();
//! assert_eq!(
//!     notes.metadata_url(),
//!     "https://api.example.com/.well-known/oauth-protected-resource/notes"
//! );
//! # Ok::<(), mcp_auth::ConfigError>(())
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use http::HeaderValue;

use crate::clock::SharedClock;
use crate::cors::OriginPolicy;
use crate::discovery::AuthServerConfig;
use crate::error::ConfigError;
use crate::introspection::{ClientAuth, IntrospectionVerifier, JwtOrIntrospection};
use crate::metadata::ProtectedResourceMetadata;
use crate::notice::Notices;
use crate::protection::Protection;
use crate::rejection::{ChallengeContext, DpopOffer};
use crate::scope::ScopeHierarchy;
use crate::spec::AnyResource;
use crate::verify::{JwksOptions, JwtVerifier, SharedVerifier, TokenVerifier, VerifyOptions};
use crate::well_known::Document;

/// A trusted authorization server of a resource.
#[derive(Debug, Clone)]
enum TrustedServer {
    /// Discovered (or hand-written) metadata, whose issuer was checked when it was made.
    Discovered(Box<AuthServerConfig>),
    /// An issuer and its `jwks_uri`, without metadata (checked by the JWT verifier's builder).
    Keys { issuer: String, jwks_uri: String },
}

impl TrustedServer {
    fn issuer(&self) -> &str {
        match self {
            Self::Discovered(config) => config.issuer(),
            Self::Keys { issuer, .. } => issuer,
        }
    }

    fn jwks_uri(&self) -> Option<&str> {
        match self {
            Self::Discovered(config) => config.jwks_uri(),
            Self::Keys { jwks_uri, .. } => Some(jwks_uri),
        }
    }
}

/// One protected resource, before it is checked and built.
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    id: String,
    servers: Vec<TrustedServer>,
    metadata: ProtectedResourceMetadata,
    options: VerifyOptions,
    jwks: JwksOptions,
    introspection: Option<ClientAuth>,
    signed_introspection: bool,
    jwt_route: crate::introspection::JwtRoute,
    verifier: Option<SharedVerifier>,
    hierarchy: ScopeHierarchy,
    role_claim: Option<String>,
    api_keys: Option<crate::verify::ApiKeys>,
    bindings: crate::binding::BindingOptions,
    dpop: crate::dpop::DpopOptions,
    audit_subject: crate::telemetry::AuditSubject,
    downstream: Option<crate::downstream::DownstreamOptions>,
}

impl ProtectedResource {
    /// A resource identified by `id`: the exact public URL of the MCP endpoint, `https` (or
    /// `http` on a loopback host), as MCP's authorization specification requires. Checked, and
    /// canonicalised, by [`ResourceServerBuilder::build`].
    pub fn new(id: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            metadata: ProtectedResourceMetadata::new(id.clone()),
            id,
            servers: Vec::new(),
            options: VerifyOptions::default(),
            jwks: JwksOptions::default(),
            introspection: None,
            signed_introspection: false,
            jwt_route: crate::introspection::JwtRoute::Local,
            verifier: None,
            hierarchy: ScopeHierarchy::default(),
            role_claim: None,
            api_keys: None,
            bindings: Default::default(),
            dpop: Default::default(),
            audit_subject: Default::default(),
            downstream: None,
        }
    }

    /// Trusts an authorization server whose metadata was discovered with
    /// [`fetch_server_config`](crate::discovery::fetch_server_config) (or given by hand). Its
    /// `issuer` is published byte-exact in the metadata's `authorization_servers` and its
    /// `jwks_uri` verifies JWTs.
    pub fn authorization_server(mut self, config: AuthServerConfig) -> Self {
        self.servers
            .push(TrustedServer::Discovered(Box::new(config)));
        self
    }

    /// Trusts `issuer`, whose keys are at `jwks_uri`, without discovery.
    pub fn issuer_with_jwks(
        mut self,
        issuer: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> Self {
        self.servers.push(TrustedServer::Keys {
            issuer: issuer.into(),
            jwks_uri: jwks_uri.into(),
        });
        self
    }

    /// Edits the RFC 9728 metadata document: `scopes_supported` (the minimal baseline set
    /// clients should ask for, also the `scope` of a challenge to a request without
    /// credentials unless the layer requires scopes of its own), `resource_name`, the
    /// documentation and policy URLs, language-tagged variants, extension members, ...
    ///
    /// `resource` and `authorization_servers` come from [`new`](Self::new) and the trusted
    /// servers; setting them here to anything else is a configuration error.
    pub fn metadata(
        mut self,
        edit: impl FnOnce(ProtectedResourceMetadata) -> ProtectedResourceMetadata,
    ) -> Self {
        self.metadata = edit(self.metadata);
        self
    }

    /// Edits the token verification options (default: the strict RFC 9068 profile; a
    /// `#[mcp_resource]` starts from its declaration): leeway, `typ` policy, claims profile,
    /// scope claims, extra audiences, ...
    pub fn verify(mut self, edit: impl FnOnce(VerifyOptions) -> VerifyOptions) -> Self {
        self.options = edit(self.options);
        self
    }

    /// Edits the key cache tuning (refresh cooldown, TTL bounds, timeout, size limit).
    pub fn jwks(mut self, edit: impl FnOnce(JwksOptions) -> JwksOptions) -> Self {
        self.jwks = edit(self.jwks);
        self
    }

    /// Verifies tokens that are not JWTs by RFC 7662 introspection at the authorization
    /// server's `introspection_endpoint`, authenticating with `client`. Needs an authorization
    /// server given through [`authorization_server`](Self::authorization_server) whose metadata
    /// has an `introspection_endpoint`.
    pub fn introspection(mut self, client: ClientAuth) -> Self {
        self.introspection = Some(client);
        self
    }

    /// Who decides JWT-shaped tokens when the resource also introspects (see
    /// [`JwtRoute`](crate::introspection::JwtRoute)): verified locally (the default),
    /// introspected (revocation seen at once), or both.
    pub fn introspect_jwts(mut self, route: crate::introspection::JwtRoute) -> Self {
        self.jwt_route = route;
        self
    }

    /// Asks the introspection endpoint for RFC 9701 signed answers and accepts only those,
    /// verified against the authorization server's keys (its `jwks_uri`); see
    /// [`IntrospectionVerifierBuilder::signed_responses`](crate::introspection::IntrospectionVerifierBuilder::signed_responses).
    pub fn signed_introspection(mut self) -> Self {
        self.signed_introspection = true;
        self
    }

    /// Replaces the built-in verification with `verifier`. The issuers still appear in the
    /// metadata; `verifier` must do every check (signature or introspection, expiry, audience).
    pub fn verifier(mut self, verifier: impl TokenVerifier) -> Self {
        self.verifier = Some(SharedVerifier::new(verifier));
        self
    }

    /// Edits where the MCP layer binds sessions, tasks and state handles to their users, and for
    /// how long (see [`crate::binding`]). The default store is in memory, per process; give
    /// every instance behind one load balancer the same shared store.
    pub fn bindings(
        mut self,
        edit: impl FnOnce(crate::binding::BindingOptions) -> crate::binding::BindingOptions,
    ) -> Self {
        self.bindings = edit(self.bindings);
        self
    }

    /// Edits the DPoP (RFC 9449) settings: the policy (Bearer only, the default; DPoP accepted;
    /// DPoP required), the proof algorithms, the `iat` window, server nonces, the replay store.
    /// See [`crate::dpop`]. With DPoP accepted or required, the metadata document states
    /// `dpop_signing_alg_values_supported` (and `dpop_bound_access_tokens_required: true` when
    /// required).
    ///
    /// ```
    /// use mcp_auth::ProtectedResource;
    /// use mcp_auth::dpop::DpopPolicy;
    /// use jsonwebtoken::Algorithm;
    ///
    /// let notes = ProtectedResource::new("https://notes.example.com/mcp")
    ///     .issuer_with_jwks("https://auth.example.com", "https://auth.example.com/jwks")
    ///     .dpop(|d| d.policy(DpopPolicy::Required).algorithms([Algorithm::ES256]).nonce(true));
    /// # let _ = notes;
    /// ```
    pub fn dpop(
        mut self,
        edit: impl FnOnce(crate::dpop::DpopOptions) -> crate::dpop::DpopOptions,
    ) -> Self {
        self.dpop = edit(self.dpop);
        self
    }

    /// Declares that `broader` grants each of `narrower` (see [`ScopeHierarchy`]).
    pub fn scope_implies<I, S>(mut self, broader: impl Into<String>, narrower: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hierarchy = self.hierarchy.implies(broader, narrower);
        self
    }

    /// Where the resource's tokens hold their roles, for operations that require roles
    /// ([`McpAccess::roles`](crate::mcp::McpAccess::roles)): a claim, or a dot-separated path to
    /// a nested one (`realm_access.roles` for Keycloak's realm roles), holding an array of
    /// strings or a space-separated string. Default: `roles`. Checked by
    /// [`ResourceServerBuilder::build`].
    pub fn role_claim(mut self, path: impl Into<String>) -> Self {
        self.role_claim = Some(path.into());
        self
    }

    /// Lets the code behind the layer call other APIs on the caller's behalf: the request's token
    /// is exchanged at its authorization server for one whose audience is the downstream API
    /// (see [`downstream`](crate::downstream); [`Auth::downstream_token`](crate::Auth::downstream_token),
    /// `mcp_auth::rmcp::downstream_token`). `edit` starts from the defaults and must set the
    /// client ([`DownstreamOptions::client`](crate::downstream::DownstreamOptions::client)).
    pub fn downstream(
        mut self,
        edit: impl FnOnce(crate::downstream::DownstreamOptions) -> crate::downstream::DownstreamOptions,
    ) -> Self {
        self.downstream = Some(edit(self.downstream.take().unwrap_or_default()));
        self
    }

    /// The audit trail (the `tracing` target `mcp_auth::audit`, see the crate documentation)
    /// names callers by the digest of their issuer and subject (`subject_digest`, the
    /// [`Owner`](crate::binding::Owner) the binding stores write) instead of their `sub`: lines
    /// of one user still correlate, and the log holds no user identifier. Default: the `sub`.
    pub fn audit_subject_digest(mut self) -> Self {
        self.audit_subject = crate::telemetry::AuditSubject::Digest;
        self
    }

    /// Applies the token settings of an identity provider's [`Preset`](crate::presets::Preset):
    /// the `typ` its access tokens send, the claims they leave out, where they put scopes and
    /// roles, the audience they are issued for. Its authorization server is given as any other
    /// (discover [`Preset::issuer`](crate::presets::Preset::issuer)).
    pub fn preset(self, preset: &crate::presets::Preset) -> Self {
        preset.apply(self)
    }

    /// Accepts the static API `keys` as `Authorization: Bearer <key>` beside the tokens of the
    /// authorization servers (see [`ApiKeys`](crate::verify::ApiKeys)): each authenticates its
    /// subject with its scopes and roles, through the same decisions as a token. Keys are not
    /// advertised: the metadata and the challenges stay those of OAuth. Replaces keys given
    /// before.
    pub fn api_keys(mut self, keys: crate::verify::ApiKeys) -> Self {
        self.api_keys = Some(keys);
        self
    }

    /// The identifier as given.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether an authorization server is trusted already.
    pub(crate) fn has_servers(&self) -> bool {
        !self.servers.is_empty()
    }
}

/// Settings that apply to every resource of a server.
#[derive(Debug, Clone)]
struct ServerSettings {
    metadata_cache_control: HeaderValue,
    origins: OriginPolicy,
}

/// A built resource: what its request path reads, and what its routers need besides.
#[derive(Debug)]
pub(crate) struct ResourceInner {
    pub(crate) protection: Arc<Protection>,
    pub(crate) issuers: Vec<String>,
    /// `host:port` of the identifier.
    pub(crate) listen_address: String,
    /// The `Host` names the MCP server accepts.
    pub(crate) allowed_hosts: Vec<String>,
}

/// The loopback names a server started for a loopback identifier is also reached by.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A built, checked protected resource: a cheap `Clone` handle to its bearer layer, metadata
/// router and verifier.
///
/// `R` is the `#[mcp_resource]` type it was started for (`Notes::builder().build().await`
/// gives a `ResourceAuth<Notes>`), or [`AnyResource`] for resources configured at run time
/// ([`ResourceServer::resource`]).
pub struct ResourceAuth<R = AnyResource> {
    pub(crate) inner: Arc<ResourceInner>,
    _resource: PhantomData<fn() -> R>,
}

impl<R> Clone for ResourceAuth<R> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _resource: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for ResourceAuth<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceAuth")
            .field("resource", &self.inner.protection.id)
            .field("issuers", &self.inner.issuers)
            .finish_non_exhaustive()
    }
}

impl<R: 'static> ResourceAuth<R> {
    /// The same resource, tied to the marker `T`.
    pub(crate) fn retag<T>(self) -> ResourceAuth<T> {
        ResourceAuth {
            inner: self.inner,
            _resource: PhantomData,
        }
    }

    /// The canonical resource identifier (what `resource` in the metadata says).
    pub fn id(&self) -> &str {
        &self.inner.protection.id
    }

    /// The absolute URL of the metadata document (`resource_metadata` in challenges).
    pub fn metadata_url(&self) -> &str {
        &self.inner.protection.challenge.metadata_url
    }

    /// The path (and query) the metadata document is served at (RFC 9728 §3.1).
    pub(crate) fn metadata_path(&self) -> &str {
        &self.inner.protection.document.path
    }

    /// The metadata document's bytes, built once.
    #[cfg(test)]
    pub(crate) fn metadata_document(&self) -> &[u8] {
        &self.inner.protection.document.bytes
    }

    /// The verifier of this resource's tokens.
    pub fn verifier(&self) -> &SharedVerifier {
        &self.inner.protection.verifier
    }

    /// The path of the identifier, where the MCP service is mounted (`/` when it has none).
    pub fn path(&self) -> &str {
        &self.inner.protection.path
    }

    /// `host:port` of the identifier: where to listen when the server is reached directly (the
    /// development default). Behind a proxy or in a container, listen where the proxy forwards
    /// to instead; the identifier stays the public URL.
    pub fn listen_address(&self) -> &str {
        &self.inner.listen_address
    }

    /// The `Host` names the MCP server should accept (DNS-rebinding protection, rmcp's
    /// `StreamableHttpServerConfig::with_allowed_hosts`): the identifier's host, and all the
    /// loopback names when it is one of them (a server for `http://127.0.0.1:3000/mcp` is also
    /// reached as `localhost:3000`).
    pub fn allowed_hosts(&self) -> &[String] {
        &self.inner.allowed_hosts
    }
}

/// The protected resources of one server, checked and ready to serve.
#[derive(Debug, Clone)]
pub struct ResourceServer {
    pub(crate) resources: Vec<ResourceAuth>,
}

/// Builds a [`ResourceServer`].
#[derive(Debug, Default)]
pub struct ResourceServerBuilder {
    resources: Vec<ProtectedResource>,
    cache_control: Option<String>,
    origins: OriginPolicy,
    clock: Option<SharedClock>,
    pub(crate) http: Option<reqwest::Client>,
}

impl ResourceServer {
    /// Starts a builder.
    pub fn builder() -> ResourceServerBuilder {
        ResourceServerBuilder::default()
    }

    /// The resource whose canonical identifier is `id` (the identifier is canonicalised first,
    /// so `HTTPS://API.example.com/notes` finds `https://api.example.com/notes`).
    pub fn resource(&self, id: &str) -> Option<ResourceAuth> {
        let canonical = mcp_auth_rules::resource_id(id).canonical;
        let wanted = canonical.as_deref().unwrap_or(id);
        self.resources.iter().find(|r| r.id() == wanted).cloned()
    }

    /// Every resource, in configuration order.
    pub fn resources(&self) -> impl Iterator<Item = &ResourceAuth> {
        self.resources.iter()
    }
}

impl ResourceServerBuilder {
    /// Whether a resource was added.
    pub(crate) fn has_resources(&self) -> bool {
        !self.resources.is_empty()
    }

    /// Adds a protected resource.
    pub fn resource(mut self, resource: ProtectedResource) -> Self {
        self.resources.push(resource);
        self
    }

    /// The `Cache-Control` of metadata responses (default `max-age=3600`).
    pub fn metadata_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// Accepts browser requests from these origins (e.g. `https://claude.ai`) besides the
    /// resource's own. A request with another `Origin` gets 403 before authentication (the
    /// DNS-rebinding protection MCP's transport specification asks for), without CORS headers.
    /// Requests without `Origin` (non-browser clients) are not affected.
    ///
    /// Default: the resource's own origin and loopback origins (`http://localhost:6274` for MCP
    /// Inspector, ...).
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins = OriginPolicy::List(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts browser requests from every origin: the DNS-rebinding protection is then the
    /// application's job.
    pub fn allow_any_origin(mut self) -> Self {
        self.origins = OriginPolicy::Any;
        self
    }

    /// The clock of every verifier (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The HTTP client for JWKS and introspection requests (and, for a `#[mcp_resource]`,
    /// discovery). Token exchanges for downstream APIs ([`crate::downstream`]) use a client of
    /// their own that follows no redirect: a redirect would re-send the caller's token and the
    /// client's secret elsewhere.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks every resource and builds the server. All problems are reported at once.
    pub fn build(self) -> Result<ResourceServer, ConfigError> {
        let mut errors = Vec::new();
        if self.resources.is_empty() {
            errors.push(ConfigError::invalid(
                "resources",
                "at least one protected resource is required; call .resource(ProtectedResource::new(..))",
            ));
        }
        let cache_control = self.cache_control.as_deref().unwrap_or("max-age=3600");
        let metadata_cache_control = HeaderValue::from_str(cache_control).unwrap_or_else(|_| {
            errors.push(ConfigError::invalid(
                "metadata_cache_control",
                "must be a valid header value, e.g. `max-age=3600`",
            ));
            HeaderValue::from_static("max-age=3600")
        });
        let settings = ServerSettings {
            metadata_cache_control,
            origins: self.origins,
        };
        let sole = self.resources.len() == 1;
        let mut built: Vec<ResourceAuth> = Vec::new();
        for resource in self.resources {
            let context = BuildContext {
                settings: &settings,
                clock: self.clock.as_ref(),
                http: self.http.as_ref(),
                sole,
            };
            match build_resource(resource, context) {
                Ok(inner) => {
                    let (id, path) = (&inner.protection.id, &inner.protection.document.path);
                    if built.iter().any(|b| b.id() == id) {
                        errors.push(ConfigError::invalid(
                            "resource",
                            format!("resource `{id}` is configured twice; remove one"),
                        ));
                    } else if built.iter().any(|b| b.metadata_path() == path) {
                        errors.push(ConfigError::invalid(
                            "resource",
                            format!(
                                "resources share the metadata path `{path}`; give each a distinct path"
                            ),
                        ));
                    } else {
                        built.push(ResourceAuth {
                            inner: Arc::new(inner),
                            _resource: PhantomData,
                        });
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        ConfigError::from_all(errors)?;
        Ok(ResourceServer { resources: built })
    }
}

/// What every resource of a server is built with.
#[derive(Clone, Copy)]
struct BuildContext<'a> {
    settings: &'a ServerSettings,
    clock: Option<&'a SharedClock>,
    http: Option<&'a reqwest::Client>,
    sole: bool,
}

fn build_resource(
    resource: ProtectedResource,
    context: BuildContext<'_>,
) -> Result<ResourceInner, ConfigError> {
    let mut errors = Vec::new();
    let check = mcp_auth_rules::resource_id(&resource.id);
    for problem in &check.problems {
        match problem.kind {
            // The runtime canonicalises; the macros insist on the canonical literal.
            mcp_auth_rules::ProblemKind::NotCanonical => {}
            _ if problem.is_error() => {
                errors.push(ConfigError::invalid("resource", problem.message.clone()));
            }
            _ => tracing::warn!(resource = %resource.id, "{}", problem.message),
        }
    }
    let id = check.canonical.unwrap_or_else(|| resource.id.clone());
    if resource.servers.is_empty() {
        errors.push(ConfigError::invalid(
            "authorization_servers",
            format!(
                "resource `{id}` needs at least one authorization server (MCP requires one in its metadata); call .authorization_server(..) or .issuer_with_jwks(..)"
            ),
        ));
    }
    let mut issuers: Vec<String> = Vec::new();
    for server in &resource.servers {
        let issuer = server.issuer();
        if issuers.iter().any(|i| i == issuer) {
            errors.push(ConfigError::invalid(
                "issuer",
                format!("issuer `{issuer}` is listed twice for resource `{id}`; remove one"),
            ));
        } else {
            issuers.push(issuer.to_owned());
        }
    }
    let mut metadata = resource.metadata.clone();
    if metadata.resource != resource.id && metadata.resource != id {
        errors.push(ConfigError::invalid(
            "resource",
            format!(
                "the metadata's `resource` (`{}`) differs from the identifier `{id}`; set the identifier with ProtectedResource::new only",
                metadata.resource
            ),
        ));
    }
    if !metadata.authorization_servers.is_empty() && metadata.authorization_servers != issuers {
        errors.push(ConfigError::invalid(
            "authorization_servers",
            "the metadata's `authorization_servers` are the trusted servers; trust them with .authorization_server(..) or .issuer_with_jwks(..) instead of editing the document",
        ));
    }
    let base_scopes = metadata.scopes_supported.clone();
    for (_, problem) in mcp_auth_rules::scope_list(base_scopes.iter().map(String::as_str)) {
        errors.push(ConfigError::invalid("scopes_supported", problem.message));
    }
    let verifier = match resource.verifier.clone() {
        Some(custom) => Some(custom),
        None => match build_verifier(&resource, &id, context) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    let dpop = match build_dpop(&resource, &id, context) {
        Ok(dpop) => dpop,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    ConfigError::from_all(errors)?;
    let metadata_path = mcp_auth_rules::metadata_path(&id)
        .ok_or_else(|| ConfigError::invalid("resource", "not an absolute URL"))?;
    let metadata_url = mcp_auth_rules::metadata_url(&id)
        .ok_or_else(|| ConfigError::invalid("resource", "not an absolute URL"))?;
    let url = url::Url::parse(&id).map_err(|e| ConfigError::invalid("resource", e.to_string()))?;
    metadata.resource = id.clone();
    metadata = metadata.authorization_servers(issuers.iter().map(String::as_str));
    let mut offer = None;
    if let Some(dpop) = &dpop {
        let options = dpop.options();
        let required = options.policy == crate::dpop::DpopPolicy::Required;
        metadata = metadata
            .dpop_signing_alg_values_supported(options.algorithm_names())
            .dpop_bound_access_tokens_required(required);
        offer = Some(DpopOffer {
            algs: options.algorithm_names(),
            bearer: !required,
        });
    }
    let notices = Arc::new(Notices::default());
    let document = Arc::new(Document {
        id: id.clone(),
        bytes: bytes::Bytes::from(metadata.to_json_bytes()),
        path: metadata_path,
        sole: context.sole,
        cache_control: context.settings.metadata_cache_control.clone(),
        notices: Arc::clone(&notices),
    });
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_matches(['[', ']']);
    let allowed_hosts = if LOOPBACK_HOSTS.contains(&bare) {
        LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()).collect()
    } else {
        vec![bare.to_owned()]
    };
    for issuer in &resource.options.audience_optional {
        tracing::warn!(
            resource = %id,
            %issuer,
            "tokens of this issuer without an `aud` claim are accepted \
             (.verify(|v| v.accept_missing_audience_from(..))): the audience binding is given up \
             for them, so any token it issues without `aud`, for any other API, is accepted here \
             too. Prefer having the provider put this resource in `aud`"
        );
    }
    let roles = match resource.role_claim.as_deref() {
        None => crate::role::RoleClaim::default(),
        Some(path) => crate::role::RoleClaim::parse(path)
            .map_err(|problem| ConfigError::invalid("role_claim", problem.message))?,
    };
    let api_keys = resource
        .api_keys
        .filter(|keys| !keys.is_empty())
        .map(|keys| {
            (
                keys,
                context.clock.map_or_else(crate::clock::system, Arc::clone),
            )
        });
    let downstream = match resource.downstream {
        None => None,
        Some(options) => {
            let issuers = resource.servers.iter().map(|server| {
                let endpoint = match server {
                    TrustedServer::Discovered(config) => config.metadata().token_endpoint.clone(),
                    TrustedServer::Keys { .. } => None,
                };
                (server.issuer().to_owned(), endpoint)
            });
            // Never the application's client: its redirect policy may re-send the form.
            let http = crate::http_client::no_redirect_client()
                .map_err(|e| ConfigError::invalid("downstream", format!("no HTTP client: {e}")))?;
            let clock = context.clock.map_or_else(crate::clock::system, Arc::clone);
            Some(Arc::new(crate::downstream::Exchanger::new(
                options, issuers, http, clock,
            )?))
        }
    };
    let protection = Protection {
        downstream,
        roles,
        api_keys,
        authority: url[url::Position::BeforeHost..url::Position::AfterPort].to_owned(),
        origin: url.origin().ascii_serialization(),
        path: match url.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        },
        origins: context.settings.origins.clone(),
        verifier: verifier.ok_or_else(|| ConfigError::invalid("verifier", "unavailable"))?,
        dpop,
        hierarchy: resource.hierarchy,
        challenge: ChallengeContext {
            metadata_url,
            base_scopes,
            retry_floor: 1,
            dpop: offer,
        },
        bindings: resource.bindings,
        document,
        notices,
        telemetry: crate::telemetry::Telemetry::new(&id, resource.audit_subject),
        id,
    };
    Ok(ResourceInner {
        listen_address: format!("{host}:{}", url.port_or_known_default().unwrap_or(443)),
        allowed_hosts,
        protection: Arc::new(protection),
        issuers,
    })
}

/// The DPoP verifier of a resource whose policy accepts DPoP.
fn build_dpop(
    resource: &ProtectedResource,
    id: &str,
    context: BuildContext<'_>,
) -> Result<Option<Arc<crate::dpop::DpopVerifier>>, ConfigError> {
    if !resource.dpop.policy.accepts_dpop() {
        return Ok(None);
    }
    let clock = context.clock.map_or_else(crate::clock::system, Arc::clone);
    let verifier = crate::dpop::DpopVerifier::with_clock(id, resource.dpop.clone(), clock)?
        .default_leeway(resource.options.leeway);
    Ok(Some(Arc::new(verifier)))
}

fn build_verifier(
    resource: &ProtectedResource,
    id: &str,
    context: BuildContext<'_>,
) -> Result<SharedVerifier, ConfigError> {
    let mut jwt = JwtVerifier::builder()
        .resource(id)
        .options(resource.options.clone())
        .jwks_options(resource.jwks.clone());
    let mut with_keys = 0;
    for server in &resource.servers {
        match server {
            TrustedServer::Discovered(config) => {
                if let Some(jwks_uri) = config.jwks_uri() {
                    jwt = jwt.checked_issuer(config.issuer(), jwks_uri);
                    with_keys += 1;
                }
            }
            TrustedServer::Keys { issuer, jwks_uri } => {
                jwt = jwt.issuer(issuer, jwks_uri);
                with_keys += 1;
            }
        }
    }
    if let Some(clock) = context.clock {
        jwt = jwt.clock(Arc::clone(clock));
    }
    if let Some(http) = context.http {
        jwt = jwt.http_client(http.clone());
    }
    let Some(client) = resource.introspection.clone() else {
        if with_keys < resource.servers.len() {
            let without: Vec<&str> = resource
                .servers
                .iter()
                .filter(|s| s.jwks_uri().is_none())
                .map(TrustedServer::issuer)
                .collect();
            return Err(ConfigError::invalid(
                "jwks_uri",
                format!(
                    "authorization server(s) {} publish no `jwks_uri` in their metadata, so their JWTs cannot be verified; verify opaque tokens by introspection (`.introspection(ClientAuth::basic(..))` on the resource; for a `#[mcp_resource]`: `.resource(|r| r.introspection(..))`), or trust metadata that has a `jwks_uri` (`discovery = \"oidc\"` in `#[mcp_resource]`, DiscoveryKind::Oidc at run time)",
                    without.join(", ")
                ),
            ));
        }
        return Ok(SharedVerifier::new(jwt.build()?));
    };
    // Introspection: the first authorization server that has an introspection endpoint.
    let Some(config) = resource.servers.iter().find_map(|s| match s {
        TrustedServer::Discovered(c) if c.introspection_endpoint().is_some() => Some(c),
        _ => None,
    }) else {
        return Err(ConfigError::invalid(
            "introspection",
            "no trusted authorization server advertises an `introspection_endpoint`; add one discovered with fetch_server_config",
        ));
    };
    let mut introspection = IntrospectionVerifier::builder()
        .server(config)
        .resource(id)
        .client_auth(client)
        .options(resource.options.clone());
    if resource.signed_introspection {
        let Some(jwks_uri) = config.jwks_uri() else {
            return Err(ConfigError::invalid(
                "signed_introspection",
                format!(
                    "authorization server {} publishes no `jwks_uri`, so its signed introspection answers (RFC 9701) cannot be verified; drop .signed_introspection()",
                    config.issuer()
                ),
            ));
        };
        introspection = introspection.signed_responses(jwks_uri);
    }
    if let Some(clock) = context.clock {
        introspection = introspection.clock(Arc::clone(clock));
    }
    if let Some(http) = context.http {
        introspection = introspection.http_client(http.clone());
    }
    let introspection = introspection.build()?;
    if with_keys > 0 {
        Ok(SharedVerifier::new(
            JwtOrIntrospection::new(jwt.build()?, introspection).jwts(resource.jwt_route),
        ))
    } else {
        Ok(SharedVerifier::new(introspection))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_follows_the_identifier() {
        let built = |id: &str| {
            let server = ResourceServer::builder()
                .resource(resource(id))
                .build()
                .unwrap();
            server.resources().next().unwrap().clone()
        };
        let r = built("https://mcp.example.com/api/mcp");
        assert_eq!(r.path(), "/api/mcp");
        assert_eq!(r.listen_address(), "mcp.example.com:443");
        assert_eq!(r.allowed_hosts(), ["mcp.example.com"]);

        let r = built("http://127.0.0.1:3000/mcp");
        assert_eq!(r.listen_address(), "127.0.0.1:3000");
        assert_eq!(r.allowed_hosts(), ["localhost", "127.0.0.1", "::1"]);

        let r = built("http://[::1]:3000");
        assert_eq!(r.path(), "/");
        assert_eq!(r.listen_address(), "[::1]:3000");
        assert_eq!(r.allowed_hosts(), ["localhost", "127.0.0.1", "::1"]);
    }

    fn resource(id: &str) -> ProtectedResource {
        ProtectedResource::new(id)
            .issuer_with_jwks("https://auth.example.com", "https://auth.example.com/jwks")
    }

    #[test]
    fn the_authority_is_the_host_clients_send() {
        for (id, authority) in [
            ("https://MCP.example.com:443/mcp", "mcp.example.com"),
            ("http://127.0.0.1:3000/mcp", "127.0.0.1:3000"),
            ("http://[::1]:8080/mcp", "[::1]:8080"),
        ] {
            let auth = ResourceServer::builder()
                .resource(resource(id))
                .build()
                .unwrap();
            let inner = &auth.resources().next().unwrap().inner;
            assert_eq!(inner.protection.authority, authority, "{id}");
        }
    }

    #[test]
    fn rs02_empty_authorization_servers_fail_at_build_time() {
        let err = ResourceServer::builder()
            .resource(ProtectedResource::new("https://mcp.example.com/mcp"))
            .build()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("at least one authorization server"),
            "{err}"
        );
    }

    #[test]
    fn rs03_identifier_is_canonicalised_and_checked() {
        let auth = ResourceServer::builder()
            .resource(resource("HTTPS://MCP.Example.com/mcp"))
            .build()
            .unwrap();
        let r = auth.resource("https://mcp.example.com/mcp").unwrap();
        assert_eq!(r.id(), "https://mcp.example.com/mcp");
        assert!(
            ResourceServer::builder()
                .resource(resource("mcp.example.com"))
                .build()
                .is_err()
        );
        assert!(
            ResourceServer::builder()
                .resource(resource("https://mcp.example.com#frag"))
                .build()
                .is_err()
        );
        assert_eq!(
            ResourceServer::builder()
                .resource(resource("https://mcp.example.com/"))
                .build()
                .unwrap()
                .resources[0]
                .id(),
            "https://mcp.example.com"
        );
    }

    #[test]
    fn rs15_plain_http_only_on_loopback() {
        assert!(
            ResourceServer::builder()
                .resource(resource("http://mcp.example.com/mcp"))
                .build()
                .is_err()
        );
        assert!(
            ResourceServer::builder()
                .resource(resource("http://127.0.0.1:3000/mcp"))
                .build()
                .is_ok()
        );
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let err = ResourceServer::builder()
            .resource(
                ProtectedResource::new("http://mcp.example.com/mcp#x")
                    .metadata(|m| m.scopes_supported(["a b", "offline_access"])),
            )
            .build()
            .unwrap_err();
        let ConfigError::Many(all) = err else {
            panic!("expected several errors")
        };
        assert!(all.len() >= 4, "{all:?}");
    }

    #[test]
    fn rs11_offline_access_is_refused() {
        let err = ResourceServer::builder()
            .resource(
                resource("https://mcp.example.com/mcp")
                    .metadata(|m| m.scopes_supported(["mcp:read", "offline_access"])),
            )
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("offline_access"));
    }

    #[test]
    fn duplicate_resources_and_issuers_are_refused() {
        assert!(
            ResourceServer::builder()
                .resource(resource("https://mcp.example.com/mcp"))
                .resource(resource("https://mcp.example.com/mcp"))
                .build()
                .is_err()
        );
        assert!(
            ResourceServer::builder()
                .resource(
                    resource("https://mcp.example.com/mcp").issuer_with_jwks(
                        "https://auth.example.com",
                        "https://auth.example.com/jwks"
                    )
                )
                .build()
                .is_err()
        );
    }

    #[test]
    fn the_document_cannot_contradict_the_configuration() {
        let err = ResourceServer::builder()
            .resource(
                resource("https://mcp.example.com/mcp")
                    .metadata(|m| m.authorization_servers(["https://evil.example"])),
            )
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("authorization_servers"), "{err}");
        let err = ResourceServer::builder()
            .resource(resource("https://mcp.example.com/mcp").metadata(|mut m| {
                m.resource = "https://other.example.com/mcp".into();
                m
            }))
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("differs from the identifier"),
            "{err}"
        );
    }

    #[test]
    fn rs02_issuers_published_byte_exact() {
        let auth = ResourceServer::builder()
            .resource(
                ProtectedResource::new("https://mcp.example.com/mcp")
                    .issuer_with_jwks(
                        "https://tenant.auth0.com/",
                        "https://tenant.auth0.com/.well-known/jwks.json",
                    )
                    .metadata(|m| {
                        m.scopes_supported(["mcp:read"])
                            .resource_name("Example MCP")
                    }),
            )
            .build()
            .unwrap();
        assert_eq!(
            std::str::from_utf8(auth.resources[0].metadata_document()).unwrap(),
            r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://tenant.auth0.com/"],"scopes_supported":["mcp:read"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}"#
        );
    }
}
