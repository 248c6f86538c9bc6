//! One test per real provider discovery document in `tests/fixtures/providers/` (see its
//! README): the document is served by the development authorization server (moved to its origin,
//! otherwise as served: members, issuer trailing slash, oauth or OIDC location), discovered with
//! `fetch_server_config(issuer, DiscoveryKind::Auto)` as a user would, and an access token shaped
//! like that provider's real ones (header `typ`, where the scopes are, the audience, the claims
//! it leaves out) is sent over loopback HTTP to an axum route behind `auth.bearer(id)`.
//!
//! Each test proves the line of the README's "Providers" table: with the settings the line names
//! the request gets 200, and without any one of them it is refused, for the reason that setting
//! exists. Providers whose tokens this library cannot verify get a test that shows what happens.
//!
//! Token shapes come from each provider's documentation or source; every detail that could not
//! be confirmed there says so where the token is minted.
//!
//! Every provider with a [`Preset`] also proves it (`Provider::preset_accepts`): built from the
//! fixture's own parts it names the fixture's issuer, its discovery kind finds the served
//! document, it makes every setting the line proves necessary, and the provider-shaped token gets
//! 200 with the preset alone (plus introspection, which no preset makes).

use std::future::Future;

use axum::Router;
use axum::routing::post;
use mcp_auth::discovery::{AuthServerConfig, DiscoveryKind, fetch_server_config};
use mcp_auth::introspection::{ClientAuth, IntrospectionVerifier};
use mcp_auth::presets::{Preset, PresetSetting};
use mcp_auth::verify::{ClaimsProfile, ScopeClaim, TypPolicy, VerifyOptions};
use mcp_auth::{ConfigError, ProtectedResource, ResourceServer};
use mcp_auth_dev::{AuthorizationServer, Discovery, Fault, SigningAlg};
use mcp_auth_tests::{bind, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};

// --- serving and discovering a fixture -------------------------------------------------------

fn fixture(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/providers")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Replaces `from` with `to` in every string of `value`, at any depth.
fn replace_in_strings(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) => *s = s.replace(from, to),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace_in_strings(v, from, to)),
        Value::Object(members) => members
            .values_mut()
            .for_each(|v| replace_in_strings(v, from, to)),
        _ => {}
    }
}

/// The location real providers serve a document kind at: an OIDC document at the OpenID
/// Connect Discovery 1.0 URL (`{issuer}/.well-known/openid-configuration`) only, an RFC 8414
/// document at the RFC 8414 URL only.
fn location(file: &str) -> Discovery {
    if file.ends_with("-oauth.json") {
        Discovery::OAuthOnly
    } else {
        Discovery::OidcAppendOnly
    }
}

/// A provider document served by the development server, and what discovery found in it.
struct Provider {
    idp: AuthorizationServer,
    config: AuthServerConfig,
}

impl Provider {
    /// Serves `file` at its kind's location and discovers it in `Auto` mode.
    async fn serve(file: &str) -> Self {
        Self::serve_document(fixture(file), location(file)).await
    }

    async fn serve_document(document: Value, discovery: Discovery) -> Self {
        let idp = AuthorizationServer::builder()
            .metadata_document(document)
            .discovery(discovery)
            .start()
            .await
            .unwrap();
        Self::discover(idp).await
    }

    async fn discover(idp: AuthorizationServer) -> Self {
        let config = fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
            .await
            .unwrap();
        assert_eq!(
            config.issuer(),
            idp.issuer(),
            "the issuer is kept byte for byte"
        );
        Self { idp, config }
    }

    fn issuer(&self) -> &str {
        self.idp.issuer()
    }

    /// The discovered document's URL ends with `well_known_suffix`.
    fn found_at(&self, well_known_suffix: &str) {
        let url = self.config.source_url().unwrap();
        assert!(url.ends_with(well_known_suffix), "found at {url}");
    }

    /// What the dev server's introspection client authenticates with.
    fn client_auth(&self) -> ClientAuth {
        let (id, secret) = self.idp.introspection_client();
        ClientAuth::basic(id, secret)
    }

    /// With every setting, `token(id)` gets 200 at a route requiring `scopes`; without any one
    /// of them it is refused the way that setting's absence is refused (or the resource does not
    /// build, for introspection on a server without keys).
    async fn proves(&self, scopes: &[&str], settings: &[Setting], token: impl Fn(&str) -> String) {
        self.proves_with(&self.config, scopes, settings, |id| {
            let token = token(id);
            async move { token }
        })
        .await;
    }

