//! MCP resource templates (RFC 6570 URI templates) and the URIs a template covers.
//!
//! A requirement declared for a resource template (`notes://note/{id}`) applies to every URI the
//! template could expand to, so the layer and the server agree on what is protected without the
//! server's code being consulted. RFC 6570 defines expansion only; what a template *covers* is
//! decided here, once, for the macro (which checks templates at compile time) and the runtime
//! (which matches request URIs):
//!
//! - the literal parts match themselves, byte for byte;
//! - each expression matches any string its operator could expand to, for any values (lists and
//!   exploded maps included): `{var}` the unreserved characters, percent-encodings, `,` and `=`; `{+var}` every URI character; `{#var}`
//!   nothing or `#` then URI characters; `{.var}`, `{/var}`, `{;var}`, `{?var}`, `{&var}` nothing
//!   or their leading character then what their expansion may hold.
//!
//! Covering errs on the wide side, never the narrow one: an expression with a prefix or explode
//! modifier covers what the same expression without it covers, and an undefined variable (an
//! empty expansion) is covered too. Matching is linear in the URI (a set of positions is advanced
//! part by part; no backtracking), since URIs come from clients.
//!
//! ```
//! use mcp_auth_rules::uri_template::UriTemplate;
//!
//! let t = UriTemplate::parse("notes://note/{id}").unwrap();
//! assert!(t.matches("notes://note/42"));
//! assert!(t.matches("notes://note/a%2Fb"));
//! assert!(!t.matches("notes://note/4/2"));
//! assert!(!t.matches("notes://notes/42"));
//! ```

use std::fmt;

/// A parsed RFC 6570 URI template (levels 1 to 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Expression(Operator),
}

/// An expression's operator (RFC 6570 §2.2), which decides what its expansion may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    PathParameter,
    Query,
    QueryContinuation,
}

/// Why a string is not a URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The byte offset of the problem in the template.
    pub offset: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for TemplateError {}

