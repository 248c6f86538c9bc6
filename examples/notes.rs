//! The notes MCP server ([`mcp_auth_examples::notes_server`]), protected by OAuth 2.1.
//!
//! ```text
//! cargo run --example notes
//! ```
//!
//! With no configuration it starts the development authorization server
//! (`mcp_auth_dev::AuthorizationServer`) at `http://127.0.0.1:3002` (a fixed port, so that
//! clients which remember the issuer find it again after a restart), with dynamic client
//! registration and automatic consent as the user `dev-user`: MCP Inspector and Claude Code
//! complete the whole OAuth flow against it without a login page. The MCP endpoint listens at
//! `http://127.0.0.1:3000/mcp`. It prints the URLs, a token with `read:notes` (as an
//! `export TOKEN=...` line) and curl lines that use `$TOKEN`.
//!
//! To approve each sign-in on the development server's consent page (client name, scopes,
//! redirect URI, resources; Approve or Deny) instead of automatically, set `NOTES_CONSENT=page`
//! (`auto`, the default, skips the page):
//!
//! ```text
//! NOTES_CONSENT=page cargo run --example notes
//! ```
//!
//! The development server keeps its keys and registered clients in memory: after a restart,
//! clients holding an old token or client id have to authenticate again (Claude Code: `/mcp`,
//! then "Authenticate"; MCP Inspector: "Clear OAuth State").
//!
//! To use a real authorization server, set its issuer identifier (copied byte for byte from its
//! discovery document) and the public URL of the MCP endpoint:
//!
//! ```text
//! NOTES_ISSUER=https://your-tenant.example.com NOTES_RESOURCE_ID=https://mcp.example.com/mcp \
//!     NOTES_BIND=0.0.0.0:3000 cargo run --example notes
//! ```
//!
//! Both are checked at start-up with the rules the macro applies to literals (https or
//! loopback, canonical form, ...), and the issuer is discovered (RFC 8414 / OpenID Connect);
//! any problem stops the server with a message naming the variable. `NOTES_BIND` is the listening
//! address when it differs from the host and port of `NOTES_RESOURCE_ID` (behind a proxy).
//!
//! For an authorization server that issues opaque access tokens (not JWTs), give the
//! resource server's client credentials at that server; tokens that are not JWTs are then
//! verified by introspection (RFC 7662) at the `introspection_endpoint` of its metadata,
//! authenticating with `client_secret_basic`:
//!
//! ```text
//! NOTES_ISSUER=https://your-tenant.example.com NOTES_RESOURCE_ID=https://mcp.example.com/mcp \
//!     NOTES_INTROSPECTION_CLIENT_ID=notes-rs NOTES_INTROSPECTION_CLIENT_SECRET=... \
//!     cargo run --example notes
//! ```
//!
//! With an authorization server that authenticates introspection callers by `private_key_jwt`
//! (ZITADEL, Okta), give the resource server's private key (a JWK with `kid` and `alg`) instead
//! of the secret:
//!
//! ```text
//! NOTES_INTROSPECTION_CLIENT_ID=notes-rs NOTES_INTROSPECTION_PRIVATE_KEY_FILE=key.json \
//!     cargo run --example notes
//! ```
//!
//! The client id and one of the two, or none: anything else stops the server with a message
//! naming the variables. Without `NOTES_ISSUER`, the two become the development server's
//! introspection client and the printed token is an opaque one, so the introspection path can
//! be tried locally. `NOTES_CONSENT` only concerns the development server.
//!
//! To accept sender-constrained tokens (DPoP, RFC 9449), set `NOTES_DPOP=accepted` (Bearer
//! tokens still work; key-bound ones must come with the `DPoP` scheme and a proof) or
//! `NOTES_DPOP=required` (DPoP only). Each proof's `jti` is claimed once in the resource's
//! replay store, which never forgets a claim before its window ends: when it is full, DPoP
//! requests get `503` with `Retry-After` and the log names `DpopOptions::replay_capacity`.
//! `NOTES_DPOP_REPLAY_CAPACITY` sets that capacity (default 100,000 proofs, enough for 277 DPoP
//! requests a second); a small one shows the refusal:
//!
//! ```text
//! NOTES_DPOP=accepted NOTES_DPOP_REPLAY_CAPACITY=1000 cargo run --example notes
//! NOTES_DPOP=required NOTES_DPOP_NONCE=1 cargo run --example notes    # server nonces too
//! ```
//!
//! Every MCP operation is authorized: the tools, the prompt `summarize_notes` and the resources
//! `notes://stats` and `notes://note/{id}` need their scopes, `purge_notes` also the role
//! `notes-admin`, and `about` is public (no token). Lists show each caller only what it may use.
//! The printed `ADMIN_TOKEN` carries the role; to have the tokens of the sign-in flow (MCP
//! Inspector, Claude Code) carry it too, give the development server's user roles:
//!
//! ```text
//! NOTES_DEV_ROLES=notes-admin cargo run --example notes
//! ```
//!
//! To accept static API keys beside OAuth tokens (for scripts and CI jobs), give a file of their
//! SHA-256 digests, one key a line: the digest in hex, the subject, the scopes separated by commas
//! (`#` starts a comment). Clients send `Authorization: Bearer <key>`; keys are never advertised
//! nor logged:
//!
//! ```text
//! printf '%s ci-bot read:notes\n' "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)" > keys.txt
//! NOTES_API_KEYS_FILE=keys.txt cargo run --example notes
//! ```
//!
//! To serve several tenants of one authorization server from one process (as with Entra ID: one
//! issuer per tenant), list them; each gets its own identifier, metadata document and issuer, and
//! a token of one tenant is refused at another. Without `NOTES_TENANT_ISSUER` the development
//! server serves the tenants' issuers (`http://127.0.0.1:3002/{tenant}`) and a token is printed
//! per tenant; `NOTES_TENANT_RESOURCE_ID` defaults to `http://127.0.0.1:3000/{tenant}/mcp`:
//!
//! ```text
//! NOTES_TENANTS=contoso,fabrikam cargo run --example notes
//! NOTES_TENANTS=0d6b4f55-c4ac-4b0e-a0a7-0a6a4c4e8d1f \
//!     NOTES_TENANT_ISSUER='https://login.microsoftonline.com/{tenant}/v2.0' \
//!     NOTES_TENANT_RESOURCE_ID='https://mcp.example.com/{tenant}/mcp' cargo run --example notes
//! ```
//!
//! The tool `backup_notes` calls a downstream API, the backup service the example serves at
//! `http://127.0.0.1:3001/backup` (protected by mcp-auth as a resource of its own), with a token
//! exchanged for it on the caller's behalf (RFC 8693): the development server lets the MCP
//! server's client `notes-mcp` obtain tokens for that audience, and names it in their `act`
//! claim. With another authorization server, give the MCP server's client with
//! `NOTES_EXCHANGE_CLIENT_ID` and `NOTES_EXCHANGE_CLIENT_SECRET`.
//!
//! Every decision is counted (feature `metrics` of mcp-auth): the example serves the counters in
//! the Prometheus text format at `http://127.0.0.1:3003/metrics`, on a listener of its own
//! outside the MCP layer (`NOTES_METRICS_BIND` moves it). The audit trail, one `tracing` event
//! per decision at the target `mcp_auth::audit`, is in the example's output at the default
//! `info` level; `NOTES_AUDIT_SUBJECT=digest` names callers by a digest instead of their `sub`:
//!
//! ```text
//! curl -s http://127.0.0.1:3003/metrics | grep mcp_auth_requests_total
//! RUST_LOG=warn,mcp_auth::audit=info NOTES_AUDIT_SUBJECT=digest cargo run --example notes
//! ```
//!
//! To run several instances behind one load balancer, give them one Redis for the bindings of
//! sessions, tasks and draft handles (key and token caches stay per process):
//!
//! ```text
//! NOTES_REDIS_URL=redis://127.0.0.1:6379 cargo run --example notes
//! ```

