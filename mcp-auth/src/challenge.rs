//! The RFC 6750 `WWW-Authenticate: Bearer` challenge, with RFC 9728 §5.1 `resource_metadata`.
//!
//! [`BearerChallenge`] builds the one header value a protected resource sends with a 401, 403 or
//! 400. Its output is canonical and byte-stable, because real MCP clients read it naively (the
//! TypeScript SDK checks `header.split(' ')[0]`, rmcp broke on a duplicate parameter, Claude
//! ignores a relative `resource_metadata`):
//!
//! * the value starts with `Bearer ` and holds only the Bearer challenge;
//! * every parameter is `name="value"` (always quoted), parameters are joined by `, `, and each
//!   appears at most once (RFC 9110 §11.2);
//! * every value is sanitised to the character set its parameter allows, so building the header
//!   never fails and never splits or escapes a quoted string (RFC 6750 §3);
//! * a parameter whose value is empty after sanitising is left out (in the spirit of RFC 9728 §3.2,
//!   which omits zero values).
//!
//! # Parameter order
//!
//! No single fixed order reproduces the MCP specification's own examples: its 401 example puts
//! `resource_metadata` before `scope`, its 403 example puts `scope` before `resource_metadata`.
//! The order therefore follows the error code, deterministically:
//!
//! | `error` | order |
//! |---|---|
//! | none, `invalid_request`, `invalid_token` | `error`, `error_description`, `resource_metadata`, `scope` |
//! | `insufficient_scope` | `error`, `scope`, `resource_metadata`, `error_description` |
//!
//! which gives, for example:
//!
//! ```
//! use mcp_auth::layer::BearerChallenge;
//! use mcp_auth::ErrorCode;
//!
//! const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
//!
//! // No credentials: no error information (RFC 6750 §3.1).
//! let c = BearerChallenge::new(PRM).scope(["mcp:read"]);
//! assert_eq!(
//!     c.to_string(),
//!     format!(r#"Bearer resource_metadata="{PRM}", scope="mcp:read""#)
//! );
//!
//! // Insufficient scope (MCP's scope challenge handling).
//! let c = BearerChallenge::new(PRM)
//!     .error(ErrorCode::InsufficientScope)
//!     .scope(["mcp:read", "files:write"])
//!     .error_description("files:write required");
//! assert_eq!(
//!     c.to_string(),
//!     format!(
//!         r#"Bearer error="insufficient_scope", scope="mcp:read files:write", resource_metadata="{PRM}", error_description="files:write required""#
//!     )
//! );
//! ```

use std::fmt::{self, Write as _};

use http::HeaderValue;

use crate::ErrorCode;

/// The longest `error_description` sent, in bytes; longer texts are cut at a word boundary
/// where there is one.
pub(crate) const MAX_DESCRIPTION_LEN: usize = 200;

/// A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1).
///
/// Built with [`BearerChallenge::new`] and the builder methods; rendered with
/// [`BearerChallenge::to_header_value`] or [`Display`](fmt::Display) (the same bytes).
/// Every parameter is a quoted string, each at most once, in an order that follows the error
/// code as the MCP specification's examples do: `error`, `error_description`,
/// `resource_metadata`, `scope` without an error or for `invalid_request` and `invalid_token`;
/// `error`, `scope`, `resource_metadata`, `error_description` for `insufficient_scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    resource_metadata: String,
    error: Option<ErrorCode>,
    error_description: String,
    scopes: Vec<String>,
}

impl BearerChallenge {
    /// A challenge that points at the protected resource metadata document.
    ///
    /// `resource_metadata` must be the **absolute** URL of the document, the path-inserted
    /// well-known location (RFC 9728 §5.1; see `mcp_auth_rules::metadata_url`). Characters that
    /// cannot appear in a URL (`"`, `\`, spaces, controls, non-ASCII) are percent-encoded so that
    /// the value can never break the quoted string.
    pub fn new(resource_metadata: impl Into<String>) -> Self {
        Self {
            resource_metadata: sanitize_url(&resource_metadata.into()),
            error: None,
            error_description: String::new(),
            scopes: Vec::new(),
        }
    }

    /// Sets the `error` code. [`ErrorCode::Unavailable`] has no RFC 6750 code, so it sends no
    /// `error` parameter (the challenge still points at the metadata).
    ///
    /// A request without credentials should get no error code at all (RFC 6750 §3.1):
    /// leave this unset then.
    pub fn error(mut self, code: ErrorCode) -> Self {
        self.error = Some(code);
        self
    }

