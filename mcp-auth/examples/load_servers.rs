//! The servers of the load benchmark (`mcp-auth/benches/load.sh`), one per process:
//!
//! ```text
//! cargo run --release -p mcp-auth --example load_servers -- MODE PORT TOKEN_DIR
//! ```
//!
//! MODE: `bare` (axum, no auth), `hand` (axum with a hand-written `jsonwebtoken` check, key
//! preloaded), `ours` (the bearer layer, token cache on), `ours-nocache` (cache off),
//! `mcp-ours` / `mcp-hand` (a JSON-RPC `tools/call` of a trivial tool, behind the layer in MCP
//! mode or behind the hand-written check). The development authorization server runs in the same
//! process (idle after the first JWKS fetch); tokens are written to TOKEN_DIR (`valid`,
//! `forged`), then `ready` is printed.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use mcp_auth::mcp::McpScopes;
use mcp_auth::verify::TokenCacheOptions;
use mcp_auth::{ProtectedResource, ResourceServer, TokenVerifier};
use mcp_auth_dev::{AuthorizationServer, SigningAlg};

const SCOPE: &str = "read:notes";

async fn notes() -> &'static str {
    "[]"
}

/// A trivial MCP tool: parses the JSON-RPC request and answers its id.
async fn tool_call(body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let reply = serde_json::json!({
        "jsonrpc": "2.0",
        "id": request["id"],
        "result": {"content": [{"type": "text", "text": "ok"}], "isError": false},
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        reply.to_string(),
    )
        .into_response()
}

struct Hand {
    key: DecodingKey,
    validation: Validation,
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
    match jsonwebtoken::decode::<serde_json::Value>(token, &hand.key, &hand.validation) {
        Ok(data)
            if data.claims["scope"]
                .as_str()
                .is_some_and(|s| s.split(' ').any(|s| s == SCOPE)) =>
        {
            next.run(request).await
        }
        Ok(_) => StatusCode::FORBIDDEN.into_response(),
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
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

    let idp = AuthorizationServer::builder()
        .algorithms([SigningAlg::Rs256])
        .start()
        .await?;
    let valid = idp
        .token()
        .audience(&id)
        .scopes([SCOPE])
        .expires_in(Duration::from_secs(3600))
        .mint();
    let forged = idp
        .token()
        .audience(&id)
        .scopes([SCOPE])
        .sign_with_foreign_key()
        .mint();
    std::fs::write(dir.join("valid"), &valid)?;
    std::fs::write(dir.join("forged"), &forged)?;

    let hand = || -> Result<Arc<Hand>, Box<dyn std::error::Error>> {
        let kid = idp.kid_for(SigningAlg::Rs256);
        let jwks = idp.jwks();
        let jwk = jwks["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
            .cloned()
            .ok_or("no jwk")?;
        let jwk: Jwk = serde_json::from_value(jwk)?;
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[id.as_str()]);
        validation.set_issuer(&[idp.issuer()]);
        Ok(Arc::new(Hand {
            key: DecodingKey::from_jwk(&jwk)?,
            validation,
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
            .layer(middleware::from_fn_with_state(hand()?, hand_check)),
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
            .route(path, post(tool_call))
            .layer(middleware::from_fn_with_state(hand()?, hand_check)),
        "mcp-ours" => {
            let auth = ours(true)?;
            Router::new()
                .route(path, post(tool_call))
                .layer(auth.bearer(&id).mcp(McpScopes::new().tool("echo", [SCOPE])))
        }
        other => return Err(format!("unknown mode {other}").into()),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("ready");
    axum::serve(listener, app).await?;
    Ok(())
}
