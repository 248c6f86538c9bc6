//! Verification cost, per algorithm (RS256, ES256, EdDSA): our verifier cold (token cache off:
//! every RFC 9068 check, keys cached) and cached, next to a bare `jsonwebtoken::decode` with a
//! preloaded key; the bearer layer in front of a trivial handler against the handler alone;
//! rejections (random garbage, a repeated forged token); MCP mode with a 1 KB and a 1 MB
//! `tools/call` body (the JSON-RPC peek); DPoP (RFC 9449): proof verification per algorithm,
//! and a DPoP request against a Bearer request through the layer.
//!
//! Run: `cargo bench -p mcp-auth --bench verify -- --warm-up-time 1 --measurement-time 3`
//!
//! The cost of a downstream token from the cache: `-- downstream/` (`cache-hit` against
//! `without`), to compare with `verify/cached/*`.
//!
//! The cost of the metrics (feature `metrics`, with the Prometheus recorder installed), as
//! criterion's change against a baseline without them:
//!
//! ```text
//! cargo bench -p mcp-auth --bench verify -- service/ --save-baseline metrics-off
//! cargo bench -p mcp-auth --bench verify --features metrics -- service/ --baseline metrics-off
//! ```

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::{get, post};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use mcp_auth::mcp::{McpAccess, Operation};
use mcp_auth::verify::TokenVerifier;
use mcp_auth::verify::{JwtVerifier, TokenCacheOptions, VerifyOptions};
use mcp_auth::{ProtectedResource, ResourceServer};
use mcp_auth_dev::{AuthorizationServer, SigningAlg};
use tower::ServiceExt as _;

const RESOURCE: &str = "https://mcp.example.com/mcp";

fn verifier(idp: &AuthorizationServer, cache: TokenCacheOptions) -> JwtVerifier {
    JwtVerifier::builder()
        .resource(RESOURCE)
        .issuer(idp.issuer(), idp.jwks_uri())
        .options(VerifyOptions::default().token_cache(cache))
        .build()
        .expect("verifier")
}

fn bench_verify(c: &mut Criterion, rt: &tokio::runtime::Runtime, idp: &AuthorizationServer) {
    let cold = verifier(idp, TokenCacheOptions::off());
    let cached = verifier(idp, TokenCacheOptions::default());
    let jwks = idp.jwks();
    let mut group = c.benchmark_group("verify");
    for (alg, name) in [
        (SigningAlg::Rs256, "RS256"),
        (SigningAlg::Es256, "ES256"),
        (SigningAlg::EdDsa, "EdDSA"),
    ] {
        let token = idp
            .token()
            .audience(RESOURCE)
            .scopes(["mcp:read"])
            .alg(alg)
            .mint();
        // Warm the key caches: the benchmark measures the steady state.
        rt.block_on(cold.verify(&token)).expect("token verifies");
        rt.block_on(cached.verify(&token)).expect("token verifies");
        group.bench_function(format!("cold/{name}"), |b| {
            b.iter(|| rt.block_on(cold.verify(&token)).expect("verifies"));
        });
        group.bench_function(format!("cached/{name}"), |b| {
            b.iter(|| rt.block_on(cached.verify(&token)).expect("verifies"));
        });

        let kid = idp.kid_for(alg);
        let jwk: Jwk = serde_json::from_value(
            jwks["keys"]
                .as_array()
                .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
                .cloned()
                .expect("jwk of the kid"),
        )
        .expect("jwk parses");
        let key = DecodingKey::from_jwk(&jwk).expect("decoding key");
        let mut validation = Validation::new(alg.algorithm());
        validation.set_audience(&[RESOURCE]);
        validation.set_issuer(&[idp.issuer()]);
        jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).expect("bare decode");
        group.bench_function(format!("jsonwebtoken/{name}"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation)
                    .expect("decodes")
            });
        });
    }
    group.finish();
}

/// A static API key of 40 characters (a typical generated key).
const API_KEY: &str = "mk_live_4fT9qZ2xW7nR1pL8vB3cY6hJ0sD5gK2a";

fn server(idp: &AuthorizationServer, cache: TokenCacheOptions) -> ResourceServer {
    ResourceServer::builder()
        .resource(
            ProtectedResource::new(RESOURCE)
                .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                .verify(|o| o.token_cache(cache)),
        )
        .build()
        .expect("resource server")
}

