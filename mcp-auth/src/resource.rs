//! The runtime configuration: protected resources and the server that hosts them.
//!
//! A [`ResourceServer`] holds one or more [`ProtectedResource`]s. Each has its identifier, its
//! trusted authorization servers (each its own issuer and keys), its supported scopes, its RFC
//! 9728 metadata and its verification options. [`ResourceServerBuilder::build`] checks
//! everything with the same rules as the macros ([`mcp_auth_rules`]) and reports every problem
//! at once.
//!
//! ```
//! use mcp_auth::resource::{ProtectedResource, ResourceServer};
//!
//! let auth = ResourceServer::builder()
//!     .resource(
//!         ProtectedResource::new("https://api.example.com/notes")
//!             .issuer_with_jwks("https://auth.example.com", "https://auth.example.com/jwks")
//!             .scopes_supported(["read:notes", "write:notes"])
//!             .resource_name("Notes"),
//!     )
//!     .build()?;
//! let notes = auth.resource("https://api.example.com/notes").unwrap();
//! assert_eq!(
//!     notes.metadata_url(),
//!     "https://api.example.com/.well-known/oauth-protected-resource/notes"
//! );
//! # Ok::<(), mcp_auth::ConfigError>(())
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderValue;

use crate::clock::SharedClock;
use crate::discovery::AuthServerConfig;
use crate::error::ConfigError;
use crate::introspection::{ClientAuth, IntrospectionVerifier, JwtOrIntrospection};
use crate::metadata::{LocalizedMember, ProtectedResourceMetadata};
use crate::verify::{JwksOptions, JwtVerifier, SharedVerifier, TokenVerifier, VerifyOptions};

/// A trusted authorization server of a resource.
#[derive(Debug, Clone)]
enum TrustedServer {
    /// Discovered (or hand-written) metadata.
    Discovered(Box<AuthServerConfig>),
    /// An issuer and its `jwks_uri`, without metadata.
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

/// Scope implications (RS-49): a broader scope that grants narrower ones.
///
/// ```
/// use mcp_auth::resource::ScopeHierarchy;
///
/// let h = ScopeHierarchy::default().implies("files:admin", ["files:write", "files:read"]);
/// assert!(h.satisfies(&["files:admin".to_owned()], "files:write"));
/// assert!(!h.satisfies(&["files:write".to_owned()], "files:admin"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeHierarchy {
    implied: BTreeMap<String, Vec<String>>,
}

impl ScopeHierarchy {
    /// Declares that `broader` grants each of `narrower` (transitively).
    pub fn implies<I, S>(mut self, broader: impl Into<String>, narrower: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let entry = self.implied.entry(broader.into()).or_default();
        for scope in narrower {
            let scope = scope.into();
            if !entry.contains(&scope) {
                entry.push(scope);
            }
        }
        self
    }

    /// Whether `granted` grants `required`, directly or through implications.
    pub fn satisfies(&self, granted: &[String], required: &str) -> bool {
        let mut stack: Vec<&str> = granted.iter().map(String::as_str).collect();
        let mut seen: Vec<&str> = Vec::new();
        while let Some(scope) = stack.pop() {
            if scope == required {
                return true;
            }
            if seen.contains(&scope) {
                continue;
            }
            seen.push(scope);
            if let Some(narrower) = self.implied.get(scope) {
                stack.extend(narrower.iter().map(String::as_str));
            }
        }
        false
    }

    /// The scopes of `required` that `granted` does not grant.
    pub fn missing<'r>(&self, granted: &[String], required: &'r [String]) -> Vec<&'r str> {
        required
            .iter()
            .filter(|r| !self.satisfies(granted, r))
            .map(String::as_str)
            .collect()
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
    verifier: Option<SharedVerifier>,
    hierarchy: ScopeHierarchy,
    base_scopes: Vec<String>,
}