use std::env::VarError;
use std::time::Duration;

use mcp_auth::ProtectedResource;
use mcp_auth::Tenants;
use mcp_auth::binding::RedisStore;
use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::dpop::{DpopOptions, DpopPolicy};
use mcp_auth::introspection::{ClientAuth, ClientKey};
use mcp_auth::verify::ApiKeys;
use mcp_auth_dev::{AuthorizationServer, ClientRegistration, Consent};
use mcp_auth_examples::backup::{BACKUP_URL, backup_app};
use mcp_auth_examples::notes_server::{ADMIN_ROLE, DEV_ISSUER_PORT, DEV_USER, Notes, app};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        let mut source = error.source();
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let audit_digest = audit_subject_from_env()?;
    let consent = consent_from_env()?;
    let introspection = introspection_from_env()?;
    let dpop = dpop_from_env()?;
    let dev_roles = dev_roles_from_env()?;
    let api_keys = api_keys_from_env()?;
    let tenants = tenants_from_env()?;
    // NOTES_METRICS_BIND: the Prometheus metrics, on a listener of their own (installed before
    // the resource serves: mcp-auth registers its counters at its first request).
    let metrics = serve_metrics().await?;
    // Without NOTES_ISSUER (NOTES_TENANT_ISSUER with tenants), the default issuer is the
    // development server started here.
    let own_issuer = match &tenants {
        Some(tenants) => tenants.issuer.is_some() || std::env::var_os("NOTES_ISSUER").is_some(),
        None => std::env::var_os("NOTES_ISSUER").is_some(),
    };
    let dev = match own_issuer {
        true => None,
        false => {
            let mut builder = AuthorizationServer::builder()
                .dpop_nonce(dpop.as_ref().is_some_and(|d| d.nonce))
                .port(DEV_ISSUER_PORT)
                .user(DEV_USER)
                .user_roles(dev_roles.iter().cloned())
                .consent(consent);
            if let Some(tenants) = &tenants {
                builder = builder.tenants(tenants.names.iter().cloned());
            }
            // The MCP server's own client, which exchanges the caller's token for one whose
            // audience is the backup API (backup_notes).
            builder = builder
                .client(ClientRegistration::confidential(
                    DEV_EXCHANGE_CLIENT,
                    DEV_EXCHANGE_SECRET,
                    Vec::<String>::new(),
                ))
                .exchange_policy(DEV_EXCHANGE_CLIENT, [BACKUP_URL]);
            match &introspection {
                Some(Introspection {
                    id,
                    credential: Credential::Secret(secret),
                }) => {
                    builder = builder.client_credentials(id, secret);
                }
                Some(Introspection {
                    id,
                    credential: Credential::Key { public_jwk, .. },
                }) => {
                    builder = builder.introspection_client_key(id, public_jwk.clone());
                }
                None => {}
            }
            Some(builder.start().await.map_err(|e| {
                format!("{e} (is another `cargo run --example notes` running? stop it, or set NOTES_ISSUER)")
            })?)
        }
    };
    // NOTES_DPOP, NOTES_DPOP_REPLAY_CAPACITY: DPoP accepted or required, its replay store's size.
    let dpop_policy = dpop.as_ref().map(|d| d.label);
    let dpop = dpop.map(|d| d.options);
    // NOTES_API_KEYS_FILE: static API keys beside OAuth tokens.
    let api_key_count = api_keys.as_ref().map(ApiKeys::len);
    // NOTES_REDIS_URL: the bindings of sessions, tasks and draft handles in Redis, shared by
    // every instance of the server behind one load balancer.
    let store = match env_text("NOTES_REDIS_URL")? {
        Some(url) => Some(
            RedisStore::builder(&url)
                .build()
                .await
                .map_err(|e| format!("NOTES_REDIS_URL: {e}"))?,
        ),
        None => None,
    };
    // The settings above, for the resource (or each tenant's).
    let configure = {
        let introspection = introspection.clone();
        move |mut r: ProtectedResource| {
            if audit_digest {
                r = r.audit_subject_digest();
            }
            if let Some(introspection) = &introspection {
                r = r.introspection(introspection.client_auth());
            }
            if let Some(options) = dpop.clone() {
                r = r.dpop(|_| options);
            }
            if let Some(keys) = api_keys.clone() {
                r = r.api_keys(keys);
            }
            if let Some(store) = store.clone() {
                r = r.bindings(|b| b.store(store));
            }
            r
        }
    };
    // NOTES_TENANTS: one server for several tenants, each with its issuer and identifier.
    if let Some(tenants) = tenants {
        return serve_tenants(tenants, dev.as_ref(), configure).await;
    }
    // The downstream client: the development server's exchange client, or NOTES_EXCHANGE_CLIENT_ID
    // with NOTES_EXCHANGE_CLIENT_SECRET at another authorization server.
    let exchange = match (&dev, exchange_client_from_env()?) {
        (_, Some(client)) => Some(client),
        (Some(_), None) => Some(ClientAuth::basic(DEV_EXCHANGE_CLIENT, DEV_EXCHANGE_SECRET)),
        (None, None) => None,
    };
    let mut builder = Notes::builder().resource(configure);
    if let Some(client) = exchange.clone() {
        builder = builder.resource(move |r| r.downstream(|d| d.client(client)));
    }
    let notes = builder.build().await?;
    // The downstream API backup_notes calls, trusting the same authorization server.
    let issuer = match (&dev, env_text("NOTES_ISSUER")?) {
        (Some(dev), _) => dev.issuer().to_owned(),
        (None, issuer) => issuer.unwrap_or_default(),
    };
    let backup = serve_backup(&issuer).await?;
    // NOTES_BIND when the server listens elsewhere than its public URL says (behind a proxy).
    let bind = std::env::var("NOTES_BIND").unwrap_or_else(|_| notes.listen_address().to_owned());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e} (set NOTES_BIND to another address)"))?;

    let mcp = notes.id();
    println!();
    println!("Notes MCP server (OAuth 2.1 protected resource)");
    println!("  MCP endpoint:          {mcp}");
    println!("  Metadata (RFC 9728):   {}", notes.metadata_url());
    println!("  Metrics (Prometheus):  http://{metrics}/metrics");
    println!(
        "  Backup API:            {backup} (downstream: backup_notes sends your notes there with a token exchanged for it{})",
        if exchange.is_some() {
            ""
        } else {
            "; set NOTES_EXCHANGE_CLIENT_ID and NOTES_EXCHANGE_CLIENT_SECRET"
        }
    );
    println!(
        "  Audit trail:           tracing target mcp_auth::audit (RUST_LOG=mcp_auth::audit=info), subjects {}",
        if audit_digest {
            "as digests"
        } else {
            "as `sub`"
        }
    );
    if let Some(policy) = dpop_policy {
        println!("  DPoP (RFC 9449):       {policy}");
    }
    if let Some(introspection) = &introspection {
        println!(
            "  Introspection:         opaque tokens, as client `{}` ({})",
            introspection.id,
            introspection.client_auth().method()
        );
    }
    if let Some(count) = api_key_count {
        println!(
            "  API keys:              {count} (from NOTES_API_KEYS_FILE), as Authorization: Bearer <key>"
        );
    }
    if let Some(dev) = &dev {
        let lifetime = Duration::from_secs(24 * 3600);
        // With introspection configured, an opaque token shows that path; otherwise a JWT.
        let (kind, token) = match introspection {
            Some(_) => (
                "An opaque token",
                dev.opaque_token()
                    .audience(mcp)
                    .scopes(["read:notes"])
                    .subject(DEV_USER)
                    .client_id("curl")
                    .expires_in(lifetime)
                    .mint(),
            ),
            None => (
                "A token",
                dev.token()
                    .audience(mcp)
                    .scopes(["read:notes"])
                    .subject(DEV_USER)
                    .client_id("curl")
                    .expires_in(lifetime)
                    .mint(),
            ),
        };
        let consent = match consent {
            Consent::Page => "consent page",
            _ => "automatic consent",
        };
        println!(
            "  Authorization server:  {} (development: dynamic registration, {consent} as `{DEV_USER}`)",
            dev.issuer()
        );
        println!();
        println!("{kind} with read:notes (valid 24 hours), for the curl lines below:");
        println!("  export TOKEN={token}");
        if introspection.is_none() {
            let admin = dev
                .token()
                .audience(mcp)
                .scopes(["read:notes", "write:notes"])
                .subject(DEV_USER)
                .client_id("curl")
                .claim("roles", vec![ADMIN_ROLE])
                .expires_in(lifetime)
                .mint();
            println!(
                "An admin token: read:notes, write:notes and the role {ADMIN_ROLE} (purge_notes needs it):"
            );
            println!("  export ADMIN_TOKEN={admin}");
        }
        println!();
        println!("List the tools:");
        println!("  curl -s {mcp} -H \"Authorization: Bearer $TOKEN\" \\");
        println!(
            "    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\"
        );
        println!("    -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}}'");
        println!(
            "Same token, create_note (needs write:notes): 403 with `WWW-Authenticate: Bearer error=\"insufficient_scope\"`:"
        );
        println!("  curl -si {mcp} -H \"Authorization: Bearer $TOKEN\" \\");
        println!(
            "    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\"
        );
        println!(
            "    -d '{{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{{\"name\":\"create_note\",\"arguments\":{{\"text\":\"hi\"}}}}}}'"
        );
        println!(
            "backup_notes sends your notes to the backup API with a token exchanged for it; the receipt shows its sub, aud and act:"
        );
        println!("  curl -s {mcp} -H \"Authorization: Bearer $TOKEN\" \\");
        println!(
            "    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\"
        );
        println!(
            "    -d '{{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{{\"name\":\"backup_notes\",\"arguments\":{{}}}}}}'"
        );
        println!("The public tool about needs no token:");
        println!(
            "  curl -s {mcp} -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\"
        );
        println!(
            "    -d '{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{{\"name\":\"about\",\"arguments\":{{}}}}}}'"
        );
    }
    println!();
    println!("Connect a client (it discovers the authorization server, registers and signs in):");
    println!(
        "  MCP Inspector:  npx @modelcontextprotocol/inspector  then Streamable HTTP, URL {mcp}, Connect"
    );
    println!(
        "  Claude Code:    claude mcp add --transport http notes {mcp}  then /mcp, Authenticate"
    );
    println!();

    axum::serve(listener, app(&notes))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// `NOTES_METRICS_BIND` (default `127.0.0.1:3003`): installs the Prometheus recorder and serves
