//! The HTTP surface over real loopback HTTP: the RFC 9728 metadata route, the bearer layer's
//! RFC 6750 challenges, token extraction and CORS (checklist RS-01..RS-32, RS-46..RS-49,
//! RS-58..RS-60). Tokens come from the development authorization server.

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use mcp_auth::{Auth, ProtectedResource, ResourceServer};
use mcp_auth_dev::{AuthorizationServer, Fault};
use mcp_auth_tests::challenge_parser::assert_valid_bearer;
use mcp_auth_tests::{Spy, bind, spawn};
use reqwest::{Client, Method, StatusCode};

/// A test app: `POST|GET|DELETE /mcp` behind the layer (requires `mcp:read`), `GET /public`
/// outside it, the metadata router, a spy on the protected handler.
struct App {
    origin: String,
    resource: String,
    prm_url: String,
    idp: AuthorizationServer,
    spy: Spy,
    http: Client,
}

impl App {
    async fn start() -> Self {
        Self::start_with(|r| r, |s| s, |l| l).await
    }

    async fn start_with(
        resource: impl FnOnce(ProtectedResource) -> ProtectedResource,
        server: impl FnOnce(mcp_auth::ResourceServerBuilder) -> mcp_auth::ResourceServerBuilder,
        layer: impl FnOnce(mcp_auth::BearerLayer) -> mcp_auth::BearerLayer,
    ) -> Self {
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let id = format!("{origin}/mcp");
        let auth = server(
            ResourceServer::builder().resource(resource(
                ProtectedResource::new(&id)
                    .issuer_with_jwks(idp.issuer(), idp.jwks_uri())
                    .metadata(|m| {
                        m.scopes_supported(["mcp:read"])
                            .resource_name("Example MCP")
                    })
                    .scope_implies("files:admin", ["files:write"]),
            )),
        )
        .build()
        .unwrap();
        let spy = Spy::default();
        let handler_spy = spy.clone();
        let handler = move |auth: Auth| {
            let spy = handler_spy.clone();
            async move {
                spy.hit();
                format!("hello {}", auth.subject().unwrap_or("?"))
            }
        };
        let bearer = layer(auth.bearer(&id).required_scopes(["mcp:read"]));
        let protected = Router::new()
            .route(
                "/mcp",
                post(handler.clone()).get(handler.clone()).delete(handler),
            )
            .layer(bearer);
        let app = Router::new()
            .route("/public", get(|| async { "public" }))
            .merge(auth.metadata_router())
            .merge(protected);
        spawn(listener, app);
        Self {
            prm_url: format!("{origin}/.well-known/oauth-protected-resource/mcp"),
            resource: id,
            origin,
            idp,
            spy,
            http: Client::new(),
        }
    }

    fn token(&self, scopes: &[&str]) -> String {
        self.idp
            .token()
            .audience(&self.resource)
            .scopes(scopes.iter().copied())
            .mint()
    }

    fn post(&self) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/mcp", self.origin))
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
    }

    fn prmh(&self) -> String {
        format!("resource_metadata=\"{}\"", self.prm_url)
    }
}

fn www(response: &reqwest::Response) -> String {
    let values: Vec<_> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .collect();
    assert_eq!(values.len(), 1, "exactly one WWW-Authenticate header");
    values[0].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn rs01_rs07_rs10_rs14_metadata_document() {
    let app = App::start().await;
    let response = app.http.get(&app.prm_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "max-age=3600");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body = response.text().await.unwrap();
    assert_eq!(
        body,
        format!(
            r#"{{"resource":"{}","authorization_servers":["{}"],"scopes_supported":["mcp:read"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}}"#,
            app.resource,
            app.idp.issuer()
        )
    );
    let parsed: mcp_auth::metadata::ProtectedResourceMetadata =
        serde_json::from_str(&body).unwrap();
    assert_eq!(parsed.resource, app.resource);
}

#[tokio::test]
async fn rs04_resource_comes_from_configuration_not_the_host_header() {
    let app = App::start().await;
    let response = app
        .http
        .get(&app.prm_url)
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["resource"], app.resource.as_str());
}

