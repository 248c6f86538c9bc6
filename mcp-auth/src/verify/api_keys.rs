//! Static API keys beside OAuth: `Authorization: Bearer <key>` for clients that cannot run an
//! OAuth flow (scripts, CI jobs, other servers), decided like a token.
//!
//! Invariants:
//! - **No key is kept.** A key is known by its SHA-256 only, loaded from code or from a file of
//!   digests; nothing here can print a key or a digest (`Debug` shows counts).
//! - **A key is a token like any other.** It maps to a subject, scopes and roles, and the request
//!   goes through the same decisions (the layer's scopes, per-operation scopes and roles, bindings
//!   of sessions, tasks and handles to its subject). It is never advertised: the metadata and the
//!   `401` challenge are those of the OAuth resource.
//! - **Looked up in constant time over the digest.** The digest of the presented key selects a
//!   bucket by its first 8 bytes; each entry there is compared over all 32 bytes without an early
//!   exit. A lookup costs one SHA-256 and one hash-map probe: what a cached token costs.
//! - **Never a JWT.** A key shaped like a JWT (three dot-separated base64url segments) would be
//!   verified as one and never found here: such a secret is refused when added, and the layer
//!   looks up only tokens of another shape (a JWT costs no extra hash).
//!
//! Several keys may map to one subject (rotation: add the new key, move clients, remove the old
//! one), and each may expire.

use std::collections::HashMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::auth_info::{AuthInfo, TokenFacts, TokenKind};
use crate::error::VerifyError;
use crate::role::RoleClaim;

/// The `iss` of the [`AuthInfo`] of a request authenticated by an API key: no authorization
/// server issued it. Bindings of sessions, tasks and handles are per issuer and subject, so a
/// key's subject never shares them with a token's subject of the same name.
pub const API_KEY_ISSUER: &str = "urn:mcp-auth:api-key";

/// One API key: its SHA-256, the subject it authenticates, its scopes and roles, its expiry.
///
/// ```
/// use mcp_auth::verify::ApiKey;
///
/// let key = ApiKey::from_secret("k3y-for-ci-0123456789abcdef", "ci-bot").scopes(["read:notes"]);
/// let same = ApiKey::from_sha256_hex(
///     "2c1f0a5e3a34f1c7c9f6c9fd7b3c4dbd8a9c0a59f0d1c2bb6e06a1c8f0b9e7a1",
///     "ci-bot",
/// );
/// assert!(same.is_ok());
/// # let _ = key;
/// ```
#[derive(Clone)]
pub struct ApiKey {
    digest: [u8; 32],
    /// Whether the secret it was made from looks like a JWT (known only for [`from_secret`]).
    ///
    /// [`from_secret`]: Self::from_secret
    jwt_shaped: bool,
    subject: String,
    scopes: Vec<String>,
    roles: Vec<String>,
    expires_at: Option<u64>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the digest: a digest of a key is as good as the key to a dictionary attack.
        f.debug_struct("ApiKey")
            .field("subject", &self.subject)
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why API keys could not be loaded. Never shows a key or a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeysError {
    /// The file could not be read.
    #[error("the API keys file {path} could not be read: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A line of the file (or a value given in code) is malformed.
    #[error("API keys, line {line}: {reason}")]
    Line {
        /// The line, from 1 (0 for a value given in code).
        line: usize,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

impl ApiKey {
    /// The key `secret` (hashed at once; the secret itself is not kept) for `subject`.
    ///
    /// A secret shaped like a JWT is refused by [`ApiKeys::try_key`]: it would be verified as a
    /// JWT and never found among the keys. Give keys of random characters without dots.
    pub fn from_secret(secret: &str, subject: impl Into<String>) -> Self {
        let mut key = Self::of_digest(Sha256::digest(secret.as_bytes()).into(), subject.into());
        key.jwt_shaped = crate::jws::is_jwt_shaped(secret);
        key
    }

    /// The key whose SHA-256 is `hex` (64 hexadecimal digits, either case), for `subject`.
    ///
    /// # Errors
    ///
    /// `hex` is not 64 hexadecimal digits.
    pub fn from_sha256_hex(hex: &str, subject: impl Into<String>) -> Result<Self, ApiKeysError> {
        let digest = parse_hex(hex).ok_or_else(|| ApiKeysError::Line {
            line: 0,
            reason: "a key is given by its SHA-256: 64 hexadecimal digits (`sha256sum` of the key)"
                .into(),
        })?;
        Ok(Self::of_digest(digest, subject.into()))
    }

    fn of_digest(digest: [u8; 32], subject: String) -> Self {
        Self {
            digest,
            jwt_shaped: false,
            subject,
            scopes: Vec::new(),
            roles: Vec::new(),
            expires_at: None,
        }
    }

    /// The scopes the key grants.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The roles the key grants (for `#[requires_role]` and `McpAccess::roles`).
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The key is refused from `at` on (`401 invalid_token`, "expired").
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
        self
    }
}

/// The API keys a resource accepts beside OAuth tokens
/// ([`ProtectedResource::api_keys`](crate::ProtectedResource::api_keys)).
///
/// From code, or from a file with one key a line: the key's SHA-256 in hex, the subject, the
/// scopes separated by commas (`-` for none), then optionally `roles=a,b` and `expires=<unix
/// seconds>`; fields are separated by spaces, `#` starts a comment.
///
/// ```text
/// # sha256 of the key                                               subject  scopes
/// 6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b ci-bot   read:notes
/// d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35 ci-bot   read:notes,write:notes expires=1798761600
/// 4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce ops      - roles=notes-admin
/// ```
///
/// ```
/// use mcp_auth::verify::{ApiKey, ApiKeys};
///
/// let keys = ApiKeys::parse("6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b ci-bot read:notes\n")?
///     .try_key(ApiKey::from_secret("another-key-from-a-vault", "deploy").scopes(["write:notes"]))?;
/// assert_eq!(keys.len(), 2);
/// # Ok::<(), mcp_auth::verify::ApiKeysError>(())
/// ```
#[derive(Clone, Default)]
pub struct ApiKeys {
    /// Entries by the first 8 bytes of their digest.
    buckets: HashMap<[u8; 8], Vec<ApiKey>>,
    len: usize,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys").field("keys", &self.len).finish()
    }
}

impl ApiKeys {
    /// No key.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `key`.
    ///
    /// # Errors
    ///
    /// The key's digest is known already (a key is one subject's), or the key's scopes or roles
    /// are not valid scope tokens or role names.
    pub fn try_key(mut self, key: ApiKey) -> Result<Self, ApiKeysError> {
        let invalid = |reason: String| ApiKeysError::Line { line: 0, reason };
        if key.jwt_shaped {
            return Err(invalid(format!(
                "a key of `{}` is shaped like a JWT (three segments separated by dots): it would be verified as a JWT, never as a key; use random characters without dots",
                key.subject
            )));
        }
        if key.subject.is_empty() || key.subject.chars().any(char::is_control) {
            return Err(invalid("a key's subject must be a non-empty name".into()));
        }
        for scope in &key.scopes {
            mcp_auth_rules::scope_token(scope).map_err(|p| invalid(p.message))?;
        }
        for role in &key.roles {
            mcp_auth_rules::role_name(role).map_err(|p| invalid(p.message))?;
        }
        let bucket = self.buckets.entry(prefix(&key.digest)).or_default();
        if bucket.iter().any(|k| k.digest == key.digest) {
            return Err(invalid(format!(
                "a key of `{}` is listed twice (the same SHA-256): each key authenticates one subject",
                key.subject
            )));
        }
        bucket.push(key);
        self.len += 1;
        Ok(self)
    }

