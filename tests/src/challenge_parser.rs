//! A strict `WWW-Authenticate` parser for tests (RFC 9110 §11.6.1, §11.2, §5.6), and the RS-17
//! checks of a Bearer challenge on top of it.
//!
//! Strict means it accepts exactly what a **sender** may generate:
//!
//! ```text
//! WWW-Authenticate = challenge *( OWS "," OWS challenge )      ; no empty list elements
//! challenge        = auth-scheme [ 1*SP ( token68 / auth-param *( OWS "," OWS auth-param ) ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! quoted-string    = DQUOTE *( qdtext / quoted-pair ) DQUOTE
//! ```
//!
//! No leading or trailing whitespace, no empty list elements (a sender "MUST NOT generate" them,
//! RFC 9110 §5.6.1.2), and no parameter name twice in one challenge (§11.2, compared
//! case-insensitively). Parameter names are returned lower-cased, values unescaped.
//!
//! [`assert_valid_bearer`] adds what RS-17/RS-18/RS-25 require of the challenges mcp-auth sends.

use std::fmt;

/// One challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth-scheme as written, e.g. `Bearer`.
    pub scheme: String,
    /// The token68 form, e.g. the `abc==` of `Negotiate abc==`.
    pub token68: Option<String>,
    /// The auth-params in order: lower-cased name, unescaped value.
    pub params: Vec<(String, String)>,
    /// How each value of `params` was written (same index).
    pub forms: Vec<ValueForm>,
}

impl Challenge {
    /// The value of the parameter `name` (compared case-insensitively).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The parameter names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.params.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// How a parameter value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueForm {
    /// A bare token: `error=invalid_token`.
    Token,
    /// A quoted-string without quoted-pairs: `error="invalid_token"`.
    Quoted,
    /// A quoted-string with at least one quoted-pair: `realm="a\"b"`.
    QuotedWithEscapes,
}

/// A grammar violation, with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the header value.
    pub position: usize,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.position, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a `WWW-Authenticate` value into its challenges. See the [module documentation](self).
