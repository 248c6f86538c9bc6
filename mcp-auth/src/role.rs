//! Role decisions: which roles a token holds, read from the claim its resource names.
//!
//! Providers put roles in different places: a top-level `roles` array (Entra ID, Auth0 with a
//! rule, the development server), Keycloak's `realm_access.roles`, a space-separated string. A
//! resource names the claim once ([`ProtectedResource::role_claim`](crate::ProtectedResource::role_claim),
//! `#[mcp_resource(role_claim = "...")]`); every decision reads it here. A claim that is neither
//! an array nor a string holds no role: a token whose roles cannot be read is refused, never
//! taken to hold them.

use serde_json::Value;

use crate::auth_info::AuthInfo;

/// Where a resource's tokens hold their roles: a claim path, `roles` by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleClaim {
    path: Vec<String>,
}

impl Default for RoleClaim {
    fn default() -> Self {
        Self {
            path: vec!["roles".to_owned()],
        }
    }
}

impl RoleClaim {
    /// The claim at the dot-separated `path` (checked by [`mcp_auth_rules::claim_path`]).
    pub(crate) fn parse(path: &str) -> Result<Self, mcp_auth_rules::Problem> {
        mcp_auth_rules::claim_path(path)?;
        Ok(Self {
            path: path.split('.').map(str::to_owned).collect(),
        })
    }

    /// Whether the token `info` holds `role`: an entry of the claim's array of strings, or a
    /// word of its space-separated string.
    pub(crate) fn holds(&self, info: &AuthInfo, role: &str) -> bool {
        let mut names = self.path.iter();
        let Some(first) = names.next() else {
            return false;
        };
        let mut value = info.claims().get(first);
        for name in names {
            value = value.and_then(|v| v.get(name));
        }
        match value {
            Some(Value::Array(roles)) => roles.iter().any(|r| r.as_str() == Some(role)),
            Some(Value::String(roles)) => roles.split_ascii_whitespace().any(|r| r == role),
            _ => false,
        }
    }

    /// Puts `roles` into `claims` where this claim reads them (an array at the path), for
    /// credentials that carry roles without a token (API keys).
    pub(crate) fn insert_into(
        &self,
        claims: &mut serde_json::Map<String, Value>,
        roles: &[String],
    ) {
        let Some((last, parents)) = self.path.split_last() else {
            return;
        };
        let mut object = claims;
        for name in parents {
            let entry = object
                .entry(name.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(serde_json::Map::new());
            }
            let Value::Object(next) = entry else {
                return;
            };
            object = next;
        }
        object.insert(
            last.clone(),
            Value::Array(roles.iter().cloned().map(Value::String).collect()),
        );
    }

    /// The roles of `needed` the token `info` does not hold, in their order.
    pub(crate) fn missing<'a>(&self, info: &AuthInfo, needed: &[&'a str]) -> Vec<&'a str> {
        needed
            .iter()
            .copied()
            .filter(|role| !self.holds(info, role))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_info::{TokenFacts, TokenKind};
    use serde_json::json;

    fn token(claims: Value) -> AuthInfo {
        AuthInfo::from(TokenFacts {
            issuer: "https://as.example.com".into(),
            subject: Some("alice".into()),
            client_id: None,
            audiences: vec![],
            scopes: vec![],
            expires_at: None,
            issued_at: None,
            token_id: None,
            claims: claims.as_object().cloned().unwrap_or_default(),
            kind: TokenKind::Jwt,
        })
    }

    #[test]
    fn roles_are_read_from_an_array_or_a_space_separated_string() {
        let claim = RoleClaim::default();
        assert!(claim.holds(
            &token(json!({"roles": ["a", "notes-admin"]})),
            "notes-admin"
        ));
        assert!(claim.holds(&token(json!({"roles": "a notes-admin"})), "notes-admin"));
        assert!(!claim.holds(&token(json!({"roles": "notes-admins"})), "notes-admin"));
        assert!(!claim.holds(
            &token(json!({"roles": {"notes-admin": true}})),
            "notes-admin"
        ));
        assert!(!claim.holds(&token(json!({})), "notes-admin"));
    }

    #[test]
    fn a_nested_claim_is_followed_member_by_member() {
        let claim = RoleClaim::parse("realm_access.roles").unwrap();
        let keycloak = token(json!({"realm_access": {"roles": ["offline_access", "notes-admin"]}}));
        assert!(claim.holds(&keycloak, "notes-admin"));
        assert!(!claim.holds(&token(json!({"roles": ["notes-admin"]})), "notes-admin"));
        assert_eq!(claim.missing(&keycloak, &["notes-admin", "x"]), ["x"]);
        assert!(RoleClaim::parse("realm_access..roles").is_err());
    }
}
