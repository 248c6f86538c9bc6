//! Bindings: which user owns an MCP session, a task or a state handle.
//!
//! A session id, a task id or a state handle is a bearer capability: whoever presents it reaches
//! the state behind it. The MCP layer therefore binds each one to the user whose token created
//! it (the token's issuer and subject, see [`Owner`]) and refuses it to anyone else, before the
//! MCP server sees the request.
//!
//! Bindings live in a [`BindingStore`], a claim-once store: a binding is kept until it expires,
//! never dropped to make room (a full store refuses new bindings with `503` instead; see
//! [`MemoryStore`] for how to size it). The default, [`MemoryStore`], is per process: enough for
//! one instance. Behind a load balancer, every instance must see the same bindings, so give them
//! one shared store (the `redis` feature's `RedisStore`, or your own implementation of the
//! trait). A request whose binding cannot be checked because the store is unreachable is
//! refused with `503` and `Retry-After`, never served unchecked.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mcp_auth::binding::StoreError> {
//! use std::time::Duration;
//! use mcp_auth::binding::{BindingKey, BindingKind, BindingStore, MemoryStore, Owner};
//!
//! let store = MemoryStore::new();
//! let alice = Owner::new("https://issuer.example", "alice");
//! let bob = Owner::new("https://issuer.example", "bob");
//! let key = BindingKey::new("https://mcp.example/mcp", BindingKind::Task, "task-7");
//!
//! // The first claim binds; a later claim by someone else learns the owner.
//! assert_eq!(store.claim(&key, &alice, Duration::from_secs(60)).await?, alice);
//! assert_eq!(store.claim(&key, &bob, Duration::from_secs(60)).await?, alice);
//! assert_eq!(store.owner(&key).await?, Some(alice));
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::auth_info::AuthInfo;

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisStore, RedisStoreBuilder};

pub use self::memory::MemoryStore;

/// What a request that needs a binding the store cannot take or check is told (with `503` and
/// `Retry-After`): the binding store, not the authorization server, is at fault.
pub(crate) const UNAVAILABLE_DESCRIPTION: &str = "The binding store (which keeps sessions, tasks, state handles and DPoP proof ids) cannot be used right now; retry later";

/// The `Retry-After` seconds of a binding-store `503`: the store's own estimate when it has one
/// (a full store knows when room comes back), never below `floor` nor one second.
pub(crate) fn retry_after_secs(estimate: Option<Duration>, floor: u64) -> u64 {
    let estimate = estimate.map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
    estimate.max(floor).max(1)
}

/// What a binding is for; part of its [`BindingKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BindingKind {
    /// An `Mcp-Session-Id` (MCP revisions before 2026-07-28).
    Session,
    /// A task id (the Tasks extension: `tools/call` answered with a task, then `tasks/*`).
    Task,
    /// A state handle a tool minted and its caller passes back as an argument.
    Handle,
    /// A DPoP proof id (`jti` with the key's thumbprint), claimed once to refuse replays.
    DpopProof,
}

impl BindingKind {
    /// The short name used in store keys: `session`, `task`, `handle` or `dpop_jti`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Task => "task",
            Self::Handle => "handle",
            Self::DpopProof => "dpop_jti",
        }
    }
}

/// The user a binding belongs to: a SHA-256 digest of the token's issuer and subject (its client
/// id when it has no subject).
///
/// Stores keep only this digest, never the subject itself, so a shared store holds no user
/// identifiers. Its [`Display`](fmt::Display) form (64 lowercase hex digits) is what stores
/// write.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner([u8; 32]);

impl Owner {
    /// The owner for `subject` at `issuer`.
    pub fn new(issuer: &str, subject: &str) -> Self {
        Self::digest(issuer, "sub", subject)
    }

    /// The owner of a verified token: its issuer and `sub`, or its `client_id` for a token
    /// without a subject (a client-credentials token), or the issuer alone for a token with
    /// neither.
    pub(crate) fn of(info: &AuthInfo) -> Self {
        match (info.subject(), info.client_id()) {
            (Some(subject), _) => Self::digest(info.issuer(), "sub", subject),
            (None, Some(client)) => Self::digest(info.issuer(), "client", client),
            (None, None) => Self::digest(info.issuer(), "none", ""),
        }
    }

