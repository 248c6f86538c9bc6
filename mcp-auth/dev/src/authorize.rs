//! The authorization endpoint (OAuth 2.1 §4.1.1 with PKCE `S256`, RFC 8707 `resource`,
//! RFC 9207 `iss`) and its consent page.

use std::fmt::Write as _;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, REFERRER_POLICY, X_FRAME_OPTIONS};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use url::Url;

use super::clients::Client;
use super::grants::{Authorization, ConsentError};
use super::server::Shared;
use super::wire::{self, Form, OAuthError};

/// What happens when a client sends the user to the authorization endpoint, set with
/// [`AuthorizationServerBuilder::consent`](super::AuthorizationServerBuilder::consent).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mcp_auth_dev::{AuthorizationServer, Consent};
///
/// // Click through the flow in a browser, e.g. with MCP Inspector.
/// let idp = AuthorizationServer::builder().consent(Consent::Page).start().await?;
/// # let _ = idp;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Consent {
    /// The user approves at once: a valid request is answered with a redirect carrying the
    /// code (the default, for tests).
    #[default]
    Auto,
    /// An HTML page shows the client's name, the scopes, the redirect URI and the resources,
    /// with Approve and Deny buttons. The form posts back to the authorization endpoint with a
    /// CSRF token bound to the pending request.
    Page,
}

/// Answers `GET` (an authorization request) and `POST` (a consent form) at the authorization
/// endpoint.
pub(crate) async fn handle(
    shared: &Shared,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    if method == Method::GET {
        let params = wire::parse_form(query.unwrap_or_default().as_bytes());
        authorization_request(shared, &params)
    } else if method == Method::POST {
        match wire::read_form(headers, body).await {
            Ok(form) => consent_form(shared, &form),
            Err(e) => error_page(shared, StatusCode::BAD_REQUEST, e.description.into()),
        }
    } else {
        wire::method_not_allowed("GET, POST")
    }
}

/// The client and redirect URI of a request, once both are trusted.
struct Target<'a> {
    redirect_uri: String,
    redirect_uri_sent: bool,
    state: Option<&'a str>,
}

fn authorization_request(shared: &Shared, params: &Form) -> Response {
    let (client, target) = match trusted_target(shared, params) {
        Ok(found) => found,
        Err(error) => return error_page(shared, StatusCode::BAD_REQUEST, error),
    };
    let authorization = match check_request(shared, &client, &target, params) {
        Ok(authorization) => authorization,
        Err(e) => {
            return redirect(
                shared,
                &target.redirect_uri,
                &[("error", e.code), ("error_description", &e.description)],
                target.state,
                StatusCode::FOUND,
            );
        }
    };
    let now = shared.clock.unix_seconds();
    match shared.consent {
        Consent::Auto => {
            let state = authorization.state.clone();
            let redirect_uri = authorization.redirect_uri.clone();
            let code = shared.grants.issue_code(authorization, now);
            redirect(
                shared,
                &redirect_uri,
                &[("code", &code)],
                state.as_deref(),
                StatusCode::FOUND,
            )
        }
        Consent::Page => {
            let (request_id, csrf) = shared.grants.await_consent(authorization.clone(), now);
            let page = consent_page(shared, &client, &authorization, &request_id, &csrf);
            html(StatusCode::OK, page)
        }
    }
}

/// Finds the client and the redirect URI. Until both are known to be right, errors are shown
/// to the user and never sent anywhere (RFC 6749 §4.1.2.1).
fn trusted_target<'a>(
    shared: &Shared,
    params: &'a Form,
) -> Result<(std::sync::Arc<Client>, Target<'a>), PageError> {
    let client_id = wire::single(params, "client_id")
        .map_err(|e| e.description)?
        .ok_or("the `client_id` parameter is missing")?;
    let client = shared.clients.get(client_id).ok_or_else(|| {
        PageError::after_restart(format!(
            "no client is registered with client_id `{client_id}`"
        ))
    })?;
    let redirect_uri = wire::single(params, "redirect_uri").map_err(|e| e.description)?;
    let (redirect_uri, redirect_uri_sent) = match (redirect_uri, client.redirect_uris.as_slice()) {
        (Some(uri), registered) if registered.iter().any(|r| r == uri) => (uri.to_owned(), true),
        (Some(uri), _) => {
            return Err(PageError::after_restart(format!(
                "the redirect_uri `{uri}` is not registered for this client (redirect URIs must match exactly)"
            )));
        }
        (None, [only]) => (only.clone(), false),
        (None, []) => return Err("this client has no redirect URI registered".into()),
        (None, _) => {
            return Err(
                "the `redirect_uri` parameter is required: this client registered several".into(),
            );
        }
    };
    // A repeated `state` cannot be echoed; the error goes to the client without one.
    let state = wire::single(params, "state").ok().flatten();
    Ok((
        client,
        Target {
            redirect_uri,
            redirect_uri_sent,
            state,
        },
    ))
}