/// its text format at `/metrics` there, outside the MCP layer. Returns the address.
async fn serve_metrics() -> Result<std::net::SocketAddr, Box<dyn std::error::Error>> {
    let bind = env_text("NOTES_METRICS_BIND")?.unwrap_or_else(|| "127.0.0.1:3003".to_owned());
    let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| {
        format!(
            "cannot listen on {bind} for metrics: {e} (set NOTES_METRICS_BIND to another address)"
        )
    })?;
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("metrics recorder: {e}"))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || std::future::ready(handle.render())),
    );
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(address)
}

/// The development server's client for token exchange (the MCP server's own client).
const DEV_EXCHANGE_CLIENT: &str = "notes-mcp";
/// Its secret: a development value, on loopback only.
const DEV_EXCHANGE_SECRET: &str = "notes-mcp-dev-secret";

/// `NOTES_EXCHANGE_CLIENT_ID` with `NOTES_EXCHANGE_CLIENT_SECRET`: the MCP server's client at
/// another authorization server, for token exchange (`client_secret_basic`).
fn exchange_client_from_env() -> Result<Option<ClientAuth>, Box<dyn std::error::Error>> {
    match (
        env_text("NOTES_EXCHANGE_CLIENT_ID")?,
        env_text("NOTES_EXCHANGE_CLIENT_SECRET")?,
    ) {
        (Some(id), Some(secret)) => Ok(Some(ClientAuth::basic(id, secret))),
        (None, None) => Ok(None),
        _ => Err("NOTES_EXCHANGE_CLIENT_ID and NOTES_EXCHANGE_CLIENT_SECRET go together".into()),
    }
}

