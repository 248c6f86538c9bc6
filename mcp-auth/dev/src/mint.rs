//! Minting tokens: [`TokenBuilder`] (signed JWTs) and [`OpaqueTokenBuilder`] (introspection).

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};

use super::error::DevServerError;
use super::keys::{SigningAlg, b64, random_b64};
use super::server::Shared;

/// Lifetime of tokens when none is given: five minutes.
pub(crate) const DEFAULT_LIFETIME: u64 = 300;

/// A header member: the default, a replacement, or absent.
#[derive(Debug, Clone)]
enum Member {
    Default,
    Set(String),
    Absent,
}

impl Member {
    fn from(value: Option<&str>) -> Self {
        value.map_or(Self::Absent, |v| Self::Set(v.to_owned()))
    }

    fn write(&self, header: &mut Map<String, Value>, name: &str, default: &str) {
        match self {
            Self::Default => {
                header.insert(name.into(), default.into());
            }
            Self::Set(value) => {
                header.insert(name.into(), value.clone().into());
            }
            Self::Absent => {}
        }
    }
}

/// How the token is signed.
#[derive(Debug, Clone)]
enum Signature {
    Key,
    Foreign,
    Hs256(Vec<u8>),
    Unsigned,
}

fn seconds(duration: Duration) -> u64 {
    duration.as_secs()
}

/// Claims shared by both builders: `iss`, `sub`, `client_id`, `iat`, `exp` (and `jti`).
fn base_claims(shared: &Shared, now: u64) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".into(), shared.layout.issuer.clone().into());
    claims.insert("sub".into(), "user-1".into());
    claims.insert("client_id".into(), "client-1".into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + DEFAULT_LIFETIME).into());
    claims
}

fn join_scopes(scopes: impl IntoIterator<Item = impl Into<String>>) -> String {
    scopes
        .into_iter()
        .map(Into::into)
        .collect::<Vec<String>>()
        .join(" ")
}

fn strings(values: impl IntoIterator<Item = impl Into<String>>) -> Value {
    Value::Array(
        values
            .into_iter()
            .map(|v| Value::String(v.into()))
            .collect(),
    )
}

/// The claim setters both builders share: they edit the `claims` map of `self`.
macro_rules! claim_setters {
    () => {
        /// Sets `aud` to one string.
        pub fn audience(mut self, audience: impl Into<String>) -> Self {
            self.claims.insert("aud".into(), audience.into().into());
            self
        }

        /// Sets `aud` to an array of strings (even a one-element or empty one).
        pub fn audiences(mut self, audiences: impl IntoIterator<Item = impl Into<String>>) -> Self {
            self.claims.insert("aud".into(), strings(audiences));
            self
        }

        /// Sets `scope` to the scopes joined with single spaces (RFC 9068 §2.2.3).
        pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
            self.claims
                .insert("scope".into(), join_scopes(scopes).into());
            self
        }

        /// Sets `sub`.
        pub fn subject(mut self, subject: impl Into<String>) -> Self {
            self.claims.insert("sub".into(), subject.into().into());
            self
        }

        /// Sets `client_id`.
        pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
            self.claims
                .insert("client_id".into(), client_id.into().into());
            self
        }

        /// Binds the token to the DPoP key whose RFC 7638 thumbprint is `jkt`: sets
        /// `cnf` to `{"jkt": jkt}` (RFC 9449 §6.1; for an opaque token, its introspection
        /// response also says `token_type: DPoP`). See [`DpopKey::thumbprint`](crate::DpopKey::thumbprint).
        pub fn dpop_jkt(mut self, jkt: impl Into<String>) -> Self {
            self.claims
                .insert("cnf".into(), serde_json::json!({ "jkt": jkt.into() }));
            self
        }

        /// Sets `iss` (by default the server's issuer).
        pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
            self.claims.insert("iss".into(), issuer.into().into());
            self
        }
    };
}

