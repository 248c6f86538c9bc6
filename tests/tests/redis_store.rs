//! `RedisStore` against a real `redis-server` (started by each test, on its own port): the
//! binding contract across instances sharing one Redis, what Redis holds, expiry, outages and
//! recovery, malformed values.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_auth::binding::{BindingKey, BindingKind, BindingStore, Owner, RedisStore, StoreError};
use mcp_auth_tests::RedisServer;

const RESOURCE: &str = "https://mcp.example/mcp";
const HOUR: Duration = Duration::from_secs(3600);

fn alice() -> Owner {
    Owner::new("https://issuer.example", "alice-subject")
}

fn bob() -> Owner {
    Owner::new("https://issuer.example", "bob-subject")
}

fn key(id: &str) -> BindingKey {
    BindingKey::new(RESOURCE, BindingKind::Task, id)
}

async fn store(server: &RedisServer) -> RedisStore {
    RedisStore::builder(&server.url())
        .build()
        .await
        .expect("a store on the test redis")
}

/// A store with short timeouts, for outages.
async fn quick_store(server: &RedisServer) -> RedisStore {
    RedisStore::builder(&server.url())
        .connection_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .build()
        .await
        .expect("a store on the test redis")
}

fn keys(server: &RedisServer) -> Vec<String> {
    redis::cmd("KEYS")
        .arg("*")
        .query(&mut server.connection())
        .expect("KEYS")
}

#[tokio::test]
async fn claims_are_first_come_across_two_stores_sharing_one_redis() {
    let server = RedisServer::start();
    let (a, b) = (store(&server).await, store(&server).await);
    let task = key("task-1");

    assert_eq!(a.claim(&task, &alice(), HOUR).await.unwrap(), alice());
    assert_eq!(
        b.claim(&task, &bob(), HOUR).await.unwrap(),
        alice(),
        "the later claim learns the first owner"
    );
    assert_eq!(b.claim(&task, &alice(), HOUR).await.unwrap(), alice());
    assert_eq!(a.owner(&task).await.unwrap(), Some(alice()));
    assert_eq!(b.owner(&task).await.unwrap(), Some(alice()));
    assert_eq!(a.owner(&key("task-2")).await.unwrap(), None);

    b.release(&task).await.unwrap();
    assert_eq!(a.owner(&task).await.unwrap(), None, "released for everyone");
    b.release(&task).await.unwrap();
    assert_eq!(
        a.claim(&task, &bob(), HOUR).await.unwrap(),
        bob(),
        "a released key can be claimed anew"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_claims_across_two_stores_agree_on_one_owner() {
    let server = RedisServer::start();
    let stores = [
        Arc::new(store(&server).await),
        Arc::new(store(&server).await),
    ];
    let task = key("contended");
    let claims: Vec<_> = (0..50)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            let task = task.clone();
            let owner = Owner::new("https://issuer.example", &format!("user-{i}"));
            tokio::spawn(async move { store.claim(&task, &owner, HOUR).await })
        })
        .collect();
    let mut owners = Vec::new();
    for claim in claims {
        owners.push(claim.await.expect("claim task").expect("claim"));
    }
    let winner = owners[0];
    assert!(
        owners.iter().all(|o| *o == winner),
        "every claimant learns the same owner"
    );
    assert!(
        (0..50).any(|i| Owner::new("https://issuer.example", &format!("user-{i}")) == winner),
        "the owner is one of the claimants"
    );
    for store in &stores {
        assert_eq!(store.owner(&task).await.unwrap(), Some(winner));
    }
}