/// The backup API at [`BACKUP_URL`] (`http://127.0.0.1:3001/backup`), trusting `issuer`.
async fn serve_backup(issuer: &str) -> Result<&'static str, Box<dyn std::error::Error>> {
    let config = fetch_server_config(issuer, DiscoveryKind::Auto).await?;
    let app = backup_app(BACKUP_URL, config)?;
    let bind = "127.0.0.1:3001";
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
        format!(
            "cannot listen on {bind} for the backup API: {e} (is another notes example running?)"
        )
    })?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the backup API stopped");
        }
    });
    Ok(BACKUP_URL)
}

/// `NOTES_AUDIT_SUBJECT`: `sub` (the default) or `digest`, how the audit trail names callers.
fn audit_subject_from_env() -> Result<bool, Box<dyn std::error::Error>> {
    match env_text("NOTES_AUDIT_SUBJECT")?.as_deref() {
        None | Some("sub") => Ok(false),
        Some("digest") => Ok(true),
        Some(other) => {
            Err(format!("NOTES_AUDIT_SUBJECT must be `sub` or `digest`, not `{other}`").into())
        }
    }
}

/// `NOTES_TENANTS`, `NOTES_TENANT_ISSUER`, `NOTES_TENANT_RESOURCE_ID`: the tenants served.
struct TenantsEnv {
    names: Vec<String>,
    /// The issuer pattern; `None`: the development server's tenants.
    issuer: Option<String>,
    resource_id: String,
}

