//! [`AuthorizationServer`] and its builder.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use http::HeaderValue;
use mcp_auth::clock::{SharedClock, SystemClock};
use mcp_auth::discovery::AuthServerConfig;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::authorize::Consent;
use super::clients::{Client, ClientRegistration, Clients};
use super::error::DevServerError;
use super::fault::{Fault, Traffic};
use super::grants::Grants;
use super::keys::{KeyStore, SigningAlg, SigningKey, random_b64};
use super::metadata::{Discovery, Layout, wire_path};
use super::mint::{OpaqueRecord, OpaqueTokenBuilder, TokenBuilder};
use super::routes;

/// The state the HTTP handlers and the handles share.
pub(crate) struct Shared {
    pub(crate) layout: Layout,
    pub(crate) origin: String,
    pub(crate) clock: SharedClock,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) jwks_cache_control: HeaderValue,
    pub(crate) publish_key_alg: bool,
    pub(crate) traffic: Traffic,
    /// Every client: the introspection client, pre-registered and dynamically registered ones.
    pub(crate) clients: Clients,
    /// Pending consents, authorization codes, refresh tokens.
    pub(crate) grants: Grants,
    pub(crate) consent: Consent,
    /// The `sub` of tokens issued through the authorization endpoint.
    pub(crate) user: String,
    /// The `roles` claim of the tokens issued to [`user`](Self::user) (none when empty).
    pub(crate) user_roles: Vec<String>,
    /// `scopes_supported`; when not empty, the authorization endpoint accepts only these.
    pub(crate) scopes: Vec<String>,
    /// The clients that introspect by `private_key_jwt`, with their public JWKs.
    pub(crate) introspection_keys: Vec<(String, serde_json::Value)>,
    /// Which confidential clients may use token exchange and the JWT bearer grant, and for
    /// which audiences.
    pub(crate) exchange_policy: HashMap<String, Vec<String>>,
    /// The `jti`s of the client assertions seen (each is used once).
    pub(crate) assertion_jtis: Mutex<HashSet<String>>,
    /// Whether the introspection endpoint answers RFC 9701 JWTs to callers that ask.
    pub(crate) signs_introspection: bool,
    /// Checks the token endpoint's DPoP proofs.
    pub(crate) dpop: mcp_auth::dpop::DpopVerifier,
    keys: RwLock<KeyStore>,
    foreign: Mutex<HashMap<SigningAlg, Arc<SigningKey>>>,
    opaque: Mutex<HashMap<String, OpaqueRecord>>,
    revoked: Mutex<HashSet<String>>,
}

impl Shared {
    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeyStore> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn keys_mut(&self) -> RwLockWriteGuard<'_, KeyStore> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A key of `alg` that is never published, made on first use.
    pub(crate) fn foreign_key(&self, alg: SigningAlg) -> Result<Arc<SigningKey>, DevServerError> {
        let mut foreign = self.foreign.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = foreign.get(&alg) {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(SigningKey::generate(alg)?);
        foreign.insert(alg, Arc::clone(&key));
        Ok(key)
    }

    pub(crate) fn register_opaque(&self, token: String, record: OpaqueRecord) {
        self.opaque
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token, record);
    }

    pub(crate) fn opaque(&self, token: &str) -> Option<OpaqueRecord> {
        self.opaque
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    }

    /// Makes introspection answer `{"active":false}` for `token` from now on.
    pub(crate) fn revoke(&self, token: String) {
        self.revoked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token);
    }

    pub(crate) fn is_revoked(&self, token: &str) -> bool {
        self.revoked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(token)
    }

    /// The JWK Set document.
    pub(crate) fn jwks(&self) -> Value {
        self.keys().jwks(self.publish_key_alg)
    }

    /// The discovery document for an RFC 8414 (`oidc = false`) or OIDC URL.
    pub(crate) fn metadata(&self, oidc: bool) -> Value {
        let algs = self.keys().algs();
        let mut document = self.layout.metadata(oidc, &algs, &self.scopes);
        // With a client key registered, the introspection and token endpoints take
        // private_key_jwt too (RFC 8414 §2: then the signing algorithms are listed).
        if !self.introspection_keys.is_empty()
            && let Some(members) = document.as_object_mut()
        {
            for endpoint in ["introspection_endpoint", "token_endpoint"] {
                if let Some(Value::Array(methods)) =
                    members.get_mut(&format!("{endpoint}_auth_methods_supported"))
                {
                    methods.push("private_key_jwt".into());
                    members.insert(
                        format!("{endpoint}_auth_signing_alg_values_supported"),
                        serde_json::json!(ASSERTION_ALGORITHMS),
                    );
                }
            }
        }
        document
    }

    /// The discovery document of the tenant `tenant` (an index in the layout's tenants): the
    /// server's own [`metadata`](Self::metadata) with the tenant's issuer.
    pub(crate) fn tenant_metadata(&self, oidc: bool, tenant: usize) -> Value {
        let mut document = self.metadata(oidc);
        if let (Some(tenant), Some(members)) =
            (self.layout.tenants.get(tenant), document.as_object_mut())
        {
            members.insert("issuer".into(), tenant.issuer.clone().into());
        }
        document
    }
}

