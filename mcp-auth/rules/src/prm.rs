//! The bytes of an RFC 9728 Protected Resource Metadata document.
//!
//! The runtime serves these bytes and `#[mcp_resource]` embeds the same bytes as a constant, so
//! both call [`PrmDocument::to_json`]. Members come in a fixed order (the RFC 9728 §2 order) and
//! "parameters with zero values MUST be omitted" (RS-07): no `null`, `""`, `[]` or `false`.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// The members of a Protected Resource Metadata document (RFC 9728 §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrmDocument {
    /// `resource`: the resource identifier (REQUIRED).
    pub resource: String,
    /// `authorization_servers`: issuer identifiers, byte-exact.
    pub authorization_servers: Vec<String>,
    /// `jwks_uri`: the resource's own keys (not the authorization server's).
    pub jwks_uri: Option<String>,
    /// `scopes_supported`.
    pub scopes_supported: Vec<String>,
    /// `bearer_methods_supported` (MCP: `["header"]`).
    pub bearer_methods_supported: Vec<String>,
    /// `resource_signing_alg_values_supported` (`none` is never emitted).
    pub resource_signing_alg_values_supported: Vec<String>,
    /// `resource_name`.
    pub resource_name: Option<String>,
    /// `resource_documentation`.
    pub resource_documentation: Option<String>,
    /// `resource_policy_uri`.
    pub resource_policy_uri: Option<String>,
    /// `resource_tos_uri`.
    pub resource_tos_uri: Option<String>,
    /// `tls_client_certificate_bound_access_tokens` (emitted only when true).
    pub tls_client_certificate_bound_access_tokens: bool,
    /// `authorization_details_types_supported`.
    pub authorization_details_types_supported: Vec<String>,
    /// `dpop_signing_alg_values_supported`.
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// `dpop_bound_access_tokens_required` (emitted only when true).
    pub dpop_bound_access_tokens_required: bool,
    /// `signed_metadata`: a JWT.
    pub signed_metadata: Option<String>,
    /// Language-tagged human-readable members (RFC 9728 §2.1), e.g.
    /// `("resource_name#de", "Notizen")`, emitted after the untagged ones in this order.
    pub localized: Vec<(String, String)>,
    /// Other members, as (name, JSON value), emitted last in this order.
    pub extra: Vec<(String, serde_json::Value)>,
}

impl PrmDocument {
    /// A document for `resource` with `bearer_methods_supported: ["header"]`.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            bearer_methods_supported: vec!["header".to_owned()],
            ..Self::default()
        }
    }

    /// The compact JSON text.
    ///
    /// ```
    /// use mcp_auth_rules::prm::PrmDocument;
    ///
    /// let mut doc = PrmDocument::new("https://mcp.example.com/mcp");
    /// doc.authorization_servers = vec!["https://auth.example.com".into()];
    /// doc.scopes_supported = vec!["mcp:read".into()];
    /// doc.resource_name = Some("Example MCP".into());
    /// assert_eq!(
    ///     doc.to_json(),
    ///     r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:read"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        // Serialising strings, vectors and `Value`s into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn non_empty<'a>(v: &'a Option<String>) -> Option<&'a str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl Serialize for PrmDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("resource", &self.resource)?;
        if !self.authorization_servers.is_empty() {
            map.serialize_entry("authorization_servers", &self.authorization_servers)?;
        }
        if let Some(v) = non_empty(&self.jwks_uri) {
            map.serialize_entry("jwks_uri", v)?;
        }
        if !self.scopes_supported.is_empty() {
            map.serialize_entry("scopes_supported", &self.scopes_supported)?;
        }
        if !self.bearer_methods_supported.is_empty() {
            map.serialize_entry("bearer_methods_supported", &self.bearer_methods_supported)?;
        }
        let algs: Vec<&String> = self
            .resource_signing_alg_values_supported
            .iter()
            .filter(|a| !a.eq_ignore_ascii_case("none"))
            .collect();
        if !algs.is_empty() {
            map.serialize_entry("resource_signing_alg_values_supported", &algs)?;
        }
        if let Some(v) = non_empty(&self.resource_name) {
            map.serialize_entry("resource_name", v)?;
        }
        if let Some(v) = non_empty(&self.resource_documentation) {
            map.serialize_entry("resource_documentation", v)?;
        }
        if let Some(v) = non_empty(&self.resource_policy_uri) {
            map.serialize_entry("resource_policy_uri", v)?;
        }
        if let Some(v) = non_empty(&self.resource_tos_uri) {
            map.serialize_entry("resource_tos_uri", v)?;
        }
        if self.tls_client_certificate_bound_access_tokens {
            map.serialize_entry("tls_client_certificate_bound_access_tokens", &true)?;
        }
        if !self.authorization_details_types_supported.is_empty() {
            map.serialize_entry(
                "authorization_details_types_supported",
                &self.authorization_details_types_supported,
            )?;
        }
        if !self.dpop_signing_alg_values_supported.is_empty() {
            map.serialize_entry(
                "dpop_signing_alg_values_supported",
                &self.dpop_signing_alg_values_supported,
            )?;
        }
        if self.dpop_bound_access_tokens_required {
            map.serialize_entry("dpop_bound_access_tokens_required", &true)?;
        }
        if let Some(v) = non_empty(&self.signed_metadata) {
            map.serialize_entry("signed_metadata", v)?;
        }
        for (name, value) in &self.localized {
            if !value.is_empty() {
                map.serialize_entry(name, value)?;
            }
        }
        for (name, value) in &self.extra {
            let zero = match value {
                serde_json::Value::Null => true,
                serde_json::Value::String(s) => s.is_empty(),
                serde_json::Value::Array(a) => a.is_empty(),
                serde_json::Value::Bool(b) => !b,
                _ => false,
            };
            if !zero {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rs07_zero_values_are_omitted() {
        let mut doc = PrmDocument::new("https://mcp.example.com/mcp");
        doc.resource_name = Some(String::new());
        doc.resource_signing_alg_values_supported = vec!["none".into()];
        doc.extra = vec![
            ("x".into(), serde_json::Value::Null),
            ("y".into(), serde_json::json!([])),
        ];
        assert_eq!(
            doc.to_json(),
            r#"{"resource":"https://mcp.example.com/mcp","bearer_methods_supported":["header"]}"#
        );
    }

    #[test]
    fn localized_and_extra_members_keep_their_order() {
        let mut doc = PrmDocument::new("https://a.example");
        doc.resource_name = Some("Notes".into());
        doc.localized = vec![("resource_name#de".into(), "Notizen \"neu\"".into())];
        doc.extra = vec![
            ("z".into(), serde_json::json!(1)),
            ("a".into(), serde_json::json!(true)),
        ];
        assert_eq!(
            doc.to_json(),
            r#"{"resource":"https://a.example","bearer_methods_supported":["header"],"resource_name":"Notes","resource_name#de":"Notizen \"neu\"","z":1,"a":true}"#
        );
    }
}
