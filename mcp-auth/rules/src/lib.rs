//! The rules that `mcp-auth` checks at run time and `mcp-auth-macros` checks at compile time.
//!
//! Everything here is a pure function over strings: no I/O, no global state. One implementation
//! serves both crates, so a literal accepted by `#[mcp_resource]` is exactly a value accepted by
//! the runtime builder, and the reverse.
//!
//! * [`resource_id`] checks and canonicalises a protected-resource identifier (RFC 9728 §1.2, MCP
//!   canonical URIs; https only, RFC 9728 §7.1).
//! * [`issuer`] checks an authorization-server issuer identifier (RFC 8414 §2), which is kept
//!   byte-exact (RFC 8414 §3.3).
//! * [`https_url`] checks the other URLs of a metadata document (`resource_documentation`, ...).
//! * [`scope_token`] and [`scope_list`] check RFC 6749 §3.3 scope tokens; [`role_name`],
//!   [`role_list`] and [`claim_path`] the roles a resource declares and where a token holds them.
//! * [`uri_template`] parses MCP resource templates (RFC 6570) and decides the URIs they cover.
//! * [`metadata_path`] and [`metadata_url`] build the RFC 9728 §3.1 path-inserted well-known
//!   location, and [`discovery_urls`] the RFC 8414 / OIDC discovery URLs in MCP's order.
//! * [`same_uri`] is the one URI comparison (the case of scheme and host, a default port and an
//!   empty path; no URL parsing), which [`audience_matches`] (an `aud` value against a resource identifier, RFC 8707
//!   / MCP's audience-validation rule) and [`htu_matches`] (a DPoP proof's `htu` against the
//!   request URI, RFC 9449 §4.3) apply.
//! * [`metadata_json`] writes the bytes of an RFC 9728 metadata document.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod metadata_json;
pub mod uri_template;

use std::fmt;

use url::{Host, Url};

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The value must be rejected.
    Error,
    /// The value is allowed but not recommended; the runtime logs it. The macros, which cannot
    /// warn on stable Rust, report it as an error that explains the runtime alternative.
    Warning,
}

/// What is wrong with a value. Each variant has a stable meaning; [`Problem::message`] says how
/// to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The value is not an absolute URL.
    NotAbsoluteUrl,
    /// The scheme is neither `https` nor, for loopback hosts, `http`.
    NotHttps,
    /// The URL has a `#fragment`.
    Fragment,
    /// The URL has a `?query`.
    Query,
    /// The URL has `user:password@`.
    Userinfo,
    /// The URL is not in canonical form (upper-case scheme or host, default port, trailing
    /// slash); [`Problem::suggestion`] holds the canonical form.
    NotCanonical,
    /// The string is not an RFC 6749 scope token.
    InvalidScope,
    /// The same scope is listed twice.
    DuplicateScope,
    /// `offline_access` is listed (MCP: it should not be advertised).
    OfflineAccess,
    /// The list is empty where at least one entry is required.
    Empty,
    /// The string is not a role name (empty, or with whitespace or a control character).
    InvalidRole,
    /// The same role is listed twice.
    DuplicateRole,
    /// The claim path is not dot-separated claim names.
    InvalidClaimPath,
}

/// One finding about a value, with a message that names the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// Whether it must be rejected.
    pub severity: Severity,
    /// A sentence that says what is wrong and how to fix it.
    pub message: String,
    /// The corrected value, where there is one.
    pub suggestion: Option<String>,
}

impl Problem {
    fn error(kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            severity: Severity::Error,
            message: message.into(),
            suggestion: None,
        }
    }

    /// `true` for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The outcome of checking a URL: the problems found and, when it parsed, its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCheck {
    /// The canonical form (lower-case scheme and host, no default port, no trailing slash),
    /// `None` when the value is not an absolute URL.
    pub canonical: Option<String>,
    /// Everything found, errors and warnings.
    pub problems: Vec<Problem>,
}

impl UrlCheck {
    /// `true` when no problem is an error.
    pub fn is_ok(&self) -> bool {
        !self.problems.iter().any(Problem::is_error)
    }

    /// The problems that are errors.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }

