//! Getting a token for another API from an access token of this server, at the token
//! endpoint: RFC 8693 token exchange and the RFC 7523 JWT bearer grant (with Entra ID's
//! on-behalf-of variant, `requested_token_use=on_behalf_of`).
//!
//! Only the confidential clients of the exchange policy
//! (`AuthorizationServerBuilder::exchange_policy`) may use them, and only for the audiences
//! listed for them. The presented token must be an access token this server (or one of its
//! tenants) issued, still valid; the new token is for the same `sub`, has the target as `aud`,
//! the exchanging client as `client_id`, and the RFC 8693 §4.1 `act` claim naming that client
//! (nesting the `act` the presented token had). Tokens are never logged.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::clients::Client;
use super::introspect;
use super::server::Shared;
use super::token;
use super::wire::{self, Form, OAuthError};

/// RFC 8693 §2.1 `grant_type`.
pub(crate) const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 §2.1 `grant_type`.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 §3: the only token type this server takes and issues.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Answers a token request whose `grant_type` is [`TOKEN_EXCHANGE`] or [`JWT_BEARER`], from an
/// authenticated `client`; `jkt` binds the new token to a DPoP key.
pub(crate) fn grant(
    shared: &Shared,
    client: &Client,
    grant_type: &str,
    form: &Form,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    let allowed = allowed_audiences(shared, client, grant_type)?;
    let exchange = grant_type == TOKEN_EXCHANGE;
    let (presented, what) = if exchange {
        (exchange_parameters(form)?, "subject_token")
    } else {
        (bearer_parameters(form)?, "assertion")
    };
    let requested_scope = wire::single(form, "scope")?;
    let mut requested_scopes = wire::scope_tokens(requested_scope)?;
    let on_behalf_of = wire::single(form, "requested_token_use")? == Some("on_behalf_of");
    let target = match target(form) {
        // Entra ID's on-behalf-of names the API as a scope `{api}/.default`, no resource.
        Err(_) if on_behalf_of => default_scope_target(&requested_scopes)?,
        other => other?,
    };
    requested_scopes.retain(|scope| !scope.ends_with("/.default"));
    if !allowed.contains(&target) {
        return Err(OAuthError::bad_request(
            "invalid_target",
            format!(
                "the client `{}` may not obtain tokens for `{target}`; the exchange policy allows {}",
                client.client_id,
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let claims = presented_claims(shared, presented, what)?;
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_grant(format!("the {what} has no `sub`")))?;
    // Checked by presented_claims: the issuer is this server's or one of its tenants'.
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let scopes = match requested_scope {
        Some(_) => requested_scopes,
        None => claims
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| {
                s.split(' ')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    };
    // RFC 8693 §4.1: the current actor, and before it the chain of earlier ones.
    let act = match claims.get("act") {
        Some(earlier) => json!({"sub": client.client_id, "act": earlier}),
        None => json!({"sub": client.client_id}),
    };
    let builder = token::access_token(
        shared,
        subject,
        client,
        std::slice::from_ref(&target),
        &scopes,
        jkt,
    )
    .issuer(issuer)
    .claim("act", act);
    let access_token = token::sign(builder)?;
    tracing::debug!(
        client_id = %client.client_id,
        audience = %target,
        grant_type,
        "the development authorization server exchanged a token"
    );
    Ok(token::token_response(
        access_token,
        &scopes,
        None,
        jkt.is_some(),
        exchange.then_some(ACCESS_TOKEN_TYPE),
    ))
}

/// The audiences the exchange policy allows `client`; `unauthorized_client` when it is public
/// or not in the policy.
fn allowed_audiences<'s>(
    shared: &'s Shared,
    client: &Client,
    grant_type: &str,
) -> Result<&'s [String], OAuthError> {
    match shared.exchange_policy.get(&client.client_id) {
        Some(audiences) if !client.is_public() => Ok(audiences),
        _ => Err(OAuthError::bad_request(
            "unauthorized_client",
            format!(
                "the client `{}` may not use the {grant_type} grant; list it (a confidential client) in AuthorizationServerBuilder::exchange_policy",
                client.client_id
            ),
        )),
    }
}

/// The `subject_token` of an RFC 8693 §2.1 request, its other parameters checked.
fn exchange_parameters(form: &Form) -> Result<&str, OAuthError> {
    let subject_token = wire::single(form, "subject_token")?
        .ok_or_else(|| OAuthError::invalid_request("the subject_token parameter is missing"))?;
    match wire::single(form, "subject_token_type")? {
        None => {
            return Err(OAuthError::invalid_request(format!(
                "the subject_token_type parameter is missing; it must be {ACCESS_TOKEN_TYPE}"
            )));
        }
        Some(ACCESS_TOKEN_TYPE) => {}
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "subject_token_type `{other}` is not supported; this server exchanges access tokens ({ACCESS_TOKEN_TYPE})"
            )));
        }
    }
    if let Some(requested) = wire::single(form, "requested_token_type")?
        && requested != ACCESS_TOKEN_TYPE
    {
        return Err(OAuthError::invalid_request(format!(
            "requested_token_type `{requested}` is not supported; this server issues access tokens ({ACCESS_TOKEN_TYPE})"
        )));
    }
    if wire::single(form, "actor_token")?.is_some()
        || wire::single(form, "actor_token_type")?.is_some()
    {
        return Err(OAuthError::invalid_request(
            "actor_token is not supported; the actor is the authenticated client",
        ));
    }
    Ok(subject_token)
}

