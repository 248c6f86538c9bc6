//! MCP mode of the bearer layer over loopback HTTP: per-operation scopes decided from the
//! JSON-RPC body before dispatch (RS-46..RS-50) and sessions bound to their user (RS-56).

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::post;
use mcp_auth::mcp::{McpAccess, Operation};
use mcp_auth::{Auth, BearerLayer, ProtectedResource, ResourceServer};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_tests::challenge_parser::assert_valid_bearer;
use mcp_auth_tests::{Spy, bind, spawn};
use reqwest::StatusCode;
use serde_json::json;

struct Mcp {
    id: String,
    idp: AuthorizationServer,
    spy: Spy,
    http: reqwest::Client,
}

impl Mcp {
    async fn start() -> Self {
        Self::start_with(|layer| layer).await
    }

    /// An MCP endpoint behind the MCP-mode layer, edited by `edit`.
    async fn start_with(edit: impl FnOnce(BearerLayer) -> BearerLayer) -> Self {
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let id = format!("{origin}/mcp");
        let auth = ResourceServer::builder()
            .resource(
                ProtectedResource::new(&id)
                    .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                    .metadata(|m| m.scopes_supported(["mcp:read"]))
                    .scope_implies("files:admin", ["files:write"]),
            )
            .build()
            .unwrap();
        let spy = Spy::default();
        let seen = spy.clone();
        // An MCP-like endpoint: echoes the body, opens a session on `initialize`.
        let endpoint = move |auth: Auth, headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.hit();
                // The echo is the request's JSON: answered as JSON, as an MCP server does.
                let mut response = (
                    [(http::header::CONTENT_TYPE, "application/json")],
                    body.clone(),
                )
                    .into_response();
                if !headers.contains_key("mcp-session-id")
                    && body.windows(10).any(|w| w == b"initialize")
                {
                    let session = format!("session-of-{}", auth.subject().unwrap_or("?"));
                    response
                        .headers_mut()
                        .insert("mcp-session-id", session.parse().unwrap());
                }
                response
            }
        };
        let scopes = McpAccess::new()
            .scopes(Operation::tool("write_file"), ["files:write"])
            .scopes(
                Operation::tool("admin_tool"),
                ["files:write", "files:admin"],
            );
        let app = Router::new()
            .route(
                "/mcp",
                post(endpoint.clone())
                    .get(endpoint.clone())
                    .delete(endpoint),
            )
            .layer(edit(
                auth.bearer(&id).required_scopes(["mcp:read"]).mcp(scopes),
            ))
            .merge(auth.metadata_router());
        spawn(listener, app);
        Self {
            id,
            idp,
            spy,
            http: reqwest::Client::new(),
        }
    }

    fn token(&self, sub: &str, scopes: &[&str]) -> String {
        self.idp
            .token()
            .audience(&self.id)
            .subject(sub)
            .scopes(scopes.iter().copied())
            .mint()
    }

    async fn call(&self, token: &str, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(&self.id)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

fn tool_call(name: &str) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}})
}