#[tokio::test]
async fn a_binding_expires_at_its_ttl_in_redis() {
    let server = RedisServer::start();
    let store = store(&server).await;
    let task = key("short-lived");
    let ttl = Duration::from_millis(300);

    assert_eq!(store.claim(&task, &alice(), ttl).await.unwrap(), alice());
    let pttl: i64 = redis::cmd("PTTL")
        .arg(task.as_str())
        .query(&mut server.connection())
        .unwrap();
    assert!((1..=300).contains(&pttl), "PTTL {pttl}");
    assert_eq!(store.owner(&task).await.unwrap(), Some(alice()));

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.owner(&task).await.unwrap(), None, "expired");
    assert_eq!(
        store.claim(&task, &bob(), HOUR).await.unwrap(),
        bob(),
        "an expired binding can be claimed by someone else"
    );

    // A zero TTL is written as 1 ms, not refused by Redis.
    let instant = key("zero-ttl");
    assert_eq!(
        store
            .claim(&instant, &alice(), Duration::ZERO)
            .await
            .unwrap(),
        alice()
    );
}

#[tokio::test]
async fn redis_holds_only_digests_never_ids_or_subjects() {
    let server = RedisServer::start();
    let store = store(&server).await;
    let prefixed = RedisStore::builder(&server.url())
        .key_prefix("notes:")
        .build()
        .await
        .unwrap();
    let session = BindingKey::new(RESOURCE, BindingKind::Session, "raw-session-id-42");
    let handle = BindingKey::new(RESOURCE, BindingKind::Handle, "raw-handle-43");
    store.claim(&session, &alice(), HOUR).await.unwrap();
    prefixed.claim(&handle, &alice(), HOUR).await.unwrap();

    let mut held = keys(&server);
    held.sort();
    assert_eq!(
        held,
        [
            session.as_str().to_owned(),
            format!("notes:{}", handle.as_str())
        ]
    );
    assert!(session.as_str().starts_with("mcp-auth:v1:session:"));
    for k in &held {
        assert!(!k.contains("raw-"), "an id in a key: {k}");
        let value: String = redis::cmd("GET")
            .arg(k)
            .query(&mut server.connection())
            .unwrap();
        assert_eq!(value, alice().to_string(), "the owner's digest");
        assert_eq!(value.len(), 64);
        assert!(!value.contains("alice"));
    }
    assert_eq!(
        store.owner(&handle).await.unwrap(),
        None,
        "the prefix keeps deployments apart"
    );
    assert_eq!(prefixed.owner(&handle).await.unwrap(), Some(alice()));
}

#[tokio::test]
async fn a_value_that_is_not_an_owner_is_malformed() {
    let server = RedisServer::start();
    let store = store(&server).await;
    let mut raw = server.connection();

    let plain = key("plain");
    redis::cmd("SET")
        .arg(plain.as_str())
        .arg("alice-subject")
        .query::<()>(&mut raw)
        .unwrap();
    let hash = key("hash");
    redis::cmd("HSET")
        .arg(hash.as_str())
        .arg("field")
        .arg("value")
        .query::<()>(&mut raw)
        .unwrap();

    for k in [&plain, &hash] {
        for result in [
            store.owner(k).await.map(|_| ()),
            store.claim(k, &alice(), HOUR).await.map(|_| ()),
        ] {
            match result {
                Err(StoreError::Malformed { key }) => assert_eq!(key, k.as_str()),
                other => panic!("{k:?}: expected Malformed, got {other:?}"),
            }
        }
    }
}

