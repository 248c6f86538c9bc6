//! `#[mcp_resource]`: raw arguments to a checked [`Model`], every rule from [`mcp_auth_rules`].

use mcp_auth_rules::metadata_json::MetadataJson;
use mcp_auth_rules::{DiscoveryKind, UrlCheck};
use proc_macro2::{Span, TokenStream};
use syn::LitStr;

use super::parse::{Keyed, List, ResourceArgs, ValueArg};
use crate::ctxt::Ctxt;
use crate::diag;

/// A checked string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A literal that passed the rules.
    Literal(String),
    /// Read from the environment at start-up; the default passed the rules.
    Env {
        /// The variable name.
        var: String,
        /// The value used when the variable is unset.
        default: Option<String>,
    },
}

impl Source {
    fn literal(&self) -> Option<&str> {
        match self {
            Self::Literal(s) => Some(s),
            Self::Env { .. } => None,
        }
    }
}

/// A checked `#[mcp_resource]` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Model {
    pub(crate) id: Source,
    pub(crate) issuers: Vec<Source>,
    pub(crate) discovery: DiscoveryKind,
    pub(crate) scopes: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) documentation: Option<String>,
    pub(crate) policy_uri: Option<String>,
    pub(crate) tos_uri: Option<String>,
    pub(crate) accept_jwt_typ: bool,
    pub(crate) lenient_claims: bool,
    pub(crate) scope_claim: Option<String>,
    /// The roles operations may require.
    pub(crate) roles: Vec<String>,
    /// Where tokens hold their roles, when not `roles`.
    pub(crate) role_claim: Option<String>,
    /// `dpop`, when given.
    pub(crate) dpop: Option<DpopDecl>,
}

/// A checked `dpop` / `dpop_algs` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DpopDecl {
    /// `bearer_only`, `accepted` or `required`.
    pub(crate) policy: &'static str,
    /// The proof algorithms, empty for the runtime's defaults.
    pub(crate) algs: Vec<String>,
}

/// The proof algorithms of `dpop_algs` (the asymmetric JOSE algorithms), and the runtime's
/// defaults, in its order.
const DPOP_ALGS: [&str; 9] = [
    "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
];
const DPOP_DEFAULT_ALGS: [&str; 4] = ["ES256", "RS256", "PS256", "EdDSA"];

impl DpopDecl {
    fn accepts_dpop(&self) -> bool {
        self.policy != "bearer_only"
    }

    /// The algorithms the metadata and challenges list.
    fn algorithm_names(&self) -> Vec<String> {
        if self.algs.is_empty() {
            DPOP_DEFAULT_ALGS.iter().map(|a| (*a).to_owned()).collect()
        } else {
            self.algs.clone()
        }
    }
}

impl Model {
    /// The literal resource identifier.
    pub(crate) fn literal_id(&self) -> Option<&str> {
        self.id.literal()
    }

    /// Where the metadata is served (RFC 9728 §3.1), when the id is a literal.
    pub(crate) fn well_known_path(&self) -> Option<String> {
        self.literal_id().and_then(mcp_auth_rules::metadata_path)
    }

