//! [`validate_server_config`]: does an authorization server offer what MCP clients need?

use std::fmt;

use super::metadata::AuthServerMetadata;

/// How a [`ValidationCode`] counts in a [`ValidationReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingSeverity {
    /// MCP clients cannot complete authorization with this server.
    Error,
    /// Clients can work, but some (or the recommended) registration paths are closed.
    Warning,
    /// A check that passed.
    Success,
}

/// A stable code for each check of [`validate_server_config`]. [`ValidationCode::as_str`]
/// gives a snake_case name that will not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValidationCode {
    /// Error: `response_types_supported` is absent or does not list `code` (RFC 8414 §2 makes
    /// the member REQUIRED; MCP clients use the authorization code flow of OAuth 2.1).
    CodeResponseTypeUnsupported,
    /// Error: `grant_types_supported` is present and does not list `authorization_code`. An
    /// absent member means the RFC 8414 default `["authorization_code", "implicit"]`, which
    /// passes.
    AuthorizationCodeGrantUnsupported,
    /// Error: `code_challenge_methods_supported` is absent or empty, so the server advertises no
    /// PKCE (RFC 7636). MCP clients MUST use PKCE and MUST refuse to proceed without it.
    PkceUnsupported,
    /// Error: `code_challenge_methods_supported` lists methods but not `S256`, the only method
    /// MCP clients may use.
    S256Unsupported,
    /// Warning: no `registration_endpoint`, so clients cannot register dynamically (RFC 7591);
    /// they need a client ID metadata document or a pre-registered `client_id`.
    DynamicRegistrationUnsupported,
    /// Warning: `client_id_metadata_document_supported` is absent or not `true`, so clients
    /// cannot use a client ID metadata document, the registration MCP recommends.
    ClientIdMetadataDocumentUnsupported,
    /// Success: `response_types_supported` lists `code`.
    CodeResponseTypeSupported,
    /// Success: the `authorization_code` grant is listed, or implied by the RFC 8414 default.
    AuthorizationCodeGrantSupported,
    /// Success: `code_challenge_methods_supported` lists at least one method.
    PkceSupported,
    /// Success: `code_challenge_methods_supported` lists `S256`.
    S256Supported,
    /// Success: `registration_endpoint` is present.
    DynamicRegistrationSupported,
    /// Success: `client_id_metadata_document_supported` is `true`.
    ClientIdMetadataDocumentSupported,
}

impl ValidationCode {
    /// The stable snake_case name, e.g. `"pkce_unsupported"`.
    ///
    /// ```
    /// # use mcp_auth::discovery::ValidationCode;
    /// assert_eq!(ValidationCode::S256Unsupported.as_str(), "s256_unsupported");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeResponseTypeUnsupported => "code_response_type_unsupported",
            Self::AuthorizationCodeGrantUnsupported => "authorization_code_grant_unsupported",
            Self::PkceUnsupported => "pkce_unsupported",
            Self::S256Unsupported => "s256_unsupported",
            Self::DynamicRegistrationUnsupported => "dynamic_registration_unsupported",
            Self::ClientIdMetadataDocumentUnsupported => "client_id_metadata_document_unsupported",
            Self::CodeResponseTypeSupported => "code_response_type_supported",
            Self::AuthorizationCodeGrantSupported => "authorization_code_grant_supported",
            Self::PkceSupported => "pkce_supported",
            Self::S256Supported => "s256_supported",
            Self::DynamicRegistrationSupported => "dynamic_registration_supported",
            Self::ClientIdMetadataDocumentSupported => "client_id_metadata_document_supported",
        }
    }

    /// Whether this code is reported as an error, a warning or a success.
    pub fn severity(self) -> FindingSeverity {
        match self {
            Self::CodeResponseTypeUnsupported
            | Self::AuthorizationCodeGrantUnsupported
            | Self::PkceUnsupported
            | Self::S256Unsupported => FindingSeverity::Error,
            Self::DynamicRegistrationUnsupported | Self::ClientIdMetadataDocumentUnsupported => {
                FindingSeverity::Warning
            }
            Self::CodeResponseTypeSupported
            | Self::AuthorizationCodeGrantSupported
            | Self::PkceSupported
            | Self::S256Supported
            | Self::DynamicRegistrationSupported
            | Self::ClientIdMetadataDocumentSupported => FindingSeverity::Success,
        }
    }
}

impl fmt::Display for ValidationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One result of [`validate_server_config`]: a stable code and a sentence that explains it (and,
/// for errors and warnings, what to change on the authorization server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was found.
    pub code: ValidationCode,
    /// The explanation.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

/// The outcome of [`validate_server_config`], sorted by severity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// Problems that stop MCP clients.
    pub errors: Vec<Finding>,
    /// Problems that close some registration paths.
    pub warnings: Vec<Finding>,
    /// Checks that passed.
    pub successes: Vec<Finding>,
}