    /// The problems that are warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| !p.is_error())
    }
}

/// `true` for `localhost`, `127.0.0.0/8` and `[::1]`: the hosts for which `http` is allowed.
pub fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Parses `value` as an absolute `http`/`https` URL with a host; `None` (and a problem) when it
/// is not one.
fn parse_absolute(field: &str, value: &str, problems: &mut Vec<Problem>) -> Option<Url> {
    let parsed = Url::parse(value);
    match parsed {
        Ok(url) if url.has_host() && matches!(url.scheme(), "http" | "https") => Some(url),
        Ok(url) if url.has_host() || url.cannot_be_a_base() && value.contains("://") => {
            problems.push(Problem::error(
                ProblemKind::NotHttps,
                format!(
                    "{field} `{value}` uses the `{}` scheme; use `https://` (or `http://` for a loopback host such as 127.0.0.1)",
                    url.scheme()
                ),
            ));
            None
        }
        _ => {
            problems.push(Problem::error(
                ProblemKind::NotAbsoluteUrl,
                format!(
                    "{field} `{value}` is not an absolute URL; write it with its scheme and host, e.g. `https://{}`",
                    value.trim_start_matches('/')
                ),
            ));
            None
        }
    }
}

/// Checks scheme, userinfo and fragment, shared by every kind of URL.
fn check_common(field: &str, value: &str, url: &Url, problems: &mut Vec<Problem>) {
    if url.scheme() == "http" && !url.host().is_some_and(|h| is_loopback_host(&h)) {
        problems.push(Problem::error(
            ProblemKind::NotHttps,
            format!(
                "{field} `{value}` must use https; plain http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1])"
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        problems.push(Problem::error(
            ProblemKind::Userinfo,
            format!("{field} `{value}` must not contain `user:password@`; remove the userinfo"),
        ));
    }
    if url.fragment().is_some() {
        problems.push(Problem::error(
            ProblemKind::Fragment,
            format!("{field} `{value}` must not contain a `#fragment`; remove it"),
        ));
    }
}

/// The canonical form of a parsed URL: `url` already lower-cases scheme and host and drops the
/// default port; we also drop a trailing slash of the path (and the lone `/` of an empty path).
fn canonical_form(url: &Url) -> String {
    let mut out = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        out.push_str(host);
    }
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let path = url.path();
    out.push_str(path.strip_suffix('/').unwrap_or(path));
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Checks a protected-resource identifier (RFC 9728 §1.2, MCP canonical server URI).
///
/// Errors: not an absolute URL, not https (http only for loopback hosts), userinfo, fragment,
/// not canonical (the suggestion holds the canonical form). Warning: a query (RFC 9728 §1.2:
/// "SHOULD NOT"). The runtime publishes [`UrlCheck::canonical`]; the macros require the literal
/// to be canonical already.
pub fn resource_id(value: &str) -> UrlCheck {
    let field = "resource identifier";
    let mut problems = Vec::new();
    let Some(url) = parse_absolute(field, value, &mut problems) else {
        return UrlCheck {
            canonical: None,
            problems,
        };
    };
    check_common(field, value, &url, &mut problems);
    if url.query().is_some() {
        problems.push(Problem {
            kind: ProblemKind::Query,
            severity: Severity::Warning,
            message: format!(
                "{field} `{value}` has a query; RFC 9728 says it SHOULD NOT, move it into the path"
            ),
            suggestion: None,
        });
    }
    let canonical = canonical_form(&url);
    if canonical != value && url.fragment().is_none() {
        problems.push(Problem {
            kind: ProblemKind::NotCanonical,
            severity: Severity::Error,
            message: format!(
                "{field} `{value}` is not in canonical form (lower-case scheme and host, no default port, no trailing slash); write `{canonical}`"
            ),
            suggestion: Some(canonical.clone()),
        });
    }
    UrlCheck {
        canonical: Some(canonical),
        problems,
    }
}

/// Checks an authorization-server issuer identifier (RFC 8414 §2).
///
/// The issuer is compared byte for byte with the `issuer` of the server's metadata and the `iss`
/// of its tokens, so it is never rewritten: a trailing slash is kept (Auth0 issuers end in
/// `/`). Errors: not an absolute URL, not https (http only for loopback hosts), userinfo, query,
/// fragment, upper-case scheme or host or an explicit default port (no real issuer has them;
/// the suggestion holds the lower-case form).
pub fn issuer(value: &str) -> UrlCheck {
    let field = "issuer";
    let mut problems = Vec::new();
    let Some(url) = parse_absolute(field, value, &mut problems) else {
        return UrlCheck {
            canonical: None,
            problems,
        };
    };
    check_common(field, value, &url, &mut problems);
    if url.query().is_some() {
        problems.push(Problem::error(
            ProblemKind::Query,
            format!("{field} `{value}` must not contain a `?query` (RFC 8414 §2); remove it"),
        ));
    }
    // Keep the trailing slash exactly as written; only case and default port are "fixable".
    let mut expected = canonical_form(&url);
    if value.ends_with('/') && url.query().is_none() && url.fragment().is_none() {
        expected.push('/');
    }
    if expected != value && url.query().is_none() && url.fragment().is_none() {
        problems.push(Problem {
            kind: ProblemKind::NotCanonical,
            severity: Severity::Error,
            message: format!(
                "{field} `{value}` is not in canonical form (lower-case scheme and host, no default port); write `{expected}` exactly as the authorization server's metadata spells it"
            ),
            suggestion: Some(expected.clone()),
        });
    }
    UrlCheck {
        canonical: Some(value.to_owned()),
        problems,
    }
}

/// Checks an absolute `https` URL of a metadata field (`resource_documentation`,
/// `resource_policy_uri`, `resource_tos_uri`, `jwks_uri`, ...). `http` is allowed for loopback
/// hosts. The value is published as written.
pub fn https_url(field: &str, value: &str) -> UrlCheck {
    let mut problems = Vec::new();
    let Some(url) = parse_absolute(field, value, &mut problems) else {
        return UrlCheck {
            canonical: None,
            problems,
        };
    };
    check_common(field, value, &url, &mut problems);
    UrlCheck {
        canonical: Some(value.to_owned()),
        problems,
    }
}

/// Checks one RFC 6749 §3.3 scope token: `1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn scope_token(scope: &str) -> Result<(), Problem> {
    if scope.is_empty() {
        return Err(Problem::error(
            ProblemKind::InvalidScope,
            "a scope must not be empty",
        ));
    }
    if let Some(bad) = scope.chars().find(|&c| !is_scope_char(c)) {
        let shown = match bad {
            ' ' => "a space".to_owned(),
            c if c.is_control() => format!("the control character U+{:04X}", c as u32),
            c => format!("`{c}`"),
        };
        return Err(Problem::error(
            ProblemKind::InvalidScope,
            format!(
                "scope `{}` contains {shown}; a scope token is printable ASCII without spaces, `\"` or `\\` (RFC 6749 §3.3)",
                scope.escape_default()
            ),
        ));
    }
    Ok(())
}

fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Checks a list of scopes to advertise: each a valid token, no duplicates, no `offline_access`
/// (MCP advises against it). Returns every problem with the index of the entry it concerns.
pub fn scope_list<'a>(scopes: impl IntoIterator<Item = &'a str>) -> Vec<(usize, Problem)> {
    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, scope) in scopes.into_iter().enumerate() {
        if let Err(p) = scope_token(scope) {
            problems.push((i, p));
        } else if scope == "offline_access" {
            problems.push((
                i,
                Problem::error(
                    ProblemKind::OfflineAccess,
                    "`offline_access` must not be advertised in `scopes_supported` (MCP 2026-07-28, SEP-2207); clients ask the authorization server for it directly",
                ),
            ));
        }
        if seen.contains(&scope) {
            problems.push((
                i,
                Problem::error(
                    ProblemKind::DuplicateScope,
                    format!(
                        "scope `{}` is listed twice; remove one",
                        scope.escape_default()
                    ),
                ),
            ));
        } else {
            seen.push(scope);
        }
    }
    problems
}