impl ProtectedResource {
    /// A resource identified by `id`: the exact public URL of the MCP endpoint (RS-03, RS-04),
    /// `https` (or `http` on a loopback host). Checked by [`ResourceServerBuilder::build`].
    pub fn new(id: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            metadata: ProtectedResourceMetadata::new(id.clone()),
            id,
            servers: Vec::new(),
            options: VerifyOptions::default(),
            jwks: JwksOptions::default(),
            introspection: None,
            verifier: None,
            hierarchy: ScopeHierarchy::default(),
            base_scopes: Vec::new(),
        }
    }

    /// Trusts an authorization server whose metadata was discovered with
    /// [`fetch_server_config`](crate::discovery::fetch_server_config) (or given by hand). Its
    /// `issuer` is published byte-exact in `authorization_servers` (RS-02) and its `jwks_uri`
    /// verifies JWTs.
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

    /// `scopes_supported`: the minimal baseline set clients should ask for (RS-10). Also the
    /// `scope` of a challenge to a request without credentials, unless the layer requires
    /// scopes of its own.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.metadata = self
            .metadata
            .scopes_supported(scopes.iter().map(String::as_str));
        self.base_scopes = scopes;
        self
    }

    /// `resource_name` (RECOMMENDED).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.metadata = self.metadata.resource_name(name);
        self
    }

    /// `resource_documentation`.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.metadata = self.metadata.resource_documentation(url);
        self
    }

    /// `resource_policy_uri`.
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.metadata = self.metadata.resource_policy_uri(url);
        self
    }

    /// `resource_tos_uri`.
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.metadata = self.metadata.resource_tos_uri(url);
        self
    }

    /// A language-tagged variant of a human-readable member, e.g. `resource_name#de`.
    pub fn localized(
        mut self,
        member: LocalizedMember,
        tag: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.metadata = self.metadata.localized(member, tag, value);
        self
    }

    /// Edits the rest of the metadata document (`jwks_uri`, `resource_signing_alg_values_supported`,
    /// extension members, ...). `resource`, `authorization_servers` and `scopes_supported` are
    /// set from the resource's own configuration when it is built.
    pub fn metadata(
        mut self,
        edit: impl FnOnce(ProtectedResourceMetadata) -> ProtectedResourceMetadata,
    ) -> Self {
        self.metadata = edit(self.metadata);
        self
    }

    /// Verification options (default: the strict RFC 9068 profile).
    pub fn verify_options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }

    /// Key cache tuning.
    pub fn jwks_options(mut self, options: JwksOptions) -> Self {
        self.jwks = options;
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

    /// Replaces the built-in verification with `verifier`. The issuers still appear in the
    /// metadata; `verifier` must do every check (signature or introspection, expiry, audience).
    pub fn verifier(mut self, verifier: impl TokenVerifier) -> Self {
        self.verifier = Some(SharedVerifier::new(verifier));
        self
    }

    /// Declares that `broader` grants each of `narrower` (RS-49).
    pub fn scope_implies<I, S>(mut self, broader: impl Into<String>, narrower: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hierarchy = self.hierarchy.implies(broader, narrower);
        self
    }

    /// The identifier as given.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Which browser origins may call a resource (RS-58). Requests without `Origin` (non-browser
/// clients) are never affected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum OriginPolicy {
    /// The resource's own origin and loopback origins (`localhost`, `127.0.0.0/8`, `[::1]`,
    /// any port): local tools such as MCP Inspector work, a page elsewhere is refused.
    #[default]
    LocalAndSelf,
    /// The resource's own origin and exactly these.
    List(Vec<String>),
    /// Every origin.
    Any,
}

impl OriginPolicy {
    pub(crate) fn allows(&self, origin: &HeaderValue, resource_origin: &str) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if origin.eq_ignore_ascii_case(resource_origin) {
            return true;
        }
        match self {
            Self::Any => true,
            Self::List(allowed) => allowed.iter().any(|a| a == origin),
            Self::LocalAndSelf => url::Url::parse(origin).ok().is_some_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host()
                        .is_some_and(|h| mcp_auth_rules::is_loopback_host(&h))
            }),
        }
    }
}

