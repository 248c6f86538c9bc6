//! # mcp-auth
//!
//! Turns an MCP server into a standards-exact OAuth 2.1 protected resource: it publishes the
//! RFC 9728 metadata document that tells MCP clients where to sign in, verifies every request's
//! access token (RFC 9068 JWTs with keys from the authorization server, or opaque tokens by RFC
//! 7662 introspection), enforces scopes per route, tool and prompt, and answers clients with the
//! exact RFC 6750 challenges they step up on (`401`, `403 insufficient_scope`, `503` when the
//! authorization server is down).
//!
//! ## Declare a resource, protect its routes and tools
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use mcp_auth::{Auth, mcp_resource, requires_scope};
//!
//! #[mcp_resource(
//!     id = "https://notes.example.com/mcp",        // the public URL of the endpoint
//!     issuer = "https://auth.example.com",         // the authorization server it trusts
//!     scopes = ["read:notes", "write:notes"],      // checked at compile time, like every literal
//! )]
//! pub struct Notes;
//!
//! #[requires_scope("read:notes")]                  // an undeclared scope does not compile
//! async fn list_notes(auth: Auth<Notes>) -> String {
//!     format!("the notes of {}", auth.subject().unwrap_or("?"))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let notes = Notes::builder().build().await?;     // discovery and keys, every error at once
//! let app: Router = Router::new()
//!     .route("/notes", get(list_notes))
//!     .layer(notes.layer())                        // 401 / 403 / 503 with RFC 6750 challenges
//!     .merge(notes.metadata_router());             // the public RFC 9728 document
//! # let _ = app; Ok(()) }
//! ```
//!
//! An rmcp server (feature `rmcp`) puts `#[tool_scopes(Notes)]` on its `#[tool_router]` impl and
//! `#[requires_scope(..)]` on its tools, and is wired in one call:
//! `notes.mcp_router(service, NotesServer::tool_scopes())` mounts it at the identifier's path,
//! behind the layer with the per-tool scopes, with the metadata outside; the README has a
//! complete server. Without the macros, [`ResourceServer::builder`] configures resources at run
//! time (see [`resource`]).
//!
//! ## Where things are
//!
//! | module | what it holds |
//! |---|---|
//! | [`resource`] | [`ProtectedResource`] (one resource's configuration), [`ResourceServer`] (the resources of a server), [`ResourceAuth`] (a built resource: its layer, metadata router, verifier) |
//! | [`layer`], [`extract`] | the tower [`BearerLayer`] and the [`Auth`] / `ScopeGuard` extractors |
//! | [`mcp`] | MCP mode: the standard headers checked against the JSON-RPC body, per-tool scopes from it, sessions and tasks bound to their user |
//! | [`binding`] | where sessions, tasks and state handles are bound to their user: the store trait, the in-memory and Redis stores, state handles for tools |
//! | [`rmcp`] (feature `rmcp`) | the verified token and the caller's state handles inside rmcp tools |
//! | [`scope`] | the one scope decision, with scope implications |
//! | [`rejection`], [`challenge`], [`error`] | what a refused request gets, the RFC 6750 header, the error enums |
//! | [`discovery`], [`jwks`], [`verify`], [`introspection`] | authorization-server metadata, key sets, JWT verification, opaque tokens |
//! | [`metadata`] | the RFC 9728 document |
//! | [`dpop`] | DPoP (RFC 9449): proofs, key-bound tokens, the per-resource policy |
//! | [`bearer`], [`auth_info`], [`clock`], [`crypto`], [`spec`], [`rules`] | token extraction, the verified token, a controllable clock, the crypto backend, what `#[mcp_resource]` declares, the URL and scope rules |
//!
//! The development authorization server for tests and examples is the separate crate
//! `mcp-auth-dev`. mcp-auth logs through `tracing` (per-request outcomes at `debug`, what an
//! operator must act on at `warn`) and never logs a token.
//!
//! ## Features
//!
//! * `aws-lc-rs` (default) or `rust-crypto`: the signature backend of `jsonwebtoken`.
//! * `rmcp`: [`rmcp`], the in-tool scope guard of `#[tool_scopes]`.
//! * `redis`: `binding::RedisStore`, bindings shared by every instance behind a load balancer.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod auth_info;
pub mod bearer;
pub mod binding;
pub mod challenge;
pub mod clock;
mod cors;
pub mod crypto;
pub mod discovery;
pub mod dpop;
mod endpoint;
pub mod error;
pub mod extract;
mod framing;
mod http_client;
pub mod introspection;
pub mod jwks;
pub mod layer;
mod log_limit;
pub mod mcp;
pub mod metadata;
pub mod rejection;
pub mod resource;
#[cfg(feature = "rmcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "rmcp")))]
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
    pub use crate::dpop::DpopPolicy;
    pub use crate::extract::ScopeGuard;
    pub use crate::mcp::McpScopes;
    #[cfg(feature = "rmcp")]
    pub use crate::rmcp::ToolScopeGuard;
    pub use crate::rules::DiscoveryKind;
    pub use crate::spec::consteval::{
        compile_error, concat_list_bytes, concat_list_len, scope_declared,
    };
    pub use crate::spec::{
        DpopSpec, IssuerSpec, MetadataSpec, Resource, ResourceSpec, ScopeSet, TokenSpec,
        ValueSource,
    };
    pub use crate::typed::ResourceBuilder;
    pub use crate::verify::{ClaimsProfile, TypPolicy};
    pub use core;
}