    /// The metadata document, when the id and every issuer are literals: the same bytes the
    /// runtime serves, from the same serialiser.
    pub(crate) fn metadata_json(&self) -> Option<String> {
        let id = self.literal_id()?;
        let issuers = self
            .issuers
            .iter()
            .map(|i| i.literal().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?;
        let bearer_methods = ["header".to_owned()];
        let dpop = self.dpop.as_ref().filter(|d| d.accepts_dpop());
        let dpop_algs = dpop.map(DpopDecl::algorithm_names).unwrap_or_default();
        let doc = MetadataJson {
            resource: id,
            authorization_servers: &issuers,
            scopes_supported: &self.scopes,
            bearer_methods_supported: &bearer_methods,
            resource_name: self.name.as_deref(),
            resource_documentation: self.documentation.as_deref(),
            resource_policy_uri: self.policy_uri.as_deref(),
            resource_tos_uri: self.tos_uri.as_deref(),
            dpop_signing_alg_values_supported: &dpop_algs,
            dpop_bound_access_tokens_required: dpop.is_some_and(|d| d.policy == "required"),
            ..MetadataJson::default()
        };
        Some(doc.to_json())
    }
}

/// Checks `args`; every problem is recorded in `cx`. `None` when a required key is missing or
/// a value is wrong; the model is complete only when `cx` holds no error.
///
/// `attr` is the whole argument list, the span of "missing key" errors.
pub(crate) fn validate(cx: &Ctxt, args: ResourceArgs, attr: &TokenStream) -> Option<Model> {
    let id = match &args.id {
        Some(k) => value(cx, &k.value, "id", mcp_auth_rules::resource_id),
        None if args.has("id") => None,
        None => {
            cx.error_spanned_by(
                attr,
                "missing `id`: add the resource identifier, e.g. `id = \"https://mcp.example.com/mcp\"` or `id = env(\"RESOURCE_ID\")`",
            );
            None
        }
    };

    let issuers = issuers(cx, &args, attr);
    let scopes = scopes(cx, args.scopes.as_ref());
    let discovery = args
        .discovery
        .as_ref()
        .map_or(Some(DiscoveryKind::Auto), |k| discovery(cx, &k.value));

    let name = non_empty(cx, args.name.as_ref(), "name");
    let documentation = metadata_url(cx, args.documentation.as_ref(), "resource_documentation");
    let policy_uri = metadata_url(cx, args.policy_uri.as_ref(), "resource_policy_uri");
    let tos_uri = metadata_url(cx, args.tos_uri.as_ref(), "resource_tos_uri");
    let scope_claim = non_empty(cx, args.scope_claim.as_ref(), "scope_claim");
    let roles = roles(cx, args.roles.as_ref());
    let role_claim = args.role_claim.as_ref().and_then(|k| {
        let value = k.value.value();
        match mcp_auth_rules::claim_path(&value) {
            Ok(()) => Some(value),
            Err(problem) => {
                cx.syn_error(diag::problem(&problem, &k.value));
                None
            }
        }
    });
    let dpop = dpop(cx, &args);

    Some(Model {
        id: id?,
        issuers: issuers?,
        discovery: discovery?,
        scopes,
        name,
        documentation,
        policy_uri,
        tos_uri,
        accept_jwt_typ: args.accept_jwt_typ.is_some_and(|k| k.value.0),
        lenient_claims: args.lenient_claims.is_some_and(|k| k.value.0),
        scope_claim,
        roles,
        role_claim,
        dpop: dpop?,
    })
}

/// `dpop = "..."` and `dpop_algs = [...]`: a known policy; asymmetric algorithms, each once,
/// only with a policy that accepts DPoP. `Some(None)` when neither is given; `None` after an
/// error.
fn dpop(cx: &Ctxt, args: &ResourceArgs) -> Option<Option<DpopDecl>> {
    let policy = match &args.dpop {
        None if args.has("dpop") => return None,
        None => None,
        Some(k) => match k.value.value().as_str() {
            "bearer_only" => Some("bearer_only"),
            "accepted" => Some("accepted"),
            "required" => Some("required"),
            other => {
                cx.error_spanned_by(
                    &k.value,
                    format!(
                        "unknown DPoP policy `{}`; use `\"bearer_only\"` (Bearer tokens only, the default), `\"accepted\"` (DPoP-bound tokens too) or `\"required\"` (DPoP-bound tokens only)",
                        other.escape_default()
                    ),
                );
                return None;
            }
        },
    };
    let Some(algs) = &args.dpop_algs else {
        if args.has("dpop_algs") {
            return None;
        }
        return Some(policy.map(|policy| DpopDecl {
            policy,
            algs: Vec::new(),
        }));
    };
    let mut valid = true;
    if policy.is_none_or(|p| p == "bearer_only") {
        cx.error_spanned_by(
            &algs.key,
            "`dpop_algs` needs DPoP: with `dpop = \"bearer_only\"` (the default) no proof is ever checked; add `dpop = \"accepted\"` or `dpop = \"required\"`, or remove `dpop_algs`",
        );
        valid = false;
    }
    if algs.value.0.is_empty() {
        cx.error_spanned_by(
            &algs.key,
            "`dpop_algs` is empty: list at least one proof algorithm, e.g. `dpop_algs = [\"ES256\"]`, or leave it out for the defaults (ES256, RS256, PS256, EdDSA)",
        );
        valid = false;
    }
    let mut out: Vec<String> = Vec::new();
    for lit in &algs.value.0 {
        let alg = lit.value();
        if matches!(alg.as_str(), "HS256" | "HS384" | "HS512" | "none") {
            cx.error_spanned_by(
                lit,
                format!(
                    "`{alg}` is not an asymmetric signature algorithm: a DPoP proof is signed with the client's private key and checked with the public key in its `jwk` header; use ES256, ES384, RS256, RS384, RS512, PS256, PS384, PS512 or EdDSA"
                ),
            );
            valid = false;
        } else if !DPOP_ALGS.contains(&alg.as_str()) {
            cx.error_spanned_by(
                lit,
                format!(
                    "unknown DPoP proof algorithm `{}`; use ES256, ES384, RS256, RS384, RS512, PS256, PS384, PS512 or EdDSA (JOSE names, case-sensitive)",
                    alg.escape_default()
                ),
            );
            valid = false;
        } else if out.contains(&alg) {
            cx.error_spanned_by(lit, format!("`{alg}` is listed twice; remove one"));
            valid = false;
        } else {
            out.push(alg);
        }
    }
    valid.then(|| policy.map(|policy| DpopDecl { policy, algs: out }))
}

/// Checks a literal or an `env` name and default with `rule`; `None` when there was a problem.
fn value(cx: &Ctxt, arg: &ValueArg, key: &str, rule: fn(&str) -> UrlCheck) -> Option<Source> {
    match arg {
        ValueArg::Literal(lit) => {
            let value = lit.value();
            diag::url_check(cx, &rule(&value), lit).then_some(Source::Literal(value))
        }
        ValueArg::Env { var, default, .. } => {
            let name_ok = env_var_name(cx, var, key);
            let default_ok = default
                .as_ref()
                .is_none_or(|d| diag::url_check(cx, &rule(&d.value()), d));
            (name_ok && default_ok).then(|| Source::Env {
                var: var.value(),
                default: default.as_ref().map(LitStr::value),
            })
        }
    }
}

/// An environment variable name must be non-empty and free of `=` and NUL, or `std::env::var`
/// can never find it. Whether it is.
fn env_var_name(cx: &Ctxt, var: &LitStr, key: &str) -> bool {
    let name = var.value();
    let problem = if name.is_empty() {
        Some("the environment variable name is empty")
    } else if name.contains('=') {
        Some("an environment variable name cannot contain `=`")
    } else if name.contains('\0') {
        Some("an environment variable name cannot contain a NUL character")
    } else {
        None
    };
    let Some(problem) = problem else {
        return true;
    };
    let upper = key.to_ascii_uppercase();
    cx.error_spanned_by(
        var,
        format!("{problem}; name the variable `{key}` is read from, e.g. `env(\"NOTES_{upper}\")`"),
    );
    false
}

/// `issuer = ...` or `issuers = [...]`, exactly one of them, at least one issuer, no duplicate.
fn issuers(cx: &Ctxt, args: &ResourceArgs, attr: &TokenStream) -> Option<Vec<Source>> {
    let listed: Vec<&ValueArg> = match (&args.issuer, &args.issuers) {
        (Some(_), Some(many)) => {
            cx.error_spanned_by(
                &many.key,
                "give either `issuer = \"...\"` or `issuers = [...]`, not both: move the single issuer into the list",
            );
            return None;
        }
        (None, None) if args.has("issuer") || args.has("issuers") => return None,
        (None, None) => {
            cx.error_spanned_by(
                attr,
                "missing `issuer`: add the authorization server that issues the tokens, e.g. `issuer = \"https://auth.example.com\"` (or `issuers = [...]` for several)",
            );
            return None;
        }
        (Some(one), None) => vec![&one.value],
        (None, Some(many)) => {
            if many.value.0.is_empty() {
                cx.error_spanned_by(
                    &many.key,
                    "`issuers` is empty: list at least one authorization server, e.g. `issuers = [\"https://auth.example.com\"]`",
                );
                return None;
            }
            many.value.0.iter().collect()
        }
    };
    let mut valid = true;
    let mut out = Vec::with_capacity(listed.len());
    for arg in listed {
        match value(cx, arg, "issuer", mcp_auth_rules::issuer) {
            Some(source) if out.contains(&source) => {
                let shown = match &source {
                    Source::Literal(s) => format!("issuer `{s}`"),
                    Source::Env { var, .. } => format!("issuer `env(\"{var}\")`"),
                };
                cx.error_at(
                    value_span(arg),
                    format!("{shown} is listed twice; remove one"),
                );
                valid = false;
            }
            Some(source) => out.push(source),
            None => valid = false,
        }
    }
    valid.then_some(out)
}

fn value_span(arg: &ValueArg) -> Span {
    match arg {
        ValueArg::Literal(lit) => lit.span(),
        ValueArg::Env { span, .. } => *span,
    }
}

/// `scopes = [...]`: RFC 6749 tokens, each once, no `offline_access` ([`mcp_auth_rules::scope_list`]).
/// Empty or absent is allowed: `scopes_supported` is then omitted.
fn scopes(cx: &Ctxt, arg: Option<&Keyed<List<LitStr>>>) -> Vec<String> {
    let Some(arg) = arg else {
        return Vec::new();
    };
    let values: Vec<String> = arg.value.0.iter().map(LitStr::value).collect();
    for (i, problem) in mcp_auth_rules::scope_list(values.iter().map(String::as_str)) {
        if let Some(lit) = arg.value.0.get(i) {
            cx.syn_error(diag::problem(&problem, lit));
        }
    }
    values
}

/// `roles = [...]`: role names without whitespace, each once ([`mcp_auth_rules::role_list`]).
fn roles(cx: &Ctxt, arg: Option<&Keyed<List<LitStr>>>) -> Vec<String> {
    let Some(arg) = arg else {
        return Vec::new();
    };
    let values: Vec<String> = arg.value.0.iter().map(LitStr::value).collect();
    for (i, problem) in mcp_auth_rules::role_list(values.iter().map(String::as_str)) {
        if let Some(lit) = arg.value.0.get(i) {
            cx.syn_error(diag::problem(&problem, lit));
        }
    }
    values
}

fn discovery(cx: &Ctxt, lit: &LitStr) -> Option<DiscoveryKind> {
    match lit.value().as_str() {
        "oauth" => Some(DiscoveryKind::OAuth),
        "oidc" => Some(DiscoveryKind::Oidc),
        "auto" => Some(DiscoveryKind::Auto),
        other => {
            cx.error_spanned_by(
                lit,
                format!(
                    "unknown discovery `{}`; use `\"oauth\"` (RFC 8414 only), `\"oidc\"` (OpenID Connect Discovery only) or `\"auto\"` (both, in the MCP order; the default)",
                    other.escape_default()
                ),
            );
            None
        }
    }
}

/// A metadata URL ([`mcp_auth_rules::https_url`]).
fn metadata_url(cx: &Ctxt, arg: Option<&Keyed<LitStr>>, field: &str) -> Option<String> {
    let lit = &arg?.value;
    let value = lit.value();
    diag::url_check(cx, &mcp_auth_rules::https_url(field, &value), lit);
    Some(value)
}

/// A free-text value that would silently disappear from the document when empty.
fn non_empty(cx: &Ctxt, arg: Option<&Keyed<LitStr>>, key: &str) -> Option<String> {
    let lit = &arg?.value;
    let value = lit.value();
    if value.trim().is_empty() {
        cx.error_spanned_by(
            lit,
            format!("`{key}` is empty; give it a value or remove the key"),
        );
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use quote::quote;

    fn check(tokens: TokenStream) -> Result<Model, Vec<String>> {
        let cx = Ctxt::new();
        let args = parse::args(&cx, tokens.clone());
        let model = validate(&cx, args, &tokens);
        let errors = cx.messages();
        match model {
            Some(m) if errors.is_empty() => Ok(m),
            _ => Err(errors),
        }
    }

    #[test]
    fn rs07_metadata_json_is_the_runtime_serialiser_output() {
        let m = check(quote! {
            id = "https://mcp.example.com/mcp",
            issuer = "https://auth.example.com/",
            scopes = ["read:notes", "write:notes"],
            name = "Notes",
            documentation = "https://docs.example.com/notes",
        })
        .unwrap();
        assert_eq!(
            m.metadata_json().as_deref(),
            Some(
                r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com/"],"scopes_supported":["read:notes","write:notes"],"bearer_methods_supported":["header"],"resource_name":"Notes","resource_documentation":"https://docs.example.com/notes"}"#
            )
        );
        assert_eq!(
            m.well_known_path().as_deref(),
            Some("/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(m.discovery, DiscoveryKind::Auto);
    }

    #[test]
    fn dpop_declaration_reaches_the_metadata_json() {
        let m = check(quote! {
            id = "https://mcp.example.com/mcp",
            issuer = "https://auth.example.com/",
            dpop = "required",
            dpop_algs = ["ES256", "EdDSA"],
        })
        .unwrap();
        assert_eq!(
            m.dpop,
            Some(DpopDecl {
                policy: "required",
                algs: vec!["ES256".into(), "EdDSA".into()]
            })
        );
        let json = m.metadata_json().unwrap();
        assert!(
            json.contains(r#""dpop_signing_alg_values_supported":["ES256","EdDSA"],"dpop_bound_access_tokens_required":true"#),
            "{json}"
        );
        let m = check(quote! {
            id = "https://mcp.example.com/mcp",
            issuer = "https://auth.example.com/",
            dpop = "accepted",
        })
        .unwrap();
        let json = m.metadata_json().unwrap();
        assert!(
            json.contains(
                r#""dpop_signing_alg_values_supported":["ES256","RS256","PS256","EdDSA"]"#
            ),
            "{json}"
        );
        assert!(
            !json.contains("dpop_bound_access_tokens_required"),
            "{json}"
        );
    }

    #[test]
    fn dpop_nonsense_is_refused_all_at_once() {
        let errors = check(quote! {
            id = "https://mcp.example.com/mcp",
            issuer = "https://auth.example.com/",
            dpop = "always",
        })
        .unwrap_err();
        assert!(
            errors[0].contains("unknown DPoP policy `always`"),
            "{errors:?}"
        );
        let errors = check(quote! {
            id = "https://mcp.example.com/mcp",
            issuer = "https://auth.example.com/",
            dpop = "accepted",
            dpop_algs = ["HS256", "ES256", "ES256", "ES257"],
        })
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].contains("`HS256` is not an asymmetric"),
            "{errors:?}"
        );
        assert!(errors[1].contains("`ES256` is listed twice"), "{errors:?}");
        assert!(
            errors[2].contains("unknown DPoP proof algorithm `ES257`"),
            "{errors:?}"
        );
        for without in [quote!(dpop = "bearer_only",), quote!()] {
            let errors = check(quote! {
                id = "https://mcp.example.com/mcp",
                issuer = "https://auth.example.com/",
                #without
                dpop_algs = ["ES256"],
            })
            .unwrap_err();
            assert!(errors[0].contains("`dpop_algs` needs DPoP"), "{errors:?}");
        }
    }

    #[test]
    fn env_values_have_no_literal_items() {
        let m = check(quote! {
            id = env("NOTES_ID", default = "http://127.0.0.1:3000/mcp"),
            issuers = ["https://a.example", env("B")],
            discovery = "oidc",
        })
        .unwrap();
        assert_eq!(m.literal_id(), None);
        assert_eq!(m.well_known_path(), None);
        assert_eq!(m.metadata_json(), None);
        assert!(m.scopes.is_empty());
        assert_eq!(m.discovery, DiscoveryKind::Oidc);
    }

    #[test]
    fn rs03_rs15_all_url_problems_in_one_pass() {
        let errors = check(quote! {
            id = "https://MCP.example.com/mcp/",
            issuer = "http://auth.example.com?x=1",
            documentation = "ftp://docs.example.com",
        })
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(
            errors[0].contains("write `https://mcp.example.com/mcp`"),
            "{errors:?}"
        );
        assert!(errors[1].contains("must use https"), "{errors:?}");
        assert!(errors[2].contains("?query"), "{errors:?}");
        assert!(errors[3].contains("`ftp` scheme"), "{errors:?}");
    }

    #[test]
    fn rs03_query_in_id_is_refused_with_the_runtime_alternative() {
        let errors = check(quote!(
            id = "https://mcp.example.com/mcp?t=a",
            issuer = "https://a.example"
        ))
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("accepts this with a warning"),
            "{errors:?}"
        );
    }

    #[test]
    fn required_and_conflicting_keys() {
        let errors = check(quote!(scopes = ["a"])).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("missing `id`"));
        assert!(errors[1].starts_with("missing `issuer`"));
        let errors = check(quote!(
            id = "https://a.example",
            issuer = "https://b.example",
            issuers = ["https://c.example"]
        ))
        .unwrap_err();
        assert!(errors[0].contains("not both"), "{errors:?}");
        let errors = check(quote!(id = "https://a.example", issuers = [])).unwrap_err();
        assert!(errors[0].contains("`issuers` is empty"), "{errors:?}");
        let errors = check(quote!(
            id = "https://a.example",
            issuers = ["https://b.example", "https://b.example"]
        ))
        .unwrap_err();
        assert!(errors[0].contains("listed twice"), "{errors:?}");
    }

    #[test]
    fn rs11_scopes() {
        let errors = check(quote! {
            id = "https://a.example", issuer = "https://b.example",
            scopes = ["read", "bad scope", "read", "offline_access"],
        })
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("contains a space"));
        assert!(errors[1].contains("listed twice"));
        assert!(errors[2].contains("offline_access"));
    }

    #[test]
    fn env_names_and_defaults() {
        let errors = check(quote! {
            id = env("", default = "https://a.example/"),
            issuer = env("A=B"),
        })
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("name is empty"));
        assert!(errors[1].contains("not in canonical form"));
        assert!(errors[2].contains("cannot contain `=`"));
    }

    #[test]
    fn other_keys() {
        let m = check(quote! {
            id = "https://a.example", issuer = "https://b.example",
            accept_jwt_typ = true, lenient_claims, scope_claim = "scp", discovery = "oauth",
        })
        .unwrap();
        assert!(m.accept_jwt_typ && m.lenient_claims);
        assert_eq!(m.scope_claim.as_deref(), Some("scp"));
        assert_eq!(m.discovery, DiscoveryKind::OAuth);
        let errors = check(quote! {
            id = "https://a.example", issuer = "https://b.example",
            discovery = "openid", name = "", scope_claim = " ",
        })
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("unknown discovery `openid`"));
    }
}
