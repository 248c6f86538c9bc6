//! [`RedisStore`]: bindings in Redis, shared by every instance behind a load balancer.
//!
//! Built on [redis-rs](https://docs.rs/redis) (the `redis` crate): the most used Redis client
//! for Rust and an actively maintained one, async on tokio (which this crate runs on already),
//! with a [`ConnectionManager`] that multiplexes one connection for all calls and reconnects
//! by itself after an outage. Only its `tokio-comp`, `connection-manager` and `script`
//! features are enabled: no TLS (`rediss://` URLs are refused), no cluster, no pools.
//!
//! What Redis holds: keys are [`BindingKey::as_str`] (digests of the ids, never the ids),
//! values are [`Owner`]'s 64 hex digits (a digest of issuer and subject, never the subject),
//! each with the binding's time to live (`PX`), so Redis expires bindings itself.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ErrorKind, RedisError, RedisResult, Script, ServerErrorKind};

use super::{BindingKey, BindingStore, BoxFuture, Owner, StoreError};

/// The default [`RedisStoreBuilder::response_timeout`] and
/// [`RedisStoreBuilder::connection_timeout`].
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest TTL written, in milliseconds (2³² seconds, as [`MemoryStore`](super::MemoryStore)
/// caps it): far below what overflows Redis's expiry arithmetic.
const MAX_TTL_MS: u64 = (1 << 32) * 1000;

/// The atomic claim: bind the key unless it is bound, then answer with its owner. One script,
/// so no other client's command runs between the `SET` and the `GET`.
const CLAIM_SCRIPT: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return ARGV[1]
end
return redis.call('GET', KEYS[1])
";

/// A [`BindingStore`] in Redis: every instance given the same Redis (and key prefix) sees the
/// same bindings.
///
/// A claim is one Lua script (`SET key owner NX PX ttl`, else `GET key`), so concurrent claims
/// from any number of instances agree on one owner. Bindings expire in Redis at their TTL.
///
/// Redis keeps every binding until its TTL unless it runs out of memory under an eviction
/// policy: run it with `maxmemory-policy noeviction` (the default), so that a full Redis refuses
/// new bindings (`503`) instead of dropping live ones; [`RedisStoreBuilder::build`] warns when
/// the server says otherwise.
///
/// Every call is bounded: it fails with [`StoreError::Unavailable`] after at most the
/// connection timeout plus the response timeout (2 s by default) when Redis is down or slow,
/// and the layer answers `503` meanwhile. The store reconnects by itself: once Redis answers
/// again, calls succeed again, without a new store.
///
/// Cloning is cheap: clones share one multiplexed connection. The client is redis-rs (the most
/// used, actively maintained Redis client for Rust: async on tokio, with a reconnecting
/// connection manager); TLS (`rediss://`) is not supported, so reach Redis over a trusted
/// network or a local tunnel.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mcp_auth::binding::StoreError> {
/// use std::time::Duration;
/// use mcp_auth::binding::{BindingKey, BindingKind, BindingStore, Owner, RedisStore};
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379")
///     .response_timeout(Duration::from_millis(500))
///     .build()
///     .await?;
/// let alice = Owner::new("https://issuer.example", "alice");
/// let key = BindingKey::new("https://mcp.example/mcp", BindingKind::Session, "session-1");
/// assert_eq!(store.claim(&key, &alice, Duration::from_secs(3600)).await?, alice);
/// assert_eq!(store.owner(&key).await?, Some(alice));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    claim: Script,
    /// `host:port` (or a socket path) for error messages: never the URL, which may hold a
    /// password.
    server: String,
    key_prefix: String,
    response_timeout: Duration,
    connection_timeout: Duration,
}

