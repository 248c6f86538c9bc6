//! End-to-end tests: a running server, real HTTP through reqwest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, Validation};
use mcp_auth::clock::ManualClock;
use serde_json::{Map, Value, json};

use super::*;

const AUD: &str = "https://api.example.com/mcp";

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn segment(token: &str, index: usize) -> Map<String, Value> {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn jwks(server: &AuthorizationServer) -> JwkSet {
    client()
        .get(server.jwks_uri())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies `token` the way a resource server would: key by `kid` from the served JWKS.
async fn decode(server: &AuthorizationServer, token: &str, alg: SigningAlg) -> Map<String, Value> {
    mcp_auth::verify::ensure_crypto_provider();
    let kid = segment(token, 0)["kid"].as_str().unwrap().to_owned();
    let set = jwks(server).await;
    let jwk: &Jwk = set.find(&kid).expect("kid in the served JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(alg.algorithm());
    validation.set_audience(&[AUD]);
    validation.set_issuer(&[server.issuer()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{alg}: {e}"))
        .claims
}

async fn introspect_basic(server: &AuthorizationServer, token: &str) -> (u16, Value) {
    let (id, secret) = server.introspection_client();
    let response = client()
        .post(server.introspection_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/providers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

// ---------------------------------------------------------------- discovery (RS-43)

#[tokio::test]
async fn rs43_root_issuer_serves_oauth_and_oidc_documents() {
    let idp = AuthorizationServer::start().await.unwrap();
    let origin = idp.origin().to_owned();
    assert_eq!(idp.issuer(), origin);
    assert!(origin.starts_with("http://127.0.0.1:"));

    let (status, oauth) = get(&format!("{origin}/.well-known/oauth-authorization-server")).await;
    assert_eq!(status, 200);
    assert_eq!(oauth["issuer"], idp.issuer());
    assert_eq!(oauth["jwks_uri"], idp.jwks_uri());
    assert_eq!(oauth["token_endpoint"], idp.token_endpoint());
    assert_eq!(
        oauth["introspection_endpoint"],
        idp.introspection_endpoint()
    );
    assert!(oauth.get("subject_types_supported").is_none());

    let (status, oidc) = get(&format!("{origin}/.well-known/openid-configuration")).await;
    assert_eq!(status, 200);
    assert_eq!(oidc["issuer"], idp.issuer());
    assert_eq!(oidc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(
        idp.well_known_urls(),
        [
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    );
    let (status, body) = get(&format!("{origin}/.well-known/nothing")).await;
    assert_eq!((status, &body["error"]), (404, &json!("not_found")));
}

#[tokio::test]
async fn rs43_discovery_modes_with_an_issuer_path() {
    use Discovery::*;
    // oauth-insert, oidc-insert, oidc-append
    let cases = [
        (Both, [200, 200, 200]),
        (OAuthOnly, [200, 404, 404]),
        (OidcOnly, [404, 200, 200]),
        (OidcAppendOnly, [404, 404, 200]),
    ];
    for (mode, expected) in cases {
        let idp = AuthorizationServer::builder()
            .issuer_path("/tenant1")
            .discovery(mode)
            .start()
            .await
            .unwrap();
        let o = idp.origin();
        assert_eq!(idp.issuer(), format!("{o}/tenant1"));
        let urls = [
            format!("{o}/.well-known/oauth-authorization-server/tenant1"),
            format!("{o}/.well-known/openid-configuration/tenant1"),
            format!("{o}/tenant1/.well-known/openid-configuration"),
        ];
        for (url, want) in urls.iter().zip(expected) {
            let (status, doc) = get(url).await;
            assert_eq!(status, want, "{mode:?} {url}");
            if want == 200 {
                assert_eq!(doc["issuer"], idp.issuer(), "{mode:?} {url}");
            }
        }
        // The matching rules-crate URLs are exactly the ones served.
        let served: Vec<String> = urls
            .iter()
            .zip(expected)
            .filter(|(_, s)| *s == 200)
            .map(|(u, _)| u.clone())
            .collect();
        assert_eq!(idp.well_known_urls(), served, "{mode:?}");
        // The root documents are not served for a path issuer.
        assert_eq!(
            get(&format!("{o}/.well-known/openid-configuration"))
                .await
                .0,
            404
        );
    }
}

#[tokio::test]
async fn rs43_trailing_slash_issuer_strips_the_slash_for_discovery() {
    let idp = AuthorizationServer::builder()
        .issuer_path("/")
        .start()
        .await
        .unwrap();
    assert_eq!(idp.issuer(), format!("{}/", idp.origin()));
    let (status, doc) = get(&format!(
        "{}/.well-known/openid-configuration",
        idp.origin()
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], idp.issuer());
    assert_eq!(
        idp.jwks_uri(),
        format!("{}/.well-known/jwks.json", idp.origin())
    );
}

// ---------------------------------------------------------------- tenants (Entra-like)

/// The three discovery URLs of the tenant `tenant`: RFC 8414, OIDC inserted, OIDC appended.
fn tenant_urls(idp: &AuthorizationServer, tenant: &str) -> [String; 3] {
    let o = idp.origin();
    [
        format!("{o}/.well-known/oauth-authorization-server/{tenant}"),
        format!("{o}/.well-known/openid-configuration/{tenant}"),
        format!("{o}/{tenant}/.well-known/openid-configuration"),
    ]
}

#[tokio::test]
async fn tenants_serve_the_server_metadata_with_their_own_issuer() {
    let idp = AuthorizationServer::builder()
        .tenants(["contoso", "fabrikam", "contoso"])
        .scopes(["mcp:read"])
        .start()
        .await
        .unwrap();
    let o = idp.origin().to_owned();
    assert_eq!(idp.issuer(), o);
    assert_eq!(idp.tenant_issuer("contoso"), Some(format!("{o}/contoso")));
    assert_eq!(idp.tenant_issuer("fabrikam"), Some(format!("{o}/fabrikam")));
    assert_eq!(idp.tenant_issuer("nobody"), None);
    assert_eq!(idp.tenant_issuer("Contoso"), None);
    assert_eq!(idp.well_known_urls().len(), 2, "only the server's own URLs");

    let (_, own_oauth) = get(&format!("{o}/.well-known/oauth-authorization-server")).await;
    let (_, own_oidc) = get(&format!("{o}/.well-known/openid-configuration")).await;
    for tenant in ["contoso", "fabrikam"] {
        let issuer = idp.tenant_issuer(tenant).unwrap();
        let [oauth_url, oidc_inserted, oidc_appended] = tenant_urls(&idp, tenant);
        for (url, own) in [
            (oauth_url, &own_oauth),
            (oidc_inserted, &own_oidc),
            (oidc_appended, &own_oidc),
        ] {
            let response = client().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
            let document: Value = response.json().await.unwrap();
            assert_eq!(document["issuer"], issuer, "{url}");
            assert_eq!(document["jwks_uri"], idp.jwks_uri());
            let mut expected = own.clone();
            expected["issuer"] = issuer.clone().into();
            assert_eq!(document, expected, "{url}: the server's own document");

            let head = client().head(&url).send().await.unwrap();
            assert_eq!(head.status(), 200);
            let post = client().post(&url).send().await.unwrap();
            assert_eq!(post.status(), 405);
            let preflight = client()
                .request(reqwest::Method::OPTIONS, &url)
                .header("origin", "http://localhost:6274")
                .header("access-control-request-method", "GET")
                .send()
                .await
                .unwrap();
            assert!(preflight.status().is_success(), "{url}");
            assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
        }
    }
    assert!(own_oidc["subject_types_supported"].is_array());
    assert_eq!(own_oauth["scopes_supported"], json!(["mcp:read"]));
}

#[tokio::test]
async fn unknown_tenants_are_404_and_tenant_paths_take_faults_and_counts() {
    let idp = AuthorizationServer::builder()
        .tenants(["contoso"])
        .start()
        .await
        .unwrap();
    for url in tenant_urls(&idp, "nobody")
        .into_iter()
        .chain([format!("{}/contoso", idp.origin())])
    {
        let (status, body) = get(&url).await;
        assert_eq!(
            (status, &body["error"]),
            (404, &json!("not_found")),
            "{url}"
        );
    }
    let [oauth, oidc, _] = tenant_urls(&idp, "contoso");
    idp.set_fault(
        "/.well-known/oauth-authorization-server/contoso",
        Fault::Status(503),
    );
    assert_eq!(get(&oauth).await.0, 503);
    assert_eq!(get(&oidc).await.0, 200, "other tenant URLs are unaffected");
    idp.clear_faults();
    assert_eq!(get(&oauth).await.0, 200);
    assert_eq!(idp.requests(&oauth), 2);
    assert_eq!(idp.requests("/.well-known/openid-configuration/contoso"), 1);
}

#[tokio::test]
async fn tenants_follow_the_discovery_mode() {
    let idp = AuthorizationServer::builder()
        .issuer_path("/common")
        .discovery(Discovery::OidcOnly)
        .tenants(["contoso"])
        .start()
        .await
        .unwrap();
    let [oauth, oidc_inserted, oidc_appended] = tenant_urls(&idp, "contoso");
    assert_eq!(get(&oauth).await.0, 404);
    for url in [oidc_inserted, oidc_appended] {
        let (status, document) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(document["issuer"], format!("{}/contoso", idp.origin()));
        assert_eq!(document["token_endpoint"], idp.token_endpoint());
    }
}

#[tokio::test]
async fn invalid_tenants_are_refused_at_start() {
    let long = "a".repeat(65);
    for bad in ["", "a b", "a/b", "a.b", "a_b", "café", long.as_str()] {
        let err = AuthorizationServer::builder()
            .tenants(["contoso", bad])
            .start()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DevServerError::InvalidTenant { tenant, .. } if tenant == bad),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().starts_with("tenants: "), "{err}");
    }
    assert!(
        AuthorizationServer::builder()
            .tenants(["a".repeat(64)])
            .start()
            .await
            .is_ok()
    );
    // Paths the server already serves.
    let err = AuthorizationServer::builder()
        .issuer_path("/contoso")
        .tenants(["contoso"])
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DevServerError::InvalidTenant { tenant, .. } if tenant == "contoso"),
        "{err}"
    );
    assert!(err.to_string().contains("/contoso/"), "{err}");
    let err = AuthorizationServer::builder()
        .issuer_path("/contoso/v2.0")
        .tenants(["contoso"])
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, DevServerError::InvalidTenant { .. }), "{err}");
    let err = AuthorizationServer::builder()
        .tenants(["token"])
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`/token`"), "{err}");
    let err = AuthorizationServer::builder()
        .tenants(["contoso"])
        .metadata_document(json!({"issuer": "https://x.example.com"}))
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(err, DevServerError::TenantsWithMetadataDocument),
        "{err}"
    );
    // An issuer path other than the tenant's is fine.
    let idp = AuthorizationServer::builder()
        .issuer_path("/common/v2.0")
        .tenants(["contoso"])
        .start()
        .await
        .unwrap();
    assert_eq!(
        idp.tenant_issuer("contoso"),
        Some(format!("{}/contoso", idp.origin()))
    );
}

#[tokio::test]
async fn tenant_tokens_carry_the_tenant_issuer_and_verify_with_the_shared_jwks() {
    let idp = AuthorizationServer::builder()
        .tenants(["contoso", "fabrikam"])
        .start()
        .await
        .unwrap();
    let contoso = idp.tenant_issuer("contoso").unwrap();
    let token = idp.token().tenant("contoso").audience(AUD).mint();
    assert_eq!(segment(&token, 1)["iss"], contoso);
    let by_issuer = idp.token().issuer(contoso.clone()).mint();
    assert_eq!(segment(&by_issuer, 1)["iss"], contoso);
    let own = idp.token().mint();
    assert_eq!(segment(&own, 1)["iss"], idp.issuer());

    // Verified as a resource server trusting the tenant would: the tenant's jwks_uri.
    mcp_auth::verify::ensure_crypto_provider();
    let (_, metadata) = get(&tenant_urls(&idp, "contoso")[2]).await;
    let set: JwkSet = client()
        .get(metadata["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = segment(&token, 0)["kid"].as_str().unwrap().to_owned();
    let key = DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(SigningAlg::Rs256.algorithm());
    validation.set_audience(&[AUD]);
    validation.set_issuer(&[contoso.as_str()]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["iss"], metadata["issuer"]);
}

#[tokio::test]
#[should_panic(expected = "no tenant `nobody`; its tenants are `contoso`, `fabrikam`")]
async fn an_unknown_tenant_token_panics_naming_the_tenants() {
    let idp = AuthorizationServer::builder()
        .tenants(["contoso", "fabrikam"])
        .start()
        .await
        .unwrap();
    let _ = idp.token().tenant("nobody");
}

#[tokio::test]
#[should_panic(expected = "has no tenants, so no tenant `contoso`")]
async fn a_tenant_token_without_tenants_panics() {
    let idp = AuthorizationServer::start().await.unwrap();
    let _ = idp.token().tenant("contoso");
}

#[tokio::test]
async fn generated_metadata_advertises_only_what_works() {
    let idp = AuthorizationServer::start().await.unwrap();
    let (_, doc) = get(&idp.well_known_urls()[0]).await;
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ])
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["response_modes_supported"], json!(["query"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        doc["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    for absent in [
        "scopes_supported",
        "client_id_metadata_document_supported",
        "revocation_endpoint",
        "userinfo_endpoint",
    ] {
        assert!(doc.get(absent).is_none(), "{absent} must not be advertised");
    }
    // Wrong methods are refused with Allow.
    let response = client().post(idp.jwks_uri()).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    let response = client().get(idp.token_endpoint()).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

// ---------------------------------------------------------------- JWKS and keys

#[tokio::test]
async fn jwks_has_one_bound_key_per_alg_with_cache_control() {
    let idp = AuthorizationServer::builder()
        .algorithms(SigningAlg::ALL)
        .jwks_cache_control("max-age=60, must-revalidate")
        .start()
        .await
        .unwrap();
    let response = client().get(idp.jwks_uri()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "max-age=60, must-revalidate"
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = response.json().await.unwrap();
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), SigningAlg::ALL.len());
    let kids: Vec<String> = keys
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, idp.key_ids());
    for (key, alg) in keys.iter().zip(SigningAlg::ALL) {
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], alg.name());
        assert_eq!(key["kid"], idp.kid_for(alg));
        let b64url = |name: &str| {
            let v = key[name].as_str().unwrap_or_else(|| panic!("{alg} {name}"));
            URL_SAFE_NO_PAD.decode(v).unwrap()
        };
        match alg {
            SigningAlg::Es256 | SigningAlg::Es384 => {
                assert_eq!(key["kty"], "EC");
                let (crv, len) = if alg == SigningAlg::Es256 {
                    ("P-256", 32)
                } else {
                    ("P-384", 48)
                };
                assert_eq!(key["crv"], crv);
                assert_eq!(b64url("x").len(), len);
                assert_eq!(b64url("y").len(), len);
            }
            SigningAlg::EdDsa => {
                assert_eq!(key["kty"], "OKP");
                assert_eq!(key["crv"], "Ed25519");
                assert_eq!(b64url("x").len(), 32);
            }
            _ => {
                assert_eq!(key["kty"], "RSA");
                assert_eq!(b64url("n").len(), 256);
                assert_eq!(b64url("e"), [1, 0, 1]);
            }
        }
        assert!(key.get("d").is_none(), "no private parameter is published");
    }
    // The document equals the accessor.
    assert_eq!(doc, idp.jwks());
}

#[tokio::test]
async fn publish_key_alg_false_omits_alg() {
    let idp = AuthorizationServer::builder()
        .publish_key_alg(false)
        .start()
        .await
        .unwrap();
    let set = jwks(&idp).await;
    assert!(set.keys.iter().all(|k| k.common.key_algorithm.is_none()));
    let token = idp.token().audience(AUD).mint();
    decode(&idp, &token, SigningAlg::Rs256).await;
}

#[tokio::test]
async fn rs37_rotation_replaces_every_kid() {
    let idp = AuthorizationServer::start().await.unwrap();
    let before = idp.key_ids();
    let old_token = idp.token().audience(AUD).mint();
    idp.rotate_keys();
    let after = idp.key_ids();
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|k| !before.contains(k)));
    let served: Vec<String> = jwks(&idp)
        .await
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(served, after);
    let new_token = idp.token().audience(AUD).mint();
    assert_eq!(
        segment(&new_token, 0)["kid"],
        idp.kid_for(SigningAlg::Rs256)
    );
    decode(&idp, &new_token, SigningAlg::Rs256).await;
    // The old key is gone: introspection no longer vouches for the old token.
    assert_eq!(
        introspect_basic(&idp, &old_token).await.1,
        json!({"active": false})
    );
}

