//! What `#[mcp_resource]` declares: the compile-time description of a protected resource.
//!
//! The macro implements [`Resource`] for the annotated struct with a `const` [`ResourceSpec`];
//! the runtime reads it when the resource is started (`Notes::builder().build().await`). Values
//! given as literals were checked by the macro; values read from the environment are checked
//! at start-up by the same rules ([`mcp_auth_rules`]).

use crate::verify::{ClaimsProfile, TypPolicy};

/// The `const` helpers of generated code (re-exported by `__private` only).
pub(crate) mod consteval;

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
    pub kind: mcp_auth_rules::DiscoveryKind,
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
    /// Where tokens hold their roles, when not `roles` (`realm_access.roles`, ...).
    pub role_claim: Option<&'static str>,
}

impl TokenSpec {
    /// The strict RFC 9068 profile.
    pub const STRICT: Self = Self {
        typ: TypPolicy::Strict,
        claims: ClaimsProfile::Strict,
        scope_claim_fallback: None,
        role_claim: None,
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
    /// The roles `#[requires_role]` may name.
    pub roles: &'static [&'static str],
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
/// to one resource, so a handler taking [`Auth<Notes>`](crate::Auth) cannot be reached
/// with a token verified for another resource.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a protected resource",
    label = "not declared with `#[mcp_resource(...)]`",
    note = "declare it: `#[mcp_resource(id = \"https://...\", issuer = \"https://...\", scopes = [...])] struct {Self};`"
)]
pub trait Resource: Send + Sync + 'static {
    /// The declaration.
    const SPEC: ResourceSpec;

    /// The DPoP declaration (`dpop`, `dpop_algs`); Bearer only unless declared.
    const DPOP: DpopSpec = DpopSpec::BEARER_ONLY;
}

/// What `#[mcp_resource(dpop = .., dpop_algs = [..])]` declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpopSpec {
    /// The policy.
    pub policy: crate::dpop::DpopPolicy,
    /// The proof algorithms (JOSE names, checked by the macro); empty for the defaults.
    pub algs: &'static [&'static str],
}

impl DpopSpec {
    /// Bearer only, the default.
    pub const BEARER_ONLY: Self = Self {
        policy: crate::dpop::DpopPolicy::BearerOnly,
        algs: &[],
    };
}

/// The marker of resources, layers and extractors that are not tied to a `#[mcp_resource]`
/// type: resources configured at run time.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyResource;

/// What `#[requires_scope]` and `#[requires_role]` require, as a type.
pub trait ScopeSet: Send + Sync + 'static {
    /// The scopes, all required.
    const SCOPES: &'static [&'static str];
    /// The roles, all required.
    const ROLES: &'static [&'static str] = &[];
}
