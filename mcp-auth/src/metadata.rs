//! The RFC 9728 protected resource metadata document, which MCP servers must publish.
//!
//! [`ProtectedResourceMetadata`] holds every member RFC 9728 §2 registers, language-tagged
//! variants (`resource_name#de`) and extension members. It serialises to compact JSON with a
//! fixed member order and no zero values, through the same writer the macros use at compile
//! time ([`mcp_auth_rules::metadata_json`]), so both produce the same bytes:
//!
//! ```
//! use mcp_auth::metadata::ProtectedResourceMetadata;
//!
//! let doc = ProtectedResourceMetadata::new("https://mcp.example.com/mcp")
//!     .authorization_servers(["https://auth.example.com"])
//!     .scopes_supported(["mcp:read"])
//!     .resource_name("Example MCP");
//! assert_eq!(
//!     doc.to_json(),
//!     r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:read"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}"#
//! );
//! ```
//!
//! The member order is `resource`, `authorization_servers`, `jwks_uri`, `scopes_supported`,
//! `bearer_methods_supported`, `resource_signing_alg_values_supported`, `resource_name` (then
//! its language-tagged variants), `resource_documentation` (variants), `resource_policy_uri`
//! (variants), `resource_tos_uri` (variants), `tls_client_certificate_bound_access_tokens`,
//! `authorization_details_types_supported`, `dpop_signing_alg_values_supported`,
//! `dpop_bound_access_tokens_required`, `signed_metadata`, then the extension members in the
//! order they were added. Members with zero values (`""`, `[]`, `false`, unset) are left out
//! (RFC 9728 §3.2), `offline_access` is never listed in `scopes_supported` (MCP advises against
//! it) and `none` never in `resource_signing_alg_values_supported`.
//!
//! This type only holds and writes the document; the URL and scope rules are checked where the
//! resource is configured (`mcp_auth_rules`).

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess};
use serde::ser::{Serialize, Serializer};
use serde_json::Value;

use crate::ConfigError;
pub use mcp_auth_rules::metadata_json::{LocalizedMember, LocalizedValue};
use mcp_auth_rules::metadata_json::{MEMBERS, MetadataJson};

