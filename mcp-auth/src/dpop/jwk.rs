//! The proof's `jwk` header: a public key that fits `alg`, and its RFC 7638 thumbprint.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize as _;
use serde::de::IntoDeserializer as _;
use serde_json::{Map, Value};

use super::DpopError;

/// JWK members that hold private (or symmetric) key material (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The verification key of a proof's `jwk` for `alg`: public only, of the key type and curve
/// `alg` needs.
pub(super) fn public_key(
    jwk: &Map<String, Value>,
    alg: Algorithm,
) -> Result<(DecodingKey, Jwk), DpopError> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopError::PrivateKey);
    }
    let kty = member(jwk, "kty")?;
    let crv = jwk.get("crv").and_then(Value::as_str);
    let fits = match alg {
        Algorithm::ES256 => kty == "EC" && crv == Some("P-256"),
        Algorithm::ES384 => kty == "EC" && crv == Some("P-384"),
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => kty == "RSA",
        Algorithm::EdDSA => kty == "OKP" && crv == Some("Ed25519"),
        _ => false,
    };
    if !fits {
        return Err(DpopError::KeyMismatch);
    }
    if let Some(Value::String(stated)) = jwk.get("alg")
        && stated.parse::<Algorithm>().ok() != Some(alg)
    {
        return Err(DpopError::KeyMismatch);
    }
    // The thumbprint members must be well-formed base64url strings before any key is made.
    for &name in thumbprint_members(kty)? {
        let value = member(jwk, name)?;
        if name != "kty" && name != "crv" && URL_SAFE_NO_PAD.decode(value).is_err() {
            return Err(DpopError::InvalidJwk("a key parameter is not base64url"));
        }
    }
    // Read in place, without a copy of the map.
    let parsed = Jwk::deserialize(jwk.into_deserializer())
        .map_err(|_| DpopError::InvalidJwk("it is not a JWK jsonwebtoken can read"))?;
    let key = DecodingKey::from_jwk(&parsed)
        .map_err(|_| DpopError::InvalidJwk("the key parameters are invalid"))?;
    Ok((key, parsed))
}

/// The required members of a key type, in RFC 7638 (lexicographic) order.
fn thumbprint_members(kty: &str) -> Result<&'static [&'static str], DpopError> {
    match kty {
        "EC" => Ok(&["crv", "kty", "x", "y"]),
        "RSA" => Ok(&["e", "kty", "n"]),
        "OKP" => Ok(&["crv", "kty", "x"]),
        _ => Err(DpopError::InvalidJwk(
            "the key type (kty) must be EC, RSA or OKP",
        )),
    }
}

fn member<'a>(jwk: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, DpopError> {
    match jwk.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DpopError::InvalidJwk("a key member is not a string")),
        None => Err(DpopError::InvalidJwk("a required key member is missing")),
    }
}

/// The RFC 7638 JWK SHA-256 thumbprint of a key read by [`public_key`], base64url without
/// padding: what a bound token's `cnf.jkt` names (jsonwebtoken's `Jwk::thumbprint`).
pub(super) fn thumbprint(jwk: &Jwk) -> Result<String, DpopError> {
    jwk.thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| DpopError::InvalidJwk("the key's thumbprint cannot be computed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of RFC 7638 §3.1, read as a proof's `jwk` is: jsonwebtoken's thumbprint is
    /// the RFC's.
    #[test]
    fn the_thumbprint_of_rfc7638s_example() {
        crate::crypto::ensure_provider();
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let (_, parsed) = public_key(jwk.as_object().unwrap(), Algorithm::RS256).unwrap();
        assert_eq!(
            thumbprint(&parsed).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
