//! Request headers whose repetition (or absence) would change what a request means, refused by
//! the bearer layer before authentication.
//!
//! * `Origin` more than once: `403`, like a refused origin. A browser sends one; two lines are
//!   a forgery attempt (the first allowed, the second not), so no line is trusted.
//! * `Transfer-Encoding` other than one final `chunked`: `400` (RFC 9112 §6.1).
//! * An absolute-form request target whose authority is not the `Host` line: `400` (RFC 9112
//!   §3.2.2; what is behind the layer reads `Host`).
//! * `Host` missing, more than once or not a valid `host[:port]` in an HTTP/1.1 request: `400`
//!   (RFC 9112 §3.2). HTTP/1.0 requests may omit it; HTTP/2 and HTTP/3 carry `:authority`.
//! * `Authorization` more than once: `400 invalid_request` ([`crate::bearer`]).
//! * `Content-Encoding` more than once, in MCP mode: `415`, like any encoding other than one
//!   `identity` ([`crate::mcp`]).
//! * `Mcp-Session-Id`, `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` or an `Mcp-Param-*`
//!   header more than once, in MCP mode: `400` ([`crate::mcp`]).
//!
//! [`checked_origin`] makes the first four checks, in that order, and reads the one `Origin`
//! line the layer then decides from.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Uri, Version};

use crate::rejection::AuthRejection;

/// A header that appears on more than one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Repeated;

/// The one line of header `name`: `Ok(None)` when there is none, `Err(Repeated)` when there is
/// more than one.
pub(crate) fn sole<K: header::AsHeaderName>(
    headers: &HeaderMap,
    name: K,
) -> Result<Option<&HeaderValue>, Repeated> {
    let mut lines = headers.get_all(name).iter();
    let first = lines.next();
    match lines.next() {
        None => Ok(first),
        Some(_) => Err(Repeated),
    }
}

/// The request's one `Origin` line (`None` without one), once its `Origin`, `Host`, request
/// target and transfer coding are found unambiguous; their refusal otherwise. `own_host`: the
/// resource identifier's `host[:port]`, a valid `Host` known in advance (the common one,
/// compared without parsing).
pub(crate) fn checked_origin<'a>(
    version: Version,
    uri: &Uri,
    headers: &'a HeaderMap,
    own_host: &str,
) -> Result<Option<&'a HeaderValue>, Box<AuthRejection>> {
    let refusal = match sole(headers, header::ORIGIN) {
        Err(Repeated) => AuthRejection::ambiguous_origin(),
        Ok(origin) => match refusal(version, uri, headers, own_host) {
            None => return Ok(origin),
            Some(refusal) => refusal,
        },
    };
    Err(Box::new(refusal))
}

/// The refusal of a request whose transfer coding, request target or `Host` is ambiguous, `None`
/// when they are fine.
fn refusal(
    version: Version,
    uri: &Uri,
    headers: &HeaderMap,
    own_host: &str,
) -> Option<AuthRejection> {
    if let Some(refusal) = transfer_coding_refusal(headers) {
        return Some(refusal);
    }
    // An absolute-form target names the host itself, and RFC 9112 §3.2.2 says to ignore `Host`
    // then; what is behind us (rmcp's allowed hosts) reads `Host` only. Both must agree.
    if let (Some(authority), Some(host)) = (uri.authority(), headers.get(header::HOST))
        && !host
            .to_str()
            .is_ok_and(|h| h.eq_ignore_ascii_case(authority.as_str()))
    {
        return Some(AuthRejection::bad_request(
            "The request target names another host than the Host header",
        ));
    }
    if version == Version::HTTP_11 {
        let mut hosts = headers.get_all(header::HOST).iter();
        match (hosts.next(), hosts.next()) {
            (None, _) => return Some(AuthRejection::bad_request("The request has no Host header")),
            (Some(_), Some(_)) => {
                return Some(AuthRejection::bad_request(
                    "The request has more than one Host header",
                ));
            }
            (Some(host), None)
                if (own_host.is_empty()
                    || !host.as_bytes().eq_ignore_ascii_case(own_host.as_bytes()))
                    && !valid_host(host) =>
            {
                return Some(AuthRejection::bad_request(
                    "The request's Host header is invalid",
                ));
            }
            _ => {}
        }
    }
    None
}

