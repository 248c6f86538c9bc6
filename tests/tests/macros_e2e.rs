//! An axum app written only with the macros, against the development authorization server over
//! loopback: 401 without a token, 403 `insufficient_scope` on the scoped handler, 200 with the
//! right scope, metadata at the generated path; and the generated metadata constant is, byte
//! for byte, what the runtime route serves. A handler that requires a role (read from a nested
//! claim, as Keycloak puts realm roles) answers `403` without a scope challenge to a token
//! without it.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use mcp_auth::discovery::{AuthServerConfig, AuthServerMetadata};
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::{Auth, mcp_resource, requires_role, requires_scope};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_tests::challenge_parser::assert_valid_bearer;
use mcp_auth_tests::{bind, spawn};
use reqwest::StatusCode;
use tower::ServiceExt as _;

#[mcp_resource(
    id = "https://notes.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes"],
    name = "Notes",
    documentation = "https://notes.example.com/docs",
    roles = ["notes-admin"],
    role_claim = "realm_access.roles",
)]
pub struct Notes;

#[requires_scope("read:notes")]
async fn list_notes(auth: Auth<Notes>) -> String {
    format!("notes of {}", auth.subject().unwrap_or("?"))
}

#[requires_scope("write:notes")]
async fn create_note(auth: Auth<Notes>, body: String) -> String {
    format!("{} wrote {body}", auth.subject().unwrap_or("?"))
}

#[requires_scope("write:notes")]
#[requires_role("notes-admin")]
async fn purge_notes(auth: Auth<Notes>) -> String {
    format!("{} purged", auth.subject().unwrap_or("?"))
}

fn app(notes: &mcp_auth::ResourceAuth<Notes>) -> Router {
    Router::new()
        .route(
            "/notes",
            get(list_notes).post(create_note).delete(purge_notes),
        )
        .layer(notes.layer())
        .merge(notes.metadata_router())
}

#[tokio::test]
async fn generated_metadata_constant_is_what_the_route_serves() {
    // The declared issuer, given by hand: no network.
    let mut metadata = AuthServerMetadata::new("https://auth.example.com");
    metadata.jwks_uri = Some("https://auth.example.com/jwks".into());
    let notes = Notes::builder()
        .authorization_server(AuthServerConfig::from_metadata(metadata).unwrap())
        .build()
        .await
        .unwrap();
    let response = app(&notes)
        .oneshot(
            Request::get(Notes::WELL_KNOWN_PATH)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let served = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(served, Notes::METADATA_JSON.as_bytes());
    let parsed: mcp_auth::metadata::ProtectedResourceMetadata =
        serde_json::from_slice(&served).unwrap();
    assert_eq!(parsed.resource, Notes::ID);
    assert_eq!(parsed.authorization_servers, ["https://auth.example.com"]);
    assert_eq!(parsed.scopes_supported, Notes::SCOPES);
    assert_eq!(parsed.resource_name.as_deref(), Some("Notes"));
    assert_eq!(
        parsed.resource_documentation.as_deref(),
        Some("https://notes.example.com/docs")
    );
    assert_eq!(
        Notes::WELL_KNOWN_PATH,
        "/.well-known/oauth-protected-resource/mcp"
    );
}

#[tokio::test]
async fn macro_app_end_to_end_against_the_dev_server() {
    let idp = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let notes = Notes::builder()
        .id(&id)
        .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap()])
        .build()
        .await
        .unwrap();
    spawn(listener, app(&notes));
    let http = reqwest::Client::new();
    let url = format!("{origin}/notes");

    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let header = anonymous.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_valid_bearer(&header);
    assert!(header.contains(&format!(
        "resource_metadata=\"{origin}{}\"",
        Notes::WELL_KNOWN_PATH
    )));

    let reader = idp
        .token()
        .audience(&id)
        .scopes(["read:notes"])
        .subject("alice")
        .mint();
    let listed = http.get(&url).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(listed.text().await.unwrap(), "notes of alice");

    let denied = http
        .post(&url)
        .bearer_auth(&reader)
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let header = denied.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_valid_bearer(&header);
    assert!(
        header.starts_with("Bearer error=\"insufficient_scope\", scope=\"write:notes read:notes\""),
        "{header}"
    );

    let writer = idp
        .token()
        .audience(&id)
        .scopes(["read:notes", "write:notes"])
        .subject("alice")
        .mint();
    let created = http
        .post(&url)
        .bearer_auth(&writer)
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.text().await.unwrap(), "alice wrote hi");

    // The role, from `realm_access.roles`: refused without it (no scope challenge), served with.
    let refused = http.delete(&url).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers().get("www-authenticate").is_none());
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "forbidden", "{body}");
    let top_level_roles = idp
        .token()
        .audience(&id)
        .scopes(["read:notes", "write:notes"])
        .subject("alice")
        .claim("roles", serde_json::json!(["notes-admin"]))
        .mint();
    let refused = http
        .delete(&url)
        .bearer_auth(&top_level_roles)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "the resource reads realm_access.roles, not roles"
    );
    let admin = idp
        .token()
        .audience(&id)
        .scopes(["read:notes", "write:notes"])
        .subject("alice")
        .claim(
            "realm_access",
            serde_json::json!({"roles": ["offline_access", "notes-admin"]}),
        )
        .mint();
    let purged = http.delete(&url).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(purged.status(), StatusCode::OK);
    assert_eq!(purged.text().await.unwrap(), "alice purged");

    let metadata: serde_json::Value = http
        .get(format!("{origin}{}", Notes::WELL_KNOWN_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], id.as_str());
    assert_eq!(
        metadata["authorization_servers"],
        serde_json::json!([idp.issuer()])
    );
}

#[tokio::test]
async fn a_token_for_another_resource_is_refused() {
    let idp = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let notes = Notes::builder()
        .id(&id)
        .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap()])
        .build()
        .await
        .unwrap();
    spawn(listener, app(&notes));
    let other = idp
        .token()
        .audience("https://other.example/mcp")
        .scopes(["read:notes"])
        .mint();
    let response = reqwest::Client::new()
        .get(format!("{origin}/notes"))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