    async fn proves_with<F, Fut>(
        &self,
        config: &AuthServerConfig,
        scopes: &[&str],
        settings: &[Setting],
        token: F,
    ) where
        F: Fn(&str) -> Fut,
        Fut: Future<Output = String>,
    {
        let app = App::start(config, scopes, settings).await.unwrap();
        let (status, challenge) = app.call(&token(&app.id).await).await;
        assert_eq!(status, StatusCode::OK, "with {settings:?}: {challenge}");
        for (i, missing) in settings.iter().enumerate() {
            let rest: Vec<Setting> = settings
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, s)| s.clone())
                .collect();
            let app = match App::start(config, scopes, &rest).await {
                Ok(app) => app,
                Err(e) if matches!(missing, Setting::Introspection(_)) => {
                    assert!(e.to_string().contains("jwks_uri"), "{e}");
                    continue;
                }
                Err(e) => panic!("without {missing:?}: {e}"),
            };
            let (status, challenge) = app.call(&token(&app.id).await).await;
            let (expected, reason) = missing.refusal();
            assert_eq!(status, expected, "without {missing:?}: {challenge}");
            assert!(
                challenge.contains(reason),
                "without {missing:?}, refused for another reason: {challenge}"
            );
        }
    }

    /// `preset` is enough for `token(id)` on this server: its discovery kind finds the served
    /// document (the same issuer), `preset.settings()` makes every one of `settings` (the ones
    /// [`proves`](Self::proves) showed necessary), and with the preset, plus introspection
    /// when `settings` has it (no preset makes it), the token gets 200 at a route requiring
    /// `scopes`.
    async fn preset_accepts(
        &self,
        preset: &Preset,
        scopes: &[&str],
        settings: &[Setting],
        token: impl Fn(&str) -> String,
    ) {
        let name = preset.provider();
        let config = fetch_server_config(self.issuer(), preset.discovery())
            .await
            .unwrap_or_else(|e| panic!("{name}: {:?} discovery: {e}", preset.discovery()));
        assert_eq!(config.issuer(), self.issuer(), "{name}");
        let made = preset.settings();
        let mut introspection = None;
        for setting in settings {
            let needed = match setting {
                Setting::AcceptJwtTyp => PresetSetting::AcceptJwtTyp,
                Setting::LenientClaims => PresetSetting::LenientClaims,
                Setting::ScpClaim => PresetSetting::ScpClaim,
                Setting::ExtraAudience(aud) => PresetSetting::Audience(aud.clone()),
                Setting::Introspection(client) => {
                    introspection = Some(client.clone());
                    continue;
                }
            };
            assert!(
                made.contains(&needed),
                "{name} preset lacks {setting:?}: {made:?}"
            );
        }
        let app = App::start_with(&config, scopes, |r| {
            let r = r.preset(preset);
            match introspection {
                Some(client) => r.introspection(client),
                None => r,
            }
        })
        .await
        .unwrap();
        let (status, challenge) = app.call(&token(&app.id)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{name} preset {made:?}: {challenge}"
        );
    }
}

/// The `issuer` member of `file` as published (before the move to the development server).
fn published_issuer(file: &str) -> String {
    fixture(file)["issuer"].as_str().unwrap().to_owned()
}

// --- the settings of the README's table ------------------------------------------------------

/// One setting of the README's table: its `#[mcp_resource]` key (when it has one) and its
/// runtime call on `ProtectedResource`.
#[derive(Clone)]
enum Setting {
    /// `accept_jwt_typ = true` · `.verify(|v| v.typ(TypPolicy::AllowJwt))`
    AcceptJwtTyp,
    /// `lenient_claims = true` · `.verify(|v| v.claims(ClaimsProfile::Lenient))`
    LenientClaims,
    /// `scope_claim = "scp"` · `.verify(|v| v.scope_claims([ScopeClaim::Scope, ScopeClaim::Scp]))`
    ScpClaim,
    /// `.verify(|v| v.extra_audience(..))`
    ExtraAudience(String),
    /// `.introspection(ClientAuth::basic(..))`
    Introspection(ClientAuth),
}

impl std::fmt::Debug for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AcceptJwtTyp => f.write_str("accept_jwt_typ"),
            Self::LenientClaims => f.write_str("lenient_claims"),
            Self::ScpClaim => f.write_str("scope_claim = \"scp\""),
            Self::ExtraAudience(aud) => write!(f, "extra_audience({aud:?})"),
            Self::Introspection(_) => f.write_str("introspection"),
        }
    }
}

impl Setting {
    fn audience(aud: impl Into<String>) -> Self {
        Self::ExtraAudience(aud.into())
    }

    fn apply(&self, resource: ProtectedResource) -> ProtectedResource {
        match self {
            Self::AcceptJwtTyp => resource.verify(|v| v.typ(TypPolicy::AllowJwt)),
            Self::LenientClaims => resource.verify(|v| v.claims(ClaimsProfile::Lenient)),
            Self::ScpClaim => {
                resource.verify(|v| v.scope_claims([ScopeClaim::Scope, ScopeClaim::Scp]))
            }
            Self::ExtraAudience(aud) => resource.verify(|v| v.extra_audience(aud.clone())),
            Self::Introspection(client) => resource.introspection(client.clone()),
        }
    }

    /// The status and the `WWW-Authenticate` fragment a token gets when this setting is missing.
    fn refusal(&self) -> (StatusCode, &'static str) {
        match self {
            Self::AcceptJwtTyp => (StatusCode::UNAUTHORIZED, "typ header"),
            Self::LenientClaims => (StatusCode::UNAUTHORIZED, "has no `"),
            Self::ScpClaim => (StatusCode::FORBIDDEN, "insufficient_scope"),
            Self::ExtraAudience(_) => (StatusCode::UNAUTHORIZED, "audience"),
            // An opaque token reaches the JWT verifier.
            Self::Introspection(_) => (StatusCode::UNAUTHORIZED, "malformed"),
        }
    }
}

// --- the MCP endpoint ------------------------------------------------------------------------

/// `POST {origin}/mcp` behind `auth.bearer(id)`, over loopback HTTP.
struct App {
    id: String,
    http: reqwest::Client,
}

impl App {
    async fn start(
        config: &AuthServerConfig,
        scopes: &[&str],
        settings: &[Setting],
    ) -> Result<Self, ConfigError> {
        Self::start_with(config, scopes, |r| {
            settings.iter().fold(r, |r, setting| setting.apply(r))
        })
        .await
    }

    async fn start_with(
        config: &AuthServerConfig,
        scopes: &[&str],
        edit: impl FnOnce(ProtectedResource) -> ProtectedResource,
    ) -> Result<Self, ConfigError> {
        let (listener, origin) = bind().await;
        let id = format!("{origin}/mcp");
        let auth = ResourceServer::builder()
            .resource(edit(
                ProtectedResource::new(&id).authorization_server(config.clone()),
            ))
            .build()?;
        let app = Router::new()
            .route("/mcp", post(|| async { "ok" }))
            .layer(auth.bearer(&id).required_scopes(scopes.iter().copied()))
            .merge(auth.metadata_router());
        spawn(listener, app);
        Ok(Self {
            id,
            http: reqwest::Client::new(),
        })
    }

