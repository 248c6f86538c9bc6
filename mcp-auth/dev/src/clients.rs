//! Registered clients ([`ClientRegistration`], RFC 7591 registrations, the introspection
//! client), redirect URI rules, and client authentication at the token and introspection
//! endpoints (RFC 6749 §2.3).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use url::{Host, Url, form_urlencoded};

use super::wire::{Form, OAuthError, single};

/// How a client authenticates at the token endpoint (`token_endpoint_auth_method`, RFC 7591
/// §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    /// A public client: sends `client_id`, no secret.
    None,
    /// HTTP Basic with `client_id:client_secret`.
    SecretBasic,
    /// `client_id` and `client_secret` in the form body.
    SecretPost,
    /// Either of the two secret methods (pre-registered confidential clients).
    SecretAny,
    /// A client assertion signed by the client's registered key (RFC 7523 §2.2), for the
    /// clients of `AuthorizationServerBuilder::introspection_client_key`.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The RFC 7591 name (`SecretAny` reports as `client_secret_basic`, the RFC default).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SecretBasic | Self::SecretAny => "client_secret_basic",
            Self::SecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "client_secret_basic" => Some(Self::SecretBasic),
            "client_secret_post" => Some(Self::SecretPost),
            _ => None,
        }
    }
}

/// A client registered before the server starts, for tests that skip dynamic registration;
/// given to [`AuthorizationServerBuilder::client`](super::AuthorizationServerBuilder::client).
///
/// A public client (`token_endpoint_auth_method` `none`) sends only its `client_id` to the
/// token endpoint; a confidential one authenticates with `client_secret_basic` or
/// `client_secret_post`. Both may use the `authorization_code` and `refresh_token` grants;
/// confidential clients also `client_credentials`. Redirect URIs follow the rules of
/// dynamic registration: absolute, no fragment, `https`, `http` only on a loopback host, or a
/// private-use scheme for native apps (RFC 8252 §7.1).
///
/// ```
/// use mcp_auth_dev::ClientRegistration;
///
/// let inspector = ClientRegistration::public("inspector", ["http://localhost:6274/oauth/callback"])
///     .name("MCP Inspector");
/// let backend = ClientRegistration::confidential(
///     "backend",
///     "s3cret",
///     ["https://backend.example.com/callback"],
/// );
/// assert_eq!(inspector.client_id(), "inspector");
/// assert!(!format!("{backend:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct ClientRegistration {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) client_name: Option<String>,
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_secret.is_some())
            .field("redirect_uris", &self.redirect_uris)
            .field("client_name", &self.client_name)
            .finish()
    }
}

impl ClientRegistration {
    /// A public client (no secret, `token_endpoint_auth_method` `none`).
    pub fn public(
        client_id: impl Into<String>,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            redirect_uris: redirect_uris.into_iter().map(Into::into).collect(),
            client_name: None,
        }
    }

    /// A confidential client that authenticates with `client_secret_basic` or
    /// `client_secret_post`.
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            client_secret: Some(client_secret.into()),
            ..Self::public(client_id, redirect_uris)
        }
    }

    /// The human-readable name shown on the consent page (default: the `client_id`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// The `client_id`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// A registered client, as the endpoints see it.
pub(crate) struct Client {
    pub(crate) client_id: String,
    secret: Option<String>,
    pub(crate) auth_method: AuthMethod,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) grant_types: Vec<String>,
    /// The scopes the client registered (RFC 7591 `scope`); `None`: any scope.
    pub(crate) scope: Option<Vec<String>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(
        client_id: String,
        secret: Option<String>,
        auth_method: AuthMethod,
        redirect_uris: Vec<String>,
        grant_types: Vec<String>,
    ) -> Self {
        Self {
            client_id,
            secret,
            auth_method,
            redirect_uris,
            name: None,
            grant_types,
            scope: None,
        }
    }

    /// The client the builder's `client_credentials` describes: confidential, no redirect URIs.
    pub(crate) fn introspection(client_id: String, secret: String) -> Self {
        Self::new(
            client_id,
            Some(secret),
            AuthMethod::SecretAny,
            Vec::new(),
            vec!["client_credentials".into()],
        )
    }

    /// A client that authenticates with `private_key_jwt` only (a key registered with
    /// `introspection_client_key`): confidential, no redirect URIs.
    pub(crate) fn with_key(client_id: String) -> Self {
        Self::new(
            client_id,
            None,
            AuthMethod::PrivateKeyJwt,
            Vec::new(),
            vec!["client_credentials".into()],
        )
    }

    /// A pre-registered client; `Err` names the problem.
    pub(crate) fn preregistered(registration: ClientRegistration) -> Result<Self, String> {
        if registration.client_id.is_empty() {
            return Err("the client_id is empty".into());
        }
        for uri in &registration.redirect_uris {
            check_redirect_uri(uri).map_err(|problem| format!("redirect URI `{uri}` {problem}"))?;
        }
        let (method, mut grants) = match registration.client_secret {
            Some(_) => (AuthMethod::SecretAny, vec!["client_credentials"]),
            None => (AuthMethod::None, Vec::new()),
        };
        grants.splice(0..0, ["authorization_code", "refresh_token"]);
        let mut client = Self::new(
            registration.client_id,
            registration.client_secret,
            method,
            registration.redirect_uris,
            grants.into_iter().map(str::to_owned).collect(),
        );
        client.name = registration.client_name;
        Ok(client)
    }

    pub(crate) fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub(crate) fn may_use(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }

    /// The name for people: `client_name`, else the `client_id`.
    pub(crate) fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.client_id)
    }

    fn secret_matches(&self, presented: &str) -> bool {
        self.secret.as_deref().is_some_and(|secret| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                presented.as_bytes(),
                secret.as_bytes(),
            )
            .is_ok()
        })
    }
}

