//! Extracting the bearer token from a request (RFC 6750 §2, OAuth 2.1 §5.1).
//!
//! Only the `Authorization` request header is read (RFC 6750 §2.1). A token in the query string
//! is never read (MCP forbids it) and the body is never looked at (MCP requires the header).
//! The rules:
//!
//! * `credentials = "Bearer" 1*SP b64token`, the scheme compared case-insensitively, one or
//!   more spaces before the token (`Bearer  T` is accepted);
//! * `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`;
//! * spaces and tabs after the token are tolerated: they are optional whitespace around a field
//!   value (RFC 9110 §5.5), which HTTP parsers strip anyway; the same goes for leading
//!   whitespace;
//! * anything else after `Bearer` is [`MalformedCredentials`], answered with
//!   `400 invalid_request` (RFC 6750 §3.1);
//! * an `Authorization` header with another scheme (`Basic ...`) is
//!   [`BearerOutcome::OtherScheme`]: no usable credentials, answered like a request without
//!   any (RFC 6750 §3.1);
//! * a Bearer header together with an `access_token` query parameter is
//!   [`MalformedCredentials::MultipleMethods`] (RFC 6750 §3.1); the query value itself is never
//!   looked at.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, Uri, header::AUTHORIZATION};
//! use mcp_auth::layer::{BearerOutcome, extract_bearer};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer abc.def-ghi"));
//! let uri: Uri = "/mcp".parse().unwrap();
//! assert_eq!(extract_bearer(&headers, &uri), Ok(BearerOutcome::Token("abc.def-ghi")));
//! ```

use std::fmt;

use http::{HeaderMap, HeaderValue, Uri, header::AUTHORIZATION};

use crate::error::ErrorCode;

/// The authorization scheme of a request's credentials: the challenge that carries the error
/// of its refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// What the `Authorization` header of a well-formed request holds.
///
/// Its `Debug` output never shows the token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BearerOutcome<'a> {
    /// A syntactically valid bearer token, without the scheme and surrounding whitespace. Not
    /// verified yet.
    Token(&'a str),
    /// No `Authorization` header (a query-string `access_token` is ignored: MCP forbids
    /// tokens in the URI).
    Missing,
    /// Only an `Authorization` header with another scheme, e.g. `Basic` (RFC 6750 §3.1): treat it
    /// as a request without credentials.
    OtherScheme,
}

impl fmt::Debug for BearerOutcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(token) => write!(f, "Token(<redacted, {} bytes>)", token.len()),
            Self::Missing => f.write_str("Missing"),
            Self::OtherScheme => f.write_str("OtherScheme"),
        }
    }
}

/// Why the credentials of a request are malformed: answered with `400 invalid_request`
/// (RFC 6750 §3.1).
///
/// The messages describe the shape of the problem only, never the token, so they are fit for
/// logs and for the `error_description` of the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedCredentials {
    /// `Authorization: Bearer` with no token after it.
    #[error("The Authorization header has the Bearer scheme but no token")]
    Empty,
    /// The token has a character outside the RFC 6750 b64token set, or the scheme is not
    /// followed by a space.
    #[error("The bearer token contains characters that a bearer token cannot contain")]
    InvalidCharacters,
    /// More than one value follows `Bearer` (`Bearer a b`).
    #[error("The Authorization header must hold exactly one bearer token after the scheme")]
    ExtraParts,
    /// The request has more than one `Authorization` header.
    #[error("The request has more than one Authorization header")]
    MultipleHeaders,
    /// The token is sent in the `Authorization` header and as an `access_token` query parameter.
    #[error(
        "The request sends an access token in more than one way; send it only in the Authorization header"
    )]
    MultipleMethods,
    /// The header value has bytes outside ASCII.
    #[error("The Authorization header contains non-ASCII bytes")]
    NotAscii,
}

impl MalformedCredentials {
    /// Always [`ErrorCode::InvalidRequest`] (HTTP 400).
    pub(crate) fn code(self) -> ErrorCode {
        ErrorCode::InvalidRequest
    }
}

/// Finds the bearer token of a request. See the module documentation of `bearer.rs`.
///
/// `uri` is only checked for the presence of an `access_token` query parameter, to refuse a
/// request that uses two methods at once.
pub fn extract_bearer<'a>(
    headers: &'a HeaderMap,
    uri: &Uri,
) -> Result<BearerOutcome<'a>, MalformedCredentials> {
    match read_credentials(headers, uri, false) {
        Credentials::None {
            other_scheme: false,
        } => Ok(BearerOutcome::Missing),
        Credentials::None { other_scheme: true } => Ok(BearerOutcome::OtherScheme),
        Credentials::Malformed(_, why) => Err(why),
        Credentials::Token(_, token) => Ok(BearerOutcome::Token(token)),
    }
}

