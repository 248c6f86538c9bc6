use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use mcp_auth::{Auth, mcp_resource, requires_scope};
use mcp_auth::__private::ScopeSet;

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes", "write:notes", "admin"],
)]
pub struct Notes;

mod api {
    use super::*;

    /// Extractors before and after `Auth<_>`; a body extractor last.
    #[requires_scope("write:notes")]
    pub(crate) async fn update(
        Path(id): Path<u32>,
        headers: HeaderMap,
        auth: Auth<Notes>,
        body: String,
    ) -> Result<String, StatusCode> {
        let _ = (headers, auth.scopes());
        Ok(format!("{id}: {body}"))
    }

    /// The resource named first, no `Auth` argument.
    #[requires_scope(Notes, "admin")]
    pub async fn stats() -> &'static str {
        "ok"
    }

    /// The keyed form, with a path.
    #[requires_scope(resource = crate::Notes, "read:notes", "admin")]
    pub async fn export(headers: HeaderMap) -> String {
        format!("{}", headers.len())
    }
}

/// A generic handler keeps its generics and where clause.
#[requires_scope("read:notes")]
async fn generic<T>(_auth: Auth<Notes>) -> String
where
    T: Default + ToString,
{
    T::default().to_string()
}

#[requires_scope("read:notes")]
async fn r#type(_auth: Auth<Notes>) -> &'static str {
    "raw identifiers work"
}

fn main() {
    let _app: Router = Router::new()
        .route("/notes/{id}", post(api::update))
        .route("/stats", get(api::stats))
        .route("/export", get(api::export))
        .route("/generic", get(generic::<u8>))
        .route("/type", get(r#type));
    assert_eq!(api::__mcp_auth_scopes_update::SCOPES, ["write:notes"]);
    assert_eq!(api::__mcp_auth_scopes_export::SCOPES, ["read:notes", "admin"]);
    assert_eq!(__mcp_auth_scopes_type::SCOPES, ["read:notes"]);
}
