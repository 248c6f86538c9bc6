//! What a provider's token shape the resource refuses by default tells the operator: for each
//! cause (no `aud`, `aud` an API identifier, `azp` without `client_id`, scopes in `scp`, `typ:
//! JWT`) the client gets its RFC 6750 refusal every time, and the operator one `warn` naming the
//! setting or the provider-side fix, the first time per cause and resource. The explicit,
//! per-issuer opt-out for tokens without `aud` accepts that issuer's tokens only, and says at
//! start-up what it gives up. Tokens from the development authorization server, over loopback.

use axum::Router;
use axum::routing::get;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::{ProtectedResource, ResourceServer};
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_tests::{LogCapture, bind, spawn};
use reqwest::StatusCode;

struct App {
    url: String,
    id: String,
    http: reqwest::Client,
}

/// A route needing `read:notes` at a resource trusting `idps`, with the opt-out for tokens
/// without `aud` for the issuer `audience_optional`.
async fn start(idps: &[&AuthorizationServer], audience_optional: Option<&str>) -> App {
    let (listener, origin) = bind().await;
    let id = format!("{origin}/mcp");
    let mut resource = ProtectedResource::new(&id);
    for idp in idps {
        let config = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap();
        resource = resource.authorization_server(config);
    }
    if let Some(issuer) = audience_optional {
        let issuer = issuer.to_owned();
        resource = resource.verify(move |v| v.accept_missing_audience_from(issuer));
    }
    let server = ResourceServer::builder()
        .resource(resource)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/mcp", get(|| async { "ok" }))
        .layer(server.bearer(&id).required_scopes(["read:notes"]));
    spawn(listener, app);
    App {
        url: id.clone(),
        id,
        http: reqwest::Client::new(),
    }
}

impl App {
    async fn get(&self, token: &str) -> reqwest::Response {
        self.http
            .get(&self.url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn each_provider_mismatch_is_refused_and_named_to_the_operator_once() {
    let (logs, _guard) = LogCapture::start();
    let idp = AuthorizationServer::start().await.unwrap();
    let app = start(&[&idp], None).await;
    let base = || {
        idp.token()
            .audience(app.id.as_str())
            .subject("alice")
            .scopes(["read:notes"])
    };
    let ok = base().mint();
    assert_eq!(app.get(&ok).await.status(), StatusCode::OK);

    let cases = [
        (
            "no aud",
            base().remove_claim("aud").mint(),
            StatusCode::UNAUTHORIZED,
            "accept_missing_audience_from",
        ),
        (
            "aud an API identifier",
            base().audience("api://notes-api").mint(),
            StatusCode::UNAUTHORIZED,
            "extra_audience",
        ),
        (
            "azp without client_id",
            base()
                .remove_claim("client_id")
                .claim("azp", "notes-client")
                .mint(),
            StatusCode::UNAUTHORIZED,
            "lenient_claims",
        ),
        (
            "scp instead of scope",
            idp.token()
                .audience(app.id.as_str())
                .subject("alice")
                .remove_claim("scope")
                .claim("scp", "read:notes")
                .mint(),
            StatusCode::FORBIDDEN,
            "scope_claim = \"scp\"",
        ),
        (
            "typ JWT",
            base().typ(Some("JWT")).mint(),
            StatusCode::UNAUTHORIZED,
            "accept_jwt_typ",
        ),
    ];
    for (cause, token, status, setting) in &cases {
        for _ in 0..2 {
            let refused = app.get(token).await;
            assert_eq!(refused.status(), *status, "{cause}");
            let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
            assert!(
                !challenge.contains(setting),
                "{cause}: no setting to the client"
            );
        }
        let text = logs.text();
        let warned = text
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(setting))
            .count();
        assert_eq!(warned, 1, "{cause}: one warn naming `{setting}`:\n{text}");
    }
    // The client's description names the cause precisely (the azp case, for one).
    let azp = app.get(&cases[2].1).await;
    let challenge = azp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("azp"), "{challenge}");
}

#[tokio::test]
async fn tokens_without_aud_are_accepted_from_the_issuer_that_opted_out_only() {
    let (logs, _guard) = LogCapture::start();
    let keycloak = AuthorizationServer::start().await.unwrap();
    let other = AuthorizationServer::start().await.unwrap();
    let app = start(&[&keycloak, &other], Some(keycloak.issuer())).await;
    let startup = logs.text();
    assert!(
        startup.contains("WARN")
            && startup.contains("without an `aud` claim are accepted")
            && startup.contains(keycloak.issuer()),
        "the opt-out is named at start-up with what it gives up:\n{startup}"
    );

    let without_aud = |idp: &AuthorizationServer| {
        idp.token()
            .subject("alice")
            .scopes(["read:notes"])
            .remove_claim("aud")
            .mint()
    };
    assert_eq!(
        app.get(&without_aud(&keycloak)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&without_aud(&other)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the other issuer did not opt out"
    );
    // A token of the opted-out issuer that has an `aud` must still name this resource.
    let foreign = keycloak
        .token()
        .audience("https://another-api.example.com")
        .subject("alice")
        .scopes(["read:notes"])
        .mint();
    assert_eq!(app.get(&foreign).await.status(), StatusCode::UNAUTHORIZED);
}