    /// The status and the `WWW-Authenticate` header (empty when there is none).
    async fn call(&self, token: &str) -> (StatusCode, String) {
        let response = self
            .http
            .post(&self.id)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), challenge)
    }
}

// --- the providers ---------------------------------------------------------------------------

/// Auth0's default "Auth0" token profile: `typ: JWT`, `azp` in place of `client_id`, no `jti`,
/// `aud` = [the API identifier, `{issuer}userinfo`] (RFC 9068 profile comparison table,
/// auth0.com/docs/secure/tokens/access-tokens/access-token-profiles). The API identifier is
/// the MCP server's URL, so `aud` names the resource.
fn auth0_default_profile(p: &Provider, id: &str) -> String {
    p.idp
        .token()
        .typ(Some("JWT"))
        .subject("auth0|6553da60a54af58e29493993")
        .audiences([id.to_owned(), format!("{}userinfo", p.issuer())])
        .remove_claim("client_id")
        .remove_claim("jti")
        .claim("azp", "K1AUPhZq8mRi0Q0pjhkfu1D7y6KjDQja")
        .scopes(["openid", "profile", "mcp:read"])
        .mint()
}

/// `Preset::auth0` for the tenant `file` is published by (fixture README) names its issuer, and
/// takes the default profile's token on the served document.
async fn auth0_preset(p: &Provider, file: &str, domain: &str) -> Preset {
    let preset = Preset::auth0(domain);
    assert_eq!(preset.issuer(), published_issuer(file));
    p.preset_accepts(
        &preset,
        &["mcp:read"],
        &[Setting::AcceptJwtTyp, Setting::LenientClaims],
        |id| auth0_default_profile(p, id),
    )
    .await;
    preset
}

#[tokio::test]
async fn provider_auth0() {
    let p = Provider::serve("auth0-oidc.json").await;
    p.found_at("/.well-known/openid-configuration");
    assert!(p.issuer().ends_with('/'), "Auth0's issuer ends with `/`");
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_none());
    p.proves(
        &["mcp:read"],
        &[Setting::AcceptJwtTyp, Setting::LenientClaims],
        |id| auth0_default_profile(&p, id),
    )
    .await;
    // The "RFC 9068" token profile (chosen per API) needs nothing: `typ: at+jwt`, `client_id`
    // and `jti` (same page).
    let rfc9068 = |id: &str| {
        p.idp
            .token()
            .subject("auth0|6553da60a54af58e29493993")
            .audiences([id.to_owned(), format!("{}userinfo", p.issuer())])
            .client_id("K1AUPhZq8mRi0Q0pjhkfu1D7y6KjDQja")
            .scopes(["openid", "profile", "mcp:read"])
            .mint()
    };
    p.proves(&["mcp:read"], &[], rfc9068).await;
    // The preset takes both profiles.
    let preset = auth0_preset(&p, "auth0-oidc.json", "sanand.us.auth0.com").await;
    p.preset_accepts(&preset, &["mcp:read"], &[], rfc9068).await;
}

#[tokio::test]
async fn provider_auth0_2023() {
    // The older tenant shape (no `end_session_endpoint`) discovers and verifies the same way.
    let p = Provider::serve("auth0-2023-oidc.json").await;
    p.found_at("/.well-known/openid-configuration");
    assert!(p.issuer().ends_with('/'));
    p.proves(
        &["mcp:read"],
        &[Setting::AcceptJwtTyp, Setting::LenientClaims],
        |id| auth0_default_profile(&p, id),
    )
    .await;
    auth0_preset(
        &p,
        "auth0-2023-oidc.json",
        "dev-ltxchcls4igzho78.us.auth0.com",
    )
    .await;
}

