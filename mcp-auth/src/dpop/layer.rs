//! The bearer layer's DPoP path (RFC 9449 §7): the `DPoP` scheme next to `Bearer`, as the
//! resource's [`DpopPolicy`] says.
//!
//! * `Authorization: DPoP <token>` with a `DPoP` proof: the token is verified (the cached
//!   verification may serve), must be bound to a key (`cnf.jkt`), and the proof is checked on
//!   every request by every step of RFC 9449 §4.3 against this request, this token and that key.
//! * `Authorization: Bearer <token>`: refused when DPoP is required; otherwise a Bearer request,
//!   on which a DPoP-bound token is refused (RFC 9449 §7.2). A `DPoP` header next to the Bearer
//!   scheme is not evaluated: the Bearer scheme carries no proof, so it neither helps nor
//!   hurts, and a bound token stays refused whatever it carries.
//! * Every `401`/`403` carries the `DPoP` challenge with `algs` (after the Bearer challenge
//!   when Bearer is accepted); the error goes on the challenge of the scheme the request used.

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Uri};

use super::{DPOP_NONCE_HEADER, DpopChallenge, DpopError, DpopPolicy, DpopVerifier, ProofRequest};
use crate::auth_info::AuthInfo;
use crate::bearer::{BearerOutcome, MalformedCredentials, extract_bearer};
use crate::challenge::BearerChallenge;
use crate::error::{ErrorCode, VerifyError};
use crate::rejection::AuthRejection;
use crate::resource::ResourceInner;
use crate::verify::TokenVerifier as _;

/// The DPoP part of a rejection: the `DPoP` challenge, a `DPoP-Nonce`, and whether the Bearer
/// challenge is sent too.
#[derive(Debug, Clone)]
pub(crate) struct DpopReply {
    pub(crate) challenge: DpopChallenge,
    pub(crate) nonce: Option<HeaderValue>,
    pub(crate) bearer: bool,
}

impl DpopReply {
    /// Appends the challenge (after a Bearer one) and sets `DPoP-Nonce`.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        headers.append(WWW_AUTHENTICATE, self.challenge.to_header_value());
        if let Some(nonce) = &self.nonce {
            headers.insert(DPOP_NONCE_HEADER, nonce.clone());
        }
    }
}

/// The scheme an authenticated request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    Dpop,
}

/// The DPoP challenge without an error: `resource_metadata`, `scope` and `algs`.
fn plain_reply(resource: &ResourceInner, verifier: &DpopVerifier, scopes: &[String]) -> DpopReply {
    DpopReply {
        challenge: DpopChallenge::new(
            BearerChallenge::new(resource.metadata_url.as_str()).scope(scopes),
            verifier.options().algorithm_names(),
        ),
        nonce: None,
        bearer: verifier.options().policy.accepts_bearer(),
    }
}

/// Decorates a rejection of a request that used `scheme` (the scope refusal, after
/// authentication) with the DPoP challenge.
pub(crate) fn decorate(
    rejection: AuthRejection,
    resource: &ResourceInner,
    scheme: Scheme,
    scopes: &[String],
) -> AuthRejection {
    let Some(verifier) = resource.dpop.as_deref() else {
        return rejection;
    };
    match scheme {
        Scheme::Bearer => rejection.add_dpop(plain_reply(resource, verifier, scopes)),
        Scheme::Dpop => rejection.dpop_scheme(
            &verifier.options().algorithm_names(),
            verifier.options().policy.accepts_bearer(),
            None,
        ),
    }
}