    /// Keys from the text of a keys file (see the [type](Self) docs).
    ///
    /// # Errors
    ///
    /// The first malformed line, by its number: a digest that is not 64 hex digits, a missing
    /// subject or scopes field, an invalid scope or role, an unknown field, a key listed twice.
    pub fn parse(text: &str) -> Result<Self, ApiKeysError> {
        let mut keys = Self::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let at = |reason: String| ApiKeysError::Line {
                line: number,
                reason,
            };
            let content = line.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            let mut fields = content.split_ascii_whitespace();
            let (Some(hex), Some(subject), Some(scopes)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(at(
                    "expected `<sha256 hex> <subject> <scopes separated by commas, or ->`".into(),
                ));
            };
            let digest = parse_hex(hex).ok_or_else(|| {
                at("the first field is the key's SHA-256: 64 hexadecimal digits (`printf %s KEY | sha256sum`)".into())
            })?;
            let mut key = ApiKey::of_digest(digest, subject.to_owned()).scopes(list(scopes));
            for field in fields {
                match field.split_once('=') {
                    Some(("roles", roles)) => key = key.roles(list(roles)),
                    Some(("expires", at_secs)) => {
                        let secs = at_secs.parse::<u64>().map_err(|_| {
                            at(format!(
                                "`expires={at_secs}`: give the expiry in seconds since 1970 (`date -d 2027-01-01 +%s`)"
                            ))
                        })?;
                        key.expires_at = Some(secs);
                    }
                    _ => {
                        return Err(at(format!(
                            "unknown field `{field}`: after the scopes come `roles=a,b` and `expires=<unix seconds>`"
                        )));
                    }
                }
            }
            keys = keys.try_key(key).map_err(|error| match error {
                ApiKeysError::Line { reason, .. } => at(reason),
                other => other,
            })?;
        }
        Ok(keys)
    }