impl ValidationReport {
    /// `true` when there is no error (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether any finding (error, warning or success) has `code`.
    pub fn contains(&self, code: ValidationCode) -> bool {
        self.errors
            .iter()
            .chain(&self.warnings)
            .chain(&self.successes)
            .any(|f| f.code == code)
    }

    fn push(&mut self, code: ValidationCode, message: String) {
        let finding = Finding { code, message };
        match code.severity() {
            FindingSeverity::Error => self.errors.push(finding),
            FindingSeverity::Warning => self.warnings.push(finding),
            FindingSeverity::Success => self.successes.push(finding),
        }
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sections = [
            ("error", &self.errors),
            ("warning", &self.warnings),
            ("ok", &self.successes),
        ];
        for (label, findings) in sections {
            for finding in findings {
                writeln!(f, "{label}: {finding}")?;
            }
        }
        Ok(())
    }
}

/// Checks that an authorization server offers what MCP clients need: the authorization code flow
/// with PKCE `S256` (errors when missing), and client registration by dynamic registration and by
/// client ID metadata document (warnings when missing). Every passed check is listed as a
/// success. See [`ValidationCode`] for the rules.
///
/// The resource server itself only needs `jwks_uri` or `introspection_endpoint`; this report is
/// for operators who want to know early whether clients will be able to sign in.
///
/// ```
/// use mcp_auth::discovery::{AuthServerMetadata, ValidationCode, validate_server_config};
///
/// let mut metadata = AuthServerMetadata::new("https://auth.example.com");
/// metadata.response_types_supported = Some(vec!["code".into()]);
/// metadata.code_challenge_methods_supported = Some(vec!["S256".into()]);
/// metadata.registration_endpoint = Some("https://auth.example.com/register".into());
///
/// let report = validate_server_config(&metadata);
/// assert!(report.is_ok());
/// assert_eq!(report.warnings.len(), 1);
/// assert_eq!(report.warnings[0].code, ValidationCode::ClientIdMetadataDocumentUnsupported);
/// assert!(report.contains(ValidationCode::AuthorizationCodeGrantSupported)); // RFC 8414 default
/// ```
pub fn validate_server_config(metadata: &AuthServerMetadata) -> ValidationReport {
    let mut report = ValidationReport::default();
    check_response_type(metadata, &mut report);
    check_grant_type(metadata, &mut report);
    check_pkce(metadata, &mut report);
    check_registration(metadata, &mut report);
    report
}

fn check_response_type(metadata: &AuthServerMetadata, report: &mut ValidationReport) {
    match &metadata.response_types_supported {
        Some(types) if types.iter().any(|t| t == "code") => report.push(
            ValidationCode::CodeResponseTypeSupported,
            "`response_types_supported` lists `code`".to_owned(),
        ),
        Some(types) => report.push(
            ValidationCode::CodeResponseTypeUnsupported,
            format!(
                "`response_types_supported` ({}) does not list `code`; MCP clients use the authorization code flow, so enable it on the authorization server",
                list(types)
            ),
        ),
        None => report.push(
            ValidationCode::CodeResponseTypeUnsupported,
            "`response_types_supported` is missing (RFC 8414 requires it), so clients cannot tell that the authorization code flow is available; publish it with `code` in it".to_owned(),
        ),
    }
}

fn check_grant_type(metadata: &AuthServerMetadata, report: &mut ValidationReport) {
    match &metadata.grant_types_supported {
        None => report.push(
            ValidationCode::AuthorizationCodeGrantSupported,
            "`grant_types_supported` is absent, so the RFC 8414 default (`authorization_code`, `implicit`) applies".to_owned(),
        ),
        Some(_) if metadata.supports_grant_type("authorization_code") => report.push(
            ValidationCode::AuthorizationCodeGrantSupported,
            "`grant_types_supported` lists `authorization_code`".to_owned(),
        ),
        Some(grants) => report.push(
            ValidationCode::AuthorizationCodeGrantUnsupported,
            format!(
                "`grant_types_supported` ({}) does not list `authorization_code`; MCP clients need the authorization code grant, so enable it on the authorization server",
                list(grants)
            ),
        ),
    }
}