/// Authenticates a request to a resource that accepts DPoP (policy `Accepted` or `Required`).
pub(crate) async fn authenticate(
    resource: &ResourceInner,
    verifier: &DpopVerifier,
    scopes: &[String],
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(AuthInfo, Scheme), AuthRejection> {
    let policy = verifier.options().policy;
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next();
    if values.next().is_some() {
        tracing::debug!(reason = ?MalformedCredentials::MultipleHeaders, "malformed credentials");
        return Err(
            AuthRejection::malformed(resource, MalformedCredentials::MultipleHeaders)
                .add_dpop(plain_reply(resource, verifier, scopes)),
        );
    }
    match value.map(|v| scheme_of(v.as_bytes())) {
        Some(Some(Scheme::Dpop)) => {
            dpop_request(resource, verifier, scopes, method, headers, uri).await
        }
        Some(Some(Scheme::Bearer)) if policy == DpopPolicy::Required => {
            tracing::debug!(reason = "bearer_refused", "token rejected");
            Err(refusal(
                resource,
                verifier,
                scopes,
                ErrorCode::InvalidToken,
                "This resource accepts only DPoP-bound access tokens: send Authorization: DPoP <token> with a DPoP proof".into(),
            ))
        }
        Some(Some(Scheme::Bearer)) => bearer_request(resource, verifier, scopes, headers, uri)
            .await
            .map(|info| (info, Scheme::Bearer)),
        // No credentials, or another scheme: no usable credentials (RFC 6750 §3.1).
        _ => Err(missing(resource, verifier, scopes)),
    }
}

fn missing(resource: &ResourceInner, verifier: &DpopVerifier, scopes: &[String]) -> AuthRejection {
    let reply = plain_reply(resource, verifier, scopes);
    let rejection = AuthRejection::missing_credentials(resource, scopes);
    if reply.bearer {
        return rejection.add_dpop(reply);
    }
    rejection
        .described(
            "Authentication required: send a DPoP-bound access token (Authorization: DPoP) with a DPoP proof header",
        )
        .add_dpop(reply)
}

/// A `DPoP`-scheme refusal: the error on the DPoP challenge.
fn refusal(
    resource: &ResourceInner,
    verifier: &DpopVerifier,
    scopes: &[String],
    code: ErrorCode,
    description: String,
) -> AuthRejection {
    let nonce = if code == ErrorCode::UseDpopNonce {
        verifier
            .nonce()
            .and_then(|n| HeaderValue::from_str(&n).ok())
    } else {
        None
    };
    AuthRejection::dpop_refused(resource, code, description, scopes).dpop_scheme(
        &verifier.options().algorithm_names(),
        verifier.options().policy.accepts_bearer(),
        nonce,
    )
}

async fn bearer_request(
    resource: &ResourceInner,
    verifier: &DpopVerifier,
    scopes: &[String],
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<AuthInfo, AuthRejection> {
    let token = match extract_bearer(headers, uri) {
        Ok(BearerOutcome::Token(token)) => token,
        Ok(_) => return Err(missing(resource, verifier, scopes)),
        Err(why) => {
            tracing::debug!(reason = ?why, "malformed credentials");
            return Err(AuthRejection::malformed(resource, why)
                .add_dpop(plain_reply(resource, verifier, scopes)));
        }
    };
    if headers.contains_key(super::DPOP_HEADER) {
        tracing::debug!("a DPoP proof with the Bearer scheme is not evaluated (RFC 9449 §7.2)");
    }
    // `verify` refuses key-bound tokens (the Bearer rule); `bearer_only` again for custom
    // verifiers that do not.
    let verified = resource
        .verifier
        .verify(token)
        .await
        .and_then(crate::verify::bearer_only);
    verified.map_err(|error| {
        log_verify_error(resource, &error);
        AuthRejection::from_verify_error(resource, &error, scopes)
            .add_dpop(plain_reply(resource, verifier, scopes))
    })
}

async fn dpop_request(
    resource: &ResourceInner,
    verifier: &DpopVerifier,
    scopes: &[String],
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(AuthInfo, Scheme), AuthRejection> {
    let token = match dpop_token(headers, uri) {
        Ok(token) => token,
        Err(why) => {
            tracing::debug!(reason = ?why, "malformed credentials");
            return Err(refusal(
                resource,
                verifier,
                scopes,
                ErrorCode::InvalidRequest,
                why.to_string(),
            ));
        }
    };
    let info = match resource.verifier.verify_dpop(token).await {
        Ok(info) => info,
        Err(error) => {
            log_verify_error(resource, &error);
            if matches!(error, VerifyError::Unavailable { .. }) {
                return Err(AuthRejection::from_verify_error(resource, &error, scopes));
            }
            return Err(refusal(
                resource,
                verifier,
                scopes,
                ErrorCode::InvalidToken,
                error.to_string(),
            ));
        }
    };
    let Some(jkt) = info.dpop_jkt() else {
        let error = DpopError::NotBound;
        tracing::debug!(reason = error.kind(), "dpop token rejected");
        return Err(refusal(
            resource,
            verifier,
            scopes,
            error.code(),
            error.to_string(),
        ));
    };
    let request = ProofRequest {
        method,
        path: uri.path(),
        access_token: Some(token),
        bound_jkt: Some(jkt),
    };
    match verifier.verify(headers, &request).await {
        Ok(_) => Ok((info, Scheme::Dpop)),
        Err(error) => {
            tracing::debug!(
                reason = error.kind(),
                step = error.step(),
                "dpop proof rejected"
            );
            if let DpopError::StoreUnavailable {
                reason,
                retry_after,
            } = &error
            {
                resource.alerts.store_unavailable(&resource.id, reason);
                return Err(AuthRejection::binding_store_unavailable(
                    resource,
                    *retry_after,
                ));
            }
            Err(refusal(
                resource,
                verifier,
                scopes,
                error.code(),
                error.to_string(),
            ))
        }
    }
}

fn log_verify_error(resource: &ResourceInner, error: &VerifyError) {
    match error {
        VerifyError::Unavailable { reason, .. } => {
            tracing::debug!(%reason, "authorization server unavailable");
            resource.alerts.unavailable(&resource.id, reason);
        }
        VerifyError::InvalidType => {
            tracing::debug!(reason = error.kind(), "token rejected");
            resource.wiring.typ_refused(&resource.id);
        }
        other => tracing::debug!(reason = other.kind(), "token rejected"),
    }
}

/// The scheme of one `Authorization` value: `Bearer`, `DPoP` (case-insensitive), or `None`.
fn scheme_of(value: &[u8]) -> Option<Scheme> {
    let value = trim_ows(value);
    let end = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(value.len());
    let scheme = &value[..end];
    if scheme.eq_ignore_ascii_case(b"bearer") {
        Some(Scheme::Bearer)
    } else if scheme.eq_ignore_ascii_case(b"dpop") {
        Some(Scheme::Dpop)
    } else {
        None
    }
}

fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &value[start..end.max(start)]
}

/// The token68 of `Authorization: DPoP <token>` (RFC 9449 §7.1), with the rules of the Bearer
/// scheme: `1*SP` after the scheme, one token of the b64token set, no `access_token` in the
/// query.
fn dpop_token<'a>(headers: &'a HeaderMap, uri: &Uri) -> Result<&'a str, MalformedCredentials> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or(MalformedCredentials::Empty)?
        .as_bytes();
    let value = trim_ows(value);
    let rest = &value[4.min(value.len())..];
    let Some((&first, _)) = rest.split_first() else {
        return Err(MalformedCredentials::Empty);
    };
    if first != b' ' {
        return Err(MalformedCredentials::InvalidCharacters);
    }
    let token = &rest[rest.iter().take_while(|&&b| b == b' ').count()..];
    if token.is_empty() {
        return Err(MalformedCredentials::Empty);
    }
    if token.iter().any(|&b| b == b' ' || b == b'\t') {
        return Err(MalformedCredentials::ExtraParts);
    }
    if !token.is_ascii() {
        return Err(MalformedCredentials::NotAscii);
    }
    let body = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    let valid = body > 0
        && token[..body].iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if !valid {
        return Err(MalformedCredentials::InvalidCharacters);
    }
    if uri.query().is_some_and(|q| {
        q.split('&')
            .any(|p| p.split('=').next() == Some("access_token"))
    }) {
        return Err(MalformedCredentials::MultipleMethods);
    }
    std::str::from_utf8(token).map_err(|_| MalformedCredentials::NotAscii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_tokens_are_parsed_like_bearer() {
        assert_eq!(scheme_of(b"DPoP abc"), Some(Scheme::Dpop));
        assert_eq!(scheme_of(b"dpop abc"), Some(Scheme::Dpop));
        assert_eq!(scheme_of(b"  Bearer abc"), Some(Scheme::Bearer));
        assert_eq!(scheme_of(b"Basic abc"), None);
        assert_eq!(scheme_of(b"DPoPx abc"), None);
        let uri: Uri = "/mcp".parse().unwrap();
        let token = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_static(v));
            dpop_token(&h, &uri).map(str::to_owned)
        };
        assert_eq!(token("DPoP a.b-c_d~e+f/g=="), Ok("a.b-c_d~e+f/g==".into()));
        assert_eq!(token("DPoP  abc "), Ok("abc".into()));
        assert_eq!(token("DPoP"), Err(MalformedCredentials::Empty));
        assert_eq!(token("DPoP a b"), Err(MalformedCredentials::ExtraParts));
        assert_eq!(
            token("DPoP a\"b"),
            Err(MalformedCredentials::InvalidCharacters)
        );
        let query: Uri = "/mcp?access_token=x".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("DPoP abc"));
        assert_eq!(
            dpop_token(&h, &query),
            Err(MalformedCredentials::MultipleMethods)
        );
    }
}
