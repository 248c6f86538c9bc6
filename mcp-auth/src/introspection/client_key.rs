//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): the
//! resource server proves who it is at the introspection endpoint with a short JWT signed by its
//! private key, instead of a shared secret (ZITADEL and Okta ask for it).
//!
//! The key is given as a private JWK (RFC 7517) with its `kid` and `alg`, the form providers hand
//! it out in. It is turned into the signing key once, when it is loaded (aws-lc-rs checks that
//! its parts agree); each introspection request then signs a fresh assertion: `iss` and `sub` the
//! client id, `aud` the authorization server's issuer identifier, a random `jti`, and a lifetime
//! of 60 seconds. Neither the key nor an assertion is ever logged (`Debug` shows the `kid`).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;

use crate::error::ConfigError;

/// How long an assertion is valid.
const ASSERTION_LIFETIME_SECS: u64 = 60;

/// The `client_assertion_type` of RFC 7523 §2.2.
pub(crate) const JWT_BEARER_ASSERTION: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A private key that signs `private_key_jwt` client assertions.
///
/// ```no_run
/// use mcp_auth::introspection::{ClientAuth, ClientKey};
///
/// # fn run() -> Result<(), mcp_auth::ConfigError> {
/// let key = ClientKey::from_jwk_file("/etc/mcp/introspection-key.json")?;
/// let auth = ClientAuth::private_key_jwt("mcp-server", key);
/// # let _ = auth; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientKey {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
}

impl PartialEq for ClientKey {
    fn eq(&self, other: &Self) -> bool {
        self.kid == other.kid
            && self.alg == other.alg
            && self.key.as_bytes() == other.key.as_bytes()
    }
}

impl Eq for ClientKey {}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The members of a private JWK this module reads (RFC 7518 §6).
#[derive(Deserialize)]
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
struct PrivateJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    d: Option<String>,
    n: Option<String>,
    e: Option<String>,
    p: Option<String>,
    q: Option<String>,
    dp: Option<String>,
    dq: Option<String>,
    qi: Option<String>,
}

impl ClientKey {
    /// The key in the private JWK `json` (`kty` `EC` with `crv` P-256 or P-384, `RSA`, or `OKP`
    /// with `crv` Ed25519), which must name its `kid` and its `alg` (ES256, ES384, RS256,
    /// PS256, EdDSA, ...).
    ///
    /// # Errors
    ///
    /// `client_key`: not JSON, not a private key, no `kid` or `alg`, an `alg` the key cannot
    /// sign with, parts that do not form one key; or a build without the `aws-lc-rs` feature.
    pub fn from_jwk(json: &str) -> Result<Self, ConfigError> {
        let invalid = |message: &str| ConfigError::invalid("client_key", message.to_owned());
        let jwk: PrivateJwk = serde_json::from_str(json)
            .map_err(|_| invalid("the private key is not a JWK (a JSON object with `kty`)"))?;
        let kid = jwk.kid.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
            invalid("the JWK has no `kid`: the authorization server finds the key by it")
        })?;
        let alg: Algorithm = jwk
            .alg
            .as_deref()
            .ok_or_else(|| invalid("the JWK has no `alg`: name the algorithm the key signs with (ES256, RS256, EdDSA, ...)"))?
            .parse()
            .map_err(|_| invalid("the JWK's `alg` is not a JWS algorithm"))?;
        let key = encoding_key(&jwk, alg)?;
        Ok(Self { kid, alg, key })
    }

    /// [`from_jwk`](Self::from_jwk) of the file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or [`from_jwk`](Self::from_jwk) refuses it.
    pub fn from_jwk_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::invalid(
                "client_key",
                format!(
                    "the private key file {} could not be read: {e}",
                    path.display()
                ),
            )
        })?;
        Self::from_jwk(&json)
    }

    /// A fresh client assertion of `client_id` for the authorization server `audience`.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str) -> Result<String, String> {
        crate::crypto::ensure_provider();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| format!("no randomness for the assertion: {e}"))?;
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("the client assertion could not be signed: {e}"))
    }
}

