//! Dynamic client registration (RFC 7591 §3).

use axum::Json;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::clients::{AuthMethod, Client, check_redirect_uri};
use super::keys::random_b64;
use super::server::Shared;
use super::wire::{self, OAuthError};

/// The grant types a client may register.
const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

fn invalid_metadata(description: impl Into<String>) -> OAuthError {
    OAuthError::bad_request("invalid_client_metadata", description)
}

fn invalid_redirect(description: impl Into<String>) -> OAuthError {
    OAuthError::bad_request("invalid_redirect_uri", description)
}

/// `POST {issuer}/register`: registers a client and answers 201 with its metadata.
pub(crate) async fn register(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    if wire::media_type(headers).as_deref() != Some("application/json") {
        return Err(invalid_metadata(
            "the body must be a JSON object sent as application/json",
        ));
    }
    let bytes = wire::read_body(body).await?;
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(invalid_metadata("the body is not a JSON object"));
    };
    let metadata = Metadata::parse(&request)?;

    let now = shared.clock.unix_seconds();
    let client_id = random_b64(16);
    let secret = (metadata.auth_method != AuthMethod::None).then(|| random_b64(32));
    let mut client = Client::new(
        client_id.clone(),
        secret.clone(),
        metadata.auth_method,
        metadata.redirect_uris.clone(),
        metadata.grant_types.clone(),
    );
    client.name.clone_from(&metadata.client_name);
    client.scope.clone_from(&metadata.scope);
    if !shared.clients.insert(client) {
        return Err(OAuthError::server_error(
            "a random client_id collided; register again",
        ));
    }

    let mut response = Map::new();
    response.insert("client_id".into(), client_id.into());
    response.insert("client_id_issued_at".into(), now.into());
    if let Some(secret) = secret {
        response.insert("client_secret".into(), secret.into());
        response.insert("client_secret_expires_at".into(), 0.into());
    }
    response.insert("redirect_uris".into(), json!(metadata.redirect_uris));
    response.insert(
        "token_endpoint_auth_method".into(),
        metadata.auth_method.name().into(),
    );
    response.insert("grant_types".into(), json!(metadata.grant_types));
    response.insert("response_types".into(), json!(metadata.response_types));
    if let Some(name) = metadata.client_name {
        response.insert("client_name".into(), name.into());
    }
    if let Some(scope) = metadata.scope {
        response.insert("scope".into(), scope.join(" ").into());
    }
    let mut response = (StatusCode::CREATED, Json(Value::Object(response))).into_response();
    wire::no_store(response.headers_mut());
    Ok(response)
}

/// The client metadata this server understands (RFC 7591 §2); other members are ignored.
#[derive(Debug)]
struct Metadata {
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    grant_types: Vec<String>,
    response_types: Vec<String>,
    auth_method: AuthMethod,
    scope: Option<Vec<String>>,
}

