//! The token endpoint: `authorization_code` with PKCE (OAuth 2.1 §4.1.3, RFC 7636),
//! `refresh_token` with rotation (OAuth 2.1 §4.3) and `client_credentials` (RFC 6749 §4.4),
//! each with RFC 8707 `resource`; token exchange (RFC 8693) and the JWT bearer grant
//! (RFC 7523) in [`exchange`](super::exchange). Clients authenticate with a secret
//! (`client_secret_basic`, `client_secret_post`), a client assertion (`private_key_jwt`) or,
//! public clients, their `client_id` alone.

use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::assertion;
use super::clients::{Client, authenticate};
use super::exchange;
use super::grants::{Redeemed, RefreshGrant};
use super::keys::{b64, random_b64};
use super::mint::{DEFAULT_LIFETIME, TokenBuilder};
use super::server::Shared;
use super::wire::{self, Form, OAuthError};

pub(crate) async fn token_endpoint(
    shared: &Shared,
    parts: &http::request::Parts,
    form: &Form,
) -> Result<Response, OAuthError> {
    let client = client_of(shared, &parts.headers, form)?;
    // RFC 9449 §5: a DPoP proof binds the issued token to its key.
    let jkt = dpop_proof(shared, parts).await?;
    let jkt = jkt.as_deref();
    let grant_type = wire::single(form, "grant_type")?
        .ok_or_else(|| OAuthError::invalid_request("the grant_type parameter is missing"))?;
    if !matches!(
        grant_type,
        "authorization_code"
            | "refresh_token"
            | "client_credentials"
            | exchange::TOKEN_EXCHANGE
            | exchange::JWT_BEARER
    ) {
        return Err(OAuthError::bad_request(
            "unsupported_grant_type",
            format!(
                "the supported grant types are authorization_code, refresh_token, client_credentials, {} and {}",
                exchange::TOKEN_EXCHANGE,
                exchange::JWT_BEARER
            ),
        ));
    }
    if matches!(grant_type, exchange::TOKEN_EXCHANGE | exchange::JWT_BEARER) {
        // Who may exchange is the exchange policy's business, not the client's grant types.
        return exchange::grant(shared, &client, grant_type, form, jkt);
    }
    if !client.may_use(grant_type) {
        return Err(OAuthError::bad_request(
            "unauthorized_client",
            format!("this client may not use the {grant_type} grant"),
        ));
    }
    match grant_type {
        "authorization_code" => authorization_code(shared, &client, form, jkt),
        "refresh_token" => refresh_token(shared, &client, form, jkt),
        _ => client_credentials(shared, &client, form, jkt),
    }
}

/// The authenticated client of a token request: by its client assertion (`private_key_jwt`,
/// RFC 7523 §2.2, `aud` the issuer or the token endpoint) when the form has one, else by
/// [`authenticate`].
fn client_of(
    shared: &Shared,
    headers: &http::HeaderMap,
    form: &Form,
) -> Result<Arc<Client>, OAuthError> {
    if wire::single(form, "client_assertion_type")?.is_some()
        || wire::single(form, "client_assertion")?.is_some()
    {
        let client_id =
            assertion::authenticate(shared, headers, form, &shared.layout.token_endpoint)?;
        return shared
            .clients
            .get(&client_id)
            .ok_or_else(|| OAuthError::invalid_client("client authentication failed"));
    }
    authenticate(&shared.clients, headers, form)
}

/// The thumbprint of the request's DPoP proof key, `None` without a `DPoP` header; a bad proof
/// is `400 invalid_dpop_proof`, a missing or stale nonce `400 use_dpop_nonce` with a fresh
/// `DPoP-Nonce` (RFC 9449 §5, §8).
async fn dpop_proof(
    shared: &Shared,
    parts: &http::request::Parts,
) -> Result<Option<String>, OAuthError> {
    if !parts.headers.contains_key(mcp_auth::dpop::DPOP_HEADER) {
        return Ok(None);
    }
    let request = mcp_auth::dpop::ProofRequest {
        method: &parts.method,
        path: parts.uri.path(),
        access_token: None,
        bound_jkt: None,
    };
    match shared.dpop.verify(&parts.headers, &request).await {
        Ok(proof) => Ok(Some(proof.thumbprint().to_owned())),
        Err(e) if e.code() == mcp_auth::ErrorCode::UseDpopNonce => {
            let mut error = OAuthError::bad_request("use_dpop_nonce", e.to_string());
            error.dpop_nonce = shared.dpop.nonce();
            Err(error)
        }
        Err(e) => Err(OAuthError::bad_request("invalid_dpop_proof", e.to_string())),
    }
}