/// The `assertion` of an RFC 7523 §2.1 request, its other parameters checked.
fn bearer_parameters(form: &Form) -> Result<&str, OAuthError> {
    let assertion = wire::single(form, "assertion")?
        .ok_or_else(|| OAuthError::invalid_request("the assertion parameter is missing"))?;
    match wire::single(form, "requested_token_use")? {
        None | Some("on_behalf_of") => Ok(assertion),
        Some(other) => Err(OAuthError::invalid_request(format!(
            "requested_token_use `{other}` is not supported; the only value is on_behalf_of"
        ))),
    }
}

/// The API an on-behalf-of request names as its one `{api}/.default` scope.
fn default_scope_target(scopes: &[String]) -> Result<String, OAuthError> {
    let mut apis = scopes.iter().filter_map(|s| s.strip_suffix("/.default"));
    match (apis.next(), apis.next()) {
        (Some(api), None) if !api.is_empty() => Ok(api.to_owned()),
        _ => Err(OAuthError::invalid_request(
            "an on-behalf-of request names its API as one `{api}/.default` scope, or with a resource parameter",
        )),
    }
}

/// The one target of the request: a `resource` (an absolute URI, RFC 8707) or an `audience`
/// (RFC 8693 §2.1). None is `invalid_request`; several different ones `invalid_target`.
fn target(form: &Form) -> Result<String, OAuthError> {
    let resources = wire::resources(form)?;
    let audiences = wire::all(form, "audience");
    if audiences.iter().any(|a| a.is_empty()) {
        return Err(OAuthError::bad_request(
            "invalid_target",
            "the audience parameter is empty",
        ));
    }
    let mut targets: Vec<&str> = Vec::new();
    for value in resources.into_iter().chain(audiences) {
        if !targets.contains(&value) {
            targets.push(value);
        }
    }
    match targets.as_slice() {
        [] => Err(OAuthError::invalid_request(
            "name the API the token is for with a resource or an audience parameter",
        )),
        [one] => Ok((*one).to_owned()),
        _ => Err(OAuthError::bad_request(
            "invalid_target",
            "give one target (one resource or audience value); this server issues a token for one API at a time",
        )),
    }
}

