//! One notes server for several tenants (`mcp_auth::Tenants`), against the development
//! authorization server's tenants (one issuer per tenant, shared keys, as Entra ID), over
//! loopback HTTP:
//!
//! - each tenant has its own identifier, metadata document and challenge, by path or by host;
//! - a token of tenant A is refused at tenant B, whether it names A's identifier or B's;
//! - a tenant may have an issuer outside the pattern, trusted by that tenant only;
//! - each tenant introspects its tokens (a revoked one is refused at once);
//! - a tenant outside the allow-list is `404`, and its issuer is never contacted;
//! - a tenant's issuer is discovered on first use, once for many concurrent requests;
//! - while discovery fails the tenant answers `503` with `Retry-After` without asking again,
//!   and it serves once the authorization server is back.

use std::time::Duration;

use mcp_auth::Tenants;
use mcp_auth::introspection::{ClientAuth, JwtRoute};
use mcp_auth_dev::{AuthorizationServer, Fault};
use mcp_auth_examples::notes_server::{Notes, app};
use mcp_auth_tests::challenge_parser::assert_valid_bearer;
use mcp_auth_tests::{bind, rpc_result, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TENANTS: [&str; 2] = ["contoso", "fabrikam"];

struct Server {
    origin: String,
    idp: AuthorizationServer,
    tenants: Tenants<Notes>,
    http: reqwest::Client,
}

impl Server {
    /// Tenants by path: `{origin}/{tenant}/mcp`.
    async fn by_path() -> Self {
        let idp = AuthorizationServer::builder()
            .tenants(TENANTS)
            .start()
            .await
            .unwrap();
        let (listener, origin) = bind().await;
        let tenants = Tenants::<Notes>::builder()
            .issuer(format!("{}/{{tenant}}", idp.origin()))
            .resource_id(format!("{origin}/{{tenant}}/mcp"))
            .allow(TENANTS)
            .retry_after(Duration::from_secs(1))
            .build()
            .unwrap();
        spawn(listener, tenants.router(app));
        Self {
            origin,
            idp,
            tenants,
            http: reqwest::Client::new(),
        }
    }

    fn token(&self, tenant: &str, audience: &str) -> String {
        self.idp
            .token()
            .tenant(tenant)
            .audience(audience)
            .scopes(["read:notes"])
            .mint()
    }

    async fn whoami(
        &self,
        url: &str,
        host: Option<&str>,
        token: Option<&str>,
    ) -> reqwest::Response {
        Self::request(&self.http, url, host, token)
            .send()
            .await
            .unwrap()
    }

    /// A `whoami` call, at `url`, with `host` as the `Host` when given.
    fn request(
        http: &reqwest::Client,
        url: &str,
        host: Option<&str>,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": "whoami", "arguments": {}}}));
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    }

    /// How many times the tenant's discovery documents were asked for.
    fn discoveries(&self, tenant: &str) -> usize {
        [
            format!("/.well-known/oauth-authorization-server/{tenant}"),
            format!("/.well-known/openid-configuration/{tenant}"),
            format!("/{tenant}/.well-known/openid-configuration"),
        ]
        .iter()
        .map(|path| self.idp.requests(path))
        .sum()
    }
}

fn invalid_token(response: &reqwest::Response) -> bool {
    response.status() == StatusCode::UNAUTHORIZED
        && assert_valid_bearer(response.headers()["www-authenticate"].to_str().unwrap())
            .param("error")
            == Some("invalid_token")
}

#[tokio::test]
async fn a_tenants_token_is_served_at_its_identifier_and_refused_at_the_other_tenants() {
    let s = Server::by_path().await;
    let contoso = s.tenants.resource_id("contoso").unwrap().to_owned();
    let fabrikam = s.tenants.resource_id("fabrikam").unwrap().to_owned();
    assert_eq!(contoso, format!("{}/contoso/mcp", s.origin));

    let token = s.token("contoso", &contoso);
    let served = rpc_result(s.whoami(&contoso, None, Some(&token)).await).await;
    assert_eq!(served["result"]["structuredContent"]["subject"], "user-1");

    // At the other tenant: neither its issuer nor its audience.
    let refused = s.whoami(&fabrikam, None, Some(&token)).await;
    assert!(invalid_token(&refused), "{}", refused.status());
    // A token of contoso's issuer made out to fabrikam: the issuer is not fabrikam's.
    let crossed = s.token("contoso", &fabrikam);
    let refused = s.whoami(&fabrikam, None, Some(&crossed)).await;
    assert!(invalid_token(&refused), "{}", refused.status());
    // And fabrikam's own token is served there, and refused at contoso.
    let own = s.token("fabrikam", &fabrikam);
    assert_eq!(
        s.whoami(&fabrikam, None, Some(&own)).await.status(),
        StatusCode::OK
    );
    assert!(invalid_token(&s.whoami(&contoso, None, Some(&own)).await));
}

#[tokio::test]
async fn each_tenant_has_its_own_metadata_and_challenge() {
    let s = Server::by_path().await;
    for tenant in TENANTS {
        let id = s.tenants.resource_id(tenant).unwrap();
        let metadata_url = format!(
            "{}/.well-known/oauth-protected-resource/{tenant}/mcp",
            s.origin
        );
        let document: Value = s
            .http
            .get(&metadata_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(document["resource"], id);
        assert_eq!(
            document["authorization_servers"],
            json!([s.idp.tenant_issuer(tenant).unwrap()])
        );
        let anonymous = s.whoami(id, None, None).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let challenge =
            assert_valid_bearer(anonymous.headers()["www-authenticate"].to_str().unwrap());
        assert_eq!(
            challenge.param("resource_metadata"),
            Some(metadata_url.as_str())
        );
    }
}

#[tokio::test]
async fn a_tenant_outside_the_allow_list_is_404_and_its_issuer_never_contacted() {
    let s = Server::by_path().await;
    let url = format!("{}/acme/mcp", s.origin);
    let token = s.token("contoso", &url);
    assert_eq!(
        s.whoami(&url, None, Some(&token)).await.status(),
        StatusCode::NOT_FOUND
    );
    let metadata = format!("{}/.well-known/oauth-protected-resource/acme/mcp", s.origin);
    assert_eq!(
        s.http.get(&metadata).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Another spelling of an allowed tenant is another tenant.
    let upper = format!("{}/Contoso/mcp", s.origin);
    assert_eq!(
        s.whoami(&upper, None, Some(&token)).await.status(),
        StatusCode::NOT_FOUND
    );
    // The tenant's name percent-encoded is not the tenant.
    let encoded = format!("{}/%63ontoso/mcp", s.origin);
    assert_eq!(
        s.whoami(&encoded, None, Some(&token)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(s.idp.total_requests(), 0, "no tenant was started");
}

#[tokio::test]
async fn a_tenant_is_discovered_on_first_use_once_for_concurrent_requests() {
    let s = Server::by_path().await;
    assert_eq!(
        s.discoveries("fabrikam"),
        0,
        "nothing is discovered at build"
    );
    let id = s.tenants.resource_id("fabrikam").unwrap().to_owned();
    let token = s.token("fabrikam", &id);
    // Discovery answers slowly, so that every request arrives while it is in flight.
    s.idp.set_fault(
        "/.well-known/oauth-authorization-server/fabrikam",
        Fault::Delay(Duration::from_millis(300)),
    );
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (http, id, token) = (s.http.clone(), id.clone(), token.clone());
        calls.spawn(async move {
            let probe = Server::request(&http, &id, None, Some(&token));
            probe.send().await.unwrap().status()
        });
    }
    for status in calls.join_all().await {
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(s.discoveries("fabrikam"), 1);
    assert_eq!(s.discoveries("contoso"), 0, "only the tenant asked for");
    s.whoami(&id, None, Some(&token)).await;
    assert_eq!(s.discoveries("fabrikam"), 1, "kept");
}

#[tokio::test]
async fn a_tenant_whose_issuer_is_down_answers_503_with_retry_after_until_it_is_back() {
    let s = Server::by_path().await;
    let id = s.tenants.resource_id("contoso").unwrap().to_owned();
    let token = s.token("contoso", &id);
    s.idp.set_fault(
        "/.well-known/oauth-authorization-server/contoso",
        Fault::Status(503),
    );
    let down = s.whoami(&id, None, Some(&token)).await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers()["retry-after"], "1");
    let asked = s.discoveries("contoso");
    assert!(asked >= 1);
    // Within the delay: 503 again, the authorization server not asked again.
    let again = s.whoami(&id, None, Some(&token)).await;
    assert_eq!(again.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(again.headers().contains_key("retry-after"));
    assert_eq!(s.discoveries("contoso"), asked);
    // Never a pass, never the other tenant's resource: fabrikam is unaffected.
    let fabrikam = s.tenants.resource_id("fabrikam").unwrap().to_owned();
    let own = s.token("fabrikam", &fabrikam);
    assert_eq!(
        s.whoami(&fabrikam, None, Some(&own)).await.status(),
        StatusCode::OK
    );

    s.idp.clear_faults();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let back = rpc_result(s.whoami(&id, None, Some(&token)).await).await;
    assert_eq!(back["result"]["structuredContent"]["subject"], "user-1");
}

#[tokio::test]
async fn tenants_told_by_host_each_have_their_identifier_and_document() {
    let idp = AuthorizationServer::builder()
        .tenants(TENANTS)
        .start()
        .await
        .unwrap();
    let (listener, origin) = bind().await;
    let tenants = Tenants::<Notes>::builder()
        .issuer(format!("{}/{{tenant}}", idp.origin()))
        .resource_id("https://{tenant}.notes.test/mcp")
        .allow(TENANTS)
        .build()
        .unwrap();
    spawn(listener, tenants.router(app));
    let s = Server {
        origin,
        idp,
        tenants,
        http: reqwest::Client::new(),
    };
    // TLS ends at a proxy in front; the server sees the tenant's Host.
    let url = format!("{}/mcp", s.origin);
    let token = s.token("contoso", "https://contoso.notes.test/mcp");
    let served = s
        .whoami(&url, Some("contoso.notes.test"), Some(&token))
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    let refused = s
        .whoami(&url, Some("fabrikam.notes.test"), Some(&token))
        .await;
    assert!(invalid_token(&refused), "{}", refused.status());
    let unknown = s.whoami(&url, Some("acme.notes.test"), Some(&token)).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // Host names are compared in lower case; a port the identifier does not have is another
    // host.
    let upper = s
        .whoami(&url, Some("CONTOSO.notes.test"), Some(&token))
        .await;
    assert_ne!(upper.status(), StatusCode::NOT_FOUND);
    let port = s
        .whoami(&url, Some("contoso.notes.test:8443"), Some(&token))
        .await;
    assert_eq!(port.status(), StatusCode::NOT_FOUND);

    let document: Value = s
        .http
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            s.origin
        ))
        .header("host", "fabrikam.notes.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["resource"], "https://fabrikam.notes.test/mcp");
    assert_eq!(
        document["authorization_servers"],
        json!([s.idp.tenant_issuer("fabrikam").unwrap()])
    );
}

#[tokio::test]
async fn a_tenant_can_have_an_issuer_outside_the_pattern() {
    let idp = AuthorizationServer::builder()
        .tenants(TENANTS)
        .start()
        .await
        .unwrap();
    let partner = AuthorizationServer::start().await.unwrap();
    let (listener, origin) = bind().await;
    let tenants = Tenants::<Notes>::builder()
        .issuer(format!("{}/{{tenant}}", idp.origin()))
        .resource_id(format!("{origin}/{{tenant}}/mcp"))
        .allow(TENANTS)
        .tenant_issuer("partner", partner.issuer())
        .build()
        .unwrap();
    assert_eq!(tenants.issuer("partner"), Some(partner.issuer()));
    spawn(listener, tenants.router(app));
    let s = Server {
        origin,
        idp,
        tenants,
        http: reqwest::Client::new(),
    };
    let id = s.tenants.resource_id("partner").unwrap().to_owned();
    let own = partner.token().audience(&id).scopes(["read:notes"]).mint();
    assert_eq!(
        s.whoami(&id, None, Some(&own)).await.status(),
        StatusCode::OK
    );
    // The pattern's issuers are not the partner's, and the partner's is no one else's.
    let pattern = s.token("contoso", &id);
    assert!(invalid_token(&s.whoami(&id, None, Some(&pattern)).await));
    let contoso = s.tenants.resource_id("contoso").unwrap().to_owned();
    let foreign = partner
        .token()
        .audience(&contoso)
        .scopes(["read:notes"])
        .mint();
    assert!(invalid_token(
        &s.whoami(&contoso, None, Some(&foreign)).await
    ));
}

#[tokio::test]
async fn each_tenant_can_introspect_its_tokens() {
    let idp = AuthorizationServer::builder()
        .tenants(TENANTS)
        .client_credentials("notes-rs", "notes-secret")
        .start()
        .await
        .unwrap();
    let (listener, origin) = bind().await;
    // Every tenant's JWTs introspected too.
    let tenants = Tenants::<Notes>::builder()
        .issuer(format!("{}/{{tenant}}", idp.origin()))
        .resource_id(format!("{origin}/{{tenant}}/mcp"))
        .allow(TENANTS)
        .resource(|b| {
            b.resource(|r| {
                r.introspection(ClientAuth::basic("notes-rs", "notes-secret"))
                    .introspect_jwts(JwtRoute::Both)
            })
        })
        .build()
        .unwrap();
    spawn(listener, tenants.router(app));
    let s = Server {
        origin,
        idp,
        tenants,
        http: reqwest::Client::new(),
    };
    let id = s.tenants.resource_id("fabrikam").unwrap().to_owned();
    let token = s.token("fabrikam", &id);
    assert_eq!(
        s.whoami(&id, None, Some(&token)).await.status(),
        StatusCode::OK
    );
    assert!(s.idp.requests("/introspect") >= 1, "introspected");
    // A token revoked at the server is refused though its signature is valid (answers are
    // cached per token, so it is one not seen yet).
    let revoked = s
        .idp
        .token()
        .tenant("fabrikam")
        .audience(&id)
        .subject("mallory")
        .scopes(["read:notes"])
        .mint();
    s.idp.revoke(&revoked);
    assert!(invalid_token(&s.whoami(&id, None, Some(&revoked)).await));
}

#[test]
fn a_misconfiguration_is_named_at_build() {
    let error = Tenants::<Notes>::builder()
        .issuer("https://login.example.com/common/v2.0")
        .resource_id("https://mcp.example.com/x{tenant}/mcp")
        .allow(["contoso", "a.b", "contoso"])
        .tenant_issuer("partner", "https://a.example.com")
        .tenant_issuer("partner", "https://b.example.com")
        .build()
        .unwrap_err()
        .to_string();
    for needle in [
        "`https://login.example.com/common/v2.0` must hold `{tenant}` once",
        "whole path segment",
        "`a.b` is not a tenant name",
        "`contoso` is allowed twice",
        "`partner` is given two issuers",
    ] {
        assert!(error.contains(needle), "{needle} not in: {error}");
    }
}