/// The algorithms of the client assertions the server verifies (asymmetric only).
const ASSERTION_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

struct Inner {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A real OAuth 2.0 authorization server on `127.0.0.1` (random port), for tests and examples.
///
/// It publishes discovery documents (RFC 8414 and OpenID Connect, see [`Discovery`]), a JWKS,
/// dynamic client registration (RFC 7591), an authorization endpoint (code flow with PKCE, see
/// [`Consent`]), a token endpoint (`authorization_code`, `refresh_token`, `client_credentials`,
/// with RFC 8707 `resource`; token exchange and the JWT bearer grant, see
/// [`AuthorizationServerBuilder::exchange_policy`]) and an introspection endpoint (RFC 7662); see
/// [the crate documentation](crate#the-authorization-code-flow). Tests also mint tokens
/// directly with [`token`](Self::token) and [`opaque_token`](Self::opaque_token), rotate keys,
/// count requests and inject faults.
///
/// Handles are cheap clones of one server. The server runs as a task on the Tokio runtime that
/// started it and stops when the last handle is dropped.
///
/// One confidential client is always registered (see
/// [`introspection_client`](Self::introspection_client)): it authenticates at the token and
/// introspection endpoints with `client_secret_basic` or `client_secret_post` and may use the
/// `client_credentials` grant. Other clients register at
/// [`registration_endpoint`](Self::registration_endpoint) or are pre-registered with
/// [`AuthorizationServerBuilder::client`]; any confidential client may introspect.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_auth_dev::AuthorizationServer;
///
/// let idp = AuthorizationServer::start().await?;
/// assert!(idp.issuer().starts_with("http://127.0.0.1:"));
/// let token = idp
///     .token()
///     .audience("https://api.example.com/mcp")
///     .scopes(["mcp:read"])
///     .mint();
///
/// let jwks: serde_json::Value = reqwest::get(idp.jwks_uri()).await?.json().await?;
/// assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(3)); // RS256, ES256, EdDSA
/// assert_eq!(idp.requests("/.well-known/jwks.json"), 1);
/// # let _ = token;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuthorizationServer {
    inner: Arc<Inner>,
}

impl fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.issuer())
            .field("key_ids", &self.key_ids())
            .finish_non_exhaustive()
    }
}

impl AuthorizationServer {
    /// Starts a server with the defaults of [`AuthorizationServerBuilder`]: issuer
    /// `http://127.0.0.1:PORT`, every discovery URL, RS256 + ES256 + EdDSA keys.
    ///
    /// Must be called inside a Tokio runtime.
    pub async fn start() -> Result<Self, DevServerError> {
        Self::builder().start().await
    }