/// `NOTES_TENANTS` (tenant names, comma-separated), `NOTES_TENANT_ISSUER` (the issuer pattern,
/// with `{tenant}`; the development server's tenants without it) and `NOTES_TENANT_RESOURCE_ID`
/// (the identifier pattern, `http://127.0.0.1:3000/{tenant}/mcp` by default).
fn tenants_from_env() -> Result<Option<TenantsEnv>, String> {
    let Some(names) = env_text("NOTES_TENANTS")? else {
        for other in ["NOTES_TENANT_ISSUER", "NOTES_TENANT_RESOURCE_ID"] {
            if std::env::var_os(other).is_some() {
                return Err(format!(
                    "{other} is set without NOTES_TENANTS; list the tenants"
                ));
            }
        }
        return Ok(None);
    };
    Ok(Some(TenantsEnv {
        names: names
            .split(',')
            .map(|name| name.trim().to_owned())
            .collect(),
        issuer: env_text("NOTES_TENANT_ISSUER")?,
        resource_id: env_text("NOTES_TENANT_RESOURCE_ID")?
            .unwrap_or_else(|| "http://127.0.0.1:3000/{tenant}/mcp".to_owned()),
    }))
}

/// Serves every tenant of `env` from one router, each tenant's resource configured by
/// `configure`.
async fn serve_tenants(
    env: TenantsEnv,
    dev: Option<&AuthorizationServer>,
    configure: impl Fn(ProtectedResource) -> ProtectedResource + Clone + Send + Sync + 'static,
) -> Result<(), Box<dyn std::error::Error>> {
    let issuer = match (&env.issuer, dev) {
        (Some(pattern), _) => pattern.clone(),
        (None, Some(dev)) => format!("{}/{{tenant}}", dev.origin()),
        (None, None) => return Err("NOTES_TENANT_ISSUER is required with NOTES_ISSUER".into()),
    };
    let tenants = Tenants::<Notes>::builder()
        .issuer(&issuer)
        .resource_id(&env.resource_id)
        .allow(env.names.iter().cloned())
        .resource(move |b| b.resource(configure.clone()))
        .build()
        .map_err(|e| format!("NOTES_TENANTS: {e}"))?;
    let bind = match std::env::var("NOTES_BIND") {
        Ok(bind) => bind,
        Err(_) => {
            let first = tenants.names().next().unwrap_or_default();
            let url = url::Url::parse(tenants.resource_id(first).unwrap_or_default())?;
            let port = url.port_or_known_default().unwrap_or(80);
            format!("{}:{port}", url.host_str().unwrap_or("127.0.0.1"))
        }
    };
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e} (set NOTES_BIND to another address)"))?;
    println!();
    println!(
        "Notes MCP server for tenants (issuer {issuer}); a token of one tenant is refused at another:"
    );
    for name in tenants.names() {
        let id = tenants.resource_id(name).unwrap_or_default();
        println!("  {name}: MCP endpoint {id}");
        println!(
            "  {:width$}  issuer       {}",
            "",
            tenants.issuer(name).unwrap_or_default(),
            width = name.len()
        );
        if let Some(dev) = dev {
            let token = dev
                .token()
                .tenant(name)
                .audience(id)
                .scopes(["read:notes"])
                .subject(DEV_USER)
                .client_id("curl")
                .expires_in(Duration::from_secs(24 * 3600))
                .mint();
            println!(
                "  {:width$}  export TOKEN_{}={token}",
                "",
                name.to_uppercase().replace('-', "_"),
                width = name.len()
            );
        }
    }
    println!();
    axum::serve(listener, tenants.router(app))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// `NOTES_CONSENT`: `auto` (the default) or `page`, for the development server.