    /// Sets the `error_description`, sanitised to the RFC 6750 §3 character set.
    ///
    /// Tabs, CR and LF become spaces, runs of spaces collapse to one, `"`, `\`, other controls
    /// and non-ASCII characters are removed, and the result is trimmed and cut to
    /// 200 bytes. Never pass token material: the text is sent to the client.
    ///
    /// ```
    /// # use mcp_auth::layer::BearerChallenge;
    /// # use mcp_auth::ErrorCode;
    /// let c = BearerChallenge::new("https://rs.example/.well-known/oauth-protected-resource")
    ///     .error(ErrorCode::InvalidToken)
    ///     .error_description("bad \"kid\"\r\n  in header – ü");
    /// assert!(c.to_string().contains(r#"error_description="bad kid in header""#));
    /// ```
    pub fn error_description(mut self, text: impl Into<String>) -> Self {
        self.error_description = sanitize_text(&text.into(), MAX_DESCRIPTION_LEN);
        self
    }

    /// Sets the `scope` parameter: the scopes the request needs (RFC 6750 §3, MCP's scope
    /// challenge handling), replacing any set before.
    ///
    /// Each item may itself be a space-delimited list. The tokens are kept in first-seen order
    /// without duplicates; `offline_access` is never sent, as MCP advises. A token with a character
    /// outside the RFC 6749 scope set (`%x21 / %x23-5B / %x5D-7E`) is left out whole rather
    /// than repaired, because a repaired token would name a different scope. An empty result
    /// leaves the parameter out.
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut kept: Vec<String> = Vec::new();
        for item in scopes {
            for token in item.as_ref().split([' ', '\t', '\r', '\n']) {
                let valid = !token.is_empty() && token.bytes().all(is_scope_byte);
                if valid && token != "offline_access" && !kept.iter().any(|k| k == token) {
                    kept.push(token.to_owned());
                }
            }
        }
        self.scopes = kept;
        self
    }

    /// The `error` code set, if any.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.error
    }

    /// The `resource_metadata` URL as it is sent.
    pub fn resource_metadata(&self) -> &str {
        &self.resource_metadata
    }

    /// The scopes as they are sent.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The header value. It never fails: every value is sanitised to visible ASCII and spaces.
    pub fn to_header_value(&self) -> HeaderValue {
        // Every byte written is in %x20-7E (see the sanitisers), which `HeaderValue` accepts;
        // the fallback is unreachable and still a valid challenge.
        HeaderValue::from_str(&self.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let error = self.error.and_then(ErrorCode::as_rfc6750);
        let scope = self.scopes.join(" ");
        let error_param = ("error", error.unwrap_or_default().to_owned());
        let description = ("error_description", self.error_description.clone());
        let resource_metadata = ("resource_metadata", self.resource_metadata.clone());
        let scope = ("scope", scope);
        if self.error == Some(ErrorCode::InsufficientScope) {
            vec![error_param, scope, resource_metadata, description]
        } else {
            vec![error_param, description, resource_metadata, scope]
        }
    }
}

impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer")?;
        let mut first = true;
        for (name, value) in self.params() {
            if value.is_empty() {
                continue;
            }
            f.write_str(if first { " " } else { ", " })?;
            first = false;
            write!(f, "{name}=\"{value}\"")?;
        }
        Ok(())
    }
}

/// `%x21 / %x23-5B / %x5D-7E`: a byte of an RFC 6749 scope token.
fn is_scope_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// `%x20-21 / %x23-5B / %x5D-7E`: a byte allowed in `error_description` (RFC 6750 §3).
fn is_description_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Keeps the RFC 6750 `error_description` characters, turns whitespace into single spaces,
/// trims, and cuts to `max` bytes (at the last space before the limit when there is one).
fn sanitize_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if !is_description_char(c) || (c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            continue;
        }
        out.push(c);
    }
    if out.len() > max {
        // All ASCII, so every index is a char boundary.
        let cut = match out[..=max].rfind(' ') {
            Some(space) if space > max / 2 => space,
            _ => max,
        };
        out.truncate(cut);
    }
    out.truncate(out.trim_end().len());
    out
}