/// Builds a signed JWT access token, from
/// [`AuthorizationServer::token`](super::AuthorizationServer::token).
///
/// The defaults make a valid RFC 9068 token except for the audience, which every test sets:
///
/// * header `{"alg":"RS256","typ":"at+jwt","kid":<current RS256 kid>}` (when the server has no
///   RS256 key, the first algorithm it has);
/// * claims `iss` = the issuer, `sub` = `"user-1"`, `client_id` = `"client-1"`, `iat` = now,
///   `exp` = now + 300 s, `jti` = random; no `aud`, no `scope`.
///
/// "Now" is read from the server's clock when the builder is created. Each method overwrites
/// what an earlier one set.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use mcp_auth_dev::{AuthorizationServer, SigningAlg};
///
/// let idp = AuthorizationServer::start().await?;
/// let token = idp
///     .token()
///     .audience("https://api.example.com/mcp")
///     .scopes(["mcp:read", "mcp:write"])
///     .alg(SigningAlg::Es256)
///     .expires_in(Duration::from_secs(60))
///     .claim("tenant", "acme")
///     .mint();
/// assert_eq!(token.split('.').count(), 3);
///
/// // Attacks and mistakes are one call away.
/// let none = idp.token().unsigned().mint();
/// assert!(none.ends_with('.'));
/// let confused = idp.token().sign_with_hs256(&idp.rsa_public_key_der()).mint();
/// let no_typ = idp.token().typ(None).header("crit", serde_json::json!(["exp"])).mint();
/// # let _ = (confused, no_typ);
/// # Ok(()) }
/// ```
#[must_use = "a token builder does nothing until `mint` is called"]
pub struct TokenBuilder<'a> {
    shared: &'a Shared,
    now: u64,
    claims: Map<String, Value>,
    alg: Option<SigningAlg>,
    signing_kid: Option<String>,
    kid: Member,
    typ: Member,
    headers: Map<String, Value>,
    signature: Signature,
}