    fn digest(issuer: &str, kind: &str, value: &str) -> Self {
        // Length-prefixed parts: no two (issuer, subject) pairs hash the same input.
        let mut hash = Sha256::new();
        for part in [issuer, kind, value] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        Self(hash.finalize().into())
    }

    /// Parses the 64-hex-digit form [`Display`](fmt::Display) writes; `None` for anything else.
    #[cfg(any(test, feature = "redis"))]
    pub(crate) fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let digit = |b: u8| (b as char).to_digit(16);
            out[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Hex(&self.0).fmt(f)
    }
}

/// A digest as lowercase hex digits, the form stores write.
struct Hex<'a>(&'a [u8; 32]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Owner({self})")
    }
}

/// Where a binding is stored: the resource, the [`BindingKind`] and a SHA-256 digest of the id.
///
/// The id itself (a session id, a task id, a handle: each a capability) never reaches the
/// store. [`BindingKey::as_str`] is `mcp-auth:v1:<kind>:<64 hex digits>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BindingKey {
    digest: [u8; 32],
    key: String,
}

impl BindingKey {
    /// The key of `id` of kind `kind` on the resource `resource` (its identifier).
    pub fn new(resource: &str, kind: BindingKind, id: impl AsRef<[u8]>) -> Self {
        let mut hash = Sha256::new();
        for part in [resource.as_bytes(), kind.as_str().as_bytes(), id.as_ref()] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let digest: [u8; 32] = hash.finalize().into();
        let key = format!("mcp-auth:v1:{}:{}", kind.as_str(), Hex(&digest));
        Self { digest, key }
    }

    /// The SHA-256 digest the key is named by (what [`MemoryStore`] keeps).
    pub(crate) fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The key as a store writes it.
    pub fn as_str(&self) -> &str {
        &self.key
    }
}

impl fmt::Debug for BindingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// Why a [`BindingStore`] could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer (unreachable, timed out, refused the command). Requests whose
    /// binding depends on it are refused with `503` and `Retry-After` until it answers again.
    #[error("binding store unavailable: {reason}")]
    Unavailable {
        /// What went wrong, for the operator (never an id or a token).
        reason: String,
    },
    /// The store holds as many live bindings as it may, and keeps every one of them until it
    /// expires: a new one cannot be made now (the request gets `503` with `Retry-After`). Raise
    /// the capacity (`setting`) to the rate of new bindings × their lifetime, or use a shared
    /// store without such a bound (see [`MemoryStore`]).
    #[error(
        "binding store full: it holds {capacity} live bindings and drops none before it expires; raise {setting} to the rate of new bindings times their lifetime, or use a RedisStore"
    )]
    Full {
        /// How many live bindings the store holds at most.
        capacity: usize,
        /// The setting that raises `capacity`.
        setting: &'static str,
        /// When the first binding expires, making room.
        retry_after: Duration,
    },
    /// The user holds as many live bindings as one user may (so that no single user can fill
    /// the store for everyone): a new one cannot be made for this user now (`503` with
    /// `Retry-After`). Other users are not affected.
    #[error(
        "a user holds {limit} live bindings, the most one user may; the user is refused new ones until some expire (raise {setting} if one user legitimately needs more)"
    )]
    OwnerFull {
        /// How many live bindings one user may hold.
        limit: usize,
        /// The setting that raises `limit`.
        setting: &'static str,
    },
    /// The store answered with something that is not a binding (a value another program wrote
    /// under our key prefix, say).
    #[error("binding store returned a malformed value for {key:?}")]
    Malformed {
        /// The key (a digest; safe to log).
        key: String,
    },
}