/// Percent-encodes every byte that is not visible ASCII or that would break a quoted string.
fn sanitize_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.trim().bytes() {
        if matches!(b, 0x21..=0x7E) && b != b'"' && b != b'\\' {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

    #[test]
    fn rs19_no_credentials_challenge_is_byte_exact() {
        let c = BearerChallenge::new(PRM).scope(["mcp:read"]);
        assert_eq!(
            c.to_header_value(),
            "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:read\""
        );
    }

    #[test]
    fn rs21_invalid_token_challenge_is_byte_exact() {
        let c = BearerChallenge::new(PRM)
            .error(ErrorCode::InvalidToken)
            .error_description("The access token expired");
        assert_eq!(
            c.to_header_value(),
            "Bearer error=\"invalid_token\", error_description=\"The access token expired\", resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""
        );
    }

    #[test]
    fn rs47_insufficient_scope_challenge_is_byte_exact() {
        let c = BearerChallenge::new(PRM)
            .error(ErrorCode::InsufficientScope)
            .scope(["mcp:read", "files:write"])
            .error_description("files:write required");
        assert_eq!(
            c.to_header_value(),
            "Bearer error=\"insufficient_scope\", scope=\"mcp:read files:write\", resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", error_description=\"files:write required\""
        );
    }

    #[test]
    fn rs30_invalid_request_challenge() {
        let c = BearerChallenge::new(PRM)
            .error(ErrorCode::InvalidRequest)
            .error_description("The Authorization header is malformed");
        assert_eq!(
            c.to_string(),
            format!(
                "Bearer error=\"invalid_request\", error_description=\"The Authorization header is malformed\", resource_metadata=\"{PRM}\""
            )
        );
    }

    #[test]
    fn rs22_description_is_sanitised() {
        let c = BearerChallenge::new(PRM)
            .error(ErrorCode::InvalidToken)
            .error_description("  say \"hi\" \\ back\r\nslash\tüñí 😀 end\u{7}  ");
        let header = c.to_header_value();
        let text = header.to_str().unwrap();
        assert!(text.contains("error_description=\"say hi back slash end\""));
        for forbidden in ['\\', '\r', '\n', '\t', '\u{7}'] {
            assert!(!text.contains(forbidden), "{forbidden:?} in {text}");
        }
        assert!(text.is_ascii());
        // Quotes appear only as the delimiters of the three parameters.
        assert_eq!(text.matches('"').count(), 6);
    }

    #[test]
    fn rs22_description_that_sanitises_to_nothing_is_omitted() {
        let c = BearerChallenge::new(PRM)
            .error(ErrorCode::InvalidToken)
            .error_description("\"\\\r\n ü");
        assert_eq!(
            c.to_string(),
            format!("Bearer error=\"invalid_token\", resource_metadata=\"{PRM}\"")
        );
    }

    #[test]
    fn rs22_long_description_is_cut() {
        let long = "word ".repeat(100);
        let c = BearerChallenge::new(PRM).error_description(long);
        assert!(c.error_description.len() <= MAX_DESCRIPTION_LEN);
        assert!(c.error_description.ends_with("word"));
        let unbroken = "x".repeat(500);
        let c = BearerChallenge::new(PRM).error_description(unbroken);
        assert_eq!(c.error_description.len(), MAX_DESCRIPTION_LEN);
    }

    #[test]
    fn rs11_scope_is_deduplicated_without_offline_access() {
        let c = BearerChallenge::new(PRM).scope([
            "mcp:read files:write",
            "offline_access",
            "mcp:read",
            "  files:admin\t",
            "files:write",
        ]);
        assert_eq!(c.scopes(), ["mcp:read", "files:write", "files:admin"]);
        assert!(
            c.to_string()
                .ends_with(", scope=\"mcp:read files:write files:admin\"")
        );
    }

    #[test]
    fn rs17_invalid_scope_tokens_are_left_out_whole() {
        let c = BearerChallenge::new(PRM).scope(["ok", "qu\"ote", "back\\slash", "caf\u{e9}"]);
        assert_eq!(c.scopes(), ["ok"]);
        let c = BearerChallenge::new(PRM).scope(["offline_access", "a\"b"]);
        assert_eq!(c.to_string(), format!("Bearer resource_metadata=\"{PRM}\""));
    }

    #[test]
    fn rs17_scope_replaces_previous_value() {
        let c = BearerChallenge::new(PRM).scope(["a"]).scope(["b"]);
        assert_eq!(c.scopes(), ["b"]);
    }

    #[test]
    fn rs18_resource_metadata_cannot_break_quoting() {
        let c = BearerChallenge::new("https://x.example/a\"b\\c d\u{e9}\r\n");
        assert_eq!(
            c.resource_metadata(),
            "https://x.example/a%22b%5Cc%20d%C3%A9"
        );
        assert!(c.to_header_value().to_str().is_ok());
    }

    #[test]
    fn unavailable_sends_no_error_code() {
        let c = BearerChallenge::new(PRM).error(ErrorCode::Unavailable);
        assert_eq!(c.to_string(), format!("Bearer resource_metadata=\"{PRM}\""));
        assert_eq!(c.error_code(), Some(ErrorCode::Unavailable));
    }

    #[test]
    fn rs25_always_starts_with_bearer() {
        assert_eq!(BearerChallenge::new("").to_string(), "Bearer");
        assert!(
            BearerChallenge::new(PRM)
                .error(ErrorCode::InvalidToken)
                .to_string()
                .starts_with("Bearer error=")
        );
    }
}