#[tokio::test]
async fn provider_authentik() {
    let p = Provider::serve("authentik-oidc.json").await;
    p.found_at("/application/o/hireling/.well-known/openid-configuration");
    assert!(p.issuer().ends_with('/'), "per-application issuer with `/`");
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_some());
    // authentik's access token is its ID token's claims plus `azp` and `uid`
    // (`IDToken.to_access_token`, authentik/providers/oauth2/id_token.py), encoded by PyJWT with
    // only `kid` given, so PyJWT's default `typ: JWT`. `aud` is the client id; there is no
    // `client_id`, no `jti` and no `scope` claim (scopes appear in the introspection answer
    // only).
    const CLIENT_ID: &str = "hireling-mcp";
    let token = |_id: &str| {
        p.idp
            .token()
            .typ(Some("JWT"))
            .subject("9d1c5fbb2f4fd5a1c2c0e6ba0fde5c3d0bf5a1d3")
            .audience(CLIENT_ID)
            .remove_claim("client_id")
            .remove_claim("jti")
            .claim("auth_time", 1_700_000_000)
            .claim("acr", "goauthentik.io/providers/oauth2/default")
            .claim("amr", json!(["pwd"]))
            .claim("sid", "7f1c0c7b5d6e4b8a9c0d1e2f3a4b5c6d")
            .claim("azp", CLIENT_ID)
            .claim("uid", "Yx1CvIVPZTbNIbtz1RVkKmkVQO2rT6vE")
            .mint()
    };
    let settings = [
        Setting::AcceptJwtTyp,
        Setting::LenientClaims,
        Setting::audience(CLIENT_ID),
    ];
    p.proves(&[], &settings, token).await;
    // The preset: base URL and application slug from the served issuer, the client id.
    let base = p.issuer().strip_suffix("/application/o/hireling/").unwrap();
    let preset = Preset::authentik(base, "hireling", CLIENT_ID);
    assert_eq!(preset.issuer(), p.issuer());
    p.preset_accepts(&preset, &[], &settings, token).await;
    // Without a `scope` claim, a route that requires a scope refuses every such token.
    let app = App::start(
        &p.config,
        &["mcp:read"],
        &[
            Setting::AcceptJwtTyp,
            Setting::LenientClaims,
            Setting::audience(CLIENT_ID),
        ],
    )
    .await
    .unwrap();
    assert_eq!(app.call(&token(&app.id)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn provider_aws_cognito() {
    let p = Provider::serve("aws-cognito-oidc.json").await;
    p.found_at("/eu-west-1_ZLiEFD4b6/.well-known/openid-configuration");
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_none());
    // Cognito's access token (docs.aws.amazon.com/cognito/latest/developerguide/
    // amazon-cognito-user-pools-using-the-access-token.html): header `kid` and `alg` only, no
    // `typ`; `client_id`, `token_use: access`, `scope` (custom scopes are
    // `{resource server}/{scope}`), `jti` and `origin_jti` (token revocation), and no `aud`.
    let cognito = |aud: Option<&str>| {
        let token = p
            .idp
            .token()
            .typ(None)
            .subject("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
            .client_id("1example23456789")
            .claim("origin_jti", "bbbbbbbb-1111-2222-3333-cccccccccccc")
            .claim("event_id", "cccccccc-4444-5555-6666-dddddddddddd")
            .claim("token_use", "access")
            .claim("version", 2)
            .claim("auth_time", 1_700_000_000)
            .claim("username", "my-test-user")
            .scopes(["mcp/read"]);
        match aud {
            Some(aud) => token.audience(aud).mint(),
            None => token.mint(),
        }
    };
    // Default tokens have no `aud`: refused whatever the settings (not supported).
    let app = App::start(
        &p.config,
        &["mcp/read"],
        &[Setting::AcceptJwtTyp, Setting::LenientClaims],
    )
    .await
    .unwrap();
    let (status, challenge) = app.call(&cognito(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("no `aud` claim"), "{challenge}");
    // With resource indicators (Managed Login, Essentials or Plus plan), `aud` is the requested
    // resource. That it is a single string, not an array, is not confirmed (the verifier takes
    // either).
    p.proves(&["mcp/read"], &[Setting::AcceptJwtTyp], |id| {
        cognito(Some(id))
    })
    .await;
    let preset = Preset::cognito("eu-west-1", "eu-west-1_ZLiEFD4b6");
    assert_eq!(preset.issuer(), published_issuer("aws-cognito-oidc.json"));
    p.preset_accepts(&preset, &["mcp/read"], &[Setting::AcceptJwtTyp], |id| {
        cognito(Some(id))
    })
    .await;
}

#[tokio::test]
async fn provider_cloudflare() {
    let p = Provider::serve("cloudflare-oauth.json").await;
    p.found_at("/.well-known/oauth-authorization-server");
    // workers-oauth-provider checks its own opaque tokens inside the Worker (its storage holds
    // only hashes of them); the document has neither `jwks_uri` nor `introspection_endpoint`.
    assert!(p.config.jwks_uri().is_none());
    assert!(p.config.introspection_endpoint().is_none());
    let Err(keys) = App::start(&p.config, &[], &[]).await else {
        panic!("a resource without keys must not build");
    };
    assert!(keys.to_string().contains("no `jwks_uri`"), "{keys}");
    let Err(introspection) =
        App::start(&p.config, &[], &[Setting::Introspection(p.client_auth())]).await
    else {
        panic!("introspection without an endpoint must not build");
    };
    assert!(
        introspection
            .to_string()
            .contains("advertises an `introspection_endpoint`"),
        "{introspection}"
    );
}

#[tokio::test]
async fn provider_entra_common() {
    // The per-tenant document is the `common` one with the tenant in place of `{tenantid}` and
    // of `common` in the endpoint URLs; the `common` issuer itself is a template no token has.
    const TENANT: &str = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
    // The API's application (client) id: the `aud` of v2.0 tokens ("In v2.0 tokens, this value
    // is always the client ID of the API", access-token-claims-reference).
    const API_CLIENT_ID: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    let mut document = fixture("entra-common-oidc.json");
    replace_in_strings(&mut document, "{tenantid}", TENANT);
    replace_in_strings(
        &mut document,
        "login.microsoftonline.com/common/",
        &format!("login.microsoftonline.com/{TENANT}/"),
    );
    // Entra's JWKS states no `alg`.
    let idp = AuthorizationServer::builder()
        .metadata_document(document)
        .discovery(Discovery::OidcAppendOnly)
        .publish_key_alg(false)
        .start()
        .await
        .unwrap();
    let p = Provider::discover(idp).await;
    p.found_at(&format!("/{TENANT}/v2.0/.well-known/openid-configuration"));
    assert!(p.config.jwks_uri().unwrap().contains(TENANT));
    // A v2.0 access token: header `typ: JWT` (always); `scp` a space-separated string; `azp`,
    // no `client_id`; `uti`, no `jti`; `ver: 2.0`.
    let token = |_id: &str| {
        p.idp
            .token()
            .typ(Some("JWT"))
            .audience(API_CLIENT_ID)
            .subject("AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ")
            .remove_claim("client_id")
            .remove_claim("jti")
            .not_before(1_700_000_000)
            .claim("aio", "AXQAi/8UAAAA")
            .claim("azp", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c")
            .claim("azpacr", "0")
            .claim("name", "Abe Lincoln")
            .claim("oid", "690222be-ff1a-4d56-abd1-7e4f7d38e474")
            .claim("preferred_username", "abeli@microsoft.com")
            .claim("rh", "I")
            .claim("scp", "mcp.read profile")
            .claim("tid", TENANT)
            .claim("uti", "fqiBqXLPj0eQa82S-IYFAA")
            .claim("ver", "2.0")
            .mint()
    };
    let settings = [
        Setting::AcceptJwtTyp,
        Setting::LenientClaims,
        Setting::ScpClaim,
        Setting::audience(API_CLIENT_ID),
    ];
    p.proves(&["mcp.read"], &settings, token).await;
    // The preset for the tenant `{tenantid}` names the published template issuer.
    let preset = Preset::entra("{tenantid}", API_CLIENT_ID);
    assert_eq!(preset.issuer(), published_issuer("entra-common-oidc.json"));
    p.preset_accepts(&preset, &["mcp.read"], &settings, token)
        .await;
}

#[tokio::test]
async fn provider_google() {
    let p = Provider::serve("google-oidc.json").await;
    p.found_at("/.well-known/openid-configuration");
    // The keys are for ID tokens. Google's access tokens are opaque (`ya29.…`), checked with the
    // non-standard tokeninfo endpoint, and the document advertises no RFC 7662 endpoint.
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_none());
    let app = App::start(&p.config, &[], &[]).await.unwrap();
    let (status, challenge) = app
        .call("ya29.a0AfB_byC1hGz8kVfQbPCRQ3d0yZPz6_x0Wq8N2xK9uT3VqY0aCgYKAQ")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("malformed"), "{challenge}");
    let Err(e) = App::start(&p.config, &[], &[Setting::Introspection(p.client_auth())]).await
    else {
        panic!("introspection without an endpoint must not build");
    };
    assert!(
        e.to_string()
            .contains("advertises an `introspection_endpoint`"),
        "{e}"
    );
}

#[tokio::test]
async fn provider_keycloak() {
    let p = Provider::serve("keycloak-oidc.json").await;
    p.found_at("/realms/demorealm/.well-known/openid-configuration");
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_some());
    // Keycloak's user access token: header `typ: JWT`, claim `typ: Bearer`, `azp` and no
    // `client_id` (service-account tokens carry a `client_id`), `jti`, `scope` a string. The
    // MCP URL is in `aud` through an audience mapper ("Included Custom Audience"); whether a
    // given Keycloak release honours RFC 8707 `resource` instead is not confirmed, nor whether
    // newer releases offer `typ: at+jwt` as an option.
    let token = |id: &str| {
        p.idp
            .token()
            .typ(Some("JWT"))
            .subject("8befeac4-8963-49da-a9ac-f310e8d922d8")
            .audience(id)
            .remove_claim("client_id")
            .claim("auth_time", 1_700_000_000)
            .claim("typ", "Bearer")
            .claim("azp", "mcp-client")
            .claim("sid", "54db1502-a5dc-4a27-af62-eeef0694a628")
            .claim("realm_access", json!({"roles": ["uma_authorization"]}))
            .claim("preferred_username", "teacher@example.org")
            .scopes(["openid", "email", "profile", "mcp:read"])
            .mint()
    };
    let settings = [Setting::AcceptJwtTyp, Setting::LenientClaims];
    p.proves(&["mcp:read"], &settings, token).await;
    // The preset: base URL and realm from the served issuer.
    let base = p.issuer().strip_suffix("/realms/demorealm").unwrap();
    let preset = Preset::keycloak(base, "demorealm");
    assert_eq!(preset.issuer(), p.issuer());
    p.preset_accepts(&preset, &["mcp:read"], &settings, token)
        .await;
}

/// An Okta org authorization server access token: `typ: application/okta-internal-at+jwt`
/// (undocumented and "subject to unannounced changes", Okta support article "The typ Field is
/// Missing from the Access Token Header"; the value is the one integrations report), `aud` the
/// org URL, `cid` and `uid`, `scp` an array, `jti` `AT.…`, `ver: 1`. Org servers have no custom
/// scopes; Okta says these tokens are for Okta's own APIs and must be treated as opaque.
fn okta_org_jwt(p: &Provider) -> String {
    p.idp
        .token()
        .typ(Some("application/okta-internal-at+jwt"))
        .audience(p.issuer())
        .subject("user@example.com")
        .remove_claim("client_id")
        .claim("ver", 1)
        .claim("jti", "AT.MNAoEQ_jbKqoinrQo1D0XKjMX28U5d7ZszBceot7-Ts")
        .claim("cid", "0oa1example2client3")
        .claim("uid", "00u1example2user3")
        .claim("scp", json!(["openid", "profile"]))
        .claim("auth_time", 1_700_000_000)
        .mint()
}

/// Okta's introspection answer for an org token (`/oauth2/v1/introspect`): `scope` a string,
/// `client_id`, `username`, `aud` the org URL. Registered as an opaque token: with the RFC 8414
/// document (no `jwks_uri`) every token, JWT-shaped or not, goes to introspection.
fn okta_org_introspected(p: &Provider) -> String {
    p.idp
        .opaque_token()
        .audience(p.issuer())
        .subject("user@example.com")
        .client_id("0oa1example2client3")
        .scopes(["openid", "profile"])
        .claim("username", "user@example.com")
        .claim("jti", "AT.MNAoEQ_jbKqoinrQo1D0XKjMX28U5d7ZszBceot7-Ts")
        .claim("uid", "00u1example2user3")
        .mint()
}

#[tokio::test]
async fn provider_okta_org() {
    // The org server's RFC 8414 document has no `jwks_uri`; its OIDC document has one. Both are
    // served, each at its own URL, as Okta does.
    let idp = AuthorizationServer::builder()
        .metadata_document(fixture("okta-org-oidc.json"))
        .discovery(Discovery::Both)
        .publish_key_alg(false)
        .start()
        .await
        .unwrap();
    let mut oauth = fixture("okta-org-oauth.json");
    replace_in_strings(&mut oauth, "https://mcp.okta.com", idp.origin());
    assert!(oauth.get("jwks_uri").is_none());
    idp.set_fault(
        "/.well-known/oauth-authorization-server",
        Fault::json(200, &oauth),
    );
    // `Auto` reads the RFC 8414 document first, finds no keys, and falls through to the OIDC
    // document.
    let p = Provider::discover(idp).await;
    p.found_at("/.well-known/openid-configuration");
    assert!(p.config.jwks_uri().is_some());
    assert_eq!(p.idp.requests("/.well-known/oauth-authorization-server"), 1);

    // Local verification of an org token is not supported: its `typ` is neither `at+jwt` nor
    // `JWT`, whatever else is allowed.
    let everything = [
        Setting::AcceptJwtTyp,
        Setting::LenientClaims,
        Setting::ScpClaim,
        Setting::audience(p.issuer()),
    ];
    let app = App::start(&p.config, &[], &everything).await.unwrap();
    let (status, challenge) = app.call(&okta_org_jwt(&p)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("typ header"), "{challenge}");

    // Treated as opaque, as Okta asks: `discovery = "oauth"` (the document without keys), so
    // every token is introspected, and the org URL as an extra audience.
    let oauth = fetch_server_config(p.issuer(), DiscoveryKind::OAuth)
        .await
        .unwrap();
    assert!(oauth.jwks_uri().is_none());
    assert!(oauth.introspection_endpoint().is_some());
    p.proves_with(
        &oauth,
        &[],
        &[
            Setting::Introspection(p.client_auth()),
            Setting::audience(p.issuer()),
        ],
        |_id| {
            let token = okta_org_introspected(&p);
            async move { token }
        },
    )
    .await;
}

#[tokio::test]
async fn provider_okta_org_oidc() {
    // The org server's OIDC document alone: keys and an introspection endpoint.
    let p = Provider::serve("okta-org-oidc.json").await;
    p.found_at("/.well-known/openid-configuration");
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_some());
    // With keys in the trusted metadata, JWT-shaped tokens are verified locally and never
    // introspected, so the org token is refused for its `typ` even with introspection on;
    // opaque tokens are introspected.
    let settings = [
        Setting::Introspection(p.client_auth()),
        Setting::AcceptJwtTyp,
        Setting::audience(p.issuer()),
    ];
    let app = App::start(&p.config, &[], &settings).await.unwrap();
    let introspect = p.config.introspection_endpoint().unwrap().to_owned();
    let (status, challenge) = app.call(&okta_org_jwt(&p)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("typ header"), "{challenge}");
    assert_eq!(p.idp.requests(&introspect), 0);
    let (status, challenge) = app.call(&okta_org_introspected(&p)).await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    assert_eq!(p.idp.requests(&introspect), 1);
}

