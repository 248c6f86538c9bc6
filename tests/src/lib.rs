//! Support code for the integration tests: a strict `WWW-Authenticate` parser, helpers that
//! serve an axum app on loopback, and a real `redis-server` ([`RedisServer`]).

pub mod challenge_parser;
pub mod redis_server;

pub use redis_server::RedisServer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A loopback listener on a random port and its origin (`http://127.0.0.1:PORT`), bound first
/// so that the app can be configured with its own public URL.
pub async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind a loopback port");
    let addr: SocketAddr = listener.local_addr().expect("local address");
    (listener, format!("http://{addr}"))
}

/// Serves `app` on `listener` until the test's runtime ends.
pub fn spawn(listener: tokio::net::TcpListener, app: axum::Router) {
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("test server runs");
    });
}

/// Counts how often a handler ran, to prove it did not run for rejected requests (RS-33).
#[derive(Debug, Clone, Default)]
pub struct Spy(Arc<AtomicUsize>);

impl Spy {
    /// Records one call.
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// The number of calls so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Captures the log lines written while it is the current thread's default subscriber (with a
/// current-thread runtime, that includes every task the test spawns).
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Starts capturing every level on this thread; capture ends when the guard is dropped.
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// What was written so far, emptying the buffer (long-running tests scan logs as they go
    /// instead of keeping them all).
    pub fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// How many lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.text().lines().filter(|l| l.contains(needle)).count()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends `request` as raw bytes to the server at `origin` (`http://host:port`) and returns the
/// response's status code (0 when the server closed without answering). For requests no HTTP
/// client library sends: repeated or missing `Host`, broken framing. With `close_write`, the
/// write half is shut after the bytes (a truncated body ends there).
pub async fn raw_status(origin: &str, request: &[u8], close_write: bool) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = origin.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the test server");
    stream.write_all(request).await.expect("send the request");
    if close_write {
        stream.shutdown().await.expect("close the write half");
    }
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf)).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                response.extend_from_slice(&buf[..n]);
                if response.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// The JSON-RPC response in an MCP server's answer: the body itself for JSON, the `data:` event
/// that carries an `id` for an event stream.
pub async fn rpc_result(response: reqwest::Response) -> serde_json::Value {
    let is_sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let body = response.text().await.unwrap();
    if !is_sse {
        return serde_json::from_str(&body).unwrap();
    }
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<serde_json::Value>(data.trim()).ok())
        .find(|message| message.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC response in the event stream: {body}"))
}