fn request(method: &str, token: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(RESOURCE)
        // HTTP/1.1 requests need a Host (RFC 9112 §3.2): the layer refuses them without one.
        .header("host", "mcp.example.com")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body)
        .expect("request")
}

fn bench_service(c: &mut Criterion, rt: &tokio::runtime::Runtime, idp: &AuthorizationServer) {
    let token = idp.token().audience(RESOURCE).scopes(["mcp:read"]).mint();
    let forged = idp
        .token()
        .audience(RESOURCE)
        .scopes(["mcp:read"])
        .sign_with_foreign_key()
        .mint();
    let bare = Router::new().route("/mcp", get(|| async { "ok" }));
    let mut group = c.benchmark_group("service");
    for (name, cache) in [
        ("cached", TokenCacheOptions::default()),
        ("cold", TokenCacheOptions::off()),
    ] {
        let auth = server(idp, cache);
        let app = Router::new()
            .route("/mcp", get(|| async { "ok" }))
            .layer(auth.bearer(RESOURCE).required_scopes(["mcp:read"]));
        let ok = rt.block_on(app.clone().oneshot(request("GET", &token, Body::empty())));
        assert_eq!(ok.expect("infallible").status(), 200);
        group.bench_function(format!("layer/{name}"), |b| {
            b.iter(|| {
                rt.block_on(app.clone().oneshot(request("GET", &token, Body::empty())))
                    .expect("infallible")
            });
        });
        group.bench_function(format!("reject-forged-repeated/{name}"), |b| {
            b.iter(|| {
                let response = rt
                    .block_on(app.clone().oneshot(request("GET", &forged, Body::empty())))
                    .expect("infallible");
                assert_eq!(response.status(), 401);
            });
        });
        let mut n = 0u64;
        group.bench_function(format!("reject-garbage/{name}"), |b| {
            b.iter(|| {
                n += 1;
                let garbage = format!("eyJ{n:x}.eyJ{n:x}zz.{n:x}sig");
                let response = rt
                    .block_on(app.clone().oneshot(request("GET", &garbage, Body::empty())))
                    .expect("infallible");
                assert_eq!(response.status(), 401);
            });
        });
    }
    // A static API key: one SHA-256 and one probe, as a cached token.
    let keyed = Router::new().route("/mcp", get(|| async { "ok" })).layer(
        ResourceServer::builder()
            .resource(
                ProtectedResource::new(RESOURCE)
                    .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                    .api_keys(
                        mcp_auth::verify::ApiKeys::new()
                            .try_key(
                                mcp_auth::verify::ApiKey::from_secret(API_KEY, "ci-bot")
                                    .scopes(["mcp:read"]),
                            )
                            .expect("key"),
                    ),
            )
            .build()
            .expect("resource server")
            .bearer(RESOURCE)
            .required_scopes(["mcp:read"]),
    );
    let ok = rt.block_on(
        keyed
            .clone()
            .oneshot(request("GET", API_KEY, Body::empty())),
    );
    assert_eq!(ok.expect("infallible").status(), 200);
    group.bench_function("layer/api-key", |b| {
        b.iter(|| {
            rt.block_on(
                keyed
                    .clone()
                    .oneshot(request("GET", API_KEY, Body::empty())),
            )
            .expect("infallible")
        });
    });
    group.bench_function("no-layer", |b| {
        b.iter(|| {
            rt.block_on(bare.clone().oneshot(request("GET", &token, Body::empty())))
                .expect("infallible")
        });
    });
    group.finish();

    // MCP mode: the layer reads the JSON-RPC body to decide the tool's scopes.
    let auth = server(idp, TokenCacheOptions::default());
    let mcp = Router::new()
        .route(
            "/mcp",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .layer(
            auth.bearer(RESOURCE)
                .mcp(McpAccess::new().scopes(Operation::tool("echo"), ["mcp:read"])),
        );
    let mut group = c.benchmark_group("mcp-peek");
    for (label, size) in [("1KB", 1024usize), ("1MB", 1024 * 1024)] {
        let head = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":""#;
        let tail = r#""}}}"#;
        let body = format!(
            "{head}{}{tail}",
            "x".repeat(size.saturating_sub(head.len() + tail.len()))
        );
        let ok = rt
            .block_on(
                mcp.clone()
                    .oneshot(request("POST", &token, Body::from(body.clone()))),
            )
            .expect("infallible");
        assert_eq!(ok.status(), 200, "tools/call passes the layer");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("tools/call", label), &body, |b, body| {
            b.iter(|| {
                rt.block_on(
                    mcp.clone()
                        .oneshot(request("POST", &token, Body::from(body.clone()))),
                )
                .expect("infallible")
            });
        });
    }
    group.finish();
}

