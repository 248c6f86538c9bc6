//! The notes MCP server: an rmcp streamable-HTTP server whose every operation is authorized:
//! tools, a prompt, a resource and a resource template, by scope and by role.
//!
//! | operation | needs | does |
//! |---|---|---|
//! | tool `about` | nothing: public | what the server is (no token needed) |
//! | tool `whoami` | a valid token | returns the caller's subject, client id and scopes (JSON) |
//! | tool `list_notes` | `read:notes` | lists the caller's notes |
//! | tool `create_note` | `write:notes` | adds a note (`{"text": ".."}`) to the caller's notes |
//! | tool `backup_notes` | `read:notes` | sends the caller's notes to the backup API ([`crate::backup`]) with a token exchanged for its audience (RFC 8693); returns its receipt |
//! | tool `export_notes` | `read:notes` | the caller's notes as JSON; run as a task for clients that declare the Tasks extension |
//! | tool `draft_note` | `write:notes` | keeps a draft (`{"text": ".."}`), returns a state handle for it (`{"draft": ".."}`) |
//! | tool `publish_draft` | `write:notes` | turns the caller's draft (`{"draft": ".."}`) into a note |
//! | tool `purge_notes` | `write:notes` and the role `notes-admin` | deletes the caller's notes |
//! | prompt `summarize_notes` | `read:notes` | asks the model to summarize the caller's notes |
//! | resource `notes://stats` | `read:notes` | how many notes the caller has (JSON) |
//! | template `notes://note/{id}` | `read:notes` | the caller's note number `id` (from 1) |
//!
//! **Lists show what the caller may use.** `tools/list`, `prompts/list`, `resources/list` and
//! `resources/templates/list` leave out what the caller's token would be refused: a `read:notes`
//! token sees `list_notes`, `export_notes`, `whoami`, `about`, not `create_note` or `purge_notes`.
//!
//! **Roles.** `purge_notes` needs the role `notes-admin`, read from the token's `roles` claim
//! (`#[mcp_resource(roles = [...])]` declares it). A token without it is refused `403` before the
//! tool runs, with no scope challenge: re-authorizing for more scopes would not grant a role.
//!
//! **Tasks and handles are the caller's.** A task `export_notes` creates, and a draft handle
//! `draft_note` mints, are bound to the caller by mcp-auth (the task by the layer, the handle by
//! [`state_handles`]): another user presenting them is refused, on every instance that shares the
//! resource's binding store (`NOTES_REDIS_URL` in the example).
//!
//! **Base scope: none.** Every request to `/mcp` needs a valid token for this resource
//! (`initialize`, `tools/list`, `whoami`, ...); the layer adds the per-tool scopes of
//! `NotesServer::tool_scopes()` for `tools/call` and answers `403 insufficient_scope` *before* the tool runs
//! when the token lacks them, so MCP clients step up (a JSON-RPC error inside a `200` would not
//! make them re-authorize). Requests without a token get `401` naming both scopes, so a client
//! that asks for what the challenge says gets a token for every tool at once.
//!
//! **Stateless transport.** The server keeps no per-connection state (notes live in
//! [`NoteStore`], keyed by the token's issuer and subject), so rmcp runs without sessions
//! (`legacy_session_mode: false`) and answers plain JSON (`json_response: true`): a single
//! `POST /mcp` with `tools/list` works, from curl too. MCP clients initialize as usual.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_auth_examples::notes_server::{Notes, app};
//!
//! let notes = Notes::builder().build().await?;            // NOTES_ISSUER, NOTES_RESOURCE_ID
//! let listener = tokio::net::TcpListener::bind(notes.listen_address()).await?;
//! axum::serve(listener, app(&notes)).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use std::time::Duration;

use mcp_auth::mcp::{McpAccess, Operation};
use mcp_auth::rmcp::{auth_info, downstream_token, handle_error, state_handles};
use mcp_auth::{AuthInfo, ResourceAuth, mcp_resource, requires_role, requires_scope, tool_scopes};
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock, CreateTaskResult,
    GetPromptResult, GetTaskParams, GetTaskResult, Implementation, ListResourceTemplatesResult,
    ListResourcesResult, PaginatedRequestParams, PromptMessage, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role,
    ServerCapabilities, ServerConfig, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::task_manager::{TaskManager, TaskOptions};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{
    ErrorData, RoleServer, ServerHandler, prompt, prompt_handler, prompt_router, schemars, tool,
    tool_handler, tool_router,
};
use serde::Deserialize;
use serde_json::json;