fn consent_from_env() -> Result<Consent, String> {
    match std::env::var("NOTES_CONSENT") {
        Err(VarError::NotPresent) => Ok(Consent::Auto),
        Ok(value) => match value.as_str() {
            "auto" => Ok(Consent::Auto),
            "page" => Ok(Consent::Page),
            other => Err(format!(
                "NOTES_CONSENT must be `auto` or `page`, not `{other}`"
            )),
        },
        Err(VarError::NotUnicode(_)) => Err("NOTES_CONSENT is not valid UTF-8".into()),
    }
}

/// The introspection client of the resource server, from the environment.
#[derive(Clone)]
struct Introspection {
    id: String,
    credential: Credential,
}

/// How the introspection client authenticates.
#[derive(Clone)]
enum Credential {
    /// `client_secret_basic`.
    Secret(String),
    /// `private_key_jwt`, with the public half for the development server.
    Key {
        key: ClientKey,
        public_jwk: serde_json::Value,
    },
}

impl Introspection {
    fn client_auth(&self) -> ClientAuth {
        match &self.credential {
            Credential::Secret(secret) => ClientAuth::basic(&self.id, secret),
            Credential::Key { key, .. } => ClientAuth::private_key_jwt(&self.id, key.clone()),
        }
    }
}

/// `NOTES_INTROSPECTION_CLIENT_ID` with `NOTES_INTROSPECTION_CLIENT_SECRET`
/// (`client_secret_basic`) or `NOTES_INTROSPECTION_PRIVATE_KEY_FILE` (`private_key_jwt`, a
/// private JWK with `kid` and `alg`): the id and one of them, or none.
fn introspection_from_env() -> Result<Option<Introspection>, String> {
    const ID: &str = "NOTES_INTROSPECTION_CLIENT_ID";
    const SECRET: &str = "NOTES_INTROSPECTION_CLIENT_SECRET";
    const KEY: &str = "NOTES_INTROSPECTION_PRIVATE_KEY_FILE";
    let var = |name: &str| match std::env::var(name) {
        Err(VarError::NotPresent) => Ok(None),
        Ok(value) if value.is_empty() => Err(format!("{name} is set but empty")),
        Ok(value) => Ok(Some(value)),
        Err(VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    };
    let credential = match (var(SECRET)?, var(KEY)?) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{SECRET} and {KEY} are both set: give the secret (client_secret_basic) or the key (private_key_jwt)"
            ));
        }
        (Some(secret), None) => Some(Credential::Secret(secret)),
        (None, Some(path)) => {
            let key = ClientKey::from_jwk_file(&path).map_err(|e| format!("{KEY}: {e}"))?;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{KEY}: {e}"))?;
            let mut public_jwk: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{KEY}: {e}"))?;
            if let Some(members) = public_jwk.as_object_mut() {
                for private in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
                    members.remove(private);
                }
            }
            Some(Credential::Key { key, public_jwk })
        }
        (None, None) => None,
    };
    match (var(ID)?, credential) {
        (Some(id), Some(credential)) => Ok(Some(Introspection { id, credential })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(format!(
            "{ID} is set but neither {SECRET} nor {KEY}: give one to verify opaque tokens by introspection, or unset {ID}"
        )),
        (None, Some(_)) => Err(format!(
            "{SECRET} or {KEY} is set but {ID} is missing: set the client id too, or neither"
        )),
    }
}