#[tokio::test]
async fn provider_okta_custom_default() {
    // The custom server `default`; Okta's JWKS states no `alg`.
    let idp = AuthorizationServer::builder()
        .metadata_document(fixture("okta-custom-default-oidc.json"))
        .discovery(Discovery::OidcAppendOnly)
        .publish_key_alg(false)
        .start()
        .await
        .unwrap();
    let p = Provider::discover(idp).await;
    p.found_at("/oauth2/default/.well-known/openid-configuration");
    assert!(p.config.jwks_uri().is_some());
    // A custom server's access token: no `typ` header (Okta support: "The typ field is missing
    // from the header because the Access Token is generated by a Custom Authorization Server"),
    // `aud` the server's configured audience (`api://default` for `default`), `cid` and `uid`,
    // no `client_id`, `scp` an array, `jti` `AT.…`, `ver: 1`.
    let token = |_id: &str| {
        p.idp
            .token()
            .typ(None)
            .audience("api://default")
            .subject("user@example.com")
            .remove_claim("client_id")
            .claim("ver", 1)
            .claim("jti", "AT.7P4KlczBYVcWLkxduEuKeZfeiNYkZIC9uGJI1kMxBbg")
            .claim("cid", "0oa1example2client3")
            .claim("uid", "00u1example2user3")
            .claim("scp", json!(["openid", "mcp:read"]))
            .claim("auth_time", 1_700_000_000)
            .mint()
    };
    let settings = [
        Setting::AcceptJwtTyp,
        Setting::LenientClaims,
        Setting::ScpClaim,
        Setting::audience("api://default"),
    ];
    p.proves(&["mcp:read"], &settings, token).await;
    let preset = Preset::okta("dev-265911.oktapreview.com", "default");
    assert_eq!(
        preset.issuer(),
        published_issuer("okta-custom-default-oidc.json")
    );
    p.preset_accepts(&preset, &["mcp:read"], &settings, token)
        .await;
}

