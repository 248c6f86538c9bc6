//! For development and tests only: an in-process OAuth 2.1 authorization server to run
//! resource servers built with [`mcp_auth`] against, over real HTTP.
//!
//! # Never let it face the internet
//!
//! This server is a test double, insecure by design. Never deploy it, never make it reachable
//! from another machine, and never let a production resource server trust its issuer:
//!
//! * It approves every authorization. There is no login and no user database: with
//!   [`Consent::Auto`] (the default) every well-formed authorization request is granted at
//!   once, to the one configured [`user`](AuthorizationServerBuilder::user); with
//!   [`Consent::Page`] whoever opens the page decides. Dynamic client registration is open to
//!   anyone.
//! * It mints any token on request: [`AuthorizationServer::token`] signs whatever claims it is
//!   given with the server's keys (any subject, audience, scope or lifetime), and can also
//!   produce deliberately broken tokens (`alg: none`, foreign keys, expired, ...).
//! * Its signing keys are test keys: generated at start, kept unprotected in process memory,
//!   and used to sign whatever its API asks for.
//! * It has fault switches: [`AuthorizationServer::set_fault`] makes any path answer an error,
//!   a delay or an arbitrary body.
//! * It keeps everything in memory (clients, codes, grants, opaque tokens, request counts),
//!   without limits, and loses it when the last handle is dropped.
//! * It speaks plain HTTP on `127.0.0.1`, with no TLS and no rate limiting, and its metadata,
//!   JWKS, registration and token endpoints allow every origin (`Access-Control-Allow-Origin: *`).
//!
//! Add it as a dev-dependency (`mcp-auth-dev = "0.1"` under `[dev-dependencies]`), or use it
//! in examples that run on a developer's machine.
//!
//! # What it serves
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
//! | `POST {issuer}/register` | dynamic client registration (RFC 7591) |
//! | `GET {issuer}/authorize` | authorization endpoint: code flow with PKCE `S256` (OAuth 2.1), `resource` (RFC 8707), `iss` in the response (RFC 9207) |
//! | `POST {issuer}/authorize` | the consent form of [`Consent::Page`] |
//! | `POST {issuer}/token` | `authorization_code`, `refresh_token` (rotated) and `client_credentials` grants; token exchange (RFC 8693) and the JWT bearer grant (RFC 7523, Entra's on-behalf-of) for the clients of [`exchange_policy`](AuthorizationServerBuilder::exchange_policy); `resource` → `aud`; with a `DPoP` proof a DPoP-bound token (`cnf.jkt`, `token_type: DPoP`, RFC 9449), nonces with [`dpop_nonce`](AuthorizationServerBuilder::dpop_nonce) |
//! | `POST {issuer}/introspect` | token introspection (RFC 7662) |
//! | `/.well-known/oauth-authorization-server/{tenant}`, `/.well-known/openid-configuration/{tenant}`, `/{tenant}/.well-known/openid-configuration` | with [`tenants`](AuthorizationServerBuilder::tenants), like Microsoft Entra ID: each tenant's metadata, issuer `{origin}/{tenant}`, the server's own keys and endpoints |
//!
//! The metadata, JWKS, registration and token endpoints answer CORS requests
//! (`Access-Control-Allow-Origin: *`, preflights included), because browser-based clients such
//! as MCP Inspector call them directly. The generated metadata advertises what works and
//! nothing else: `code` as the only response type, PKCE `S256` only, the five grants, public
//! clients (`none`) and `client_secret_basic` / `client_secret_post` (and `private_key_jwt`
//! with a [client key](AuthorizationServerBuilder::introspection_client_key)), and the `iss`
//! authorization response parameter. [`validate_server_config`](mcp_auth::discovery::validate_server_config)
//! finds no error in it. No ID tokens are issued.
//!
//! DPoP clients are played by [`DpopKey`]: it makes proofs (good ones, or ones that break a
//! chosen rule of RFC 9449 §4.3 with [`ProofBuilder`]) and knows the thumbprint a bound token
//! names ([`TokenBuilder::dpop_jkt`] mints one without HTTP).
//!
//! # The authorization code flow
//!
//! A client registers (or is pre-registered with [`ClientRegistration`]), sends the user to the
//! authorization endpoint with a PKCE challenge, receives a code at its redirect URI and
//! exchanges it with the verifier. With [`Consent::Auto`] (the default) the endpoint answers a
//! valid request with the redirect at once, so a test follows it with an HTTP client that does
//! not follow redirects and reads the `Location` header. With [`Consent::Page`] a person
//! approves in a browser.
//!
//! The rules are strict on purpose: redirect URIs match a registered one exactly (string
//! equality); until the client and redirect URI are known to be right, errors are shown on a
//! page and never redirected; PKCE is always required and only `S256` is accepted; codes are
//! single-use and expire after 60 seconds of the server's clock (a replayed code revokes what
//! it issued); refresh tokens rotate on every use and may narrow, never widen, the scope; the
//! `resource`s authorized at the authorization endpoint bound the `aud` of every token of the
//! grant. Tokens get `sub` = [`AuthorizationServerBuilder::user`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use base64::Engine as _;
//! use mcp_auth_dev::AuthorizationServer;
//! use serde_json::{Value, json};
//! use sha2::Digest as _;
//!
//! let idp = AuthorizationServer::builder().user("alice").start().await?;
//! let http = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
//! let redirect_uri = "http://127.0.0.1:33418/callback";
//!
//! // 1. Dynamic client registration (RFC 7591), as a public client.
//! let client: Value = http
//!     .post(idp.registration_endpoint())
//!     .json(&json!({
//!         "redirect_uris": [redirect_uri],
//!         "client_name": "My MCP client",
//!         "grant_types": ["authorization_code", "refresh_token"],
//!         "token_endpoint_auth_method": "none",
//!     }))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! let client_id = client["client_id"].as_str().unwrap_or_default();
//!
//! // 2. The authorization request, with a PKCE S256 challenge.
//! let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"; // random in real clients
//! let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
//!     .encode(sha2::Sha256::digest(verifier.as_bytes()));
//! let resource = "https://mcp.example.com/mcp";
//! let authorize = url::Url::parse_with_params(
//!     &idp.authorization_endpoint(),
//!     [
//!         ("response_type", "code"),
//!         ("client_id", client_id),
//!         ("redirect_uri", redirect_uri),
//!         ("code_challenge", challenge.as_str()),
//!         ("code_challenge_method", "S256"),
//!         ("scope", "mcp:read"),
//!         ("state", "xyz"),
//!         ("resource", resource),
//!     ],
//! )?;
//! let response = http.get(authorize).send().await?;
//! assert_eq!(response.status(), 302);
//! let location = url::Url::parse(response.headers()["location"].to_str()?)?;
//! let param = |name: &str| {
//!     location
//!         .query_pairs()
//!         .find(|(k, _)| k == name)
//!         .map(|(_, v)| v.into_owned())
//!         .unwrap_or_default()
//! };
//! assert_eq!(param("state"), "xyz");
//! assert_eq!(param("iss"), idp.issuer());
//!
//! // 3. The token request, with the verifier.
//! let tokens: Value = http
//!     .post(idp.token_endpoint())
//!     .form(&[
//!         ("grant_type", "authorization_code"),
//!         ("code", param("code").as_str()),
//!         ("redirect_uri", redirect_uri),
//!         ("code_verifier", verifier),
//!         ("client_id", client_id),
//!         ("resource", resource),
//!     ])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(tokens["token_type"], "Bearer");
//! assert_eq!(tokens["scope"], "mcp:read");
//! assert!(tokens["refresh_token"].is_string());
//! // tokens["access_token"] is an RFC 9068 JWT: sub "alice", aud = resource, scope "mcp:read".
//! # Ok(()) }
//! ```
//!
//! Tests mint tokens without HTTP: [`AuthorizationServer::token`] builds any JWT (valid
//! RFC 9068 by default, or broken in a chosen way) and [`AuthorizationServer::opaque_token`]
//! registers a token for introspection. They can also rotate keys, count requests per path and
//! make a path fail ([`Fault`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_auth_dev::{AuthorizationServer, Fault};
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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod assertion;
mod authorize;
mod clients;
mod dpop;
mod error;
mod exchange;
mod fault;
mod grants;
mod introspect;
mod keys;
mod metadata;
mod mint;
mod register;
mod routes;
mod server;
mod token;
mod wire;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod tests;

pub use authorize::Consent;
pub use clients::ClientRegistration;
pub use dpop::{DpopKey, ProofBuilder};
pub use error::DevServerError;
pub use fault::Fault;
pub use keys::{ClientKeyPair, SigningAlg};
pub use metadata::Discovery;
pub use mint::{OpaqueTokenBuilder, TokenBuilder};
pub use server::{AuthorizationServer, AuthorizationServerBuilder};
