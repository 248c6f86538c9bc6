//! # mcp-auth
//!
//! Turns an MCP server into a standards-exact OAuth 2.1 protected resource.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth_info;
pub mod bearer;
pub mod challenge;
pub mod clock;
mod cors;
pub mod crypto;
pub mod discovery;
mod endpoint;
pub mod error;
pub mod extract;
mod http_client;
pub mod introspection;
pub mod jwks;
pub mod layer;
pub mod mcp;
pub mod metadata;
pub mod rejection;
pub mod resource;
#[cfg(feature = "rmcp")]
pub mod rmcp;
pub mod scope;
pub mod spec;
mod typed;
pub mod verify;
mod well_known;

pub use auth_info::{AuthInfo, TokenKind};
pub use discovery::{
    AuthServerConfig, AuthServerMetadata, DiscoveryError, DiscoveryKind, ServerConfigFetcher,
    ValidationReport, fetch_server_config, validate_server_config,
};
pub use error::{ConfigError, ErrorCode, VerifyError};
pub use extract::Auth;
pub use layer::BearerLayer;
pub use rejection::AuthRejection;
pub use resource::{AnyResource, ProtectedResource, ResourceAuth, ResourceServer};
pub use spec::Resource;
pub use typed::{ResourceBuilder, StartupError};
pub use verify::{JwtVerifier, SharedVerifier, TokenVerifier, VerifyOptions};

pub use mcp_auth_macros::{mcp_resource, requires_scope, tool_scopes};

/// The rules shared with the macros: URL and scope checks, well-known locations.
pub use mcp_auth_rules as rules;

/// Items used by the code that `mcp-auth-macros` generates. Not a public API: no stability
/// guarantee, may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::extract::ScopeGuard;
    pub use crate::mcp::McpScopes;
    #[cfg(feature = "rmcp")]
    pub use crate::rmcp::ToolScopeGuard;
    pub use crate::rules::DiscoveryKind;
    pub use crate::spec::consteval::{
        compile_error, concat_list_bytes, concat_list_len, scope_declared,
    };
    pub use crate::spec::{
        IssuerSpec, MetadataSpec, Resource, ResourceSpec, ScopeSet, TokenSpec, ValueSource,
    };
    pub use crate::typed::ResourceBuilder;
    pub use crate::verify::{ClaimsProfile, TypPolicy};
    pub use core;
}