/// The signing key of `jwk` for `alg`.
#[cfg(feature = "aws-lc-rs")]
fn encoding_key(jwk: &PrivateJwk, alg: Algorithm) -> Result<EncodingKey, ConfigError> {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};

    let invalid = |message: String| ConfigError::invalid("client_key", message);
    let part = |name: &str, value: &Option<String>| -> Result<Vec<u8>, ConfigError> {
        let value = value.as_deref().ok_or_else(|| {
            invalid(format!(
                "the JWK has no `{name}`: give the private key, not the public one"
            ))
        })?;
        URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| invalid(format!("the JWK's `{name}` is not base64url")))
    };
    let mismatch = || {
        invalid("the JWK's parts do not form one key (check `d` against `x`, `y` or `n`)".into())
    };
    match (jwk.kty.as_str(), jwk.crv.as_deref(), alg) {
        ("EC", Some(crv), Algorithm::ES256 | Algorithm::ES384) => {
            let signing = match (crv, alg) {
                ("P-256", Algorithm::ES256) => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                ("P-384", Algorithm::ES384) => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                _ => return Err(invalid(format!("an `EC` key on {crv} cannot sign {alg:?}"))),
            };
            let mut point = vec![0x04];
            point.extend(part("x", &jwk.x)?);
            point.extend(part("y", &jwk.y)?);
            let pair =
                EcdsaKeyPair::from_private_key_and_public_key(signing, &part("d", &jwk.d)?, &point)
                    .map_err(|_| mismatch())?;
            let der = pair.to_pkcs8v1().map_err(|_| mismatch())?;
            Ok(EncodingKey::from_ec_der(der.as_ref()))
        }
        ("OKP", Some("Ed25519"), Algorithm::EdDSA) => {
            let pair =
                Ed25519KeyPair::from_seed_and_public_key(&part("d", &jwk.d)?, &part("x", &jwk.x)?)
                    .map_err(|_| mismatch())?;
            let der = pair.to_pkcs8v1().map_err(|_| mismatch())?;
            Ok(EncodingKey::from_ed_der(der.as_ref()))
        }
        (
            "RSA",
            _,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => {
            let components = aws_lc_rs::rsa::KeyPairComponents {
                public_key: aws_lc_rs::rsa::PublicKeyComponents {
                    n: part("n", &jwk.n)?,
                    e: part("e", &jwk.e)?,
                },
                d: part("d", &jwk.d)?,
                p: part("p", &jwk.p)?,
                q: part("q", &jwk.q)?,
                dP: part("dp", &jwk.dp)?,
                dQ: part("dq", &jwk.dq)?,
                qInv: part("qi", &jwk.qi)?,
            };
            let pair =
                aws_lc_rs::rsa::KeyPair::from_components(&components).map_err(|_| mismatch())?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                pair.as_der().map_err(|_| mismatch())?;
            // jsonwebtoken reads an RSA private key in PKCS#8 from PEM (its DER form is PKCS#1).
            let pem = format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                base64::engine::general_purpose::STANDARD.encode(der.as_ref())
            );
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| mismatch())
        }
        (kty, crv, alg) => Err(invalid(format!(
            "a `{kty}` key{} cannot sign {alg:?}; use an EC P-256 (ES256), P-384 (ES384), RSA (RS256, PS256, ...) or Ed25519 (EdDSA) key",
            crv.map(|c| format!(" on {c}")).unwrap_or_default()
        ))),
    }
}

#[cfg(not(feature = "aws-lc-rs"))]
fn encoding_key(_jwk: &PrivateJwk, _alg: Algorithm) -> Result<EncodingKey, ConfigError> {
    Err(ConfigError::invalid(
        "client_key",
        "private_key_jwt needs the `aws-lc-rs` feature of mcp-auth (the default): it turns the JWK into a signing key",
    ))
}

