//! A protected MCP-style notes endpoint with an embedded development authorization server.
//!
//! ```text
//! cargo run --example notes
//! ```
//!
//! With no configuration it starts `mcp_auth::dev::AuthorizationServer` on loopback, protects
//! `POST /mcp` with it and prints a ready-to-use token and a curl line. To use a real
//! authorization server instead, set `MCP_AUTH_ISSUER` (its issuer identifier, discovered with
//! RFC 8414 / OpenID Connect) and optionally `MCP_RESOURCE_ID` (default
//! `http://127.0.0.1:3000/mcp`; `MCP_BIND` sets the listening address when it differs).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use mcp_auth::dev::AuthorizationServer;
use mcp_auth::{Auth, AuthServerKind, ProtectedResource, ResourceServer, fetch_server_config};
use serde_json::{Value, json};

type Notes = Arc<Mutex<Vec<String>>>;

/// A tiny JSON-RPC endpoint: `tools/list`, and `tools/call` for `list_notes`, `create_note`,
/// `whoami`. Every request reaching it was authenticated by the layer.
async fn mcp(State(notes): State<Notes>, auth: Auth, Json(request): Json<Value>) -> Json<Value> {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let result = match request["method"].as_str() {
        Some("tools/list") => json!({"tools": [
            {"name": "list_notes"}, {"name": "create_note"}, {"name": "whoami"}
        ]}),
        Some("tools/call") => match request["params"]["name"].as_str() {
            Some("list_notes") => {
                json!({"notes": *notes.lock().unwrap_or_else(|e| e.into_inner())})
            }
            Some("create_note") if auth.has_scope("write:notes") => {
                let text = request["params"]["arguments"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                notes.lock().unwrap_or_else(|e| e.into_inner()).push(text);
                json!({"created": true})
            }
            Some("create_note") => json!({"error": "write:notes required"}),
            Some("whoami") => json!({
                "subject": auth.subject(), "client_id": auth.client_id(), "scopes": auth.scopes()
            }),
            _ => json!({"error": "unknown tool"}),
        },
        _ => json!({"error": "unknown method"}),
    };
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let resource_id =
        std::env::var("MCP_RESOURCE_ID").unwrap_or_else(|_| "http://127.0.0.1:3000/mcp".into());
    let (issuer, dev) = match std::env::var("MCP_AUTH_ISSUER") {
        Ok(issuer) => (
            fetch_server_config(&issuer, AuthServerKind::Auto).await?,
            None,
        ),
        Err(_) => {
            let dev = AuthorizationServer::start().await?;
            (
                fetch_server_config(dev.issuer(), AuthServerKind::Auto).await?,
                Some(dev),
            )
        }
    };
    let auth = ResourceServer::builder()
        .resource(
            ProtectedResource::new(&resource_id)
                .authorization_server(issuer)
                .scopes_supported(["read:notes", "write:notes"])
                .resource_name("Notes"),
        )
        .build()?;
    let app = Router::new()
        .route("/mcp", post(mcp))
        .with_state(Notes::default())
        .layer(auth.bearer(&resource_id).required_scopes(["read:notes"]))
        .merge(auth.metadata_router());

    let address = url_address(&resource_id)?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let handle = auth.resource(&resource_id).ok_or("resource")?;
    println!("MCP endpoint:      {}", handle.id());
    println!("Metadata (RFC 9728): {}", handle.metadata_url());
    if let Some(dev) = &dev {
        let token = dev
            .token()
            .audience(handle.id())
            .scopes(["read:notes"])
            .subject("dev-user")
            .mint();
        println!("Authorization server (development): {}", dev.issuer());
        println!("Token with read:notes:\n  {token}");
        println!(
            "Try it:\n  curl -s -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n    -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}}' {}",
            handle.id()
        );
    }
    axum::serve(listener, app).await?;
    Ok(())
}

/// Where to listen: `MCP_BIND`, else the host and port of the resource identifier (which is
/// right for loopback URLs; behind a proxy, set `MCP_BIND`).
fn url_address(resource: &str) -> Result<String, Box<dyn std::error::Error>> {
    if let Ok(bind) = std::env::var("MCP_BIND") {
        return Ok(bind);
    }
    let url = url::Url::parse(resource)?;
    let host = url.host_str().ok_or("MCP_RESOURCE_ID must have a host")?;
    let port = url
        .port_or_known_default()
        .ok_or("MCP_RESOURCE_ID must have a port")?;
    Ok(format!("{host}:{port}"))
}
