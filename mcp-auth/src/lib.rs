//! # mcp-auth
//!
//! Turns an MCP server into a standards-exact OAuth 2.1 protected resource.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth_info;
pub mod clock;
pub mod crypto;
#[cfg(feature = "dev-server")]
pub mod dev;
pub mod error;
pub mod verify;

pub use auth_info::{AuthInfo, TokenKind};
pub use error::{ConfigError, ErrorCode, VerifyError};
pub use verify::{SharedVerifier, TokenVerifier, VerifyOptions};

/// The rules shared with the macros: URL and scope checks, well-known locations.
pub use mcp_auth_rules as rules;