#[tokio::test]
async fn rs06_root_document_in_single_resource_mode_404_json_in_multi() {
    let app = App::start().await;
    let root = format!("{}/.well-known/oauth-protected-resource", app.origin);
    let single = app.http.get(&root).send().await.unwrap();
    assert_eq!(single.status(), StatusCode::OK);
    let inserted = app
        .http
        .get(&app.prm_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(single.text().await.unwrap(), inserted);

    let idp = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let auth = ResourceServer::builder()
        .resource(
            ProtectedResource::new(format!("{origin}/a"))
                .issuer_with_jwks(idp.issuer(), idp.jwks_uri()),
        )
        .resource(
            ProtectedResource::new(format!("{origin}/b"))
                .issuer_with_jwks(idp.issuer(), idp.jwks_uri()),
        )
        .build()
        .unwrap();
    spawn(listener, auth.metadata_router());
    let http = Client::new();
    let multi = http
        .get(format!("{origin}/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap();
    assert_eq!(multi.status(), StatusCode::NOT_FOUND);
    assert_eq!(multi.headers()["content-type"], "application/json");
    for path in ["a", "b"] {
        let r = http
            .get(format!(
                "{origin}/.well-known/oauth-protected-resource/{path}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn rs05_metadata_is_served_at_the_path_inserted_location() {
    let idp = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let ids = [
        format!("{origin}/public/mcp"),
        format!("{origin}/t/acme/mcp"),
    ];
    let mut builder = ResourceServer::builder();
    for id in &ids {
        builder = builder
            .resource(ProtectedResource::new(id).issuer_with_jwks(idp.issuer(), idp.jwks_uri()));
    }
    spawn(listener, builder.build().unwrap().metadata_router());
    for (id, path) in ids.iter().zip(["public/mcp", "t/acme/mcp"]) {
        let url = format!("{origin}/.well-known/oauth-protected-resource/{path}");
        let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        assert_eq!(body["resource"], id.as_str());
        let wrong = format!("{id}/.well-known/oauth-protected-resource");
        assert_eq!(
            reqwest::get(&wrong).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "never appended"
        );
    }
}

#[tokio::test]
async fn rs08_rs09_rs60_metadata_methods_and_cors() {
    let app = App::start().await;
    let head = app.http.head(&app.prm_url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let post = app.http.post(&app.prm_url).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    let preflight = app
        .http
        .request(Method::OPTIONS, &app.prm_url)
        .header("origin", "https://inspector.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "mcp-protocol-version")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("mcp-protocol-version"));
    // Public: no token, or a garbage one, still 200.
    let garbage = app
        .http
        .get(&app.prm_url)
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::OK);
    assert_eq!(app.spy.count(), 0);
}

#[tokio::test]
async fn rs16_rs19_rs20_rs25_missing_credentials() {
    let app = App::start().await;
    let response = app.post().send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let header = www(&response);
    assert_eq!(header, format!("Bearer {}, scope=\"mcp:read\"", app.prmh()));
    assert_valid_bearer(&header);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body.get("error").is_none(),
        "RFC 6750 §3.1: no error code without credentials"
    );
    assert!(body["error_description"].is_string());
    assert_eq!(app.spy.count(), 0);
}

#[tokio::test]
async fn rs18_resource_metadata_is_absolute_and_serves_the_resource() {
    let app = App::start().await;
    let header = www(&app.post().send().await.unwrap());
    let challenge = assert_valid_bearer(&header);
    let url = challenge.param("resource_metadata").unwrap();
    assert!(url::Url::parse(url).is_ok());
    let body: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(body["resource"], app.resource.as_str());
}

#[tokio::test]
async fn rs21_rs23_rs24_invalid_tokens_get_401_invalid_token() {
    let app = App::start().await;
    let idp = &app.idp;
    let r = app.resource.as_str();
    let cases = [
        (
            "expired",
            idp.token()
                .audience(r)
                .scopes(["mcp:read"])
                .expired()
                .mint(),
            "The access token expired",
        ),
        (
            "bad signature",
            idp.token()
                .audience(r)
                .scopes(["mcp:read"])
                .sign_with_foreign_key()
                .mint(),
            "The access token signature is invalid",
        ),
        (
            "wrong aud",
            idp.token()
                .audience("https://other.example/mcp")
                .scopes(["mcp:read"])
                .mint(),
            "The access token audience does not include this resource",
        ),
        (
            "wrong iss",
            idp.token()
                .audience(r)
                .issuer("https://evil.example")
                .mint(),
            "The access token was not issued by a trusted authorization server",
        ),
        (
            "wrong typ",
            idp.token().audience(r).typ(Some("JWT")).mint(),
            "The access token type (typ header) must be at+jwt",
        ),
        (
            "alg none",
            idp.token().audience(r).unsigned().mint(),
            "The access token algorithm is not accepted",
        ),
        (
            "unknown kid",
            idp.token().audience(r).kid(Some("nope")).mint(),
            "The access token was signed with an unknown key",
        ),
        (
            "garbage",
            "garbage".to_owned(),
            "The access token is malformed: a JWT has three dot-separated parts",
        ),
    ];
    for (name, token, description) in cases {
        let response = app.post().bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        let header = www(&response);
        assert_eq!(
            header,
            format!(
                "Bearer error=\"invalid_token\", error_description=\"{description}\", {}, scope=\"mcp:read\"",
                app.prmh()
            ),
            "{name}"
        );
        assert_valid_bearer(&header);
        let body = response.text().await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"], "invalid_token");
        assert!(
            !body.contains(&token) || token == "garbage",
            "{name}: body echoes the token"
        );
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            signature.len() < 8 || !body.contains(signature),
            "{name}: body echoes the signature"
        );
    }
    assert_eq!(app.spy.count(), 0, "RS-33: the handler never ran");
}

#[tokio::test]
async fn rs27_scheme_is_case_insensitive_and_spaces_are_allowed() {
    let app = App::start().await;
    let token = app.token(&["mcp:read"]);
    for value in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer  {token}"),
    ] {
        let response = app
            .post()
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "hello user-1");
    }
    assert_eq!(app.spy.count(), 4);
}

#[tokio::test]
async fn rs28_rs29_tokens_outside_the_header_are_never_read() {
    let app = App::start().await;
    let token = app.token(&["mcp:read"]);
    let query = app
        .http
        .post(format!("{}/mcp?access_token={token}", app.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !www(&query).contains("error="),
        "treated as unauthenticated"
    );
    let both = app
        .http
        .post(format!("{}/mcp?access_token={token}", app.origin))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    assert!(www(&both).starts_with("Bearer error=\"invalid_request\""));
    let form = app
        .http
        .post(format!("{}/mcp", app.origin))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNAUTHORIZED);
    assert!(!www(&form).contains("error="));
    assert_eq!(app.spy.count(), 0);
}

#[tokio::test]
async fn rs30_malformed_credentials_are_400_invalid_request() {
    let app = App::start().await;
    for value in ["Bearer", "Bearer ", "Bearer a b", "Bearer tok\"en"] {
        let response = app
            .post()
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{value:?}");
        let header = www(&response);
        assert!(
            header.starts_with("Bearer error=\"invalid_request\", error_description=\""),
            "{header}"
        );
        assert!(header.contains(&app.prmh()));
        assert_valid_bearer(&header);
    }
    let token = app.token(&["mcp:read"]);
    let two = app
        .post()
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.spy.count(), 0);
}

#[tokio::test]
async fn rs31_other_schemes_are_treated_as_no_credentials() {
    let app = App::start().await;
    let response = app
        .post()
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www(&response),
        format!("Bearer {}, scope=\"mcp:read\"", app.prmh())
    );
}

#[tokio::test]
async fn rs32_every_method_needs_the_token() {
    let app = App::start().await;
    for method in [Method::GET, Method::DELETE, Method::POST] {
        let response = app
            .http
            .request(method.clone(), format!("{}/mcp", app.origin))
            .header("mcp-session-id", "a-valid-looking-session")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method}");
    }
    assert_eq!(app.spy.count(), 0);
}