/// The credentials of a request, read once, for the schemes a resource accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// No usable credentials: no `Authorization` header, or one with a scheme the resource
    /// does not take (`other_scheme`).
    None { other_scheme: bool },
    /// An `Authorization` header of a scheme the resource takes, that cannot be read.
    Malformed(Scheme, MalformedCredentials),
    /// A syntactically valid token of `Bearer` or `DPoP` (RFC 9449 §7.1), not verified yet.
    Token(Scheme, &'a str),
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None { other_scheme } => write!(f, "None {{ other_scheme: {other_scheme} }}"),
            Self::Malformed(scheme, why) => write!(f, "Malformed({scheme:?}, {why:?})"),
            Self::Token(scheme, token) => {
                write!(f, "Token({scheme:?}, <redacted, {} bytes>)", token.len())
            }
        }
    }
}

/// Reads the `Authorization` header of a request: `Bearer` always, `DPoP` when `dpop` (the
/// resource accepts it). One rule for both schemes' tokens (RFC 6750 §2.1, RFC 9449 §7.1): see
/// the [module documentation](self). More than one `Authorization` header is malformed
/// whatever they hold.
pub(crate) fn read_credentials<'a>(
    headers: &'a HeaderMap,
    uri: &Uri,
    dpop: bool,
) -> Credentials<'a> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credentials::None {
            other_scheme: false,
        };
    };
    if values.next().is_some() {
        return Credentials::Malformed(Scheme::Bearer, MalformedCredentials::MultipleHeaders);
    }
    let value = trim_ows(value.as_bytes());
    let scheme_len = value.iter().take_while(|&&b| is_tchar(b)).count();
    let (scheme, rest) = value.split_at(scheme_len);
    let scheme = if scheme.eq_ignore_ascii_case(b"bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case(b"dpop") {
        Scheme::Dpop
    } else {
        return Credentials::None { other_scheme: true };
    };
    match parse_token(rest) {
        Err(why) => Credentials::Malformed(scheme, why),
        Ok(_) if has_query_token(uri) => {
            Credentials::Malformed(scheme, MalformedCredentials::MultipleMethods)
        }
        Ok(token) => Credentials::Token(scheme, token),
    }
}

/// Parses what follows the scheme: `1*SP b64token`.
fn parse_token(rest: &[u8]) -> Result<&str, MalformedCredentials> {
    let Some((&first, _)) = rest.split_first() else {
        return Err(MalformedCredentials::Empty);
    };
    if first != b' ' {
        return Err(if first.is_ascii() {
            MalformedCredentials::InvalidCharacters
        } else {
            MalformedCredentials::NotAscii
        });
    }
    // `1*SP` separates the scheme from the token (RFC 6750 §2.1): spaces only, never a tab.
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    let token = &rest[spaces..];
    if token.is_empty() {
        return Err(MalformedCredentials::Empty);
    }
    // The common case in one branch-free pass: every byte a `b64token` character other than
    // `=`. Anything else (padding, whitespace, other bytes) takes the checks below, which
    // classify the problem.
    if b64token_body(token) {
        return std::str::from_utf8(token).map_err(|_| MalformedCredentials::NotAscii);
    }
    if token[0] == b'\t' {
        return Err(MalformedCredentials::InvalidCharacters);
    }
    if token.iter().any(|&b| b == b' ' || b == b'\t') {
        return Err(MalformedCredentials::ExtraParts);
    }
    if !token.is_ascii() {
        return Err(MalformedCredentials::NotAscii);
    }
    if !is_b64token(token) {
        return Err(MalformedCredentials::InvalidCharacters);
    }
    std::str::from_utf8(token).map_err(|_| MalformedCredentials::NotAscii)
}

/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    // A table lookup without early exit: the loop over a ~1 KB token vectorizes.
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..body_len];
    body_len > 0
        && body
            .iter()
            .fold(true, |ok, &b| ok & B64TOKEN[usize::from(b)])
}

/// Whether every byte is `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`: branch-free over
/// blocks of 32 bytes (fixed-size arrays, so that the compiler turns the block into vector
/// operations; over plain slices it compiled to a loop of scalar compares).
fn b64token_body(token: &[u8]) -> bool {
    // Two ranges and three bytes: `-` `.` `/` and the digits are 0x2D..=0x39; `b | 0x20` folds
    // the upper-case letters onto the lower-case ones and nothing else into `a..=z`.
    #[inline(always)]
    fn body(b: u8) -> bool {
        (b.wrapping_sub(b'-') < 13)
            | ((b | 0x20).wrapping_sub(b'a') < 26)
            | (b == b'_')
            | (b == b'~')
            | (b == b'+')
    }
    let mut blocks = token.chunks_exact(32);
    let mut bad = false;
    for block in &mut blocks {
        if let Ok(block) = <&[u8; 32]>::try_from(block) {
            bad |= block.iter().fold(false, |bad, &b| bad | !body(b));
        }
    }
    !bad && blocks.remainder().iter().all(|&b| body(b))
}

