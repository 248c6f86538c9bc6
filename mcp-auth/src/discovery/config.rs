//! [`AuthServerConfig`]: checked metadata that verifiers are built from.

use mcp_auth_rules::{UrlCheck, https_url, issuer as check_issuer};

use super::error::DiscoveryError;
use super::metadata::AuthServerMetadata;
use super::validate::{ValidationReport, validate_server_config};

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

    /// Checks fetched metadata: the caller has already compared the issuer.
    pub(crate) fn fetched(
        metadata: AuthServerMetadata,
        url: String,
    ) -> Result<Self, DiscoveryError> {
        Self::checked(metadata, Some(url))
    }

    fn checked(
        metadata: AuthServerMetadata,
        source_url: Option<String>,
    ) -> Result<Self, DiscoveryError> {
        ensure_valid_issuer(&metadata.issuer)?;
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

    /// Takes the metadata document out.
    pub fn into_metadata(self) -> AuthServerMetadata {
        self.metadata
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

    /// Checks the metadata against what MCP clients need; see [`validate_server_config`].
    pub fn validate(&self) -> ValidationReport {
        validate_server_config(&self.metadata)
    }
}

/// Applies the RFC 8414 §2 issuer rules of `mcp_auth_rules::issuer`.
pub(crate) fn ensure_valid_issuer(issuer: &str) -> Result<(), DiscoveryError> {
    let check = check_issuer(issuer);
    if check.is_ok() {
        Ok(())
    } else {
        Err(DiscoveryError::InvalidIssuer {
            issuer: issuer.to_owned(),
            message: error_messages(&check),
        })
    }
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
