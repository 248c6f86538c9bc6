//! Where things are served: issuer, discovery URLs, endpoint paths, and metadata documents.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use mcp_auth_rules::{DiscoveryKind, discovery_urls};
use serde_json::{Map, Value, json};
use url::Url;

use super::error::DevServerError;
use super::keys::SigningAlg;

/// Which of the discovery URLs that MCP clients try (MCP authorization, Authorization Server
/// Metadata Discovery) the server answers. For an issuer with path `{path}`:
///
/// | URL | `Both` | `OAuthOnly` | `OidcOnly` | `OidcAppendOnly` |
/// |---|---|---|---|---|
/// | `/.well-known/oauth-authorization-server{path}` (RFC 8414) | yes | yes | | |
/// | `/.well-known/openid-configuration{path}` (OIDC, inserted) | yes | | yes | |
/// | `{path}/.well-known/openid-configuration` (OIDC Discovery 1.0, appended) | yes | | yes | yes |
///
/// With an empty path the two OIDC URLs are the same, `/.well-known/openid-configuration`.
/// The RFC 8414 URL serves the RFC 8414 document, the OIDC URLs the OIDC one (which adds
/// `subject_types_supported` and `id_token_signing_alg_values_supported`). Every other path is
/// a 404.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_auth_dev::{AuthorizationServer, Discovery};
///
/// let idp = AuthorizationServer::builder()
///     .issuer_path("/tenant1")
///     .discovery(Discovery::OidcAppendOnly)
///     .start()
///     .await?;
/// assert_eq!(
///     idp.well_known_urls(),
///     [format!("{}/tenant1/.well-known/openid-configuration", idp.origin())]
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Discovery {
    /// Every URL (the default).
    #[default]
    Both,
    /// Only the RFC 8414 URL.
    OAuthOnly,
    /// Only the OIDC URLs (inserted and appended).
    OidcOnly,
    /// Only the appended OIDC URL (`{issuer}/.well-known/openid-configuration`).
    OidcAppendOnly,
}

/// What a path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    OAuthMetadata,
    OidcMetadata,
    /// A tenant's discovery document: the server's own (OIDC when `oidc`, else RFC 8414) with
    /// the issuer of [`Layout::tenants`]`[tenant]`.
    TenantMetadata {
        /// Whether the OIDC document is served (else the RFC 8414 one).
        oidc: bool,
        /// The index of the tenant in [`Layout::tenants`].
        tenant: usize,
    },
    Jwks,
    Token,
    Introspect,
    Authorize,
    Register,
}

/// The server's URLs and routing table, fixed at start.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: String,
    pub(crate) token_endpoint: String,
    pub(crate) introspection_endpoint: String,
    pub(crate) authorization_endpoint: String,
    pub(crate) registration_endpoint: String,
    pub(crate) well_known: Vec<String>,
    /// Request path (as sent on the wire, percent-encoded) to route.
    pub(crate) routes: HashMap<String, Route>,
    /// The rewritten document given to `metadata_document`, served as is.
    pub(crate) document: Option<Value>,
    /// The tenants (see `AuthorizationServerBuilder::tenants`), in the order given.
    pub(crate) tenants: Vec<Tenant>,
}

/// A tenant: an issuer of its own that shares the server's keys and endpoints.
#[derive(Debug)]
pub(crate) struct Tenant {
    /// The name given to `AuthorizationServerBuilder::tenants`, e.g. `contoso`.
    pub(crate) name: String,
    /// `{origin}/{name}`.
    pub(crate) issuer: String,
}

/// The longest tenant name accepted, in bytes.
const MAX_TENANT_LEN: usize = 64;