/// Where bindings live: owner by key, each with a time to live.
///
/// A binding store is a claim-once store, not a cache: implementations must be atomic per key
/// (two concurrent [`claim`](Self::claim)s of one key agree on one owner), must read expired
/// bindings as absent, and must **never forget a binding before its TTL**: forgetting a claimed
/// DPoP proof id lets the proof be replayed, forgetting a session, task or handle lets another
/// user claim it. A store that cannot take a new binding fails the claim
/// ([`StoreError::Full`], [`StoreError::OwnerFull`] or [`StoreError::Unavailable`]), and the
/// request gets `503`.
pub trait BindingStore: Send + Sync + fmt::Debug + 'static {
    /// Binds `key` to `owner` for `ttl` unless it is bound already, and returns the owner it is
    /// bound to: `owner` when the claim won, the earlier owner otherwise. A claim by the owner
    /// itself renews nothing and returns `owner`.
    fn claim<'a>(
        &'a self,
        key: &'a BindingKey,
        owner: &'a Owner,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Owner, StoreError>>;

    /// The owner of `key`, or `None` when it is not bound (never was, expired, released).
    fn owner<'a>(&'a self, key: &'a BindingKey)
    -> BoxFuture<'a, Result<Option<Owner>, StoreError>>;

    /// Removes the binding of `key` (a session its owner deleted). Removing an absent key is
    /// not an error.
    fn release<'a>(&'a self, key: &'a BindingKey) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl StoreError {
    /// How long to wait before a claim can succeed, when the store knows (a full store knows
    /// when its first binding expires).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Full { retry_after, .. } => Some(*retry_after),
            Self::OwnerFull { .. } | Self::Unavailable { .. } | Self::Malformed { .. } => None,
        }
    }
}

/// A shared [`BindingStore`].
pub type SharedStore = Arc<dyn BindingStore>;

/// A store shared through an `Arc` is a store.
impl<S: BindingStore + ?Sized> BindingStore for Arc<S> {
    fn claim<'a>(
        &'a self,
        key: &'a BindingKey,
        owner: &'a Owner,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Owner, StoreError>> {
        (**self).claim(key, owner, ttl)
    }

    fn owner<'a>(
        &'a self,
        key: &'a BindingKey,
    ) -> BoxFuture<'a, Result<Option<Owner>, StoreError>> {
        (**self).owner(key)
    }

    fn release<'a>(&'a self, key: &'a BindingKey) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).release(key)
    }
}

/// Where a resource keeps its bindings, and how long they live.
///
/// Set through [`ProtectedResource::bindings`](crate::ProtectedResource::bindings):
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::ProtectedResource;
/// use mcp_auth::binding::MemoryStore;
///
/// let resource = ProtectedResource::new("https://mcp.example.com/mcp")
///     .bindings(|b| b.store(MemoryStore::with_capacity(10_000)).session_ttl(Duration::from_secs(3600)));
/// ```
#[derive(Debug, Clone)]
pub struct BindingOptions {
    pub(crate) store: SharedStore,
    pub(crate) session_ttl: Duration,
    pub(crate) max_task_ttl: Duration,
}

/// How long a session binding lives by default (24 hours).
pub(crate) const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(24 * 3600);

/// The longest a task binding lives by default (7 days), also for tasks without a `ttlMs`.
pub(crate) const DEFAULT_MAX_TASK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

impl Default for BindingOptions {
    fn default() -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            session_ttl: DEFAULT_SESSION_TTL,
            max_task_ttl: DEFAULT_MAX_TASK_TTL,
        }
    }
}