fn client_credentials(
    shared: &Shared,
    client: &Client,
    form: &Form,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    let scopes = wire::scope_tokens(wire::single(form, "scope")?)?;
    let resources = owned(wire::resources(form)?);
    let access_token = mint(shared, &client.client_id, client, &resources, &scopes, jkt)?;
    Ok(token_response(
        access_token,
        &scopes,
        None,
        jkt.is_some(),
        None,
    ))
}

fn authorization_code(
    shared: &Shared,
    client: &Client,
    form: &Form,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    let code = wire::single(form, "code")?
        .ok_or_else(|| OAuthError::invalid_request("the code parameter is missing"))?;
    let verifier = wire::single(form, "code_verifier")?.ok_or_else(|| {
        OAuthError::invalid_request("the code_verifier parameter is missing (PKCE is required)")
    })?;
    let redirect_uri = wire::single(form, "redirect_uri")?;
    let requested = owned(wire::resources(form)?);

    let now = shared.clock.unix_seconds();
    let authorization = match shared.grants.redeem_code(code, now) {
        Redeemed::Fresh(authorization) => authorization,
        Redeemed::Unknown => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is not valid",
            ));
        }
        Redeemed::Expired => {
            return Err(OAuthError::invalid_grant(
                "the authorization code expired (codes are valid for 60 seconds)",
            ));
        }
        Redeemed::Replayed {
            access_token,
            family,
        } => {
            if let Some(token) = access_token {
                shared.revoke(token);
            }
            if let Some(family) = family {
                shared.grants.revoke_family(&family);
            }
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens issued for it are revoked",
            ));
        }
    };
    if authorization.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    let redirect_ok = match redirect_uri {
        Some(uri) => uri == authorization.redirect_uri,
        None => !authorization.redirect_uri_sent,
    };
    if !redirect_ok {
        return Err(OAuthError::invalid_grant(
            "redirect_uri must be identical to the one of the authorization request",
        ));
    }
    if !pkce_s256_matches(verifier, &authorization.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "the code_verifier does not match the code_challenge (PKCE S256)",
        ));
    }
    let audiences = narrowed_resources(requested, &authorization.resources)?;
    let access_token = mint(
        shared,
        &authorization.subject,
        client,
        &audiences,
        &authorization.scopes,
        jkt,
    )?;
    let refresh = client.may_use("refresh_token").then(|| {
        let family = random_b64(16);
        let token = shared.grants.issue_refresh(RefreshGrant {
            client_id: client.client_id.clone(),
            subject: authorization.subject.clone(),
            scopes: authorization.scopes.clone(),
            resources: authorization.resources.clone(),
            family: family.clone(),
        });
        (token, family)
    });
    shared.grants.record_issued(
        code,
        access_token.clone(),
        refresh.as_ref().map(|(_, family)| family.clone()),
    );
    Ok(token_response(
        access_token,
        &authorization.scopes,
        refresh.map(|(token, _)| token),
        jkt.is_some(),
        None,
    ))
}

fn refresh_token(
    shared: &Shared,
    client: &Client,
    form: &Form,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    let token = wire::single(form, "refresh_token")?
        .ok_or_else(|| OAuthError::invalid_request("the refresh_token parameter is missing"))?;
    let scope = wire::single(form, "scope")?;
    let requested = owned(wire::resources(form)?);
    let invalid = || OAuthError::invalid_grant("the refresh token is not valid");
    let grant = shared.grants.refresh_grant(token).ok_or_else(invalid)?;
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let scopes = match scope {
        None => grant.scopes.clone(),
        Some(_) => {
            let narrowed = wire::scope_tokens(scope)?;
            if let Some(extra) = narrowed.iter().find(|s| !grant.scopes.contains(s)) {
                return Err(OAuthError::bad_request(
                    "invalid_scope",
                    format!(
                        "the scope `{extra}` was not granted originally; a refresh may only narrow the scope"
                    ),
                ));
            }
            narrowed
        }
    };
    let audiences = narrowed_resources(requested, &grant.resources)?;
    // Rotation: the presented token stops working now (OAuth 2.1 §4.3.1).
    let grant = shared.grants.take_refresh(token).ok_or_else(invalid)?;
    let access_token = mint(shared, &grant.subject, client, &audiences, &scopes, jkt)?;
    let new_refresh = shared.grants.issue_refresh(grant);
    Ok(token_response(
        access_token,
        &scopes,
        Some(new_refresh),
        jkt.is_some(),
        None,
    ))
}