/// Runs `call`, asserting it fails with `Unavailable` within `bound`; returns the reason.
async fn unavailable_within<T: std::fmt::Debug>(
    bound: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> String {
    let start = Instant::now();
    let result = tokio::time::timeout(bound * 5, call)
        .await
        .expect("the call hung");
    let elapsed = start.elapsed();
    assert!(elapsed < bound, "took {elapsed:?}");
    match result {
        Err(StoreError::Unavailable { reason }) => {
            eprintln!("unavailable after {elapsed:?}: {reason}");
            reason
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn redis_down_fails_calls_fast_and_back_up_the_same_store_works_again() {
    let mut server = RedisServer::start();
    let store = quick_store(&server).await;
    let task = key("task-during-outage");
    assert_eq!(store.claim(&task, &alice(), HOUR).await.unwrap(), alice());

    server.stop();
    // Connection plus response timeout is 600 ms; twice that bounds each call generously.
    let bound = Duration::from_millis(1200);
    for _ in 0..3 {
        let reason = unavailable_within(bound, store.owner(&task)).await;
        let address = format!("127.0.0.1:{}", server.port());
        assert!(reason.contains(&address), "names the server: {reason}");
        assert!(!reason.contains("task-during-outage"), "{reason}");
        unavailable_within(bound, store.claim(&task, &bob(), HOUR)).await;
        unavailable_within(bound, store.release(&task)).await;
    }

    // Back, empty (no persistence): the same store reconnects by itself, the claim script is
    // loaded again, within a few calls.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(5);
    let owner = loop {
        match store.claim(&task, &bob(), HOUR).await {
            Ok(owner) => break owner,
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the store did not recover within 5 s: {e}"),
        }
    };
    assert_eq!(owner, bob(), "the restarted redis is empty");
    assert_eq!(store.owner(&task).await.unwrap(), Some(bob()));
}

#[tokio::test]
async fn a_redis_that_stops_answering_fails_calls_at_the_timeout_not_later() {
    let server = RedisServer::start();
    let store = quick_store(&server).await;
    let task = key("task-while-frozen");
    assert_eq!(store.claim(&task, &alice(), HOUR).await.unwrap(), alice());

    server.pause();
    let bound = Duration::from_millis(1200);
    let reason = unavailable_within(bound, store.owner(&task)).await;
    assert!(reason.contains("did not answer within"), "{reason}");
    assert!(
        reason.contains(&format!("127.0.0.1:{}", server.port())),
        "{reason}"
    );
    unavailable_within(bound, store.claim(&task, &bob(), HOUR)).await;

    server.resume();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match store.owner(&task).await {
            Ok(owner) => break assert_eq!(owner, Some(alice()), "nothing was lost"),
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the store did not recover within 5 s: {e}"),
        }
    }
    // The answers Redis sends late, once thawed, to the calls that timed out are not taken
    // for the answers to later calls.
    let other = key("claimed-after-the-thaw");
    assert_eq!(store.owner(&other).await.unwrap(), None);
    assert_eq!(store.claim(&other, &bob(), HOUR).await.unwrap(), bob());
    assert_eq!(store.owner(&task).await.unwrap(), Some(alice()));
}

#[tokio::test]
async fn a_redis_that_is_down_at_start_up_fails_the_build_without_hanging() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let reason = unavailable_within(
        Duration::from_millis(1200),
        RedisStore::builder(&url)
            .connection_timeout(Duration::from_millis(300))
            .response_timeout(Duration::from_millis(300))
            .build(),
    )
    .await;
    assert!(
        reason.contains(&format!("redis at 127.0.0.1:{}", server.port())),
        "{reason}"
    );
}

#[tokio::test]
async fn a_password_in_the_url_never_reaches_errors_or_debug_output() {
    let mut server = RedisServer::start();
    let url = format!("redis://:hunter2@127.0.0.1:{}", server.port());
    server.stop();
    let builder = RedisStore::builder(&url).connection_timeout(Duration::from_millis(300));
    assert!(!format!("{builder:?}").contains("hunter2"));
    let error = builder.build().await.expect_err("redis is down");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// A Redis with a memory limit and an eviction policy may drop live bindings: building a store
/// on it says so at `warn`, naming the fix; with `noeviction` it says nothing.
#[tokio::test(flavor = "current_thread")]
async fn a_redis_that_may_evict_bindings_is_named_at_build() {
    let (logs, _guard) = mcp_auth_tests::LogCapture::start();
    let redis = RedisServer::start();
    let mut connection = redis.connection();
    for (name, value) in [("maxmemory", "64mb"), ("maxmemory-policy", "noeviction")] {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query::<()>(&mut connection)
            .unwrap();
    }
    store(&redis).await;
    assert_eq!(logs.count("may evict bindings"), 0, "{}", logs.text());
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("volatile-lru")
        .query::<()>(&mut connection)
        .unwrap();
    store(&redis).await;
    let text = logs.text();
    assert_eq!(logs.count("may evict bindings"), 1, "{text}");
    assert!(
        text.contains("WARN") && text.contains("noeviction"),
        "{text}"
    );
}