impl UriTemplate {
    /// Parses `template`: literals of URI characters (or percent-encodings) and `{...}`
    /// expressions with an optional operator (`+ # . / ; ? &`) and variables (`name`,
    /// `name:3`, `name*`) separated by commas. A template without any expression is refused: it
    /// names one resource, declared as a resource, not a template.
    ///
    /// # Errors
    ///
    /// A [`TemplateError`] at the first problem: an unclosed or empty expression, a reserved
    /// operator (`= , ! @ |`), an invalid variable name or modifier, a character not allowed in
    /// a URI, a `%` not followed by two hex digits, no expression at all.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let error = |offset: usize, message: String| TemplateError { offset, message };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let bytes = template.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' => {
                    let Some(len) = template[i..].find('}') else {
                        return Err(error(
                            i,
                            "the expression `{` is not closed: add `}`".to_owned(),
                        ));
                    };
                    let body = &template[i + 1..i + len];
                    let operator = expression(body).map_err(|m| error(i, m))?;
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Expression(operator));
                    i += len + 1;
                }
                b'}' => {
                    return Err(error(
                        i,
                        "`}` without an opening `{`: write it percent-encoded as %7D".to_owned(),
                    ));
                }
                b'%' => {
                    let hex = bytes.get(i + 1..i + 3);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return Err(error(
                            i,
                            "`%` must start a percent-encoding such as %20".to_owned(),
                        ));
                    }
                    literal.push_str(&template[i..i + 3]);
                    i += 3;
                }
                b if is_uri_char(b) => {
                    literal.push(char::from(b));
                    i += 1;
                }
                _ => {
                    let c = template[i..].chars().next().unwrap_or('\u{FFFD}');
                    return Err(error(
                        i,
                        format!(
                            "`{}` is not allowed in a URI template literal: percent-encode it",
                            c.escape_default()
                        ),
                    ));
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        if !parts.iter().any(|p| matches!(p, Part::Expression(_))) {
            return Err(error(
                0,
                "a template needs at least one `{variable}`; a URI without one is a resource, not a template".to_owned(),
            ));
        }
        Ok(Self {
            source: template.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `uri` is one the template could expand to (see the [module](self) docs).
    pub fn matches(&self, uri: &str) -> bool {
        // Most URIs are told apart by the literal a template starts or ends with.
        if let Some(Part::Literal(first)) = self.parts.first()
            && !uri.starts_with(first.as_str())
        {
            return false;
        }
        if let Some(Part::Literal(last)) = self.parts.last()
            && !uri.ends_with(last.as_str())
        {
            return false;
        }
        let uri = uri.as_bytes();
        // `at[p]`: the URI's first `p` bytes can be matched by the parts so far.
        let mut at = vec![false; uri.len() + 1];
        at[0] = true;
        for part in &self.parts {
            let mut next = vec![false; uri.len() + 1];
            match part {
                Part::Literal(literal) => {
                    let literal = literal.as_bytes();
                    for p in (0..=uri.len()).filter(|&p| at[p]) {
                        if uri[p..].starts_with(literal) {
                            next[p + literal.len()] = true;
                        }
                    }
                }
                Part::Expression(operator) => {
                    let (lead, allowed) = operator.expansion();
                    // From each start, every end reachable through allowed bytes. A position
                    // extended from once is not extended from again: each byte is looked at
                    // once per part.
                    let mut extended = vec![false; uri.len() + 1];
                    let mut extend = |from: usize, next: &mut Vec<bool>| {
                        let mut q = from;
                        while !extended[q] {
                            extended[q] = true;
                            next[q] = true;
                            match uri.get(q) {
                                Some(&b) if allowed(b) => q += 1,
                                _ => break,
                            }
                        }
                    };
                    for p in (0..=uri.len()).filter(|&p| at[p]) {
                        match lead {
                            // Nothing (an undefined variable), or the lead byte and the rest.
                            Some(lead) => {
                                next[p] = true;
                                if uri.get(p) == Some(&lead) {
                                    extend(p + 1, &mut next);
                                }
                            }
                            None => extend(p, &mut next),
                        }
                    }
                }
            }
            at = next;
        }
        at[uri.len()]
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Operator {
    /// The byte an expansion starts with (when not empty), and the bytes it may hold after it.
    fn expansion(self) -> (Option<u8>, fn(u8) -> bool) {
        match self {
            // `=` too: an exploded map (`{var*}`) expands to `k=v` pairs.
            Self::Simple => (None, |b| {
                is_unreserved(b) || matches!(b, b'%' | b',' | b'=')
            }),
            Self::Reserved => (None, is_uri_char),
            Self::Fragment => (Some(b'#'), is_uri_char),
            Self::Label => (Some(b'.'), |b| {
                is_unreserved(b) || matches!(b, b'%' | b',' | b'=')
            }),
            Self::Path => (Some(b'/'), |b| {
                is_unreserved(b) || matches!(b, b'%' | b',' | b'/' | b'=')
            }),
            Self::PathParameter => (Some(b';'), |b| {
                is_unreserved(b) || matches!(b, b'%' | b',' | b';' | b'=')
            }),
            Self::Query => (Some(b'?'), |b| {
                is_unreserved(b) || matches!(b, b'%' | b',' | b'&' | b'=')
            }),
            Self::QueryContinuation => (Some(b'&'), |b| {
                is_unreserved(b) || matches!(b, b'%' | b',' | b'&' | b'=')
            }),
        }
    }
}

/// The operator of the expression `body` (between the braces), once its variables are checked.
fn expression(body: &str) -> Result<Operator, String> {
    let (operator, variables) = match body.as_bytes().first() {
        None => return Err("an expression needs a variable: `{}` is empty".to_owned()),
        Some(b'+') => (Operator::Reserved, &body[1..]),
        Some(b'#') => (Operator::Fragment, &body[1..]),
        Some(b'.') => (Operator::Label, &body[1..]),
        Some(b'/') => (Operator::Path, &body[1..]),
        Some(b';') => (Operator::PathParameter, &body[1..]),
        Some(b'?') => (Operator::Query, &body[1..]),
        Some(b'&') => (Operator::QueryContinuation, &body[1..]),
        Some(&b @ (b'=' | b',' | b'!' | b'@' | b'|')) => {
            return Err(format!(
                "the operator `{}` is reserved for future extensions (RFC 6570 §2.2)",
                char::from(b)
            ));
        }
        Some(_) => (Operator::Simple, body),
    };
    for spec in variables.split(',') {
        let name = match spec.split_once(':') {
            Some((name, length)) => {
                let ok = !length.is_empty()
                    && length.len() <= 4
                    && length.bytes().all(|b| b.is_ascii_digit())
                    && !length.starts_with('0');
                if !ok {
                    return Err(format!(
                        "`{spec}`: a prefix length is 1 to 9999 (`{name}:3`)"
                    ));
                }
                name
            }
            None => spec.strip_suffix('*').unwrap_or(spec),
        };
        if !is_varname(name) {
            return Err(format!(
                "`{name}` is not a variable name: letters, digits, `_`, percent-encodings and inner dots (RFC 6570 §2.3)"
            ));
        }
    }
    Ok(operator)
}

/// RFC 6570 §2.3 `varname`: `varchar *( ["."] varchar )`, `varchar = ALPHA / DIGIT / "_" /
/// pct-encoded`.
fn is_varname(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes[0] == b'.' || bytes[bytes.len() - 1] == b'.' {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if !bytes
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
            }
            b'.' if bytes[i - 1] == b'.' => return false,
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' => i += 1,
            _ => return false,
        }
    }
    true
}

/// RFC 3986 `unreserved`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// A byte that may appear in a URI as it is: `unreserved`, `reserved` (RFC 3986 §2) or `%`.
fn is_uri_char(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b':' | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(template: &str) -> UriTemplate {
        UriTemplate::parse(template).unwrap()
    }

    #[test]
    fn a_simple_expression_covers_one_segment_of_unreserved_characters() {
        let template = t("notes://note/{id}");
        for uri in [
            "notes://note/1",
            "notes://note/",
            "notes://note/a%2Fb",
            "notes://note/a,b",
        ] {
            assert!(template.matches(uri), "{uri}");
        }
        for uri in [
            "notes://note/1/2",
            "notes://note/1?x",
            "notes://note/1#x",
            "notes://note",
            "notes://notes/1",
            "NOTES://note/1",
        ] {
            assert!(!template.matches(uri), "{uri}");
        }
    }

    #[test]
    fn reserved_and_fragment_expressions_cover_slashes() {
        assert!(t("file:///{+path}").matches("file:///a/b/c.txt"));
        assert!(!t("file:///{path}").matches("file:///a/b/c.txt"));
        let fragment = t("doc://x{#section}");
        assert!(fragment.matches("doc://x"));
        assert!(fragment.matches("doc://x#a/b"));
        assert!(!fragment.matches("doc://x/a"));
    }

    #[test]
    fn level_three_operators_cover_their_lead_character_or_nothing() {
        let path = t("repo://r{/owner,name}/issues");
        assert!(path.matches("repo://r/a/b/issues"));
        assert!(path.matches("repo://r/issues"));
        assert!(!path.matches("repo://r?x/issues"));
        let query = t("search://s{?q,page}");
        assert!(query.matches("search://s"));
        assert!(query.matches("search://s?q=a&page=2"));
        assert!(!query.matches("search://s/?q=a"));
        let continued = t("search://s?fixed=1{&q}");
        assert!(continued.matches("search://s?fixed=1&q=x"));
        assert!(t("m://x{.ext}").matches("m://x.json"));
        assert!(t("m://x{;a}").matches("m://x;a=1"));
    }

    #[test]
    fn modifiers_cover_at_least_what_the_plain_expression_covers() {
        assert!(t("u://{name:3}/x").matches("u://abcdef/x"));
        assert!(t("u://{list*}").matches("u://a,b,c"));
        // Exploded maps (RFC 6570 §3.2.2–3.2.6) expand to `k=v` pairs.
        assert!(t("notes://note/{id*}").matches("notes://note/a=1,b=2"));
        assert!(t("m://x{.keys*}").matches("m://x.a=1.b=2"));
        assert!(t("repo://r{/keys*}").matches("repo://r/a=1/b=2"));
    }

    #[test]
    fn two_adjacent_expressions_match_in_linear_time() {
        let template = t("u://{a}{b}{c}{d}{e}{f}x");
        let long = format!("u://{}", "a".repeat(100_000));
        assert!(!template.matches(&long));
        assert!(template.matches(&format!("{long}x")));
    }

    #[test]
    fn malformed_templates_say_what_is_wrong_and_where() {
        let cases = [
            ("notes://note/{id", 13, "not closed"),
            ("notes://note/{}", 13, "empty"),
            ("notes://note/id}", 15, "without an opening"),
            ("notes://note/{=id}", 13, "reserved"),
            ("notes://note/{i-d}", 13, "not a variable name"),
            ("notes://note/{id:0}", 13, "prefix length"),
            ("notes://note/%zz{id}", 13, "percent-encoding"),
            ("notes://note /{id}", 12, "not allowed"),
            ("notes://note/1", 0, "at least one"),
        ];
        for (template, offset, says) in cases {
            let error = UriTemplate::parse(template).unwrap_err();
            assert_eq!(error.offset, offset, "{template}: {error}");
            assert!(error.message.contains(says), "{template}: {error}");
        }
    }
}