/// Checks everything else; the error is redirected to the client.
fn check_request(
    shared: &Shared,
    client: &Client,
    target: &Target<'_>,
    params: &Form,
) -> Result<Authorization, OAuthError> {
    wire::single(params, "state")?;
    match wire::single(params, "response_type")? {
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::bad_request(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        None => {
            return Err(OAuthError::invalid_request(
                "the response_type parameter is missing; send response_type=code",
            ));
        }
    }
    if !client.may_use("authorization_code") {
        return Err(OAuthError::bad_request(
            "unauthorized_client",
            "this client did not register the authorization_code grant",
        ));
    }
    let challenge = wire::single(params, "code_challenge")?.ok_or_else(|| {
        OAuthError::invalid_request(
            "PKCE is required: send code_challenge and code_challenge_method=S256",
        )
    })?;
    match wire::single(params, "code_challenge_method")? {
        Some("S256") => {}
        Some("plain") => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method plain is not supported; use S256",
            ));
        }
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "unknown code_challenge_method; use S256",
            ));
        }
        None => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method is missing (it would default to plain, which is not supported); send code_challenge_method=S256",
            ));
        }
    }
    if !is_s256_challenge(challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be BASE64URL(SHA256(code_verifier)): 43 base64url characters",
        ));
    }
    let scopes = granted_scopes(shared, client, wire::single(params, "scope")?)?;
    let resources = wire::resources(params)?;
    Ok(Authorization {
        client_id: client.client_id.clone(),
        redirect_uri: target.redirect_uri.clone(),
        redirect_uri_sent: target.redirect_uri_sent,
        code_challenge: challenge.to_owned(),
        scopes,
        resources: resources.into_iter().map(str::to_owned).collect(),
        state: target.state.map(str::to_owned),
        subject: shared.user.clone(),
    })
}

/// The requested scopes, limited to the server's `scopes_supported` (when configured); without
/// `scope`, the client's registered one.
///
/// The registered `scope` is only a default, not a cap: MCP clients register with the scope of
/// their first challenge and step up later (a `403 insufficient_scope` names more), and RFC 7591
/// leaves it to the server whether to enforce it. Refusing the step-up would test our clients
/// against a stricter server than the flow is designed for.
fn granted_scopes(
    shared: &Shared,
    client: &Client,
    scope: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let requested = wire::scope_tokens(scope)?;
    if scope.is_none() {
        return Ok(client.scope.clone().unwrap_or_default());
    }
    if let Some(unknown) = requested
        .iter()
        .find(|s| !shared.scopes.is_empty() && !shared.scopes.contains(s))
    {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            format!("the scope `{unknown}` is not in scopes_supported"),
        ));
    }
    Ok(requested)
}

/// 43 base64url characters: the encoding of a SHA-256 digest without padding.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The answer to the consent form: a redirect with a code (approve) or `access_denied`.
fn consent_form(shared: &Shared, form: &Form) -> Response {
    let field = |name: &str| wire::single(form, name).ok().flatten();
    let (Some(request_id), Some(csrf)) = (field("request_id"), field("csrf_token")) else {
        return error_page(
            shared,
            StatusCode::BAD_REQUEST,
            "the consent form lacks its `request_id` or `csrf_token`".into(),
        );
    };
    let approve = match field("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return error_page(
                shared,
                StatusCode::BAD_REQUEST,
                "the consent form must send `decision=approve` or `decision=deny`".into(),
            );
        }
    };
    let now = shared.clock.unix_seconds();
    let authorization = match shared.grants.take_consent(request_id, csrf, now) {
        Ok(authorization) => authorization,
        Err(ConsentError::Unknown) => {
            return error_page(
                shared,
                StatusCode::BAD_REQUEST,
                PageError::after_restart(
                    "this consent request is unknown, already answered or expired; start the authorization again",
                ),
            );
        }
        Err(ConsentError::BadCsrf) => {
            return error_page(
                shared,
                StatusCode::BAD_REQUEST,
                "the CSRF token does not match this consent request".into(),
            );
        }
    };
    let state = authorization.state.clone();
    let redirect_uri = authorization.redirect_uri.clone();
    if approve {
        let code = shared.grants.issue_code(authorization, now);
        redirect(
            shared,
            &redirect_uri,
            &[("code", &code)],
            state.as_deref(),
            StatusCode::SEE_OTHER,
        )
    } else {
        redirect(
            shared,
            &redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied the request"),
            ],
            state.as_deref(),
            StatusCode::SEE_OTHER,
        )
    }
}

/// A redirect to the client with `params`, then `state` (if any) and `iss` (RFC 9207).
fn redirect(
    shared: &Shared,
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    status: StatusCode,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the registered redirect URI cannot be parsed".into(),
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &shared.layout.issuer);
    }
    let Ok(location) = HeaderValue::from_str(url.as_str()) else {
        return error_page(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the redirect URI is not a valid header value".into(),
        );
    };
    let mut response = status.into_response();
    response.headers_mut().insert(LOCATION, location);
    wire::no_store(response.headers_mut());
    response
}

