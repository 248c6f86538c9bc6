//! The bearer layer and what a request meets in it.
//!
//! [`BearerLayer`](crate::BearerLayer) runs before every request to the routes it wraps (the MCP
//! endpoint is one route, so one layer guards every MCP request, as MCP requires):
//!
//! 1. Header lines whose repetition changes meaning are refused: more than one `Origin`
//!    (`403`); a transfer coding other than `chunked`, an absolute-form target naming another
//!    host than `Host`, a missing, repeated or invalid `Host` in HTTP/1.1 (`400`, RFC 9112).
//! 2. A present `Origin` outside the configured allow-list gets `403` before any token check
//!    (MCP's Streamable HTTP transport: Origin validation).
//! 3. `OPTIONS` is answered with `204` and CORS headers, never authenticated (browsers send
//!    CORS preflights without credentials).
//! 4. The token is taken from the `Authorization` header only ([`extract_bearer`], RFC 6750
//!    §2.1, MCP's token requirements): none → `401` with a challenge without error code;
//!    malformed → `400 invalid_request` (both RFC 6750 §3.1). A resource that accepts DPoP
//!    reads `Authorization: DPoP` by the same rule, and checks its proof ([`crate::dpop`]).
//! 5. The resource's verifier checks it: invalid → `401 invalid_token` (RFC 6750 §3.1); the
//!    authorization server is unreachable → `503` with `Retry-After`, so clients do not loop
//!    into re-authorization.
//! 6. The layer's required scopes (all of them, with the resource's scope hierarchy, as MCP
//!    requires): missing → `403 insufficient_scope` with every scope the operation needs plus
//!    the granted baseline scopes (RFC 6750 §3.1, MCP's scope challenge handling).
//! 7. The verified token goes into the request extensions, where [`Auth`](crate::Auth) finds
//!    it, and the request proceeds. A clone of the [`AuthInfo`](crate::AuthInfo) is inserted
//!    there too, for code that reads extensions directly (`Extension<AuthInfo>` in axum,
//!    `parts.extensions` in an rmcp tool, see `mcp_auth::rmcp` with the `rmcp` feature). In MCP
//!    mode the JSON-RPC body is checked first ([`crate::mcp`]).
//!
//! Every refusal of the credentials (`400`, `401`, `403`) carries one `Bearer` challenge
//! ([`BearerChallenge`]) with the absolute `resource_metadata` URL (RFC 6750 §3, RFC 9728 §5.1),
//! followed by a `DPoP` challenge when the resource accepts DPoP, or that `DPoP` challenge alone
//! when it requires DPoP ([`DpopChallenge`](crate::dpop::DpopChallenge), RFC 9449 §7.1); a JSON
//! body without token material
//! ([`AuthRejection::default_body`](crate::AuthRejection::default_body), or the layer's
//! [`ErrorBodyHook`]), and the CORS headers a browser client needs to read the challenge.
//!
//! A handler reached without the layer, or behind another resource's, gets a `500` from its
//! extractor ([`MissingAuthLayer`]), never an anonymous request; a token without the scopes of
//! `#[requires_scope]` gets the same `403` from the extractor ([`ScopeRejection`]).

pub use crate::bearer::{BearerOutcome, MalformedCredentials, extract_bearer};
pub use crate::challenge::BearerChallenge;
pub use crate::extract::{MissingAuthLayer, ScopeRejection};
pub use crate::pipeline::{BearerFuture, BearerService};
pub use crate::rejection::ErrorBodyHook;