    /// A builder for a server with another issuer path, discovery document, keys or clock.
    pub fn builder() -> AuthorizationServerBuilder {
        AuthorizationServerBuilder::default()
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The issuer identifier, exactly as in the metadata and the `iss` of minted tokens, e.g.
    /// `http://127.0.0.1:41234` or `http://127.0.0.1:41234/tenant1`.
    pub fn issuer(&self) -> &str {
        &self.shared().layout.issuer
    }

    /// The issuer of `tenant` (see [`AuthorizationServerBuilder::tenants`]):
    /// `Some("http://127.0.0.1:PORT/{tenant}")` when the server has that tenant, else `None`.
    pub fn tenant_issuer(&self, tenant: &str) -> Option<String> {
        self.shared()
            .layout
            .tenant_issuer(tenant)
            .map(str::to_owned)
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn origin(&self) -> &str {
        &self.shared().origin
    }

    /// The JWKS URL (`{issuer}/.well-known/jwks.json` by default).
    pub fn jwks_uri(&self) -> String {
        self.shared().layout.jwks_uri.clone()
    }

    /// The RFC 7662 introspection endpoint (`{issuer}/introspect` by default).
    pub fn introspection_endpoint(&self) -> String {
        self.shared().layout.introspection_endpoint.clone()
    }

    /// The token endpoint (`{issuer}/token` by default).
    pub fn token_endpoint(&self) -> String {
        self.shared().layout.token_endpoint.clone()
    }

    /// The authorization endpoint (`{issuer}/authorize` by default): authorization code with
    /// PKCE `S256`, see [the crate documentation](crate#the-authorization-code-flow).
    pub fn authorization_endpoint(&self) -> String {
        self.shared().layout.authorization_endpoint.clone()
    }

    /// The RFC 7591 dynamic client registration endpoint (`{issuer}/register` by default).
    pub fn registration_endpoint(&self) -> String {
        self.shared().layout.registration_endpoint.clone()
    }

    /// The `sub` of tokens issued through the authorization endpoint (see
    /// [`AuthorizationServerBuilder::user`]).
    pub fn user(&self) -> &str {
        &self.shared().user
    }

    /// The discovery URLs this server answers for its own issuer, in the order MCP clients
    /// try them (MCP authorization, Authorization Server Metadata Discovery; see
    /// [`Discovery`]). The [tenants](AuthorizationServerBuilder::tenants)' URLs are not listed.
    pub fn well_known_urls(&self) -> Vec<String> {
        self.shared().layout.well_known.clone()
    }

    /// This server as a resource trusts it: its RFC 8414 metadata, checked as discovery checks
    /// it, without a request. Give it to a resource under test, whose declared issuer is not
    /// this one (the port is random):
    ///
    /// ```no_run
    /// # use mcp_auth::mcp_resource;
    /// # #[mcp_resource(id = "https://mcp.example.com/mcp", issuer = "https://auth.example.com", scopes = ["read:notes"])]
    /// # struct Notes;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let idp = mcp_auth_dev::AuthorizationServer::start().await?;
    /// let notes = Notes::builder()
    ///     .id("http://127.0.0.1:8080/mcp")
    ///     .replace_authorization_servers([idp.server_config()?])
    ///     .build()
    ///     .await?;
    /// # let _ = notes; Ok(()) }
    /// ```
    ///
    /// Fails only when a [`metadata_document`](AuthorizationServerBuilder::metadata_document)
    /// given to the builder is not one a resource accepts (the error says which member).
    pub fn server_config(&self) -> Result<AuthServerConfig, DevServerError> {
        let invalid = |error: &dyn std::fmt::Display| {
            DevServerError::InvalidMetadataDocument(error.to_string())
        };
        let metadata = serde_json::from_value(self.shared().metadata(false))
            .map_err(|error| invalid(&error))?;
        AuthServerConfig::from_metadata(metadata).map_err(|error| invalid(&error))
    }

    /// The registered client's `(client_id, client_secret)`, accepted by the introspection
    /// and token endpoints. By default `"dev-client"` and a random secret.
    pub fn introspection_client(&self) -> (&str, &str) {
        let shared = self.shared();
        (&shared.client_id, &shared.client_secret)
    }

    /// Starts a signed JWT access token; see [`TokenBuilder`].
    pub fn token(&self) -> TokenBuilder<'_> {
        TokenBuilder::new(self.shared())
    }

    /// Starts an opaque token for the introspection endpoint; see [`OpaqueTokenBuilder`].
    pub fn opaque_token(&self) -> OpaqueTokenBuilder<'_> {
        OpaqueTokenBuilder::new(self.shared())
    }

    /// Makes the introspection endpoint answer `{"active":false}` for `token` from now on
    /// (an opaque token or a JWT minted here).
    pub fn revoke(&self, token: &str) {
        self.shared().revoke(token.to_owned());
    }

    /// The `kid`s in the JWKS, in document order.
    pub fn key_ids(&self) -> Vec<String> {
        self.shared().keys().kids()
    }

    /// The JWK Set as served at [`jwks_uri`](Self::jwks_uri).
    pub fn jwks(&self) -> Value {
        self.shared().jwks()
    }

    /// The `kid` of the key that signs `alg` tokens (the newest key of that algorithm).
    ///
    /// # Panics
    ///
    /// When the server has no `alg` key; list it in
    /// [`AuthorizationServerBuilder::algorithms`] or call [`add_key`](Self::add_key).
    pub fn kid_for(&self, alg: SigningAlg) -> String {
        match self.shared().keys().current(alg) {
            Some(key) => key.kid.clone(),
            None => panic!("{}", DevServerError::NoKey(alg)),
        }
    }

    /// Replaces every key with a fresh one (new `kid`) for each algorithm that has a key. The
    /// old keys leave the JWKS at once, so tokens they signed no longer verify.
    ///
    /// Generating RSA keys takes some milliseconds; this blocks the calling thread meanwhile.
    ///
    /// # Panics
    ///
    /// When aws-lc-rs cannot generate a key (it does not fail in practice).
    pub fn rotate_keys(&self) {
        let rotated = self.shared().keys().rotated();
        match rotated {
            Ok(keys) => *self.shared().keys_mut() = keys,
            Err(e) => panic!("{e}"),
        }
    }