fn check_pkce(metadata: &AuthServerMetadata, report: &mut ValidationReport) {
    let methods = match &metadata.code_challenge_methods_supported {
        Some(methods) if !methods.is_empty() => methods,
        absent_or_empty => {
            let what = if absent_or_empty.is_some() {
                "empty"
            } else {
                "absent"
            };
            report.push(
                ValidationCode::PkceUnsupported,
                format!(
                    "`code_challenge_methods_supported` is {what}, so the server does not advertise PKCE; MCP clients must use PKCE with `S256` and refuse servers that do not advertise it: enable PKCE and publish `\"code_challenge_methods_supported\": [\"S256\"]`"
                ),
            );
            return;
        }
    };
    report.push(
        ValidationCode::PkceSupported,
        format!("`code_challenge_methods_supported` lists {}", list(methods)),
    );
    if methods.iter().any(|m| m == "S256") {
        report.push(
            ValidationCode::S256Supported,
            "`code_challenge_methods_supported` lists `S256`".to_owned(),
        );
    } else {
        report.push(
            ValidationCode::S256Unsupported,
            format!(
                "`code_challenge_methods_supported` ({}) does not list `S256`, the only PKCE method MCP clients may use; enable `S256` on the authorization server",
                list(methods)
            ),
        );
    }
}

fn check_registration(metadata: &AuthServerMetadata, report: &mut ValidationReport) {
    if metadata.registration_endpoint.is_some() {
        report.push(
            ValidationCode::DynamicRegistrationSupported,
            "`registration_endpoint` is present (RFC 7591 dynamic client registration)".to_owned(),
        );
    } else {
        report.push(
            ValidationCode::DynamicRegistrationUnsupported,
            "there is no `registration_endpoint`, so clients cannot register dynamically (RFC 7591); they need a client ID metadata document or a pre-registered client_id".to_owned(),
        );
    }
    match metadata.client_id_metadata_document_supported {
        Some(true) => report.push(
            ValidationCode::ClientIdMetadataDocumentSupported,
            "`client_id_metadata_document_supported` is true".to_owned(),
        ),
        value => report.push(
            ValidationCode::ClientIdMetadataDocumentUnsupported,
            format!(
                "`client_id_metadata_document_supported` is {}, so clients cannot use a client ID metadata document (the registration MCP recommends); enable it if the authorization server supports it",
                if value.is_some() { "false" } else { "absent" }
            ),
        ),
    }
}

