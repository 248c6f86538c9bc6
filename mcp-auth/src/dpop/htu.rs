//! `htu` comparison: RFC 9449 §4.3 step 9, with the syntax-based normalisation of RFC 3986 §6.2.2
//! (case, percent-encoding, dot segments) and the scheme-based one of §6.2.3 (default port,
//! empty path), without query and fragment.

/// `scheme://host:port` of an absolute `http`/`https` URL, the port always written.
pub(super) fn origin(url: &url::Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some(format!("{}://{host}:{port}", url.scheme()))
}

/// The normal form of an `http`/`https` URI without its query and fragment, or `None` when it is
/// not one (relative, another scheme, with user information).
///
/// The `url` crate lowercases the scheme and host, removes dot segments and gives an empty path
/// as `/`; this adds the port always, uppercase hex digits in percent-encodings and decodes
/// percent-encoded unreserved characters (RFC 3986 §6.2.2.2).
pub(super) fn normalize(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let mut out = origin(&url)?;
    normalize_path(url.path(), &mut out);
    Some(out)
}

fn normalize_path(path: &str, out: &mut String) {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            let decoded = hi * 16 + lo;
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(decoded));
            } else {
                out.push('%');
                out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
            }
            i += 3;
            continue;
        }
        // `url` has percent-encoded everything outside ASCII: every byte here is a char.
        out.push(char::from(b));
        i += 1;
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn rfc3986_equivalent_forms_compare_equal() {
        let canonical = normalize("https://mcp.example.com/mcp").unwrap();
        for same in [
            "https://mcp.example.com/mcp",
            "HTTPS://MCP.Example.COM/mcp",
            "https://mcp.example.com:443/mcp",
            "https://mcp.example.com/a/../mcp",
            "https://mcp.example.com/./mcp",
            "https://mcp.example.com/%6Dcp",
            "https://mcp.example.com/mcp?query=1",
            "https://mcp.example.com/mcp#fragment",
        ] {
            assert_eq!(
                normalize(same).as_deref(),
                Some(canonical.as_str()),
                "{same}"
            );
        }
        assert_eq!(normalize("http://h/"), normalize("http://h"));
        assert_eq!(normalize("https://h/a%2fb"), normalize("https://h/a%2Fb"));
        for different in [
            "http://mcp.example.com/mcp",
            "https://mcp.example.com:8443/mcp",
            "https://mcp.example.com/MCP",
            "https://mcp.example.com/mcp/",
            "https://other.example.com/mcp",
        ] {
            assert_ne!(
                normalize(different).as_deref(),
                Some(canonical.as_str()),
                "{different}"
            );
        }
        for refused in ["/mcp", "ftp://h/mcp", "https://user:pw@h/mcp", "not a url"] {
            assert_eq!(normalize(refused), None, "{refused}");
        }
    }
}
