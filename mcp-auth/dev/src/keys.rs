//! Signing keys: generation with aws-lc-rs, the JWKS, signing and checking own signatures.
//!
//! Every key is bound to exactly one [`SigningAlg`]: RS256 and PS256 get different RSA keys.
//! Hence each JWK states its `alg` (unless the server was built with
//! [`publish_key_alg(false)`](super::AuthorizationServerBuilder::publish_key_alg)), and
//! "this token's `alg` does not match its key" is easy to produce.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Map, Value, json};

use super::error::DevServerError;

/// A JWS signature algorithm the development server can sign with.
///
/// Each algorithm gets its own key: RS256 and PS256 do not share an RSA key, ES384 uses a P-384
/// key, EdDSA an Ed25519 key.
///
/// ```
/// use mcp_auth_dev::SigningAlg;
///
/// assert_eq!(SigningAlg::Ps256.name(), "PS256");
/// assert_eq!(SigningAlg::from_name("EdDSA"), Some(SigningAlg::EdDsa));
/// assert_eq!(SigningAlg::from_name("HS256"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA 2048). The algorithm RFC 9068 makes mandatory.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (RSA 2048).
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (RSA 2048).
    Rs512,
    /// RSASSA-PSS with SHA-256 (RSA 2048).
    Ps256,
    /// RSASSA-PSS with SHA-384 (RSA 2048).
    Ps384,
    /// RSASSA-PSS with SHA-512 (RSA 2048).
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// Ed25519 (JOSE `EdDSA`, RFC 8037).
    EdDsa,
}