/// Settings that apply to every resource of a server.
#[derive(Debug, Clone)]
pub(crate) struct ServerSettings {
    pub(crate) metadata_cache_control: HeaderValue,
    pub(crate) origins: OriginPolicy,
    pub(crate) retry_after_floor: u64,
}

/// A built, checked protected resource. Shared by layers, extractors and the metadata route.
#[derive(Debug)]
pub struct ResourceHandle {
    pub(crate) id: String,
    pub(crate) metadata_url: String,
    pub(crate) metadata_path: String,
    /// `scheme://host[:port]` of the identifier, the origin browsers send for same-origin calls.
    pub(crate) origin: String,
    pub(crate) document: bytes::Bytes,
    pub(crate) verifier: SharedVerifier,
    pub(crate) base_scopes: Vec<String>,
    pub(crate) hierarchy: ScopeHierarchy,
    pub(crate) issuers: Vec<String>,
    pub(crate) settings: Arc<ServerSettings>,
}

impl ResourceHandle {
    /// The canonical resource identifier (what `resource` in the metadata says).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The absolute URL of the metadata document (`resource_metadata` in challenges, RS-18).
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path (and query) the metadata document is served at (RS-05).
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// The metadata document's bytes, built once.
    pub fn metadata_document(&self) -> &[u8] {
        &self.document
    }

    /// The verifier of this resource's tokens.
    pub fn verifier(&self) -> &SharedVerifier {
        &self.verifier
    }

    /// The trusted issuers.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// `scopes_supported`.
    pub fn scopes_supported(&self) -> &[String] {
        &self.base_scopes
    }

    /// The scope hierarchy.
    pub fn scope_hierarchy(&self) -> &ScopeHierarchy {
        &self.hierarchy
    }
}

/// The protected resources of one server, checked and ready to serve.
#[derive(Debug, Clone)]
pub struct ResourceServer {
    pub(crate) resources: Vec<Arc<ResourceHandle>>,
}

/// Builds a [`ResourceServer`].
#[derive(Debug, Default)]
pub struct ResourceServerBuilder {
    resources: Vec<ProtectedResource>,
    cache_control: Option<String>,
    origins: OriginPolicy,
    clock: Option<SharedClock>,
    http: Option<reqwest::Client>,
}

impl ResourceServer {
    /// Starts a builder.
    pub fn builder() -> ResourceServerBuilder {
        ResourceServerBuilder::default()
    }

    /// The resource whose canonical identifier is `id` (the identifier is canonicalised first,
    /// so `HTTPS://API.example.com/notes` finds `https://api.example.com/notes`).
    pub fn resource(&self, id: &str) -> Option<&Arc<ResourceHandle>> {
        let canonical = mcp_auth_rules::resource_id(id).canonical;
        let wanted = canonical.as_deref().unwrap_or(id);
        self.resources.iter().find(|r| r.id == wanted)
    }

