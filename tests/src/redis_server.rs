//! A real `redis-server` for the tests: its own process on a free loopback port, no config
//! file, no persistence, killed when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server may take to answer `PING`.
const READY_WITHIN: Duration = Duration::from_secs(5);

/// A `redis-server` process on `127.0.0.1`, killed on drop.
///
/// Panics, failing the test (never skipping it), when `redis-server` is not installed.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers `PING`.
    pub fn start() -> Self {
        // The port is free when picked but not held: another process may take it before the
        // server binds. Then the server exits, and another port is tried.
        for _ in 0..5 {
            let port = free_port();
            let mut server = Self {
                port,
                child: Some(spawn(port)),
            };
            if server.wait_ready() {
                return server;
            }
            server.stop();
        }
        panic!("redis-server did not start on a free loopback port in 5 tries");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port (the same across [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (as a crash would: no shutdown, no goodbye to clients) and waits until
    /// it is gone, so its port refuses connections. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already exited when `kill` fails; `wait` reaps it either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers `PING`.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Some(spawn(self.port));
        assert!(
            self.wait_ready(),
            "redis-server did not start again on port {} within {READY_WITHIN:?}",
            self.port
        );
    }

    /// Freezes the server (`SIGSTOP`): connections stay open, nothing answers, as with a
    /// Redis that hangs or a network that drops packets. [`resume`](Self::resume) thaws it.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a [`pause`](Self::pause)d server (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the test redis is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} the test redis: {status}");
    }

    /// A plain (synchronous) client connection, for tests that look at what Redis holds.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection_with_timeout(READY_WITHIN))
            .unwrap_or_else(|e| panic!("connect to the test redis at {}: {e}", self.url()))
    }

    /// Waits until the server answers `PING`; false when it exited or did not answer in time.
    fn wait_ready(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < READY_WITHIN {
            if let Some(child) = self.child.as_mut()
                && !matches!(child.try_wait(), Ok(None))
            {
                return false;
            }
            let pong = redis::Client::open(self.url())
                .and_then(|client| client.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
            if pong.is_ok_and(|pong| pong == "PONG") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("pick a free loopback port")
}

fn spawn(port: u16) -> Child {
    let port = port.to_string();
    Command::new("redis-server")
        .args(["--port", &port, "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                panic!(
                    "redis-server is not installed: the Redis store tests need a real server \
                     (`apt-get install redis-server`; .ci/run installs it)"
                )
            }
            panic!("start redis-server: {e}")
        })
}