/// The consent page, with the request id and CSRF token its form sends back.
fn consent_page(
    shared: &Shared,
    client: &Client,
    authorization: &Authorization,
    request_id: &str,
    csrf: &str,
) -> String {
    let list = |items: &[String], none: &str| {
        if items.is_empty() {
            return format!("<p><em>{}</em></p>", escape(none));
        }
        let mut out = String::from("<ul>");
        for item in items {
            let _ = write!(out, "<li><code>{}</code></li>", escape(item));
        }
        out.push_str("</ul>");
        out
    };
    let name = escape(client.display_name());
    let body = format!(
        r#"<h1>Authorize <span id="client-name">{name}</span></h1>
<p><strong>{name}</strong> (client <code>{client_id}</code>) asks to act as <strong>{user}</strong>.</p>
<h2>Scopes</h2>{scopes}
<h2>Resources</h2>{resources}
<h2>Redirect URI</h2><p><code>{redirect}</code></p>
<form method="post" action="{action}">
<input type="hidden" name="request_id" value="{request_id}">
<input type="hidden" name="csrf_token" value="{csrf}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>"#,
        client_id = escape(&client.client_id),
        user = escape(&authorization.subject),
        scopes = list(&authorization.scopes, "no scope"),
        resources = list(&authorization.resources, "no resource indicated"),
        redirect = escape(&authorization.redirect_uri),
        action = escape(&shared.layout.authorization_endpoint),
        request_id = escape(request_id),
        csrf = escape(csrf),
    );
    page(shared, &format!("Authorize {name}"), &body)
}

/// An error shown to the user instead of a redirect: its message, with `code` spans, and
/// whether it typically follows a restart of this server.
struct PageError {
    message: String,
    after_restart: bool,
}

impl PageError {
    /// An error that a client which outlived a restart of this server runs into (it holds a
    /// client id, redirect URI or pending request the server has forgotten): the page adds
    /// [`RESTART_HINT`].
    fn after_restart(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            after_restart: true,
        }
    }
}

impl From<String> for PageError {
    fn from(message: String) -> Self {
        Self {
            message,
            after_restart: false,
        }
    }
}

impl From<&str> for PageError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

/// What to do when a client holds state from before a restart of this server (HTML).
const RESTART_HINT: &str = "The development server keeps registered clients in memory: after a restart, clear your client's OAuth state (MCP Inspector: <strong>Clear OAuth State</strong>; Claude Code: <code>/mcp</code> &rarr; <strong>Authenticate</strong>) and connect again.";

/// An error shown to the user instead of a redirect.
fn error_page(shared: &Shared, status: StatusCode, error: PageError) -> Response {
    let mut body = format!(
        "<h1>Authorization error</h1>\n<p id=\"error\" class=\"error\">{}</p>",
        with_code(&error.message)
    );
    if error.after_restart {
        let _ = write!(body, "\n<p id=\"hint\" class=\"hint\">{RESTART_HINT}</p>");
    }
    html(status, page(shared, "Authorization error", &body))
}

/// The style of every page: inline, since the CSP allows no other source.
const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;color:#1f2328;background:#fff;max-width:38rem;margin:3rem auto;padding:0 1rem}\
h1{font-size:1.5rem}h2{font-size:1.05rem;margin:1.5rem 0 .25rem}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;background:#eff1f3;border-radius:4px;padding:.1em .35em;overflow-wrap:anywhere}\
.error,.hint{border-left:4px solid;border-radius:4px;padding:.75rem 1rem}\
.error{border-color:#cf222e;background:#ffebe9}.hint{border-color:#0969da;background:#ddf4ff}\
button{font:inherit;padding:.5rem 1.5rem;margin-right:1rem;border:1px solid #8c959f;border-radius:6px;background:#f6f8fa;cursor:pointer}\
button[value=approve]{background:#1f883d;border-color:#1f883d;color:#fff}\
footer{margin-top:2.5rem;color:#59636e;font-size:.85rem}";

/// A whole page: `title` and `body` are HTML (already escaped).
fn page(shared: &Shared, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head><body>\n{body}\n\
         <footer>Development authorization server of mcp-auth. Issuer <code>{issuer}</code>.</footer>\n\
         </body></html>\n",
        issuer = escape(&shared.layout.issuer),
    )
}

/// Escapes `text` for HTML and renders its `code` spans (between backticks) as `<code>`; an
/// unpaired backtick stays as it is.
fn with_code(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len());
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 0 {
            out.push_str(&escape(part));
        } else if i + 1 == parts.len() {
            out.push('`');
            out.push_str(&escape(part));
        } else {
            let _ = write!(out, "<code>{}</code>", escape(part));
        }
    }
    out
}

/// An HTML response that may not be framed, cached or leak its URL.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralizes_markup() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
    }

    #[test]
    fn code_spans_become_code_elements_and_stay_escaped() {
        assert_eq!(
            with_code("the `redirect_uri` <x> `a&b`"),
            "the <code>redirect_uri</code> &lt;x&gt; <code>a&amp;b</code>"
        );
        assert_eq!(with_code("no code"), "no code");
        assert_eq!(with_code("`x` and `<y>"), "<code>x</code> and `&lt;y&gt;");
        assert_eq!(with_code(""), "");
    }

    #[test]
    fn s256_challenges_are_43_base64url_characters() {
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_s256_challenge("short"));
        assert!(!is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
        assert!(!is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="
        ));
    }
}