/// Checks a role name: not empty, no whitespace (a token may hold its roles as one
/// space-separated string), no control character.
///
/// ```
/// # use mcp_auth_rules::role_name;
/// assert!(role_name("notes-admin").is_ok());
/// assert!(role_name("notes admin").is_err());
/// ```
pub fn role_name(role: &str) -> Result<(), Problem> {
    if role.is_empty() {
        return Err(Problem::error(
            ProblemKind::InvalidRole,
            "a role must not be empty",
        ));
    }
    if let Some(bad) = role.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(Problem::error(
            ProblemKind::InvalidRole,
            format!(
                "role `{}` contains U+{:04X}; a role name has no whitespace or control character (tokens may list roles in one space-separated string)",
                role.escape_default(),
                bad as u32
            ),
        ));
    }
    Ok(())
}

/// Checks the roles a resource declares: each a valid name ([`role_name`]), none twice. Returns
/// every problem with the index of the entry it concerns.
pub fn role_list<'a>(roles: impl IntoIterator<Item = &'a str>) -> Vec<(usize, Problem)> {
    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, role) in roles.into_iter().enumerate() {
        if let Err(p) = role_name(role) {
            problems.push((i, p));
        }
        if seen.contains(&role) {
            problems.push((
                i,
                Problem::error(
                    ProblemKind::DuplicateRole,
                    format!(
                        "role `{}` is listed twice; remove one",
                        role.escape_default()
                    ),
                ),
            ));
        } else {
            seen.push(role);
        }
    }
    problems
}

