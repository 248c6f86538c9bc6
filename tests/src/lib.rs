//! Support code for the integration tests: a strict `WWW-Authenticate` parser and helpers that
//! serve an axum app on loopback.

pub mod challenge_parser;

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
