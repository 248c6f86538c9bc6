//! What `#[mcp_resource]` declares: the compile-time description of a protected resource.
//!
//! The macro implements [`Resource`] for the annotated struct with a `const` [`ResourceSpec`];
//! the runtime reads it when the resource is started (`Notes::builder().build().await`). Values
//! given as literals were checked by the macro; values read from the environment are checked
//! at start-up by the same rules ([`mcp_auth_rules`]).

use crate::verify::{ClaimsProfile, TypPolicy};

/// Where a configured string comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource {
    /// A literal, checked at compile time.
    Literal(&'static str),
    /// An environment variable read at start-up, with an optional default used when the variable
    /// is unset.
    Env {
        /// The variable name.
        var: &'static str,
        /// The value used when the variable is unset (checked at compile time).
        default: Option<&'static str>,
    },
}

impl ValueSource {
    /// The literal, when the value is one.
    pub const fn literal(&self) -> Option<&'static str> {
        match self {
            Self::Literal(s) => Some(s),
            Self::Env { .. } => None,
        }
    }
}

/// One trusted authorization server of a [`ResourceSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerSpec {
    /// The issuer identifier, byte-exact.
    pub issuer: ValueSource,
    /// How its metadata is discovered.
    pub kind: crate::rules::DiscoveryKind,
}

/// The RFC 9728 metadata members declared on the resource, besides `resource`,
/// `authorization_servers` and `scopes_supported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetadataSpec {
    /// `resource_name`.
    pub resource_name: Option<&'static str>,
    /// `resource_documentation`.
    pub resource_documentation: Option<&'static str>,
    /// `resource_policy_uri`.
    pub resource_policy_uri: Option<&'static str>,
    /// `resource_tos_uri`.
    pub resource_tos_uri: Option<&'static str>,
    /// Language-tagged members, e.g. `("resource_name#de", "Notizen")`.
    pub localized: &'static [(&'static str, &'static str)],
}

/// Token options that make sense at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSpec {
    /// Which `typ` headers are accepted.
    pub typ: TypPolicy,
    /// Which claims are required.
    pub claims: ClaimsProfile,
    /// The claim scopes are read from when `scope` is absent (`scp`, `scopes`, ...).
    pub scope_claim_fallback: Option<&'static str>,
}

impl TokenSpec {
    /// The strict RFC 9068 profile.
    pub const STRICT: Self = Self {
        typ: TypPolicy::Strict,
        claims: ClaimsProfile::Strict,
        scope_claim_fallback: None,
    };
}

/// The full compile-time description of a protected resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSpec {
    /// The Rust name of the resource type, for messages.
    pub type_name: &'static str,
    /// The resource identifier.
    pub id: ValueSource,
    /// The trusted authorization servers (at least one).
    pub issuers: &'static [IssuerSpec],
    /// `scopes_supported`, also the scopes `#[requires_scope]` may name.
    pub scopes: &'static [&'static str],
    /// Other metadata members.
    pub metadata: MetadataSpec,
    /// Token options.
    pub token: TokenSpec,
    /// The metadata document's exact bytes, when every value is a literal.
    pub metadata_json: Option<&'static str>,
}

/// A protected resource declared with `#[mcp_resource]`.
///
/// Implemented by the macro; the type is a marker that ties layers, extractors and scope checks
/// to one resource, so a handler taking [`Auth<Notes>`](crate::extract::Auth) cannot be reached
/// with a token verified for another resource.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a protected resource",
    label = "not declared with `#[mcp_resource(...)]`",
    note = "declare it: `#[mcp_resource(id = \"https://...\", issuer = \"https://...\", scopes = [...])] struct {Self};`"
)]
pub trait Resource: Send + Sync + 'static {
    /// The declaration.
    const SPEC: ResourceSpec;
}

/// A set of scopes named by `#[requires_scope]`, as a type.
pub trait ScopeSet: Send + Sync + 'static {
    /// The scopes, all required.
    const SCOPES: &'static [&'static str];
}