/// `a`, `b`: the values of a list, for messages.
fn list(values: &[String]) -> String {
    if values.is_empty() {
        return "empty".to_owned();
    }
    values
        .iter()
        .map(|v| format!("`{}`", v.escape_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::ValidationCode as C;
    use super::*;
    use crate::discovery::test_fixtures::{provider_fixtures, readme_table};

    fn codes(findings: &[Finding]) -> Vec<C> {
        findings.iter().map(|f| f.code).collect()
    }

    fn full() -> AuthServerMetadata {
        let mut m = AuthServerMetadata::new("https://auth.example.com");
        m.response_types_supported = Some(vec!["code".into()]);
        m.grant_types_supported = Some(vec!["authorization_code".into()]);
        m.code_challenge_methods_supported = Some(vec!["S256".into()]);
        m.registration_endpoint = Some("https://auth.example.com/register".into());
        m.client_id_metadata_document_supported = Some(true);
        m
    }

    #[test]
    fn everything_supported() {
        let report = validate_server_config(&full());
        assert!(report.is_ok());
        assert!(report.warnings.is_empty(), "{report}");
        assert_eq!(
            codes(&report.successes),
            [
                C::CodeResponseTypeSupported,
                C::AuthorizationCodeGrantSupported,
                C::PkceSupported,
                C::S256Supported,
                C::DynamicRegistrationSupported,
                C::ClientIdMetadataDocumentSupported,
            ]
        );
    }

    #[test]
    fn each_rule() {
        let mut m = full();
        m.response_types_supported = Some(vec!["code id_token".into(), "token".into()]);
        assert_eq!(
            codes(&validate_server_config(&m).errors),
            [C::CodeResponseTypeUnsupported]
        );
        m.response_types_supported = None;
        assert_eq!(
            codes(&validate_server_config(&m).errors),
            [C::CodeResponseTypeUnsupported]
        );

        let mut m = full();
        m.grant_types_supported = Some(vec!["client_credentials".into()]);
        assert_eq!(
            codes(&validate_server_config(&m).errors),
            [C::AuthorizationCodeGrantUnsupported]
        );
        m.grant_types_supported = None;
        assert!(validate_server_config(&m).is_ok());

        let mut m = full();
        m.code_challenge_methods_supported = None;
        assert_eq!(
            codes(&validate_server_config(&m).errors),
            [C::PkceUnsupported]
        );
        m.code_challenge_methods_supported = Some(vec![]);
        assert_eq!(
            codes(&validate_server_config(&m).errors),
            [C::PkceUnsupported]
        );
        m.code_challenge_methods_supported = Some(vec!["plain".into()]);
        let report = validate_server_config(&m);
        assert_eq!(codes(&report.errors), [C::S256Unsupported]);
        assert!(report.contains(C::PkceSupported));

        let mut m = full();
        m.registration_endpoint = None;
        m.client_id_metadata_document_supported = Some(false);
        let report = validate_server_config(&m);
        assert!(report.is_ok());
        assert_eq!(
            codes(&report.warnings),
            [
                C::DynamicRegistrationUnsupported,
                C::ClientIdMetadataDocumentUnsupported
            ]
        );
    }

    #[test]
    fn codes_are_stable_snake_case() {
        let all = [
            C::CodeResponseTypeUnsupported,
            C::AuthorizationCodeGrantUnsupported,
            C::PkceUnsupported,
            C::S256Unsupported,
            C::DynamicRegistrationUnsupported,
            C::ClientIdMetadataDocumentUnsupported,
            C::CodeResponseTypeSupported,
            C::AuthorizationCodeGrantSupported,
            C::PkceSupported,
            C::S256Supported,
            C::DynamicRegistrationSupported,
            C::ClientIdMetadataDocumentSupported,
        ];
        for code in all {
            let s = code.as_str();
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{s}"
            );
            // The name is the variant name in snake_case.
            let variant = format!("{code:?}").to_ascii_lowercase();
            assert_eq!(s.replace('_', ""), variant);
        }
        assert_eq!(C::PkceUnsupported.to_string(), "pkce_unsupported");
    }

    /// Every provider fixture gets exactly the errors and warnings its README row implies.
    #[test]
    fn provider_fixtures_match_readme_table() {
        let table = readme_table();
        let fixtures = provider_fixtures();
        assert_eq!(table.len(), fixtures.len(), "one README row per fixture");
        for (name, value) in fixtures {
            let row = table
                .iter()
                .find(|r| r.file == name)
                .unwrap_or_else(|| panic!("{name} has no row in the README table"));
            let metadata: AuthServerMetadata =
                serde_json::from_value(value).unwrap_or_else(|e| panic!("{name}: {e}"));
            let report = validate_server_config(&metadata);

            let mut errors = Vec::new();
            if !row.code {
                errors.push(C::CodeResponseTypeUnsupported);
            }
            if !row.authorization_code_grant {
                errors.push(C::AuthorizationCodeGrantUnsupported);
            }
            match row.pkce.as_str() {
                "absent" => errors.push(C::PkceUnsupported),
                s if s.starts_with("yes") => {}
                _ => errors.push(C::S256Unsupported),
            }
            let mut warnings = Vec::new();
            if !row.registration {
                warnings.push(C::DynamicRegistrationUnsupported);
            }
            if row.cimd != "true" {
                warnings.push(C::ClientIdMetadataDocumentUnsupported);
            }
            assert_eq!(codes(&report.errors), errors, "{name} errors");
            assert_eq!(codes(&report.warnings), warnings, "{name} warnings");
            assert_eq!(
                report.errors.len() + report.warnings.len() + report.successes.len(),
                if errors.contains(&C::PkceUnsupported) {
                    5
                } else {
                    6
                },
                "{name}: every check reported once:\n{report}"
            );
        }
    }

    #[test]
    fn named_provider_results() {
        let report = |file: &str| {
            let (_, value) = provider_fixtures()
                .into_iter()
                .find(|(name, _)| name == file)
                .unwrap_or_else(|| panic!("fixture {file} missing"));
            let metadata: AuthServerMetadata =
                serde_json::from_value(value).unwrap_or_else(|e| panic!("{file}: {e}"));
            validate_server_config(&metadata)
        };
        // Cognito and Entra advertise no PKCE at all.
        assert_eq!(
            codes(&report("aws-cognito-oidc.json").errors),
            [C::PkceUnsupported]
        );
        assert_eq!(
            codes(&report("entra-common-oidc.json").errors),
            [C::PkceUnsupported]
        );
        // Cloudflare says `client_id_metadata_document_supported: false`.
        let cf = report("cloudflare-oauth.json");
        assert!(cf.is_ok());
        assert_eq!(
            codes(&cf.warnings),
            [C::ClientIdMetadataDocumentUnsupported]
        );
        assert!(cf.warnings[0].message.contains("is false"));
        // WorkOS's OAuth document has everything; its OIDC document lacks PKCE and registration.
        let workos = report("workos-authkit-oauth.json");
        assert!(workos.is_ok() && workos.warnings.is_empty(), "{workos}");
        assert!(workos.contains(C::ClientIdMetadataDocumentSupported));
        assert_eq!(
            codes(&report("workos-authkit-oidc.json").errors),
            [C::PkceUnsupported]
        );
        // Auth0 has no grant_types_supported: the RFC 8414 default passes.
        let auth0 = report("auth0-oidc.json");
        assert!(auth0.is_ok());
        assert!(
            auth0
                .successes
                .iter()
                .any(|f| f.code == C::AuthorizationCodeGrantSupported
                    && f.message.contains("default"))
        );
    }
}
