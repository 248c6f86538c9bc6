//! Starting a `#[mcp_resource]`: [`ResourceBuilder`] turns the compile-time declaration into a
//! running [`ResourceAuth`] (discovery, keys, metadata document, layer).
//!
//! ```no_run
//! # use mcp_auth::{mcp_resource, ResourceAuth};
//! #[mcp_resource(id = "https://notes.example.com/mcp", issuer = "https://auth.example.com", scopes = ["read:notes"])]
//! struct Notes;
//!
//! # async fn run() -> Result<(), mcp_auth::StartupError> {
//! let notes: ResourceAuth<Notes> = Notes::builder().build().await?;
//! let app = axum::Router::<()>::new()
//!     .layer(notes.layer())
//!     .merge(notes.metadata_router());
//! # Ok(()) }
//! ```

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::discovery::{AuthServerConfig, DiscoveryError, ServerConfigFetcher};
use crate::error::ConfigError;
use crate::introspection::ClientAuth;
use crate::layer::BearerLayer;
use crate::metadata::LocalizedMember;
use crate::resource::{ProtectedResource, ResourceHandle, ResourceServer};
use crate::spec::{Resource, ValueSource};
use crate::verify::{JwksOptions, ScopeClaim, VerifyOptions};

/// Why a resource could not start. Each message names the setting and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// An environment variable is unset (and has no default) or not valid Unicode.
    #[error("environment variable `{var}` {problem}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The configuration broke a rule (for values from the environment, the same rules the
    /// macro applies to literals).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Authorization-server discovery failed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

/// Starts a `#[mcp_resource]` type `R`: reads environment values, discovers the authorization
/// servers and builds the verifier. Created by the generated `R::builder()`.
pub struct ResourceBuilder<R> {
    id: Option<String>,
    issuers: Vec<AuthServerConfig>,
    replacement_servers: Option<Vec<AuthServerConfig>>,
    options: VerifyOptions,
    jwks: JwksOptions,
    clock: Option<SharedClock>,
    http: Option<reqwest::Client>,
    fetcher: ServerConfigFetcher,
    introspection: Option<ClientAuth>,
    hierarchy: Vec<(String, Vec<String>)>,
    cache_control: Option<String>,
    allowed_origins: Option<Vec<String>>,
    any_origin: bool,
    _resource: PhantomData<fn() -> R>,
}

impl<R: Resource> Default for ResourceBuilder<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Resource> std::fmt::Debug for ResourceBuilder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceBuilder")
            .field("resource", &R::SPEC.type_name)
            .finish_non_exhaustive()
    }
}

impl<R: Resource> ResourceBuilder<R> {
    /// A builder with the declaration's options.
    pub fn new() -> Self {
        let token = R::SPEC.token;
        let mut options = VerifyOptions::default().typ(token.typ).claims(token.claims);
        if let Some(fallback) = token.scope_claim_fallback {
            let fallback = match fallback {
                "scp" => ScopeClaim::Scp,
                "scopes" => ScopeClaim::Scopes,
                other => ScopeClaim::Custom(other.to_owned()),
            };
            options = options.scope_claims([ScopeClaim::Scope, fallback]);
        }
        Self {
            id: None,
            issuers: Vec::new(),
            replacement_servers: None,
            options,
            jwks: JwksOptions::default(),
            clock: None,
            http: None,
            fetcher: ServerConfigFetcher::new(),
            introspection: None,
            hierarchy: Vec::new(),
            cache_control: None,
            allowed_origins: None,
            any_origin: false,
            _resource: PhantomData,
        }
    }

