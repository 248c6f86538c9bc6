//! A plain axum API (not MCP) protected with the macros.
//!
//! ```text
//! cargo run --example api
//! ```
//!
//! Without configuration it starts the development authorization server and prints tokens; with
//! `API_ISSUER=https://your-issuer` it discovers and trusts that issuer instead (the issuer is
//! read at start-up and checked with the same rules the macro applies to literals).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::{Auth, mcp_resource, requires_scope};
use mcp_auth_dev::AuthorizationServer;

#[mcp_resource(
    id = env("API_RESOURCE_ID", default = "http://127.0.0.1:3001/notes"),
    issuer = env("API_ISSUER", default = "http://127.0.0.1:9999"),
    scopes = ["read:notes", "write:notes"],
    name = "Notes API",
)]
pub struct NotesApi;

type Notes = Arc<Mutex<Vec<String>>>;

#[requires_scope("read:notes")]
async fn list(State(notes): State<Notes>, _auth: Auth<NotesApi>) -> Json<Vec<String>> {
    Json(notes.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

#[requires_scope("write:notes")]
async fn create(State(notes): State<Notes>, auth: Auth<NotesApi>, text: String) -> String {
    let who = auth.subject().unwrap_or("someone").to_owned();
    notes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("{who}: {text}"));
    "created\n".to_owned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut builder = NotesApi::builder();
    let dev = if std::env::var_os("API_ISSUER").is_none() {
        let dev = AuthorizationServer::start().await?;
        builder = builder.replace_authorization_servers([fetch_server_config(
            dev.issuer(),
            DiscoveryKind::Auto,
        )
        .await?]);
        Some(dev)
    } else {
        None
    };
    let api = builder.build().await?;
    let app = Router::new()
        .route("/notes", get(list).post(create))
        .with_state(Notes::default())
        .layer(api.layer())
        .merge(api.metadata_router());

    let url = url::Url::parse(api.id())?;
    let bind = format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port_or_known_default().unwrap_or(80)
    );
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("Notes API:  {}", api.id());
    println!("Metadata:   {}", api.metadata_url());
    if let Some(dev) = &dev {
        let read = dev.token().audience(api.id()).scopes(["read:notes"]).mint();
        let write = dev
            .token()
            .audience(api.id())
            .scopes(["read:notes", "write:notes"])
            .mint();
        println!(
            "Read:   curl -s -H 'Authorization: Bearer {read}' {}",
            api.id()
        );
        println!(
            "Write:  curl -s -H 'Authorization: Bearer {write}' -d 'hello' {}",
            api.id()
        );
        println!(
            "403:    curl -si -H 'Authorization: Bearer {read}' -d 'hello' {}",
            api.id()
        );
    }
    axum::serve(listener, app).await?;
    Ok(())
}