/// The bytes of RFC 6750 `b64token` before its `=` padding.
static B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Whether the query string has an `access_token` parameter (its value is not looked at).
fn has_query_token(uri: &Uri) -> bool {
    uri.query().is_some_and(|query| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "access_token")
    })
}

/// A token read from the `Authorization` header, kept for the steps that wait and for a
/// downstream exchange: the header value (a reference count) and where the token is in it.
#[derive(Clone)]
pub(crate) struct OwnedToken {
    value: HeaderValue,
    start: usize,
    len: usize,
}

impl OwnedToken {
    /// `token`, a part of `request`'s one `Authorization` value.
    pub(crate) fn of(headers: &HeaderMap, token: &str) -> Self {
        let value = headers
            .get(AUTHORIZATION)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static(""));
        // `token` borrows from that very value: its offset is a pointer difference.
        let start = (token.as_ptr() as usize).saturating_sub(value.as_bytes().as_ptr() as usize);
        Self {
            value,
            start,
            len: token.len(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Checked ASCII when it was read; an empty string if the slice ever fell outside it.
        self.value
            .as_bytes()
            .get(self.start..self.start + self.len)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        }
        map
    }

    /// An owned mirror of [`BearerOutcome`], so that helpers can return it.
    #[derive(Debug, PartialEq)]
    enum Got {
        Token(String),
        Missing,
        OtherScheme,
    }

    fn extract(values: &[&[u8]], uri: &str) -> Result<Got, MalformedCredentials> {
        let map = headers(values);
        extract_bearer(&map, &uri.parse().unwrap()).map(|outcome| match outcome {
            BearerOutcome::Token(t) => Got::Token(t.to_owned()),
            BearerOutcome::Missing => Got::Missing,
            BearerOutcome::OtherScheme => Got::OtherScheme,
        })
    }

    fn one(value: &str) -> Result<Got, MalformedCredentials> {
        extract(&[value.as_bytes()], "/mcp")
    }

    #[test]
    fn rs27_scheme_is_case_insensitive() {
        for value in ["Bearer T", "bearer T", "BEARER T", "bEaReR T"] {
            assert_eq!(one(value), Ok(Got::Token("T".into())), "{value}");
        }
    }

    #[test]
    fn rs27_one_or_more_spaces_before_the_token() {
        assert_eq!(one("Bearer  T"), Ok(Got::Token("T".into())));
        assert_eq!(one("Bearer      T"), Ok(Got::Token("T".into())));
    }

    #[test]
    fn rs27_full_b64token_alphabet_with_padding() {
        let token = "AZaz09-._~+/==";
        assert_eq!(
            one(&format!("Bearer {token}")),
            Ok(Got::Token(token.into()))
        );
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln";
        assert_eq!(one(&format!("Bearer {jwt}")), Ok(Got::Token(jwt.into())));
    }

    #[test]
    fn rs27_surrounding_whitespace_is_tolerated() {
        assert_eq!(one("Bearer T \t "), Ok(Got::Token("T".into())));
        assert_eq!(one(" \tBearer T"), Ok(Got::Token("T".into())));
    }

    #[test]
    fn rs28_query_token_alone_is_never_read() {
        assert_eq!(extract(&[], "/mcp?access_token=eyJ.x.y"), Ok(Got::Missing));
        assert_eq!(extract(&[], "/mcp"), Ok(Got::Missing));
    }

    #[test]
    fn rs28_header_and_query_token_is_multiple_methods() {
        assert_eq!(
            extract(&[b"Bearer T"], "/mcp?x=1&access_token=T"),
            Err(MalformedCredentials::MultipleMethods)
        );
        assert_eq!(
            extract(&[b"Bearer T"], "/mcp?access_token"),
            Err(MalformedCredentials::MultipleMethods)
        );
        // Percent-encoded names are decoded like any form parser would.
        assert_eq!(
            extract(&[b"Bearer T"], "/mcp?access%5Ftoken=T"),
            Err(MalformedCredentials::MultipleMethods)
        );
    }

    #[test]
    fn rs28_other_query_parameters_are_fine() {
        assert_eq!(
            extract(&[b"Bearer T"], "/mcp?token=1&access_token_hint=2"),
            Ok(Got::Token("T".into()))
        );
    }

    #[test]
    fn rs28_other_scheme_with_query_token_is_unauthenticated() {
        assert_eq!(
            extract(&[b"Basic dXNlcjpwYXNz"], "/mcp?access_token=T"),
            Ok(Got::OtherScheme)
        );
    }

