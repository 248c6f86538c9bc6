//! The downstream API of the notes example: a small backup service at
//! `http://127.0.0.1:3001/backup` (`POST`), protected by mcp-auth as a resource of its own. The
//! notes server's tool `backup_notes` calls it with a token exchanged for its audience (RFC
//! 8693); the client's own token, whose audience is the MCP server, is refused here (`401`).
//!
//! It answers a receipt with what it saw of the token: its `sub` (the user), its `aud` (this
//! API) and its `act` (the MCP server that acts for the user).

use axum::routing::post;
use axum::{Json, Router};
use mcp_auth::discovery::AuthServerConfig;
use mcp_auth::{Auth, ConfigError, ProtectedResource, ResourceServer};
use serde_json::{Value, json};

/// Where the backup API listens, and its resource identifier.
pub const BACKUP_URL: &str = "http://127.0.0.1:3001/backup";

/// The backup API at the identifier `id` (its path is the route), trusting the authorization
/// server `issuer`.
///
/// # Errors
///
/// The identifier or the server's configuration is not usable.
pub fn backup_app(id: &str, issuer: AuthServerConfig) -> Result<Router, ConfigError> {
    let server = ResourceServer::builder()
        .resource(ProtectedResource::new(id).authorization_server(issuer))
        .build()?;
    let path = url::Url::parse(id)
        .map(|url| url.path().to_owned())
        .unwrap_or_else(|_| "/backup".to_owned());
    Ok(Router::new()
        .route(&path, post(receipt))
        .layer(server.bearer(id))
        .merge(server.metadata_router()))
}

/// The receipt: how many notes were received, and the `sub`, `aud` and `act` of the token.
async fn receipt(auth: Auth, Json(body): Json<Value>) -> Json<Value> {
    let notes = body["notes"].as_array().map_or(0, Vec::len);
    Json(json!({
        "received": notes,
        "sub": auth.subject(),
        "aud": auth.audiences(),
        "act": auth.claims().get("act"),
    }))
}
