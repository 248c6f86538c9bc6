//! The servers of the load benchmark (`mcp-auth/benches/load.sh`), one per process:
//!
//! ```text
//! cargo run --release -p mcp-auth --example load_servers -- MODE PORT TOKEN_DIR
//! ```
//!
//! MODE: `bare` (axum, no auth), `hand` (axum with a hand-written `jsonwebtoken` check, key
//! preloaded), `ours` (the bearer layer, token cache on), `ours-nocache` (cache off),
//! `mcp-ours` / `mcp-hand` (a `tools/call` of a trivial tool of a real rmcp server, stateless
//! with JSON answers as MCP 2026-07-28 has it, behind the layer in MCP mode or behind a
//! hand-written bearer check of the same cost class: a SHA-256 of the token looked up in a map of
//! verified tokens, `jsonwebtoken` for a token not seen before). ALG (`RS256` by default,
//! `ES256`, `EdDSA`) is the signing algorithm of the tokens. The development authorization
//! server runs in the same process (idle after the first JWKS fetch); tokens are written to
//! TOKEN_DIR (`valid`, `forged`), then `ready` is printed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use mcp_auth::mcp::{McpAccess, Operation};
use mcp_auth::verify::TokenCacheOptions;
use mcp_auth::verify::TokenVerifier;
use mcp_auth::{ProtectedResource, ResourceServer};
use mcp_auth_dev::{AuthorizationServer, SigningAlg};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use sha2::{Digest, Sha256};

const SCOPE: &str = "read:notes";

async fn notes() -> &'static str {
    "[]"
}

/// A trivial MCP tool server.
#[derive(Clone)]
struct Echo {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Echo {
    #[tool(description = "Answers ok")]
    async fn echo(&self) -> String {
        "ok".into()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Echo {}

/// The rmcp service: stateless, JSON answers (no event stream).
fn mcp_service() -> StreamableHttpService<Echo, NeverSessionManager> {
    StreamableHttpService::new(
        || {
            Ok(Echo {
                tool_router: Echo::tool_router(),
            })
        },
        Arc::new(NeverSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_allowed_hosts(["127.0.0.1"]),
    )
}

struct Hand {
    key: DecodingKey,
    validation: Validation,
    /// `mcp-hand`: whether a verified token has the scope, by the SHA-256 of the token.
    verified: Option<Mutex<HashMap<[u8; 32], bool>>>,
}

/// The hand-written check: Bearer, `jsonwebtoken::decode` with the preloaded key, the scope.
async fn hand_check(State(hand): State<Arc<Hand>>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    // `mcp-hand` remembers each verified token by its SHA-256; `hand` decodes every request.
    let remembered = hand
        .verified
        .as_ref()
        .map(|map| (map, <[u8; 32]>::from(Sha256::digest(token))));
    let known = remembered
        .and_then(|(map, digest)| map.lock().ok().and_then(|map| map.get(&digest).copied()));
    let allowed = match known {
        Some(allowed) => allowed,
        None => {
            let Ok(data) =
                jsonwebtoken::decode::<serde_json::Value>(token, &hand.key, &hand.validation)
            else {
                return StatusCode::UNAUTHORIZED.into_response();
            };
            let allowed = has_scope(&data.claims);
            if let Some((map, digest)) = remembered
                && let Ok(mut map) = map.lock()
            {
                map.insert(digest, allowed);
            }
            allowed
        }
    };
    if allowed {
        next.run(request).await
    } else {
        StatusCode::FORBIDDEN.into_response()
    }
}

fn has_scope(claims: &serde_json::Value) -> bool {
    claims["scope"]
        .as_str()
        .is_some_and(|s| s.split(' ').any(|s| s == SCOPE))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "bare".into());
    let port: u16 = args.next().map_or(Ok(3100), |p| p.parse())?;
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let mcp = mode.starts_with("mcp-");
    let path = if mcp { "/mcp" } else { "/notes" };
    let id = format!("http://127.0.0.1:{port}{path}");
    let (alg, jwt_alg) = match std::env::var("ALG").as_deref() {
        Ok("RS256") | Err(_) => (SigningAlg::Rs256, jsonwebtoken::Algorithm::RS256),
        Ok("ES256") => (SigningAlg::Es256, jsonwebtoken::Algorithm::ES256),
        Ok("EdDSA") => (SigningAlg::EdDsa, jsonwebtoken::Algorithm::EdDSA),
        Ok(other) => return Err(format!("ALG: RS256, ES256 or EdDSA, not {other}").into()),
    };

    let idp = AuthorizationServer::builder()
        .algorithms([alg])
        .start()
        .await?;
    let valid = idp
        .token()
        .alg(alg)
        .audience(&id)
        .scopes([SCOPE])
        .expires_in(Duration::from_secs(3600))
        .mint();
    let forged = idp
        .token()
        .alg(alg)
        .audience(&id)
        .scopes([SCOPE])
        .sign_with_foreign_key()
        .mint();
    std::fs::write(dir.join("valid"), &valid)?;
    std::fs::write(dir.join("forged"), &forged)?;

    let hand = |cached: bool| -> Result<Arc<Hand>, Box<dyn std::error::Error>> {
        let kid = idp.kid_for(alg);
        let jwks = idp.jwks();
        let jwk = jwks["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
            .cloned()
            .ok_or("no jwk")?;
        let jwk: Jwk = serde_json::from_value(jwk)?;
        let mut validation = Validation::new(jwt_alg);
        validation.set_audience(&[id.as_str()]);
        validation.set_issuer(&[idp.issuer()]);
        Ok(Arc::new(Hand {
            key: DecodingKey::from_jwk(&jwk)?,
            validation,
            verified: cached.then(Mutex::default),
        }))
    };
    let ours = |cache: bool| -> Result<ResourceServer, Box<dyn std::error::Error>> {
        let options = if cache {
            TokenCacheOptions::default()
        } else {
            TokenCacheOptions::off()
        };
        Ok(ResourceServer::builder()
            .resource(
                ProtectedResource::new(&id)
                    .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                    .verify(|o| o.token_cache(options)),
            )
            .build()?)
    };
    let app = match mode.as_str() {
        "bare" => Router::new().route(path, get(notes)),
        "hand" => Router::new()
            .route(path, get(notes))
            .layer(middleware::from_fn_with_state(hand(false)?, hand_check)),
        "ours" | "ours-nocache" => {
            let auth = ours(mode == "ours")?;
            auth.resource(&id)
                .ok_or("resource")?
                .verifier()
                .verify(&valid)
                .await?;
            Router::new()
                .route(path, get(notes))
                .layer(auth.bearer(&id).required_scopes([SCOPE]))
        }
        "mcp-hand" => Router::new()
            .route_service(path, mcp_service())
            .layer(middleware::from_fn_with_state(hand(true)?, hand_check)),
        "mcp-ours" => {
            let auth = ours(true)?;
            Router::new().route_service(path, mcp_service()).layer(
                auth.bearer(&id)
                    .mcp(McpAccess::new().scopes(Operation::tool("echo"), [SCOPE])),
            )
        }
        other => return Err(format!("unknown mode {other}").into()),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("ready");
    axum::serve(listener, app).await?;
    Ok(())
}