/// What `NOTES_DPOP` and its companions ask for.
struct DpopEnv {
    /// A line that says what the resource accepts.
    label: &'static str,
    options: DpopOptions,
    /// `NOTES_DPOP_NONCE=1`: server nonces (RFC 9449 §8, §9), at the resource (in `options`)
    /// and at the development server's token endpoint.
    nonce: bool,
}

/// `NOTES_DPOP` (`accepted` or `required`; unset: Bearer only), `NOTES_DPOP_REPLAY_CAPACITY` (a
/// number of proofs) and `NOTES_DPOP_NONCE` (1 or 0), the last two only with `NOTES_DPOP`.
fn dpop_from_env() -> Result<Option<DpopEnv>, String> {
    const POLICY: &str = "NOTES_DPOP";
    const CAPACITY: &str = "NOTES_DPOP_REPLAY_CAPACITY";
    const NONCE: &str = "NOTES_DPOP_NONCE";
    let policy = match env_text(POLICY)?.as_deref() {
        None => None,
        Some("accepted") => Some((
            "accepted (Bearer, or DPoP-bound tokens with a proof)",
            DpopPolicy::Accepted,
        )),
        Some("required") => Some(("required (DPoP-bound tokens only)", DpopPolicy::Required)),
        Some(other) => {
            return Err(format!(
                "{POLICY} must be `accepted` or `required`, not `{other}` (unset: Bearer only)"
            ));
        }
    };
    let capacity = match env_text(CAPACITY)? {
        None => None,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(format!(
                    "{CAPACITY} must be a positive number of proofs, not `{text}`"
                ));
            }
        },
    };
    let nonce = match env_text(NONCE)?.as_deref() {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => return Err(format!("{NONCE} must be 1 or 0, not `{other}`")),
    };
    match (policy, capacity, nonce) {
        (None, None, false) => Ok(None),
        (None, _, _) => Err(format!(
            "{CAPACITY} or {NONCE} is set but {POLICY} is not: set {POLICY}=accepted or required"
        )),
        (Some((label, policy)), capacity, nonce) => {
            let options = DpopOptions::default().policy(policy).nonce(nonce);
            let options = match capacity {
                Some(n) => options.replay_capacity(n),
                None => options,
            };
            Ok(Some(DpopEnv {
                label,
                options,
                nonce,
            }))
        }
    }
}