/// Whether `scope` is one of `declared` (usable in `const` items).
pub const fn scope_declared(declared: &[&str], scope: &str) -> bool {
    let mut i = 0;
    while i < declared.len() {
        if bytes_eq(declared[i].as_bytes(), scope.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Concatenates strings into a byte array of length `N` at compile time, for messages of
/// compile-time assertions. `N` must be the sum of the lengths.
pub const fn concat_bytes<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut p = 0;
    while p < parts.len() {
        let bytes = parts[p].as_bytes();
        let mut i = 0;
        while i < bytes.len() && at < N {
            out[at] = bytes[i];
            at += 1;
            i += 1;
        }
        p += 1;
    }
    out
}

/// The total length of `parts`, for [`concat_bytes()`].
pub const fn concat_len(parts: &[&str]) -> usize {
    let mut len = 0;
    let mut p = 0;
    while p < parts.len() {
        len += parts[p].len();
        p += 1;
    }
    len
}

/// Fails compile-time evaluation with `message`, reported at the caller's location: the
/// generated code calls it with the span of the offending literal, so the error points there
/// rather than at the whole attribute (as a `panic!` inside the expansion would).
#[track_caller]
pub const fn compile_error(message: &[u8]) -> ! {
    match core::str::from_utf8(message) {
        Ok(message) => panic!("{}", message),
        Err(_) => panic!("mcp-auth: a compile-time check failed"),
    }
}

/// What [`concat_list_bytes`] writes for an empty list.
const LIST_NONE: &str = "none";

/// The length of [`concat_list_bytes`]`(parts, items)`.
pub const fn concat_list_len(parts: &[&str], items: &[&str]) -> usize {
    let mut len = concat_len(parts);
    if items.is_empty() {
        return len + LIST_NONE.len();
    }
    let mut i = 0;
    while i < items.len() {
        // The item between backquotes, and ", " before every item but the first.
        len += items[i].len() + 2;
        if i > 0 {
            len += 2;
        }
        i += 1;
    }
    len
}

/// `parts` concatenated, then `items` as `` `a`, `b` `` (or `none`), as a byte array of length
/// `N` at compile time, for the messages of compile-time assertions. `N` must be
/// [`concat_list_len`]`(parts, items)`; extra bytes are cut, missing ones left zero.
pub const fn concat_list_bytes<const N: usize>(parts: &[&str], items: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut p = 0;
    while p < parts.len() {
        at = push_bytes(&mut out, at, parts[p]);
        p += 1;
    }
    if items.is_empty() {
        push_bytes(&mut out, at, LIST_NONE);
        return out;
    }
    let mut i = 0;
    while i < items.len() {
        if i > 0 {
            at = push_bytes(&mut out, at, ", ");
        }
        at = push_bytes(&mut out, at, "`");
        at = push_bytes(&mut out, at, items[i]);
        at = push_bytes(&mut out, at, "`");
        i += 1;
    }
    out
}

/// Copies `s` into `out` from `at` (as far as it fits); the position after it.
const fn push_bytes<const N: usize>(out: &mut [u8; N], mut at: usize, s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && at < N {
        out[at] = bytes[i];
        at += 1;
        i += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &[&str] = &["read:notes", "write:notes"];
    const _: () = assert!(scope_declared(DECLARED, "read:notes"));
    const _: () = assert!(!scope_declared(DECLARED, "delete:notes"));

    #[test]
    fn const_concat_list() {
        const PARTS: &[&str] = &["declared scopes: "];
        const TWO: [u8; concat_list_len(PARTS, DECLARED)] = concat_list_bytes(PARTS, DECLARED);
        assert_eq!(
            std::str::from_utf8(&TWO).unwrap(),
            "declared scopes: `read:notes`, `write:notes`"
        );
        const ONE: [u8; concat_list_len(&[], &["a"])] = concat_list_bytes(&[], &["a"]);
        assert_eq!(&ONE, b"`a`");
        const NONE: [u8; concat_list_len(PARTS, &[])] = concat_list_bytes(PARTS, &[]);
        assert_eq!(std::str::from_utf8(&NONE).unwrap(), "declared scopes: none");
    }

    #[test]
    fn const_concat() {
        const PARTS: &[&str] = &["scope `a` ", "is not declared"];
        const BYTES: [u8; concat_len(PARTS)] = concat_bytes(PARTS);
        assert_eq!(
            std::str::from_utf8(&BYTES).unwrap(),
            "scope `a` is not declared"
        );
    }
}