/// An RFC 9728 protected resource metadata document.
///
/// Build it with [`ProtectedResourceMetadata::new`] and the setters (the fields are public to
/// read); write it with
/// [`to_json`](Self::to_json) or through serde
/// (the same bytes). Deserialising keeps language-tagged variants and unknown members in
/// document order and refuses duplicate members.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// `resource`: the canonical resource identifier (RFC 9728 §1.2 and §3.3, MCP's canonical
    /// server URI). Required.
    pub resource: String,
    /// `authorization_servers`: issuer identifiers, byte-identical to each issuer's metadata
    /// (RFC 8414 §3.3).
    pub authorization_servers: Vec<String>,
    /// `jwks_uri`: the resource's own keys for signed responses.
    pub jwks_uri: Option<String>,
    /// `scopes_supported` (`offline_access` is never written, as MCP advises).
    pub scopes_supported: Vec<String>,
    /// `bearer_methods_supported` (empty: not written).
    pub bearer_methods_supported: Vec<String>,
    /// `resource_signing_alg_values_supported` (`none` is never written).
    pub resource_signing_alg_values_supported: Vec<String>,
    /// `resource_name`.
    pub resource_name: Option<String>,
    /// `resource_documentation`.
    pub resource_documentation: Option<String>,
    /// `resource_policy_uri`.
    pub resource_policy_uri: Option<String>,
    /// `resource_tos_uri`.
    pub resource_tos_uri: Option<String>,
    /// `tls_client_certificate_bound_access_tokens` (written only when `true`).
    pub tls_client_certificate_bound_access_tokens: bool,
    /// `authorization_details_types_supported`.
    pub authorization_details_types_supported: Vec<String>,
    /// `dpop_signing_alg_values_supported` (`none` is never written).
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// `dpop_bound_access_tokens_required` (written only when `true`).
    pub dpop_bound_access_tokens_required: bool,
    /// `signed_metadata`.
    pub signed_metadata: Option<String>,
    /// Language-tagged variants (`resource_name#de`), each written after its member; among
    /// the variants of one member, in this order. The setter and deserialisation keep them
    /// sorted by member.
    pub localized: Vec<LocalizedValue>,
    /// Extension members, written last in this order; registered names and zero values are
    /// skipped when written.
    pub extra: Vec<(String, Value)>,
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl ProtectedResourceMetadata {
    /// A document for `resource` (the canonical resource identifier), with
    /// `bearer_methods_supported` set to `["header"]`, the only method MCP allows.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            bearer_methods_supported: vec!["header".to_owned()],
            ..Self::empty(resource.into())
        }
    }

    fn empty(resource: String) -> Self {
        Self {
            resource,
            authorization_servers: Vec::new(),
            jwks_uri: None,
            scopes_supported: Vec::new(),
            bearer_methods_supported: Vec::new(),
            resource_signing_alg_values_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
            tls_client_certificate_bound_access_tokens: false,
            authorization_details_types_supported: Vec::new(),
            dpop_signing_alg_values_supported: Vec::new(),
            dpop_bound_access_tokens_required: false,
            signed_metadata: None,
            localized: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Sets `authorization_servers`: the issuer identifiers, each byte-identical to the
    /// issuer's own metadata (RFC 8414 §3.3).
    pub fn authorization_servers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorization_servers = strings(issuers);
        self
    }

    /// Sets `jwks_uri`: the resource's **own** keys for signed responses, not the
    /// authorization server's keys.
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Sets `scopes_supported`: the minimal baseline set, not the full catalogue (MCP's
    /// security best practices: scope minimization).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = strings(scopes);
        self
    }

    /// Sets `bearer_methods_supported` (`["header"]` by default). An empty list leaves the
    /// member out; `[]` would mean "no method supported" and is never written.
    pub fn bearer_methods_supported<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bearer_methods_supported = strings(methods);
        self
    }

    /// Sets `resource_signing_alg_values_supported`; `none` is never written.
    pub fn resource_signing_alg_values_supported<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_signing_alg_values_supported = strings(algs);
        self
    }

    /// Sets `resource_name`, the human-readable name shown to users.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Sets `resource_documentation`, a URL of developer documentation.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// Sets `resource_policy_uri`, a URL about how client data is used.
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.resource_policy_uri = Some(url.into());
        self
    }

    /// Sets `resource_tos_uri`, a URL of the terms of service.
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.resource_tos_uri = Some(url.into());
        self
    }

    /// Sets `tls_client_certificate_bound_access_tokens` (written only when `true`).
    pub fn tls_client_certificate_bound_access_tokens(mut self, on: bool) -> Self {
        self.tls_client_certificate_bound_access_tokens = on;
        self
    }

    /// Sets `authorization_details_types_supported` (RFC 9396).
    pub fn authorization_details_types_supported<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorization_details_types_supported = strings(types);
        self
    }

    /// Sets `dpop_signing_alg_values_supported` (RFC 9449); `none` is never written.
    pub(crate) fn dpop_signing_alg_values_supported<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dpop_signing_alg_values_supported = strings(algs);
        self
    }

    /// Sets `dpop_bound_access_tokens_required` (written only when `true`).
    pub(crate) fn dpop_bound_access_tokens_required(mut self, on: bool) -> Self {
        self.dpop_bound_access_tokens_required = on;
        self
    }

    /// Sets `signed_metadata`, a JWS-signed JWT of the metadata (RFC 9728 §2.2).
    pub fn signed_metadata(mut self, jwt: impl Into<String>) -> Self {
        self.signed_metadata = Some(jwt.into());
        self
    }

    /// Adds a language-tagged variant of a human-readable member (RFC 9728 §2.1), e.g.
    /// `resource_name#de`. Setting the same member and tag again replaces the value in place.
    ///
    /// ```
    /// use mcp_auth::metadata::{LocalizedMember, ProtectedResourceMetadata};
    ///
    /// let doc = ProtectedResourceMetadata::new("https://rs.example")
    ///     .resource_name("Notes")
    ///     .localized(LocalizedMember::ResourceName, "de", "Notizen");
    /// assert!(doc.to_json().contains(r#""resource_name":"Notes","resource_name#de":"Notizen""#));
    /// ```
    pub fn localized(
        mut self,
        member: LocalizedMember,
        tag: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        let (tag, value) = (tag.into(), value.into());
        match self
            .localized
            .iter_mut()
            .find(|l| l.member == member && l.tag == tag)
        {
            Some(existing) => existing.value = value,
            None => {
                self.localized.push(LocalizedValue { member, tag, value });
                // Document order: by member, then in the order added (a stable sort).
                self.localized.sort_by_key(|l| l.member);
            }
        }
        self
    }

    /// Adds an extension member, written after the registered ones in the order added. Adding
    /// the same name again replaces the value in place.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] when `name` is empty, a registered member (use its setter) or a
    /// language-tagged variant of one (use [`localized`](Self::localized)).
    pub fn extra(mut self, name: impl Into<String>, value: Value) -> Result<Self, ConfigError> {
        let name = name.into();
        if name.is_empty() {
            return Err(ConfigError::invalid(
                "extra",
                "an extension member needs a non-empty name",
            ));
        }
        if is_registered(&name) {
            return Err(ConfigError::invalid(
                "extra",
                format!(
                    "`{}` is a registered RFC 9728 member; set it with its own setter (or `localized` for a language-tagged variant)",
                    name.escape_default()
                ),
            ));
        }
        match self.extra.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => *existing = value,
            None => self.extra.push((name, value)),
        }
        Ok(self)
    }

    /// A borrowed view in the form the shared writer takes (what the macros build too).
    pub(crate) fn as_json(&self) -> MetadataJson<'_> {
        MetadataJson {
            resource: &self.resource,
            authorization_servers: &self.authorization_servers,
            jwks_uri: self.jwks_uri.as_deref(),
            scopes_supported: &self.scopes_supported,
            bearer_methods_supported: &self.bearer_methods_supported,
            resource_signing_alg_values_supported: &self.resource_signing_alg_values_supported,
            resource_name: self.resource_name.as_deref(),
            resource_documentation: self.resource_documentation.as_deref(),
            resource_policy_uri: self.resource_policy_uri.as_deref(),
            resource_tos_uri: self.resource_tos_uri.as_deref(),
            tls_client_certificate_bound_access_tokens: self
                .tls_client_certificate_bound_access_tokens,
            authorization_details_types_supported: &self.authorization_details_types_supported,
            dpop_signing_alg_values_supported: &self.dpop_signing_alg_values_supported,
            dpop_bound_access_tokens_required: self.dpop_bound_access_tokens_required,
            signed_metadata: self.signed_metadata.as_deref(),
            localized: &self.localized,
            extra: &self.extra,
        }
    }

    /// The compact JSON document.
    pub fn to_json(&self) -> String {
        self.as_json().to_json()
    }

    /// The compact JSON document as bytes, ready to be a response body.
    pub(crate) fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().into_bytes()
    }
}