#[cfg(all(test, feature = "aws-lc-rs"))]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    /// RFC 7517 Appendix A.2, the RSA key (a published test vector), with its `kid` and `alg`.
    const RSA: &str = r#"{"kty":"RSA",
      "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
      "e":"AQAB",
      "d":"X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q",
      "p":"83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPVnwD20R-60eTDmD2ujnMt5PoqMrm8RfmNhVWDtjjMmCMjOpSXicFHj7XOuVIYQyqVWlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O0nVbfs",
      "q":"3dfOR9cuYq-0S-mkFLzgItgMEfFzB2q3hWehMuG0oCuqnb3vobLyumqjVZQO1dIrdwgTnCdpYzBcOfW5r370AFXjiWft_NGEiovonizhKpo9VVS78TzFgxkIdrecRezsZ-1kYd_s1qDbxtkDEgfAITAG9LUnADun4vIcb6yelxk",
      "dp":"G4sPXkc6Ya9y8oJW9_ILj4xuppu0lzi_H7VTkS8xj5SdX3coE0oimYwxIi2emTAue0UOa5dpgFGyBJ4c8tQ2VF402XRugKDTP8akYhFo5tAA77Qe_NmtuYZc3C3m3I24G2GvR5sSDxUyAN2zq8Lfn9EUms6rY3Ob8YeiKkTiBj0",
      "dq":"s9lAH9fggBsoFR8Oac2R_E2gw282rT2kGOAhvIllETE1efrA6huUUvMfBcMpn8lqeW6vzznYY5SSQF7pMdC_agI3nG8Ibp1BUb0JUiraRNqUfLhcQb_d9GF4Dh7e74WbRsobRonujTYN1xCaP6TO61jvWrX-L18txXw494Q_cgk",
      "qi":"GyM_p6JrXySiz1toFgKbWV-JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgUIZEVFEcOqwemRN81zoDAaa-Bk0KWNGDjJHZDdDmFhW3AN7lI-puxk_mHZGJ11rxyR8O55XLSe3SPmRfKwZI6yU24ZxvQKFYItdldUKGzO6Ia6zTKhAVRU",
      "alg":"RS256","kid":"2011-04-29"}"#;

    /// RFC 7517 Appendix A.2, the EC key.
    const EC: &str = r#"{"kty":"EC","crv":"P-256",
      "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
      "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
      "d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE",
      "alg":"ES256","kid":"1"}"#;

    /// RFC 8037 Appendix A.1, the Ed25519 key.
    const ED25519: &str = r#"{"kty":"OKP","crv":"Ed25519",
      "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
      "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
      "alg":"EdDSA","kid":"ed"}"#;

    fn verified(assertion: &str, key: &DecodingKey, alg: Algorithm) -> serde_json::Value {
        let mut validation = Validation::new(alg);
        validation.set_audience(&["https://as.example.com"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(assertion, key, &validation).unwrap();
        assert_eq!(data.header.typ.as_deref(), Some("JWT"));
        data.claims
    }

    #[test]
    fn assertions_of_each_key_type_verify_with_the_public_key() {
        crate::crypto::ensure_provider();
        let public = |json: &str| -> jsonwebtoken::jwk::Jwk { serde_json::from_str(json).unwrap() };
        for (json, alg) in [
            (RSA, Algorithm::RS256),
            (EC, Algorithm::ES256),
            (ED25519, Algorithm::EdDSA),
        ] {
            let key = ClientKey::from_jwk(json).unwrap();
            let assertion = key
                .assertion("mcp-server", "https://as.example.com")
                .unwrap();
            let decoding = DecodingKey::from_jwk(&public(json)).unwrap();
            let claims = verified(&assertion, &decoding, alg);
            assert_eq!(claims["iss"], "mcp-server");
            assert_eq!(claims["sub"], "mcp-server");
            assert_eq!(claims["aud"], "https://as.example.com");
            assert_eq!(
                claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
                60
            );
            let again = key
                .assertion("mcp-server", "https://as.example.com")
                .unwrap();
            assert_ne!(
                verified(&again, &decoding, alg)["jti"],
                claims["jti"],
                "a fresh jti each time"
            );
        }
    }

    #[test]
    fn keys_that_cannot_sign_are_refused_naming_the_problem() {
        let cases = [
            ("not json", "not a JWK"),
            (
                r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","alg":"ES256"}"#,
                "`kid`",
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","kid":"k"}"#,
                "`alg`",
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"k","alg":"ES256"}"#,
                "no `d`",
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","d":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE","kid":"k","alg":"ES256"}"#,
                "do not form one key",
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c","kid":"k","alg":"RS256"}"#,
                "cannot sign",
            ),
            (
                r#"{"kty":"oct","k":"c2VjcmV0","kid":"k","alg":"HS256"}"#,
                "cannot sign",
            ),
        ];
        for (json, says) in cases {
            let error = ClientKey::from_jwk(json).unwrap_err().to_string();
            assert!(error.contains(says), "{json}: {error}");
            assert!(!error.contains("870MB6"), "no key material in {error}");
        }
    }

    #[test]
    fn debug_shows_the_kid_only() {
        let shown = format!("{:?}", ClientKey::from_jwk(EC).unwrap());
        assert!(
            shown.contains("\"1\"") && !shown.contains("870MB6"),
            "{shown}"
        );
    }
}