/// `NOTES_API_KEYS_FILE`: the file of API keys the resource accepts beside OAuth tokens (one key
/// a line: its SHA-256 in hex, the subject, the scopes separated by commas; see
/// `mcp_auth::verify::ApiKeys`). Unset: no keys.
fn api_keys_from_env() -> Result<Option<ApiKeys>, String> {
    const FILE: &str = "NOTES_API_KEYS_FILE";
    let Some(path) = env_text(FILE)? else {
        return Ok(None);
    };
    ApiKeys::from_file(&path)
        .map(Some)
        .map_err(|e| format!("{FILE}: {e}"))
}

/// `NOTES_DEV_ROLES`: the roles of the development server's user, comma-separated (for example
/// `notes-admin`, which `purge_notes` needs); unset, none. Only with the development server.
fn dev_roles_from_env() -> Result<Vec<String>, String> {
    const ROLES: &str = "NOTES_DEV_ROLES";
    let Some(text) = env_text(ROLES)? else {
        return Ok(Vec::new());
    };
    if std::env::var_os("NOTES_ISSUER").is_some() {
        return Err(format!(
            "{ROLES} gives roles to the development server's user; with NOTES_ISSUER set, give the roles at your authorization server instead"
        ));
    }
    let mut roles = Vec::new();
    for role in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        mcp_auth_rules::role_name(role).map_err(|problem| format!("{ROLES}: {problem}"))?;
        roles.push(role.to_owned());
    }
    Ok(roles)
}

/// An optional environment variable: `None` when unset, an error naming it when not UTF-8.
fn env_text(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(VarError::NotPresent) => Ok(None),
        Err(VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}
