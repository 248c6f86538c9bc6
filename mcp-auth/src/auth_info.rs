//! [`AuthInfo`]: what a handler learns about a verified token.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// How the token was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// A JWT access token checked locally against the issuer's keys (RFC 9068).
    Jwt,
    /// An opaque token checked by the issuer's introspection endpoint (RFC 7662).
    Opaque,
    /// A static API key of the resource ([`ApiKeys`](crate::verify::ApiKeys)); its issuer is
    /// [`API_KEY_ISSUER`](crate::verify::API_KEY_ISSUER).
    ApiKey,
}

/// The verified facts about an access token, as handlers see them.
///
/// It holds the claims, never the token itself, so it can be logged and cloned freely, and it
/// offers nothing that could be forwarded upstream (MCP forbids token passthrough). The facts
/// live in one shared allocation: a clone is a reference count, whatever the size of the claims
/// (the layer hands a cached token's facts to every request that presents it).
#[derive(Clone, PartialEq)]
pub struct AuthInfo(Arc<Shared>);

/// What an [`AuthInfo`]'s clones share: the facts, and what is derived from them once.
#[derive(PartialEq)]
struct Shared {
    facts: TokenFacts,
    /// Bound to a key (`cnf`, or an introspection `token_type` of `DPoP`): see
    /// [`AuthInfo::is_key_bound`].
    key_bound: bool,
}

/// What an [`AuthInfo`] shares between its clones.
#[derive(Debug, PartialEq)]
pub(crate) struct TokenFacts {
    pub(crate) issuer: String,
    pub(crate) subject: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Option<u64>,
    pub(crate) issued_at: Option<u64>,
    pub(crate) token_id: Option<String>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) kind: TokenKind,
}

impl From<TokenFacts> for AuthInfo {
    fn from(facts: TokenFacts) -> Self {
        let dpop_type = matches!(facts.claims.get("token_type"), Some(Value::String(t)) if t.eq_ignore_ascii_case("dpop"));
        let key_bound = facts.claims.contains_key("cnf") || dpop_type;
        Self(Arc::new(Shared { facts, key_bound }))
    }
}

impl std::fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let facts = &self.0.facts;
        f.debug_struct("AuthInfo")
            .field("issuer", &facts.issuer)
            .field("subject", &facts.subject)
            .field("client_id", &facts.client_id)
            .field("audiences", &facts.audiences)
            .field("scopes", &facts.scopes)
            .field("expires_at", &facts.expires_at)
            .field("issued_at", &facts.issued_at)
            .field("token_id", &facts.token_id)
            .field("claims", &facts.claims)
            .field("kind", &facts.kind)
            .finish()
    }
}

impl AuthInfo {
    /// The issuer (`iss`), exactly one of the resource's configured authorization servers.
    pub fn issuer(&self) -> &str {
        &self.0.facts.issuer
    }

    /// The subject (`sub`): the user, or the client for `client_credentials` tokens.
    pub fn subject(&self) -> Option<&str> {
        self.0.facts.subject.as_deref()
    }

    /// The OAuth client the token was issued to (`client_id`, else `azp`).
    pub fn client_id(&self) -> Option<&str> {
        self.0.facts.client_id.as_deref()
    }

    /// The audiences (`aud`), one of which designates this resource.
    pub fn audiences(&self) -> &[String] {
        &self.0.facts.audiences
    }

    /// The granted scopes, in token order, without duplicates.
    pub fn scopes(&self) -> &[String] {
        &self.0.facts.scopes
    }

    /// Whether `scope` was granted (exact, case-sensitive comparison).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.facts.scopes.iter().any(|s| s == scope)
    }

    /// When the token expires (`exp`); `None` also for a date the platform cannot represent.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0
            .facts
            .expires_at
            .map(|s| UNIX_EPOCH + Duration::from_secs(s))
    }

    /// `exp` as seconds since the Unix epoch.
    pub(crate) fn expires_at_unix(&self) -> Option<u64> {
        self.0.facts.expires_at
    }

    /// When the token was issued (`iat`).
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.0
            .facts
            .issued_at
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
    }

    /// The token identifier (`jti`).
    pub fn token_id(&self) -> Option<&str> {
        self.0.facts.token_id.as_deref()
    }

    /// Every claim of the token (or of the introspection response), as JSON.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.0.facts.claims
    }

    /// The RFC 7638 thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449 §6), for a
    /// token the layer accepted with the `DPoP` scheme and a proof by that key; `None` for a
    /// `Bearer` token.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.0.facts.claims.get("cnf")?.get("jkt")?.as_str()
    }

    /// Whether the token is bound to a key (`cnf`, RFC 8705 / RFC 9449, or an introspection
    /// `token_type` of `DPoP`), so that it is refused as a `Bearer` token. Read once, when the
    /// token is verified.
    pub(crate) fn is_key_bound(&self) -> bool {
        self.0.key_bound
    }

    /// Whether the token was a JWT or an opaque token.
    pub fn token_kind(&self) -> TokenKind {
        self.0.facts.kind
    }
}
