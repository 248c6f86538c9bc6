//! Starting a `#[mcp_resource]`: [`ResourceBuilder`] turns the compile-time declaration into a
//! running [`ResourceAuth`] (discovery, keys, metadata document, layer).
//!
//! The builder holds only what the declaration leaves open: where the identifier and the
//! authorization servers come from (the environment, a test's development server) and how
//! discovery runs. Every other setting has one home, reached through a closure:
//! [`resource`](ResourceBuilder::resource) edits the [`ProtectedResource`] (verification
//! options, introspection, scope implications, metadata members) and
//! [`server`](ResourceBuilder::server) the [`ResourceServerBuilder`] (browser origins, clock,
//! HTTP client).
//!
//! ```no_run
//! # use mcp_auth::{ResourceAuth, mcp_resource};
//! # use std::time::Duration;
//! #[mcp_resource(id = "https://notes.example.com/mcp", issuer = "https://auth.example.com", scopes = ["read:notes"])]
//! struct Notes;
//!
//! # async fn run() -> Result<(), mcp_auth::StartupError> {
//! let notes: ResourceAuth<Notes> = Notes::builder()
//!     .resource(|r| r.verify(|v| v.leeway(Duration::from_secs(30))))
//!     .server(|s| s.allowed_origins(["https://claude.ai"]))
//!     .build()
//!     .await?;
//! let app = axum::Router::<()>::new()
//!     .layer(notes.layer())
//!     .merge(notes.metadata_router());
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use crate::discovery::{AuthServerConfig, DiscoveryError, ServerConfigFetcher, check_issuer};
use crate::error::ConfigError;
use crate::metadata::{LocalizedMember, ProtectedResourceMetadata};
use crate::resource::{ProtectedResource, ResourceAuth, ResourceServer, ResourceServerBuilder};
use crate::spec::{Resource, ResourceSpec, ValueSource};
use crate::verify::{ScopeClaim, VerifyOptions};

/// Why a resource could not start. Each message names the setting and the fix.
///
/// `Debug` prints the same message (and its causes), so the idiomatic
/// `fn main() -> Result<(), Box<dyn std::error::Error>>` shows what to fix, not the variant's
/// fields.
#[derive(thiserror::Error)]
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

impl std::fmt::Debug for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::error::debug_as_display(self, f)
    }
}

type Edit<T> = Box<dyn FnOnce(T) -> T + Send>;

