//! An in-process development authorization server (feature `dev-server`).
//!
//! [`AuthorizationServer`] is a real OAuth 2.0 authorization server listening on
//! `127.0.0.1` at a random port. Tests talk to it over real HTTP, exactly as a resource server
//! talks to Auth0, Okta or Keycloak:
//!
//! | URL | what |
//! |---|---|
//! | `/.well-known/oauth-authorization-server{path}` | RFC 8414 metadata |
//! | `/.well-known/openid-configuration{path}`, `{path}/.well-known/openid-configuration` | OpenID Connect Discovery metadata |
//! | `{issuer}/.well-known/jwks.json` | the JWK Set (RFC 7517), `Cache-Control: max-age=300` |
//! | `POST {issuer}/token` | `client_credentials` grant (RFC 6749 §4.4), `resource` → `aud` (RFC 8707) |
//! | `POST {issuer}/introspect` | token introspection (RFC 7662) |
//!
//! The generated metadata advertises only what works: the `client_credentials` grant,
//! `client_secret_basic` and `client_secret_post` client authentication, no authorization
//! endpoint (so `response_types_supported` is empty) and no PKCE.
//!
//! Tests mint tokens without HTTP: [`AuthorizationServer::token`] builds any JWT (valid
//! RFC 9068 by default, or broken in a chosen way) and [`AuthorizationServer::opaque_token`]
//! registers a token for introspection. They can also rotate keys, count requests per path and
//! make a path fail ([`Fault`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_auth::dev::{AuthorizationServer, Fault};
//!
//! let idp = AuthorizationServer::start().await?; // 127.0.0.1, random port
//! let token = idp
//!     .token()
//!     .audience("https://api.example.com/notes")
//!     .scopes(["read:notes"])
//!     .mint();
//!
//! // The resource server under test discovers the issuer and fetches the JWKS...
//! let metadata: serde_json::Value = reqwest::get(format!(
//!     "{}/.well-known/oauth-authorization-server",
//!     idp.origin()
//! ))
//! .await?
//! .json()
//! .await?;
//! assert_eq!(metadata["issuer"], idp.issuer());
//!
//! // ...and a test checks what happens when the JWKS endpoint is down.
//! idp.set_fault(&idp.jwks_uri(), Fault::Status(503));
//! # let _ = token;
//! # Ok(()) }
//! ```

mod error;
mod fault;
mod introspect;
mod keys;
mod metadata;
mod mint;
mod routes;
mod server;

#[cfg(test)]
mod tests;

pub use error::DevServerError;
pub use fault::Fault;
pub use keys::SigningAlg;
pub use metadata::Discovery;
pub use mint::{OpaqueTokenBuilder, TokenBuilder};
pub use server::{AuthorizationServer, AuthorizationServerBuilder};