/// The claims of the presented token (`what` names its parameter) when it is an access token
/// of this server: signed by a published key, `typ` `at+jwt`, issued by this server or one of
/// its tenants, with an `exp` still ahead, not revoked. `invalid_grant` otherwise.
fn presented_claims(
    shared: &Shared,
    token: &str,
    what: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let refuse = |why: &str| Err(OAuthError::invalid_grant(format!("the {what} {why}")));
    let Some((header, claims)) = introspect::own_jwt(shared, token) else {
        return refuse(
            "is not a JWT signed by a current key of this authorization server (see its jwks_uri)",
        );
    };
    let typ = header
        .get("typ")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")) {
        return refuse("is not an access token (its typ is not at+jwt, RFC 9068)");
    }
    if !claims
        .get("iss")
        .and_then(Value::as_str)
        .is_some_and(|iss| shared.layout.is_issuer(iss))
    {
        return refuse("was not issued by this authorization server (iss)");
    }
    if claims.get("exp").is_none()
        || !introspect::in_validity_window(&claims, shared.clock.unix_seconds())
    {
        return refuse("is expired (or not yet valid)");
    }
    if shared.is_revoked(token) {
        return refuse("was revoked");
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn one_target_from_resource_or_audience() {
        let ok = |pairs: &[(&str, &str)]| target(&form(pairs)).unwrap();
        let code = |pairs: &[(&str, &str)]| target(&form(pairs)).unwrap_err().code;
        assert_eq!(
            ok(&[("resource", "https://a.example/")]),
            "https://a.example/"
        );
        assert_eq!(ok(&[("audience", "backup-api")]), "backup-api");
        // The same value twice is one target.
        assert_eq!(
            ok(&[
                ("resource", "https://a.example/"),
                ("audience", "https://a.example/")
            ]),
            "https://a.example/"
        );
        assert_eq!(code(&[]), "invalid_request");
        assert_eq!(
            code(&[
                ("resource", "https://a.example/"),
                ("resource", "https://b.example/")
            ]),
            "invalid_target"
        );
        assert_eq!(
            code(&[("resource", "https://a.example/"), ("audience", "b")]),
            "invalid_target"
        );
        assert_eq!(code(&[("resource", "relative/path")]), "invalid_target");
        assert_eq!(code(&[("audience", "")]), "invalid_target");
    }

    #[test]
    fn exchange_and_bearer_parameters_are_checked() {
        let subject = [
            ("subject_token", "t"),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ];
        assert_eq!(exchange_parameters(&form(&subject)).unwrap(), "t");
        let mut requested = subject.to_vec();
        requested.push(("requested_token_type", ACCESS_TOKEN_TYPE));
        assert!(exchange_parameters(&form(&requested)).is_ok());
        for bad in [
            vec![("subject_token_type", ACCESS_TOKEN_TYPE)],
            vec![("subject_token", "t")],
            vec![
                ("subject_token", "t"),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:id_token",
                ),
            ],
            vec![
                ("subject_token", "t"),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token",
                ),
            ],
            vec![
                ("subject_token", "t"),
                ("subject_token", "u"),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
            ],
            vec![
                ("subject_token", "t"),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("actor_token", "a"),
            ],
        ] {
            assert_eq!(
                exchange_parameters(&form(&bad)).unwrap_err().code,
                "invalid_request",
                "{bad:?}"
            );
        }
        assert_eq!(
            bearer_parameters(&form(&[("assertion", "a")])).unwrap(),
            "a"
        );
        assert!(
            bearer_parameters(&form(&[
                ("assertion", "a"),
                ("requested_token_use", "on_behalf_of")
            ]))
            .is_ok()
        );
        for bad in [
            vec![],
            vec![("assertion", "a"), ("requested_token_use", "other")],
            vec![("assertion", "a"), ("assertion", "b")],
        ] {
            assert_eq!(
                bearer_parameters(&form(&bad)).unwrap_err().code,
                "invalid_request",
                "{bad:?}"
            );
        }
    }
}