/// Per-operation authorization: a `tools/list` answer of 100 tools (half of them needing a scope
/// the token lacks) filtered for the caller, against the same answer passed whole; and the
/// decision for one request against a table of 100 tools, 10 resource templates and roles.
fn bench_access(c: &mut Criterion, rt: &tokio::runtime::Runtime, idp: &AuthorizationServer) {
    let token = idp.token().audience(RESOURCE).scopes(["mcp:read"]).mint();
    let tools: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            serde_json::json!({
                "name": format!("tool_{i}"),
                "description": "A tool with a schema of typical size",
                "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
            })
        })
        .collect();
    let list =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": tools}}).to_string();
    let table = (0..100).fold(McpAccess::new(), |access, i| {
        let scope = if i % 2 == 0 { "mcp:read" } else { "mcp:write" };
        access.scopes(Operation::tool(format!("tool_{i}")), [scope])
    });
    let table = (0..10).fold(table, |access, i| {
        access.scopes(
            Operation::resource_template(&format!("notes://kind{i}/{{id}}")).expect("template"),
            ["mcp:read"],
        )
    });
    let table = table.roles(mcp_auth::mcp::Operation::tool("tool_99"), ["admin"]);
    let auth = server(idp, TokenCacheOptions::default());
    let mut group = c.benchmark_group("mcp-access");
    for (name, access) in [
        ("filtered", table.clone()),
        ("shown-whole", table.clone().show_all_in_lists()),
    ] {
        let answer = list.clone();
        let app = Router::new()
            .route(
                "/mcp",
                post(move || {
                    let answer = answer.clone();
                    async move { ([("content-type", "application/json")], answer) }
                }),
            )
            .layer(auth.bearer(RESOURCE).mcp(access));
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let shown = rt
            .block_on(
                app.clone()
                    .oneshot(request("POST", &token, Body::from(body))),
            )
            .expect("infallible");
        assert_eq!(shown.status(), 200);
        group.bench_function(format!("tools-list-100/{name}"), |b| {
            b.iter(|| {
                rt.block_on(
                    app.clone()
                        .oneshot(request("POST", &token, Body::from(body))),
                )
                .expect("infallible")
            });
        });
    }
    // What MCP mode costs a `tools/call` (the body read and peeked, the per-operation decision,
    // the session and task checks, the answer scanned for created tasks): the same handler
    // behind the layer with the scope required for every request.
    let body =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
    let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}],"isError":false}}"#;
    let handler = post(move || async move { ([("content-type", "application/json")], answer) });
    let echo = McpAccess::new().scopes(Operation::tool("echo"), ["mcp:read"]);
    for (name, layer) in [
        ("mcp-mode", auth.bearer(RESOURCE).mcp(echo)),
        (
            "scope-only",
            auth.bearer(RESOURCE).required_scopes(["mcp:read"]),
        ),
    ] {
        let app = Router::new().route("/mcp", handler.clone()).layer(layer);
        let ok = rt.block_on(
            app.clone()
                .oneshot(request("POST", &token, Body::from(body))),
        );
        assert_eq!(ok.expect("infallible").status(), 200);
        group.bench_function(format!("tools-call/{name}"), |b| {
            b.iter(|| {
                rt.block_on(
                    app.clone()
                        .oneshot(request("POST", &token, Body::from(body))),
                )
                .expect("infallible")
            });
        });
    }
    let call = serde_json::json!({"name": "tool_57"});
    group.bench_function("decision/tools-call", |b| {
        b.iter(|| table.needs("tools/call", &call).scopes().len());
    });
    let read = serde_json::json!({"uri": "notes://kind7/42"});
    group.bench_function("decision/resources-read-template", |b| {
        b.iter(|| table.needs("resources/read", &read).scopes().len());
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    // With the `metrics` feature, the recorder an exporter installs: every request records.
    #[cfg(feature = "metrics")]
    let _scrape = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("recorder");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let idp = rt
        .block_on(
            AuthorizationServer::builder()
                .algorithms([SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa])
                .start(),
        )
        .expect("dev server");
    bench_verify(c, &rt, &idp);
    bench_service(c, &rt, &idp);
    bench_access(c, &rt, &idp);
    bench_dpop(c, &rt, &idp);
    bench_downstream(c, &rt);
}

/// A downstream token from the cache (`mcp_auth::downstream`): a handler that asks for one,
/// against the same handler without, both behind the layer with the token cache on. The
/// difference is the cost of a hit, to compare with `verify/cached/*` (a verified-token hit).
fn bench_downstream(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    const AUDIENCE: &str = "https://backup.example.com/api";
    let idp = rt
        .block_on(
            AuthorizationServer::builder()
                .client_credentials("mcp-server", "s3cret")
                .exchange_policy("mcp-server", [AUDIENCE])
                .start(),
        )
        .expect("dev server");
    let config = rt
        .block_on(mcp_auth::discovery::fetch_server_config(
            idp.issuer(),
            mcp_auth::discovery::DiscoveryKind::Auto,
        ))
        .expect("discovery");
    let auth = ResourceServer::builder()
        .resource(
            ProtectedResource::new(RESOURCE)
                .authorization_server(config)
                .downstream(|d| {
                    d.client(mcp_auth::introspection::ClientAuth::basic(
                        "mcp-server",
                        "s3cret",
                    ))
                }),
        )
        .build()
        .expect("resource server");
    let token = idp.token().audience(RESOURCE).scopes(["mcp:read"]).mint();
    let layer = auth.bearer(RESOURCE);
    let plain = Router::new()
        .route(
            "/mcp",
            get(|auth: mcp_auth::Auth| async move {
                auth.subject().map(str::len).unwrap_or(0).to_string()
            }),
        )
        .layer(layer.clone());
    let exchanging = Router::new()
        .route(
            "/mcp",
            get(|auth: mcp_auth::Auth| async move {
                let token = auth
                    .downstream_token(AUDIENCE, &[])
                    .await
                    .expect("exchanged");
                token.secret().len().to_string()
            }),
        )
        .layer(layer);
    for app in [&plain, &exchanging] {
        let ok = rt.block_on(app.clone().oneshot(request("GET", &token, Body::empty())));
        assert_eq!(ok.expect("infallible").status(), 200);
    }
    let mut group = c.benchmark_group("downstream");
    for (name, app) in [("without", &plain), ("cache-hit", &exchanging)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(app.clone().oneshot(request("GET", &token, Body::empty())))
                    .expect("infallible")
            });
        });
    }
    group.finish();
}