/// The protected resource: the MCP endpoint and the authorization server it trusts.
///
/// `NOTES_RESOURCE_ID` is the public URL of the MCP endpoint (its path is where the server
/// listens); `NOTES_ISSUER` the issuer identifier of the authorization server, discovered at
/// start-up (RFC 8414 / OpenID Connect). The default issuer is the development authorization
/// server that `cargo run --example notes` starts on [`DEV_ISSUER_PORT`].
#[mcp_resource(
    id = env("NOTES_RESOURCE_ID", default = "http://127.0.0.1:3000/mcp"),
    issuer = env("NOTES_ISSUER", default = "http://127.0.0.1:3002"),
    scopes = ["read:notes", "write:notes"],
    roles = ["notes-admin"],
    name = "Notes",
)]
pub struct Notes;

/// The role `purge_notes` needs, read from the token's `roles` claim (the default
/// `role_claim`).
pub const ADMIN_ROLE: &str = "notes-admin";

/// The resource `notes://stats`.
pub const STATS_URI: &str = "notes://stats";

/// The resource template of single notes.
pub const NOTE_TEMPLATE: &str = "notes://note/{id}";

/// The port of the development authorization server started by the example: the default
/// `NOTES_ISSUER` is `http://127.0.0.1:3002`.
pub const DEV_ISSUER_PORT: u16 = 3002;

/// The user the development authorization server signs in (the `sub` of its tokens).
pub const DEV_USER: &str = "dev-user";

/// A user: the issuer and subject of the token (the client id for tokens without a subject).
type Owner = (String, String);

/// Notes per user, and drafts by handle, shared by every request (and, in the two-instance
/// test, by both instances: the database of a real deployment).
#[derive(Debug, Clone, Default)]
pub struct NoteStore {
    notes: Arc<Mutex<HashMap<Owner, Vec<String>>>>,
    drafts: Arc<Mutex<HashMap<String, String>>>,
    /// Where `backup_notes` sends the notes (default [`BACKUP_URL`](crate::backup::BACKUP_URL)).
    backup: Option<Arc<str>>,
}

impl NoteStore {
    /// This store, backed up by `backup_notes` to the backup API at `url` (its resource
    /// identifier, the audience of the exchanged token).
    pub fn with_backup(mut self, url: &str) -> Self {
        self.backup = Some(Arc::from(url));
        self
    }

    /// The backup API's URL.
    pub fn backup_url(&self) -> &str {
        self.backup.as_deref().unwrap_or(crate::backup::BACKUP_URL)
    }

    fn key(auth: &AuthInfo) -> Owner {
        (
            auth.issuer().to_owned(),
            auth.subject().or(auth.client_id()).unwrap_or("").to_owned(),
        )
    }

    /// The notes of the token's user.
    pub fn list(&self, auth: &AuthInfo) -> Vec<String> {
        let notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        notes.get(&Self::key(auth)).cloned().unwrap_or_default()
    }

    /// Adds a note for the token's user.
    pub fn add(&self, auth: &AuthInfo, text: String) {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        notes.entry(Self::key(auth)).or_default().push(text);
    }

    /// Deletes the notes of the token's user; how many there were.
    pub fn purge(&self, auth: &AuthInfo) -> usize {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        notes.remove(&Self::key(auth)).map_or(0, |n| n.len())
    }

    fn keep_draft(&self, handle: &str, text: String) {
        let mut drafts = self.drafts.lock().unwrap_or_else(|e| e.into_inner());
        drafts.insert(handle.to_owned(), text);
    }

    fn take_draft(&self, handle: &str) -> Option<String> {
        let mut drafts = self.drafts.lock().unwrap_or_else(|e| e.into_inner());
        drafts.remove(handle)
    }
}

/// The arguments of `publish_draft`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Draft {
    /// The handle `draft_note` returned.
    pub draft: String,
}