#[tokio::test]
async fn add_key_publishes_a_second_key_that_signs_from_now_on() {
    let idp = AuthorizationServer::start().await.unwrap();
    let old = idp.kid_for(SigningAlg::Rs256);
    let new = idp.add_key(SigningAlg::Rs256);
    assert_ne!(old, new);
    assert_eq!(idp.kid_for(SigningAlg::Rs256), new);
    assert_eq!(idp.key_ids().len(), 4);
    let by_new = idp.token().audience(AUD).mint();
    assert_eq!(segment(&by_new, 0)["kid"], new.as_str());
    let by_old = idp.token().audience(AUD).signing_key(&old).mint();
    assert_eq!(segment(&by_old, 0)["kid"], old.as_str());
    decode(&idp, &by_new, SigningAlg::Rs256).await;
    decode(&idp, &by_old, SigningAlg::Rs256).await;
    // A new algorithm can be added too.
    let ps = idp.add_key(SigningAlg::Ps384);
    assert_eq!(idp.kid_for(SigningAlg::Ps384), ps);
    let token = idp.token().audience(AUD).alg(SigningAlg::Ps384).mint();
    decode(&idp, &token, SigningAlg::Ps384).await;
}

#[tokio::test]
async fn missing_keys_are_errors_not_tokens() {
    let idp = AuthorizationServer::builder()
        .algorithms([SigningAlg::Es256])
        .start()
        .await
        .unwrap();
    let err = idp.token().alg(SigningAlg::Rs256).try_mint().unwrap_err();
    assert!(
        matches!(err, DevServerError::NoKey(SigningAlg::Rs256)),
        "{err}"
    );
    assert!(err.to_string().contains("add_key"), "{err}");
    let err = idp.token().signing_key("nope").try_mint().unwrap_err();
    assert!(matches!(err, DevServerError::UnknownKid(_)), "{err}");
    // Without RS256 the default is the first configured algorithm.
    let token = idp.token().audience(AUD).mint();
    assert_eq!(segment(&token, 0)["alg"], "ES256");
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| idp.rsa_public_key_der()));
    assert!(result.is_err());
}