pub fn parse(header: &str) -> Result<Vec<Challenge>, ParseError> {
    Parser {
        s: header.as_bytes(),
        pos: 0,
    }
    .challenges()
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

fn is_quoted_pair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            position: self.pos,
            message: message.into(),
        })
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        // Only ASCII bytes are ever taken, so this is valid UTF-8.
        std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default()
    }

    fn skip_ows(&mut self) {
        self.take_while(|b| b == b' ' || b == b'\t');
    }

    fn token(&mut self) -> Option<String> {
        let t = self.take_while(is_tchar);
        (!t.is_empty()).then(|| t.to_owned())
    }

    fn challenges(mut self) -> Result<Vec<Challenge>, ParseError> {
        if self.s.is_empty() {
            return self.error("the header is empty");
        }
        let mut out = Vec::new();
        loop {
            let (challenge, more) = self.challenge()?;
            out.push(challenge);
            if !more {
                return Ok(out);
            }
        }
    }

    /// One challenge; `true` when another challenge follows.
    fn challenge(&mut self) -> Result<(Challenge, bool), ParseError> {
        let Some(scheme) = self.token() else {
            return self.error("expected an auth-scheme (a token)");
        };
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
            forms: Vec::new(),
        };
        let mut takes_params = false;
        match self.peek() {
            None | Some(b',') => {}
            Some(b' ') => {
                self.take_while(|b| b == b' ');
                match self.peek() {
                    None => return self.error("whitespace at the end of the header"),
                    Some(b',') | Some(b'\t') => {}
                    Some(_) => {
                        if self.auth_param(&mut challenge)? {
                            takes_params = true;
                        } else {
                            let start = self.pos;
                            self.take_while(is_token68_char);
                            if self.pos == start {
                                return self
                                    .error("expected token68 or auth-param after the auth-scheme");
                            }
                            self.take_while(|b| b == b'=');
                            let t =
                                std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default();
                            challenge.token68 = Some(t.to_owned());
                        }
                    }
                }
            }
            Some(_) => {
                return self.error("expected a space, `,` or the end after the auth-scheme");
            }
        }
        loop {
            let before = self.pos;
            self.skip_ows();
            match self.peek() {
                None if self.pos == before => return Ok((challenge, false)),
                None => return self.error("whitespace at the end of the header"),
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ows();
                    match self.peek() {
                        None => return self.error("the header ends with `,`"),
                        Some(b',') => return self.error("empty list element (`,,`)"),
                        Some(_) => {}
                    }
                    if takes_params && self.auth_param(&mut challenge)? {
                        continue;
                    }
                    return Ok((challenge, true));
                }
                Some(_) => return self.error("expected `,` or the end of the header"),
            }
        }
    }

    /// Parses `token BWS "=" BWS ( token / quoted-string )` into `challenge`. `Ok(false)` (and
    /// nothing consumed) when the input is not an auth-param.
    fn auth_param(&mut self, challenge: &mut Challenge) -> Result<bool, ParseError> {
        let start = self.pos;
        let Some(name) = self.token() else {
            return Ok(false);
        };
        self.skip_ows();
        if self.peek() != Some(b'=') {
            self.pos = start;
            return Ok(false);
        }
        self.pos += 1;
        self.skip_ows();
        let (value, form) = match self.peek() {
            Some(b'"') => self.quoted_string()?,
            _ => match self.token() {
                Some(t) => (t, ValueForm::Token),
                None => {
                    self.pos = start;
                    return Ok(false);
                }
            },
        };
        let name = name.to_ascii_lowercase();
        if challenge.params.iter().any(|(n, _)| *n == name) {
            self.pos = start;
            return self.error(format!("parameter `{name}` appears twice in one challenge"));
        }
        challenge.params.push((name, value));
        challenge.forms.push(form);
        Ok(true)
    }

    fn quoted_string(&mut self) -> Result<(String, ValueForm), ParseError> {
        self.pos += 1; // the opening quote
        let mut out = Vec::new();
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return self.error("unterminated quoted-string"),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if is_quoted_pair_char(b) => out.push(b),
                        _ => return self.error("invalid quoted-pair"),
                    }
                    escaped = true;
                    self.pos += 1;
                }
                Some(b) if is_qdtext(b) => {
                    out.push(b);
                    self.pos += 1;
                }
                Some(b) => {
                    return self.error(format!("byte 0x{b:02X} is not allowed in a quoted-string"));
                }
            }
        }
        let form = if escaped {
            ValueForm::QuotedWithEscapes
        } else {
            ValueForm::Quoted
        };
        Ok((String::from_utf8_lossy(&out).into_owned(), form))
    }
}

/// The parameters a Bearer challenge of mcp-auth may carry: RFC 6750 §3, RFC 9728 §5.1 and
/// RFC 9470 §3.
pub const BEARER_PARAMS: [&str; 8] = [
    "realm",
    "scope",
    "error",
    "error_description",
    "error_uri",
    "resource_metadata",
    "acr_values",
    "max_age",
];

/// The RFC 6750 / RFC 9470 error codes.
pub const BEARER_ERRORS: [&str; 4] = [
    "invalid_request",
    "invalid_token",
    "insufficient_scope",
    "insufficient_user_authentication",
];

