//! [`AuthServerConfig`]: checked metadata that verifiers are built from.

use mcp_auth_rules::{UrlCheck, https_url, issuer as issuer_rule};

use super::error::DiscoveryError;
use super::metadata::AuthServerMetadata;

/// An authorization server's metadata whose `issuer` follows RFC 8414 §2 and, when fetched, is
/// byte-identical to the issuer it was fetched for (RFC 8414 §3.3); the endpoints that verifiers
/// call (`jwks_uri`, `introspection_endpoint`) are absolute `https` URLs (`http` only for
/// loopback hosts).
///
/// Obtained from [`fetch_server_config`](super::fetch_server_config) /
/// [`ServerConfigFetcher`](super::ServerConfigFetcher), or without network from
/// [`AuthServerConfig::from_metadata`].
///
/// ```
/// use mcp_auth::discovery::{AuthServerConfig, AuthServerMetadata};
///
/// let mut metadata = AuthServerMetadata::new("https://auth.example.com/");
/// metadata.jwks_uri = Some("https://auth.example.com/.well-known/jwks.json".into());
/// let config = AuthServerConfig::from_metadata(metadata)?;
/// assert_eq!(config.issuer(), "https://auth.example.com/"); // kept byte-exact
/// assert_eq!(config.jwks_uri(), Some("https://auth.example.com/.well-known/jwks.json"));
/// assert_eq!(config.source_url(), None); // given by hand
/// # Ok::<(), mcp_auth::discovery::DiscoveryError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AuthServerConfig {
    metadata: AuthServerMetadata,
    source_url: Option<String>,
}

impl AuthServerConfig {
    /// Uses metadata given by hand, without any request. Fails when the `issuer` breaks
    /// RFC 8414 §2 ([`DiscoveryError::InvalidIssuer`]) or `jwks_uri` / `introspection_endpoint`
    /// is not an `https` URL ([`DiscoveryError::InvalidEndpoint`]).
    pub fn from_metadata(metadata: AuthServerMetadata) -> Result<Self, DiscoveryError> {
        Self::checked(metadata, None)
    }

    /// Checks fetched metadata: the caller checked the issuer it asked for, and compared the
    /// document's `issuer` with it byte for byte.
    pub(crate) fn fetched(
        metadata: AuthServerMetadata,
        url: String,
    ) -> Result<Self, DiscoveryError> {
        Self::checked_endpoints(metadata, Some(url))
    }

    fn checked(
        metadata: AuthServerMetadata,
        source_url: Option<String>,
    ) -> Result<Self, DiscoveryError> {
        ensure_valid_issuer(&metadata.issuer)?;
        Self::checked_endpoints(metadata, source_url)
    }

    fn checked_endpoints(
        metadata: AuthServerMetadata,
        source_url: Option<String>,
    ) -> Result<Self, DiscoveryError> {
        let endpoints = [
            ("jwks_uri", metadata.jwks_uri.as_deref()),
            (
                "introspection_endpoint",
                metadata.introspection_endpoint.as_deref(),
            ),
        ];
        for (field, value) in endpoints {
            if let Some(value) = value {
                let check = https_url(field, value);
                if !check.is_ok() {
                    return Err(DiscoveryError::InvalidEndpoint {
                        field,
                        message: error_messages(&check),
                    });
                }
            }
        }
        Ok(Self {
            metadata,
            source_url,
        })
    }

    /// The issuer identifier, exactly as the metadata spells it.
    pub fn issuer(&self) -> &str {
        &self.metadata.issuer
    }

    /// The whole metadata document.
    pub fn metadata(&self) -> &AuthServerMetadata {
        &self.metadata
    }

    /// The JWK Set URL that JWT verifiers fetch keys from, if the server publishes one.
    pub fn jwks_uri(&self) -> Option<&str> {
        self.metadata.jwks_uri.as_deref()
    }

    /// The RFC 7662 introspection endpoint, if the server publishes one.
    pub fn introspection_endpoint(&self) -> Option<&str> {
        self.metadata.introspection_endpoint.as_deref()
    }

    /// The URL the metadata was fetched from; `None` when it was given by hand.
    pub fn source_url(&self) -> Option<&str> {
        self.source_url.as_deref()
    }
}

/// The RFC 8414 §2 rule for issuer identifiers (absolute `https` URL, `http` only on loopback,
/// no query, fragment or userinfo, canonical case and port): the one place the runtime applies
/// it. `Err` holds every problem, each naming its fix.
///
/// It runs where an issuer enters the library: a discovery request or hand-written metadata
/// ([`AuthServerConfig`]), a verifier builder given a bare issuer, and a `#[mcp_resource]`
/// issuer read from the environment. An issuer taken from an `AuthServerConfig` is not checked
/// again.
pub(crate) fn check_issuer(issuer: &str) -> Result<(), String> {
    let check = issuer_rule(issuer);
    if check.is_ok() {
        Ok(())
    } else {
        Err(error_messages(&check))
    }
}

/// [`check_issuer`] as a discovery error.
pub(crate) fn ensure_valid_issuer(issuer: &str) -> Result<(), DiscoveryError> {
    check_issuer(issuer).map_err(|message| DiscoveryError::InvalidIssuer {
        issuer: issuer.to_owned(),
        message,
    })
}

/// The messages of the errors of a check, joined.
pub(crate) fn error_messages(check: &UrlCheck) -> String {
    check
        .errors()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_metadata_keeps_issuer_byte_exact() {
        for issuer in ["https://tenant.auth0.com/", "https://auth.example.com/t1"] {
            let config = AuthServerConfig::from_metadata(AuthServerMetadata::new(issuer));
            assert_eq!(
                config.map(|c| c.issuer().to_owned()).ok().as_deref(),
                Some(issuer)
            );
        }
    }

    #[test]
    fn from_metadata_rejects_bad_issuers() {
        for issuer in [
            "auth.example.com",
            "http://auth.example.com",
            "https://auth.example.com?x=1",
            "https://auth.example.com#f",
            "https://Auth.example.com",
            // Entra's template issuer is not a usable issuer until a tenant is filled in.
            "https://login.microsoftonline.com/{tenantid}/v2.0",
        ] {
            let err = AuthServerConfig::from_metadata(AuthServerMetadata::new(issuer));
            assert!(
                matches!(err, Err(DiscoveryError::InvalidIssuer { issuer: ref i, .. }) if i == issuer),
                "{issuer}: {err:?}"
            );
        }
        assert!(
            AuthServerConfig::from_metadata(AuthServerMetadata::new("http://127.0.0.1:9/x"))
                .is_ok()
        );
    }

    #[test]
    fn from_metadata_rejects_plain_http_endpoints() {
        let mut metadata = AuthServerMetadata::new("https://auth.example.com");
        metadata.jwks_uri = Some("http://auth.example.com/jwks".into());
        let err = AuthServerConfig::from_metadata(metadata.clone());
        assert!(
            matches!(
                err,
                Err(DiscoveryError::InvalidEndpoint {
                    field: "jwks_uri",
                    ..
                })
            ),
            "{err:?}"
        );
        metadata.jwks_uri = None;
        metadata.introspection_endpoint = Some("/introspect".into());
        let err = AuthServerConfig::from_metadata(metadata);
        assert!(
            matches!(
                err,
                Err(DiscoveryError::InvalidEndpoint {
                    field: "introspection_endpoint",
                    ..
                })
            ),
            "{err:?}"
        );
    }
}