impl SigningAlg {
    /// Every algorithm, in declaration order.
    pub const ALL: [SigningAlg; 9] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::EdDsa,
    ];

    /// The JOSE name, as written in a JWS `alg` header and a JWK `alg` member.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm with this JOSE name (exact, case-sensitive), if the server supports it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The matching `jsonwebtoken` algorithm, e.g. for `jsonwebtoken::Validation::new`.
    pub const fn algorithm(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Rs384 => Algorithm::RS384,
            Self::Rs512 => Algorithm::RS512,
            Self::Ps256 => Algorithm::PS256,
            Self::Ps384 => Algorithm::PS384,
            Self::Ps512 => Algorithm::PS512,
            Self::Es256 => Algorithm::ES256,
            Self::Es384 => Algorithm::ES384,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    /// `true` for the RSA algorithms (RS* and PS*).
    pub const fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512
        )
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `bytes` random bytes from the operating system, base64url without padding.
pub(crate) fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if aws_lc_rs::rand::fill(&mut buf).is_err() {
        // aws-lc only fails here when the OS has no entropy source at all; nothing can go on.
        panic!("the operating system's random number generator is unavailable");
    }
    URL_SAFE_NO_PAD.encode(buf)
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One private key with its public half.
pub(crate) struct SigningKey {
    pub(crate) alg: SigningAlg,
    pub(crate) kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// `kty` and the public parameters (`n`/`e`, `crv`/`x`/`y`, `crv`/`x`).
    public: Map<String, Value>,
    /// The SubjectPublicKeyInfo DER of an RSA key.
    spki_der: Option<Vec<u8>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key for `alg` with a fresh random `kid` such as `rs256-3q2+7w...`.
    pub(crate) fn generate(alg: SigningAlg) -> Result<Self, DevServerError> {
        let kid = format!("{}-{}", alg.name().to_ascii_lowercase(), random_b64(9));
        let fail = |reason: &str| DevServerError::KeyGeneration {
            alg,
            reason: reason.to_owned(),
        };
        match alg {
            SigningAlg::Es256 => Self::ec(alg, kid, &ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32),
            SigningAlg::Es384 => Self::ec(alg, kid, &ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48),
            SigningAlg::EdDsa => {
                let pair = Ed25519KeyPair::generate().map_err(|_| fail("Ed25519 generation"))?;
                let pkcs8 = pair
                    .to_pkcs8v1()
                    .map_err(|_| fail("Ed25519 PKCS#8 export"))?;
                let x = b64(pair.public_key().as_ref());
                let decoding = DecodingKey::from_ed_components(&x)
                    .map_err(|e| fail(&format!("Ed25519 public key: {e}")))?;
                Ok(Self {
                    alg,
                    kid,
                    encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
                    decoding,
                    public: object(json!({"kty": "OKP", "crv": "Ed25519", "x": x})),
                    spki_der: None,
                })
            }
            _ => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| fail("RSA-2048 generation"))?;
                let pkcs8 = pair.as_der().map_err(|_| fail("RSA PKCS#8 export"))?;
                // jsonwebtoken's RSA signers (both backends) take PKCS#1 `RSAPrivateKey` DER,
                // which is the private-key octet string inside the PKCS#8 wrapper.
                let pkcs1 = pkcs8_private_key(pkcs8.as_ref())
                    .ok_or_else(|| fail("RSA PKCS#8 document has an unexpected shape"))?;
                let public = pair.public_key();
                let components = PublicKeyComponents::<Vec<u8>>::from(public);
                let spki = public
                    .as_der()
                    .map_err(|_| fail("RSA public key DER export"))?;
                Ok(Self {
                    alg,
                    kid,
                    encoding: EncodingKey::from_rsa_der(pkcs1),
                    decoding: DecodingKey::from_rsa_raw_components(&components.n, &components.e),
                    public: object(json!({
                        "kty": "RSA",
                        "n": b64(&components.n),
                        "e": b64(&components.e),
                    })),
                    spki_der: Some(spki.as_ref().to_vec()),
                })
            }
        }
    }

    fn ec(
        alg: SigningAlg,
        kid: String,
        signing: &'static EcdsaSigningAlgorithm,
        crv: &str,
        coordinate_len: usize,
    ) -> Result<Self, DevServerError> {
        let fail = |reason: &str| DevServerError::KeyGeneration {
            alg,
            reason: reason.to_owned(),
        };
        let pair = EcdsaKeyPair::generate(signing).map_err(|_| fail("EC generation"))?;
        let pkcs8 = pair.to_pkcs8v1().map_err(|_| fail("EC PKCS#8 export"))?;
        // The public key is the uncompressed point 0x04 || x || y.
        let point = pair.public_key().as_ref();
        let (x, y) = match point.split_first() {
            Some((4, xy)) if xy.len() == 2 * coordinate_len => xy.split_at(coordinate_len),
            _ => return Err(fail("EC public key is not an uncompressed point")),
        };
        let (x, y) = (b64(x), b64(y));
        let decoding = DecodingKey::from_ec_components(&x, &y)
            .map_err(|e| fail(&format!("EC public key: {e}")))?;
        Ok(Self {
            alg,
            kid,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            decoding,
            public: object(json!({"kty": "EC", "crv": crv, "x": x, "y": y})),
            spki_der: None,
        })
    }

    /// `kty` and the public parameters, nothing else (what a DPoP proof's `jwk` carries).
    pub(crate) fn public_params(&self) -> &Map<String, Value> {
        &self.public
    }

    /// The public JWK, with `alg` when `publish_alg`.
    pub(crate) fn jwk(&self, publish_alg: bool) -> Value {
        let mut jwk = self.public.clone();
        jwk.insert("use".into(), "sig".into());
        jwk.insert("kid".into(), self.kid.clone().into());
        if publish_alg {
            jwk.insert("alg".into(), self.alg.name().into());
        }
        Value::Object(jwk)
    }

    /// The SubjectPublicKeyInfo DER of an RSA key, `None` for other keys.
    pub(crate) fn spki_der(&self) -> Option<&[u8]> {
        self.spki_der.as_deref()
    }

    /// Signs `input` with this key's algorithm; the base64url signature.
    pub(crate) fn sign(&self, input: &[u8]) -> Result<String, DevServerError> {
        mcp_auth::verify::ensure_crypto_provider();
        jsonwebtoken::crypto::sign(input, &self.encoding, self.alg.algorithm())
            .map_err(|e| DevServerError::Signing(e.to_string()))
    }

    /// Whether `signature` (base64url) is this key's signature of `input`.
    pub(crate) fn verify(&self, input: &[u8], signature: &str) -> bool {
        mcp_auth::verify::ensure_crypto_provider();
        jsonwebtoken::crypto::verify(signature, input, &self.decoding, self.alg.algorithm())
            .unwrap_or(false)
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The published keys, oldest first. The newest key of an algorithm is its current key.
#[derive(Debug, Default)]
pub(crate) struct KeyStore {
    keys: Vec<Arc<SigningKey>>,
}

impl KeyStore {
    /// One fresh key per algorithm.
    pub(crate) fn generate(algs: &[SigningAlg]) -> Result<Self, DevServerError> {
        let keys = algs
            .iter()
            .map(|&alg| SigningKey::generate(alg).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// The current (newest) key of `alg`.
    pub(crate) fn current(&self, alg: SigningAlg) -> Option<&Arc<SigningKey>> {
        self.keys.iter().rev().find(|k| k.alg == alg)
    }

    /// The key with this `kid`.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Every `kid`, in JWKS order.
    pub(crate) fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// The algorithms that have a key, each once, in JWKS order.
    pub(crate) fn algs(&self) -> Vec<SigningAlg> {
        let mut algs: Vec<SigningAlg> = Vec::new();
        for key in &self.keys {
            if !algs.contains(&key.alg) {
                algs.push(key.alg);
            }
        }
        algs
    }

    /// RS256 when it has a key, else the first algorithm that has one.
    pub(crate) fn default_alg(&self) -> Option<SigningAlg> {
        if self.current(SigningAlg::Rs256).is_some() {
            Some(SigningAlg::Rs256)
        } else {
            self.keys.first().map(|k| k.alg)
        }
    }

    /// The current RS256 key, else the newest RSA key.
    pub(crate) fn rsa(&self) -> Option<&Arc<SigningKey>> {
        self.current(SigningAlg::Rs256)
            .or_else(|| self.keys.iter().rev().find(|k| k.alg.is_rsa()))
    }

    pub(crate) fn push(&mut self, key: SigningKey) {
        self.keys.push(Arc::new(key));
    }

    /// Replaces every key by a fresh key of the same algorithms (one per algorithm).
    pub(crate) fn rotated(&self) -> Result<Self, DevServerError> {
        Self::generate(&self.algs())
    }

    /// The JWK Set document.
    pub(crate) fn jwks(&self, publish_alg: bool) -> Value {
        let keys: Vec<Value> = self.keys.iter().map(|k| k.jwk(publish_alg)).collect();
        json!({ "keys": keys })
    }
}

/// The `privateKey` octet string of a PKCS#8 `PrivateKeyInfo` (RFC 5208):
/// `SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING privateKey, ... }`.
fn pkcs8_private_key(der: &[u8]) -> Option<&[u8]> {
    let (tag, info, _) = der_tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (version, _, rest) = der_tlv(info)?;
    let (algorithm, _, rest) = der_tlv(rest)?;
    let (key_tag, key, _) = der_tlv(rest)?;
    (version == 0x02 && algorithm == 0x30 && key_tag == 0x04).then_some(key)
}

/// Splits one DER tag-length-value off `input`: (tag, value, rest).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (len_bytes, rest) = rest.split_at_checked(count)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    let (value, rest) = rest.split_at_checked(len)?;
    Some((tag, value, rest))
}

/// A client's key pair for `private_key_jwt` (RFC 7523 §2.2): an ES256 (P-256) key with a `kid`,
/// as a private JWK for the client (`mcp_auth::introspection::ClientKey::from_jwk`) and a public
/// JWK for the server (`AuthorizationServerBuilder::introspection_client_key`).
///
/// ```
/// let pair = mcp_auth_dev::ClientKeyPair::generate("rs-key-1").unwrap();
/// assert!(pair.private_jwk().contains("\"d\""));
/// assert!(pair.public_jwk().get("d").is_none());
/// ```
pub struct ClientKeyPair {
    private: Value,
    signing: EncodingKey,
}

impl fmt::Debug for ClientKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKeyPair")
            .field("kid", &self.private["kid"])
            .finish_non_exhaustive()
    }
}