#[tokio::test]
async fn rs46_rs47_a_tool_needing_more_scope_gets_403_before_dispatch() {
    let mcp = Mcp::start().await;
    let reader = mcp.token("u1", &["mcp:read"]);
    let response = mcp.call(&reader, tool_call("write_file")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let header = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_valid_bearer(&header);
    assert!(
        header.starts_with("Bearer error=\"insufficient_scope\", scope=\"files:write mcp:read\", resource_metadata=\""),
        "{header}"
    );
    assert_eq!(mcp.spy.count(), 0, "the tool never ran");
    // RS-50: the down-scoped token still does what it covers.
    let list = mcp
        .call(
            &reader,
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(mcp.spy.count(), 1);
}

#[tokio::test]
async fn rs48_all_needed_scopes_in_one_byte_identical_challenge() {
    let mcp = Mcp::start().await;
    let reader = mcp.token("u1", &["mcp:read"]);
    let first = mcp.call(&reader, tool_call("admin_tool")).await;
    let second = mcp.call(&reader, tool_call("admin_tool")).await;
    let h1 = first.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        h1.contains("scope=\"files:write files:admin mcp:read\""),
        "{h1}"
    );
    assert_eq!(h1, second.headers()["www-authenticate"].to_str().unwrap());
}

#[tokio::test]
async fn rs49_broader_scope_satisfies_the_tool() {
    let mcp = Mcp::start().await;
    let admin = mcp.token("u1", &["mcp:read", "files:admin"]);
    assert_eq!(
        mcp.call(&admin, tool_call("write_file")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn batches_are_judged_as_a_whole_and_the_body_passes_unchanged() {
    let mcp = Mcp::start().await;
    let reader = mcp.token("u1", &["mcp:read"]);
    let mut second = tool_call("write_file");
    second["id"] = json!(2);
    let batch = json!([tool_call("read_file"), second]);
    assert_eq!(
        mcp.call(&reader, batch).await.status(),
        StatusCode::FORBIDDEN
    );
    let writer = mcp.token("u1", &["mcp:read", "files:write"]);
    let body = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_file","arguments":{"text":"é ü"}}}"#;
    let echoed = mcp
        .http
        .post(&mcp.id)
        .bearer_auth(&writer)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), StatusCode::OK);
    assert_eq!(
        echoed.text().await.unwrap(),
        body,
        "the MCP server sees the exact bytes"
    );
    let garbage = mcp
        .http
        .post(&mcp.id)
        .bearer_auth(&writer)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        garbage.status(),
        StatusCode::BAD_REQUEST,
        "fails closed on a body it cannot read"
    );
    let gzip = mcp
        .http
        .post(&mcp.id)
        .bearer_auth(&writer)
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        mcp.spy.count(),
        1,
        "only the readable request reached the server"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let mcp = Mcp::start().await;
    let reader = mcp.token("u1", &["mcp:read"]);
    let big = "x".repeat(5 * 1024 * 1024);
    let response = mcp
        .http
        .post(&mcp.id)
        .bearer_auth(&reader)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(mcp.spy.count(), 0);
}

#[tokio::test]
async fn mcp_max_body_bytes_sets_the_limit_whether_set_before_or_after_mcp_mode() {
    let scopes = McpAccess::new().scopes(Operation::tool("write_file"), ["files:write"]);
    let after = |layer: BearerLayer| layer.mcp_max_body_bytes(1024);
    let before = move |layer: BearerLayer| layer.mcp_max_body_bytes(1024).mcp(scopes);
    for mcp in [Mcp::start_with(after).await, Mcp::start_with(before).await] {
        let reader = mcp.token("u1", &["mcp:read"]);
        let padding = "x".repeat(1024);
        let response = mcp
            .call(
                &reader,
                json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"p": padding}}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let response = mcp
            .call(
                &reader,
                json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(mcp.spy.count(), 1, "only the small body reached the server");
        let writer_needed = mcp.call(&reader, tool_call("write_file")).await;
        assert_eq!(
            writer_needed.status(),
            StatusCode::FORBIDDEN,
            "still MCP mode"
        );
    }
}

#[tokio::test]
async fn rs56_a_session_is_bound_to_the_user_who_created_it() {
    let mcp = Mcp::start().await;
    let alice = mcp.token("alice", &["mcp:read"]);
    let bob = mcp.token("bob", &["mcp:read"]);
    let init = mcp
        .call(
            &alice,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
        )
        .await;
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let as_bob = mcp
        .http
        .post(&mcp.id)
        .bearer_auth(&bob)
        .header("mcp-session-id", &session)
        .json(&tool_call("read_file"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_bob.status(),
        StatusCode::NOT_FOUND,
        "never served as alice"
    );
    let calls_before = mcp.spy.count();
    let as_alice = mcp
        .http
        .post(&mcp.id)
        .bearer_auth(&alice)
        .header("mcp-session-id", &session)
        .json(&tool_call("read_file"))
        .send()
        .await
        .unwrap();
    assert_eq!(as_alice.status(), StatusCode::OK);
    assert_eq!(mcp.spy.count(), calls_before + 1);
    let no_token = mcp
        .http
        .post(&mcp.id)
        .header("mcp-session-id", &session)
        .json(&tool_call("read_file"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_token.status(),
        StatusCode::UNAUTHORIZED,
        "a session is never authentication"
    );
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let r = mcp
            .http
            .request(method.clone(), &mcp.id)
            .header("mcp-session-id", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "RS-32: {method} needs the token too"
        );
    }
}

impl Mcp {
    async fn raw_post(&self, token: &str, body: &str) -> reqwest::Response {
        self.http
            .post(&self.id)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn rs46_ambiguous_messages_with_duplicate_member_names_are_refused_before_any_scope_decision()
{
    let mcp = Mcp::start().await;
    let reader = mcp.token("u1", &["mcp:read"]);
    let admin = mcp.token("u2", &["mcp:read", "files:admin"]);
    let bodies = [
        // `name` twice: the last one would pass for a tool that needs no scope.
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","name":"read_file","arguments":{}}}"#,
        // `method` twice.
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file"},"method":"tools/list"}"#,
        // `params` twice.
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file"},"params":{"name":"read_file"}}"#,
        // `id` twice.
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/list"}"#,
        // Inside a batch entry.
        r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_file","name":"read_file"}}]"#,
        // Deeper, and spelled with an escape.
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"a","p\u0061th":"b"}}}"#,
    ];
    for body in bodies {
        for token in [&reader, &admin] {
            let response = mcp.raw_post(token, body).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
            assert!(response.headers().get("www-authenticate").is_none());
            let error: serde_json::Value = response.json().await.unwrap();
            assert_eq!(error["jsonrpc"], "2.0", "{error}");
            assert_eq!(error["error"]["code"], -32600, "{error}");
        }
    }
    assert_eq!(mcp.spy.count(), 0, "the handler never ran");
    // The same messages without the duplicates are served as usual.
    let fine = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{}}}"#;
    assert_eq!(mcp.raw_post(&reader, fine).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_content_encoding_lines_are_refused_like_a_compressed_body() {
    let mcp = Mcp::start().await;
    let token = mcp.token("u1", &["mcp:read", "files:write"]);
    for second in ["gzip", "identity"] {
        let response = mcp
            .http
            .post(&mcp.id)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("content-encoding", "identity")
            .header("content-encoding", second)
            .body(tool_call("write_file").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "identity + {second}"
        );
    }
    // One `identity` line is still fine.
    let response = mcp
        .http
        .post(&mcp.id)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("content-encoding", "identity")
        .body(tool_call("write_file").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(mcp.spy.count(), 1);
}

#[tokio::test]
async fn a_body_that_cannot_be_read_is_400_and_only_an_oversized_one_413() {
    let mcp = Mcp::start().await;
    let token = mcp.token("u1", &["mcp:read"]);
    let origin = mcp.id.trim_end_matches("/mcp").to_owned();
    let head = |framing: &str| {
        format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n{framing}\r\n",
            origin.trim_start_matches("http://")
        )
    };
    // A malformed chunk size.
    let bad_chunk = format!(
        "{}zz\r\n{{}}\r\n0\r\n\r\n",
        head("Transfer-Encoding: chunked\r\n")
    );
    assert_eq!(
        mcp_auth_tests::raw_status(&origin, bad_chunk.as_bytes(), false).await,
        400
    );
    // A body shorter than its Content-Length (the client closes its side).
    let truncated = format!("{}{{\"jsonrpc\"", head("Content-Length: 100\r\n"));
    assert_eq!(
        mcp_auth_tests::raw_status(&origin, truncated.as_bytes(), true).await,
        400
    );
    // Over the limit: 413.
    let big = format!("[{}]", vec!["1"; 3 * 1024 * 1024].join(","));
    let response = mcp.raw_post(&token, &big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(mcp.spy.count(), 0);
}