impl std::fmt::Debug for TokenBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("claims", &self.claims)
            .field("alg", &self.alg)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl<'a> TokenBuilder<'a> {
    pub(crate) fn new(shared: &'a Shared) -> Self {
        let now = shared.clock.unix_seconds();
        let mut claims = base_claims(shared, now);
        claims.insert("jti".into(), random_b64(16).into());
        Self {
            shared,
            now,
            claims,
            alg: None,
            signing_kid: None,
            kid: Member::Default,
            typ: Member::Default,
            headers: Map::new(),
            signature: Signature::Key,
        }
    }

    claim_setters!();

    /// Sets `iss` to the issuer of `tenant` (`{origin}/{tenant}`, see
    /// [`AuthorizationServerBuilder::tenants`](super::AuthorizationServerBuilder::tenants)),
    /// as a token of that tenant: signed by the same keys, listed at the same `jwks_uri`.
    ///
    /// # Panics
    ///
    /// When the server has no tenant `tenant`; the message names the tenants it has.
    pub fn tenant(self, tenant: &str) -> Self {
        let layout = &self.shared.layout;
        let Some(issuer) = layout.tenant_issuer(tenant).map(str::to_owned) else {
            let names: Vec<String> = layout
                .tenants
                .iter()
                .map(|t| format!("`{}`", t.name))
                .collect();
            if names.is_empty() {
                panic!(
                    "TokenBuilder::tenant: this development server has no tenants, so no tenant `{tenant}`; list it in `AuthorizationServerBuilder::tenants`"
                );
            }
            panic!(
                "TokenBuilder::tenant: this development server has no tenant `{tenant}`; its tenants are {}",
                names.join(", ")
            );
        };
        self.issuer(issuer)
    }

    /// Sets or replaces any claim with any JSON value, e.g. `.claim("exp", "tomorrow")`.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Removes a claim, e.g. `.remove_claim("jti")`.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `exp` to now + `lifetime` (whole seconds).
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        let exp = self.now.saturating_add(seconds(lifetime));
        self.claims.insert("exp".into(), exp.into());
        self
    }

    /// Makes the token expired: `exp` = now − 600 s, `iat` = now − 900 s.
    pub fn expired(mut self) -> Self {
        let now = self.now;
        self.claims
            .insert("exp".into(), now.saturating_sub(600).into());
        self.claims
            .insert("iat".into(), now.saturating_sub(900).into());
        self
    }

    /// Sets `nbf` (seconds since the Unix epoch).
    pub fn not_before(mut self, unix_seconds: u64) -> Self {
        self.claims.insert("nbf".into(), unix_seconds.into());
        self
    }

    /// Sets `iat` (seconds since the Unix epoch).
    pub fn issued_at(mut self, unix_seconds: u64) -> Self {
        self.claims.insert("iat".into(), unix_seconds.into());
        self
    }

    /// Signs with the current key of `alg` (and writes `alg` and its `kid` in the header).
    pub fn alg(mut self, alg: SigningAlg) -> Self {
        self.alg = Some(alg);
        self
    }

    /// Signs with the published key that has this `kid`, current or not (e.g. the older key
    /// after [`add_key`](super::AuthorizationServer::add_key)). Overrides [`alg`](Self::alg).
    pub fn signing_key(mut self, kid: &str) -> Self {
        self.signing_kid = Some(kid.to_owned());
        self
    }

    /// Replaces the `kid` header (`Some`) or leaves it out (`None`). The signing key does not
    /// change.
    pub fn kid(mut self, kid: Option<&str>) -> Self {
        self.kid = Member::from(kid);
        self
    }

    /// Replaces the `typ` header (`Some`, e.g. `"JWT"`) or leaves it out (`None`).
    pub fn typ(mut self, typ: Option<&str>) -> Self {
        self.typ = Member::from(typ);
        self
    }

    /// Adds any header member (`crit`, `jku`, `x5u`, `jwk`, `cty`, ...). Members set here are
    /// written last, so they also replace `alg`, `typ` or `kid`; the signature is unaffected.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Signs with HMAC-SHA256 and this secret, `alg` = `HS256`, keeping the `kid` of the key
    /// that would have signed. With [`rsa_public_key_der`](super::AuthorizationServer::rsa_public_key_der)
    /// as the secret this is the classic algorithm-confusion attack.
    pub fn sign_with_hs256(mut self, secret: &[u8]) -> Self {
        self.signature = Signature::Hs256(secret.to_vec());
        self
    }

    /// `alg` = `none` and an empty signature (the token ends with `.`).
    pub fn unsigned(mut self) -> Self {
        self.signature = Signature::Unsigned;
        self
    }

    /// Signs with a key of the same algorithm that is not in the JWKS, under the `kid` of the
    /// published key: a forged token whose signature does not verify.
    pub fn sign_with_foreign_key(mut self) -> Self {
        self.signature = Signature::Foreign;
        self
    }

    /// The compact JWS, or why it could not be made (an algorithm or `kid` with no key).
    pub fn try_mint(self) -> Result<String, DevServerError> {
        let key = {
            let keys = self.shared.keys();
            match (&self.signing_kid, self.alg) {
                (Some(kid), _) => keys
                    .by_kid(kid)
                    .cloned()
                    .ok_or_else(|| DevServerError::UnknownKid(kid.clone()))?,
                (None, alg) => {
                    let alg = alg
                        .or_else(|| keys.default_alg())
                        .unwrap_or(SigningAlg::Rs256);
                    keys.current(alg)
                        .cloned()
                        .ok_or(DevServerError::NoKey(alg))?
                }
            }
        };

        let mut header = Map::new();
        let alg_name = match self.signature {
            Signature::Hs256(_) => "HS256",
            Signature::Unsigned => "none",
            Signature::Key | Signature::Foreign => key.alg.name(),
        };
        header.insert("alg".into(), alg_name.into());
        self.typ.write(&mut header, "typ", "at+jwt");
        self.kid.write(&mut header, "kid", &key.kid);
        header.extend(self.headers);

        let encode = |map: &Map<String, Value>| {
            serde_json::to_vec(map)
                .map(|json| b64(&json))
                .map_err(|e| DevServerError::Signing(e.to_string()))
        };
        let input = format!("{}.{}", encode(&header)?, encode(&self.claims)?);
        let signature = match &self.signature {
            Signature::Key => key.sign(input.as_bytes())?,
            Signature::Foreign => self.shared.foreign_key(key.alg)?.sign(input.as_bytes())?,
            Signature::Hs256(secret) => {
                mcp_auth::verify::ensure_crypto_provider();
                jsonwebtoken::crypto::sign(
                    input.as_bytes(),
                    &EncodingKey::from_secret(secret),
                    Algorithm::HS256,
                )
                .map_err(|e| DevServerError::Signing(e.to_string()))?
            }
            Signature::Unsigned => String::new(),
        };
        Ok(format!("{input}.{signature}"))
    }

    /// The compact JWS (`header.claims.signature`).
    ///
    /// # Panics
    ///
    /// When the token cannot be made: the chosen algorithm has no key on this server (see
    /// [`AuthorizationServerBuilder::algorithms`](super::AuthorizationServerBuilder::algorithms)),
    /// or [`signing_key`](Self::signing_key) names a `kid` that is not published. Use
    /// [`try_mint`](Self::try_mint) to get these as errors.
    pub fn mint(self) -> String {
        match self.try_mint() {
            Ok(token) => token,
            Err(e) => panic!("{e}"),
        }
    }
}