impl ClientKeyPair {
    /// A fresh ES256 key named `kid`.
    ///
    /// # Errors
    ///
    /// [`DevServerError::KeyGeneration`] if aws-lc-rs cannot generate or export it.
    pub fn generate(kid: &str) -> Result<Self, DevServerError> {
        use aws_lc_rs::encoding::AsBigEndian as _;
        let fail = |reason: &str| DevServerError::KeyGeneration {
            alg: SigningAlg::Es256,
            reason: reason.to_owned(),
        };
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| fail("EC generation"))?;
        let pkcs8 = pair.to_pkcs8v1().map_err(|_| fail("EC PKCS#8 export"))?;
        let d = pair
            .private_key()
            .as_be_bytes()
            .map_err(|_| fail("EC private key export"))?;
        let point = pair.public_key().as_ref();
        let (x, y) = match point.split_first() {
            Some((4, xy)) if xy.len() == 64 => xy.split_at(32),
            _ => return Err(fail("EC public key is not an uncompressed point")),
        };
        Ok(Self {
            private: json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                "x": b64(x), "y": b64(y), "d": b64(d.as_ref()),
            }),
            signing: EncodingKey::from_ec_der(pkcs8.as_ref()),
        })
    }

    /// A client assertion signed by this key, with the claims `claims` (`iss`, `sub`, `aud`,
    /// `jti`, `exp`, as the test needs them, valid or not), for tests of an authorization
    /// server's `private_key_jwt` checks.
    ///
    /// # Errors
    ///
    /// [`DevServerError::Signing`] if the assertion cannot be signed.
    pub fn assertion(&self, claims: &Value) -> Result<String, DevServerError> {
        mcp_auth::verify::ensure_crypto_provider();
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = self.private["kid"].as_str().map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.signing)
            .map_err(|e| DevServerError::Signing(e.to_string()))
    }

    /// The private JWK, as JSON text (what a key file holds).
    pub fn private_jwk(&self) -> String {
        self.private.to_string()
    }

    /// The public JWK: the private one without `d`.
    pub fn public_jwk(&self) -> Value {
        let mut public = self.private.clone();
        if let Value::Object(members) = &mut public {
            members.remove("d");
        }
        public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_tlv_rejects_truncated_input() {
        assert_eq!(der_tlv(&[]), None);
        assert_eq!(der_tlv(&[0x30]), None);
        assert_eq!(der_tlv(&[0x30, 0x05, 0x01]), None);
        assert_eq!(der_tlv(&[0x30, 0x82, 0x01]), None);
        assert_eq!(der_tlv(&[0x30, 0x80]), None);
        assert_eq!(
            der_tlv(&[0x04, 0x02, 0xaa, 0xbb, 0xcc]),
            Some((0x04, &[0xaa, 0xbb][..], &[0xcc][..]))
        );
        assert_eq!(pkcs8_private_key(&[0x30, 0x00]), None);
    }

    #[test]
    fn every_alg_round_trips_its_own_signature() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate(alg).unwrap();
            assert!(key.kid.starts_with(&alg.name().to_ascii_lowercase()));
            let sig = key.sign(b"header.claims").unwrap();
            assert!(key.verify(b"header.claims", &sig), "{alg}");
            assert!(!key.verify(b"header.claimz", &sig), "{alg}");
            assert!(!key.verify(b"header.claims", "not base64!"), "{alg}");
            assert_eq!(key.spki_der().is_some(), alg.is_rsa());
            assert_eq!(SigningAlg::from_name(alg.name()), Some(alg));
        }
    }

    #[test]
    fn keys_are_bound_to_one_alg_and_fresh_each_time() {
        let a = SigningKey::generate(SigningAlg::Rs256).unwrap();
        let b = SigningKey::generate(SigningAlg::Rs256).unwrap();
        assert_ne!(a.kid, b.kid);
        assert_ne!(a.jwk(true)["n"], b.jwk(true)["n"]);
        assert_eq!(a.jwk(true)["alg"], "RS256");
        assert!(a.jwk(false).get("alg").is_none());
    }
}