/// A transfer coding other than one final `chunked` (RFC 9112 §6.1): the HTTP stack passes such
/// a body on undecoded, so the layer would judge bytes that are not the message. Refused with
/// `400` rather than read.
fn transfer_coding_refusal(headers: &HeaderMap) -> Option<AuthRejection> {
    let mut codings = Vec::new();
    for line in headers.get_all(header::TRANSFER_ENCODING) {
        let Ok(text) = line.to_str() else {
            return Some(AuthRejection::bad_request(
                "The request's Transfer-Encoding is invalid",
            ));
        };
        codings.extend(text.split(',').map(str::trim).filter(|c| !c.is_empty()));
    }
    match codings.as_slice() {
        [] => None,
        [only] if only.eq_ignore_ascii_case("chunked") => None,
        _ => Some(AuthRejection::bad_request(
            "Transfer-Encoding other than `chunked` is not supported: send the body chunked or with a Content-Length",
        )),
    }
}

/// `uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 9110 §7.2): an authority without userinfo, with
/// a non-empty host and a port of digits.
fn valid_host(value: &HeaderValue) -> bool {
    let Ok(text) = value.to_str() else {
        return false;
    };
    if text.is_empty() || text.contains(['@', '/', '?', '#', ' ', ',']) {
        return false;
    }
    let Ok(uri) = text.parse::<Uri>() else {
        return false;
    };
    let Some(authority) = uri.authority() else {
        return false;
    };
    if authority.as_str() != text || authority.host().is_empty() {
        return false;
    }
    // The port after the last `:` outside an IPv6 literal: digits, at most 65535 (RFC 9110
    // allows an empty port).
    match text.rfind(':') {
        Some(i) if !text[i..].contains(']') => {
            let port = &text[i + 1..];
            port.is_empty()
                || (port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok())
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_resources_own_host_is_valid_without_parsing_and_others_are_parsed() {
        let host = |h, own| {
            refusal(
                Version::HTTP_11,
                &Uri::default(),
                &headers(&[("host", h)]),
                own,
            )
        };
        assert!(host("127.0.0.1:3000", "127.0.0.1:3000").is_none());
        assert!(host("MCP.example.com", "mcp.example.com").is_none());
        assert!(host("other.example.com", "mcp.example.com").is_none());
        assert!(host("user@host", "mcp.example.com").is_some());
    }

    #[test]
    fn host_rules() {
        let ok = |h| {
            refusal(
                Version::HTTP_11,
                &Uri::default(),
                &headers(&[("host", h)]),
                "",
            )
            .is_none()
        };
        assert!(ok("mcp.example.com"));
        assert!(ok("127.0.0.1:8080"));
        assert!(ok("[::1]:8080"));
        for bad in [
            "",
            "a b",
            "user@host",
            "host:port",
            "host/path",
            "a,b",
            "host:99999999",
        ] {
            assert!(!ok(bad), "{bad:?}");
        }
        assert!(refusal(Version::HTTP_11, &Uri::default(), &HeaderMap::new(), "").is_some());
        assert!(refusal(Version::HTTP_10, &Uri::default(), &HeaderMap::new(), "").is_none());
        assert!(refusal(Version::HTTP_2, &Uri::default(), &HeaderMap::new(), "").is_none());
        let two = headers(&[("host", "a.example"), ("host", "b.example")]);
        assert!(refusal(Version::HTTP_11, &Uri::default(), &two, "").is_some());
    }

    #[test]
    fn origin_rules() {
        let two = headers(&[
            ("host", "h"),
            ("origin", "http://localhost"),
            ("origin", "http://evil.example"),
        ]);
        let refused = |lines: &HeaderMap| {
            checked_origin(Version::HTTP_11, &Uri::default(), lines, "")
                .map(|_| ())
                .map_err(|r| r.status())
        };
        assert_eq!(refused(&two), Err(http::StatusCode::FORBIDDEN));
        let one = headers(&[("host", "h"), ("origin", "http://localhost")]);
        let origin = checked_origin(Version::HTTP_11, &Uri::default(), &one, "");
        assert_eq!(
            origin.ok().flatten().map(HeaderValue::as_bytes),
            Some(&b"http://localhost"[..])
        );
        // The repeated Origin is refused first, whatever else is wrong.
        let both = headers(&[
            ("origin", "http://a.example"),
            ("origin", "http://b.example"),
        ]);
        assert_eq!(refused(&both), Err(http::StatusCode::FORBIDDEN));
        let none = headers(&[("host", "h")]);
        assert!(matches!(
            checked_origin(Version::HTTP_11, &Uri::default(), &none, ""),
            Ok(None)
        ));
    }
}
