//! The RFC 9728 well-known route that serves each resource's metadata document.
//!
//! * `GET`/`HEAD` → `200`, `Content-Type: application/json`, the document built once,
//!   `Cache-Control` as configured, `Access-Control-Allow-Origin: *`. `OPTIONS` → `204` CORS
//!   preflight. Other methods → `405`.
//! * Each resource at its path-inserted location (RFC 9728 §3.1). When the server has exactly
//!   one resource, its document is also served at the root `/.well-known/oauth-protected-resource`
//!   for clients that only try the root; with several, the root answers `404` JSON.
//! * Never behind authentication: merge this router outside the bearer layer (clients read it
//!   before they have a token).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::cors::{add_public_headers, public_preflight};
use crate::notice::Notices;

/// A resource's metadata document, built once, and where it is served.
#[derive(Debug)]
pub(crate) struct Document {
    /// The resource identifier, for the operator's lines.
    pub(crate) id: String,
    pub(crate) bytes: Bytes,
    /// The path (and query) the document is served at (RFC 9728 §3.1).
    pub(crate) path: String,
    /// Whether the resource is its server's only one, so that its document is also served at
    /// the root well-known URL.
    pub(crate) sole: bool,
    pub(crate) cache_control: HeaderValue,
    pub(crate) notices: Arc<Notices>,
}

impl Document {
    /// The routable part of the document's path (a query is not routable, but RFC 9728 §3.1
    /// allows one).
    pub(crate) fn route_path(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// Whether `path` is where the document is served.
    pub(crate) fn is_path(&self, path: &str) -> bool {
        path == self.route_path()
            || (self.sole && path == mcp_auth_rules::PROTECTED_RESOURCE_WELL_KNOWN)
    }

    /// The `200` answer with the document.
    pub(crate) fn response(&self) -> Response {
        self.notices.metadata_served(&self.id);
        let mut response = Response::new(Body::from(self.bytes.clone()));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, self.cache_control.clone());
        add_public_headers(headers);
        response
    }
}

fn document_route<S: Clone + Send + Sync + 'static>(document: Arc<Document>) -> MethodRouter<S> {
    get(move || {
        let document = Arc::clone(&document);
        async move { document.response() }
    })
    .options(|request_headers: HeaderMap| async move { public_preflight(&request_headers) })
}

fn not_found() -> Response {
    let mut response = (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error": "not_found",
            "error_description": "This server hosts several protected resources; fetch the metadata at the path-inserted URL of the resource (RFC 9728 §3.1)",
        })),
    )
        .into_response();
    add_public_headers(response.headers_mut());
    response
}

/// What the root well-known URL serves.
pub(crate) enum Root {
    /// The document of the server's one resource.
    Document(Arc<Document>),
    /// `404`: the server has several resources.
    NotFound,
    /// Nothing: another router serves it.
    None,
}

/// The routes of `documents`, and of the root document as `root` says.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(
    documents: &[Arc<Document>],
    root: Root,
) -> Router<S> {
    let mut router = Router::new();
    let root_path = mcp_auth_rules::PROTECTED_RESOURCE_WELL_KNOWN;
    for document in documents {
        router = router.route(document.route_path(), document_route(Arc::clone(document)));
        Arc::clone(&document.notices).check_layer_soon(&document.id);
    }
    if documents.iter().any(|d| d.route_path() == root_path) {
        return router;
    }
    match root {
        Root::Document(only) => router.route(root_path, document_route(only)),
        Root::NotFound => router.route(
            root_path,
            get(|| async { not_found() })
                .options(|h: HeaderMap| async move { public_preflight(&h) }),
        ),
        Root::None => router,
    }
}