/// A registered opaque token, as introspection sees it.
#[derive(Debug, Clone)]
pub(crate) struct OpaqueRecord {
    pub(crate) claims: Map<String, Value>,
    /// `None`: active until `exp`; `Some(b)`: always answers `active: b`.
    pub(crate) active: Option<bool>,
}

/// Registers an opaque token that the introspection endpoint knows, from
/// [`AuthorizationServer::opaque_token`](super::AuthorizationServer::opaque_token).
///
/// The defaults mirror [`TokenBuilder`]: `iss` = the issuer, `sub` = `"user-1"`,
/// `client_id` = `"client-1"`, `iat` = now, `exp` = now + 300 s, no `aud`, no `scope`. The
/// introspection response is `{"active":true,"token_type":"Bearer", ...these claims}` while
/// the token is active, and exactly `{"active":false}` otherwise.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_auth_dev::AuthorizationServer;
///
/// let idp = AuthorizationServer::start().await?;
/// let token = idp
///     .opaque_token()
///     .audience("https://api.example.com/mcp")
///     .scopes(["mcp:read"])
///     .mint();
/// let inactive = idp.opaque_token().active(false).mint();
/// assert_ne!(token, inactive);
/// assert!(!token.contains('.'));
/// # Ok(()) }
/// ```
#[must_use = "an opaque token builder does nothing until `mint` is called"]
pub struct OpaqueTokenBuilder<'a> {
    shared: &'a Shared,
    now: u64,
    claims: Map<String, Value>,
    active: Option<bool>,
}

impl std::fmt::Debug for OpaqueTokenBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaqueTokenBuilder")
            .field("claims", &self.claims)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl<'a> OpaqueTokenBuilder<'a> {
    pub(crate) fn new(shared: &'a Shared) -> Self {
        let now = shared.clock.unix_seconds();
        Self {
            shared,
            now,
            claims: base_claims(shared, now),
            active: None,
        }
    }

    claim_setters!();

    /// Sets `exp` to now + `lifetime`. The token turns inactive when the server's clock passes
    /// `exp` (unless [`active`](Self::active) forces an answer).
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        let exp = self.now.saturating_add(seconds(lifetime));
        self.claims.insert("exp".into(), exp.into());
        self
    }

    /// Forces the `active` answer. `active(false)`: always `{"active":false}`.
    /// `active(true)`: always active, even after `exp`, to imitate an authorization server that
    /// answers `active:true` with an `exp` in the past. Without this call the token is active
    /// until `exp` (or [`revoke`](super::AuthorizationServer::revoke)).
    pub fn active(mut self, active: bool) -> Self {
        self.active = Some(active);
        self
    }

    /// Sets or replaces any member of the introspection response, e.g. `username`.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Removes a member of the introspection response (removing `exp` makes the token never
    /// expire).
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Registers the token and returns it: 43 random base64url characters.
    pub fn mint(self) -> String {
        let token = random_b64(32);
        self.shared.register_opaque(
            token.clone(),
            OpaqueRecord {
                claims: self.claims,
                active: self.active,
            },
        );
        token
    }
}