// ---------------------------------------------------------------- minting

#[tokio::test]
async fn rs39_default_token_is_strict_rfc9068() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    let token = idp.token().mint();
    let header = segment(&token, 0);
    assert_eq!(
        Value::Object(header),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": idp.kid_for(SigningAlg::Rs256)})
    );
    let claims = segment(&token, 1);
    assert_eq!(claims["iss"], idp.issuer());
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["client_id"], "client-1");
    assert_eq!(claims["iat"], 1_800_000_000u64);
    assert_eq!(claims["exp"], 1_800_000_300u64);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(claims.get("aud").is_none());
    assert!(claims.get("scope").is_none());
    let other = segment(&idp.token().mint(), 1);
    assert_ne!(other["jti"], claims["jti"], "jti is unique");
    // The clock drives the timestamps.
    clock.advance(Duration::from_secs(100));
    assert_eq!(segment(&idp.token().mint(), 1)["iat"], 1_800_000_100u64);
}

#[tokio::test]
async fn rs37_minted_tokens_verify_with_the_served_jwks_for_every_alg() {
    let idp = AuthorizationServer::builder()
        .algorithms(SigningAlg::ALL)
        .start()
        .await
        .unwrap();
    for alg in SigningAlg::ALL {
        let token = idp
            .token()
            .audience(AUD)
            .scopes(["mcp:read"])
            .alg(alg)
            .mint();
        let header = segment(&token, 0);
        assert_eq!(header["alg"], alg.name());
        assert_eq!(header["kid"], idp.kid_for(alg));
        let claims = decode(&idp, &token, alg).await;
        assert_eq!(claims["scope"], "mcp:read");
    }
}

