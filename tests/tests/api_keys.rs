//! Static API keys beside OAuth, through the notes example (`mcp_auth_examples::notes_server`)
//! with its keys loaded from a file as `NOTES_API_KEYS_FILE` gives it, and the development
//! authorization server for the OAuth side, over loopback HTTP:
//!
//! - a key with `read:notes` lists and reads notes and is refused `403 insufficient_scope` for
//!   `create_note`, like a token with that scope;
//! - an unknown key gets `401 invalid_token`, and the challenge is OAuth's (keys are not
//!   advertised);
//! - two keys of one subject both work, as that one subject;
//! - OAuth tokens keep working beside the keys;
//! - no key and no digest of a key reaches the log, at `trace`.

use mcp_auth::discovery::{DiscoveryKind, fetch_server_config};
use mcp_auth::verify::ApiKeys;
use mcp_auth_dev::AuthorizationServer;
use mcp_auth_examples::notes_server::{Notes, app};
use mcp_auth_tests::challenge_parser::assert_valid_bearer;
use mcp_auth_tests::{LogCapture, bind, rpc_result, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const READ_KEY: &str = "nk_read_5Jq9vXw2Lr8TtY3mPz6Aa0Bc";
const ROTATED_KEY: &str = "nk_read_new_7Hd2Kp4Ws9Qe1Rt5Uy8Io3";
const WRITE_KEY: &str = "nk_write_3Fg8Hj1Kl6Zx4Cv7Bn2Mq9We";

fn sha256_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct App {
    url: String,
    idp: AuthorizationServer,
    http: reqwest::Client,
    _keys: tempfile_path::TempFile,
}

/// A file removed when dropped (no crate for two lines).
mod tempfile_path {
    pub struct TempFile(pub std::path::PathBuf);
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl App {
    async fn start() -> Self {
        // The file an operator writes: digests only, as the notes example documents.
        let path =
            std::env::temp_dir().join(format!("mcp-auth-api-keys-{}.txt", std::process::id()));
        let text = format!(
            "# sha256 of the key                                               subject scopes\n\
             {} ci-bot read:notes\n\
             {} ci-bot read:notes   # the same subject, rotated in\n\
             {} deploy read:notes,write:notes\n",
            sha256_hex(READ_KEY),
            sha256_hex(ROTATED_KEY),
            sha256_hex(WRITE_KEY)
        );
        std::fs::write(&path, text).unwrap();
        let keys = ApiKeys::from_file(&path).unwrap();
        let idp = AuthorizationServer::start().await.unwrap();
        let (listener, origin) = bind().await;
        let url = format!("{origin}/mcp");
        let notes = Notes::builder()
            .id(&url)
            .replace_authorization_servers([fetch_server_config(idp.issuer(), DiscoveryKind::Auto)
                .await
                .unwrap()])
            .resource(move |r| r.api_keys(keys))
            .build()
            .await
            .unwrap();
        spawn(listener, app(&notes));
        Self {
            url,
            idp,
            http: reqwest::Client::new(),
            _keys: tempfile_path::TempFile(path),
        }
    }

    async fn post(&self, credential: &str, body: Value) -> reqwest::Response {
        self.http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .bearer_auth(credential)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn call(&self, credential: &str, tool: &str, arguments: Value) -> reqwest::Response {
        self.post(
            credential,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": tool, "arguments": arguments}}),
        )
        .await
    }
}

#[tokio::test]
async fn a_key_from_the_file_is_decided_like_a_token_with_its_scopes() {
    let (logs, _guard) = LogCapture::start();
    let app = App::start().await;

    // The read key: its tools listed, list_notes and whoami served as its subject.
    let list = rpc_result(
        app.post(
            READ_KEY,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .await,
    )
    .await;
    let mut tools: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    tools.sort_unstable();
    assert_eq!(
        tools,
        [
            "about",
            "backup_notes",
            "export_notes",
            "list_notes",
            "whoami"
        ]
    );
    let me = rpc_result(app.call(READ_KEY, "whoami", json!({})).await).await;
    assert_eq!(
        me["result"]["structuredContent"],
        json!({"subject": "ci-bot", "client_id": null, "scopes": ["read:notes"]})
    );

    // create_note needs write:notes: the step-up answer, as for a token.
    let refused = app
        .call(READ_KEY, "create_note", json!({"text": "from a key"}))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert_valid_bearer(challenge);
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );

    // The write key creates as `deploy`; both keys of ci-bot are ci-bot, who sees none of it.
    let created = app
        .call(WRITE_KEY, "create_note", json!({"text": "deployed"}))
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let deploy_notes = rpc_result(app.call(WRITE_KEY, "list_notes", json!({})).await).await;
    assert_eq!(
        deploy_notes["result"]["structuredContent"]["notes"],
        json!(["deployed"])
    );
    for key in [READ_KEY, ROTATED_KEY] {
        let notes = rpc_result(app.call(key, "list_notes", json!({})).await).await;
        assert_eq!(
            notes["result"]["structuredContent"]["notes"],
            json!([]),
            "ci-bot's keys are ci-bot"
        );
        let me = rpc_result(app.call(key, "whoami", json!({})).await).await;
        assert_eq!(me["result"]["structuredContent"]["subject"], "ci-bot");
    }

    // An unknown key: 401 invalid_token with the OAuth challenge, nothing about keys.
    let unknown = app
        .call("nk_read_unknown_0000000000000000", "whoami", json!({}))
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let challenge = unknown.headers()["www-authenticate"].to_str().unwrap();
    assert_valid_bearer(challenge);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    assert!(
        !challenge.to_ascii_lowercase().contains("key"),
        "{challenge}"
    );

    // OAuth tokens keep working beside the keys.
    let token = app
        .idp
        .token()
        .audience(app.url.as_str())
        .scopes(["read:notes"])
        .subject("alice")
        .mint();
    let me = rpc_result(app.call(&token, "whoami", json!({})).await).await;
    assert_eq!(me["result"]["structuredContent"]["subject"], "alice");

    // No key, no digest of a key (nor a prefix of one) in any log line, at trace.
    let text = logs.text();
    assert!(
        text.contains("mcp_auth"),
        "the capture saw the layer: {text}"
    );
    for key in [READ_KEY, ROTATED_KEY, WRITE_KEY] {
        let digest = sha256_hex(key);
        assert!(!text.contains(key), "a key in the log");
        assert!(!text.contains(&digest[..16]), "a digest in the log");
    }
}