impl Layout {
    /// The layout of a generated server whose issuer is `origin` + `issuer_path`.
    pub(crate) fn generated(
        origin: &str,
        issuer_path: &str,
        discovery: Discovery,
    ) -> Result<Self, DevServerError> {
        check_issuer_path(issuer_path)?;
        let issuer = format!("{origin}{issuer_path}");
        let base = format!("{origin}{}", issuer_path.trim_end_matches('/'));
        Self::assemble(
            issuer,
            discovery,
            Endpoints {
                jwks_uri: format!("{base}/.well-known/jwks.json"),
                token: format!("{base}/token"),
                introspection: format!("{base}/introspect"),
                authorization: format!("{base}/authorize"),
                registration: format!("{base}/register"),
            },
            None,
        )
    }

    /// The layout of a server that serves `document` with every absolute URL moved to `origin`.
    pub(crate) fn from_document(
        origin: &str,
        mut document: Value,
        discovery: Discovery,
    ) -> Result<Self, DevServerError> {
        if !document.is_object() {
            return Err(DevServerError::InvalidMetadataDocument(
                "the document must be a JSON object".into(),
            ));
        }
        rewrite_origins(&mut document, origin);
        let issuer = document
            .get("issuer")
            .and_then(Value::as_str)
            .filter(|iss| same_origin(iss, origin))
            .ok_or_else(|| {
                DevServerError::InvalidMetadataDocument(
                    "the document needs an `issuer` string that is an absolute http(s) URL".into(),
                )
            })?
            .to_owned();
        let base = format!(
            "{origin}{}",
            url_path(&issuer).unwrap_or_default().trim_end_matches('/')
        );
        let endpoint = |member: &str, default: String| {
            document
                .get(member)
                .and_then(Value::as_str)
                .filter(|url| same_origin(url, origin))
                .map_or(default, str::to_owned)
        };
        let endpoints = Endpoints {
            jwks_uri: endpoint("jwks_uri", format!("{base}/.well-known/jwks.json")),
            token: endpoint("token_endpoint", format!("{base}/token")),
            introspection: endpoint("introspection_endpoint", format!("{base}/introspect")),
            authorization: endpoint("authorization_endpoint", format!("{base}/authorize")),
            registration: endpoint("registration_endpoint", format!("{base}/register")),
        };
        Self::assemble(issuer, discovery, endpoints, Some(document))
    }

    fn assemble(
        issuer: String,
        discovery: Discovery,
        endpoints: Endpoints,
        document: Option<Value>,
    ) -> Result<Self, DevServerError> {
        let well_known: Vec<(String, Route)> = well_known_urls(&issuer, discovery)
            .ok_or_else(|| DevServerError::InvalidIssuerPath {
                path: url_path(&issuer).unwrap_or_default(),
                problem: "does not form a valid issuer URL".into(),
            })?
            .into_iter()
            .map(|(url, oidc)| {
                let route = if oidc {
                    Route::OidcMetadata
                } else {
                    Route::OAuthMetadata
                };
                (url, route)
            })
            .collect();

        let mut routes = HashMap::new();
        let mut add = |url: &str, route: Route, what: &str| -> Result<(), DevServerError> {
            let path = url_path(url).ok_or_else(|| {
                DevServerError::InvalidMetadataDocument(format!("`{what}` is not a URL"))
            })?;
            match routes.entry(path) {
                Entry::Vacant(slot) => {
                    slot.insert(route);
                    Ok(())
                }
                Entry::Occupied(slot) if *slot.get() == route => Ok(()),
                Entry::Occupied(slot) => Err(DevServerError::InvalidMetadataDocument(format!(
                    "`{what}` has the path `{}`, which already serves another route; give it its own path",
                    slot.key()
                ))),
            }
        };
        for (url, route) in &well_known {
            add(url, *route, "a discovery URL")?;
        }
        add(&endpoints.jwks_uri, Route::Jwks, "jwks_uri")?;
        add(&endpoints.token, Route::Token, "token_endpoint")?;
        add(
            &endpoints.introspection,
            Route::Introspect,
            "introspection_endpoint",
        )?;
        add(
            &endpoints.authorization,
            Route::Authorize,
            "authorization_endpoint",
        )?;
        add(
            &endpoints.registration,
            Route::Register,
            "registration_endpoint",
        )?;

        Ok(Self {
            issuer,
            jwks_uri: endpoints.jwks_uri,
            token_endpoint: endpoints.token,
            introspection_endpoint: endpoints.introspection,
            authorization_endpoint: endpoints.authorization,
            registration_endpoint: endpoints.registration,
            well_known: well_known.into_iter().map(|(url, _)| url).collect(),
            routes,
            document,
            tenants: Vec::new(),
        })
    }