    #[test]
    fn rs30_empty_bearer() {
        assert_eq!(one("Bearer"), Err(MalformedCredentials::Empty));
        assert_eq!(one("Bearer "), Err(MalformedCredentials::Empty));
        assert_eq!(one("bearer    "), Err(MalformedCredentials::Empty));
    }

    #[test]
    fn rs30_extra_parts() {
        assert_eq!(one("Bearer a b"), Err(MalformedCredentials::ExtraParts));
        assert_eq!(one("Bearer a\tb"), Err(MalformedCredentials::ExtraParts));
        assert_eq!(one("Bearer a, b"), Err(MalformedCredentials::ExtraParts));
    }

    #[test]
    fn rs30_invalid_characters() {
        for value in [
            "Bearer tok\"en",
            "Bearer tok,en",
            "Bearer =abc",
            "Bearer ab=c",
            "Bearer tok\\en",
            "Bearer\tT",
            "Bearer:T",
            "Bearer realm=\"x\"",
        ] {
            assert_eq!(
                one(value),
                Err(MalformedCredentials::InvalidCharacters),
                "{value}"
            );
        }
    }

    #[test]
    fn rs30_non_ascii() {
        assert_eq!(
            extract(&[b"Bearer tok\xC3\xA9n"], "/mcp"),
            Err(MalformedCredentials::NotAscii)
        );
        assert_eq!(
            extract(&[b"Bearer\xA0T"], "/mcp"),
            Err(MalformedCredentials::NotAscii)
        );
    }

    #[test]
    fn rs30_two_authorization_headers() {
        assert_eq!(
            extract(&[b"Bearer a", b"Bearer b"], "/mcp"),
            Err(MalformedCredentials::MultipleHeaders)
        );
        assert_eq!(
            extract(&[b"Basic x", b"Bearer b"], "/mcp"),
            Err(MalformedCredentials::MultipleHeaders)
        );
    }

    #[test]
    fn rs30_errors_are_invalid_request_and_never_echo_the_token() {
        let secret = "s3cr3t\"token";
        let err = one(&format!("Bearer {secret}")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        assert!(!err.to_string().contains("s3cr3t"));
        assert!(!format!("{err:?}").contains("s3cr3t"));
    }

    #[test]
    fn rs31_other_scheme_is_not_credentials() {
        assert_eq!(one("Basic dXNlcjpwYXNz"), Ok(Got::OtherScheme));
        assert_eq!(one("DPoP abc"), Ok(Got::OtherScheme));
        assert_eq!(one("Bearerx T"), Ok(Got::OtherScheme));
        assert_eq!(one(""), Ok(Got::OtherScheme));
        assert_eq!(one("\"Bearer\" T"), Ok(Got::OtherScheme));
    }

    #[test]
    fn block_scan_agrees_with_the_table() {
        for len in [1usize, 63, 64, 65, 200] {
            let mut token = vec![b'a'; len];
            assert!(b64token_body(&token));
            for b in 0..=255u8 {
                if len > 1 {
                    token[0] = if b % 2 == 0 { b'.' } else { b'a' };
                }
                token[len - 1] = b;
                assert_eq!(
                    b64token_body(&token),
                    B64TOKEN[usize::from(b)],
                    "byte {b} at {len}"
                );
            }
        }
    }

    #[test]
    fn dpop_tokens_are_read_by_the_bearer_rule_when_the_resource_takes_them() {
        let uri: Uri = "/mcp".parse().unwrap();
        let read = |value: &'static str, dpop: bool| {
            let map = headers(&[value.as_bytes()]);
            format!("{:?}", read_credentials(&map, &uri, dpop))
        };
        assert_eq!(read("DPoP abc", true), "Token(Dpop, <redacted, 3 bytes>)");
        assert_eq!(read("dpop  abc ", true), "Token(Dpop, <redacted, 3 bytes>)");
        assert_eq!(read("DPoP abc", false), "None { other_scheme: true }");
        assert_eq!(read("DPoP a b", true), "Malformed(Dpop, ExtraParts)");
        assert_eq!(read("DPoP", true), "Malformed(Dpop, Empty)");
        assert_eq!(
            read("Bearer a\"b", true),
            "Malformed(Bearer, InvalidCharacters)"
        );
        let query: Uri = "/mcp?access_token=x".parse().unwrap();
        let map = headers(&[b"DPoP abc"]);
        assert_eq!(
            read_credentials(&map, &query, true),
            Credentials::Malformed(Scheme::Dpop, MalformedCredentials::MultipleMethods)
        );
    }

    #[test]
    fn token_debug_is_redacted() {
        let debug = format!("{:?}", BearerOutcome::Token("secret-token"));
        assert!(!debug.contains("secret"));
        assert_eq!(debug, "Token(<redacted, 12 bytes>)");
    }
}