impl Metadata {
    fn parse(request: &Map<String, Value>) -> Result<Self, OAuthError> {
        let auth_method = match string(request, "token_endpoint_auth_method")? {
            // RFC 7591 §2: the default is client_secret_basic.
            None => AuthMethod::SecretBasic,
            Some(name) => AuthMethod::from_name(&name).ok_or_else(|| {
                invalid_metadata(format!(
                    "token_endpoint_auth_method `{name}` is not supported; use none, client_secret_basic or client_secret_post"
                ))
            })?,
        };
        let grant_types = match strings(request, "grant_types")? {
            None => vec!["authorization_code".to_owned()],
            Some(grants) => dedup(grants),
        };
        if let Some(other) = grant_types
            .iter()
            .find(|g| !GRANT_TYPES.contains(&g.as_str()))
        {
            return Err(invalid_metadata(format!(
                "grant type `{other}` is not supported; use authorization_code, refresh_token or client_credentials"
            )));
        }
        let uses_code = grant_types.iter().any(|g| g == "authorization_code");
        let response_types = match strings(request, "response_types")? {
            None if uses_code => vec!["code".to_owned()],
            None => Vec::new(),
            Some(types) => dedup(types),
        };
        if let Some(other) = response_types.iter().find(|t| *t != "code") {
            return Err(invalid_metadata(format!(
                "response type `{other}` is not supported; use code"
            )));
        }
        if uses_code != response_types.iter().any(|t| t == "code") {
            return Err(invalid_metadata(
                "grant_types and response_types disagree: the authorization_code grant goes with the code response type (RFC 7591 §2.1)",
            ));
        }
        if auth_method == AuthMethod::None && grant_types.iter().any(|g| g == "client_credentials")
        {
            return Err(invalid_metadata(
                "the client_credentials grant needs a confidential client; use client_secret_basic or client_secret_post",
            ));
        }

        let redirect_uris = strings(request, "redirect_uris")
            .map_err(|e| invalid_redirect(e.description))?
            .unwrap_or_default();
        if uses_code && redirect_uris.is_empty() {
            return Err(invalid_redirect(
                "redirect_uris is required (a non-empty array) for the authorization_code grant",
            ));
        }
        for uri in &redirect_uris {
            check_redirect_uri(uri)
                .map_err(|problem| invalid_redirect(format!("redirect URI `{uri}` {problem}")))?;
        }

        let scope = match string(request, "scope")? {
            None => None,
            Some(scope) => Some(wire::scope_tokens(Some(&scope)).map_err(|_| {
                invalid_metadata("scope must be scope tokens separated by single spaces")
            })?),
        };
        Ok(Self {
            redirect_uris: dedup(redirect_uris),
            client_name: string(request, "client_name")?,
            grant_types,
            response_types,
            auth_method,
            scope,
        })
    }
}

fn dedup(values: Vec<String>) -> Vec<String> {
    let mut unique: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !unique.contains(&value) {
            unique.push(value);
        }
    }
    unique
}

/// A string member; `null` counts as absent.
fn string(request: &Map<String, Value>, name: &str) -> Result<Option<String>, OAuthError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_metadata(format!("`{name}` must be a string"))),
    }
}

/// An array-of-strings member; `null` counts as absent.
fn strings(request: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, OAuthError> {
    let wrong = || invalid_metadata(format!("`{name}` must be an array of strings"));
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: Value) -> Result<Metadata, &'static str> {
        match value {
            Value::Object(map) => Metadata::parse(&map).map_err(|e| e.code),
            _ => unreachable!("test input is an object"),
        }
    }

    #[test]
    fn defaults_follow_rfc7591() {
        let m = parse(json!({"redirect_uris": ["http://127.0.0.1:1/cb"]})).unwrap();
        assert_eq!(m.auth_method, AuthMethod::SecretBasic);
        assert_eq!(m.grant_types, ["authorization_code"]);
        assert_eq!(m.response_types, ["code"]);
        let m = parse(json!({"grant_types": ["client_credentials"]})).unwrap();
        assert!(m.response_types.is_empty());
        assert!(m.redirect_uris.is_empty());
    }

    #[test]
    fn inconsistent_or_unknown_metadata_is_refused() {
        let uris = json!(["https://app.example.com/cb"]);
        for (body, code) in [
            (json!({}), "invalid_redirect_uri"),
            (
                json!({"redirect_uris": "https://x.example/cb"}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["http://x.example/cb"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": uris, "grant_types": ["implicit"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": uris, "response_types": ["token"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": uris, "response_types": []}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": uris, "token_endpoint_auth_method": "private_key_jwt"}),
                "invalid_client_metadata",
            ),
            (
                json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": uris, "scope": "a  b"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": uris, "client_name": 7}),
                "invalid_client_metadata",
            ),
        ] {
            assert_eq!(parse(body.clone()).unwrap_err(), code, "{body}");
        }
    }
}