    /// Publishes one more `alg` key and makes it the one that signs `alg` tokens; the
    /// previous keys stay in the JWKS. Returns the new `kid`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mcp_auth_dev::{AuthorizationServer, SigningAlg};
    ///
    /// let idp = AuthorizationServer::start().await?;
    /// let old = idp.kid_for(SigningAlg::Rs256);
    /// let new = idp.add_key(SigningAlg::Rs256);
    /// assert_eq!(idp.kid_for(SigningAlg::Rs256), new);
    /// assert!(idp.key_ids().contains(&old));
    /// let signed_by_old = idp.token().signing_key(&old).mint();
    /// # let _ = signed_by_old;
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// When aws-lc-rs cannot generate a key (it does not fail in practice).
    pub fn add_key(&self, alg: SigningAlg) -> String {
        match SigningKey::generate(alg) {
            Ok(key) => {
                let kid = key.kid.clone();
                self.shared().keys_mut().push(key);
                kid
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// The DER SubjectPublicKeyInfo (the body of a `-----BEGIN PUBLIC KEY-----` PEM) of the
    /// current RS256 key (else of the newest RSA key), for algorithm-confusion tests:
    /// `token().sign_with_hs256(&idp.rsa_public_key_der())`.
    ///
    /// # Panics
    ///
    /// When the server has no RSA key.
    pub fn rsa_public_key_der(&self) -> Vec<u8> {
        let keys = self.shared().keys();
        match keys.rsa().and_then(|k| k.spki_der()) {
            Some(der) => der.to_vec(),
            None => panic!("{}", DevServerError::NoKey(SigningAlg::Rs256)),
        }
    }

    /// How many requests arrived at `path` (any method, faults included). `path` may also be
    /// a full URL of this server, e.g. `idp.requests(&idp.jwks_uri())`.
    pub fn requests(&self, path: &str) -> usize {
        self.shared().traffic.count(&wire_path(path))
    }

    /// How many requests arrived in total, at any path.
    pub fn total_requests(&self) -> usize {
        self.shared().traffic.total()
    }

    /// Makes requests to exactly `path` (or the path of a full URL of this server) misbehave,
    /// until [`clear_faults`](Self::clear_faults).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mcp_auth_dev::{AuthorizationServer, Fault};
    ///
    /// let idp = AuthorizationServer::start().await?;
    /// idp.set_fault(&idp.jwks_uri(), Fault::Status(503));
    /// assert_eq!(reqwest::get(idp.jwks_uri()).await?.status(), 503);
    /// idp.clear_faults();
    /// assert_eq!(reqwest::get(idp.jwks_uri()).await?.status(), 200);
    /// assert_eq!(idp.requests(&idp.jwks_uri()), 2);
    /// # Ok(()) }
    /// ```
    pub fn set_fault(&self, path: &str, fault: Fault) {
        self.shared().traffic.set_fault(wire_path(path), fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared().traffic.clear_faults();
    }
}

/// Configures an [`AuthorizationServer`] before it starts.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use mcp_auth::clock::ManualClock;
/// use mcp_auth_dev::{AuthorizationServer, Discovery, SigningAlg};
///
/// let clock = ManualClock::at_unix(1_700_000_000);
/// let idp = AuthorizationServer::builder()
///     .issuer_path("/tenant1")
///     .discovery(Discovery::OAuthOnly)
///     .algorithms([SigningAlg::Rs256, SigningAlg::Ps256])
///     .clock(Arc::new(clock.clone()))
///     .jwks_cache_control("max-age=60")
///     .start()
///     .await?;
/// assert_eq!(idp.issuer(), format!("{}/tenant1", idp.origin()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is awaited"]
pub struct AuthorizationServerBuilder {
    issuer_path: Option<String>,
    discovery: Discovery,
    clock: Option<SharedClock>,
    algorithms: Vec<SigningAlg>,
    jwks_cache_control: String,
    metadata_document: Option<Value>,
    client: Option<(String, String)>,
    introspection_keys: Vec<(String, serde_json::Value)>,
    exchange_policy: Vec<(String, Vec<String>)>,
    signs_introspection: bool,
    publish_key_alg: bool,
    clients: Vec<ClientRegistration>,
    consent: Consent,
    user: String,
    user_roles: Vec<String>,
    scopes: Vec<String>,
    port: u16,
    dpop_nonce: bool,
    tenants: Vec<String>,
}

impl Default for AuthorizationServerBuilder {
    fn default() -> Self {
        Self {
            issuer_path: None,
            discovery: Discovery::Both,
            clock: None,
            algorithms: vec![SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa],
            jwks_cache_control: "max-age=300".into(),
            metadata_document: None,
            client: None,
            introspection_keys: Vec::new(),
            exchange_policy: Vec::new(),
            signs_introspection: true,
            publish_key_alg: true,
            clients: Vec::new(),
            consent: Consent::Auto,
            user: "user-1".into(),
            user_roles: Vec::new(),
            scopes: Vec::new(),
            port: 0,
            dpop_nonce: false,
            tenants: Vec::new(),
        }
    }
}

impl AuthorizationServerBuilder {
    /// Makes the token endpoint require DPoP server nonces (RFC 9449 §8): a proof without the
    /// current nonce is answered `400 use_dpop_nonce` with a `DPoP-Nonce` header (default off).
    pub fn dpop_nonce(mut self, on: bool) -> Self {
        self.dpop_nonce = on;
        self
    }

    /// Gives the issuer a path: `"/tenant1"` makes it `http://127.0.0.1:PORT/tenant1`, and `"/"`
    /// makes it `http://127.0.0.1:PORT/` (trailing slash, like Auth0). The path must start with
    /// `/` and be written as clients send it (percent-encoded).
    pub fn issuer_path(mut self, path: impl Into<String>) -> Self {
        self.issuer_path = Some(path.into());
        self
    }

    /// Which discovery URLs are answered (default [`Discovery::Both`]).
    pub fn discovery(mut self, discovery: Discovery) -> Self {
        self.discovery = discovery;
        self
    }

    /// The clock that minting and introspection read (default: the system clock). Timestamps
    /// (`iat`, `exp`) come from it, and opaque tokens and JWTs stop introspecting as active
    /// when it passes their `exp`.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The algorithms to create a key for, one key each (default RS256, ES256, EdDSA).
    /// Duplicates are ignored; an empty list is an error at [`start`](Self::start).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = SigningAlg>) -> Self {
        self.algorithms.clear();
        for alg in algorithms {
            if !self.algorithms.contains(&alg) {
                self.algorithms.push(alg);
            }
        }
        self
    }

    /// The `Cache-Control` header of JWKS responses (default `max-age=300`).
    pub fn jwks_cache_control(mut self, value: impl Into<String>) -> Self {
        self.jwks_cache_control = value.into();
        self
    }

    /// Serves `document` (e.g. a real provider's discovery document) instead of the generated
    /// one, at every discovery URL of its issuer.
    ///
    /// Every absolute `http(s)` URL string in it, at any depth, gets the server's origin in
    /// place of its own, path kept: `"issuer": "https://x.auth0.com/"` becomes
    /// `"http://127.0.0.1:PORT/"`. That rewritten issuer is the server's issuer. The JWKS,
    /// token, introspection, authorization and registration endpoints are served at the paths
    /// of the rewritten `jwks_uri`, `token_endpoint`, `introspection_endpoint`,
    /// `authorization_endpoint` and `registration_endpoint` (or at the default paths under the
    /// issuer when the document lacks them). The document is otherwise served as given: it may
    /// advertise features this server does not have.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mcp_auth_dev::{AuthorizationServer, Discovery};
    /// use serde_json::json;
    ///
    /// let idp = AuthorizationServer::builder()
    ///     .metadata_document(json!({
    ///         "issuer": "https://example.supabase.co/auth/v1",
    ///         "jwks_uri": "https://example.supabase.co/auth/v1/.well-known/jwks.json",
    ///         "response_types_supported": ["code"],
    ///     }))
    ///     .discovery(Discovery::OAuthOnly)
    ///     .start()
    ///     .await?;
    /// assert_eq!(idp.issuer(), format!("{}/auth/v1", idp.origin()));
    /// assert_eq!(idp.jwks_uri(), format!("{}/auth/v1/.well-known/jwks.json", idp.origin()));
    /// # Ok(()) }
    /// ```
    pub fn metadata_document(mut self, document: Value) -> Self {
        self.metadata_document = Some(document);
        self
    }

    /// The registered client (default `"dev-client"` with a random secret).
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.client = Some((client_id.into(), client_secret.into()));
        self
    }

    /// Lets `client_id` introspect by `private_key_jwt` (RFC 7523 §2.2) with the key whose
    /// public JWK is `public_jwk` (with its `kid` and `alg`): the introspection endpoint then
    /// requires a `client_assertion` signed by it, `iss` and `sub` the client id, `aud` the
    /// issuer (or the introspection endpoint), not expired, its `jti` used once. Like ZITADEL,
    /// which authenticates introspection callers this way.
    ///
    /// The client also authenticates at the token endpoint this way (`aud` the issuer or the
    /// token endpoint), for the `client_credentials` grant and, when it is in the
    /// [`exchange_policy`](Self::exchange_policy), token exchange and the JWT bearer grant.
    /// Unless `client_id` is also a client with a secret, it has no other way to authenticate.
    pub fn introspection_client_key(
        mut self,
        client_id: impl Into<String>,
        public_jwk: serde_json::Value,
    ) -> Self {
        self.introspection_keys.push((client_id.into(), public_jwk));
        self
    }

    /// Lets the confidential client `client_id` exchange an access token of this server for
    /// one whose audience is one of `audiences`, at the token endpoint: RFC 8693 token
    /// exchange (`grant_type=urn:ietf:params:oauth:grant-type:token-exchange`) and the RFC 7523
    /// JWT bearer grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`, with Entra ID's
    /// `requested_token_use=on_behalf_of`). May be called several times; the audiences of
    /// one client add up.
    ///
    /// `client_id` is the client of [`client_credentials`](Self::client_credentials), a
    /// confidential [`client`](Self::client), or one with a key
    /// ([`introspection_client_key`](Self::introspection_client_key)); [`start`](Self::start)
    /// fails with [`DevServerError::InvalidClient`] for any other. Clients not listed are
    /// refused with `unauthorized_client`, targets not listed with `invalid_target`.
    ///
    /// A request names one target, as `resource` (an absolute URI) or `audience`, and may
    /// narrow or change the `scope` (by default the presented token's). The presented token
    /// (`subject_token` of type `urn:ietf:params:oauth:token-type:access_token`, or
    /// `assertion`) must be an unexpired, unrevoked access token signed by a current key of this
    /// server, for its issuer or a [tenant](Self::tenants)'s (`invalid_grant` otherwise). The
    /// new token has the presented token's `sub` and `iss`, `aud` the target, `client_id` the
    /// exchanging client, the usual lifetime (300 s, not capped by the presented token's), and
    /// the RFC 8693 §4.1 `act` claim `{"sub": client_id}`, nesting the presented token's own
    /// `act`. A DPoP proof binds it, as for the other grants.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use base64::Engine as _;
    /// use mcp_auth_dev::AuthorizationServer;
    /// use serde_json::Value;
    ///
    /// let backup = "https://backup.example.com/api";
    /// let idp = AuthorizationServer::builder()
    ///     .client_credentials("notes-server", "s3cret")
    ///     .exchange_policy("notes-server", [backup])
    ///     .start()
    ///     .await?;
    /// // The token the MCP client sent to the notes server.
    /// let inbound = idp
    ///     .token()
    ///     .subject("alice")
    ///     .audience("https://notes.example.com/mcp")
    ///     .scopes(["read:notes"])
    ///     .mint();
    ///
    /// let response: Value = reqwest::Client::new()
    ///     .post(idp.token_endpoint())
    ///     .basic_auth("notes-server", Some("s3cret"))
    ///     .form(&[
    ///         ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
    ///         ("subject_token", inbound.as_str()),
    ///         ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
    ///         ("resource", backup),
    ///         ("scope", "backup:write"),
    ///     ])
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(response["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    /// assert_eq!(response["scope"], "backup:write");
    ///
    /// let token = response["access_token"].as_str().unwrap_or_default();
    /// let payload = token.split('.').nth(1).unwrap_or_default();
    /// let claims: Value = serde_json::from_slice(
    ///     &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?,
    /// )?;
    /// assert_eq!(claims["sub"], "alice");
    /// assert_eq!(claims["aud"], backup);
    /// assert_eq!(claims["act"]["sub"], "notes-server");
    /// # Ok(()) }
    /// ```
    pub fn exchange_policy(
        mut self,
        client_id: impl Into<String>,
        audiences: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.exchange_policy.push((
            client_id.into(),
            audiences.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Whether the introspection endpoint answers with an RFC 9701 signed JWT when the caller
    /// asks for one (`Accept: application/token-introspection+jwt`); default `true`. `false`
    /// answers plain JSON whatever is asked, like a server without RFC 9701.
    pub fn sign_introspection_responses(mut self, sign: bool) -> Self {
        self.signs_introspection = sign;
        self
    }

    /// Whether each JWK states its `alg` (default `true`). Keys are bound to one algorithm
    /// either way; `false` imitates providers whose JWKS omits `alg` (Entra ID, many Okta
    /// servers).
    pub fn publish_key_alg(mut self, publish: bool) -> Self {
        self.publish_key_alg = publish;
        self
    }

    /// Registers a client before the server starts, for tests that skip dynamic registration.
    /// May be called several times; `client_id`s must differ from each other and from the
    /// introspection client's.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mcp_auth_dev::{AuthorizationServer, ClientRegistration};
    ///
    /// let idp = AuthorizationServer::builder()
    ///     .client(ClientRegistration::public("app", ["http://127.0.0.1:8000/callback"]))
    ///     .start()
    ///     .await?;
    /// # let _ = idp;
    /// # Ok(()) }
    /// ```
    pub fn client(mut self, registration: ClientRegistration) -> Self {
        self.clients.push(registration);
        self
    }

    /// What the authorization endpoint does with a valid request (default [`Consent::Auto`]:
    /// redirect at once with a code).
    pub fn consent(mut self, consent: Consent) -> Self {
        self.consent = consent;
        self
    }

    /// The user who signs in at the authorization endpoint: the `sub` of the tokens issued
    /// through it (default `"user-1"`).
    pub fn user(mut self, subject: impl Into<String>) -> Self {
        self.user = subject.into();
        self
    }

    /// The roles of the user who signs in: the tokens issued to [`user`](Self::user) carry them
    /// as a `roles` claim, an array of strings (default: none, and no `roles` claim). For a
    /// resource that requires roles (`#[requires_role]`, `McpAccess::roles`).
    pub fn user_roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.user_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The scopes listed as `scopes_supported` in the generated metadata (default: none, and
    /// the member is left out). When set, the authorization endpoint refuses other scopes with
    /// `invalid_scope`.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes.clear();
        for scope in scopes {
            let scope = scope.into();
            if !self.scopes.contains(&scope) {
                self.scopes.push(scope);
            }
        }
        self
    }

    /// Listens on this port of `127.0.0.1` instead of a random one (default `0`: random), so
    /// that the issuer stays the same across restarts, e.g. for an example whose clients
    /// cache the discovered issuer. Tests keep the random port. A port in use fails
    /// [`start`](Self::start) with [`DevServerError::Bind`].
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serves one more issuer per tenant, besides the server's own, like Microsoft Entra ID
    /// (one issuer per tenant, signing keys shared by all tenants). Replaces the tenants given
    /// earlier; duplicates are ignored.
    ///
    /// The tenant `contoso` has the issuer `http://127.0.0.1:PORT/contoso` (see
    /// [`AuthorizationServer::tenant_issuer`]) and the discovery URLs of that issuer that
    /// [`discovery`](Self::discovery) selects: by default
    /// `/.well-known/oauth-authorization-server/contoso` (RFC 8414),
    /// `/.well-known/openid-configuration/contoso` and `/contoso/.well-known/openid-configuration`
    /// (OpenID Connect). Each serves the server's own generated document with `issuer`
    /// replaced by the tenant's issuer: `jwks_uri`, the token, introspection, authorization
    /// and registration endpoints stay the server's own, so tenants share keys and endpoints.
    /// Tokens for a tenant are minted with [`TokenBuilder::tenant`]; the server's endpoints
    /// keep issuing tokens of its own issuer, except token exchange, whose token has the
    /// issuer of the token exchanged.
    ///
    /// [`start`](Self::start) fails with [`DevServerError::InvalidTenant`] when a name is not
    /// 1 to 64 ASCII letters, digits and `-`, or when its `/{tenant}` path or one of its
    /// discovery URLs is already served (e.g. a tenant named like the first segment of the
    /// [`issuer_path`](Self::issuer_path), or `token` with the default paths), and with
    /// [`DevServerError::TenantsWithMetadataDocument`] together with
    /// [`metadata_document`](Self::metadata_document).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mcp_auth_dev::AuthorizationServer;
    ///
    /// let idp = AuthorizationServer::builder()
    ///     .tenants(["contoso", "fabrikam"])
    ///     .start()
    ///     .await?;
    /// let contoso = idp.tenant_issuer("contoso").unwrap();
    /// assert_eq!(contoso, format!("{}/contoso", idp.origin()));
    ///
    /// let metadata: serde_json::Value = reqwest::get(format!(
    ///     "{}/.well-known/oauth-authorization-server/contoso",
    ///     idp.origin()
    /// ))
    /// .await?
    /// .json()
    /// .await?;
    /// assert_eq!(metadata["issuer"], contoso);
    /// assert_eq!(metadata["jwks_uri"], idp.jwks_uri()); // keys shared by all tenants
    ///
    /// let token = idp.token().tenant("fabrikam").audience("api://mcp").mint();
    /// # let _ = token;
    /// # Ok(()) }
    /// ```
    pub fn tenants(mut self, tenants: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tenants.clear();
        for tenant in tenants {
            let tenant = tenant.into();
            if !self.tenants.contains(&tenant) {
                self.tenants.push(tenant);
            }
        }
        self
    }

    /// Binds `127.0.0.1` at [`port`](Self::port) (random by default), generates the keys and
    /// starts serving on the current Tokio runtime.
    pub async fn start(self) -> Result<AuthorizationServer, DevServerError> {
        mcp_auth::verify::ensure_crypto_provider();
        if self.algorithms.is_empty() {
            return Err(DevServerError::NoAlgorithms);
        }
        if self.issuer_path.is_some() && self.metadata_document.is_some() {
            return Err(DevServerError::ConflictingIssuer);
        }
        if !self.tenants.is_empty() && self.metadata_document.is_some() {
            return Err(DevServerError::TenantsWithMetadataDocument);
        }
        let jwks_cache_control = HeaderValue::from_str(&self.jwks_cache_control)
            .map_err(|_| DevServerError::InvalidCacheControl(self.jwks_cache_control.clone()))?;

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port))
            .await
            .map_err(DevServerError::Bind)?;
        let port = listener.local_addr().map_err(DevServerError::Bind)?.port();
        let origin = format!("http://127.0.0.1:{port}");
        let mut layout = match self.metadata_document {
            Some(document) => Layout::from_document(&origin, document, self.discovery)?,
            None => Layout::generated(
                &origin,
                self.issuer_path.as_deref().unwrap_or(""),
                self.discovery,
            )?,
        };
        layout.add_tenants(&origin, self.tenants, self.discovery)?;

        let algorithms = self.algorithms.clone();
        let first = algorithms.first().copied().unwrap_or(SigningAlg::Rs256);
        let keys = tokio::task::spawn_blocking(move || KeyStore::generate(&algorithms))
            .await
            .map_err(|e| DevServerError::KeyGeneration {
                alg: first,
                reason: format!("the key generation task failed: {e}"),
            })??;

        let (client_id, client_secret) = self.client.unwrap_or_else(|| {
            (
                "dev-client".to_owned(),
                format!("dev-secret-{}", random_b64(18)),
            )
        });
        if let Some(bad) = self
            .scopes
            .iter()
            .find(|s| mcp_auth_rules::scope_token(s).is_err())
        {
            return Err(DevServerError::InvalidScope(bad.clone()));
        }
        let clients = Clients::default();
        clients.insert(Client::introspection(
            client_id.clone(),
            client_secret.clone(),
        ));
        for registration in self.clients {
            let id = registration.client_id.clone();
            let client = Client::preregistered(registration).map_err(|problem| {
                DevServerError::InvalidClient {
                    client_id: id.clone(),
                    problem,
                }
            })?;
            if !clients.insert(client) {
                return Err(DevServerError::InvalidClient {
                    client_id: id,
                    problem: "is registered twice (or is the introspection client's id)".into(),
                });
            }
        }
        // A client with a key and no secret authenticates by private_key_jwt only.
        for (client_id, _) in &self.introspection_keys {
            if clients.get(client_id).is_none() {
                clients.insert(Client::with_key(client_id.clone()));
            }
        }
        let mut exchange_policy: HashMap<String, Vec<String>> = HashMap::new();
        for (client_id, audiences) in self.exchange_policy {
            if clients.get(&client_id).is_none_or(|c| c.is_public()) {
                return Err(DevServerError::InvalidClient {
                    client_id,
                    problem: "is in exchange_policy but is not a confidential client; register it with client_credentials, a confidential ClientRegistration or introspection_client_key".into(),
                });
            }
            let allowed = exchange_policy.entry(client_id).or_default();
            for audience in audiences {
                if !allowed.contains(&audience) {
                    allowed.push(audience);
                }
            }
        }
        let clock: SharedClock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let dpop = mcp_auth::dpop::DpopVerifier::with_clock(
            &layout.token_endpoint,
            mcp_auth::dpop::DpopOptions::default()
                .policy(mcp_auth::dpop::DpopPolicy::Accepted)
                .algorithms(mcp_auth::dpop::SUPPORTED_ALGORITHMS)
                .nonce(self.dpop_nonce),
            Arc::clone(&clock),
        )
        .map_err(|e| DevServerError::Signing(format!("the DPoP verifier: {e}")))?;
        let shared = Arc::new(Shared {
            layout,
            origin,
            clock,
            dpop,
            client_id,
            client_secret,
            jwks_cache_control,
            publish_key_alg: self.publish_key_alg,
            traffic: Traffic::default(),
            clients,
            grants: Grants::default(),
            consent: self.consent,
            user: self.user,
            user_roles: self.user_roles,
            introspection_keys: self.introspection_keys,
            exchange_policy,
            assertion_jtis: Mutex::default(),
            signs_introspection: self.signs_introspection,
            scopes: self.scopes,
            keys: RwLock::new(keys),
            foreign: Mutex::default(),
            opaque: Mutex::default(),
            revoked: Mutex::default(),
        });
        let router = Router::new()
            .fallback(routes::handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the development authorization server stopped");
            }
        });
        tracing::debug!(issuer = %shared.layout.issuer, "development authorization server started");
        Ok(AuthorizationServer {
            inner: Arc::new(Inner { shared, task }),
        })
    }
}
