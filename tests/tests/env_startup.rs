//! Values a `#[mcp_resource]` reads from the environment are checked at start-up by the same
//! rules the macro applies to literals, with errors that name the variable and the fix.
//!
//! One test in its own binary: it sets environment variables before any thread exists.

use mcp_auth::discovery::{AuthServerConfig, AuthServerMetadata};
use mcp_auth::{StartupError, mcp_resource};

#[mcp_resource(
    id = env("MCP_AUTH_TEST_RESOURCE_ID", default = "http://127.0.0.1:3000/mcp"),
    issuer = env("MCP_AUTH_TEST_ISSUER"),
    scopes = ["read:notes"],
)]
struct EnvNotes;

fn config(issuer: &str) -> AuthServerConfig {
    let mut metadata = AuthServerMetadata::new(issuer);
    metadata.jwks_uri = Some(format!("{issuer}/jwks"));
    AuthServerConfig::from_metadata(metadata).unwrap()
}

#[test]
fn environment_values_are_checked_at_start_up() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Unset issuer without a default: the variable is named.
    let err = rt.block_on(EnvNotes::builder().build()).unwrap_err();
    assert!(
        matches!(
            err,
            StartupError::Env {
                var: "MCP_AUTH_TEST_ISSUER",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("MCP_AUTH_TEST_ISSUER"));

    // SAFETY: single-threaded at this point (current-thread runtime, one test in this binary).
    unsafe {
        std::env::set_var("MCP_AUTH_TEST_ISSUER", "http://auth.example.com");
    }
    let err = rt.block_on(EnvNotes::builder().build()).unwrap_err();
    assert!(err.to_string().contains("must use https"), "{err}");
    assert!(
        err.to_string().contains("`MCP_AUTH_TEST_ISSUER`"),
        "names the variable: {err}"
    );

    unsafe {
        std::env::set_var("MCP_AUTH_TEST_ISSUER", "https://auth.example.com");
        std::env::set_var("MCP_AUTH_TEST_RESOURCE_ID", "http://mcp.example.com/mcp#x");
    }
    let err = rt
        .block_on(
            EnvNotes::builder()
                .authorization_server(config("https://auth.example.com"))
                .build(),
        )
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("must use https") && message.contains("#fragment"),
        "all problems at once: {message}"
    );

    unsafe {
        std::env::remove_var("MCP_AUTH_TEST_RESOURCE_ID");
    }
    let notes = rt
        .block_on(
            EnvNotes::builder()
                .authorization_server(config("https://auth.example.com"))
                .build(),
        )
        .unwrap();
    assert_eq!(
        notes.id(),
        "http://127.0.0.1:3000/mcp",
        "the default applies"
    );
    assert_eq!(
        notes.metadata_url(),
        "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp"
    );
}