impl BindingOptions {
    /// Keeps bindings in `store` (default: a [`MemoryStore`], per process). A [`SharedStore`]
    /// (an `Arc` of a store) shares one with other resources or code.
    pub fn store(mut self, store: impl BindingStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// How long a session stays bound to its user after it was created (default 24 hours). After that its id is refused, and the client starts a new
    /// session.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// The longest a task stays bound (default 7 days). A task lives for its
    /// `ttlMs` (plus a minute for the last poll), capped at this; one without a `ttlMs` for this.
    pub fn max_task_ttl(mut self, ttl: Duration) -> Self {
        self.max_task_ttl = ttl;
        self
    }

    /// The store.
    #[cfg(feature = "rmcp")]
    pub(crate) fn shared(&self) -> &SharedStore {
        &self.store
    }

    /// The binding lifetime of a task whose creation result carried `ttl_ms`.
    pub(crate) fn task_ttl(&self, ttl_ms: Option<u64>) -> Duration {
        match ttl_ms {
            Some(ms) => {
                (Duration::from_millis(ms) + Duration::from_secs(60)).min(self.max_task_ttl)
            }
            None => self.max_task_ttl,
        }
    }
}

/// Why a state handle was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The handle is not bound to the caller: unknown, expired, or another user's (the three
    /// are not told apart, so a handle's existence does not leak).
    #[error("unknown handle")]
    Unknown,
    /// The binding store did not answer; retry later.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// State handles bound to the caller: what a tool mints into its result and checks when the
/// handle comes back as an argument (MCP 2026-07-28 replaces sessions with such handles).
///
/// Got from the request the layer verified: `mcp_auth::rmcp::state_handles(&ctx)` in an rmcp
/// tool (feature `rmcp`). Handles are bound in the resource's [`BindingStore`], so they hold
/// across instances that share it.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::binding::{HandleError, StateHandles};
///
/// async fn draft_then_publish(handles: &StateHandles) -> Result<(), HandleError> {
///     let draft = handles.mint(Duration::from_secs(600)).await?;
///     handles.check(&draft).await?; // `HandleError::Unknown` for another user's handle
///     handles.release(&draft).await
/// }
/// ```
///
/// Tests of tool code that runs without the layer make handles with `for_tests` (feature
/// `test-util`).
#[derive(Debug, Clone)]
pub struct StateHandles {
    store: SharedStore,
    resource: Arc<str>,
    owner: Owner,
    /// The request's outage record, when the layer watches it (see [`Outage`]).
    outage: Option<Arc<Outage>>,
}

impl StateHandles {
    #[cfg(any(test, feature = "rmcp", feature = "test-util"))]
    pub(crate) fn new(
        store: SharedStore,
        resource: Arc<str>,
        owner: Owner,
        outage: Option<Arc<Outage>>,
    ) -> Self {
        Self {
            store,
            resource,
            owner,
            outage,
        }
    }

    /// Handles of user `subject` over `store`, for tests of tool code that runs without the
    /// layer (feature `test-util`). Two users' handles over one store ([`SharedStore`] clones)
    /// are refused to each other.
    #[cfg(any(test, feature = "test-util"))]
    pub fn for_tests(subject: &str, store: impl BindingStore) -> Self {
        Self::new(
            Arc::new(store),
            Arc::from("https://mcp.example/mcp"),
            Owner::new("https://issuer.example", subject),
            None,
        )
    }

    fn key(&self, handle: &str) -> BindingKey {
        BindingKey::new(&self.resource, BindingKind::Handle, handle)
    }

    /// Passes a store result on, recording a failure for the layer first.
    fn noted<T>(&self, result: Result<T, StoreError>) -> Result<T, HandleError> {
        result.map_err(|error| {
            if let Some(outage) = &self.outage {
                outage.record(&error);
            }
            HandleError::Store(error)
        })
    }

    /// A new handle (32 random bytes from the operating system, base64url: 43 characters)
    /// bound to the caller for `ttl`.
    pub async fn mint(&self, ttl: Duration) -> Result<String, HandleError> {
        let handle = new_handle();
        self.bind(&handle, ttl).await?;
        Ok(handle)
    }

    /// Binds a handle the tool made itself to the caller for `ttl`. A handle bound to someone
    /// else already is refused ([`HandleError::Unknown`]); make handles unguessable.
    pub async fn bind(&self, handle: &str, ttl: Duration) -> Result<(), HandleError> {
        let owner = self.noted(self.store.claim(&self.key(handle), &self.owner, ttl).await)?;
        if owner == self.owner {
            Ok(())
        } else {
            Err(HandleError::Unknown)
        }
    }

    /// `Ok` when `handle` is bound to the caller; [`HandleError::Unknown`] otherwise.
    pub async fn check(&self, handle: &str) -> Result<(), HandleError> {
        match self.noted(self.store.owner(&self.key(handle)).await)? {
            Some(owner) if owner == self.owner => Ok(()),
            _ => Err(HandleError::Unknown),
        }
    }

    /// Ends the binding of `handle` (the state behind it is gone). Only its owner can.
    pub async fn release(&self, handle: &str) -> Result<(), HandleError> {
        self.check(handle).await?;
        self.noted(self.store.release(&self.key(handle)).await)
    }
}

/// What one request's code could not bind: set when a [`StateHandles`] call meets a store that
/// cannot take or check the binding (unreachable, too slow, full), read by the layer once the
/// code has answered. The layer then answers `503` with `Retry-After`, whatever the code made of
/// the error, so an outage never reaches the client as a `200` with an error inside; an answer
/// whose event stream started before the tool ran ends with an error event instead. An answer
/// delivered later on another request (a task's result, a resumed stream) is out of its reach.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    /// The first failure, for the operator (never an id or a token) and the `Retry-After`.
    failure: std::sync::OnceLock<OutageReport>,
}