/// Configures a [`RedisStore`]; from [`RedisStore::builder`].
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mcp_auth::binding::StoreError> {
/// use std::time::Duration;
/// use mcp_auth::binding::RedisStore;
///
/// let store = RedisStore::builder("redis://:secret@redis.internal:6379/2")
///     .connection_timeout(Duration::from_millis(300))
///     .response_timeout(Duration::from_millis(300))
///     .key_prefix("notes:")
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct RedisStoreBuilder {
    url: String,
    response_timeout: Duration,
    connection_timeout: Duration,
    key_prefix: String,
}

impl RedisStore {
    /// A builder for a store at `url`: `redis://[[user]:password@]host[:port][/db]`, or
    /// `redis+unix:///path/to/socket`. TLS (`rediss://`) is not supported.
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.to_owned(),
            response_timeout: DEFAULT_TIMEOUT,
            connection_timeout: DEFAULT_TIMEOUT,
            key_prefix: String::new(),
        }
    }

    /// The Redis key of `key`: the prefix, then [`BindingKey::as_str`].
    fn redis_key(&self, key: &BindingKey) -> String {
        format!("{}{}", self.key_prefix, key.as_str())
    }

    /// The most a call waits: for a connection when one must be made, then for the answer.
    fn deadline(&self) -> Duration {
        self.connection_timeout
            .saturating_add(self.response_timeout)
    }

    /// Runs `call` within [`deadline`](Self::deadline), mapping its errors for `redis_key`.
    async fn bounded<T>(
        &self,
        redis_key: &str,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.deadline(), call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.store_error(redis_key, &error)),
            Err(_) => Err(StoreError::Unavailable {
                reason: format!(
                    "redis at {} did not answer within {:?} (connection timeout {:?} plus \
                     response timeout {:?}): check that it is running and reachable",
                    self.server,
                    self.deadline(),
                    self.connection_timeout,
                    self.response_timeout,
                ),
            }),
        }
    }

    /// What `error` means for the operator. A value of the wrong type under our key is
    /// [`StoreError::Malformed`]; anything else is [`StoreError::Unavailable`].
    fn store_error(&self, redis_key: &str, error: &RedisError) -> StoreError {
        if error.code() == Some("WRONGTYPE") {
            return StoreError::Malformed {
                key: redis_key.to_owned(),
            };
        }
        let server = &self.server;
        let reason = if error.is_timeout() {
            format!(
                "redis at {server} did not answer within {:?}: {error}",
                self.response_timeout
            )
        } else if error.is_connection_refusal() {
            format!(
                "redis at {server} refused the connection (is it running, and is the URL's \
                 host and port right?): {error}"
            )
        } else if error.is_connection_dropped() {
            format!(
                "redis at {server} dropped the connection (restarted, crashed or cut off; the \
                 store reconnects by itself): {error}"
            )
        } else if error.is_io_error() {
            format!("redis at {server} could not be reached: {error}")
        } else {
            match error.kind() {
                ErrorKind::AuthenticationFailed | ErrorKind::Server(ServerErrorKind::NoPerm) => {
                    format!(
                        "redis at {server} refused the credentials or the command (check the \
                         URL's user and password and the user's ACL): {error}"
                    )
                }
                ErrorKind::Server(ServerErrorKind::ReadOnly) => format!(
                    "redis at {server} is a read-only replica (point the URL at the primary): \
                     {error}"
                ),
                _ => format!("redis at {server} failed the command: {error}"),
            }
        };
        StoreError::Unavailable { reason }
    }
}

/// The owner Redis holds under `redis_key`, if it is one.
fn parse_owner(redis_key: &str, value: &[u8]) -> Result<Owner, StoreError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(Owner::from_hex)
        .ok_or_else(|| StoreError::Malformed {
            key: redis_key.to_owned(),
        })
}

/// `ttl` in whole milliseconds for `PX`: at least 1 (Redis refuses 0), at most [`MAX_TTL_MS`].
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

impl RedisStoreBuilder {
    /// How long a command may wait for Redis's answer (1 s by default).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long connecting (or reconnecting) to Redis may take (1 s by default).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Puts `prefix` before every key (empty by default), so that deployments sharing one
    /// Redis keep apart: `notes:` gives keys `notes:mcp-auth:v1:<kind>:<hex>`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Connects to Redis and checks that it answers `PING`, and warns (once, at `warn`) when its
    /// memory limit and eviction policy let it drop bindings before they expire.
    ///
    /// Fails with [`StoreError::Unavailable`], naming what to fix, for a URL that does not
    /// parse and for a Redis that does not answer within the connection timeout plus the
    /// response timeout: a Redis that is down at start-up fails the build, it does not hang it.
    /// Must be called within a tokio runtime.
    pub async fn build(self) -> Result<RedisStore, StoreError> {
        let client = Client::open(self.url.as_str()).map_err(|error| StoreError::Unavailable {
            reason: format!(
                "the redis URL is not valid (expected redis://[[user]:password@]host[:port][/db] \
                 or redis+unix:///path; TLS is not supported): {error}"
            ),
        })?;
        let server = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connection_timeout))
            .set_response_timeout(Some(self.response_timeout))
            // A few quick attempts per reconnection: a call still fails at its deadline, and
            // the next call after a failed reconnection starts another.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(250));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|error| {
                StoreError::Unavailable {
                    reason: format!("redis at {server} could not be set up: {error}"),
                }
            })?;
        let store = RedisStore {
            connection,
            claim: Script::new(CLAIM_SCRIPT),
            server,
            key_prefix: self.key_prefix,
            response_timeout: self.response_timeout,
            connection_timeout: self.connection_timeout,
        };
        let mut connection = store.connection.clone();
        store
            .bounded("", redis::cmd("PING").query_async::<()>(&mut connection))
            .await?;
        store.check_eviction_policy().await;
        Ok(store)
    }
}