    /// The bearer layer for the resource `id` (see [`BearerLayer`](crate::BearerLayer)).
    ///
    /// # Panics
    ///
    /// When no resource has this identifier: a start-up mistake, reported at once with the
    /// identifiers that exist rather than by refusing every request later.
    pub fn bearer(&self, id: &str) -> crate::BearerLayer {
        match self.resource(id) {
            Some(handle) => crate::BearerLayer::new(Arc::clone(handle)),
            None => panic!(
                "ResourceServer::bearer: no protected resource `{id}`; configured: {}",
                self.resources
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Every resource, in configuration order.
    pub fn resources(&self) -> impl Iterator<Item = &Arc<ResourceHandle>> {
        self.resources.iter()
    }
}

impl ResourceServerBuilder {
    /// Adds a protected resource.
    pub fn resource(mut self, resource: ProtectedResource) -> Self {
        self.resources.push(resource);
        self
    }

    /// The `Cache-Control` of metadata responses (default `max-age=3600`, RS-14).
    pub fn metadata_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// Accepts browser requests from these origins (e.g. `https://claude.ai`) besides the
    /// resource's own. A request with another `Origin` gets 403 before authentication (RS-58),
    /// without CORS headers. Requests without `Origin` (non-browser clients) are not affected.
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

    /// Accepts browser requests from every origin: the DNS-rebinding protection of RS-58 is
    /// then the application's job.
    pub fn allow_any_origin(mut self) -> Self {
        self.origins = OriginPolicy::Any;
        self
    }

    /// The clock of every verifier (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The HTTP client for JWKS and introspection requests.
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
        let settings = Arc::new(ServerSettings {
            metadata_cache_control,
            origins: self.origins,
            retry_after_floor: 1,
        });
        let mut built: Vec<Arc<ResourceHandle>> = Vec::new();
        for resource in self.resources {
            match build_resource(resource, &settings, self.clock.clone(), self.http.clone()) {
                Ok(handle) => {
                    if built.iter().any(|b| b.id == handle.id) {
                        errors.push(ConfigError::invalid(
                            "resource",
                            format!("resource `{}` is configured twice; remove one", handle.id),
                        ));
                    } else if built
                        .iter()
                        .any(|b| b.metadata_path == handle.metadata_path)
                    {
                        errors.push(ConfigError::invalid(
                            "resource",
                            format!(
                                "resources share the metadata path `{}`; give each a distinct path",
                                handle.metadata_path
                            ),
                        ));
                    } else {
                        built.push(Arc::new(handle));
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        ConfigError::from_all(errors)?;
        Ok(ResourceServer { resources: built })
    }
}

/// The routable part of a metadata path (a query is not routable: RS-05 allows one).
pub(crate) fn route_path(metadata_path: &str) -> &str {
    metadata_path.split('?').next().unwrap_or(metadata_path)
}

fn build_resource(
    resource: ProtectedResource,
    settings: &Arc<ServerSettings>,
    clock: Option<SharedClock>,
    http: Option<reqwest::Client>,
) -> Result<ResourceHandle, ConfigError> {
    let mut errors = Vec::new();
    let check = mcp_auth_rules::resource_id(&resource.id);
    for problem in &check.problems {
        match problem.kind {
            // The runtime canonicalises (RS-03); the macros insist on the canonical literal.
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
                "resource `{id}` needs at least one authorization server (MCP requires one in its metadata, RS-02); call .authorization_server(..) or .issuer_with_jwks(..)"
            ),
        ));
    }
    let mut issuers: Vec<String> = Vec::new();
    for server in &resource.servers {
        let issuer = server.issuer();
        for problem in mcp_auth_rules::issuer(issuer).errors() {
            errors.push(ConfigError::invalid("issuer", problem.message.clone()));
        }
        if issuers.iter().any(|i| i == issuer) {
            errors.push(ConfigError::invalid(
                "issuer",
                format!("issuer `{issuer}` is listed twice for resource `{id}`; remove one"),
            ));
        } else {
            issuers.push(issuer.to_owned());
        }
    }
    for (_, problem) in mcp_auth_rules::scope_list(resource.base_scopes.iter().map(String::as_str))
    {
        errors.push(ConfigError::invalid("scopes_supported", problem.message));
    }
    let verifier = if let Some(custom) = resource.verifier.clone() {
        Some(custom)
    } else {
        match build_verifier(&resource, &id, clock, http) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    };
    ConfigError::from_all(errors)?;
    let metadata_path = mcp_auth_rules::metadata_path(&id)
        .ok_or_else(|| ConfigError::invalid("resource", "not an absolute URL"))?;
    let metadata_url = mcp_auth_rules::metadata_url(&id)
        .ok_or_else(|| ConfigError::invalid("resource", "not an absolute URL"))?;
    let origin = url::Url::parse(&id)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|e| ConfigError::invalid("resource", e.to_string()))?;
    let mut metadata = resource.metadata.clone();
    metadata.resource = id.clone();
    metadata = metadata.authorization_servers(issuers.iter().map(String::as_str));
    let document = bytes::Bytes::from(metadata.to_json_bytes());
    Ok(ResourceHandle {
        id,
        metadata_url,
        metadata_path,
        origin,
        document,
        verifier: verifier.ok_or_else(|| ConfigError::invalid("verifier", "unavailable"))?,
        base_scopes: resource.base_scopes,
        hierarchy: resource.hierarchy,
        issuers,
        settings: Arc::clone(settings),
    })
}

fn build_verifier(
    resource: &ProtectedResource,
    id: &str,
    clock: Option<SharedClock>,
    http: Option<reqwest::Client>,
) -> Result<SharedVerifier, ConfigError> {
    let mut jwt = JwtVerifier::builder()
        .resource(id)
        .options(resource.options.clone())
        .jwks_options(resource.jwks.clone());
    let mut with_keys = 0;
    for server in &resource.servers {
        if let Some(jwks_uri) = server.jwks_uri() {
            jwt = jwt.issuer(server.issuer(), jwks_uri);
            with_keys += 1;
        }
    }
    if let Some(clock) = &clock {
        jwt = jwt.clock(Arc::clone(clock));
    }
    if let Some(http) = &http {
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
                    "authorization server(s) {} publish no `jwks_uri`, so their JWTs cannot be verified; configure .introspection(..) or a custom .verifier(..)",
                    without.join(", ")
                ),
            ));
        }
        return Ok(SharedVerifier::new(jwt.build()?));
    };
    // Introspection: the first authorization server that has an introspection endpoint.
    let Some((issuer, endpoint)) = resource.servers.iter().find_map(|s| match s {
        TrustedServer::Discovered(c) => c
            .introspection_endpoint()
            .map(|e| (c.issuer().to_owned(), e.to_owned())),
        TrustedServer::Keys { .. } => None,
    }) else {
        return Err(ConfigError::invalid(
            "introspection",
            "no trusted authorization server advertises an `introspection_endpoint`; add one discovered with fetch_server_config",
        ));
    };
    let mut introspection = IntrospectionVerifier::builder()
        .issuer(issuer)
        .endpoint(endpoint)
        .resource(id)
        .client_auth(client)
        .options(resource.options.clone());
    if let Some(clock) = clock {
        introspection = introspection.clock(clock);
    }
    if let Some(http) = http {
        introspection = introspection.http_client(http);
    }
    let introspection = introspection.build()?;
    if with_keys > 0 {
        Ok(SharedVerifier::new(JwtOrIntrospection::new(
            jwt.build()?,
            introspection,
        )))
    } else {
        Ok(SharedVerifier::new(introspection))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(id: &str) -> ProtectedResource {
        ProtectedResource::new(id)
            .issuer_with_jwks("https://auth.example.com", "https://auth.example.com/jwks")
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
                    .scopes_supported(["a b", "offline_access"]),
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
                    .scopes_supported(["mcp:read", "offline_access"]),
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
    fn rs02_issuers_published_byte_exact() {
        let auth = ResourceServer::builder()
            .resource(
                ProtectedResource::new("https://mcp.example.com/mcp")
                    .issuer_with_jwks(
                        "https://tenant.auth0.com/",
                        "https://tenant.auth0.com/.well-known/jwks.json",
                    )
                    .scopes_supported(["mcp:read"])
                    .resource_name("Example MCP"),
            )
            .build()
            .unwrap();
        assert_eq!(
            std::str::from_utf8(auth.resources[0].metadata_document()).unwrap(),
            r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://tenant.auth0.com/"],"scopes_supported":["mcp:read"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}"#
        );
    }
}