/// Starts a `#[mcp_resource]` type `R`: reads environment values, discovers the authorization
/// servers and builds the verifier. Created by the generated `R::builder()`.
pub struct ResourceBuilder<R> {
    id: Option<String>,
    given: Vec<AuthServerConfig>,
    replacement: Option<Vec<AuthServerConfig>>,
    /// A tenant's issuer, discovered in place of the declared ones.
    tenant_issuer: Option<(String, crate::discovery::DiscoveryKind)>,
    discovery: Vec<Edit<ServerConfigFetcher>>,
    resource: Vec<Edit<ProtectedResource>>,
    server: ResourceServerBuilder,
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
        Self {
            id: None,
            given: Vec::new(),
            replacement: None,
            tenant_issuer: None,
            discovery: Vec::new(),
            resource: Vec::new(),
            server: ResourceServer::builder(),
            _resource: PhantomData,
        }
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
        self.given.push(config);
        self
    }

    /// Replaces the declared authorization servers with `servers`: the declared ones are then
    /// neither discovered nor trusted. For tests against a development authorization server
    /// (whose issuer has a random port) and for staging environments; production code trusts
    /// what the declaration says.
    pub fn replace_authorization_servers(
        mut self,
        servers: impl IntoIterator<Item = AuthServerConfig>,
    ) -> Self {
        self.replacement = Some(servers.into_iter().collect());
        self
    }

    /// Discovers `issuer` (already checked) in place of the declared issuers: a tenant's
    /// resource ([`Tenants`](crate::Tenants)).
    pub(crate) fn discover_instead(
        mut self,
        issuer: String,
        kind: crate::discovery::DiscoveryKind,
    ) -> Self {
        self.tenant_issuer = Some((issuer, kind));
        self
    }

    /// Customises discovery of the declared issuers (timeouts, a transform hook, ...). It uses
    /// the server's HTTP client unless `edit` gives it one of its own.
    pub fn discovery(
        mut self,
        edit: impl FnOnce(ServerConfigFetcher) -> ServerConfigFetcher + Send + 'static,
    ) -> Self {
        self.discovery.push(Box::new(edit));
        self
    }

    /// Edits the resource's configuration, which starts from the declaration: verification
    /// options (`.verify(|v| v.leeway(..))`), introspection, scope implications, metadata
    /// members. Its authorization servers are the declaration's (see
    /// [`authorization_server`](Self::authorization_server)).
    pub fn resource(
        mut self,
        edit: impl FnOnce(ProtectedResource) -> ProtectedResource + Send + 'static,
    ) -> Self {
        self.resource.push(Box::new(edit));
        self
    }

    /// Edits the settings of the server that hosts the resource: browser origins, the clock,
    /// the HTTP client, the metadata `Cache-Control`. It hosts this resource only.
    pub fn server(
        mut self,
        edit: impl FnOnce(ResourceServerBuilder) -> ResourceServerBuilder,
    ) -> Self {
        self.server = edit(self.server);
        self
    }

    /// Resolves environment values, checks them with the macro's rules, discovers each
    /// authorization server and builds the verifier. Every configuration problem is reported
    /// at once.
    pub async fn build(self) -> Result<ResourceAuth<R>, StartupError> {
        let spec = R::SPEC;
        let mut errors = Vec::new();
        let id = match self.id {
            Some(id) => id,
            None => resolve_id(spec)?,
        };
        let mut resource = ProtectedResource::new(id)
            .verify(|_| declared_options(spec))
            .metadata(|m| declared_metadata(m, spec))
            .dpop(|d| declared_dpop(d, R::DPOP));
        if let Some(path) = spec.token.role_claim {
            resource = resource.role_claim(path);
        }
        for edit in self.resource {
            resource = edit(resource);
        }
        if resource.has_servers() {
            errors.push(ConfigError::invalid(
                "authorization_servers",
                format!(
                    "the authorization servers of `{}` come from its declaration (`issuer = ...`); give their metadata with .authorization_server(..) or .replace_authorization_servers(..) on the builder, not inside .resource(..)",
                    spec.type_name
                ),
            ));
        }
        if self.server.has_resources() {
            errors.push(ConfigError::invalid(
                "resources",
                format!(
                    "the server of `{}` hosts that resource only; build several resources with ResourceServer::builder()",
                    spec.type_name
                ),
            ));
        }
        let mut fetcher = ServerConfigFetcher::new();
        if let Some(http) = &self.server.http {
            fetcher = fetcher.http_client(http.clone());
        }
        for edit in self.discovery {
            fetcher = edit(fetcher);
        }
        let mut given = self.given;
        let declared = match (self.replacement, self.tenant_issuer) {
            (replacement, Some((issuer, kind))) => {
                if replacement.is_some() || !given.is_empty() {
                    errors.push(ConfigError::invalid(
                        "authorization_servers",
                        "a tenant's authorization server is its issuer (Tenants' pattern or .tenant_issuer(..)); remove .authorization_server(..) and .replace_authorization_servers(..) from the tenant's builder",
                    ));
                    given.clear();
                }
                if errors.is_empty() {
                    let config = fetcher.fetch_checked(&issuer, kind).await?;
                    resource = resource.authorization_server(config);
                }
                &[][..]
            }
            (Some(replacements), None) => {
                for config in replacements {
                    resource = resource.authorization_server(config);
                }
                &[][..]
            }
            (None, None) => spec.issuers,
        };
        for issuer_spec in declared {
            let issuer = resolve(issuer_spec.issuer)?;
            // A literal was checked by the macro; a value from the environment is checked here,
            // naming the variable, before any request is made.
            if let ValueSource::Env { var, .. } = issuer_spec.issuer
                && let Err(message) = check_issuer(&issuer)
            {
                errors.push(ConfigError::invalid("issuer", from_env(var, &message)));
                continue;
            }
            if let Some(pos) = given.iter().position(|c| c.issuer() == issuer) {
                resource = resource.authorization_server(given.remove(pos));
            } else if errors.is_empty() {
                let config = fetcher.fetch_checked(&issuer, issuer_spec.kind).await?;
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
        let server = self.server.resource(resource).build()?;
        let built = server
            .resources()
            .next()
            .cloned()
            .ok_or_else(|| ConfigError::invalid("resource", "no resource was built"))?;
        Ok(built.retag())
    }
}

/// The verification options the declaration asks for (`accept_jwt_typ`, `lenient_claims`,
/// `scope_claim`).
fn declared_options(spec: ResourceSpec) -> VerifyOptions {
    let token = spec.token;
    let mut options = VerifyOptions::default().typ(token.typ).claims(token.claims);
    if let Some(fallback) = token.scope_claim_fallback {
        let fallback = match fallback {
            "scp" => ScopeClaim::Scp,
            "scopes" => ScopeClaim::Scopes,
            other => ScopeClaim::Custom(other.to_owned()),
        };
        options = options.scope_claims([ScopeClaim::Scope, fallback]);
    }
    options
}

/// The DPoP policy and algorithms the declaration gives (`dpop`, `dpop_algs`).
fn declared_dpop(
    options: crate::dpop::DpopOptions,
    spec: crate::spec::DpopSpec,
) -> crate::dpop::DpopOptions {
    let options = options.policy(spec.policy);
    if spec.algs.is_empty() {
        return options;
    }
    // The macro accepted only names jsonwebtoken parses; an unparsable one would be dropped,
    // and an empty list is refused when the resource is built.
    options.algorithms(
        spec.algs
            .iter()
            .filter_map(|a| a.parse::<jsonwebtoken::Algorithm>().ok()),
    )
}

/// The metadata members the declaration gives (`scopes`, `name`, the URLs, localized ones).
fn declared_metadata(
    metadata: ProtectedResourceMetadata,
    spec: ResourceSpec,
) -> ProtectedResourceMetadata {
    let declared = spec.metadata;
    let mut metadata = metadata.scopes_supported(spec.scopes.iter().copied());
    if let Some(v) = declared.resource_name {
        metadata = metadata.resource_name(v);
    }
    if let Some(v) = declared.resource_documentation {
        metadata = metadata.resource_documentation(v);
    }
    if let Some(v) = declared.resource_policy_uri {
        metadata = metadata.resource_policy_uri(v);
    }
    if let Some(v) = declared.resource_tos_uri {
        metadata = metadata.resource_tos_uri(v);
    }
    for (member, value) in declared.localized {
        if let Some((base, tag)) = member.split_once('#')
            && let Some(member) = LocalizedMember::from_name(base)
        {
            metadata = metadata.localized(member, tag, *value);
        }
    }
    metadata
}

/// The declared identifier; one read from the environment was not seen by the macro, so it is
/// checked here with the same rules, naming the variable, before anything else happens.
fn resolve_id(spec: ResourceSpec) -> Result<String, StartupError> {
    let id = resolve(spec.id)?;
    if let ValueSource::Env { var, .. } = spec.id {
        let problems: Vec<ConfigError> = mcp_auth_rules::resource_id(&id)
            .errors()
            .filter(|p| p.kind != mcp_auth_rules::ProblemKind::NotCanonical)
            .map(|p| ConfigError::invalid("resource", from_env(var, &p.message)))
            .collect();
        ConfigError::from_all(problems)?;
    }
    Ok(id)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_errors_print_their_message_with_debug() {
        let error = StartupError::from(DiscoveryError::IssuerMismatch {
            expected: "https://auth.example.com".into(),
            found: "https://auth.example.com/".into(),
            url: "https://auth.example.com/.well-known/openid-configuration".into(),
        });
        assert_eq!(format!("{error:?}"), error.to_string());
        assert!(!format!("{error:?}").contains("IssuerMismatch"));
        let config = StartupError::from(
            ConfigError::from_all(vec![
                ConfigError::invalid("resource", "a"),
                ConfigError::invalid("issuer", "b"),
            ])
            .unwrap_err(),
        );
        assert_eq!(format!("{config:?}"), config.to_string());
    }
}