impl RedisStore {
    /// Warns when Redis may evict bindings before they expire: with a memory limit and any
    /// policy but `noeviction`, a full Redis drops keys (ours all have a TTL, so `volatile-*`
    /// policies pick them too), and a dropped DPoP proof id can be replayed. With `noeviction`, a
    /// full Redis refuses writes instead, and requests get `503`. Managed services may refuse
    /// `CONFIG`: then nothing is known, and a `debug` line says so.
    async fn check_eviction_policy(&self) {
        let mut connection = self.connection.clone();
        let answer = self
            .bounded(
                "",
                redis::cmd("CONFIG")
                    .arg("GET")
                    .arg("maxmemory*")
                    .query_async::<std::collections::HashMap<String, String>>(&mut connection),
            )
            .await;
        let Ok(config) = answer else {
            tracing::debug!(
                server = %self.server,
                "redis refused CONFIG GET maxmemory*: make sure its maxmemory-policy is noeviction"
            );
            return;
        };
        let value = |name: &str| config.get(name).map(String::as_str);
        let limited = value("maxmemory").is_some_and(|m| m != "0");
        let policy = value("maxmemory-policy").unwrap_or("noeviction");
        if limited && policy != "noeviction" {
            tracing::warn!(
                server = %self.server,
                maxmemory = value("maxmemory").unwrap_or_default(),
                policy,
                "redis may evict bindings before they expire (a dropped DPoP proof id can be replayed, a dropped session, task or handle claimed by another user): set maxmemory-policy noeviction, so that a full redis refuses writes and requests get 503"
            );
        }
    }
}

impl BindingStore for RedisStore {
    fn claim<'a>(
        &'a self,
        key: &'a BindingKey,
        owner: &'a Owner,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Owner, StoreError>> {
        Box::pin(async move {
            let redis_key = self.redis_key(key);
            let mut connection = self.connection.clone();
            let mut invocation = self.claim.key(&redis_key);
            invocation.arg(owner.to_string()).arg(ttl_millis(ttl));
            let value = self
                .bounded(
                    &redis_key,
                    invocation.invoke_async::<Option<Vec<u8>>>(&mut connection),
                )
                .await?;
            // The script answers nil only if the key vanished between its SET and its GET,
            // which a script's atomicity rules out: whatever answered is not our Redis script.
            let value = value.ok_or_else(|| StoreError::Malformed {
                key: redis_key.clone(),
            })?;
            parse_owner(&redis_key, &value)
        })
    }

    fn owner<'a>(
        &'a self,
        key: &'a BindingKey,
    ) -> BoxFuture<'a, Result<Option<Owner>, StoreError>> {
        Box::pin(async move {
            let redis_key = self.redis_key(key);
            let mut connection = self.connection.clone();
            let value = self
                .bounded(
                    &redis_key,
                    redis::cmd("GET")
                        .arg(&redis_key)
                        .query_async::<Option<Vec<u8>>>(&mut connection),
                )
                .await?;
            value
                .map(|value| parse_owner(&redis_key, &value))
                .transpose()
        })
    }

    fn release<'a>(&'a self, key: &'a BindingKey) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let redis_key = self.redis_key(key);
            let mut connection = self.connection.clone();
            self.bounded(
                &redis_key,
                redis::cmd("DEL")
                    .arg(&redis_key)
                    .query_async::<()>(&mut connection),
            )
            .await
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.server)
            .field("key_prefix", &self.key_prefix)
            .field("response_timeout", &self.response_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("RedisStoreBuilder")
            .field("key_prefix", &self.key_prefix)
            .field("response_timeout", &self.response_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_whole_milliseconds_from_one_to_the_cap() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(999)), 1);
        assert_eq!(ttl_millis(Duration::from_millis(300)), 300);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MS);
    }

    #[test]
    fn only_64_hex_digits_parse_as_an_owner() {
        let owner = Owner::new("https://i.example", "alice");
        let key = "mcp-auth:v1:task:00";
        assert_eq!(
            parse_owner(key, owner.to_string().as_bytes()).ok(),
            Some(owner)
        );
        for bad in [&b"alice"[..], b"", &[0xff; 64]] {
            assert!(matches!(
                parse_owner(key, bad),
                Err(StoreError::Malformed { key: k }) if k == key
            ));
        }
    }

    #[test]
    fn the_builder_never_shows_the_url() {
        let builder = RedisStore::builder("redis://:hunter2@127.0.0.1:6379");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn a_url_that_does_not_parse_fails_the_build_and_says_what_is_expected() {
        for url in [
            "http://127.0.0.1:6379",
            "not a url",
            "rediss://127.0.0.1:6379",
        ] {
            let Err(StoreError::Unavailable { reason }) = RedisStore::builder(url).build().await
            else {
                panic!("{url} built a store");
            };
            assert!(reason.contains("redis://"), "{reason}");
            assert!(reason.contains("TLS is not supported"), "{reason}");
        }
    }
}
