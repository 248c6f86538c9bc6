//! `private_key_jwt` client authentication (RFC 7523 §2.2) at the introspection and token
//! endpoints, for the clients registered with
//! `AuthorizationServerBuilder::introspection_client_key`.

use axum::http::HeaderMap;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

use super::server::Shared;
use super::wire::{Form, OAuthError, single};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client id of the request's client assertion once accepted, or why not
/// (`invalid_client`). The assertion's `aud` must be the issuer or `endpoint`, the URL of the
/// endpoint it is presented to (RFC 7523 §3).
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    form: &Form,
    endpoint: &str,
) -> Result<String, OAuthError> {
    if headers.contains_key(axum::http::header::AUTHORIZATION)
        || single(form, "client_secret")?.is_some()
    {
        return Err(OAuthError::invalid_request(
            "use one client authentication method, not a client assertion and a secret",
        ));
    }
    if single(form, "client_assertion_type")? != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_client(format!(
            "client_assertion_type must be {JWT_BEARER}"
        )));
    }
    let assertion = single(form, "client_assertion")?
        .ok_or_else(|| OAuthError::invalid_client("the client_assertion is missing"))?;
    let failed = || OAuthError::invalid_client("client authentication failed");
    // The client is the assertion's `iss`, read before the signature is checked (to pick the
    // key); nothing else is trusted until it is.
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| failed())?;
    let unverified: Value = {
        let payload = assertion.split('.').nth(1).ok_or_else(failed)?;
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .map_err(|_| failed())?;
        serde_json::from_slice(&bytes).map_err(|_| failed())?
    };
    let client_id = unverified["iss"].as_str().ok_or_else(failed)?;
    if single(form, "client_id")?.is_some_and(|id| id != client_id) {
        return Err(OAuthError::invalid_client(
            "the client_id parameter differs from the assertion's issuer",
        ));
    }
    let jwk_value = shared
        .introspection_keys
        .iter()
        .find(|(id, _)| id == client_id)
        .map(|(_, jwk)| jwk)
        .ok_or_else(failed)?;
    let jwk: Jwk = serde_json::from_value(jwk_value.clone()).map_err(|_| failed())?;
    if jwk.common.key_id.is_some() && jwk.common.key_id != header.kid {
        return Err(failed());
    }
    let alg = jwk
        .common
        .key_algorithm
        .and_then(|a| a.to_string().parse().ok())
        .unwrap_or(header.alg);
    // An asymmetric signature only: a shared secret is not a private key (RFC 7523 §2.2).
    if alg != header.alg
        || matches!(
            alg,
            jsonwebtoken::Algorithm::HS256
                | jsonwebtoken::Algorithm::HS384
                | jsonwebtoken::Algorithm::HS512
        )
    {
        return Err(failed());
    }
    mcp_auth::verify::ensure_crypto_provider();
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| failed())?;
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[client_id]);
    validation.set_audience(&[shared.layout.issuer.as_str(), endpoint]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .map_err(|_| failed())?
        .claims;
    if claims["sub"].as_str() != Some(client_id) {
        return Err(failed());
    }
    let jti = claims["jti"].as_str().ok_or_else(failed)?;
    let mut seen = shared
        .assertion_jtis
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !seen.insert(jti.to_owned()) {
        return Err(OAuthError::invalid_client(
            "the client assertion was used before",
        ));
    }
    Ok(client_id.to_owned())
}