    /// Adds the tenants `names`, each with the issuer `{origin}/{name}` and the discovery URLs
    /// of that issuer that `discovery` answers. A name that is not 1 to 64 ASCII letters,
    /// digits and `-`, or whose `/{name}` path (or a path under it, or one of its discovery
    /// URLs) is already routed, is an error.
    pub(crate) fn add_tenants(
        &mut self,
        origin: &str,
        names: Vec<String>,
        discovery: Discovery,
    ) -> Result<(), DevServerError> {
        for name in names {
            check_tenant(&name)?;
            let issuer = format!("{origin}/{name}");
            let prefix = format!("/{name}");
            let under = format!("{prefix}/");
            let taken = |path: &str| path == prefix || path.starts_with(&under);
            let invalid = |problem: String| DevServerError::InvalidTenant {
                tenant: name.clone(),
                problem,
            };
            if let Some(path) = self.routes.keys().find(|p| taken(p)) {
                return Err(invalid(format!(
                    "clashes with the path `{path}`, which this server already serves; give the tenant another name (or the issuer another path)"
                )));
            }
            let urls = well_known_urls(&issuer, discovery)
                .ok_or_else(|| invalid("does not form a valid issuer URL".into()))?;
            let index = self.tenants.len();
            for (url, oidc) in urls {
                let path = url_path(&url)
                    .ok_or_else(|| invalid("does not form a valid issuer URL".into()))?;
                if self.routes.contains_key(&path) {
                    return Err(invalid(format!(
                        "would be discovered at `{path}`, which this server already serves; give the tenant another name"
                    )));
                }
                let route = Route::TenantMetadata {
                    oidc,
                    tenant: index,
                };
                self.routes.insert(path, route);
            }
            self.tenants.push(Tenant { name, issuer });
        }
        Ok(())
    }

    /// Whether `iss` is the server's issuer or one of its tenants' (the introspection endpoint
    /// answers for the JWTs of every tenant, as it is shared).
    pub(crate) fn is_issuer(&self, iss: &str) -> bool {
        iss == self.issuer || self.tenants.iter().any(|t| t.issuer == iss)
    }

    /// The issuer of the tenant `name`, if the server has that tenant.
    pub(crate) fn tenant_issuer(&self, name: &str) -> Option<&str> {
        self.tenants
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.issuer.as_str())
    }

    /// The discovery document served at a metadata route; `scopes` become `scopes_supported`
    /// when not empty.
    pub(crate) fn metadata(&self, oidc: bool, algs: &[SigningAlg], scopes: &[String]) -> Value {
        if let Some(document) = &self.document {
            return document.clone();
        }
        let mut doc = Map::new();
        let mut put = |name: &str, value: Value| {
            doc.insert(name.into(), value);
        };
        put("issuer", self.issuer.clone().into());
        put(
            "authorization_endpoint",
            self.authorization_endpoint.clone().into(),
        );
        put("token_endpoint", self.token_endpoint.clone().into());
        put("jwks_uri", self.jwks_uri.clone().into());
        put(
            "registration_endpoint",
            self.registration_endpoint.clone().into(),
        );
        put(
            "introspection_endpoint",
            self.introspection_endpoint.clone().into(),
        );
        if !scopes.is_empty() {
            put("scopes_supported", json!(scopes));
        }
        put("response_types_supported", json!(["code"]));
        put("response_modes_supported", json!(["query"]));
        put(
            "grant_types_supported",
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                crate::exchange::TOKEN_EXCHANGE,
                crate::exchange::JWT_BEARER,
            ]),
        );
        put("code_challenge_methods_supported", json!(["S256"]));
        // RFC 9449 §5.1: the token endpoint binds tokens to DPoP proofs' keys.
        put(
            "dpop_signing_alg_values_supported",
            json!(mcp_auth::dpop::SUPPORTED_ALGORITHMS.map(crate::dpop::alg_name)),
        );
        put(
            "token_endpoint_auth_methods_supported",
            json!(["none", "client_secret_basic", "client_secret_post"]),
        );
        put(
            "introspection_endpoint_auth_methods_supported",
            json!(["client_secret_basic", "client_secret_post"]),
        );
        put(
            "authorization_response_iss_parameter_supported",
            true.into(),
        );
        if oidc {
            doc.insert("subject_types_supported".into(), json!(["public"]));
            let names: Vec<&str> = algs.iter().map(|a| a.name()).collect();
            doc.insert("id_token_signing_alg_values_supported".into(), json!(names));
        }
        Value::Object(doc)
    }
}