/// How long a draft handle stays valid.
const DRAFT_TTL: Duration = Duration::from_secs(3600);

/// The arguments of `create_note`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct NewNote {
    /// The text of the note.
    pub text: String,
}

/// The rmcp server: one instance per request (the transport is stateless), sharing the store
/// and the running tasks.
#[derive(Clone)]
pub struct NotesServer {
    store: NoteStore,
    tasks: TaskManager,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

impl NotesServer {
    /// A server over `store`, running its tasks in `tasks`.
    pub fn new(store: NoteStore, tasks: TaskManager) -> Self {
        Self {
            store,
            tasks,
            tool_router: Self::tool_router(),
            prompt_router: Self::prompt_router(),
        }
    }

    /// What every operation of the server requires, for the layer: what `#[tool_scopes]`
    /// collected from the tools, the prompt and the resources, and `about`, public.
    pub fn access() -> McpAccess {
        Self::tool_scopes()
            .merge(Self::prompt_scopes())
            .merge(Self::resource_scopes())
            .public(Operation::tool("about"))
    }
}

/// The prompt: `#[tool_scopes]` on a second impl block (`fn_name` names its function).
#[tool_scopes(Notes, fn_name = prompt_scopes)]
#[prompt_router]
impl NotesServer {
    /// Asks the model to summarize the caller's notes.
    #[prompt(
        name = "summarize_notes",
        description = "Summarize your notes (needs the read:notes scope)"
    )]
    #[requires_scope("read:notes")]
    async fn summarize_notes(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        let notes = self.store.list(&auth);
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            format!("Summarize these notes:\n{}", notes.join("\n")),
        )])
        .with_description("A summary of your notes"))
    }
}

/// `#[tool_scopes(Notes)]` collects the `#[requires_scope]` of the tools into
/// `NotesServer::tool_scopes()`, checked at compile time against the scopes `Notes` declares; the
/// layer enforces them before the tool runs.
#[tool_scopes(Notes)]
#[tool_router]
impl NotesServer {
    /// Lists the caller's notes.
    #[tool(description = "List your notes (needs the read:notes scope)")]
    #[requires_scope("read:notes")]
    async fn list_notes(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        Ok(CallToolResult::structured(
            json!({ "notes": self.store.list(&auth) }),
        ))
    }

    /// Adds a note for the caller.
    #[tool(description = "Create a note (needs the write:notes scope)")]
    #[requires_scope("write:notes")]
    async fn create_note(
        &self,
        Parameters(note): Parameters<NewNote>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        self.store.add(&auth, note.text);
        Ok(CallToolResult::success(vec![ContentBlock::text("created")]))
    }