/// Every registered client by `client_id`.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    by_id: Mutex<HashMap<String, Arc<Client>>>,
}

impl Clients {
    /// Adds a client; `false` when its `client_id` is taken.
    pub(crate) fn insert(&self, client: Client) -> bool {
        match self
            .by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(client.client_id.clone())
        {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(Arc::new(client));
                true
            }
        }
    }

    pub(crate) fn get(&self, client_id: &str) -> Option<Arc<Client>> {
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(client_id)
            .cloned()
    }
}

/// Schemes that must never receive an authorization response.
const FORBIDDEN_SCHEMES: [&str; 6] = ["javascript", "data", "file", "vbscript", "about", "blob"];

/// Checks a redirect URI (RFC 7591 §2, RFC 8252 §7, OAuth 2.1 §2.3.1): absolute, no fragment;
/// `https`, `http` on a loopback host, or a private-use scheme. `Err` completes the sentence
/// "redirect URI `x` ...".
pub(crate) fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|_| "is not an absolute URI".to_owned())?;
    if url.fragment().is_some() {
        return Err("has a fragment; redirect URIs must not contain `#`".into());
    }
    match url.scheme() {
        "https" => {
            if url.has_host() {
                Ok(())
            } else {
                Err("has no host".into())
            }
        }
        "http" => match url.host() {
            Some(host) if is_loopback(&host) => Ok(()),
            _ => Err(
                "uses http on a host that is not loopback; use https, or http://127.0.0.1, http://[::1] or http://localhost"
                    .into(),
            ),
        },
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => Err(format!(
            "uses the `{scheme}` scheme, which cannot receive an authorization response"
        )),
        _ => Ok(()),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    mcp_auth_rules::is_loopback_host(host)
}

/// How the client tried to authenticate.
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Public { id: String },
}

/// Identifies and authenticates the client of a token or introspection request: HTTP Basic
/// (`client_secret_basic`), `client_id` + `client_secret` in the form (`client_secret_post`),
/// or `client_id` alone (public clients). One method only, and the one the client registered.
/// Client assertions (`private_key_jwt`) are checked by `assertion::authenticate`.
pub(crate) fn authenticate(
    clients: &Clients,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Arc<Client>, OAuthError> {
    let basic = match headers.get(AUTHORIZATION) {
        None => None,
        Some(value) => Some(basic_credentials(value).ok_or_else(|| {
            OAuthError::invalid_client("the Authorization header is not valid Basic")
        })?),
    };
    let post_id = single(form, "client_id")?;
    let post_secret = single(form, "client_secret")?;
    let presented = match (basic, post_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both Basic and client_secret",
            ));
        }
        (Some((id, secret)), None) => {
            if post_id.is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request(
                    "the client_id parameter differs from the client of the Authorization header",
                ));
            }
            Presented::Basic { id, secret }
        }
        (None, Some(secret)) => Presented::Post {
            id: post_id.unwrap_or_default().to_owned(),
            secret: secret.to_owned(),
        },
        (None, None) => match post_id {
            Some(id) => Presented::Public { id: id.to_owned() },
            None => {
                return Err(OAuthError::invalid_client(
                    "client authentication is required",
                ));
            }
        },
    };
    let failed = || OAuthError::invalid_client("client authentication failed");
    let id = match &presented {
        Presented::Basic { id, .. } | Presented::Post { id, .. } | Presented::Public { id } => id,
    };
    let client = clients.get(id).ok_or_else(failed)?;
    let method_ok = matches!(
        (&presented, client.auth_method),
        (Presented::Public { .. }, AuthMethod::None)
            | (
                Presented::Basic { .. },
                AuthMethod::SecretBasic | AuthMethod::SecretAny
            )
            | (
                Presented::Post { .. },
                AuthMethod::SecretPost | AuthMethod::SecretAny
            )
    );
    if !method_ok {
        return Err(OAuthError::invalid_client(format!(
            "this client registered token_endpoint_auth_method `{}`; authenticate that way",
            client.auth_method.name()
        )));
    }
    match &presented {
        Presented::Public { .. } => Ok(client),
        Presented::Basic { secret, .. } | Presented::Post { secret, .. } => {
            if client.secret_matches(secret) {
                Ok(client)
            } else {
                Err(failed())
            }
        }
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

fn form_decode(value: &str) -> String {
    // A lone key decodes to itself; `=` and `&` are percent-encoded by conforming clients.
    let escaped = value.replace('&', "%26").replace('=', "%3D");
    form_urlencoded::parse(escaped.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header =
            |raw: &str| HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).unwrap();
        assert_eq!(
            basic_credentials(&header("my%20client:s%3Acret+x")),
            Some(("my client".into(), "s:cret x".into()))
        );
        assert_eq!(
            basic_credentials(&header("a=b&c:d")),
            Some(("a=b&c".into(), "d".into()))
        );
        assert_eq!(basic_credentials(&header("no-colon")), None);
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Bearer abc")),
            None
        );
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Basic !!!")),
            None
        );
    }

    #[test]
    fn redirect_uris_follow_rfc8252_and_oauth21() {
        for good in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?tenant=1",
            "http://127.0.0.1:6274/oauth/callback",
            "http://localhost/callback",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
        ] {
            assert_eq!(check_redirect_uri(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("/callback", "absolute"),
            ("https://app.example.com/cb#x", "fragment"),
            ("http://app.example.com/cb", "loopback"),
            ("javascript:alert(1)", "`javascript`"),
            ("data:text/html,hi", "`data`"),
        ] {
            let problem = check_redirect_uri(bad).unwrap_err();
            assert!(problem.contains(says), "{bad}: {problem}");
        }
    }
}