/// A replay store that never remembers: isolates the proof checks from the `jti` claim.
#[derive(Debug)]
struct Forgetful;

impl mcp_auth::binding::BindingStore for Forgetful {
    fn claim<'a>(
        &'a self,
        _key: &'a mcp_auth::binding::BindingKey,
        owner: &'a mcp_auth::binding::Owner,
        _ttl: std::time::Duration,
    ) -> mcp_auth::binding::BoxFuture<
        'a,
        Result<mcp_auth::binding::Owner, mcp_auth::binding::StoreError>,
    > {
        Box::pin(std::future::ready(Ok(*owner)))
    }

    fn owner<'a>(
        &'a self,
        _key: &'a mcp_auth::binding::BindingKey,
    ) -> mcp_auth::binding::BoxFuture<
        'a,
        Result<Option<mcp_auth::binding::Owner>, mcp_auth::binding::StoreError>,
    > {
        Box::pin(std::future::ready(Ok(None)))
    }

    fn release<'a>(
        &'a self,
        _key: &'a mcp_auth::binding::BindingKey,
    ) -> mcp_auth::binding::BoxFuture<'a, Result<(), mcp_auth::binding::StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

fn bench_dpop(c: &mut Criterion, rt: &tokio::runtime::Runtime, idp: &AuthorizationServer) {
    use mcp_auth::dpop::{
        DpopOptions, DpopPolicy, DpopVerifier, ProofRequest, SUPPORTED_ALGORITHMS,
    };
    use mcp_auth_dev::DpopKey;

    // Proof verification alone (every §4.3 step; the jti claim goes to a store that forgets,
    // so that one proof can be checked again and again).
    let verifier = DpopVerifier::new(
        RESOURCE,
        DpopOptions::default()
            .policy(DpopPolicy::Accepted)
            .algorithms(SUPPORTED_ALGORITHMS)
            .replay_store(std::sync::Arc::new(Forgetful)),
    )
    .expect("dpop verifier");
    let token = "an.access.token";
    let mut group = c.benchmark_group("dpop-proof");
    for (alg, name) in [
        (SigningAlg::Es256, "ES256"),
        (SigningAlg::Rs256, "RS256"),
        (SigningAlg::Ps256, "PS256"),
        (SigningAlg::EdDsa, "EdDSA"),
    ] {
        let key = DpopKey::generate(alg).expect("dpop key");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "dpop",
            key.proof("POST", RESOURCE, Some(token), None)
                .parse()
                .expect("header"),
        );
        let request = ProofRequest {
            method: &http::Method::POST,
            path: "/mcp",
            access_token: Some(token),
            bound_jkt: Some(key.thumbprint()),
        };
        rt.block_on(verifier.verify(&headers, &request))
            .expect("proof verifies");
        group.bench_function(format!("verify/{name}"), |b| {
            b.iter(|| {
                rt.block_on(verifier.verify(&headers, &request))
                    .expect("verifies")
            });
        });
    }
    group.finish();

    // A DPoP request (fresh ES256 proof, made outside the measurement; the real in-memory
    // replay store) against a Bearer request, both with an ES256 token and the token cache on.
    let auth = ResourceServer::builder()
        .resource(
            ProtectedResource::new(RESOURCE)
                .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                // Room for every proof a run makes within one window (the default 100 000
                // would fill in about ten seconds of this loop, and answer 503).
                .dpop(|d| d.policy(DpopPolicy::Accepted).replay_capacity(2_000_000)),
        )
        .build()
        .expect("resource server");
    let app = Router::new()
        .route("/mcp", get(|| async { "ok" }))
        .layer(auth.bearer(RESOURCE).required_scopes(["mcp:read"]));
    let key = DpopKey::generate_es256();
    let bound = idp
        .token()
        .audience(RESOURCE)
        .scopes(["mcp:read"])
        .alg(SigningAlg::Es256)
        .dpop_jkt(key.thumbprint())
        .mint();
    let bearer = idp
        .token()
        .audience(RESOURCE)
        .scopes(["mcp:read"])
        .alg(SigningAlg::Es256)
        .mint();
    let dpop_request = |proof: String| {
        Request::builder()
            .method("GET")
            .uri(RESOURCE)
            .header("host", "mcp.example.com")
            .header("authorization", format!("DPoP {bound}"))
            .header("dpop", proof)
            .body(Body::empty())
            .expect("request")
    };
    let ok = rt
        .block_on(
            app.clone()
                .oneshot(dpop_request(key.proof("GET", RESOURCE, Some(&bound), None))),
        )
        .expect("infallible");
    assert_eq!(ok.status(), 200, "the DPoP request passes");
    let ok = rt
        .block_on(app.clone().oneshot(request("GET", &bearer, Body::empty())))
        .expect("infallible");
    assert_eq!(ok.status(), 200, "the Bearer request passes");
    let bearer_only = server(idp, TokenCacheOptions::default());
    let bearer_app = Router::new()
        .route("/mcp", get(|| async { "ok" }))
        .layer(bearer_only.bearer(RESOURCE).required_scopes(["mcp:read"]));
    let mut group = c.benchmark_group("dpop-layer");
    group.bench_function("dpop/ES256", |b| {
        b.iter_batched(
            || dpop_request(key.proof("GET", RESOURCE, Some(&bound), None)),
            |request| {
                let response = rt
                    .block_on(app.clone().oneshot(request))
                    .expect("infallible");
                assert_eq!(response.status(), 200);
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("bearer/ES256", |b| {
        b.iter_batched(
            || request("GET", &bearer, Body::empty()),
            |request| {
                let response = rt
                    .block_on(app.clone().oneshot(request))
                    .expect("infallible");
                assert_eq!(response.status(), 200);
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("bearer-only-resource/ES256", |b| {
        b.iter_batched(
            || request("GET", &bearer, Body::empty()),
            |request| {
                let response = rt
                    .block_on(bearer_app.clone().oneshot(request))
                    .expect("infallible");
                assert_eq!(response.status(), 200);
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