/// The discovery URLs of `issuer` that `discovery` answers, in the order MCP clients try
/// them, each with whether it serves the OIDC document (else the RFC 8414 one). `None` when
/// `issuer` is not a valid issuer URL.
fn well_known_urls(issuer: &str, discovery: Discovery) -> Option<Vec<(String, bool)>> {
    let oauth = discovery_urls(issuer, DiscoveryKind::OAuth)?;
    let oidc = discovery_urls(issuer, DiscoveryKind::Oidc)?;
    let mut urls = Vec::new();
    if matches!(discovery, Discovery::Both | Discovery::OAuthOnly) {
        urls.extend(oauth.into_iter().map(|u| (u, false)));
    }
    match discovery {
        Discovery::Both | Discovery::OidcOnly => {
            urls.extend(oidc.into_iter().map(|u| (u, true)));
        }
        Discovery::OidcAppendOnly => {
            urls.extend(oidc.into_iter().last().map(|u| (u, true)));
        }
        Discovery::OAuthOnly => {}
    }
    Some(urls)
}

/// The URLs of the endpoints, before routing.
struct Endpoints {
    jwks_uri: String,
    token: String,
    introspection: String,
    authorization: String,
    registration: String,
}

/// The path of an absolute URL as it goes on the wire (percent-encoded).
pub(crate) fn url_path(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()
        .filter(Url::has_host)
        .map(|u| u.path().to_owned())
}

/// The wire form of `path_or_url`: the path of an absolute URL, or a path as a client would
/// send it (leading `/` added, percent-encoded, query and fragment dropped).
pub(crate) fn wire_path(path_or_url: &str) -> String {
    if let Some(path) = url_path(path_or_url) {
        return path;
    }
    let path = if path_or_url.starts_with('/') {
        path_or_url.to_owned()
    } else {
        format!("/{path_or_url}")
    };
    url_path(&format!("http://127.0.0.1{path}")).unwrap_or(path)
}

fn same_origin(url: &str, origin: &str) -> bool {
    url.strip_prefix(origin)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
}

fn check_issuer_path(path: &str) -> Result<(), DevServerError> {
    let problem = |problem: String| {
        Err(DevServerError::InvalidIssuerPath {
            path: path.to_owned(),
            problem,
        })
    };
    if path.is_empty() {
        return Ok(());
    }
    if !path.starts_with('/') {
        return problem(format!("must start with `/`; write `/{path}`"));
    }
    if path.contains(['?', '#']) {
        return problem("must not contain `?` or `#`; an issuer has no query or fragment".into());
    }
    match url_path(&format!("http://127.0.0.1{path}")) {
        Some(canonical) if canonical == path => Ok(()),
        Some(canonical) => problem(format!(
            "is not in the form clients send; write it as `{canonical}`"
        )),
        None => problem("is not a valid URL path".into()),
    }
}