/// A registered member, or a language-tagged variant of a localisable one.
fn is_registered(name: &str) -> bool {
    MEMBERS.contains(&name)
        || name
            .split_once('#')
            .is_some_and(|(base, _)| LocalizedMember::from_name(base).is_some())
}

impl Serialize for ProtectedResourceMetadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ProtectedResourceMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DocumentVisitor)
    }
}

struct DocumentVisitor;

/// Reads the next value, naming `key` in the error.
fn next<'de, A, T>(map: &mut A, key: &str) -> Result<T, A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    map.next_value()
        .map_err(|e| de::Error::custom(format_args!("member `{key}`: {e}")))
}

/// A list member; `null` reads as absent.
fn next_list<'de, A: MapAccess<'de>>(map: &mut A, key: &str) -> Result<Vec<String>, A::Error> {
    Ok(next::<A, Option<Vec<String>>>(map, key)?.unwrap_or_default())
}

/// A boolean member; `null` reads as `false`.
fn next_flag<'de, A: MapAccess<'de>>(map: &mut A, key: &str) -> Result<bool, A::Error> {
    Ok(next::<A, Option<bool>>(map, key)?.unwrap_or(false))
}

impl<'de> de::Visitor<'de> for DocumentVisitor {
    type Value = ProtectedResourceMetadata;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 9728 protected resource metadata object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut resource: Option<String> = None;
        let mut doc = ProtectedResourceMetadata::empty(String::new());
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!(
                    "member `{}` appears more than once",
                    key.escape_default()
                )));
            }
            let k = key.as_str();
            match k {
                "resource" => resource = Some(next(&mut map, k)?),
                "authorization_servers" => doc.authorization_servers = next_list(&mut map, k)?,
                "jwks_uri" => doc.jwks_uri = next(&mut map, k)?,
                "scopes_supported" => doc.scopes_supported = next_list(&mut map, k)?,
                "bearer_methods_supported" => {
                    doc.bearer_methods_supported = next_list(&mut map, k)?;
                }
                "resource_signing_alg_values_supported" => {
                    doc.resource_signing_alg_values_supported = next_list(&mut map, k)?;
                }
                "resource_name" => doc.resource_name = next(&mut map, k)?,
                "resource_documentation" => doc.resource_documentation = next(&mut map, k)?,
                "resource_policy_uri" => doc.resource_policy_uri = next(&mut map, k)?,
                "resource_tos_uri" => doc.resource_tos_uri = next(&mut map, k)?,
                "tls_client_certificate_bound_access_tokens" => {
                    doc.tls_client_certificate_bound_access_tokens = next_flag(&mut map, k)?;
                }
                "authorization_details_types_supported" => {
                    doc.authorization_details_types_supported = next_list(&mut map, k)?;
                }
                "dpop_signing_alg_values_supported" => {
                    doc.dpop_signing_alg_values_supported = next_list(&mut map, k)?;
                }
                "dpop_bound_access_tokens_required" => {
                    doc.dpop_bound_access_tokens_required = next_flag(&mut map, k)?;
                }
                "signed_metadata" => doc.signed_metadata = next(&mut map, k)?,
                _ => {
                    let localized = k
                        .split_once('#')
                        .and_then(|(base, tag)| Some((LocalizedMember::from_name(base)?, tag)));
                    match localized {
                        Some((member, tag)) => {
                            let value: String = next(&mut map, k)?;
                            doc.localized.push(LocalizedValue {
                                member,
                                tag: tag.to_owned(),
                                value,
                            });
                        }
                        None => {
                            let value: Value = next(&mut map, k)?;
                            doc.extra.push((key, value));
                        }
                    }
                }
            }
        }
        doc.resource = resource.ok_or_else(|| de::Error::missing_field("resource"))?;
        if doc.resource.is_empty() {
            // A zero value is an absent member (RFC 9728 §3.2), and `resource` is required: an
            // empty one would be written back as no member at all.
            return Err(de::Error::invalid_value(
                de::Unexpected::Str(""),
                &"the resource identifier (an absolute URL)",
            ));
        }
        // The order they are written in: by member, then document order (a stable sort).
        doc.localized.sort_by_key(|l| l.member);
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_empty_resource_is_refused_so_every_accepted_document_round_trips() {
        assert!(serde_json::from_str::<ProtectedResourceMetadata>(r#"{"resource":""}"#).is_err());
        let doc: ProtectedResourceMetadata =
            serde_json::from_str(r#"{"resource":"https://rs.example"}"#).unwrap();
        let again: ProtectedResourceMetadata = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(doc, again);
    }

    const FIXTURE: &str = r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:read"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}"#;

    fn fixture() -> ProtectedResourceMetadata {
        ProtectedResourceMetadata::new("https://mcp.example.com/mcp")
            .authorization_servers(["https://auth.example.com"])
            .scopes_supported(["mcp:read"])
            .resource_name("Example MCP")
    }

    #[test]
    fn rs10_fixture_is_byte_exact() {
        assert_eq!(fixture().to_json(), FIXTURE);
        assert_eq!(fixture().to_json_bytes(), FIXTURE.as_bytes());
        assert_eq!(serde_json::to_string(&fixture()).unwrap(), FIXTURE);
    }

    #[test]
    fn rs10_fixture_round_trips() {
        let parsed: ProtectedResourceMetadata = serde_json::from_str(FIXTURE).unwrap();
        assert_eq!(parsed, fixture());
        assert_eq!(parsed.to_json(), FIXTURE);
    }

    #[test]
    fn rs10_round_trip_keeps_language_tags_and_unknown_members_in_order() {
        let text = r#"{"zeta":1,"resource_name#fr":"Exemple","resource":"https://rs.example","resource_tos_uri#de":"https://rs.example/agb","resource_name":"Example","alpha":{"b":[true]},"resource_name#de":"Beispiel","scopes_supported#en":["x"]}"#;
        let doc: ProtectedResourceMetadata = serde_json::from_str(text).unwrap();
        assert_eq!(
            doc.localized
                .iter()
                .map(LocalizedValue::key)
                .collect::<Vec<_>>(),
            [
                "resource_name#fr",
                "resource_name#de",
                "resource_tos_uri#de"
            ]
        );
        assert_eq!(
            doc.extra
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["zeta", "alpha", "scopes_supported#en"]
        );
        let written = doc.to_json();
        assert_eq!(
            written,
            r#"{"resource":"https://rs.example","resource_name":"Example","resource_name#fr":"Exemple","resource_name#de":"Beispiel","resource_tos_uri#de":"https://rs.example/agb","zeta":1,"alpha":{"b":[true]},"scopes_supported#en":["x"]}"#
        );
        let again: ProtectedResourceMetadata = serde_json::from_str(&written).unwrap();
        assert_eq!(again, doc);
        assert_eq!(again.to_json(), written);
    }

    #[test]
    fn rs10_every_registered_member_round_trips() {
        let doc = fixture()
            .jwks_uri("https://mcp.example.com/jwks")
            .resource_signing_alg_values_supported(["RS256", "ES256"])
            .resource_documentation("https://mcp.example.com/docs")
            .resource_policy_uri("https://mcp.example.com/policy")
            .resource_tos_uri("https://mcp.example.com/tos")
            .tls_client_certificate_bound_access_tokens(true)
            .authorization_details_types_supported(["payment_initiation"])
            .dpop_signing_alg_values_supported(["ES256"])
            .dpop_bound_access_tokens_required(true)
            .signed_metadata("eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
        let value: Value = serde_json::from_str(&doc.to_json()).unwrap();
        let mut names: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let mut expected = MEMBERS.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
        let back: ProtectedResourceMetadata = serde_json::from_value(value).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn rs07_zero_values_are_never_written() {
        let doc = ProtectedResourceMetadata::new("https://rs.example")
            .authorization_servers(Vec::<String>::new())
            .scopes_supported(Vec::<String>::new())
            .bearer_methods_supported(Vec::<String>::new())
            .resource_name("")
            .jwks_uri("")
            .tls_client_certificate_bound_access_tokens(false)
            .extra("x_null", Value::Null)
            .unwrap()
            .extra("x_empty", json!([]))
            .unwrap();
        assert_eq!(doc.to_json(), r#"{"resource":"https://rs.example"}"#);
    }

    #[test]
    fn rs07_null_members_read_as_absent() {
        let doc: ProtectedResourceMetadata = serde_json::from_str(
            r#"{"resource":"https://rs.example","jwks_uri":null,"scopes_supported":null,"dpop_bound_access_tokens_required":null}"#,
        )
        .unwrap();
        assert_eq!(doc.jwks_uri.as_deref(), None);
        assert!(doc.scopes_supported.is_empty());
        assert_eq!(doc.to_json(), r#"{"resource":"https://rs.example"}"#);
    }

    #[test]
    fn rs11_offline_access_and_none_are_dropped_when_written() {
        let doc = ProtectedResourceMetadata::new("https://rs.example")
            .scopes_supported(["mcp:read", "offline_access"])
            .resource_signing_alg_values_supported(["none"]);
        assert_eq!(
            doc.to_json(),
            r#"{"resource":"https://rs.example","scopes_supported":["mcp:read"],"bearer_methods_supported":["header"]}"#
        );
    }

    #[test]
    fn rs29_bearer_methods_default_to_header() {
        let doc = ProtectedResourceMetadata::new("https://rs.example");
        assert_eq!(doc.bearer_methods_supported, ["header"]);
    }

    #[test]
    fn extra_refuses_registered_names() {
        for name in ["resource", "scopes_supported", "resource_name#de", ""] {
            let err = ProtectedResourceMetadata::new("https://rs.example")
                .extra(name, json!("x"))
                .unwrap_err();
            assert!(err.to_string().starts_with("extra: "), "{err}");
        }
        let doc = ProtectedResourceMetadata::new("https://rs.example")
            .extra("x", json!(1))
            .unwrap()
            .extra("y", json!(2))
            .unwrap()
            .extra("x", json!(3))
            .unwrap();
        assert_eq!(
            doc.extra,
            [("x".to_owned(), json!(3)), ("y".to_owned(), json!(2))]
        );
    }

    #[test]
    fn localized_replaces_same_tag() {
        let doc = ProtectedResourceMetadata::new("https://rs.example")
            .localized(LocalizedMember::ResourceName, "de", "A")
            .localized(LocalizedMember::ResourceName, "fr", "B")
            .localized(LocalizedMember::ResourceName, "de", "C");
        assert_eq!(
            doc.to_json(),
            r#"{"resource":"https://rs.example","bearer_methods_supported":["header"],"resource_name#de":"C","resource_name#fr":"B"}"#
        );
    }

    #[test]
    fn deserialising_refuses_bad_documents() {
        let cases = [
            (r#"{"authorization_servers":[]}"#, "resource"),
            (
                r#"{"resource":"https://a","resource":"https://b"}"#,
                "more than once",
            ),
            (r#"{"resource":5}"#, "member `resource`"),
            (
                r#"{"resource":"https://a","scopes_supported":"mcp:read"}"#,
                "member `scopes_supported`",
            ),
            (
                r#"{"resource":"https://a","resource_name#de":1}"#,
                "member `resource_name#de`",
            ),
            (r#"["resource"]"#, "metadata object"),
        ];
        for (text, needle) in cases {
            let err = serde_json::from_str::<ProtectedResourceMetadata>(text).unwrap_err();
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }
}
