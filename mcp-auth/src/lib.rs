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
//! time (see [`ResourceServer`] and [`ProtectedResource`]).
//!
//! ## Where things are
//!
//! The most used items are at the root: [`Auth`], [`AuthInfo`], [`BearerLayer`],
//! [`AuthRejection`], the resource types ([`ProtectedResource`], [`ResourceServer`],
//! [`ResourceAuth`], [`Resource`], [`ResourceBuilder`], and [`Tenants`] for one server of several
//! tenants) and the errors. The rest lives with the
//! concept it belongs to:
//!
//! | module | what it holds |
//! |---|---|
//! | [`layer`] | the request pipeline's types: the layer's service and future, the extractors' rejections, the RFC 6750 challenge, the credentials parser |
//! | [`verify`] | the [`TokenVerifier`](verify::TokenVerifier) trait, RFC 9068 JWT verification, its options, key and token caches |
//! | [`introspection`] | opaque tokens by RFC 7662 introspection, and the JWT-or-introspection router |
//! | [`discovery`] | authorization-server metadata: fetching it, checking it |
//! | [`metadata`] | the RFC 9728 document this resource publishes |
//! | [`scope`] | the one scope decision, with scope implications |
//! | [`mcp`] | MCP mode: the standard headers checked against the JSON-RPC body, per-tool scopes from it, sessions and tasks bound to their user |
//! | [`binding`] | where sessions, tasks, state handles and DPoP proof ids are bound: the store trait, the in-memory and Redis stores, state handles for tools |
//! | [`dpop`] | DPoP (RFC 9449): proofs, key-bound tokens, the per-resource policy |
//! | [`rmcp`] (feature `rmcp`) | the verified token and the caller's state handles inside rmcp tools |
//! | [`downstream`] | tokens for other APIs on the caller's behalf: RFC 8693 token exchange, the RFC 7523 JWT-bearer grant, Entra's on-behalf-of, cached |
//! | [`clock`] | a clock tests control |
//!
//! The development authorization server for tests and examples is the separate crate
//! `mcp-auth-dev`. mcp-auth logs through `tracing` (per-request outcomes at `debug`, what an
//! operator must act on at `warn`) and never logs a token.
//!
//! ## What an operator sees
//!
//! **Metrics** (feature `metrics`), recorded through the `metrics` facade into the recorder the
//! application installs (for example `metrics-exporter-prometheus`) before the server serves:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `mcp_auth_requests_total` | counter | `outcome` (`allowed`, `unauthenticated`, `invalid_token`, `insufficient_scope`, `forbidden`, `bad_request`, `unavailable`), `resource` |
//! | `mcp_auth_operations_total` | counter | `kind` (`tool`, `prompt`, `resource`, `completion`, `method`), `name`, `outcome`, `resource` |
//! | `mcp_auth_token_cache_total` | counter | `result` (`hit`: a Bearer token answered without waiting, from the caches, by its shape alone, or as an API key; `miss`), `resource` |
//! | `mcp_auth_verify_duration_seconds` | histogram | `cache` (`hit`, timed one probe in 16; `miss`, every full verification of a Bearer token), `resource` |
//! | `mcp_auth_jwks_fetches_total`, `mcp_auth_discovery_fetches_total`, `mcp_auth_introspection_requests_total` | counter | `result` (`ok`, `error`) |
//! | `mcp_auth_binding_store_errors_total` | counter | `resource` |
//! | `mcp_auth_token_exchanges_total` | counter | `result` (`hit`: served from the cache, `exchanged`, `error`): downstream tokens ([`downstream`]) |
//!
//! A refusal's `outcome` is read from the answer the client got (a `use_dpop_nonce` challenge,
//! the first step of RFC 9449 §8, counts as `unauthenticated`); a request the layer passed on
//! counts as `allowed` even when its code then meets a binding store that cannot answer and the
//! layer turns the answer into `503` (counted in `mcp_auth_binding_store_errors_total`). DPoP
//! requests are counted by outcome, not in the token-cache counters or the histogram. Not
//! counted: the `503` of a [`Tenants`] tenant still starting, and refusals by the [`Auth`]
//! extractor or the rmcp guard of a service wired without the layer. An operation's `name` is the
//! name the resource declares (a tool or prompt with a requirement or declared public, the
//! exact resource URI or the template that covers the URI, an MCP method), `other` for any name
//! it does not declare: labels stay bounded, and no token, subject, client id or URI a request
//! chose is ever a label. `resource` is the resource identifier.
//!
//! **The audit trail**: one `tracing` event per decision at the target `mcp_auth::audit`, at
//! `info` (at `debug` for an allowed request that is no MCP operation, such as a plain route
//! behind the layer), with the message `decision` and these fields, a stable schema:
//!
//! | field | value |
//! |---|---|
//! | `outcome` | as the metric label |
//! | `reason` | a stable code: `allowed`; `no_credentials`, `malformed_credentials`, `dpop_required`; a Bearer token's refusal ([`VerifyError::kind`]: `expired`, `invalid_signature`, `invalid_audience`, `untrusted_issuer`, `unknown_key`, `malformed`, `inactive`, `unavailable`, ...); a DPoP request's (`invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`, `unavailable`); `insufficient_scope`, `missing_role`, `origin`, `invalid_request` (an ambiguous `Host`, request target or transfer coding), `invalid_body`, `session`, `task` |
//! | `resource` | the resource identifier |
//! | `operation`, `kind`, `name`, `count` | the MCP method (or `other`), the operation as the metric labels it, and how many messages of the request asked for it; absent for a request whose body was not read. A batch gives one event per distinct operation |
//! | `client_id`, `issuer` | of the verified token, when there is one |
//! | `subject` | the token's `sub`; or, with [`ProtectedResource::audit_subject_digest`], `subject_digest`: the [`binding::Owner`] digest of issuer and subject |
//!
//! No event holds a token. The events cost nothing unless a subscriber enables the target:
//! route them to their own sink (`RUST_LOG=warn,mcp_auth::audit=info`), or off
//! (`mcp_auth::audit=off`) where per-request lines are not wanted.
//!
//! ## Features
//!
//! * `aws-lc-rs` (default) or `rust-crypto`: the signature backend of `jsonwebtoken`.
//! * `rmcp`: [`rmcp`], the in-tool scope guard of `#[tool_scopes]`.
//! * `redis`: `binding::RedisStore`, bindings shared by every instance behind a load balancer.
//! * `metrics`: counters and a histogram of every decision through the `metrics` facade (see
//!   below); the application installs the exporter.
//! * `test-util`: helpers for tests of code that uses mcp-auth (`StateHandles::for_tests`) and
//!   the `MCP_AUTH_TOKEN_CACHE=off` switch; without it the library reads no environment variable.
//!
// The `rmcp` module exists with its feature only; without it, its links go to docs.rs.
#![cfg_attr(feature = "rmcp", doc = "[`rmcp`]: crate::rmcp")]
#![cfg_attr(
    not(feature = "rmcp"),
    doc = "[`rmcp`]: https://docs.rs/mcp-auth/latest/mcp_auth/rmcp/index.html"
)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod auth_info;
mod bearer;
pub mod binding;
mod challenge;
pub mod clock;
mod cors;
mod crypto;
pub mod discovery;
pub mod downstream;
pub mod dpop;
mod endpoint;
mod error;
mod expiring;
mod extract;
mod framing;
mod http_client;
pub mod introspection;
mod jwks;
mod jws;
pub mod layer;
pub mod mcp;
pub mod metadata;
mod metric;
mod notice;
mod pipeline;
pub mod presets;
mod protection;
mod rejection;
mod resource;
#[cfg(feature = "rmcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "rmcp")))]
pub mod rmcp;
mod role;
pub mod scope;
mod spec;
mod telemetry;
mod tenant;
mod typed;
pub mod verify;
mod well_known;

pub use auth_info::AuthInfo;
pub use error::{ConfigError, ErrorCode, VerifyError};
pub use extract::Auth;
pub use pipeline::BearerLayer;
pub use rejection::AuthRejection;
pub use resource::{ProtectedResource, ResourceAuth, ResourceServer, ResourceServerBuilder};
pub use spec::{AnyResource, Resource};
pub use tenant::{Tenants, TenantsBuilder};
pub use typed::{ResourceBuilder, StartupError};

pub use mcp_auth_macros::{mcp_resource, requires_role, requires_scope, tool_scopes};

/// Items used by the code that `mcp-auth-macros` generates. Not a public API: no stability
/// guarantee, may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::discovery::DiscoveryKind;
    pub use crate::dpop::DpopPolicy;
    pub use crate::extract::ScopeGuard;
    pub use crate::mcp::declared_template;
    pub use crate::mcp::{McpAccess, Operation};
    #[cfg(feature = "rmcp")]
    pub use crate::rmcp::{ToolScopeGuard, resource_guard};
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
