//! A fixed number of requests through one hot path, for instruction counts that do not depend
//! on the machine's load (`valgrind --tool=callgrind`):
//!
//! ```text
//! cargo bench -p mcp-auth --bench hot_path --no-run
//! valgrind --tool=callgrind --toggle-collect='*hot_path*measured*' \
//!     target/release/deps/hot_path-* SCENARIO N
//! ```
//!
//! SCENARIO: `layer-cached` (a repeated valid token through the bearer layer and a trivial
//! handler), `layer-forged` (a repeated forged token), `layer-garbage` (random garbage tokens),
//! `no-layer` (the handler alone), `verify-cached` (the verifier alone, cache hit), `layer-mcp`
//! (a `tools/call` through the layer in MCP mode, a cached token, a handler that answers a
//! JSON-RPC result) and `scope-mcp` (the same request and handler behind the layer's scope
//! check alone). Only the loop is counted (the setup generates keys, whose cost varies): divide
//! by N.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::{get, post};
use mcp_auth::mcp::{McpAccess, Operation};
use mcp_auth::verify::TokenCacheOptions;
use mcp_auth::verify::TokenVerifier;
use mcp_auth::{ProtectedResource, ResourceServer};
use mcp_auth_dev::{AuthorizationServer, SigningAlg};
use tower::ServiceExt as _;

const RESOURCE: &str = "https://mcp.example.com/mcp";

/// A request to the resource with `token`, a Bearer token.
fn to_resource(method: &str, token: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(RESOURCE)
        .header("host", "mcp.example.com")
        .header("authorization", format!("Bearer {token}"))
}

fn request(token: &str) -> Request<Body> {
    to_resource("GET", token)
        .body(Body::empty())
        .expect("request")
}

/// The `tools/call` of the MCP scenarios.
const CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;

fn mcp_request(token: &str) -> Request<Body> {
    to_resource("POST", token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Body::from(CALL))
        .expect("request")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "--list" || a == "--test" || a == "--bench")
    {
        return; // `cargo bench` / `cargo test` probing
    }
    let scenario = args.first().map_or("layer-cached", String::as_str);
    let n: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    // Setup here, the measured loop on a thread of its own with a current-thread runtime.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let idp = rt
        .block_on(
            AuthorizationServer::builder()
                .algorithms([SigningAlg::Rs256])
                .start(),
        )
        .expect("dev server");
    let token = idp.token().audience(RESOURCE).scopes(["mcp:read"]).mint();
    let forged = idp
        .token()
        .audience(RESOURCE)
        .scopes(["mcp:read"])
        .sign_with_foreign_key()
        .mint();
    let auth = ResourceServer::builder()
        .resource(
            ProtectedResource::new(RESOURCE)
                .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                .verify(|o| o.token_cache(TokenCacheOptions::default())),
        )
        .build()
        .expect("resource server");
    let app = Router::new()
        .route("/mcp", get(|| async { "ok" }))
        .layer(auth.bearer(RESOURCE).required_scopes(["mcp:read"]));
    let bare = Router::new().route("/mcp", get(|| async { "ok" }));
    let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}],"isError":false}}"#;
    let handler = post(move || async move { ([("content-type", "application/json")], answer) });
    let mcp = Router::new().route("/mcp", handler.clone()).layer(
        auth.bearer(RESOURCE)
            .mcp(McpAccess::new().scopes(Operation::tool("echo"), ["mcp:read"])),
    );
    let scope_mcp = Router::new()
        .route("/mcp", handler)
        .layer(auth.bearer(RESOURCE).required_scopes(["mcp:read"]));
    let verifier = auth
        .resource(RESOURCE)
        .expect("resource")
        .verifier()
        .clone();
    // Warm up: keys fetched, token and forged token cached, every layer used once.
    rt.block_on(async {
        for (service, request, status) in [
            (&app, request(&token), 200),
            (&app, request(&forged), 401),
            (&mcp, mcp_request(&token), 200),
            (&scope_mcp, mcp_request(&token), 200),
        ] {
            let response = service.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), status);
        }
    });
    let garbage: Vec<String> = (0..n)
        .map(|i| format!("eyJ{i:x}.eyJ{i:x}zz.{i:x}sig"))
        .collect();
    let scenario = scenario.to_owned();
    let looped = move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        measured(
            &rt,
            Box::pin(async {
                for i in 0..n {
                    let (service, request, status) = match scenario.as_str() {
                        "layer-cached" => (&app, request(&token), 200),
                        "layer-forged" => (&app, request(&forged), 401),
                        "layer-garbage" => (&app, request(&garbage[i as usize]), 401),
                        "no-layer" => (&bare, request(&token), 200),
                        "layer-mcp" => (&mcp, mcp_request(&token), 200),
                        "scope-mcp" => (&scope_mcp, mcp_request(&token), 200),
                        "verify-cached" => {
                            verifier.verify(&token).await.expect("verifies");
                            continue;
                        }
                        other => panic!("unknown scenario {other}"),
                    };
                    let response = service.clone().oneshot(request).await.expect("infallible");
                    assert_eq!(response.status(), status);
                }
            }),
        );
    };
    std::thread::Builder::new()
        .name("measured".into())
        .spawn(looped)
        .expect("thread")
        .join()
        .expect("measured loop");
}

/// The measured loop, by name: `--toggle-collect='*hot_path*measured*'` counts it alone.
#[inline(never)]
fn measured(rt: &tokio::runtime::Runtime, work: std::pin::Pin<Box<dyn Future<Output = ()> + '_>>) {
    rt.block_on(work);
    // Not a tail call, so that the profiler sees the function return.
    std::hint::black_box(());
}
