use mcp_auth::mcp_resource;

// Every problem of the attribute is reported in one compile, and the struct is still declared,
// so the rest of the crate (here `main`) sees no follow-up error.
#[mcp_resource(
    id = "http://mcp.example.com/mcp/",
    issuer = "https://auth.example.com?x",
    scopes = ["read:notes", "read:notes", "offline_access"],
    discovery = "oath",
    nmae = "Notes",
)]
pub struct Notes;

fn main() {
    let _notes = Notes;
}