/// A tenant name is 1 to 64 bytes of ASCII letters, digits and `-`.
fn check_tenant(name: &str) -> Result<(), DevServerError> {
    let problem = if name.is_empty() {
        "is empty; give the tenant a name, e.g. `contoso`"
    } else if name.len() > MAX_TENANT_LEN {
        "is longer than 64 bytes"
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        "may hold only ASCII letters, digits and `-`"
    } else {
        return Ok(());
    };
    Err(DevServerError::InvalidTenant {
        tenant: name.to_owned(),
        problem: problem.into(),
    })
}

/// Replaces the origin (scheme, host, port) of every absolute `http(s)` URL string in `value`,
/// at any depth, with `origin`. Object keys and other strings are left alone.
pub(crate) fn rewrite_origins(value: &mut Value, origin: &str) {
    match value {
        Value::String(s) => {
            if let Some(rewritten) = rewrite_origin(s, origin) {
                *s = rewritten;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_origins(v, origin)),
        Value::Object(members) => members
            .values_mut()
            .for_each(|v| rewrite_origins(v, origin)),
        _ => {}
    }
}

fn rewrite_origin(value: &str, origin: &str) -> Option<String> {
    let rest = ["https://", "http://"].into_iter().find_map(|scheme| {
        value
            .get(..scheme.len())
            .filter(|p| p.eq_ignore_ascii_case(scheme))
            .and_then(|_| value.get(scheme.len()..))
    })?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    Some(format!("{origin}{}", rest.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: &str = "http://127.0.0.1:4000";

    #[test]
    fn rewrite_moves_only_http_urls_and_keeps_paths_exact() {
        let mut doc = json!({
            "issuer": "https://x.auth0.com/",
            "jwks_uri": "HTTPS://X.auth0.com:8443/.well-known/jwks.json?x=1",
            "nested": {"aliases": ["https://mtls.example.com/token", "urn:ietf:x"]},
            "entra": "https://login.microsoftonline.com/{tenantid}/v2.0",
            "bare": "https://",
            "https://key.example.com/": 1,
        });
        rewrite_origins(&mut doc, O);
        assert_eq!(doc["issuer"], "http://127.0.0.1:4000/");
        assert_eq!(
            doc["jwks_uri"],
            "http://127.0.0.1:4000/.well-known/jwks.json?x=1"
        );
        assert_eq!(doc["nested"]["aliases"][0], "http://127.0.0.1:4000/token");
        assert_eq!(doc["nested"]["aliases"][1], "urn:ietf:x");
        assert_eq!(doc["entra"], "http://127.0.0.1:4000/{tenantid}/v2.0");
        assert_eq!(doc["bare"], "https://");
        assert_eq!(doc["https://key.example.com/"], 1);
    }

    #[test]
    fn issuer_path_must_be_a_canonical_absolute_path() {
        assert!(check_issuer_path("").is_ok());
        assert!(check_issuer_path("/").is_ok());
        assert!(check_issuer_path("/tenant1").is_ok());
        let err = check_issuer_path("tenant1").unwrap_err().to_string();
        assert!(err.contains("write `/tenant1`"), "{err}");
        assert!(check_issuer_path("/t?x=1").is_err());
        let err = check_issuer_path("/a b").unwrap_err().to_string();
        assert!(err.contains("`/a%20b`"), "{err}");
    }

    #[test]
    fn tenant_names_are_short_ascii_letters_digits_and_dashes() {
        assert!(check_tenant("contoso").is_ok());
        assert!(check_tenant("Tenant-2").is_ok());
        assert!(check_tenant(&"a".repeat(64)).is_ok());
        for bad in ["", "a b", "a/b", "a.b", "a_b", "é", &"a".repeat(65)] {
            let err = check_tenant(bad).unwrap_err();
            assert!(
                matches!(&err, DevServerError::InvalidTenant { tenant, .. } if tenant == bad),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn wire_path_accepts_paths_and_urls() {
        assert_eq!(wire_path("/token"), "/token");
        assert_eq!(wire_path("token"), "/token");
        assert_eq!(wire_path("http://127.0.0.1:1/a/b?q"), "/a/b");
        assert_eq!(wire_path("/{tenantid}/x"), "/%7Btenantid%7D/x");
    }
}
