//! Provider presets: what each identity provider's access tokens need, set in one call.
//!
//! Each preset knows its provider's issuer URL (from the tenant, realm or domain you give), how
//! its metadata is discovered, and the token settings its access tokens need: the `typ` header it
//! sends, the claims it leaves out (`client_id`, `jti`), where it puts scopes and roles, and the
//! audience it issues for when it is not the resource identifier. Every preset is proven by a test
//! against the provider's real discovery document (`tests/tests/providers.rs`), with a token
//! shaped like the provider's; the README's provider table lists them.
//!
//! ```no_run
//! use mcp_auth::discovery::fetch_server_config;
//! use mcp_auth::presets::Preset;
//! use mcp_auth::{ProtectedResource, ResourceServer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let keycloak = Preset::keycloak("https://sso.example.com", "mcp");
//! let config = fetch_server_config(keycloak.issuer(), keycloak.discovery()).await?;
//! let server = ResourceServer::builder()
//!     .resource(
//!         ProtectedResource::new("https://mcp.example.com/mcp")
//!             .authorization_server(config)
//!             .preset(&keycloak),
//!     )
//!     .build()?;
//! # let _ = server; Ok(()) }
//! ```
//!
//! A preset loosens only what its provider needs, and each loosening is the library's named
//! setting (`TypPolicy::AllowJwt`, `ClaimsProfile::Lenient`, `ScopeClaim::Scp`, an extra
//! audience, a role claim), so what a preset accepts can be read from [`Preset::settings`].

use crate::discovery::DiscoveryKind;
use crate::resource::ProtectedResource;
use crate::verify::{ClaimsProfile, ScopeClaim, TypPolicy};

/// The settings of one identity provider's access tokens, and its issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    provider: &'static str,
    issuer: String,
    discovery: DiscoveryKind,
    typ: TypPolicy,
    claims: ClaimsProfile,
    scp: bool,
    role_claim: Option<&'static str>,
    audiences: Vec<String>,
    /// An audience every API of the authorization server shares (Okta's `api://default`,
    /// Supabase's `authenticated`): warned about when applied.
    shared_audience: Option<&'static str>,
}

/// One setting a preset makes, for [`Preset::settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PresetSetting {
    /// `typ: JWT` or no `typ` accepted beside `at+jwt` ([`TypPolicy::AllowJwt`]).
    AcceptJwtTyp,
    /// Only `iss`, `exp` and `aud` required; `azp` read as the client id when `client_id` is
    /// absent ([`ClaimsProfile::Lenient`]).
    LenientClaims,
    /// Scopes read from `scp` when `scope` is absent ([`ScopeClaim::Scp`]).
    ScpClaim,
    /// Roles read from this claim path.
    RoleClaim(&'static str),
    /// This audience accepted beside the resource identifier.
    Audience(String),
}

impl Preset {
    fn new(provider: &'static str, issuer: String) -> Self {
        Self {
            provider,
            issuer,
            discovery: DiscoveryKind::Auto,
            typ: TypPolicy::Strict,
            claims: ClaimsProfile::Strict,
            scp: false,
            role_claim: None,
            audiences: Vec::new(),
            shared_audience: None,
        }
    }

    fn jwt_typ(mut self) -> Self {
        self.typ = TypPolicy::AllowJwt;
        self
    }

    fn lenient(mut self) -> Self {
        self.claims = ClaimsProfile::Lenient;
        self
    }

    fn scp(mut self) -> Self {
        self.scp = true;
        self
    }

    fn roles_at(mut self, claim: &'static str) -> Self {
        self.role_claim = Some(claim);
        self
    }