#[tokio::test]
async fn provider_ory_hydra() {
    let p = Provider::serve("ory-hydra-oidc.json").await;
    p.found_at("/.well-known/openid-configuration");
    assert!(p.issuer().ends_with('/'), "Hydra's issuer ends with `/`");
    // Introspection is on Hydra's admin port and not in the document.
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_none());
    // The default access token strategy is opaque: not verifiable here.
    let app = App::start(&p.config, &[], &[]).await.unwrap();
    let (status, _) = app
        .call("ory_at_ZGqd2ZP4kKMb2LUfUBmZCnVHxqmSDRfnPjL8bE6NEZk.tMKb7Jbt8S4WQ-u4WMFXzsr3e4")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // `strategies.access_token: jwt`: fosite's JWT strategy, header `typ: JWT`, `scp` an array
    // (the default `strategies.jwt.scope_claim: list`), `client_id`, `jti`, `ext`, and `aud` the
    // audiences requested (`audience` parameter, pre-allowed on the client). That Hydra maps
    // RFC 8707 `resource` to `aud` is not confirmed.
    let hydra = |aud: Vec<String>| {
        p.idp
            .token()
            .typ(Some("JWT"))
            .audiences(aud)
            .subject("foo@bar.com")
            .client_id("my-client")
            .not_before(1_700_000_000)
            .claim("ext", json!({}))
            .claim("scp", json!(["openid", "mcp:read"]))
            .mint()
    };
    p.proves(
        &["mcp:read"],
        &[Setting::AcceptJwtTyp, Setting::ScpClaim],
        |id| hydra(vec![id.to_owned()]),
    )
    .await;
    // The preset: the base URL is the served issuer without its trailing slash.
    let preset = Preset::ory_hydra(p.issuer().strip_suffix('/').unwrap());
    assert_eq!(preset.issuer(), p.issuer());
    p.preset_accepts(
        &preset,
        &["mcp:read"],
        &[Setting::AcceptJwtTyp, Setting::ScpClaim],
        |id| hydra(vec![id.to_owned()]),
    )
    .await;
    // With no audience requested Hydra sends `aud: []`, which names no resource.
    let app = App::start(
        &p.config,
        &["mcp:read"],
        &[Setting::AcceptJwtTyp, Setting::ScpClaim],
    )
    .await
    .unwrap();
    assert_eq!(
        app.call(&hydra(Vec::new())).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn provider_supabase() {
    let p = Provider::serve("supabase-oauth.json").await;
    p.found_at("/.well-known/oauth-authorization-server/auth/v1");
    assert!(p.config.jwks_uri().is_some());
    // An OAuth 2.1 server access token (supabase.com/docs/guides/auth/oauth-server/
    // token-security): header `typ: JWT`, ES256 with the asymmetric signing keys; `aud:
    // "authenticated"`, `role`, `client_id`, `session_id`; no `scope` claim (scopes only shape
    // the ID token and userinfo) and `jti` optional (left out here).
    let supabase = |token: mcp_auth_dev::TokenBuilder<'_>| {
        token
            .typ(Some("JWT"))
            .audience("authenticated")
            .subject("0e9f6c1a-5b8e-4c3a-9d2f-7a1b2c3d4e5f")
            .client_id("9a8b7c6d-5e4f-3a2b-1c0d-9e8f7a6b5c4d")
            .remove_claim("jti")
            .claim("role", "authenticated")
            .claim("user_id", "0e9f6c1a-5b8e-4c3a-9d2f-7a1b2c3d4e5f")
            .claim("email", "user@example.com")
            .claim("aal", "aal1")
            .claim(
                "amr",
                json!([{"method": "password", "timestamp": 1_735_815_600}]),
            )
            .claim("session_id", "5e2c1b3a-0f9d-4e8c-b7a6-1d2e3f4a5b6c")
            .claim("is_anonymous", false)
            .mint()
    };
    let settings = [
        Setting::AcceptJwtTyp,
        Setting::LenientClaims,
        Setting::audience("authenticated"),
    ];
    p.proves(&[], &settings, |_id| {
        supabase(p.idp.token().alg(SigningAlg::Es256))
    })
    .await;
    // The preset discovers by RFC 8414 only, as the project serves.
    let preset = Preset::supabase("jsaqyxhgmkgcyaocjnzz");
    assert_eq!(preset.issuer(), published_issuer("supabase-oauth.json"));
    assert_eq!(preset.discovery(), DiscoveryKind::OAuth);
    p.preset_accepts(&preset, &[], &settings, |_id| {
        supabase(p.idp.token().alg(SigningAlg::Es256))
    })
    .await;
    // Projects still on the legacy JWT secret sign with HS256, which is never accepted.
    let app = App::start(&p.config, &[], &settings).await.unwrap();
    let legacy = supabase(p.idp.token().sign_with_hs256(b"super-secret-jwt-token"));
    let (status, challenge) = app.call(&legacy).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("algorithm"), "{challenge}");
}