#[tokio::test]
async fn token_builder_overrides_claims_and_header() {
    let clock = ManualClock::at_unix(2_000_000_000);
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock))
        .start()
        .await
        .unwrap();
    let token = idp
        .token()
        .audiences(["https://a.example.com", "https://b.example.com"])
        .scopes(["mcp:read", "files:write"])
        .subject("alice")
        .client_id("cli")
        .issuer("https://elsewhere.example.com")
        .claim("exp", "tomorrow")
        .claim("roles", json!(["admin"]))
        .remove_claim("jti")
        .not_before(2_000_000_600)
        .issued_at(2_000_000_020)
        .kid(Some("made-up"))
        .typ(Some("JWT"))
        .header("crit", json!(["exp"]))
        .header("jku", "https://attacker.example/jwks")
        .mint();
    let header = segment(&token, 0);
    assert_eq!(header["kid"], "made-up");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["crit"], json!(["exp"]));
    assert_eq!(header["jku"], "https://attacker.example/jwks");
    let claims = segment(&token, 1);
    assert_eq!(
        claims["aud"],
        json!(["https://a.example.com", "https://b.example.com"])
    );
    assert_eq!(claims["scope"], "mcp:read files:write");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], "cli");
    assert_eq!(claims["iss"], "https://elsewhere.example.com");
    assert_eq!(claims["exp"], "tomorrow");
    assert_eq!(claims["roles"], json!(["admin"]));
    assert_eq!(claims["nbf"], 2_000_000_600u64);
    assert_eq!(claims["iat"], 2_000_000_020u64);
    assert!(claims.get("jti").is_none());

    let bare = idp.token().kid(None).typ(None).mint();
    let header = segment(&bare, 0);
    assert!(header.get("kid").is_none() && header.get("typ").is_none());
    assert_eq!(header["alg"], "RS256");

    let expired = segment(&idp.token().expired().mint(), 1);
    assert_eq!(expired["exp"], 2_000_000_000u64 - 600);
    let short = segment(&idp.token().expires_in(Duration::from_secs(30)).mint(), 1);
    assert_eq!(short["exp"], 2_000_000_030u64);
    let single = segment(&idp.token().audience(AUD).mint(), 1);
    assert_eq!(single["aud"], AUD);
}

