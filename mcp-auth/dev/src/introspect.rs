//! What the introspection endpoint answers (RFC 7662 §2.2).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::server::Shared;

/// The media type of RFC 9701 answers.
pub(crate) const SIGNED_RESPONSE: &str = "application/token-introspection+jwt";

/// `answer` as an RFC 9701 JWT (§5): `typ` `token-introspection+jwt`, `iss` this server, `aud`
/// the caller, `iat`, and the answer as `token_introspection`, signed with the current key.
pub(crate) fn signed(
    shared: &Shared,
    client_id: &str,
    answer: Value,
) -> Result<String, crate::DevServerError> {
    let key = {
        let keys = shared.keys();
        let alg = keys.default_alg().unwrap_or(crate::SigningAlg::Rs256);
        keys.current(alg)
            .cloned()
            .ok_or(crate::DevServerError::NoKey(alg))?
    };
    let header = json!({"alg": key.alg.name(), "kid": key.kid, "typ": "token-introspection+jwt"});
    let claims = json!({
        "iss": shared.layout.issuer,
        "aud": client_id,
        "iat": shared.clock.unix_seconds(),
        "token_introspection": answer,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(input.as_bytes())?;
    Ok(format!("{input}.{signature}"))
}

fn inactive() -> Value {
    json!({"active": false})
}

/// A number claim as whole seconds (fractions dropped); `None` when absent or not a number.
fn seconds(claims: &Map<String, Value>, name: &str) -> Option<f64> {
    claims.get(name).and_then(Value::as_f64)
}

/// `true` when `exp` (if any) is still ahead and `nbf` (if any) has passed.
pub(crate) fn in_validity_window(claims: &Map<String, Value>, now: u64) -> bool {
    #[allow(clippy::cast_precision_loss)] // Unix seconds fit an f64 exactly until year 285 million.
    let now = now as f64;
    let exp_ok = match claims.get("exp") {
        None => true,
        Some(_) => seconds(claims, "exp").is_some_and(|exp| exp > now),
    };
    let nbf_ok = match claims.get("nbf") {
        None => true,
        Some(_) => seconds(claims, "nbf").is_some_and(|nbf| nbf <= now),
    };
    exp_ok && nbf_ok
}

fn active(claims: Map<String, Value>) -> Value {
    let mut response = Map::new();
    response.insert("active".into(), true.into());
    // A DPoP-bound token (RFC 9449 §6.2) says so.
    let bound = claims.get("cnf").and_then(|c| c.get("jkt")).is_some();
    response.insert(
        "token_type".into(),
        if bound { "DPoP" } else { "Bearer" }.into(),
    );
    for (name, value) in claims {
        if name != "active" {
            response.insert(name, value);
        }
    }
    Value::Object(response)
}

/// The introspection response for `token`: its claims with `active:true` when it is a
/// registered opaque token or a JWT signed by a published key of this server, still valid and
/// not revoked; `{"active":false}` otherwise.
pub(crate) fn introspect(shared: &Shared, token: &str) -> Value {
    if shared.is_revoked(token) {
        return inactive();
    }
    let now = shared.clock.unix_seconds();
    if let Some(record) = shared.opaque(token) {
        let is_active = match record.active {
            Some(forced) => forced,
            None => in_validity_window(&record.claims, now),
        };
        return if is_active {
            active(record.claims)
        } else {
            inactive()
        };
    }
    match own_jwt_claims(shared, token) {
        Some(claims)
            if claims
                .get("iss")
                .and_then(Value::as_str)
                .is_some_and(|iss| shared.layout.is_issuer(iss))
                && claims.get("exp").is_some()
                && in_validity_window(&claims, now) =>
        {
            active(claims)
        }
        _ => inactive(),
    }
}

/// The claims of a compact JWS whose `kid` names a published key, whose `alg` is that key's
/// algorithm, and whose signature verifies.
fn own_jwt_claims(shared: &Shared, token: &str) -> Option<Map<String, Value>> {
    own_jwt(shared, token).map(|(_, claims)| claims)
}

/// The header and claims of a compact JWS whose `kid` names a published key, whose `alg` is
/// that key's algorithm, and whose signature verifies.
pub(crate) fn own_jwt(
    shared: &Shared,
    token: &str,
) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut segments = token.split('.');
    let (header, claims, signature) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    let header: Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let kid = header.get("kid")?.as_str()?;
    let alg = header.get("alg")?.as_str()?;
    let key = shared.keys().by_kid(kid).cloned()?;
    if alg != key.alg.name() {
        return None;
    }
    let signing_input = token.get(..header_len(token)?)?;
    if !key.verify(signing_input.as_bytes(), signature) {
        return None;
    }
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    Some((header, claims))
}

/// The length of `header.claims` in a compact JWS.
fn header_len(token: &str) -> Option<usize> {
    token.rfind('.')
}