    /// Sends the caller's notes to the backup API, with a token exchanged for its audience on
    /// the caller's behalf (RFC 8693): never the caller's own token, whose audience is this
    /// server. Returns the API's receipt.
    #[tool(
        description = "Back your notes up to the backup API, with a token exchanged for it (needs the read:notes scope); returns its receipt"
    )]
    #[requires_scope("read:notes")]
    async fn backup_notes(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        let url = self.store.backup_url();
        let token = downstream_token(&ctx, url, &[]).await?;
        let failed = |e: reqwest::Error| {
            ErrorData::internal_error(format!("the backup API at {url}: {e}"), None)
        };
        let response = token
            .authorize(reqwest::Client::new().post(url))
            .json(&json!({ "notes": self.store.list(&auth) }))
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let receipt: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(ErrorData::internal_error(
                format!("the backup API answered {status}"),
                None,
            ));
        }
        Ok(CallToolResult::structured(receipt))
    }

    /// The caller's notes as JSON: a task for clients that declared the Tasks extension (poll
    /// it with `tasks/get`), an immediate result for the others.
    #[tool(
        description = "Export your notes (needs the read:notes scope); runs as a task for clients with the Tasks extension"
    )]
    #[requires_scope("read:notes")]
    async fn export_notes(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let auth = auth_info(&ctx)?;
        let notes = self.store.list(&auth);
        let export = move || CallToolResult::structured(json!({ "notes": notes }));
        let tasks_declared = ctx
            .client_capabilities()
            .is_some_and(|caps| caps.supports_tasks());
        if !tasks_declared {
            return Ok(export().into());
        }
        let task = self.tasks.spawn(
            TaskOptions::new()
                .with_ttl_ms(600_000)
                .with_poll_interval_ms(50),
            move |_ctx| Box::pin(async move { Ok(export()) }),
        );
        Ok(CallToolResponse::Task(CreateTaskResult::new(task)))
    }

    /// Keeps a draft and returns a handle to it, bound to the caller.
    #[tool(
        description = "Keep a draft note (needs the write:notes scope); returns a handle for publish_draft"
    )]
    #[requires_scope("write:notes")]
    async fn draft_note(
        &self,
        Parameters(note): Parameters<NewNote>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let handle = state_handles(&ctx)?
            .mint(DRAFT_TTL)
            .await
            .map_err(handle_error)?;
        self.store.keep_draft(&handle, note.text);
        Ok(CallToolResult::structured(json!({ "draft": handle })))
    }

    /// Turns the caller's draft into a note.
    #[tool(description = "Publish a draft made by draft_note (needs the write:notes scope)")]
    #[requires_scope("write:notes")]
    async fn publish_draft(
        &self,
        Parameters(Draft { draft }): Parameters<Draft>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        let handles = state_handles(&ctx)?;
        handles.check(&draft).await.map_err(handle_error)?;
        let text = self
            .store
            .take_draft(&draft)
            .ok_or_else(|| ErrorData::invalid_params("the draft was published already", None))?;
        handles.release(&draft).await.map_err(handle_error)?;
        self.store.add(&auth, text);
        Ok(CallToolResult::success(vec![ContentBlock::text(
            "published",
        )]))
    }

    /// Deletes every note of the caller: needs `write:notes` and the role `notes-admin`.
    #[tool(
        description = "Delete all your notes (needs the write:notes scope and the notes-admin role)"
    )]
    #[requires_scope("write:notes")]
    #[requires_role("notes-admin")]
    async fn purge_notes(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        let purged = self.store.purge(&auth);
        Ok(CallToolResult::structured(json!({ "purged": purged })))
    }

    /// What the server is: public, no token needed.
    #[tool(description = "What this server is (public: no token needed)")]
    async fn about(&self) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::success(vec![ContentBlock::text(
            "notes: personal notes behind OAuth 2.1 (mcp-auth)",
        )]))
    }

    /// Who the token says the caller is.
    #[tool(description = "The subject, client id and scopes of your access token")]
    async fn whoami(&self, ctx: RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
        let auth = auth_info(&ctx)?;
        Ok(CallToolResult::structured(json!({
            "subject": auth.subject(),
            "client_id": auth.client_id(),
            "scopes": auth.scopes(),
        })))
    }
}

/// The resources' requirements are declared on `read_resource`, which checks them again before
/// its body runs (as the tools' guards do); `#[tool_scopes]` collects them into
/// `NotesServer::resource_scopes()`.
#[tool_scopes(Notes, fn_name = resource_scopes)]
#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for NotesServer {
    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(STATS_URI, "stats").with_description("How many notes you have"),
        ]))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(NOTE_TEMPLATE, "note")
                .with_description("One of your notes, from 1"),
        ]))
    }

    /// The caller's stats and notes.
    #[requires_scope("read:notes", uri = "notes://stats")]
    #[requires_scope("read:notes", uri_template = "notes://note/{id}")]
    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let auth = auth_info(&ctx)?;
        let notes = self.store.list(&auth);
        let text = if request.uri == STATS_URI {
            json!({ "notes": notes.len() }).to_string()
        } else if let Some(id) = request.uri.strip_prefix("notes://note/") {
            // Only the URIs `notes://note/{id}` covers: digits. (`+1` parses as a number, but it
            // is another URI, one the template's requirement does not cover.)
            let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
            let index = digits
                .then(|| id.parse::<usize>().ok())
                .flatten()
                .and_then(|n| n.checked_sub(1));
            match index.and_then(|i| notes.get(i)) {
                Some(note) => note.clone(),
                None => {
                    return Err(ErrorData::resource_not_found(format!("no note {id}"), None));
                }
            }
        } else {
            return Err(ErrorData::resource_not_found("no such resource", None));
        };
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, request.uri)]).into())
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        // Only the caller's own tasks reach this point: the layer refused the others.
        Ok(GetTaskResult::new(self.tasks.get_task(&request.task_id)?))
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.tasks
            .update_task(&request.task_id, request.input_responses)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.tasks.cancel_task(&request.task_id)
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new("notes", env!("CARGO_PKG_VERSION")))
        .with_instructions("Personal notes. list_notes needs read:notes, create_note write:notes.")
    }
}

