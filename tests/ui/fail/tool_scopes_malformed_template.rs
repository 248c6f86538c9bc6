use mcp_auth::{mcp_resource, tool_scopes};
use rmcp::model::{ReadResourceRequestParams, ReadResourceResponse};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

#[mcp_resource(
    id = "https://mcp.example.com/mcp",
    issuer = "https://auth.example.com",
    scopes = ["read:notes"],
)]
pub struct Notes;

pub struct NotesServer;

#[tool_scopes(Notes, fn_name = resource_scopes)]
impl ServerHandler for NotesServer {
    #[mcp_auth::requires_scope("read:notes", uri_template = "notes://note/{id")]
    #[mcp_auth::requires_scope("read:notes", uri_template = "notes://note/{i-d}")]
    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        Err(ErrorData::resource_not_found(request.uri, None))
    }
}

fn main() {
    let _ = NotesServer::resource_scopes();
}