    /// Also accepts tokens whose `aud` is `audience` (the API identifier the provider issues
    /// for, when it is not the resource identifier).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        let audience = audience.into();
        if !self.audiences.contains(&audience) {
            self.audiences.push(audience);
        }
        self
    }

    /// Keycloak, realm `realm` at `base_url` (`https://sso.example.com`, with the `/auth`
    /// prefix of releases before 17 if yours has it): issuer `{base_url}/realms/{realm}`.
    /// Access tokens have `typ: JWT` and `azp` without `client_id`; realm roles are read from
    /// `realm_access.roles`. Put the resource identifier in `aud` with an audience mapper.
    pub fn keycloak(base_url: &str, realm: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        Self::new("Keycloak", format!("{base}/realms/{realm}"))
            .jwt_typ()
            .lenient()
            .roles_at("realm_access.roles")
    }

    /// Auth0, tenant domain `domain` (`example.us.auth0.com` or a custom domain): issuer
    /// `https://{domain}/` (with its trailing slash). Its default "Auth0" token profile has
    /// `typ: JWT`, `azp` and no `jti`; create the API with the resource identifier as its
    /// identifier (the audience). Roles are read from `permissions` (RBAC "Add Permissions in
    /// the Access Token").
    pub fn auth0(domain: &str) -> Self {
        Self::new(
            "Auth0",
            format!("https://{}/", domain.trim_end_matches('/')),
        )
        .jwt_typ()
        .lenient()
        .roles_at("permissions")
    }

    /// Okta, custom authorization server `server` (`default`, or its id) of the org at `domain`
    /// (`example.okta.com`): issuer `https://{domain}/oauth2/{server}`. Access tokens have no
    /// `typ`, `cid` in place of `client_id`, scopes in `scp`; their `aud` is the server's
    /// audience (`api://default` for `default`), accepted here too. The client id (`cid`) is
    /// not read as `client_id`. Roles from `groups`.
    pub fn okta(domain: &str, server: &str) -> Self {
        let audience = format!("api://{server}");
        let mut preset = Self::new(
            "Okta",
            format!("https://{}/oauth2/{server}", domain.trim_end_matches('/')),
        )
        .jwt_typ()
        .lenient()
        .scp()
        .roles_at("groups")
        .audience(audience);
        if server == "default" {
            preset.shared_audience = Some("api://default");
        }
        preset
    }

    /// Microsoft Entra ID (v2.0 tokens) of tenant `tenant_id` (a GUID): issuer
    /// `https://login.microsoftonline.com/{tenant_id}/v2.0`. Access tokens have `typ: JWT`,
    /// `azp`, scopes in `scp` (a string), app roles in `roles`, and `aud` the API's application
    /// (client) id `api_client_id`, accepted here. Set `accessTokenAcceptedVersion: 2` in the
    /// API's manifest.
    pub fn entra(tenant_id: &str, api_client_id: &str) -> Self {
        Self::new(
            "Microsoft Entra ID",
            format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
        )
        .jwt_typ()
        .lenient()
        .scp()
        .roles_at("roles")
        .audience(api_client_id)
    }

    /// Amazon Cognito user pool `user_pool_id` in `region`: issuer
    /// `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`. Access tokens have
    /// `typ: JWT`, `client_id` and no `aud` unless the pool issues them for a resource server
    /// (resource indicators, Essentials or Plus): configure one whose identifier is the resource
    /// identifier. Groups from `cognito:groups`.
    pub fn cognito(region: &str, user_pool_id: &str) -> Self {
        Self::new(
            "Amazon Cognito",
            format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"),
        )
        .jwt_typ()
        .lenient()
        .roles_at("cognito:groups")
    }

    /// authentik application `slug` at `base_url`: issuer
    /// `{base_url}/application/o/{slug}/`. Access tokens have `typ: JWT`, `azp`, no `jti`, and
    /// `aud` the provider's client id `client_id`, accepted here. They carry no `scope` claim:
    /// require no scope of them (or verify them by introspection). Groups from `groups`.
    pub fn authentik(base_url: &str, slug: &str, client_id: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        Self::new("authentik", format!("{base}/application/o/{slug}/"))
            .jwt_typ()
            .lenient()
            .roles_at("groups")
            .audience(client_id)
    }

    /// Supabase Auth of project `project_ref`: issuer `https://{project_ref}.supabase.co/auth/v1`
    /// (RFC 8414 discovery). Access tokens have `typ: JWT`, no `client_id` and `aud:
    /// "authenticated"`, accepted here; they carry no `scope` claim. The role is in `role`.
    pub fn supabase(project_ref: &str) -> Self {
        let mut preset = Self::new(
            "Supabase",
            format!("https://{project_ref}.supabase.co/auth/v1"),
        )
        .jwt_typ()
        .lenient()
        .roles_at("role")
        .audience("authenticated");
        preset.discovery = DiscoveryKind::OAuth;
        preset.shared_audience = Some("authenticated");
        preset
    }

    /// WorkOS AuthKit at `domain` (`example.authkit.app` or a custom domain): issuer
    /// `https://{domain}`. Access tokens are RFC 9068 with `typ: at+jwt` in the current release;
    /// `typ: JWT` is accepted too (the header is undocumented). Roles from `roles`.
    pub fn workos(domain: &str) -> Self {
        Self::new(
            "WorkOS AuthKit",
            format!("https://{}", domain.trim_end_matches('/')),
        )
        .jwt_typ()
        .roles_at("roles")
    }

    /// Ory Hydra (or Ory Network) at `base_url`, with the JWT access-token strategy: issuer
    /// `{base_url}/` (with its trailing slash). Access tokens have `typ: JWT` and scopes in
    /// `scp` (an array); clients must request the resource identifier as `audience`.
    pub fn ory_hydra(base_url: &str) -> Self {
        Self::new("Ory Hydra", format!("{}/", base_url.trim_end_matches('/')))
            .jwt_typ()
            .scp()
    }

    /// ZITADEL instance at `domain` (`example.zitadel.cloud` or a custom domain): issuer
    /// `https://{domain}`. Its default access tokens are opaque: configure introspection
    /// (`ProtectedResource::introspection`); their `aud` lists the project id `project_id`,
    /// accepted here. Roles from `urn:zitadel:iam:org:project:roles` need a claim of their own.
    pub fn zitadel(domain: &str, project_id: &str) -> Self {
        Self::new(
            "ZITADEL",
            format!("https://{}", domain.trim_end_matches('/')),
        )
        .jwt_typ()
        .lenient()
        .audience(project_id)
    }

    /// WSO2 Identity Server at `base_url`: issuer `{base_url}/oauth2/token`. JWT access tokens
    /// have `aud` the client id `client_id`, accepted here. Roles from `roles`.
    pub fn wso2(base_url: &str, client_id: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        Self::new("WSO2 Identity Server", format!("{base}/oauth2/token"))
            .jwt_typ()
            .lenient()
            .roles_at("roles")
            .audience(client_id)
    }

    /// The provider's name, for messages.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The issuer identifier, to discover (with [`discovery`](Self::discovery)).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// How the provider's metadata is found.
    pub fn discovery(&self) -> DiscoveryKind {
        self.discovery
    }

    /// What the preset sets, beyond the strict RFC 9068 defaults.
    pub fn settings(&self) -> Vec<PresetSetting> {
        let mut out = Vec::new();
        if self.typ == TypPolicy::AllowJwt {
            out.push(PresetSetting::AcceptJwtTyp);
        }
        if self.claims == ClaimsProfile::Lenient {
            out.push(PresetSetting::LenientClaims);
        }
        if self.scp {
            out.push(PresetSetting::ScpClaim);
        }
        if let Some(claim) = self.role_claim {
            out.push(PresetSetting::RoleClaim(claim));
        }
        out.extend(self.audiences.iter().cloned().map(PresetSetting::Audience));
        out
    }

    /// `resource` with the preset's token settings (not its authorization server: discover
    /// [`issuer`](Self::issuer) and give it with `authorization_server`).
    pub(crate) fn apply(&self, resource: ProtectedResource) -> ProtectedResource {
        if let Some(audience) = self.shared_audience {
            tracing::warn!(
                provider = self.provider,
                audience,
                "the preset accepts tokens whose `aud` is `{audience}`, an audience every API of \
                 this authorization server shares: a token meant for another API is accepted here \
                 too. Give the resource an audience of its own at the provider (its identifier) \
                 and drop the preset's audience"
            );
        }
        let typ = self.typ;
        let claims = self.claims;
        let scp = self.scp;
        let audiences = self.audiences.clone();
        let resource = resource.verify(move |v| {
            let mut v = v.typ(typ).claims(claims);
            if scp {
                v = v.scope_claims([ScopeClaim::Scope, ScopeClaim::Scp]);
            }
            audiences
                .into_iter()
                .fold(v, |v, audience| v.extra_audience(audience))
        });
        match self.role_claim {
            Some(claim) => resource.role_claim(claim),
            None => resource,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_built_as_each_provider_spells_them() {
        assert_eq!(
            Preset::keycloak("https://sso.example.com/", "mcp").issuer(),
            "https://sso.example.com/realms/mcp"
        );
        assert_eq!(
            Preset::auth0("example.us.auth0.com").issuer(),
            "https://example.us.auth0.com/"
        );
        assert_eq!(
            Preset::okta("example.okta.com", "default").issuer(),
            "https://example.okta.com/oauth2/default"
        );
        assert_eq!(
            Preset::entra("9188040d-6c67-4c5b-b112-36a304b66dad", "api").issuer(),
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
        );
        assert_eq!(
            Preset::supabase("abc").discovery(),
            DiscoveryKind::OAuth,
            "Supabase publishes RFC 8414 metadata only"
        );
    }

    #[test]
    fn settings_say_what_is_loosened() {
        assert_eq!(
            Preset::okta("example.okta.com", "default").settings(),
            [
                PresetSetting::AcceptJwtTyp,
                PresetSetting::LenientClaims,
                PresetSetting::ScpClaim,
                PresetSetting::RoleClaim("groups"),
                PresetSetting::Audience("api://default".into()),
            ]
        );
    }
}