/// The whole application: the MCP endpoint at the resource's path behind the bearer layer in
/// MCP mode, and the metadata document (RFC 9728) outside it, in one call.
///
/// rmcp's DNS-rebinding protection (`allowed_hosts`) accepts the host of the resource
/// identifier, plus the loopback names when that host is a loopback address.
pub fn app(notes: &ResourceAuth<Notes>) -> Router {
    app_with_store(notes, NoteStore::default())
}

/// The notes server with protocol sessions for clients of the revisions before 2026-07-28
/// (2025-06-18, 2025-11-25): rmcp keeps each session's negotiated capabilities, so those
/// clients can run `export_notes` as a task too. Clients of 2026-07-28 are served without
/// sessions, as by [`app`]. The layer binds every session, like every task, to its user.
pub fn app_with_sessions(notes: &ResourceAuth<Notes>) -> Router {
    let store = NoteStore::default();
    let tasks = TaskManager::new();
    let mcp = StreamableHttpService::new(
        move || Ok(NotesServer::new(store.clone(), tasks.clone())),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_json_response(true)
            .with_allowed_hosts(notes.allowed_hosts().to_vec()),
    );
    notes.mcp_router(mcp, NotesServer::access())
}

/// [`app`] over an existing store: instances behind one load balancer share their data (here
/// `store`) and their bindings (the resource's binding store), and nothing else.
pub fn app_with_store(notes: &ResourceAuth<Notes>, store: NoteStore) -> Router {
    let tasks = TaskManager::new();
    let mcp = StreamableHttpService::new(
        move || Ok(NotesServer::new(store.clone(), tasks.clone())),
        Arc::new(NeverSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_allowed_hosts(notes.allowed_hosts().to_vec()),
    );
    notes.mcp_router(mcp, NotesServer::access())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scoped_tool_exists_in_the_router() {
        let mut tools: Vec<String> = NotesServer::new(NoteStore::default(), TaskManager::new())
            .tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.into_owned())
            .collect();
        tools.sort();
        assert_eq!(
            tools,
            [
                "about",
                "backup_notes",
                "create_note",
                "draft_note",
                "export_notes",
                "list_notes",
                "publish_draft",
                "purge_notes",
                "whoami"
            ]
        );
    }

    #[test]
    fn every_operation_needs_its_scopes_and_roles() {
        let access = NotesServer::access();
        let call = |name: &str| {
            let needs = access.needs("tools/call", &json!({ "name": name }));
            (needs.scopes().to_vec(), needs.roles().to_vec())
        };
        let read = (vec!["read:notes"], vec![]);
        let write = (vec!["write:notes"], vec![]);
        assert_eq!(call("list_notes"), read);
        assert_eq!(call("create_note"), write);
        assert_eq!(call("export_notes"), read);
        assert_eq!(call("draft_note"), write);
        assert_eq!(call("publish_draft"), write);
        assert_eq!(call("purge_notes"), (vec!["write:notes"], vec![ADMIN_ROLE]));
        assert_eq!(call("whoami"), (vec![], vec![]));
        let prompt = access.needs("prompts/get", &json!({ "name": "summarize_notes" }));
        assert_eq!(prompt.scopes(), ["read:notes"]);
        for uri in [STATS_URI, "notes://note/1"] {
            let read = access.needs("resources/read", &json!({ "uri": uri }));
            assert_eq!(read.scopes(), ["read:notes"], "{uri}");
        }
        assert!(access.is_public("tools/call", &json!({ "name": "about" })));
        assert!(!access.is_public("tools/list", &json!({})));
    }
}
