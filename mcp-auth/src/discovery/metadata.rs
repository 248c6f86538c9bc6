//! The authorization server's metadata document (RFC 8414 §2, OpenID Connect Discovery §3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The grant types an authorization server supports when its metadata has no
/// `grant_types_supported` (RFC 8414 §2).
pub(crate) const DEFAULT_GRANT_TYPES: [&str; 2] = ["authorization_code", "implicit"];

/// An authorization server's metadata document: every member registered for RFC 8414 §2
/// authorization-server metadata and OpenID Connect Discovery, plus whatever else the server
/// publishes.
///
/// Only `issuer` is required; every other registered member is an `Option` that is `None` when
/// the server omits it. Members this type does not know (provider extensions, or a key that
/// differs from a registered one only in case, like WSO2's `Response_modes_supported`) are kept
/// in [`extra`](Self::extra) and serialised back, so a document survives a round trip. A
/// registered member whose value is JSON `null` is read as absent.
///
/// Usually obtained from [`fetch_server_config`](crate::discovery::fetch_server_config); build one
/// by hand with [`AuthServerMetadata::new`] and then set fields.
///
/// ```
/// use mcp_auth::discovery::AuthServerMetadata;
///
/// let doc = r#"{
///     "issuer": "https://auth.example.com",
///     "jwks_uri": "https://auth.example.com/jwks",
///     "response_types_supported": ["code"],
///     "x_vendor_flag": true
/// }"#;
/// let metadata: AuthServerMetadata = serde_json::from_str(doc)?;
/// assert_eq!(metadata.jwks_uri.as_deref(), Some("https://auth.example.com/jwks"));
/// assert_eq!(metadata.extra["x_vendor_flag"], true);
///
/// let mut by_hand = AuthServerMetadata::new("https://auth.example.com");
/// by_hand.jwks_uri = Some("https://auth.example.com/jwks".into());
/// assert_eq!(by_hand.issuer, "https://auth.example.com");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthServerMetadata {
    /// The issuer identifier: an `https` URL without query or fragment. Compared byte for byte
    /// with the configured issuer and with the `iss` of tokens (RFC 8414 §3.3).
    pub issuer: String,

    // ---- RFC 8414 §2 ----
    /// URL of the authorization endpoint (RFC 6749 §3.1). Required unless no grant type uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// URL of the token endpoint (RFC 6749 §3.2). Required unless only the implicit grant is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// URL of the server's JWK Set (RFC 7517): the keys that verify its signed JWTs, access tokens included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// URL of the dynamic client registration endpoint (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// Scope values the server supports (RFC 6749 §3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// `response_type` values the server supports. RFC 8414 makes this member REQUIRED; MCP clients need `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    /// `response_mode` values the server supports. When absent the default is `["query", "fragment"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_modes_supported: Option<Vec<String>>,
    /// Grant types the server supports. When absent the default is `["authorization_code", "implicit"]` (RFC 8414 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Client authentication methods of the token endpoint. When absent the default is `client_secret_basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// JWS algorithms for `private_key_jwt` and `client_secret_jwt` at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// URL of human-readable documentation for developers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_documentation: Option<String>,
    /// Languages and scripts supported for the user interface (BCP 47 tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui_locales_supported: Option<Vec<String>>,
    /// URL of the policy on how a client may use the data the server provides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_policy_uri: Option<String>,
    /// URL of the terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_tos_uri: Option<String>,
    /// URL of the revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Client authentication methods of the revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// JWS algorithms for JWT client authentication at the revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// URL of the introspection endpoint (RFC 7662), used to check opaque access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// Client authentication methods of the introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// JWS algorithms for JWT client authentication at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// PKCE code challenge methods (RFC 7636). Absent means the server does not support PKCE; MCP clients require `S256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// A JWT whose claims are metadata values (RFC 8414 §2.1). Kept as the compact JWT; not verified here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_metadata: Option<String>,

    // ---- other registered OAuth authorization-server metadata ----
    /// URL of the device authorization endpoint (RFC 8628).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// Whether the server issues certificate-bound access tokens (RFC 8705).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
    /// Alternative endpoints for mutual-TLS clients, by metadata name (RFC 8705 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls_endpoint_aliases: Option<BTreeMap<String, String>>,
    /// Whether request objects must be signed (RFC 9101).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_signed_request_object: Option<bool>,
    /// URL of the pushed authorization request endpoint (RFC 9126).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// Whether authorization requests must be pushed first (RFC 9126).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Whether authorization responses carry the `iss` parameter (RFC 9207).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// JWS algorithms for DPoP proofs (RFC 9449).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Authorization details types (RFC 9396).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details_types_supported: Option<Vec<String>>,
    /// JWS algorithms for signed introspection responses (RFC 9701).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_signing_alg_values_supported: Option<Vec<String>>,
    /// JWE `alg` values for encrypted introspection responses (RFC 9701).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_encryption_alg_values_supported: Option<Vec<String>>,
    /// JWE `enc` values for encrypted introspection responses (RFC 9701).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_encryption_enc_values_supported: Option<Vec<String>>,
    /// Resource identifiers of the protected resources this server issues tokens for (RFC 9728 §4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_resources: Option<Vec<String>>,
    /// JWS algorithms for JWT-secured authorization responses (JARM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_signing_alg_values_supported: Option<Vec<String>>,
    /// JWE `alg` values for JWT-secured authorization responses (JARM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_encryption_alg_values_supported: Option<Vec<String>>,
    /// JWE `enc` values for JWT-secured authorization responses (JARM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_encryption_enc_values_supported: Option<Vec<String>>,
    /// Whether clients may use a URL of a client ID metadata document as their `client_id` (OAuth Client ID Metadata Document draft; the registration MCP recommends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_document_supported: Option<bool>,

    // ---- OpenID Connect Discovery 1.0 §3 and related OpenID specifications ----
    /// URL of the UserInfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Authentication Context Class References the server supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_values_supported: Option<Vec<String>>,
    /// Subject identifier types (`public`, `pairwise`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_types_supported: Option<Vec<String>>,
    /// JWS algorithms for ID tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// JWE `alg` values for ID tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_encryption_alg_values_supported: Option<Vec<String>>,
    /// JWE `enc` values for ID tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_encryption_enc_values_supported: Option<Vec<String>>,
    /// JWS algorithms for UserInfo responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signing_alg_values_supported: Option<Vec<String>>,
    /// JWE `alg` values for UserInfo responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_encryption_alg_values_supported: Option<Vec<String>>,
    /// JWE `enc` values for UserInfo responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_encryption_enc_values_supported: Option<Vec<String>>,
    /// JWS algorithms for request objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg_values_supported: Option<Vec<String>>,
    /// JWE `alg` values for request objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_encryption_alg_values_supported: Option<Vec<String>>,
    /// JWE `enc` values for request objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_encryption_enc_values_supported: Option<Vec<String>>,
    /// `display` parameter values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_values_supported: Option<Vec<String>>,
    /// Claim types (`normal`, `aggregated`, `distributed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_types_supported: Option<Vec<String>>,
    /// Claim names the server may supply values for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_supported: Option<Vec<String>>,
    /// Languages and scripts of claim values (BCP 47 tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_locales_supported: Option<Vec<String>>,
    /// Whether the `claims` request parameter is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_parameter_supported: Option<bool>,
    /// Whether the `request` parameter is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameter_supported: Option<bool>,
    /// Whether the `request_uri` parameter is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_uri_parameter_supported: Option<bool>,
    /// Whether `request_uri` values must be pre-registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_request_uri_registration: Option<bool>,
    /// `prompt` values the server supports (OpenID Connect Prompt Create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_values_supported: Option<Vec<String>>,
    /// URL of the RP-initiated logout endpoint (OpenID Connect RP-Initiated Logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// URL of the session-management iframe (OpenID Connect Session Management).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_session_iframe: Option<String>,
    /// Whether front-channel logout is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_supported: Option<bool>,
    /// Whether front-channel logout sends `iss` and `sid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_session_supported: Option<bool>,
    /// Whether back-channel logout is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_supported: Option<bool>,
    /// Whether back-channel logout tokens carry `sid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_supported: Option<bool>,
    /// URL of the CIBA backchannel authentication endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_authentication_endpoint: Option<String>,
    /// CIBA token delivery modes (`poll`, `ping`, `push`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_token_delivery_modes_supported: Option<Vec<String>>,
    /// JWS algorithms for signed CIBA authentication requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_authentication_request_signing_alg_values_supported: Option<Vec<String>>,
    /// Whether CIBA supports the `user_code` parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_user_code_parameter_supported: Option<bool>,

    /// Every member not listed above, kept as served.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AuthServerMetadata {
    /// Metadata with only `issuer` set; fill in the other fields by assignment.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            authorization_endpoint: None,
            token_endpoint: None,
            jwks_uri: None,
            registration_endpoint: None,
            scopes_supported: None,
            response_types_supported: None,
            response_modes_supported: None,
            grant_types_supported: None,
            token_endpoint_auth_methods_supported: None,
            token_endpoint_auth_signing_alg_values_supported: None,
            service_documentation: None,
            ui_locales_supported: None,
            op_policy_uri: None,
            op_tos_uri: None,
            revocation_endpoint: None,
            revocation_endpoint_auth_methods_supported: None,
            revocation_endpoint_auth_signing_alg_values_supported: None,
            introspection_endpoint: None,
            introspection_endpoint_auth_methods_supported: None,
            introspection_endpoint_auth_signing_alg_values_supported: None,
            code_challenge_methods_supported: None,
            signed_metadata: None,
            device_authorization_endpoint: None,
            tls_client_certificate_bound_access_tokens: None,
            mtls_endpoint_aliases: None,
            require_signed_request_object: None,
            pushed_authorization_request_endpoint: None,
            require_pushed_authorization_requests: None,
            authorization_response_iss_parameter_supported: None,
            dpop_signing_alg_values_supported: None,
            authorization_details_types_supported: None,
            introspection_signing_alg_values_supported: None,
            introspection_encryption_alg_values_supported: None,
            introspection_encryption_enc_values_supported: None,
            protected_resources: None,
            authorization_signing_alg_values_supported: None,
            authorization_encryption_alg_values_supported: None,
            authorization_encryption_enc_values_supported: None,
            client_id_metadata_document_supported: None,
            userinfo_endpoint: None,
            acr_values_supported: None,
            subject_types_supported: None,
            id_token_signing_alg_values_supported: None,
            id_token_encryption_alg_values_supported: None,
            id_token_encryption_enc_values_supported: None,
            userinfo_signing_alg_values_supported: None,
            userinfo_encryption_alg_values_supported: None,
            userinfo_encryption_enc_values_supported: None,
            request_object_signing_alg_values_supported: None,
            request_object_encryption_alg_values_supported: None,
            request_object_encryption_enc_values_supported: None,
            display_values_supported: None,
            claim_types_supported: None,
            claims_supported: None,
            claims_locales_supported: None,
            claims_parameter_supported: None,
            request_parameter_supported: None,
            request_uri_parameter_supported: None,
            require_request_uri_registration: None,
            prompt_values_supported: None,
            end_session_endpoint: None,
            check_session_iframe: None,
            frontchannel_logout_supported: None,
            frontchannel_logout_session_supported: None,
            backchannel_logout_supported: None,
            backchannel_logout_session_supported: None,
            backchannel_authentication_endpoint: None,
            backchannel_token_delivery_modes_supported: None,
            backchannel_authentication_request_signing_alg_values_supported: None,
            backchannel_user_code_parameter_supported: None,
            extra: Map::new(),
        }
    }

    /// Whether `grant_type` is supported, applying the RFC 8414 default
    /// ([`DEFAULT_GRANT_TYPES`]) when `grant_types_supported` is absent.
    pub(crate) fn supports_grant_type(&self, grant_type: &str) -> bool {
        match &self.grant_types_supported {
            Some(list) => list.iter().any(|g| g == grant_type),
            None => DEFAULT_GRANT_TYPES.contains(&grant_type),
        }
    }

    /// Reads a metadata document from a JSON value. On failure the message names the member
    /// whose value has the wrong type (serde alone does not, because of the flattened
    /// [`extra`](Self::extra)).
    pub(crate) fn from_json(value: &Value) -> Result<Self, String> {
        let error = match Self::deserialize(value) {
            Ok(metadata) => return Ok(metadata),
            Err(error) => error,
        };
        let Value::Object(members) = value else {
            return Err(format!("the document must be a JSON object ({error})"));
        };
        let Some(issuer) = members.get("issuer") else {
            return Err("the required `issuer` member is missing".to_owned());
        };
        // Probe one member at a time next to `issuer` to find the one with the wrong type.
        for (name, member) in members {
            let mut probe = Map::new();
            probe.insert("issuer".to_owned(), issuer.clone());
            probe.insert(name.clone(), member.clone());
            if let Err(e) = Self::deserialize(&Value::Object(probe)) {
                return Err(format!("member `{name}`: {e}"));
            }
        }
        Err(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::discovery::test_fixtures::provider_fixtures;

    #[test]
    fn round_trip_keeps_unknown_members() {
        let value = json!({
            "issuer": "https://auth.example.com/",
            "jwks_uri": "https://auth.example.com/jwks",
            "mtls_endpoint_aliases": {"token_endpoint": "https://mtls.auth.example.com/token"},
            "require_pushed_authorization_requests": false,
            "x_vendor": {"nested": [1, 2, null]},
            "tenant_region_scope": null,
        });
        let metadata: AuthServerMetadata = serde_json::from_value(value.clone()).expect("parse");
        assert_eq!(metadata.issuer, "https://auth.example.com/");
        assert_eq!(metadata.require_pushed_authorization_requests, Some(false));
        assert_eq!(
            metadata
                .mtls_endpoint_aliases
                .as_ref()
                .and_then(|m| m.get("token_endpoint"))
                .map(String::as_str),
            Some("https://mtls.auth.example.com/token")
        );
        assert_eq!(metadata.extra.len(), 2);
        assert_eq!(metadata.extra["tenant_region_scope"], Value::Null);
        assert_eq!(serde_json::to_value(&metadata).expect("serialise"), value);
    }

    #[test]
    fn new_serialises_only_issuer() {
        assert_eq!(
            serde_json::to_value(AuthServerMetadata::new("https://a.example")).expect("json"),
            json!({"issuer": "https://a.example"})
        );
    }

    #[test]
    fn every_provider_fixture_parses_and_round_trips() {
        for (name, value) in provider_fixtures() {
            let metadata: AuthServerMetadata =
                serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                Some(&metadata.issuer),
                value["issuer"].as_str().map(str::to_owned).as_ref(),
                "{name}"
            );
            let back = serde_json::to_value(&metadata).expect("serialise");
            assert_eq!(back, value, "{name} lost or changed members");
            // Known members are typed, not left in `extra`.
            assert!(!metadata.extra.contains_key("issuer"), "{name}");
            if value.get("jwks_uri").is_some() {
                assert!(metadata.jwks_uri.is_some(), "{name}");
                assert!(!metadata.extra.contains_key("jwks_uri"), "{name}");
            }
            assert_eq!(
                AuthServerMetadata::from_json(&value).as_ref(),
                Ok(&metadata),
                "{name}"
            );
        }
    }

    #[test]
    fn wso2_duplicate_by_case_keys_are_both_kept() {
        let (_, value) = provider_fixtures()
            .into_iter()
            .find(|(n, _)| n == "wso2-is-oidc.json")
            .expect("wso2 fixture");
        let metadata: AuthServerMetadata = serde_json::from_value(value).expect("parse");
        assert!(metadata.response_modes_supported.is_some());
        assert!(metadata.extra.contains_key("Response_modes_supported"));
    }

    #[test]
    fn entra_template_issuer_parses() {
        let (_, value) = provider_fixtures()
            .into_iter()
            .find(|(n, _)| n == "entra-common-oidc.json")
            .expect("entra fixture");
        let metadata: AuthServerMetadata = serde_json::from_value(value).expect("parse");
        assert_eq!(
            metadata.issuer,
            "https://login.microsoftonline.com/{tenantid}/v2.0"
        );
        assert!(metadata.extra.contains_key("cloud_instance_name"));
    }

    #[test]
    fn parse_errors_name_the_member() {
        let err = AuthServerMetadata::from_json(&json!({"jwks_uri": "https://a.example/jwks"}));
        assert!(
            err.as_ref().is_err_and(|e| e.contains("`issuer`")),
            "{err:?}"
        );
        let err = AuthServerMetadata::from_json(&json!({
            "issuer": "https://a.example",
            "scopes_supported": ["a"],
            "code_challenge_methods_supported": "S256",
        }));
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("`code_challenge_methods_supported`")),
            "{err:?}"
        );
        let err = AuthServerMetadata::from_json(&json!({"issuer": 7}));
        assert!(
            err.as_ref().is_err_and(|e| e.contains("`issuer`")),
            "{err:?}"
        );
        let err = AuthServerMetadata::from_json(&json!("https://a.example"));
        assert!(err.is_err());
    }

    #[test]
    fn grant_type_default() {
        let mut m = AuthServerMetadata::new("https://a.example");
        assert!(m.supports_grant_type("implicit"));
        assert!(!m.supports_grant_type("client_credentials"));
        m.grant_types_supported = Some(vec![]);
        assert!(!m.supports_grant_type("authorization_code"));
    }
}
