//! The bytes of an RFC 9728 protected resource metadata document.
//!
//! One writer for both crates: `mcp-auth` serialises its `ProtectedResourceMetadata` through
//! [`MetadataJson`], and the macros call [`MetadataJson::to_json`] at compile time, so the
//! constant they emit is byte-identical to what the runtime serves.
//!
//! The document is compact JSON with the members in a fixed order (see [`MEMBERS`]), each
//! language-tagged variant (`resource_name#de`) right after its member, and extension members
//! last in the order given. Zero values are omitted (RFC 9728 §3.2): no `null`, no `""`, no `[]`,
//! booleans only when `true`. `offline_access` is never listed in `scopes_supported` (MCP advises
//! against it) and `none` never in `resource_signing_alg_values_supported` (RFC 9728 §2).
//!
//! ```
//! use mcp_auth_rules::metadata_json::MetadataJson;
//!
//! let servers = ["https://auth.example.com".to_owned()];
//! let scopes = ["mcp:read".to_owned()];
//! let methods = ["header".to_owned()];
//! let doc = MetadataJson {
//!     resource: "https://mcp.example.com/mcp",
//!     authorization_servers: &servers,
//!     scopes_supported: &scopes,
//!     bearer_methods_supported: &methods,
//!     resource_name: Some("Example MCP"),
//!     ..MetadataJson::default()
//! };
//! assert_eq!(
//!     doc.to_json(),
//!     r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:read"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}"#
//! );
//! ```

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// The members registered by RFC 9728 §2 (and RFC 9449 for `dpop_*`), in the order they are
/// written.
pub const MEMBERS: [&str; 15] = [
    "resource",
    "authorization_servers",
    "jwks_uri",
    "scopes_supported",
    "bearer_methods_supported",
    "resource_signing_alg_values_supported",
    "resource_name",
    "resource_documentation",
    "resource_policy_uri",
    "resource_tos_uri",
    "tls_client_certificate_bound_access_tokens",
    "authorization_details_types_supported",
    "dpop_signing_alg_values_supported",
    "dpop_bound_access_tokens_required",
    "signed_metadata",
];

/// A human-readable member that may have language-tagged variants (RFC 9728 §2.1), written
/// `name#tag`. Ordered as in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LocalizedMember {
    /// `resource_name`.
    ResourceName,
    /// `resource_documentation`.
    ResourceDocumentation,
    /// `resource_policy_uri`.
    ResourcePolicyUri,
    /// `resource_tos_uri`.
    ResourceTosUri,
}

impl LocalizedMember {
    /// Every localisable member, in document order.
    pub const ALL: [LocalizedMember; 4] = [
        Self::ResourceName,
        Self::ResourceDocumentation,
        Self::ResourcePolicyUri,
        Self::ResourceTosUri,
    ];

    /// The member name, e.g. `resource_name`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ResourceName => "resource_name",
            Self::ResourceDocumentation => "resource_documentation",
            Self::ResourcePolicyUri => "resource_policy_uri",
            Self::ResourceTosUri => "resource_tos_uri",
        }
    }

    /// The member called `name`, if it is localisable.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One language-tagged value, e.g. `"resource_name#de": "Beispiel"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedValue {
    /// The member it translates.
    pub member: LocalizedMember,
    /// The BCP 47 language tag after `#`, e.g. `de` or `en-GB`.
    pub tag: String,
    /// The value in that language.
    pub value: String,
}

impl LocalizedValue {
    /// The JSON member name, `member#tag`.
    pub fn key(&self) -> String {
        format!("{}#{}", self.member.name(), self.tag)
    }
}

/// A borrowed view of a metadata document, which serialises to the canonical bytes.
///
/// Every field is what the document states; the writer drops zero values and the forbidden
/// entries listed in the [module documentation](self).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MetadataJson<'a> {
    /// `resource`, required.
    pub resource: &'a str,
    /// `authorization_servers`.
    pub authorization_servers: &'a [String],
    /// `jwks_uri`.
    pub jwks_uri: Option<&'a str>,
    /// `scopes_supported`.
    pub scopes_supported: &'a [String],
    /// `bearer_methods_supported`.
    pub bearer_methods_supported: &'a [String],
    /// `resource_signing_alg_values_supported`.
    pub resource_signing_alg_values_supported: &'a [String],
    /// `resource_name`.
    pub resource_name: Option<&'a str>,
    /// `resource_documentation`.
    pub resource_documentation: Option<&'a str>,
    /// `resource_policy_uri`.
    pub resource_policy_uri: Option<&'a str>,
    /// `resource_tos_uri`.
    pub resource_tos_uri: Option<&'a str>,
    /// `tls_client_certificate_bound_access_tokens`.
    pub tls_client_certificate_bound_access_tokens: bool,
    /// `authorization_details_types_supported`.
    pub authorization_details_types_supported: &'a [String],
    /// `dpop_signing_alg_values_supported`.
    pub dpop_signing_alg_values_supported: &'a [String],
    /// `dpop_bound_access_tokens_required`.
    pub dpop_bound_access_tokens_required: bool,
    /// `signed_metadata`.
    pub signed_metadata: Option<&'a str>,
    /// Language-tagged variants, each written right after its member, in this order.
    pub localized: &'a [LocalizedValue],
    /// Extension members, written last in this order. Registered names and zero values
    /// (`null`, `""`, `[]`, `{}`) are skipped.
    pub extra: &'a [(String, Value)],
}