/// Checks where a token holds its roles: claim names separated by dots, for a nested claim
/// (`realm_access.roles`, Keycloak's realm roles), each name not empty and without whitespace.
///
/// ```
/// # use mcp_auth_rules::claim_path;
/// assert!(claim_path("realm_access.roles").is_ok());
/// assert!(claim_path("realm_access..roles").is_err());
/// ```
pub fn claim_path(path: &str) -> Result<(), Problem> {
    let bad = path
        .split('.')
        .any(|name| name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()));
    if bad {
        return Err(Problem::error(
            ProblemKind::InvalidClaimPath,
            format!(
                "`{}` is not a claim path: claim names separated by dots, such as `roles` or `realm_access.roles`",
                path.escape_default()
            ),
        ));
    }
    Ok(())
}

/// The RFC 9728 §3.1 well-known suffix.
pub const PROTECTED_RESOURCE_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The path (and query) at which the metadata of `resource` is served (RFC 9728 §3.1): the
/// well-known suffix inserted between the host and the path, a terminating `/` after the host
/// removed.
///
/// `resource` should be canonical ([`resource_id`]); `None` when it is not an absolute URL.
///
/// ```
/// # use mcp_auth_rules::metadata_path;
/// assert_eq!(metadata_path("https://mcp.example.com/mcp").unwrap(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(metadata_path("https://mcp.example.com").unwrap(), "/.well-known/oauth-protected-resource");
/// ```
pub fn metadata_path(resource: &str) -> Option<String> {
    let url = Url::parse(resource).ok().filter(Url::has_host)?;
    let path = url.path();
    let path = if path == "/" { "" } else { path };
    let mut out = format!("{PROTECTED_RESOURCE_WELL_KNOWN}{path}");
    if let Some(q) = url.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// The absolute URL of the metadata of `resource` (RFC 9728 §3.1), the value of the challenge's
/// `resource_metadata` (RFC 9728 §5.1).
///
/// ```
/// # use mcp_auth_rules::metadata_url;
/// assert_eq!(
///     metadata_url("https://mcp.example.com:8443/t/acme/mcp").unwrap(),
///     "https://mcp.example.com:8443/.well-known/oauth-protected-resource/t/acme/mcp"
/// );
/// ```
pub fn metadata_url(resource: &str) -> Option<String> {
    let url = Url::parse(resource).ok().filter(Url::has_host)?;
    let path = metadata_path(resource)?;
    Some(format!("{}{path}", origin(&url)))
}

fn origin(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out
}

/// Which discovery documents an authorization server is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum DiscoveryKind {
    /// RFC 8414 `/.well-known/oauth-authorization-server` only.
    OAuth,
    /// OpenID Connect Discovery `openid-configuration` (insertion, then appending).
    Oidc,
    /// Both, in the MCP order: RFC 8414 first, then OIDC.
    #[default]
    Auto,
}

