//! Requirements that name no operation the server serves: a template given as an exact URI, a
//! resource requirement on a tool, a requirement on `read_resource` that names no resource, and
//! one on a method that serves nothing.
use mcp_auth::{mcp_resource, tool_scopes};
use rmcp::model::{ReadResourceRequestParams, ReadResourceResponse};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_router};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes"],
    roles = ["notes-admin"],
)]
pub struct Notes;

pub struct NotesServer;

#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    #[tool(description = "List notes")]
    #[mcp_auth::requires_scope("read:notes", uri = "notes://stats")]
    async fn list_notes(&self) -> String {
        String::new()
    }

    #[mcp_auth::requires_role("notes-admin")]
    async fn helper(&self) -> String {
        String::new()
    }
}

#[tool_scopes(Notes, fn_name = resource_scopes)]
impl ServerHandler for NotesServer {
    #[mcp_auth::requires_scope("read:notes", uri = "notes://note/{id}")]
    #[mcp_auth::requires_scope("read:notes")]
    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        Err(ErrorData::resource_not_found(request.uri, None))
    }
}

fn main() {
    let _ = (NotesServer::tool_scopes(), NotesServer::resource_scopes());
}
