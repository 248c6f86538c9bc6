use mcp_auth::mcp_resource;

#[mcp_resource(id = "https://MCP.Example.com/mcp", issuer = "https://auth.example.com")]
pub struct UpperCaseHost;

#[mcp_resource(id = "https://mcp.example.com:443/mcp", issuer = "https://auth.example.com")]
pub struct DefaultPort;

#[mcp_resource(id = "https://mcp.example.com/mcp/", issuer = "https://auth.example.com")]
pub struct TrailingSlash;

fn main() {}