impl MetadataJson<'_> {
    /// The compact JSON document.
    pub fn to_json(&self) -> String {
        // Serialising strings, booleans and `Value`s into a `String` has no failure path in
        // serde_json (every key is a string), so the empty fallback is never taken.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn localized_of(&self, member: LocalizedMember) -> impl Iterator<Item = &LocalizedValue> {
        self.localized
            .iter()
            .filter(move |l| l.member == member && !l.tag.is_empty() && !l.value.is_empty())
    }
}

/// A string list without empty entries and without the entries `skip` refuses.
struct List<'a> {
    items: &'a [String],
    skip: fn(&str) -> bool,
}

impl<'a> List<'a> {
    fn new(items: &'a [String], skip: fn(&str) -> bool) -> Self {
        Self { items, skip }
    }

    fn iter(&self) -> impl Iterator<Item = &'a String> + '_ {
        self.items
            .iter()
            .filter(|s| !s.is_empty() && !(self.skip)(s))
    }

    fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl Serialize for List<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for item in self.iter() {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

fn keep_all(_: &str) -> bool {
    false
}

fn is_offline_access(scope: &str) -> bool {
    scope == "offline_access"
}

fn is_none_alg(alg: &str) -> bool {
    alg.eq_ignore_ascii_case("none")
}

fn is_zero_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

impl Serialize for MetadataJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        fn string<M: SerializeMap>(
            map: &mut M,
            name: &str,
            value: Option<&str>,
        ) -> Result<(), M::Error> {
            match value.filter(|v| !v.is_empty()) {
                Some(v) => map.serialize_entry(name, v),
                None => Ok(()),
            }
        }
        fn list<M: SerializeMap>(map: &mut M, name: &str, list: List<'_>) -> Result<(), M::Error> {
            if list.is_empty() {
                return Ok(());
            }
            map.serialize_entry(name, &list)
        }
        fn flag<M: SerializeMap>(map: &mut M, name: &str, on: bool) -> Result<(), M::Error> {
            if on {
                map.serialize_entry(name, &true)?;
            }
            Ok(())
        }

        string(&mut map, "resource", Some(self.resource))?;
        list(
            &mut map,
            "authorization_servers",
            List::new(self.authorization_servers, keep_all),
        )?;
        string(&mut map, "jwks_uri", self.jwks_uri)?;
        list(
            &mut map,
            "scopes_supported",
            List::new(self.scopes_supported, is_offline_access),
        )?;
        list(
            &mut map,
            "bearer_methods_supported",
            List::new(self.bearer_methods_supported, keep_all),
        )?;
        list(
            &mut map,
            "resource_signing_alg_values_supported",
            List::new(self.resource_signing_alg_values_supported, is_none_alg),
        )?;
        for (member, value) in [
            (LocalizedMember::ResourceName, self.resource_name),
            (
                LocalizedMember::ResourceDocumentation,
                self.resource_documentation,
            ),
            (LocalizedMember::ResourcePolicyUri, self.resource_policy_uri),
            (LocalizedMember::ResourceTosUri, self.resource_tos_uri),
        ] {
            string(&mut map, member.name(), value)?;
            for localized in self.localized_of(member) {
                map.serialize_entry(&localized.key(), &localized.value)?;
            }
        }
        flag(
            &mut map,
            "tls_client_certificate_bound_access_tokens",
            self.tls_client_certificate_bound_access_tokens,
        )?;
        list(
            &mut map,
            "authorization_details_types_supported",
            List::new(self.authorization_details_types_supported, keep_all),
        )?;
        list(
            &mut map,
            "dpop_signing_alg_values_supported",
            List::new(self.dpop_signing_alg_values_supported, is_none_alg),
        )?;
        flag(
            &mut map,
            "dpop_bound_access_tokens_required",
            self.dpop_bound_access_tokens_required,
        )?;
        string(&mut map, "signed_metadata", self.signed_metadata)?;
        let mut written: Vec<&str> = Vec::new();
        for (name, value) in self.extra {
            let registered = MEMBERS.contains(&name.as_str())
                || name
                    .split_once('#')
                    .is_some_and(|(base, _)| LocalizedMember::from_name(base).is_some());
            if name.is_empty()
                || registered
                || is_zero_value(value)
                || written.contains(&name.as_str())
            {
                continue;
            }
            written.push(name);
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn rs10_fixture_document_is_byte_exact() {
        let servers = strings(&["https://auth.example.com"]);
        let scopes = strings(&["mcp:read"]);
        let methods = strings(&["header"]);
        let doc = MetadataJson {
            resource: "https://mcp.example.com/mcp",
            authorization_servers: &servers,
            scopes_supported: &scopes,
            bearer_methods_supported: &methods,
            resource_name: Some("Example MCP"),
            ..MetadataJson::default()
        };
        assert_eq!(
            doc.to_json(),
            r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:read"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}"#
        );
    }

    #[test]
    fn rs07_zero_values_are_omitted() {
        let empty = strings(&[""]);
        let doc = MetadataJson {
            resource: "https://rs.example",
            authorization_servers: &empty,
            jwks_uri: Some(""),
            scopes_supported: &[],
            bearer_methods_supported: &[],
            resource_name: Some(""),
            signed_metadata: None,
            extra: &[
                ("n".to_owned(), Value::Null),
                ("s".to_owned(), Value::String(String::new())),
                ("a".to_owned(), Value::Array(vec![])),
                ("o".to_owned(), Value::Object(serde_json::Map::new())),
            ],
            ..MetadataJson::default()
        };
        assert_eq!(doc.to_json(), r#"{"resource":"https://rs.example"}"#);
    }

    #[test]
    fn rs11_offline_access_and_none_are_never_listed() {
        let scopes = strings(&["offline_access"]);
        let algs = strings(&["none", "RS256", "NONE"]);
        let doc = MetadataJson {
            resource: "https://rs.example",
            scopes_supported: &scopes,
            resource_signing_alg_values_supported: &algs,
            ..MetadataJson::default()
        };
        assert_eq!(
            doc.to_json(),
            r#"{"resource":"https://rs.example","resource_signing_alg_values_supported":["RS256"]}"#
        );
    }

    #[test]
    fn rs10_every_member_in_order_with_localized_and_extras() {
        let one = |s: &str| vec![s.to_owned()];
        let (servers, jwks, scopes, methods, algs, details, dpop) = (
            one("https://as.example"),
            "https://rs.example/jwks",
            one("s"),
            one("header"),
            one("ES256"),
            one("payment"),
            one("EdDSA"),
        );
        let localized = [
            LocalizedValue {
                member: LocalizedMember::ResourceTosUri,
                tag: "de".into(),
                value: "https://rs.example/agb".into(),
            },
            LocalizedValue {
                member: LocalizedMember::ResourceName,
                tag: "fr".into(),
                value: "Exemple".into(),
            },
            LocalizedValue {
                member: LocalizedMember::ResourceName,
                tag: "de".into(),
                value: "Beispiel \"Ü\"".into(),
            },
        ];
        let extra = [
            ("z_ext".to_owned(), Value::Bool(false)),
            ("resource".to_owned(), Value::String("evil".into())),
            ("resource_name#it".to_owned(), Value::String("x".into())),
            ("a_ext".to_owned(), serde_json::json!({"k": [1, 2]})),
        ];
        let doc = MetadataJson {
            resource: "https://rs.example",
            authorization_servers: &servers,
            jwks_uri: Some(jwks),
            scopes_supported: &scopes,
            bearer_methods_supported: &methods,
            resource_signing_alg_values_supported: &algs,
            resource_name: Some("Example"),
            resource_documentation: Some("https://rs.example/doc"),
            resource_policy_uri: Some("https://rs.example/policy"),
            resource_tos_uri: Some("https://rs.example/tos"),
            tls_client_certificate_bound_access_tokens: true,
            authorization_details_types_supported: &details,
            dpop_signing_alg_values_supported: &dpop,
            dpop_bound_access_tokens_required: true,
            signed_metadata: Some("eyJ.e30.sig"),
            localized: &localized,
            extra: &extra,
        };
        let expected = concat!(
            r#"{"resource":"https://rs.example","authorization_servers":["https://as.example"],"#,
            r#""jwks_uri":"https://rs.example/jwks","scopes_supported":["s"],"#,
            r#""bearer_methods_supported":["header"],"resource_signing_alg_values_supported":["ES256"],"#,
            r#""resource_name":"Example","resource_name#fr":"Exemple","resource_name#de":"Beispiel \"Ü\"","#,
            r#""resource_documentation":"https://rs.example/doc","resource_policy_uri":"https://rs.example/policy","#,
            r#""resource_tos_uri":"https://rs.example/tos","resource_tos_uri#de":"https://rs.example/agb","#,
            r#""tls_client_certificate_bound_access_tokens":true,"authorization_details_types_supported":["payment"],"#,
            r#""dpop_signing_alg_values_supported":["EdDSA"],"dpop_bound_access_tokens_required":true,"#,
            r#""signed_metadata":"eyJ.e30.sig","z_ext":false,"a_ext":{"k":[1,2]}}"#
        );
        assert_eq!(doc.to_json(), expected);
    }

    #[test]
    fn localized_member_names_round_trip() {
        for m in LocalizedMember::ALL {
            assert_eq!(LocalizedMember::from_name(m.name()), Some(m));
            assert!(MEMBERS.contains(&m.name()));
        }
        assert_eq!(LocalizedMember::from_name("jwks_uri"), None);
    }
}
