//! Step 8 of the pipeline: a `DPoP`-scheme request (RFC 9449 §7.1). The token is verified
//! (the cached verification may serve) and must be bound to a key (`cnf.jkt`); the proof is
//! checked on every request, by every step of RFC 9449 §4.3, against this request, this token
//! and that key ([`crate::dpop`]). Every refusal carries the error on the `DPoP` challenge.

use http::HeaderValue;

use crate::auth_info::AuthInfo;
use crate::bearer::Scheme;
use crate::dpop::{DpopError, ProofRequest};
use crate::error::{ErrorCode, VerifyError};
use crate::protection::Protection;

use super::Head;
use crate::rejection::AuthRejection;
use crate::verify::TokenVerifier as _;

/// Authenticates the `DPoP` token `token` of `request` at `protection`, which accepts DPoP.
/// `scopes`: the `scope` of the refusals' challenges.
pub(crate) async fn authenticate(
    protection: &Protection,
    scopes: &[String],
    request: Head<'_>,
    token: &str,
) -> Result<AuthInfo, AuthRejection> {
    let ctx = &protection.challenge;
    let refused = |code: ErrorCode, description: String| {
        AuthRejection::refused(ctx, Scheme::Dpop, code, description, scopes)
    };
    let Some(verifier) = protection.dpop.as_deref() else {
        // Unreachable: the DPoP scheme is read only for a resource that accepts it.
        return Err(AuthRejection::missing_credentials(ctx, scopes));
    };
    let info = match protection.verifier.verify_dpop(token).await {
        Ok(info) => info,
        Err(error) => {
            super::log_refused_token(protection, &error);
            if matches!(error, VerifyError::Unavailable { .. }) {
                return Err(AuthRejection::from_verify_error(
                    ctx,
                    Scheme::Dpop,
                    &error,
                    scopes,
                ));
            }
            return Err(refused(ErrorCode::InvalidToken, error.to_string()));
        }
    };
    let Some(jkt) = info.dpop_jkt() else {
        let error = DpopError::NotBound;
        tracing::debug!(reason = error.kind(), "dpop token rejected");
        return Err(refused(error.code(), error.to_string()));
    };
    let proof = ProofRequest {
        method: request.method,
        path: request.uri.path(),
        access_token: Some(token),
        bound_jkt: Some(jkt),
    };
    match verifier.verify(request.headers, &proof).await {
        Ok(_) => Ok(info),
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
                protection.notices.store_unavailable(&protection.id, reason);
                return Err(AuthRejection::unavailable(
                    ctx,
                    crate::binding::UNAVAILABLE_DESCRIPTION,
                    *retry_after,
                ));
            }
            let nonce = (error.code() == ErrorCode::UseDpopNonce)
                .then(|| verifier.nonce())
                .flatten()
                .and_then(|n| HeaderValue::from_str(&n).ok());
            Err(refused(error.code(), error.to_string()).with_dpop_nonce(nonce))
        }
    }
}