#[tokio::test]
async fn rs37_attack_tokens() {
    mcp_auth::verify::ensure_crypto_provider();
    let idp = AuthorizationServer::start().await.unwrap();
    let rs_kid = idp.kid_for(SigningAlg::Rs256);

    let none = idp.token().audience(AUD).unsigned().mint();
    assert!(none.ends_with('.'));
    assert_eq!(segment(&none, 0)["alg"], "none");

    // HS256 with the RSA public key as the secret: verifies as HMAC, under the RSA kid.
    let der = idp.rsa_public_key_der();
    assert_eq!(der.first(), Some(&0x30), "DER SEQUENCE");
    let confused = idp.token().audience(AUD).sign_with_hs256(&der).mint();
    let header = segment(&confused, 0);
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("HS256"), Some(rs_kid.as_str()))
    );
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&[AUD]);
    jsonwebtoken::decode::<Value>(&confused, &DecodingKey::from_secret(&der), &validation).unwrap();

    // A foreign key: same kid, signature does not verify against the JWKS.
    let forged = idp.token().audience(AUD).sign_with_foreign_key().mint();
    assert_eq!(segment(&forged, 0)["kid"], rs_kid.as_str());
    let set = jwks(&idp).await;
    let key = DecodingKey::from_jwk(set.find(&rs_kid).unwrap()).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[AUD]);
    let err = jsonwebtoken::decode::<Value>(&forged, &key, &validation).unwrap_err();
    assert_eq!(
        *err.kind(),
        jsonwebtoken::errors::ErrorKind::InvalidSignature
    );
    // The foreign key is stable (created once per algorithm) and never published.
    let forged_again = idp.token().audience(AUD).sign_with_foreign_key().mint();
    assert_eq!(idp.key_ids().len(), 3);
    assert_eq!(
        introspect_basic(&idp, &forged_again).await.1,
        json!({"active": false})
    );

    // A lying alg header: ES256 claimed, RS256 signature.
    let lying = idp.token().header("alg", "ES256").mint();
    assert_eq!(segment(&lying, 0)["alg"], "ES256");
}

// ---------------------------------------------------------------- faults and counting

#[tokio::test]
async fn faults_apply_to_one_exact_path() {
    let idp = AuthorizationServer::start().await.unwrap();
    let jwks_uri = idp.jwks_uri();
    let oauth = format!("{}/.well-known/oauth-authorization-server", idp.origin());

    idp.set_fault("/.well-known/jwks.json", Fault::Status(503));
    let (status, body) = get(&jwks_uri).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "server_error");
    assert_eq!(get(&oauth).await.0, 200, "other paths are unaffected");

    idp.set_fault(&jwks_uri, Fault::Status(404));
    let (status, body) = get(&jwks_uri).await;
    assert_eq!((status, &body["error"]), (404, &json!("invalid_request")));

    idp.set_fault(
        &oauth,
        Fault::Body {
            status: 200,
            content_type: "text/html".into(),
            body: "<html>login</html>".into(),
        },
    );
    let response = client().get(&oauth).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(response.text().await.unwrap(), "<html>login</html>");

    idp.set_fault(&jwks_uri, Fault::json(200, &json!({"keys": "nope"})));
    assert_eq!(get(&jwks_uri).await.1, json!({"keys": "nope"}));

    idp.set_fault(&jwks_uri, Fault::Delay(Duration::from_millis(300)));
    let started = Instant::now();
    let (status, body) = get(&jwks_uri).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, 200);
    assert!(body["keys"].is_array(), "served normally after the delay");

    idp.set_fault(&jwks_uri, Fault::Status(7));
    assert_eq!(
        get(&jwks_uri).await.0,
        500,
        "an impossible status becomes 500"
    );

    idp.clear_faults();
    assert_eq!(get(&jwks_uri).await.0, 200);
    assert_eq!(get(&oauth).await.0, 200);
}

#[tokio::test]
async fn requests_are_counted_per_path_before_faults() {
    let idp = AuthorizationServer::builder()
        .issuer_path("/t")
        .start()
        .await
        .unwrap();
    assert_eq!(idp.total_requests(), 0);
    get(&idp.jwks_uri()).await;
    idp.set_fault(&idp.jwks_uri(), Fault::Status(500));
    get(&idp.jwks_uri()).await;
    client().post(idp.jwks_uri()).send().await.unwrap();
    get(&format!("{}/unknown", idp.origin())).await;
    assert_eq!(idp.requests("/t/.well-known/jwks.json"), 3);
    assert_eq!(idp.requests(&idp.jwks_uri()), 3);
    assert_eq!(idp.requests("t/.well-known/jwks.json"), 3);
    assert_eq!(idp.requests("/unknown"), 1);
    assert_eq!(idp.requests("/never"), 0);
    assert_eq!(idp.total_requests(), 4);
}

// ---------------------------------------------------------------- introspection (RS-42)