    /// Clock skew tolerated for `exp`, `nbf` and `iat` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.options = self.options.leeway(leeway);
        self
    }

    /// Replaces the verification options (the declaration's `typ`/claims/scope options are the
    /// starting point of [`ResourceBuilder::new`]).
    pub fn verify_options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }

    /// Accepts `audience` in `aud` besides the resource identifier.
    pub fn extra_audience(mut self, audience: impl Into<String>) -> Self {
        self.options = self.options.extra_audience(audience);
        self
    }

    /// Key cache tuning.
    pub fn jwks_options(mut self, options: JwksOptions) -> Self {
        self.jwks = options;
        self
    }

    /// The clock of the verifier.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The HTTP client for discovery, JWKS and introspection.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.fetcher = self.fetcher.http_client(client.clone());
        self.http = Some(client);
        self
    }

    /// Customises discovery (timeouts, a transform hook, ...).
    pub fn discovery(
        mut self,
        edit: impl FnOnce(ServerConfigFetcher) -> ServerConfigFetcher,
    ) -> Self {
        self.fetcher = edit(self.fetcher);
        self
    }

    /// Overrides the resource identifier (checked at [`build`](Self::build)).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Uses this metadata for the authorization server with the same issuer instead of
    /// discovering it. When every declared issuer is given this way, no request is made at
    /// start-up. An issuer that is not declared is refused.
    pub fn authorization_server(mut self, config: AuthServerConfig) -> Self {
        self.issuers.push(config);
        self
    }

    /// Replaces the declared authorization servers with `servers`: the declared ones are then
    /// neither discovered nor trusted. For tests against
    /// `mcp_auth_dev::AuthorizationServer` (whose issuer has a random port) and for
    /// staging environments; production code trusts what the declaration says.
    pub fn replace_authorization_servers(
        mut self,
        servers: impl IntoIterator<Item = AuthServerConfig>,
    ) -> Self {
        self.replacement_servers = Some(servers.into_iter().collect());
        self
    }

    /// Verifies opaque tokens by introspection (see [`ProtectedResource::introspection`]).
    pub fn introspection(mut self, client: ClientAuth) -> Self {
        self.introspection = Some(client);
        self
    }

    /// Declares that `broader` grants each of `narrower` (RS-49).
    pub fn scope_implies<I, S>(mut self, broader: impl Into<String>, narrower: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hierarchy.push((
            broader.into(),
            narrower.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// The `Cache-Control` of metadata responses (default `max-age=3600`).
    pub fn metadata_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// Browser origins allowed to call the resource besides its own (RS-58); default: the
    /// resource's own origin and loopback origins. See
    /// [`ResourceServerBuilder::allowed_origins`](crate::resource::ResourceServerBuilder::allowed_origins).
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts browser requests from every origin (the application then guards against DNS
    /// rebinding itself).
    pub fn allow_any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// Resolves environment values, checks them with the macro's rules, discovers each
    /// authorization server and builds the verifier.
    pub async fn build(self) -> Result<ResourceAuth<R>, StartupError> {
        let spec = R::SPEC;
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = resolve(spec.id)?;
                // A value from the environment was not seen by the macro: check it here with the
                // same rules, naming the variable, before anything else happens.
                if let ValueSource::Env { var, .. } = spec.id {
                    let problems: Vec<ConfigError> = mcp_auth_rules::resource_id(&id)
                        .errors()
                        .filter(|p| p.kind != mcp_auth_rules::ProblemKind::NotCanonical)
                        .map(|p| ConfigError::invalid("resource", from_env(var, &p.message)))
                        .collect();
                    ConfigError::from_all(problems)?;
                }
                id
            }
        };
        let mut resource = ProtectedResource::new(id)
            .scopes_supported(spec.scopes.iter().copied())
            .verify_options(self.options)
            .jwks_options(self.jwks);
        let meta = spec.metadata;
        if let Some(v) = meta.resource_name {
            resource = resource.resource_name(v);
        }
        if let Some(v) = meta.resource_documentation {
            resource = resource.resource_documentation(v);
        }
        if let Some(v) = meta.resource_policy_uri {
            resource = resource.resource_policy_uri(v);
        }
        if let Some(v) = meta.resource_tos_uri {
            resource = resource.resource_tos_uri(v);
        }
        for (member, value) in meta.localized {
            if let Some((base, tag)) = member.split_once('#')
                && let Some(member) = LocalizedMember::from_name(base)
            {
                resource = resource.localized(member, tag, *value);
            }
        }
        let mut given = self.issuers;
        let mut errors = Vec::new();
        let declared = match self.replacement_servers {
            Some(replacements) => {
                for config in replacements {
                    resource = resource.authorization_server(config);
                }
                &[][..]
            }
            None => spec.issuers,
        };
        for issuer_spec in declared {
            let issuer = resolve(issuer_spec.issuer)?;
            for problem in mcp_auth_rules::issuer(&issuer).errors() {
                let message = match issuer_spec.issuer {
                    ValueSource::Env { var, .. } => from_env(var, &problem.message),
                    ValueSource::Literal(_) => problem.message.clone(),
                };
                errors.push(ConfigError::invalid("issuer", message));
            }
            if let Some(pos) = given.iter().position(|c| c.issuer() == issuer) {
                resource = resource.authorization_server(given.remove(pos));
            } else if errors.is_empty() {
                let config = self.fetcher.fetch(&issuer, issuer_spec.kind).await?;
                resource = resource.authorization_server(config);
            }
        }
        for unused in given {
            errors.push(ConfigError::invalid(
                "authorization_server",
                format!(
                    "issuer `{}` is not declared by `{}`; add it to `issuers = [...]`",
                    unused.issuer(),
                    spec.type_name
                ),
            ));
        }
        ConfigError::from_all(errors)?;
        if let Some(client) = self.introspection {
            resource = resource.introspection(client);
        }
        for (broader, narrower) in self.hierarchy {
            resource = resource.scope_implies(broader, narrower);
        }
        let mut server = ResourceServer::builder().resource(resource);
        if let Some(clock) = self.clock {
            server = server.clock(clock);
        }
        if let Some(http) = self.http {
            server = server.http_client(http);
        }
        if let Some(cc) = self.cache_control {
            server = server.metadata_cache_control(cc);
        }
        if let Some(origins) = self.allowed_origins {
            server = server.allowed_origins(origins);
        }
        if self.any_origin {
            server = server.allow_any_origin();
        }
        let server = server.build()?;
        let handle = server
            .resources()
            .next()
            .cloned()
            .ok_or_else(|| ConfigError::invalid("resource", "no resource was built"))?;
        Ok(ResourceAuth {
            server,
            handle,
            _resource: PhantomData,
        })
    }
}

/// A rule's message for a value read from the environment variable `var`.
fn from_env(var: &str, message: &str) -> String {
    format!("{message} (the value comes from the environment variable `{var}`)")
}

fn resolve(source: ValueSource) -> Result<String, StartupError> {
    match source {
        ValueSource::Literal(value) => Ok(value.to_owned()),
        ValueSource::Env { var, default } => match std::env::var(var) {
            Ok(value) => Ok(value),
            Err(std::env::VarError::NotPresent) => default
                .map(str::to_owned)
                .ok_or(StartupError::Env {
                var,
                problem:
                    "is not set and has no default; set it or add `default = \"...\"` to `env(..)`"
                        .into(),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(StartupError::Env {
                var,
                problem: "is not valid Unicode".into(),
            }),
        },
    }
}

/// A started `#[mcp_resource]`: its layer, metadata router and verifier.
pub struct ResourceAuth<R> {
    server: ResourceServer,
    handle: Arc<ResourceHandle>,
    _resource: PhantomData<fn() -> R>,
}

impl<R> Clone for ResourceAuth<R> {
    fn clone(&self) -> Self {
        Self {
            server: self.server.clone(),
            handle: Arc::clone(&self.handle),
            _resource: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for ResourceAuth<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceAuth")
            .field("resource", &self.handle.id())
            .finish_non_exhaustive()
    }
}

impl<R: Resource> ResourceAuth<R> {
    /// The bearer layer for the resource's routes (the MCP endpoint, an API).
    pub fn layer(&self) -> BearerLayer<R> {
        BearerLayer::for_resource(Arc::clone(&self.handle))
    }

    /// The bearer layer in MCP mode: per-operation scopes from the JSON-RPC body (RS-46) and
    /// sessions bound to their user (RS-56). See [`crate::mcp`].
    pub fn mcp_layer(&self, scopes: crate::mcp::McpScopes) -> BearerLayer<R> {
        self.layer().mcp(scopes)
    }

    /// The router of the metadata document (merge it outside the layer).
    pub fn metadata_router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        self.server.metadata_router()
    }

    /// The canonical resource identifier in force.
    pub fn resource_id(&self) -> &str {
        self.handle.id()
    }

    /// The absolute URL of the metadata document.
    pub fn metadata_url(&self) -> &str {
        self.handle.metadata_url()
    }

    /// The built resource (verifier, document, issuers).
    pub fn handle(&self) -> &Arc<ResourceHandle> {
        &self.handle
    }

    /// The underlying server (one resource).
    pub fn server(&self) -> &ResourceServer {
        &self.server
    }
}