    /// Keys from the file at `path` (see [`parse`](Self::parse)).
    ///
    /// # Errors
    ///
    /// The file cannot be read, or [`parse`](Self::parse) refuses it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ApiKeysError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ApiKeysError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text)
    }

    /// The verified facts of `token` if it is one of the keys (`Err` once it expired), `None`
    /// otherwise. `roles` says where the resource reads roles, so that a key's roles are found
    /// where a token's are.
    pub(crate) fn check(
        &self,
        token: &str,
        now: u64,
        roles: &RoleClaim,
    ) -> Option<Result<AuthInfo, VerifyError>> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let bucket = self.buckets.get(&prefix(&digest))?;
        let mut found = None;
        for key in bucket {
            // Every entry of the bucket is compared, over every byte.
            if bool::from(key.digest.ct_eq(&digest)) {
                found = Some(key);
            }
        }
        let key = found?;
        if key.expires_at.is_some_and(|at| at <= now) {
            tracing::debug!("expired API key");
            return Some(Err(VerifyError::Expired));
        }
        let mut claims = Map::new();
        if !key.roles.is_empty() {
            roles.insert_into(&mut claims, &key.roles);
        }
        claims.insert("sub".into(), Value::String(key.subject.clone()));
        Some(Ok(AuthInfo::from(TokenFacts {
            issuer: API_KEY_ISSUER.into(),
            subject: Some(key.subject.clone()),
            client_id: None,
            audiences: Vec::new(),
            scopes: key.scopes.clone(),
            expires_at: key.expires_at,
            issued_at: None,
            token_id: None,
            claims,
            kind: TokenKind::ApiKey,
        })))
    }
}

fn prefix(digest: &[u8; 32]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// `a,b,c` (or `-` for none) as a list.
fn list(text: &str) -> Vec<String> {
    if text == "-" {
        return Vec::new();
    }
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(secret: &str) -> String {
        Sha256::digest(secret.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn a_key_from_the_file_authenticates_its_subject_with_its_scopes_and_roles() {
        let text = format!(
            "# keys\n{} ci-bot read:notes\n\n{} ops - roles=notes-admin expires=4000000000 # rotated 2026\n",
            hex("first-key-aaaaaaaaaaaaaaaa"),
            hex("second-key-bbbbbbbbbbbbbbb")
        );
        let keys = ApiKeys::parse(&text).unwrap();
        assert_eq!(keys.len(), 2);
        let info = keys
            .check("first-key-aaaaaaaaaaaaaaaa", 0, &RoleClaim::default())
            .unwrap()
            .unwrap();
        assert_eq!(info.subject(), Some("ci-bot"));
        assert_eq!(info.issuer(), API_KEY_ISSUER);
        assert_eq!(info.scopes(), ["read:notes"]);
        assert_eq!(info.token_kind(), TokenKind::ApiKey);
        let roles = RoleClaim::parse("realm_access.roles").unwrap();
        let ops = keys
            .check("second-key-bbbbbbbbbbbbbbb", 0, &roles)
            .unwrap()
            .unwrap();
        assert!(ops.scopes().is_empty());
        assert!(roles.holds(&ops, "notes-admin"), "{:?}", ops.claims());
        assert!(keys.check("unknown", 0, &roles).is_none());
    }

    #[test]
    fn two_keys_of_one_subject_both_work_and_an_expired_one_is_refused() {
        let keys = ApiKeys::new()
            .try_key(
                ApiKey::from_secret("old-key-ccccccccccccccc", "ci-bot")
                    .expires_at(UNIX_EPOCH + std::time::Duration::from_secs(1_000)),
            )
            .unwrap()
            .try_key(ApiKey::from_secret("new-key-ddddddddddddddd", "ci-bot"))
            .unwrap();
        let roles = RoleClaim::default();
        assert!(
            keys.check("old-key-ccccccccccccccc", 999, &roles)
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            keys.check("old-key-ccccccccccccccc", 1_000, &roles)
                .unwrap()
                .unwrap_err(),
            VerifyError::Expired
        );
        assert!(
            keys.check("new-key-ddddddddddddddd", 1_000, &roles)
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn malformed_lines_are_named_by_number_without_the_digest() {
        let good = hex("k");
        let cases = [
            ("zz ci read:notes".to_owned(), 1, "64 hexadecimal digits"),
            (format!("{good} ci"), 1, "expected"),
            (format!("# c\n{good} ci bad\"scope"), 2, "scope"),
            (
                format!("{good} ci - roles=a\\ b,c color=blue"),
                1,
                "unknown field",
            ),
            (
                format!("{good} ci - expires=tomorrow"),
                1,
                "seconds since 1970",
            ),
            (format!("{good} ci -\n{good} ops -"), 2, "listed twice"),
        ];
        for (text, line, says) in cases {
            let error = ApiKeys::parse(&text).unwrap_err();
            let shown = error.to_string();
            assert!(
                matches!(error, ApiKeysError::Line { line: l, .. } if l == line),
                "{text}: {shown}"
            );
            assert!(shown.contains(says), "{text}: {shown}");
            assert!(!shown.contains(&good[..16]), "no digest in {shown}");
        }
    }

    #[test]
    fn debug_shows_no_digest() {
        let keys = ApiKeys::new()
            .try_key(ApiKey::from_secret("secret-key-eeeeeeeeeee", "ci"))
            .unwrap();
        let shown = format!(
            "{keys:?} {:?}",
            ApiKey::from_secret("secret-key-eeeeeeeeeee", "ci")
        );
        assert!(
            !shown.contains(&hex("secret-key-eeeeeeeeeee")[..8]),
            "{shown}"
        );
        assert!(shown.contains("keys: 1"), "{shown}");
    }
}