/// A WorkOS AuthKit (Connect) user token (workos.com/docs/authkit/connect/token-claims): `aud`
/// the resource (or the environment's client id), `sub`, `client_id`, `org_id`, `sid`, `scope`,
/// `jti`. The header's `typ` is not documented: both `at+jwt` and `JWT` are tried.
fn workos(p: &Provider, typ: &str, id: &str) -> String {
    p.idp
        .token()
        .typ(Some(typ))
        .audience(id)
        .subject("user_01HBEQKA6K4QJAS93VPE39W1JT")
        .client_id("client_01KABXHNQ09QGWEX4APPYG2AH5")
        .claim("org_id", "org_01HRDMC6CM357W30QMHMQ96Q0S")
        .claim("sid", "consent_01HQSXZGF8FHF7A9ZZFCW4387R")
        .scopes(["openid", "mcp:read"])
        .mint()
}

/// `Preset::workos` for the AuthKit domain (fixture README) names the published issuer and
/// takes both headers.
async fn workos_preset(p: &Provider, file: &str) {
    let preset = Preset::workos("fearless-network-26.authkit.app");
    assert_eq!(preset.issuer(), published_issuer(file));
    p.preset_accepts(&preset, &["mcp:read"], &[], |id| workos(p, "at+jwt", id))
        .await;
    p.preset_accepts(&preset, &["mcp:read"], &[Setting::AcceptJwtTyp], |id| {
        workos(p, "JWT", id)
    })
    .await;
}

#[tokio::test]
async fn provider_workos_authkit_oauth() {
    let p = Provider::serve("workos-authkit-oauth.json").await;
    p.found_at("/.well-known/oauth-authorization-server");
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_some());
    let report = mcp_auth::discovery::validate_server_config(p.config.metadata());
    assert!(report.is_ok(), "{report:?}");
    p.proves(&["mcp:read"], &[], |id| workos(&p, "at+jwt", id))
        .await;
    p.proves(&["mcp:read"], &[Setting::AcceptJwtTyp], |id| {
        workos(&p, "JWT", id)
    })
    .await;
    workos_preset(&p, "workos-authkit-oauth.json").await;
}

