//! Authorization-server discovery (RFC 8414, OpenID Connect Discovery 1.0) and a check of what
//! the server offers MCP clients.
//!
//! * [`fetch_server_config`] / [`ServerConfigFetcher`]: fetch the metadata of an issuer from the
//!   well-known URLs in the order MCP clients use (RFC 8414 §3, then OpenID Connect Discovery), and
//!   accept it only when its `issuer` is byte-identical to the configured one (RFC 8414 §3.3).
//! * [`AuthServerConfig`]: the checked result that verifiers are built from; also built by hand
//!   with [`AuthServerConfig::from_metadata`].
//! * [`AuthServerMetadata`]: the typed document, every registered member plus unknown ones.
//! * [`validate_server_config`]: does the server support the authorization code flow with PKCE
//!   `S256`, dynamic registration and client ID metadata documents?
//!
//! ```no_run
//! use mcp_auth::discovery::{DiscoveryKind, fetch_server_config, validate_server_config};
//!
//! # async fn run() -> Result<(), mcp_auth::discovery::DiscoveryError> {
//! let config = fetch_server_config("https://auth.example.com/tenant1", DiscoveryKind::Auto).await?;
//! println!("keys at {:?}", config.jwks_uri());
//! for warning in validate_server_config(config.metadata()).warnings {
//!     println!("warning: {warning}");
//! }
//! # Ok(()) }
//! ```

mod config;
mod error;
mod fetch;
mod metadata;
mod validate;

pub use config::AuthServerConfig;
pub(crate) use config::{check_issuer, error_messages};
pub use error::{DiscoveryError, NetworkErrorKind};
pub use fetch::{ServerConfigFetcher, fetch_server_config};
pub use metadata::AuthServerMetadata;
pub use validate::{
    Finding, FindingSeverity, ValidationCode, ValidationReport, validate_server_config,
};

/// Which well-known documents are tried, and in which order (the order of MCP's authorization
/// specification, "Authorization Server Metadata Discovery"):
///
/// * `OAuth`: RFC 8414 `/.well-known/oauth-authorization-server` (path inserted).
/// * `Oidc`: OpenID Connect `/.well-known/openid-configuration`, path inserted, then appended.
/// * `Auto` (the default): both, RFC 8414 first, as MCP clients do.
///
/// A terminating `/` of the issuer is removed before the URLs are built.
///
/// ```
/// use mcp_auth::discovery::DiscoveryKind;
/// use mcp_auth_rules::discovery_urls;
///
/// assert_eq!(
///     discovery_urls("https://auth.example.com/tenant1", DiscoveryKind::Auto).unwrap(),
///     [
///         "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
///         "https://auth.example.com/.well-known/openid-configuration/tenant1",
///         "https://auth.example.com/tenant1/.well-known/openid-configuration",
///     ]
/// );
/// ```
pub use mcp_auth_rules::DiscoveryKind;

/// The provider documents of `tests/fixtures/providers` and the table of their README.
#[cfg(test)]
pub(crate) mod test_fixtures {
    use std::path::PathBuf;

    use serde_json::Value;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/providers")
    }

    /// Every `*.json` fixture: file name and parsed value, sorted by name.
    pub(crate) fn provider_fixtures() -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(dir()).expect("fixtures directory");
        for entry in entries {
            let path = entry.expect("fixture entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .expect("utf-8 name")
                    .to_owned();
                let text = std::fs::read_to_string(&path).expect("fixture text");
                let value = serde_json::from_str(&text).expect("fixture JSON");
                out.push((name, value));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(out.len() >= 17, "fixtures missing: {}", out.len());
        out
    }

    /// One row of the README's "MCP-relevant properties" table.
    #[derive(Debug)]
    pub(crate) struct Row {
        pub file: String,
        pub registration: bool,
        /// The S256 column as written: `yes (...)`, `absent`, ...
        pub pkce: String,
        pub code: bool,
        pub authorization_code_grant: bool,
        /// `absent`, `false` or `true`.
        pub cimd: String,
    }

    pub(crate) fn readme_table() -> Vec<Row> {
        let text = std::fs::read_to_string(dir().join("README.md")).expect("README");
        text.lines()
            .filter(|l| l.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
                assert!(cells.len() >= 6, "README row: {line}");
                let grant = cells[4];
                Row {
                    file: cells[0].trim_matches('`').to_owned(),
                    registration: cells[1] == "yes",
                    pkce: cells[2].to_owned(),
                    code: cells[3] == "yes",
                    authorization_code_grant: grant == "absent"
                        || grant.contains("incl. authorization_code"),
                    cimd: cells[5].to_owned(),
                }
            })
            .collect()
    }
}