#[tokio::test]
async fn rs42_introspection_with_basic_and_post_auth() {
    let clock = ManualClock::at_unix(1_900_000_000);
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    let token = idp
        .opaque_token()
        .audience(AUD)
        .scopes(["mcp:read", "mcp:write"])
        .subject("alice")
        .client_id("cli")
        .claim("username", "alice@example.com")
        .mint();
    let expected = json!({
        "active": true,
        "token_type": "Bearer",
        "scope": "mcp:read mcp:write",
        "client_id": "cli",
        "sub": "alice",
        "aud": AUD,
        "iss": idp.issuer(),
        "iat": 1_900_000_000u64,
        "exp": 1_900_000_300u64,
        "username": "alice@example.com",
    });
    let (status, body) = introspect_basic(&idp, &token).await;
    assert_eq!((status, &body), (200, &expected));

    let (id, secret) = idp.introspection_client();
    let response = client()
        .post(idp.introspection_endpoint())
        .form(&[
            ("token", token.as_str()),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.json::<Value>().await.unwrap(), expected);

    // Expiry follows the server's clock.
    clock.advance(Duration::from_secs(300));
    assert_eq!(
        introspect_basic(&idp, &token).await.1,
        json!({"active": false})
    );
}

#[tokio::test]
async fn rs42_introspection_requires_client_authentication() {
    let idp = AuthorizationServer::start().await.unwrap();
    let token = idp.opaque_token().mint();
    let (id, secret) = idp.introspection_client();
    let url = idp.introspection_endpoint();

    let wrong_secret = client()
        .post(&url)
        .basic_auth(id, Some("wrong"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
    assert!(
        wrong_secret.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        wrong_secret.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let none = client()
        .post(&url)
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);

    let wrong_post = client()
        .post(&url)
        .form(&[
            ("token", token.as_str()),
            ("client_id", id),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_post.status(), 401);

    let wrong_id = client()
        .post(&url)
        .basic_auth("someone-else", Some(secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_id.status(), 401);

    let both = client()
        .post(&url)
        .basic_auth(id, Some(secret))
        .form(&[
            ("token", token.as_str()),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400);

    let missing_token = client()
        .post(&url)
        .basic_auth(id, Some(secret))
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing_token.status(), 400);

    let json_body = client()
        .post(&url)
        .basic_auth(id, Some(secret))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
}

#[tokio::test]
async fn rs42_unknown_inactive_and_revoked_tokens_are_only_active_false() {
    let idp = AuthorizationServer::start().await.unwrap();
    let inactive_only = json!({"active": false});
    for token in ["unknown", "", "a.b.c", "a.b.c.d.e"] {
        assert_eq!(
            introspect_basic(&idp, token).await,
            (200, inactive_only.clone()),
            "{token:?}"
        );
    }
    let off = idp.opaque_token().active(false).mint();
    assert_eq!(introspect_basic(&idp, &off).await.1, inactive_only);

    let revoked = idp.opaque_token().mint();
    assert_eq!(introspect_basic(&idp, &revoked).await.1["active"], true);
    idp.revoke(&revoked);
    assert_eq!(introspect_basic(&idp, &revoked).await.1, inactive_only);
}

#[tokio::test]
async fn rs42_forced_active_answers_true_after_exp() {
    let clock = ManualClock::at_unix(1_900_000_000);
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    let liar = idp
        .opaque_token()
        .expires_in(Duration::from_secs(10))
        .active(true)
        .mint();
    clock.advance(Duration::from_secs(60));
    let body = introspect_basic(&idp, &liar).await.1;
    assert_eq!(body["active"], true);
    assert_eq!(body["exp"], 1_900_000_010u64);
}

#[tokio::test]
async fn own_jwts_introspect_and_others_do_not() {
    let clock = ManualClock::at_unix(1_900_000_000);
    let idp = AuthorizationServer::builder()
        .clock(Arc::new(clock.clone()))
        .algorithms([SigningAlg::Rs256, SigningAlg::Es384])
        .start()
        .await
        .unwrap();
    for alg in [SigningAlg::Rs256, SigningAlg::Es384] {
        let token = idp
            .token()
            .audience(AUD)
            .scopes(["mcp:read"])
            .alg(alg)
            .mint();
        let body = introspect_basic(&idp, &token).await.1;
        assert_eq!(body["active"], true, "{alg}");
        assert_eq!(body["aud"], AUD);
        assert_eq!(body["scope"], "mcp:read");
        assert_eq!(body["token_type"], "Bearer");
    }
    let inactive_only = json!({"active": false});
    let cases = [
        ("unsigned", idp.token().unsigned().mint()),
        (
            "hs256",
            idp.token()
                .sign_with_hs256(&idp.rsa_public_key_der())
                .mint(),
        ),
        ("foreign", idp.token().sign_with_foreign_key().mint()),
        ("alg swap", idp.token().header("alg", "RS384").mint()),
        ("no kid", idp.token().kid(None).mint()),
        (
            "other iss",
            idp.token().issuer("https://elsewhere.example.com").mint(),
        ),
        ("expired", idp.token().expired().mint()),
        ("no exp", idp.token().remove_claim("exp").mint()),
        ("not yet", idp.token().not_before(1_900_000_600).mint()),
    ];
    for (name, token) in cases {
        assert_eq!(
            introspect_basic(&idp, &token).await.1,
            inactive_only,
            "{name}"
        );
    }
    let valid = idp.token().mint();
    let tampered = {
        let mut parts: Vec<&str> = valid.split('.').collect();
        let claims = URL_SAFE_NO_PAD.encode(br#"{"iss":"x","exp":99999999999}"#);
        parts[1] = &claims;
        parts.join(".")
    };
    assert_eq!(introspect_basic(&idp, &tampered).await.1, inactive_only);
    idp.revoke(&valid);
    assert_eq!(introspect_basic(&idp, &valid).await.1, inactive_only);
}

// ---------------------------------------------------------------- token endpoint

#[tokio::test]
async fn token_endpoint_issues_client_credentials_tokens() {
    let idp = AuthorizationServer::start().await.unwrap();
    let (id, secret) = idp.introspection_client();
    let response = client()
        .post(idp.token_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", AUD),
            ("scope", "mcp:read mcp:write"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "mcp:read mcp:write");
    let token = body["access_token"].as_str().unwrap();
    let claims = decode(&idp, token, SigningAlg::Rs256).await;
    assert_eq!(claims["aud"], AUD);
    assert_eq!(claims["scope"], "mcp:read mcp:write");
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["client_id"], id);
    assert_eq!(segment(token, 0)["typ"], "at+jwt");

    // client_secret_post, two resources, no scope.
    let body: Value = client()
        .post(idp.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("resource", "https://a.example.com/"),
            ("resource", "https://b.example.com/"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("scope").is_none());
    let claims = segment(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["aud"],
        json!(["https://a.example.com/", "https://b.example.com/"])
    );
    assert!(claims.get("scope").is_none());
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc6749() {
    let idp = AuthorizationServer::builder()
        .client_credentials("my client", "s:cret")
        .start()
        .await
        .unwrap();
    assert_eq!(idp.introspection_client(), ("my client", "s:cret"));
    let post = |form: Vec<(&'static str, &'static str)>,
                basic: Option<(&'static str, &'static str)>| {
        let mut request = client().post(idp.token_endpoint()).form(&form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let good = Some(("my client", "s:cret"));
    let cc = ("grant_type", "client_credentials");
    assert_eq!(post(vec![cc], good).await, (200, String::new()));
    assert_eq!(
        post(vec![cc], Some(("my client", "nope"))).await,
        (401, "invalid_client".into())
    );
    assert_eq!(post(vec![cc], None).await, (401, "invalid_client".into()));
    assert_eq!(
        post(vec![("grant_type", "password")], good).await,
        (400, "unsupported_grant_type".into())
    );
    // The introspection client has no redirect URI and only client_credentials.
    assert_eq!(
        post(vec![("grant_type", "authorization_code")], good).await,
        (400, "unauthorized_client".into())
    );
    assert_eq!(post(vec![], good).await, (400, "invalid_request".into()));
    assert_eq!(
        post(vec![cc, cc], good).await,
        (400, "invalid_request".into())
    );
    assert_eq!(
        post(vec![cc, ("scope", "a  b")], good).await,
        (400, "invalid_scope".into())
    );
    assert_eq!(
        post(vec![cc, ("scope", "a\"b")], good).await,
        (400, "invalid_scope".into())
    );
    assert_eq!(
        post(vec![cc, ("resource", "/relative")], good).await,
        (400, "invalid_target".into())
    );
    assert_eq!(
        post(vec![cc, ("resource", "https://a.example.com/#frag")], good).await,
        (400, "invalid_target".into())
    );
}

// ---------------------------------------------------------------- metadata documents

#[tokio::test]
async fn rs43_auth0_fixture_is_served_with_the_issuer_rewritten() {
    let idp = AuthorizationServer::builder()
        .metadata_document(fixture("auth0-oidc.json"))
        .discovery(Discovery::OidcOnly)
        .start()
        .await
        .unwrap();
    let o = idp.origin();
    assert_eq!(idp.issuer(), format!("{o}/"));
    let (status, doc) = get(&format!("{o}/.well-known/openid-configuration")).await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], idp.issuer());
    assert_eq!(doc["jwks_uri"], format!("{o}/.well-known/jwks.json"));
    assert_eq!(doc["jwks_uri"], idp.jwks_uri());
    assert_eq!(doc["authorization_endpoint"], format!("{o}/authorize"));
    assert_eq!(doc["token_endpoint"], idp.token_endpoint());
    // Everything else is as served by Auth0.
    let original = fixture("auth0-oidc.json");
    assert_eq!(
        doc["code_challenge_methods_supported"],
        original["code_challenge_methods_supported"]
    );
    assert_eq!(
        doc.as_object().unwrap().len(),
        original.as_object().unwrap().len()
    );
    assert!(!doc.to_string().contains("auth0.com"));
    let set = jwks(&idp).await;
    assert_eq!(set.keys.len(), 3);
    assert_eq!(
        get(&format!("{o}/.well-known/oauth-authorization-server"))
            .await
            .0,
        404
    );
    // A token endpoint at the rewritten path works.
    let (id, secret) = idp.introspection_client();
    let response = client()
        .post(idp.token_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("resource", AUD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn rs43_supabase_fixture_keeps_its_issuer_path() {
    let idp = AuthorizationServer::builder()
        .metadata_document(fixture("supabase-oauth.json"))
        .discovery(Discovery::OAuthOnly)
        .start()
        .await
        .unwrap();
    let o = idp.origin();
    assert_eq!(idp.issuer(), format!("{o}/auth/v1"));
    let (status, doc) = get(&format!(
        "{o}/.well-known/oauth-authorization-server/auth/v1"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], idp.issuer());
    assert_eq!(
        doc["jwks_uri"],
        format!("{o}/auth/v1/.well-known/jwks.json")
    );
    let (status, keys) = get(&format!("{o}/auth/v1/.well-known/jwks.json")).await;
    assert_eq!(status, 200);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 3);
    assert_eq!(idp.token_endpoint(), format!("{o}/auth/v1/oauth/token"));
    // No introspection endpoint in the document: the default path under the issuer.
    assert_eq!(
        idp.introspection_endpoint(),
        format!("{o}/auth/v1/introspect")
    );
    let token = idp.token().audience(AUD).mint();
    assert_eq!(segment(&token, 1)["iss"], idp.issuer());
    decode(&idp, &token, SigningAlg::Rs256).await;
}

#[tokio::test]
async fn rs43_entra_fixture_with_a_template_issuer_is_reachable() {
    let idp = AuthorizationServer::builder()
        .metadata_document(fixture("entra-common-oidc.json"))
        .discovery(Discovery::OidcAppendOnly)
        .start()
        .await
        .unwrap();
    let o = idp.origin();
    assert_eq!(idp.issuer(), format!("{o}/{{tenantid}}/v2.0"));
    let url = format!("{}/.well-known/openid-configuration", idp.issuer());
    let (status, doc) = get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], idp.issuer());
    let (status, _) = get(&idp.jwks_uri()).await;
    assert_eq!(status, 200);
    assert_eq!(idp.requests(&url), 1);
}

#[tokio::test]
async fn every_fixture_starts_and_serves_its_jwks() {
    let dir = format!(
        "{}/../../tests/fixtures/providers",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    for name in names {
        let idp = AuthorizationServer::builder()
            .metadata_document(fixture(&name))
            .algorithms([SigningAlg::Es256])
            .start()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for url in idp.well_known_urls() {
            let (status, doc) = get(&url).await;
            assert_eq!(status, 200, "{name} {url}");
            assert_eq!(doc["issuer"], idp.issuer(), "{name}");
        }
        assert_eq!(get(&idp.jwks_uri()).await.0, 200, "{name}");
    }
}

// ---------------------------------------------------------------- builder errors and lifecycle

#[tokio::test]
async fn builder_errors_name_the_setting() {
    let err = AuthorizationServer::builder()
        .algorithms([])
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, DevServerError::NoAlgorithms), "{err}");
    let err = AuthorizationServer::builder()
        .issuer_path("tenant1")
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("issuer_path `tenant1` must start with `/`"),
        "{err}"
    );
    let err = AuthorizationServer::builder()
        .issuer_path("/t")
        .metadata_document(json!({"issuer": "https://x.example.com"}))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, DevServerError::ConflictingIssuer), "{err}");
    for bad in [
        json!([]),
        json!({}),
        json!({"issuer": 3}),
        json!({"issuer": "urn:x"}),
    ] {
        let err = AuthorizationServer::builder()
            .metadata_document(bad.clone())
            .start()
            .await
            .unwrap_err();
        assert!(
            matches!(err, DevServerError::InvalidMetadataDocument(_)),
            "{bad}: {err}"
        );
    }
    let err = AuthorizationServer::builder()
        .metadata_document(json!({
            "issuer": "https://x.example.com",
            "jwks_uri": "https://x.example.com/same",
            "token_endpoint": "https://x.example.com/same",
        }))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("token_endpoint"), "{err}");
    let err = AuthorizationServer::builder()
        .jwks_cache_control("max-age=1\n")
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(err, DevServerError::InvalidCacheControl(_)),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_stops_when_the_last_handle_drops() {
    let idp = AuthorizationServer::start().await.unwrap();
    let clone = idp.clone();
    let url = idp.jwks_uri();
    drop(idp);
    assert_eq!(get(&url).await.0, 200, "a clone keeps it running");
    drop(clone);
    let mut stopped = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        if fresh.get(&url).send().await.is_err() {
            stopped = true;
            break;
        }
    }
    assert!(
        stopped,
        "the server still answers after the last handle dropped"
    );
}

#[tokio::test]
async fn a_fixed_port_gives_a_fixed_issuer_and_a_taken_port_fails_to_bind() {
    // Find a free port, release it, start there (another process could take it in between;
    // then `start` fails with `Bind`, which the second half of the test checks anyway).
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let idp = AuthorizationServer::builder()
        .port(port)
        .start()
        .await
        .unwrap();
    assert_eq!(idp.issuer(), format!("http://127.0.0.1:{port}"));
    let (status, metadata) = get(&format!(
        "http://127.0.0.1:{port}/.well-known/oauth-authorization-server"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(metadata["issuer"], idp.issuer());

    let taken = AuthorizationServer::builder().port(port).start().await;
    assert!(
        matches!(taken, Err(DevServerError::Bind(_))),
        "the port is in use by the first server"
    );
}

// ---------------------------------------------------------------- DPoP (RFC 9449)

#[tokio::test]
async fn token_endpoint_binds_tokens_to_dpop_proofs_with_a_nonce_round_trip() {
    let idp = AuthorizationServer::builder()
        .dpop_nonce(true)
        .start()
        .await
        .unwrap();
    let (id, secret) = idp.introspection_client();
    let key = DpopKey::generate_es256();
    let request = |proof: String| {
        client()
            .post(idp.token_endpoint())
            .basic_auth(id, Some(secret))
            .header("DPoP", proof)
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", AUD),
                ("scope", "mcp:read"),
            ])
    };
    // No nonce yet: use_dpop_nonce with a DPoP-Nonce (RFC 9449 §8).
    let first = request(key.proof("POST", &idp.token_endpoint(), None, None))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 400);
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");
    // With it: a DPoP-bound token.
    let response = request(key.proof("POST", &idp.token_endpoint(), None, Some(&nonce)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap();
    let claims = decode(&idp, token, SigningAlg::Rs256).await;
    assert_eq!(claims["cnf"]["jkt"], key.thumbprint());
    let introspected = introspect_basic(&idp, token).await.1;
    assert_eq!(introspected["token_type"], "DPoP");
    // A proof for another URL: invalid_dpop_proof.
    let bad = request(key.proof("POST", "http://127.0.0.1:1/token", None, Some(&nonce)))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
    // Minted by hand, bound to a thumbprint.
    let minted = idp.token().dpop_jkt(key.thumbprint()).mint();
    assert_eq!(segment(&minted, 1)["cnf"]["jkt"], key.thumbprint());
    let metadata: Value = client()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            idp.origin()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        metadata["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
}

#[tokio::test]
async fn server_config_is_the_metadata_discovery_would_fetch() {
    for builder in [
        AuthorizationServer::builder(),
        AuthorizationServer::builder().metadata_document(fixture("auth0-oidc.json")),
    ] {
        let idp = builder.start().await.unwrap();
        let given = idp.server_config().unwrap();
        let fetched = mcp_auth::discovery::fetch_server_config(
            idp.issuer(),
            mcp_auth::discovery::DiscoveryKind::Auto,
        )
        .await
        .unwrap();
        assert_eq!(given.metadata(), fetched.metadata());
        assert_eq!(given.issuer(), idp.issuer());
        assert_eq!(given.jwks_uri(), Some(idp.jwks_uri().as_str()));
        assert_eq!(given.source_url(), None, "no request was made");
    }
}