fn is_error_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Checks that `header` is a Bearer challenge as mcp-auth must send it, and returns it:
///
/// * it parses with the strict grammar (no CR/LF, no duplicate parameter, ...);
/// * it starts with `Bearer ` and the first challenge is Bearer, with at least one parameter
///   (RS-25, RS-17);
/// * every value is a quoted-string without quoted-pairs, every name is a known Bearer
///   parameter;
/// * `error` is a registered code; `error`, `error_description` and `realm` use
///   `%x20-21 / %x23-5B / %x5D-7E`; `scope` is single-space-separated RFC 6749 tokens without
///   duplicates and without `offline_access` (RS-11); `resource_metadata` is an absolute
///   `http(s)` URL without fragment (RS-18);
/// * when the header holds one challenge, it is in canonical form: `Bearer name="value", ...`
///   with lower-case names, one space after the scheme and `, ` between parameters.
pub fn check_bearer(header: &str) -> Result<Challenge, String> {
    if header.contains(['\r', '\n', '\0']) {
        return Err("the header contains CR, LF or NUL".into());
    }
    if !header.starts_with("Bearer ") {
        return Err("the header must start with `Bearer ` (RS-25)".into());
    }
    let challenges = parse(header).map_err(|e| format!("not RFC 9110 syntax: {e}"))?;
    let Some(first) = challenges.first().cloned() else {
        return Err("no challenge".into());
    };
    if first.scheme != "Bearer" {
        return Err(format!(
            "the first challenge is `{}`, not `Bearer`",
            first.scheme
        ));
    }
    if first.token68.is_some() {
        return Err("the Bearer challenge uses the token68 form, not auth-params".into());
    }
    if first.params.is_empty() {
        return Err("the Bearer challenge has no parameter".into());
    }
    for ((name, value), form) in first.params.iter().zip(&first.forms) {
        if *form != ValueForm::Quoted {
            return Err(format!(
                "`{name}` must be a quoted-string without escapes, found {form:?}"
            ));
        }
        if !BEARER_PARAMS.contains(&name.as_str()) {
            return Err(format!("unknown Bearer parameter `{name}`"));
        }
        if value.is_empty() {
            return Err(format!("`{name}` is empty; leave it out instead"));
        }
        check_value(name, value)?;
    }
    if challenges.len() == 1 {
        let canonical = render(&first);
        if canonical != header {
            return Err(format!(
                "not in canonical form:\n  got:      {header}\n  expected: {canonical}"
            ));
        }
    }
    Ok(first)
}

fn check_value(name: &str, value: &str) -> Result<(), String> {
    match name {
        "error" | "error_description" | "realm" => {
            if let Some(c) = value.chars().find(|&c| !is_error_char(c)) {
                return Err(format!("`{name}` contains the forbidden character {c:?}"));
            }
            if name == "error" && !BEARER_ERRORS.contains(&value) {
                return Err(format!("`error` is `{value}`, not a registered code"));
            }
        }
        "scope" => {
            let mut seen = Vec::new();
            for token in value.split(' ') {
                if token.is_empty() {
                    return Err(
                        "`scope` has an empty token (leading, trailing or double space)".into(),
                    );
                }
                if let Some(c) = token.chars().find(|&c| !is_scope_char(c)) {
                    return Err(format!(
                        "scope `{token}` contains the forbidden character {c:?}"
                    ));
                }
                if token == "offline_access" {
                    return Err("`scope` lists offline_access (RS-11)".into());
                }
                if seen.contains(&token) {
                    return Err(format!("scope `{token}` is listed twice"));
                }
                seen.push(token);
            }
        }
        "resource_metadata" => {
            let url = url::Url::parse(value)
                .map_err(|e| format!("`resource_metadata` is not an absolute URL ({e}) (RS-18)"))?;
            if !matches!(url.scheme(), "https" | "http") || !url.has_host() {
                return Err(
                    "`resource_metadata` must be an http(s) URL with a host (RS-18)".into(),
                );
            }
            if url.fragment().is_some() {
                return Err("`resource_metadata` has a fragment".into());
            }
        }
        _ => {
            if let Some(c) = value.chars().find(|c| !c.is_ascii_graphic() && *c != ' ') {
                return Err(format!("`{name}` contains the character {c:?}"));
            }
        }
    }
    Ok(())
}