/// The audiences of the token: the requested resources, each authorized, or all authorized
/// ones when none is requested.
fn narrowed_resources(
    requested: Vec<String>,
    authorized: &[String],
) -> Result<Vec<String>, OAuthError> {
    if requested.is_empty() {
        return Ok(authorized.to_vec());
    }
    match requested.iter().find(|r| !authorized.contains(r)) {
        Some(other) => Err(OAuthError::bad_request(
            "invalid_target",
            format!("the resource `{other}` was not authorized in the authorization request"),
        )),
        None => Ok(requested),
    }
}

/// `BASE64URL(SHA256(code_verifier)) == code_challenge` (RFC 7636 §4.6), for a verifier of 43
/// to 128 unreserved characters (§4.1).
pub(crate) fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let computed = b64(digest.as_ref());
    aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes())
        .is_ok()
}

fn owned(values: Vec<&str>) -> Vec<String> {
    values.into_iter().map(str::to_owned).collect()
}

/// An RFC 9068 access token for `subject`, issued to `client`.
fn mint(
    shared: &Shared,
    subject: &str,
    client: &Client,
    audiences: &[String],
    scopes: &[String],
    jkt: Option<&str>,
) -> Result<String, OAuthError> {
    sign(access_token(
        shared, subject, client, audiences, scopes, jkt,
    ))
}

/// The builder of an RFC 9068 access token for `subject`, issued to `client`: `sub`,
/// `client_id`, `aud`, `scope`, `cnf.jkt` with a DPoP proof, and the user's `roles`.
pub(crate) fn access_token<'s>(
    shared: &'s Shared,
    subject: &str,
    client: &Client,
    audiences: &[String],
    scopes: &[String],
    jkt: Option<&str>,
) -> TokenBuilder<'s> {
    let mut builder = TokenBuilder::new(shared)
        .subject(subject)
        .client_id(client.client_id.clone());
    if let Some(jkt) = jkt {
        builder = builder.dpop_jkt(jkt);
    }
    if subject == shared.user && !shared.user_roles.is_empty() {
        builder = builder.claim("roles", shared.user_roles.clone());
    }
    builder = match audiences {
        [] => builder,
        [one] => builder.audience(one.clone()),
        many => builder.audiences(many.iter().cloned()),
    };
    if !scopes.is_empty() {
        builder = builder.scopes(scopes.iter().cloned());
    }
    builder
}

/// The compact JWS of `builder`, `server_error` when it cannot be signed.
pub(crate) fn sign(builder: TokenBuilder<'_>) -> Result<String, OAuthError> {
    builder.try_mint().map_err(|e| {
        tracing::warn!(error = %e, "the development authorization server could not mint a token");
        OAuthError::server_error("the token could not be signed")
    })
}

/// The successful response (RFC 6749 §5.1); `token_type` is `DPoP` for a bound token (RFC 9449
/// §5); `issued_token_type` for a token exchange (RFC 8693 §2.2.1).
pub(crate) fn token_response(
    access_token: String,
    scopes: &[String],
    refresh: Option<String>,
    dpop: bool,
    issued_token_type: Option<&str>,
) -> Response {
    let mut body = json!({
        "access_token": access_token,
        "token_type": if dpop { "DPoP" } else { "Bearer" },
        "expires_in": DEFAULT_LIFETIME,
    });
    if let Value::Object(map) = &mut body {
        if let Some(issued) = issued_token_type {
            map.insert("issued_token_type".into(), issued.into());
        }
        if !scopes.is_empty() {
            map.insert("scope".into(), scopes.join(" ").into());
        }
        if let Some(refresh) = refresh {
            map.insert("refresh_token".into(), refresh.into());
        }
    }
    Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        // `plain` (verifier == challenge) never passes.
        assert!(!pkce_s256_matches(challenge, challenge));
        // Too short or with characters outside the unreserved set.
        assert!(!pkce_s256_matches("abc", challenge));
        assert!(!pkce_s256_matches(
            "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk",
            challenge
        ));
    }

    #[test]
    fn resources_narrow_within_the_authorized_ones() {
        let authorized = vec![
            "https://a.example/".to_owned(),
            "https://b.example/".to_owned(),
        ];
        assert_eq!(narrowed_resources(vec![], &authorized).unwrap(), authorized);
        assert_eq!(
            narrowed_resources(vec!["https://b.example/".into()], &authorized).unwrap(),
            ["https://b.example/"]
        );
        assert_eq!(
            narrowed_resources(vec!["https://c.example/".into()], &authorized)
                .unwrap_err()
                .code,
            "invalid_target"
        );
    }
}