/// The discovery URLs for `issuer`, in the order MCP clients try them. A terminating `/` of
/// the issuer is removed before building them (RFC 8414 §3.1, OIDC Discovery §4).
///
/// `None` when `issuer` is not an absolute URL.
///
/// ```
/// # use mcp_auth_rules::{discovery_urls, DiscoveryKind};
/// assert_eq!(
///     discovery_urls("https://auth.example.com/tenant1", DiscoveryKind::Auto).unwrap(),
///     [
///         "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
///         "https://auth.example.com/.well-known/openid-configuration/tenant1",
///         "https://auth.example.com/tenant1/.well-known/openid-configuration",
///     ]
/// );
/// ```
pub fn discovery_urls(issuer: &str, kind: DiscoveryKind) -> Option<Vec<String>> {
    let url = Url::parse(issuer).ok().filter(Url::has_host)?;
    let origin = origin(&url);
    let path = url.path().trim_end_matches('/');
    let oauth = format!("{origin}/.well-known/oauth-authorization-server{path}");
    let oidc_insert = format!("{origin}/.well-known/openid-configuration{path}");
    let oidc_append = format!("{origin}{path}/.well-known/openid-configuration");
    let oidc = if path.is_empty() {
        vec![oidc_insert]
    } else {
        vec![oidc_insert, oidc_append]
    };
    Some(match kind {
        DiscoveryKind::OAuth => vec![oauth],
        DiscoveryKind::Oidc => oidc,
        DiscoveryKind::Auto => std::iter::once(oauth).chain(oidc).collect(),
    })
}

/// Whether the audience value `aud` designates `resource` (RFC 8707 / MCP's audience-validation
/// rule): the two are the same URI by [`same_uri`].
///
/// RFC 7519 §2 compares StringOrURI values as strings. The only relaxations are MCP's ("SHOULD
/// accept uppercase scheme and host") and RFC 3986 §6.2.3's default port and empty path (see
/// [`same_uri`]). Nothing else is normalised: no URL parsing, so dot segments (`/x/../mcp`), IPv4
/// shorthands (`2130706433`, `127.1`, `0x7f.0.0.1`), a port with a leading zero (`:0443`),
/// percent-encoding and IDNA spellings are all different audiences: an authorization server that
/// keys its policy on the exact resource string treats them as different resources. Paths and
/// queries are compared exactly, so a trailing slash is a different resource:
/// `https://mcp.example.com/mcp/` does not match `https://mcp.example.com/mcp` (our rule; RFC 8707
/// and MCP leave it open). A value that is not an `http` or `https` URL (`api://mcp-server`), or
/// has userinfo or a fragment, matches only itself.
///
/// ```
/// # use mcp_auth_rules::audience_matches;
/// let r = "https://mcp.example.com/mcp";
/// assert!(audience_matches("HTTPS://MCP.example.com:443/mcp", r));
/// assert!(!audience_matches("https://mcp.example.com/x/../mcp", r));
/// assert!(!audience_matches("https://mcp.example.com/%6Dcp", r));
/// ```
pub fn audience_matches(aud: &str, resource: &str) -> bool {
    same_uri(aud, resource)
}

