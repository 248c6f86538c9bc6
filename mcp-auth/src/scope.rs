//! Scope decisions: whether a token's granted scopes cover what an operation needs.
//!
//! One decision, [`ScopeHierarchy::require`], serves the bearer layer (its required scopes), the
//! `#[requires_scope]` extractor and MCP mode (per-tool scopes), so a route, a handler and a tool
//! can never disagree about what a token grants. The `403 insufficient_scope` refusal that goes
//! with it is built in one place too (`AuthRejection`'s).

use std::collections::BTreeMap;

/// Scope implications: a broader scope that grants narrower ones.
///
/// Without implications (the default), a scope is granted only by itself.
///
/// ```
/// use mcp_auth::scope::ScopeHierarchy;
///
/// let h = ScopeHierarchy::default().implies("files:admin", ["files:write", "files:read"]);
/// let granted = ["files:admin".to_owned()];
/// assert!(h.require(&granted, ["files:write"]).is_ok());
/// let missing = h.require(&["files:write".to_owned()], ["files:admin", "files:write"]).unwrap_err();
/// assert_eq!(missing.scopes(), ["files:admin"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeHierarchy {
    implied: BTreeMap<String, Vec<String>>,
}

/// The scopes a token lacks for an operation, in the order the operation names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingScopes(Vec<String>);

impl MissingScopes {
    /// The missing scopes.
    pub fn scopes(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for MissingScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} required", self.0.join(" "))
    }
}

impl ScopeHierarchy {
    /// Declares that `broader` grants each of `narrower` (transitively).
    pub fn implies<I, S>(mut self, broader: impl Into<String>, narrower: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let entry = self.implied.entry(broader.into()).or_default();
        for scope in narrower {
            let scope = scope.into();
            if !entry.contains(&scope) {
                entry.push(scope);
            }
        }
        self
    }

    /// Whether `granted` grants `required`, directly or through implications.
    pub(crate) fn satisfies(&self, granted: &[String], required: &str) -> bool {
        // The common cases without a search: the scope itself is granted, or nothing implies.
        if granted.iter().any(|g| g == required) {
            return true;
        }
        if self.implied.is_empty() {
            return false;
        }
        let mut stack: Vec<&str> = granted.iter().map(String::as_str).collect();
        let mut seen: Vec<&str> = Vec::new();
        while let Some(scope) = stack.pop() {
            if scope == required {
                return true;
            }
            if seen.contains(&scope) {
                continue;
            }
            seen.push(scope);
            if let Some(narrower) = self.implied.get(scope) {
                stack.extend(narrower.iter().map(String::as_str));
            }
        }
        false
    }

    /// The decision: `Ok` when `granted` grants every scope of `needed`, else the ones it lacks.
    pub fn require<I, S>(&self, granted: &[String], needed: I) -> Result<(), MissingScopes>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut missing: Vec<String> = Vec::new();
        for scope in needed {
            let scope = scope.as_ref();
            if !self.satisfies(granted, scope) && !missing.iter().any(|m| m == scope) {
                missing.push(scope.to_owned());
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(MissingScopes(missing))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn rs49_implications_are_transitive_and_one_way() {
        let h = ScopeHierarchy::default()
            .implies("admin", ["write"])
            .implies("write", ["read"]);
        assert!(h.require(&granted(&["admin"]), ["read", "write"]).is_ok());
        assert_eq!(
            h.require(&granted(&["read"]), ["admin", "read", "write", "admin"])
                .unwrap_err()
                .scopes(),
            ["admin", "write"]
        );
    }

    #[test]
    fn nothing_needed_is_always_granted() {
        assert!(
            ScopeHierarchy::default()
                .require(&[], std::iter::empty::<&str>())
                .is_ok()
        );
    }

    #[test]
    fn missing_scopes_display_names_them() {
        let missing = ScopeHierarchy::default()
            .require(&[], ["a", "b"])
            .unwrap_err();
        assert_eq!(missing.to_string(), "a b required");
    }
}