#[tokio::test]
async fn provider_workos_authkit_oidc() {
    // The OIDC document of the same server, without the PKCE, registration and CIMD fields:
    // tokens verify the same way; MCP clients that read only this document find no PKCE.
    let p = Provider::serve("workos-authkit-oidc.json").await;
    p.found_at("/.well-known/openid-configuration");
    assert!(p.config.jwks_uri().is_some());
    assert!(!mcp_auth::discovery::validate_server_config(p.config.metadata()).is_ok());
    p.proves(&["mcp:read"], &[], |id| workos(&p, "at+jwt", id))
        .await;
    p.proves(&["mcp:read"], &[Setting::AcceptJwtTyp], |id| {
        workos(&p, "JWT", id)
    })
    .await;
    workos_preset(&p, "workos-authkit-oidc.json").await;
}

#[tokio::test]
async fn provider_wso2_is() {
    let p = Provider::serve("wso2-is-oidc.json").await;
    p.found_at("/oauth2/token/.well-known/openid-configuration");
    assert!(p.issuer().ends_with("/oauth2/token"));
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_some());
    const CLIENT_ID: &str = "kp3os6qrkdK1fpFN1tuW4hgRsKwa";
    // A JWT access token (access token type "JWT"): `sub`, `aut`, `client_id`, `azp`, `jti`,
    // `scope`, and `aud` the client id. Header `typ: at+jwt` as WSO2 documents for Asgardeo
    // ("Asgardeo issues access tokens of `at+jwt` type"); that IS 6.1 does the same is not
    // confirmed. `x5t` as in WSO2's samples.
    let jwt = |_id: &str| {
        p.idp
            .token()
            .header("x5t", "qGGNthbXMx8yNmdFNlXwHTrGhPA")
            .audience(CLIENT_ID)
            .subject("2afba262-dc62-41d6-ad05-30a30c3d6e35")
            .client_id(CLIENT_ID)
            .not_before(1_700_000_000)
            .claim("aut", "APPLICATION_USER")
            .claim("azp", CLIENT_ID)
            .scopes(["openid", "mcp:read"])
            .mint()
    };
    p.proves(&["mcp:read"], &[Setting::audience(CLIENT_ID)], jwt)
        .await;
    // The preset: base URL from the served issuer, the client id.
    let base = p.issuer().strip_suffix("/oauth2/token").unwrap();
    let preset = Preset::wso2(base, CLIENT_ID);
    assert_eq!(preset.issuer(), p.issuer());
    p.preset_accepts(&preset, &["mcp:read"], &[Setting::audience(CLIENT_ID)], jwt)
        .await;
    // An opaque token (type "Default"): WSO2's introspection answer has no `aud` (nor `iss`),
    // so `.introspection(..)` refuses it. Not supported through the resource's settings ...
    let opaque = p
        .idp
        .opaque_token()
        .remove_claim("iss")
        .remove_claim("sub")
        .client_id(CLIENT_ID)
        .claim("nbf", 1_700_000_000)
        .claim("aut", "APPLICATION_USER")
        .claim("username", "admin@carbon.super")
        .scopes(["openid", "mcp:read"])
        .mint();
    let app = App::start(
        &p.config,
        &["mcp:read"],
        &[
            Setting::Introspection(p.client_auth()),
            Setting::audience(CLIENT_ID),
        ],
    )
    .await
    .unwrap();
    let (status, challenge) = app.call(&opaque).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("no `aud` claim"), "{challenge}");
    // ... only with a verifier of one's own that accepts a missing audience.
    let (id, secret) = p.idp.introspection_client();
    let endpoint = p.config.introspection_endpoint().unwrap().to_owned();
    let (issuer, client) = (p.issuer().to_owned(), ClientAuth::basic(id, secret));
    let app = App::start_with(&p.config, &["mcp:read"], |r| {
        let verifier = IntrospectionVerifier::builder()
            .issuer(issuer)
            .endpoint(endpoint)
            .resource(r.id())
            .client_auth(client)
            .options(VerifyOptions::default())
            .allow_missing_audience(true)
            .build()
            .unwrap();
        r.verifier(verifier)
    })
    .await
    .unwrap();
    let (status, challenge) = app.call(&opaque).await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
}

#[tokio::test]
async fn provider_zitadel() {
    let p = Provider::serve("zitadel-oidc.json").await;
    p.found_at("/.well-known/openid-configuration");
    assert!(p.config.jwks_uri().is_some());
    assert!(p.config.introspection_endpoint().is_some());
    // The default access token type is "Bearer": opaque, introspected ("Bearer tokens must be
    // introspected"). The introspection answer (zitadel.com/docs/apis/openidoauth/claims):
    // `aud` the project id and the client ids, `client_id`, `scope`, `username`, `jti`. The
    // resource authenticates with `client_secret_basic` (an API application with "Basic");
    // `private_key_jwt` (the "JWT" method) is not offered by this library.
    const PROJECT_ID: &str = "69234237810729019";
    let token = |_id: &str| {
        p.idp
            .opaque_token()
            .audiences([PROJECT_ID, "69234237810729234@mcp"])
            .subject("77776025198584418")
            .client_id("69234237810729234@mcp")
            .claim("nbf", 1_700_000_000)
            .claim("jti", "69234237813329048")
            .claim("username", "road.runner@acme.ch")
            .scopes(["openid", "mcp:read"])
            .mint()
    };
    let settings = [
        Setting::Introspection(p.client_auth()),
        Setting::audience(PROJECT_ID),
    ];
    p.proves(&["mcp:read"], &settings, token).await;
    // The preset makes the audience; introspection is given beside it, as its documentation
    // says (without it the opaque token reaches the JWT verifier, see `Setting::refusal`).
    let preset = Preset::zitadel("aescape-8ocoec.zitadel.cloud", PROJECT_ID);
    assert_eq!(preset.issuer(), published_issuer("zitadel-oidc.json"));
    p.preset_accepts(&preset, &["mcp:read"], &settings, token)
        .await;
    let app = App::start_with(&p.config, &["mcp:read"], |r| r.preset(&preset))
        .await
        .unwrap();
    let (status, challenge) = app.call(&token(&app.id)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("malformed"), "{challenge}");
}