#[tokio::test]
async fn rs47_rs48_insufficient_scope_is_403_with_the_needed_scopes() {
    let app = App::start_with(
        |r| r,
        |s| s,
        |l| l.required_scopes(["mcp:read", "files:write"]),
    )
    .await;
    let token = app.token(&["mcp:read"]);
    let first = app.post().bearer_auth(&token).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::FORBIDDEN);
    let header = www(&first);
    assert_eq!(
        header,
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"mcp:read files:write\", {}, error_description=\"files:write required\"",
            app.prmh()
        )
    );
    assert_valid_bearer(&header);
    let again = app.post().bearer_auth(&token).send().await.unwrap();
    assert_eq!(www(&again), header, "byte-identical on repeats");
    assert_eq!(app.spy.count(), 0);
    let enough = app
        .post()
        .bearer_auth(app.token(&["mcp:read", "files:write"]))
        .send()
        .await
        .unwrap();
    assert_eq!(enough.status(), StatusCode::OK);
}

#[tokio::test]
async fn rs49_scope_hierarchy() {
    let app = App::start_with(
        |r| r,
        |s| s,
        |l| l.required_scopes(["mcp:read", "files:write"]),
    )
    .await;
    let admin = app
        .post()
        .bearer_auth(app.token(&["mcp:read", "files:admin"]))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::OK);
    let reverse = App::start_with(|r| r, |s| s, |l| l.required_scopes(["files:admin"])).await;
    let writer = reverse
        .post()
        .bearer_auth(reverse.token(&["files:write"]))
        .send()
        .await
        .unwrap();
    assert_eq!(writer.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rs26_rs60_browser_clients_can_read_the_challenge() {
    let app = App::start_with(
        |r| r,
        |s| s.allowed_origins(["https://allowed.example"]),
        |l| l,
    )
    .await;
    let response = app
        .post()
        .header("origin", "https://allowed.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://allowed.example"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("WWW-Authenticate"));
    let preflight = app
        .http
        .request(Method::OPTIONS, format!("{}/mcp", app.origin))
        .header("origin", "https://allowed.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, mcp-protocol-version, mcp-param-x",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.status(),
        StatusCode::NO_CONTENT,
        "preflight never needs a token"
    );
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    for h in [
        "authorization",
        "mcp-protocol-version",
        "mcp-session-id",
        "last-event-id",
        "mcp-method",
        "mcp-name",
        "mcp-param-x",
    ] {
        assert!(allowed.contains(h), "{h} in {allowed}");
    }
    assert_eq!(app.spy.count(), 0);
}

#[tokio::test]
async fn rs58_by_default_only_the_resource_itself_and_loopback_origins_may_call() {
    let app = App::start().await;
    for (origin, status) in [
        ("http://evil.example", StatusCode::FORBIDDEN),
        ("null", StatusCode::FORBIDDEN),
        ("http://localhost:6274", StatusCode::UNAUTHORIZED),
        (app.origin.as_str(), StatusCode::UNAUTHORIZED),
    ] {
        let response = app.post().header("origin", origin).send().await.unwrap();
        assert_eq!(response.status(), status, "{origin}");
        if status == StatusCode::FORBIDDEN {
            assert!(
                response
                    .headers()
                    .get("access-control-allow-origin")
                    .is_none(),
                "a refused page cannot read the 403"
            );
        } else {
            assert_eq!(response.headers()["access-control-allow-origin"], origin);
        }
    }
    let any = App::start_with(|r| r, |s| s.allow_any_origin(), |l| l).await;
    let response = any
        .post()
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rs58_a_bad_origin_is_refused_before_authentication() {
    let app = App::start_with(|r| r, |s| s.allowed_origins(["https://claude.ai"]), |l| l).await;
    let evil = app
        .post()
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), StatusCode::FORBIDDEN, "403, not 401");
    assert!(evil.headers().get("www-authenticate").is_none());
    let good = app
        .post()
        .header("origin", "https://claude.ai")
        .bearer_auth(app.token(&["mcp:read"]))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::OK);
    let no_origin = app
        .post()
        .bearer_auth(app.token(&["mcp:read"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_origin.status(),
        StatusCode::OK,
        "non-browser clients send no Origin"
    );
}

#[tokio::test]
async fn authorization_server_down_is_503_with_retry_after() {
    let app = App::start().await;
    let jwks_path = url::Url::parse(&app.idp.jwks_uri())
        .unwrap()
        .path()
        .to_owned();
    app.idp.set_fault(&jwks_path, Fault::Status(502));
    let response = app
        .post()
        .bearer_auth(app.token(&["mcp:read"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert!(response.headers().get("www-authenticate").is_none());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        !body.to_string().contains(&app.idp.jwks_uri()),
        "upstream URLs stay in the logs"
    );
    assert_eq!(app.spy.count(), 0);
}

#[tokio::test]
async fn error_body_hook_shapes_the_body_but_not_the_headers() {
    let app = App::start_with(
        |r| r,
        |s| s,
        |l| l.error_body(|rejection| serde_json::json!({"message": rejection.description(), "status": rejection.status().as_u16()})),
    )
    .await;
    let response = app.post().send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(www(&response).starts_with("Bearer resource_metadata="));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], 401);
}

#[tokio::test]
async fn an_error_body_hook_can_name_the_missing_scopes() {
    let app = App::start_with(
        |r| r,
        |s| s,
        |l| {
            l.required_scopes(["mcp:read", "files:write"])
                .error_body(|rejection| serde_json::json!({"missing": rejection.missing_scopes()}))
        },
    )
    .await;
    let response = app
        .post()
        .bearer_auth(app.token(&["mcp:read"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(www(&response).contains("scope=\"mcp:read files:write\""));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["missing"], serde_json::json!(["files:write"]));
    let response = app.post().send().await.unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["missing"],
        serde_json::json!([]),
        "not a scope refusal"
    );
}

#[tokio::test]
async fn auth_extractor_without_the_layer_fails_loudly() {
    let (listener, origin) = bind().await;
    let app = Router::new().route(
        "/oops",
        get(|auth: Auth| async move { auth.subject().unwrap_or("").to_owned() }),
    );
    spawn(listener, app);
    let response = reqwest::get(format!("{origin}/oops")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.text().await.unwrap();
    assert!(body.contains("layer"), "{body}");
}

#[tokio::test]
async fn rs12_multiple_resources_each_with_their_own_authorization_servers() {
    let as1 = AuthorizationServer::start().await.unwrap();
    let as2 = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let (r1, r2) = (format!("{origin}/one"), format!("{origin}/two"));
    let auth = ResourceServer::builder()
        .resource(ProtectedResource::new(&r1).issuer_with_jwks(as1.issuer(), as1.jwks_uri()))
        .resource(ProtectedResource::new(&r2).issuer_with_jwks(as2.issuer(), as2.jwks_uri()))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/one", post(|| async { "one" }).layer(auth.bearer(&r1)))
        .route("/two", post(|| async { "two" }).layer(auth.bearer(&r2)))
        .merge(auth.metadata_router());
    spawn(listener, app);
    let http = Client::new();
    let as2_before = as2.total_requests();
    let to_one = http
        .post(&r1)
        .bearer_auth(as2.token().audience(&r1).mint())
        .send()
        .await
        .unwrap();
    assert_eq!(to_one.status(), StatusCode::UNAUTHORIZED);
    assert!(www(&to_one).contains("/.well-known/oauth-protected-resource/one"));
    assert_eq!(
        as2.total_requests(),
        as2_before,
        "no request to AS2 for resource 1"
    );
    let ok = http
        .post(&r2)
        .bearer_auth(as2.token().audience(&r2).mint())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let ok = http
        .post(&r1)
        .bearer_auth(as1.token().audience(&r1).mint())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    // A token for resource 2 is refused by resource 1 even from the right issuer.
    let cross = http
        .post(&r1)
        .bearer_auth(as1.token().audience(&r2).mint())
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rs13_moving_to_another_authorization_server() {
    let as1 = AuthorizationServer::start().await.unwrap();
    let as2 = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let auth = ResourceServer::builder()
        .resource(ProtectedResource::new(&id).issuer_with_jwks(as2.issuer(), as2.jwks_uri()))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/mcp", post(|| async { "ok" }).layer(auth.bearer(&id)))
        .merge(auth.metadata_router());
    spawn(listener, app);
    let prm: serde_json::Value =
        reqwest::get(format!("{origin}/.well-known/oauth-protected-resource/mcp"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        prm["authorization_servers"],
        serde_json::json!([as2.issuer()])
    );
    let http = Client::new();
    let old = http
        .post(&id)
        .bearer_auth(as1.token().audience(&id).mint())
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert!(www(&old).contains("resource_metadata="));
    let new = http
        .post(&id)
        .bearer_auth(as2.token().audience(&id).mint())
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_with_a_valid_token_reach_the_handler_with_auth_info() {
    let app = App::start().await;
    let response = app
        .post()
        .bearer_auth(
            app.idp
                .token()
                .audience(&app.resource)
                .scopes(["mcp:read"])
                .subject("alice")
                .mint(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "hello alice");
    let public = app
        .http
        .get(format!("{}/public", app.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(app.spy.count(), 1);
}

#[tokio::test]
async fn two_origin_lines_are_refused_before_authentication() {
    let app = App::start().await;
    let response = app
        .post()
        .bearer_auth(app.token(&["mcp:read"]))
        .header("origin", "http://localhost:6274")
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("www-authenticate").is_none());
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "neither origin is echoed"
    );
    // One allowed Origin still passes.
    let one = app
        .post()
        .bearer_auth(app.token(&["mcp:read"]))
        .header("origin", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), StatusCode::OK);
    assert_eq!(app.spy.count(), 1);
}

#[tokio::test]
async fn missing_repeated_or_invalid_host_is_400_before_authentication() {
    let app = App::start().await;
    let token = app.token(&["mcp:read"]);
    let host = app.origin.trim_start_matches("http://").to_owned();
    let request = |version: &str, hosts: &[&str]| {
        let mut text = format!("POST /mcp {version}\r\n");
        for h in hosts {
            text.push_str(&format!("Host: {h}\r\n"));
        }
        text.push_str(&format!(
            "Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ));
        text
    };
    let status = |text: String| {
        let origin = app.origin.clone();
        async move { mcp_auth_tests::raw_status(&origin, text.as_bytes(), false).await }
    };
    assert_eq!(status(request("HTTP/1.1", &[&host])).await, 200, "control");
    assert_eq!(status(request("HTTP/1.1", &[])).await, 400, "no Host");
    assert_eq!(
        status(request("HTTP/1.1", &[&host, "evil.example"])).await,
        400,
        "two Host lines"
    );
    for bad in ["user@evil.example", "evil.example/x", "a,b", "host:port"] {
        assert_eq!(
            status(request("HTTP/1.1", &[bad])).await,
            400,
            "Host: {bad}"
        );
    }
    assert_eq!(
        status(request("HTTP/1.0", &[])).await,
        200,
        "HTTP/1.0 may omit Host"
    );
    assert_eq!(app.spy.count(), 2);
}