/// Whether a DPoP proof's `htu` claim names the request URI `request_uri` (RFC 9449 §4.3 step 9):
/// both without their query and fragment, the same URI by [`same_uri`], the audience's rule.
/// Only `http` and `https` URIs name a request.
///
/// What a browser-style URL parser would also rewrite (`127.1`, a trailing dot, `:04362`, a
/// backslash, a tab, dot segments, percent-encodings) is another URI, refused.
///
/// ```
/// # use mcp_auth_rules::htu_matches;
/// let request = "http://127.0.0.1:4362/mcp";
/// assert!(htu_matches("HTTP://127.0.0.1:4362/mcp?page=2#top", request));
/// assert!(!htu_matches("http://127.1:4362/mcp", request));
/// assert!(!htu_matches("http://127.0.0.1:04362/mcp", request));
/// ```
pub fn htu_matches(htu: &str, request_uri: &str) -> bool {
    fn without_query(uri: &str) -> &str {
        uri.find(['?', '#']).map_or(uri, |end| &uri[..end])
    }
    match (
        comparison_form(without_query(htu)),
        comparison_form(without_query(request_uri)),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether `a` and `b` are one `http`/`https` URI spelled two ways, or the same string.
///
/// The one URI comparison of this crate, for audiences ([`audience_matches`]) and DPoP's `htu`
/// ([`htu_matches`]). On the string, with no URL parsing, it relaxes only what cannot name
/// another resource:
/// - the case of the scheme and the host (ASCII; RFC 3986 §6.2.2.1, MCP's "SHOULD accept
///   uppercase scheme and host");
/// - a default port (`:443` for `https`, `:80` for `http`, written exactly so) equals no port,
///   and an empty path equals `/` (RFC 3986 §6.2.3).
///
/// Every other spelling is another URI: dot segments, percent-encodings (of unreserved
/// characters too), IPv4 shorthands, ports with leading zeros, trailing dots in hosts,
/// backslashes, whitespace and IDNA spellings. Any other scheme, userinfo or a fragment: only
/// the identical string matches.
///
/// ```
/// # use mcp_auth_rules::same_uri;
/// assert!(same_uri("HTTPS://Mcp.Example.com:443/a", "https://mcp.example.com/a"));
/// assert!(same_uri("https://mcp.example.com", "https://mcp.example.com/"));
/// assert!(!same_uri("https://mcp.example.com./a", "https://mcp.example.com/a"));
/// assert!(!same_uri("https://mcp.example.com/%61", "https://mcp.example.com/a"));
/// ```
pub fn same_uri(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (comparison_form(a), comparison_form(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The form [`same_uri`] compares: `scheme://host[:port]` lower-cased without a default port,
/// then the path and query as written, an empty path as `/`. `None` for anything but an
/// `http`/`https` URI without userinfo and fragment. String operations only.
fn comparison_form(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        // Other schemes (`api://mcp-server`) have no case-insensitive host: exact match only.
        _ => return None,
    };
    if rest.contains('#') {
        return None;
    }
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    // The port follows the last `:` outside an IPv6 literal.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let mut out = String::with_capacity(value.len() + 1);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host.to_ascii_lowercase());
    if let Some(port) = port
        && port != default_port
    {
        out.push(':');
        out.push_str(port);
    }
    if !tail.starts_with('/') {
        out.push('/');
    }
    out.push_str(tail);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(c: &UrlCheck) -> Vec<ProblemKind> {
        c.problems.iter().map(|p| p.kind).collect()
    }

    #[test]
    fn rs03_resource_id_rules() {
        assert!(
            resource_id("https://mcp.example.com/mcp")
                .problems
                .is_empty()
        );
        assert_eq!(
            kinds(&resource_id("mcp.example.com")),
            [ProblemKind::NotAbsoluteUrl]
        );
        assert!(
            kinds(&resource_id("https://mcp.example.com#frag")).contains(&ProblemKind::Fragment)
        );
        let q = resource_id("https://mcp.example.com?tenant=a");
        assert!(q.is_ok(), "a query is only a warning: {q:?}");
        assert_eq!(q.warnings().count(), 1);
        let c = resource_id("HTTPS://MCP.Example.com/mcp");
        assert_eq!(c.canonical.as_deref(), Some("https://mcp.example.com/mcp"));
        assert_eq!(kinds(&c), [ProblemKind::NotCanonical]);
        assert_eq!(
            resource_id("https://mcp.example.com/").canonical.as_deref(),
            Some("https://mcp.example.com")
        );
        assert_eq!(
            resource_id("https://mcp.example.com:443/mcp").problems[0]
                .suggestion
                .as_deref(),
            Some("https://mcp.example.com/mcp")
        );
        assert!(
            kinds(&resource_id("https://u:p@mcp.example.com/mcp")).contains(&ProblemKind::Userinfo)
        );
    }

    #[test]
    fn rs15_http_only_for_loopback() {
        assert!(resource_id("http://127.0.0.1:3000/mcp").is_ok());
        assert!(resource_id("http://localhost:3000/mcp").is_ok());
        assert!(resource_id("http://[::1]:3000/mcp").is_ok());
        assert_eq!(
            kinds(&resource_id("http://mcp.example.com/mcp")),
            [ProblemKind::NotHttps]
        );
        assert_eq!(
            kinds(&resource_id("ftp://mcp.example.com/mcp")),
            [ProblemKind::NotHttps]
        );
        assert!(!issuer("http://auth.example.com").is_ok());
    }

    #[test]
    fn rs02_issuer_kept_byte_exact() {
        let c = issuer("https://tenant.auth0.com/");
        assert!(c.problems.is_empty(), "{c:?}");
        assert_eq!(c.canonical.as_deref(), Some("https://tenant.auth0.com/"));
        assert!(issuer("https://auth.example.com").problems.is_empty());
        assert!(!issuer("https://auth.example.com?x=1").is_ok());
        assert_eq!(
            issuer("https://Auth.Example.com/").problems[0]
                .suggestion
                .as_deref(),
            Some("https://auth.example.com/")
        );
    }

    #[test]
    fn scope_tokens() {
        assert!(scope_token("read:notes").is_ok());
        assert!(scope_token("a b").is_err());
        assert!(scope_token("a\"b").is_err());
        assert!(scope_token("a\\b").is_err());
        assert!(scope_token("é").is_err());
        assert!(scope_token("").is_err());
        let p = scope_list(["a", "b", "a", "offline_access"]);
        assert_eq!(
            p.iter().map(|(i, p)| (*i, p.kind)).collect::<Vec<_>>(),
            [
                (2, ProblemKind::DuplicateScope),
                (3, ProblemKind::OfflineAccess)
            ]
        );
    }

    #[test]
    fn rs05_metadata_locations() {
        let rows = [
            (
                "https://mcp.example.com",
                "https://mcp.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://example.com/public/mcp",
                "https://example.com/.well-known/oauth-protected-resource/public/mcp",
            ),
            (
                "https://mcp.example.com:8443/t/acme/mcp",
                "https://mcp.example.com:8443/.well-known/oauth-protected-resource/t/acme/mcp",
            ),
            (
                "https://mcp.example.com?tenant=a",
                "https://mcp.example.com/.well-known/oauth-protected-resource?tenant=a",
            ),
            (
                "https://mcp.example.com/mcp/",
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp/",
            ),
        ];
        for (resource, url) in rows {
            assert_eq!(metadata_url(resource).as_deref(), Some(url), "{resource}");
        }
    }

    #[test]
    fn rs43_discovery_urls() {
        assert_eq!(
            discovery_urls("https://auth.example.com/", DiscoveryKind::Auto).unwrap(),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            discovery_urls("https://auth.example.com/tenant1/", DiscoveryKind::Oidc).unwrap(),
            [
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            discovery_urls("https://auth.example.com/t", DiscoveryKind::OAuth).unwrap(),
            ["https://auth.example.com/.well-known/oauth-authorization-server/t"]
        );
    }

    #[test]
    fn rs34_audience_comparison() {
        let r = "https://mcp.example.com/mcp";
        assert!(audience_matches(r, r));
        assert!(audience_matches("HTTPS://MCP.EXAMPLE.COM/mcp", r));
        assert!(audience_matches("https://mcp.example.com:443/mcp", r));
        assert!(!audience_matches("https://mcp.example.com/mcp/", r));
        assert!(!audience_matches("https://mcp.example.com/MCP", r));
        assert!(!audience_matches("https://other.example/mcp", r));
        assert!(audience_matches(
            "https://mcp.example.com/",
            "https://mcp.example.com"
        ));
        assert!(audience_matches("api://mcp-server", "api://mcp-server"));
        assert!(!audience_matches("api://MCP-server", "api://mcp-server"));
    }

    #[test]
    fn rs34_audience_is_compared_as_a_string_not_after_url_parsing() {
        let r = "https://mcp.example.com/mcp";
        for other in [
            "https://mcp.example.com/x/../mcp",
            "https://mcp.example.com/./mcp",
            "https://mcp.example.com:0443/mcp",
            "https://mcp.example.com/%6dcp",
            "https://user@mcp.example.com/mcp",
            "https://mcp.example.com/mcp#f",
            "https://mcp.example.com.:443/mcp",
        ] {
            assert!(!audience_matches(other, r), "{other}");
        }
        let ip = "http://127.0.0.1:8080/mcp";
        for other in [
            "http://2130706433:8080/mcp",
            "http://127.1:8080/mcp",
            "http://0x7f.0.0.1:8080/mcp",
            "http://0177.0.0.1:8080/mcp",
            "http://127.0.0.1:08080/mcp",
        ] {
            assert!(!audience_matches(other, ip), "{other}");
        }
        assert!(audience_matches("HTTP://127.0.0.1:8080/mcp", ip));
        assert!(audience_matches(
            "http://127.0.0.1:80/mcp",
            "http://127.0.0.1/mcp"
        ));
        assert!(!audience_matches(
            "http://127.0.0.1:443/mcp",
            "http://127.0.0.1/mcp"
        ));
        assert!(audience_matches(
            "HTTPS://[::1]:443/mcp",
            "https://[::1]/mcp"
        ));
        assert!(audience_matches(
            "https://mcp.example.com/?q",
            "https://mcp.example.com?q"
        ));
    }

    #[test]
    fn rs34_percent_encodings_are_other_spellings() {
        let r = "https://mcp.example.com/mcp";
        assert!(!audience_matches("https://mcp.example.com/%6dcp", r));
        assert!(!audience_matches("https://mcp.example.com/%6D%63%70", r));
        assert!(!same_uri("https://h/a%2fb", "https://h/a%2Fb"));
        assert!(!same_uri("https://h/%7e", "https://h/~"));
        assert!(same_uri("https://h/a%2Fb", "HTTPS://H:443/a%2Fb"));
    }

    /// RFC 9449 §4.3 step 9 with the audience's rule: the case of scheme and host, a default
    /// port, query and fragment aside; every rewriting a browser-style URL parser would do is
    /// another URI.
    #[test]
    fn htu_follows_the_same_rule_as_the_audience() {
        let request = "http://127.0.0.1:4362/mcp";
        for same in [
            "http://127.0.0.1:4362/mcp",
            "HTTP://127.0.0.1:4362/mcp",
            "http://127.0.0.1:4362/mcp?page=2",
            "http://127.0.0.1:4362/mcp#top",
            "http://127.0.0.1:4362/mcp?a#b",
        ] {
            assert!(htu_matches(same, request), "{same}");
        }
        for other in [
            "http://127.1:4362/mcp",
            "http://2130706433:4362/mcp",
            "http://0x7f.0.0.1:4362/mcp",
            "http://0177.0.0.1:4362/mcp",
            "http://127.0.0.1.:4362/mcp",
            "http://127.0.0.1:04362/mcp",
            "http://127.0.0.1:4362\\mcp",
            "http://127.0.0.1:4362/m\tcp",
            "http://127.0.0.1:4362/\tmcp",
            "http://127.0.0.1:4362/x/../mcp",
            "http://127.0.0.1:4362/./mcp",
            "http://127.0.0.1:4362/mcp/",
            "http://127.0.0.1:4362/MCP",
            "http://127.0.0.1:4362/%6Dcp",
            "https://127.0.0.1:4362/mcp",
            "http://user@127.0.0.1:4362/mcp",
            "ws://127.0.0.1:4362/mcp",
            "/mcp",
            "",
        ] {
            assert!(!htu_matches(other, request), "{other:?}");
        }
        assert!(htu_matches(
            "https://mcp.example.com:443/mcp",
            "https://mcp.example.com/mcp"
        ));
        assert!(htu_matches(
            "https://mcp.example.com",
            "https://mcp.example.com/"
        ));
        assert!(!htu_matches(
            "ftp://mcp.example.com/mcp",
            "ftp://mcp.example.com/mcp"
        ));
    }
}