/// What an [`Outage`] recorded.
#[derive(Debug)]
pub(crate) struct OutageReport {
    pub(crate) source: OutageSource,
    pub(crate) reason: String,
    pub(crate) retry_after: Option<Duration>,
}

/// What could not answer the request's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutageSource {
    /// The binding store (a state handle could not be bound or checked).
    BindingStore,
    /// The authorization server (a downstream token could not be had).
    AuthorizationServer,
}

impl OutageSource {
    /// What the client is told.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::BindingStore => UNAVAILABLE_DESCRIPTION,
            Self::AuthorizationServer => {
                "The authorization server could not issue a token for a downstream API; retry later"
            }
        }
    }
}

impl OutageReport {
    /// Tells the operator of `resource` (throttled) through its `notices`: the line of the
    /// source that failed.
    pub(crate) fn notify(&self, notices: &crate::notice::Notices, resource: &str) {
        match self.source {
            OutageSource::BindingStore => notices.store_unavailable(resource, &self.reason),
            OutageSource::AuthorizationServer => notices.unavailable(resource, &self.reason),
        }
    }
}

impl Outage {
    fn record(&self, error: &StoreError) {
        self.record_unavailable(
            OutageSource::BindingStore,
            &error.to_string(),
            error.retry_after(),
        );
    }

    /// Records that `source` could not answer; the first failure is the one reported, later
    /// ones say the same.
    pub(crate) fn record_unavailable(
        &self,
        source: OutageSource,
        reason: &str,
        retry_after: Option<Duration>,
    ) {
        let _ = self.failure.set(OutageReport {
            source,
            reason: reason.to_owned(),
            retry_after,
        });
    }

    /// The failure the request's code met, if it met one.
    pub(crate) fn report(&self) -> Option<&OutageReport> {
        self.failure.get()
    }
}

/// A new state handle: 32 bytes from the operating system's CSPRNG, base64url without padding
/// (43 characters).
pub(crate) fn new_handle() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    // The OS CSPRNG does not fail on supported platforms; if it ever does, a handle from a
    // weaker source would be guessable, so there is no fallback.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> BindingKey {
        BindingKey::new("https://mcp.example/mcp", BindingKind::Task, id)
    }

    #[tokio::test]
    async fn rs57_claims_are_first_come_and_per_owner() {
        let store = MemoryStore::new();
        let alice = Owner::new("https://i.example", "alice");
        let bob = Owner::new("https://i.example", "bob");
        let ttl = Duration::from_secs(60);
        assert_eq!(store.claim(&key("t1"), &alice, ttl).await.unwrap(), alice);
        assert_eq!(store.claim(&key("t1"), &bob, ttl).await.unwrap(), alice);
        assert_eq!(store.claim(&key("t1"), &alice, ttl).await.unwrap(), alice);
        assert_eq!(store.owner(&key("t2")).await.unwrap(), None);
        store.release(&key("t1")).await.unwrap();
        assert_eq!(store.owner(&key("t1")).await.unwrap(), None);
    }

    #[test]
    fn owners_and_keys_are_digests_that_round_trip() {
        let owner = Owner::new("https://i.example", "alice");
        assert_eq!(Owner::from_hex(&owner.to_string()), Some(owner));
        assert_eq!(Owner::from_hex("zz"), None);
        assert_ne!(Owner::new("ab", "c"), Owner::new("a", "bc"));
        let k = key("secret-task-id");
        assert!(k.as_str().starts_with("mcp-auth:v1:task:"));
        assert!(!k.as_str().contains("secret"));
        assert_ne!(
            BindingKey::new("https://a.example/mcp", BindingKind::Task, "x"),
            BindingKey::new("https://b.example/mcp", BindingKind::Task, "x"),
        );
    }

    #[test]
    fn handles_are_43_base64url_characters_and_differ() {
        let a = new_handle();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, new_handle());
    }
}
