//! DPoP client keys and proofs (RFC 9449 §4), for tests of DPoP-protected resources.
//!
//! A [`DpopKey`] is what a DPoP client holds: a private key whose public half travels in every
//! proof's `jwk` header. [`DpopKey::proof`] makes a well-formed proof for one request;
//! [`DpopKey::proof_builder`] makes one that can break any single rule of RFC 9449 §4.3, so that
//! a test can show each rule is enforced.
//!
//! ```
//! use mcp_auth_dev::DpopKey;
//!
//! let key = DpopKey::generate_es256();
//! let proof = key.proof("POST", "https://mcp.example.com/mcp?x=1", Some("access-token"), None);
//! assert_eq!(proof.split('.').count(), 3);
//! assert_eq!(key.thumbprint().len(), 43); // base64url SHA-256
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::error::DevServerError;
use crate::keys::{SigningAlg, SigningKey, b64, random_b64};

/// A DPoP key pair (RFC 9449 §2): makes proofs, knows its RFC 7638 thumbprint.
///
/// Cheap to clone (the key is shared).
#[derive(Debug, Clone)]
pub struct DpopKey {
    key: Arc<SigningKey>,
    thumbprint: String,
}

impl DpopKey {
    /// A fresh key for `alg` (ES256, ES384, RS256, ..., PS512 or EdDSA).
    pub fn generate(alg: SigningAlg) -> Result<Self, DevServerError> {
        let key = SigningKey::generate(alg)?;
        // RFC 7638, by jsonwebtoken: the same computation the resource server makes (with the
        // crypto provider mcp-auth installs).
        mcp_auth::verify::ensure_crypto_provider();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(serde_json::Value::Object(key.public_params().clone()))
                .map_err(|e| DevServerError::Signing(e.to_string()))?;
        let thumbprint = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .map_err(|e| DevServerError::Signing(e.to_string()))?;
        Ok(Self {
            key: Arc::new(key),
            thumbprint,
        })
    }

    /// A fresh ES256 (P-256) key, the algorithm every DPoP implementation supports.
    ///
    /// # Panics
    ///
    /// When the operating system has no random number generator.
    pub fn generate_es256() -> Self {
        match Self::generate(SigningAlg::Es256) {
            Ok(key) => key,
            Err(e) => panic!("{e}"),
        }
    }

    /// The key's signature algorithm.
    pub fn alg(&self) -> SigningAlg {
        self.key.alg
    }

    /// The public JWK as proofs carry it: `kty` and the public parameters only.
    pub fn public_jwk(&self) -> Value {
        Value::Object(self.key.public_params().clone())
    }

    /// The RFC 7638 JWK SHA-256 thumbprint, base64url: the `jkt` a bound token names in `cnf`.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A fresh proof for one request: `htm` = `method`, `htu` = `url` without its query and
    /// fragment, `iat` = now, a random `jti`, `ath` for `access_token` and `nonce` when given.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let mut builder = self.proof_builder(method, url);
        if let Some(token) = access_token {
            builder = builder.access_token(token);
        }
        if let Some(nonce) = nonce {
            builder = builder.claim("nonce", nonce);
        }
        builder.build()
    }

    /// A proof to shape by hand, starting from what [`proof`](Self::proof) would make without
    /// an access token or a nonce.
    pub fn proof_builder(&self, method: &str, url: &str) -> ProofBuilder {
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("alg".into(), self.key.alg.name().into());
        header.insert("jwk".into(), self.public_jwk());
        let mut claims = Map::new();
        claims.insert("jti".into(), fresh_jti().into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), htu.into());
        claims.insert("iat".into(), unix_now().into());
        ProofBuilder {
            signer: Arc::clone(&self.key),
            header,
            claims,
            corrupt: false,
        }
    }
}

/// A DPoP proof under construction (see [`DpopKey::proof_builder`]).
#[derive(Debug, Clone)]
pub struct ProofBuilder {
    signer: Arc<SigningKey>,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    corrupt: bool,
}

impl ProofBuilder {
    /// Sets `ath` to the base64url SHA-256 of `access_token` (RFC 9449 §4.2).
    pub fn access_token(self, access_token: &str) -> Self {
        let ath = mcp_auth::dpop::access_token_hash(access_token);
        self.claim("ath", ath)
    }

    /// Sets (or replaces) a claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Removes a claim.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `iat` (seconds since the Unix epoch).
    pub fn issued_at(self, unix_seconds: u64) -> Self {
        self.claim("iat", unix_seconds)
    }

    /// Sets (or replaces) a JOSE header member (`typ`, `alg`, `jwk`, ...).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.header.insert(name.into(), value.into());
        self
    }

    /// Removes a JOSE header member.
    pub fn remove_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Adds a member to the `jwk` header (e.g. a private `d`, which a verifier must refuse).
    pub fn jwk_member(mut self, name: &str, value: impl Into<Value>) -> Self {
        if let Some(Value::Object(jwk)) = self.header.get_mut("jwk") {
            jwk.insert(name.into(), value.into());
        }
        self
    }

    /// Signs with `other` while the `jwk` header still shows this key: the signature does not
    /// verify with the header's key.
    pub fn signed_by(mut self, other: &DpopKey) -> Self {
        self.signer = Arc::clone(&other.key);
        self
    }

    /// Flips a bit of the signature.
    pub fn corrupt_signature(mut self) -> Self {
        self.corrupt = true;
        self
    }

    /// The compact JWS.
    ///
    /// # Panics
    ///
    /// When signing fails (a backend error; not expected with generated keys).
    pub fn build(self) -> String {
        let encode = |map: &Map<String, Value>| b64(&serde_json::to_vec(map).unwrap_or_default());
        let input = format!("{}.{}", encode(&self.header), encode(&self.claims));
        let signature = match self.signer.sign(input.as_bytes()) {
            Ok(signature) => signature,
            Err(e) => panic!("{e}"),
        };
        let signature = if self.corrupt {
            let mut bytes = signature.into_bytes();
            if let Some(first) = bytes.first_mut() {
                *first = if *first == b'A' { b'B' } else { b'A' };
            }
            String::from_utf8(bytes).unwrap_or_default()
        } else {
            signature
        };
        format!("{input}.{signature}")
    }
}

/// The JOSE name of `alg`.
pub(crate) fn alg_name(alg: jsonwebtoken::Algorithm) -> &'static str {
    use jsonwebtoken::Algorithm as A;
    match alg {
        A::ES256 => "ES256",
        A::ES384 => "ES384",
        A::RS256 => "RS256",
        A::RS384 => "RS384",
        A::RS512 => "RS512",
        A::PS256 => "PS256",
        A::PS384 => "PS384",
        A::PS512 => "PS512",
        A::EdDSA => "EdDSA",
        _ => "HS256",
    }
}

/// A unique proof id: random, with a counter so that two proofs never share one.
fn fresh_jti() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        random_b64(12),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