fn render(challenge: &Challenge) -> String {
    let params: Vec<String> = challenge
        .params
        .iter()
        .map(|(n, v)| format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{} {}", challenge.scheme, params.join(", "))
}

/// [`check_bearer`], panicking with the reason and the header when it fails.
#[track_caller]
pub fn assert_valid_bearer(header: &str) -> Challenge {
    match check_bearer(header) {
        Ok(challenge) => challenge,
        Err(reason) => panic!("invalid Bearer challenge: {reason}\n  header: {header:?}"),
    }
}

#[cfg(test)]
mod tests {
    use mcp_auth::ErrorCode;
    use mcp_auth::layer::BearerChallenge;

    use super::*;

    const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn parses_the_checklist_examples() {
        let rs19 = format!(r#"Bearer resource_metadata="{PRM}", scope="mcp:read""#);
        let c = assert_valid_bearer(&rs19);
        assert_eq!(
            params(&c),
            [("resource_metadata", PRM), ("scope", "mcp:read")]
        );

        let rs21 = format!(
            r#"Bearer error="invalid_token", error_description="The access token expired", resource_metadata="{PRM}""#
        );
        assert_eq!(
            assert_valid_bearer(&rs21).param("error"),
            Some("invalid_token")
        );

        let rs47 = format!(
            r#"Bearer error="insufficient_scope", scope="mcp:read files:write", resource_metadata="{PRM}", error_description="files:write required""#
        );
        let c = assert_valid_bearer(&rs47);
        assert_eq!(
            c.names(),
            ["error", "scope", "resource_metadata", "error_description"]
        );
        assert_eq!(c.param("SCOPE"), Some("mcp:read files:write"));
    }

    #[test]
    fn parses_lists_token68_escapes_and_bws() {
        let cs = parse(r#"Basic abc=, Bearer realm="a\"b", DPoP algs="ES256 RS256""#).unwrap();
        assert_eq!(cs.len(), 3);
        assert_eq!(cs[0].scheme, "Basic");
        assert_eq!(cs[0].token68.as_deref(), Some("abc="));
        assert_eq!(cs[1].param("realm"), Some("a\"b"));
        assert_eq!(cs[1].forms, [ValueForm::QuotedWithEscapes]);
        assert_eq!(cs[2].param("algs"), Some("ES256 RS256"));

        let cs = parse("Negotiate a+/b.c~d-_==").unwrap();
        assert_eq!(cs[0].token68.as_deref(), Some("a+/b.c~d-_=="));

        let cs = parse("Bearer Realm = \"x\" ,\terror=invalid_token").unwrap();
        assert_eq!(params(&cs[0]), [("realm", "x"), ("error", "invalid_token")]);
        assert_eq!(cs[0].forms, [ValueForm::Quoted, ValueForm::Token]);

        let cs = parse("Bearer").unwrap();
        assert_eq!(cs[0].params, []);

        // `realm=` cannot be an auth-param (no value), so it is token68 with padding.
        let cs = parse("Bearer realm=").unwrap();
        assert_eq!(cs[0].token68.as_deref(), Some("realm="));

        // `a=b` is an auth-param, not token68.
        let cs = parse("Custom a=b").unwrap();
        assert_eq!(params(&cs[0]), [("a", "b")]);
    }

    #[test]
    fn bearer_comma_x_is_two_challenges_but_not_a_valid_bearer() {
        let cs = parse("Bearer, x").unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[1].scheme, "x");
        assert!(check_bearer("Bearer, x").is_err());
    }

    #[test]
    fn rejects_grammar_violations() {
        for bad in [
            "",
            " Bearer realm=\"a\"",
            "Bearer realm=\"a\" ",
            "Bearer ",
            "Bearer realm=\"a\", realm=\"b\"",
            "Bearer Realm=\"a\", realm=\"b\"",
            "Bearer realm=\"a",
            "Bearer realm=\"a\\\"",
            "Bearer realm=\"a\" error=\"b\"",
            "Bearer realm=\"a\",",
            "Bearer realm=\"a\",, error=\"b\"",
            ", Bearer realm=\"a\"",
            "Bearer\trealm=\"a\"",
            "Bearer realm=\"a\r\n b\"",
            "Bearer realm=\"a\u{7}\"",
            "Basic abc def",
            "Basic abc=def=",
            "Bearer =\"a\"",
            "Bearer realm=\"a\"x",
            "Bearer realm=\"a\", x=",
            "Be@rer realm=\"a\"",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}: {:?}", parse(bad));
        }
    }

    #[test]
    fn error_positions_point_at_the_problem() {
        let err = parse("Bearer realm=\"a\", realm=\"b\"").unwrap_err();
        assert_eq!(err.position, 18);
        assert!(err.message.contains("twice"));
    }

    #[test]
    fn check_bearer_rejects_what_rs17_forbids() {
        let rm = format!(r#"resource_metadata="{PRM}""#);
        for (bad, why) in [
            (format!(r#"bearer {rm}"#), "start with"),
            (format!(r#"Bearer x="a", {rm}"#), "unknown"),
            (
                format!(r#"Bearer {rm}, error=invalid_token"#),
                "quoted-string",
            ),
            (format!(r#"Bearer {rm}, realm="a\"b""#), "quoted-string"),
            (format!(r#"Bearer {rm}, error="bad_code""#), "registered"),
            (format!(r#"Bearer {rm}, scope="a  b""#), "empty token"),
            (format!(r#"Bearer {rm}, scope="a a""#), "twice"),
            (format!(r#"Bearer {rm}, scope="a offline_access""#), "RS-11"),
            (
                format!(r#"Bearer {rm}, error_description="ü""#),
                "forbidden",
            ),
            (format!(r#"Bearer {rm}, scope="""#), "empty"),
            (
                r#"Bearer resource_metadata="/.well-known/x""#.to_owned(),
                "RS-18",
            ),
            (
                r#"Bearer resource_metadata="ftp://x/y""#.to_owned(),
                "RS-18",
            ),
            (format!(r#"Bearer {rm} ,scope="a""#), "canonical"),
            (format!(r#"Bearer {rm},scope="a""#), "canonical"),
            (format!(r#"Bearer  {rm}"#), "canonical"),
            (format!(r#"Bearer RESOURCE_METADATA="{PRM}""#), "canonical"),
            ("Bearer abc==".to_owned(), "token68"),
            (format!("Bearer {rm}\r\n"), "CR"),
            ("Basic abc, Bearer realm=\"a\"".to_owned(), "start with"),
        ] {
            let err = check_bearer(&bad).expect_err(&bad);
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn check_bearer_allows_a_following_challenge() {
        let header = format!(r#"Bearer resource_metadata="{PRM}", DPoP algs="ES256""#);
        let c = assert_valid_bearer(&header);
        assert_eq!(c.names(), ["resource_metadata"]);
    }

    #[test]
    #[should_panic(expected = "invalid Bearer challenge")]
    fn assert_valid_bearer_panics() {
        assert_valid_bearer("Bearer x=\"a\"");
    }

    /// Every challenge mcp-auth builds passes the strict checks, whatever the inputs.
    #[test]
    fn rs17_rs22_builder_output_is_always_valid() {
        let descriptions = [
            "The access token expired",
            "say \"hi\" \\ back\r\nslash\tüñí 😀",
            "\"\\",
            "",
            &"long words ".repeat(60),
        ];
        let scopes: [&[&str]; 4] = [
            &["mcp:read"],
            &["mcp:read files:write", "mcp:read", "offline_access"],
            &["bad\"scope", "caf\u{e9}"],
            &[],
        ];
        let codes = [
            None,
            Some(ErrorCode::InvalidRequest),
            Some(ErrorCode::InvalidToken),
            Some(ErrorCode::InsufficientScope),
        ];
        let mut checked = 0;
        for code in codes {
            for description in descriptions {
                for scope in scopes {
                    let mut c = BearerChallenge::new(PRM).scope(scope.iter().copied());
                    if let Some(code) = code {
                        c = c.error(code).error_description(description);
                    }
                    let value = c.to_header_value();
                    let text = value.to_str().expect("visible ASCII");
                    let parsed = assert_valid_bearer(text);
                    assert_eq!(parsed.param("resource_metadata"), Some(PRM));
                    assert_eq!(parsed.param("error"), code.and_then(ErrorCode::as_rfc6750));
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 4 * 5 * 4);
    }
}
