//! Expansion snapshots: what the macros write for a representative resource and handlers,
//! pretty-printed, compared with `tests/snapshots/*.rs`. Run with `UPDATE_SNAPSHOTS=1` to
//! rewrite them after an intended change, then review the diff.

use std::path::PathBuf;

use proc_macro2::TokenStream;
use quote::quote;

fn pretty(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(e) => panic!("the expansion is not a valid file: {e}\n{tokens}"),
    }
}

fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.rs"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "the expansion differs from {}; run with UPDATE_SNAPSHOTS=1 and review the diff\n--- actual ---\n{actual}",
        path.display()
    );
}

#[test]
fn resource_with_literals() {
    let out = crate::resource::mcp_resource(
        quote! {
            id = "https://mcp.example.com/mcp",
            issuer = "https://auth.example.com/oidc",
            scopes = ["read:notes", "write:notes"],
            name = "Notes",
            documentation = "https://docs.example.com/notes",
        },
        quote! {
            /// The notes API.
            pub struct Notes;
        },
    );
    assert_snapshot("resource_literal", &pretty(out));
}

#[test]
fn resource_from_env() {
    let out = crate::resource::mcp_resource(
        quote! {
            id = env("NOTES_RESOURCE_ID", default = "http://127.0.0.1:3000/mcp"),
            issuers = ["https://auth.example.com/oidc", env("NOTES_SECOND_ISSUER")],
            scopes = ["read:notes"],
            discovery = "oidc",
            accept_jwt_typ = true,
            lenient_claims = true,
            scope_claim = "scp",
            roles = ["notes-admin"],
            role_claim = "realm_access.roles",
        },
        quote!(
            pub(crate) struct Notes;
        ),
    );
    assert_snapshot("resource_env", &pretty(out));
}

#[test]
fn handler() {
    let out = crate::requires_scope::requires(
        crate::scopes::Kind::Scope,
        quote!("write:notes"),
        quote! {
            /// Creates a note.
            pub async fn create_note(auth: Auth<Notes>, Json(note): Json<NewNote>) -> StatusCode {
                StatusCode::CREATED
            }
        },
    );
    assert_snapshot("requires_scope_handler", &pretty(out));
}

#[test]
fn tool_scopes() {
    let out = crate::tool_scopes::tool_scopes(
        quote!(Notes),
        quote! {
            #[tool_router]
            impl NotesServer {
                #[tool(description = "List notes")]
                #[requires_scope("read:notes")]
                async fn list_notes(&self, ctx: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
                    self.list(ctx).await
                }

                #[tool(name = "create", description = "Create a note")]
                #[requires_scope(Notes, "write:notes", "read:notes")]
                async fn create_note(&self) -> Result<CallToolResult, McpError> {
                    self.create().await
                }

                #[prompt(name = "summarise")]
                #[requires_scope("read:notes")]
                async fn summary(&self) -> Vec<PromptMessage> {
                    Vec::new()
                }

                #[tool(description = "Delete every note")]
                #[requires_scope("write:notes")]
                #[requires_role("notes-admin")]
                async fn purge_notes(&self) -> Result<CallToolResult, McpError> {
                    self.purge().await
                }

                #[tool(description = "Who am I")]
                async fn whoami(&self) -> Result<CallToolResult, McpError> {
                    self.me().await
                }
            }
        },
    );
    assert_snapshot("tool_scopes", &pretty(out));
}

#[test]
fn tool_scopes_on_resources() {
    let out = crate::tool_scopes::tool_scopes(
        quote!(Notes, fn_name = resource_scopes),
        quote! {
            #[tool_handler]
            impl ServerHandler for NotesServer {
                #[requires_scope("read:notes", uri = "notes://stats")]
                #[requires_scope("read:notes", uri_template = "notes://note/{id}")]
                #[requires_role("notes-admin", uri = "notes://stats")]
                async fn read_resource(
                    &self,
                    request: ReadResourceRequestParams,
                    ctx: RequestContext<RoleServer>,
                ) -> Result<ReadResourceResponse, McpError> {
                    self.read(request, ctx).await
                }

                async fn subscribe(
                    &self,
                    request: SubscribeRequestParams,
                    _ctx: RequestContext<RoleServer>,
                ) -> Result<(), McpError> {
                    Ok(())
                }
            }
        },
    );
    assert_snapshot("tool_scopes_resources", &pretty(out));
}

#[test]
fn requires_scope_on_a_method_needs_tool_scopes() {
    let out = crate::requires_scope::requires(
        crate::scopes::Kind::Scope,
        quote!(Notes, "read:notes"),
        quote! {
            async fn list_notes(&self) -> Result<CallToolResult, McpError> {
                self.list().await
            }
        },
    );
    let text = out.to_string();
    assert!(text.starts_with("async fn list_notes"), "{text}");
    assert!(text.contains("tool_scopes"), "{text}");
    assert_eq!(text.matches("compile_error").count(), 1, "{text}");
}

#[test]
fn errors_keep_the_item() {
    let out = crate::resource::mcp_resource(
        quote!(issuer = "http://auth.example.com"),
        quote!(
            pub struct Notes;
        ),
    );
    let text = out.to_string();
    assert!(text.starts_with("pub struct Notes ;"), "{text}");
    assert_eq!(text.matches("compile_error").count(), 2, "{text}");
}
