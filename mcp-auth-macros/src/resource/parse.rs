//! `#[mcp_resource(...)]` arguments and item, from tokens to raw values with their spans.
//!
//! Nothing is checked here beyond the shape of the tokens: each key is parsed on its own, so an
//! unknown key or a malformed value does not hide the problems of the other keys.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::token::{Brace, Bracket, Paren};
use syn::{
    Expr, ExprCall, ExprLit, Ident, Lit, LitStr, MacroDelimiter, Meta, MetaList, MetaNameValue,
    Path, PathSegment, Token, Visibility,
};

use crate::ctxt::Ctxt;
use crate::{attr, diag};

/// Every key `#[mcp_resource]` accepts, for did-you-mean suggestions.
pub(crate) const KEYS: &[&str] = &[
    "id",
    "issuer",
    "issuers",
    "scopes",
    "name",
    "documentation",
    "policy_uri",
    "tos_uri",
    "discovery",
    "accept_jwt_typ",
    "lenient_claims",
    "scope_claim",
    "roles",
    "role_claim",
    "dpop",
    "dpop_algs",
];

/// One comma-separated argument: `key = value`, `key` alone or `key(...)`. A key is any
/// `::`-separated identifiers, keywords included (`type = 1` is an unknown key, not a parse
/// error).
enum Arg {
    /// A key and its value, as written.
    Meta(Box<Meta>),
    /// A problem found while parsing this argument; the parser went on to the next comma.
    Invalid(syn::Error),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Lit) && !(input.peek(syn::LitBool) && input.peek2(Token![=])) {
            let lit: Lit = input.parse()?;
            return Ok(Self::Invalid(diag::at(
                &lit,
                "expected `key = value`, e.g. `id = \"https://...\"`",
            )));
        }
        if !input.peek(Ident::peek_any) {
            return Err(input.error("expected identifier or literal"));
        }
        let path = key(input)?;
        if input.peek(Paren) || input.peek(Bracket) || input.peek(Brace) {
            let group: Group = input.parse()?;
            let span = group.delim_span();
            let delimiter = match group.delimiter() {
                Delimiter::Parenthesis => MacroDelimiter::Paren(Paren(span)),
                Delimiter::Bracket => MacroDelimiter::Bracket(Bracket(span)),
                _ => MacroDelimiter::Brace(Brace(span)),
            };
            let tokens = group.stream();
            return Ok(Self::Meta(Box::new(Meta::List(MetaList {
                path,
                delimiter,
                tokens,
            }))));
        }
        if input.peek(Token![=]) {
            let eq_token = input.parse()?;
            // A literal that ends the list is read as a literal, also where the expression
            // grammar reads it otherwise (`-1` is a literal here, a negation before a comma).
            let ahead = input.fork();
            let value = match ahead.parse::<Option<Lit>>()? {
                Some(lit) if ahead.is_empty() => {
                    input.advance_to(&ahead);
                    Expr::Lit(ExprLit {
                        attrs: Vec::new(),
                        lit,
                    })
                }
                _ if input.peek(Token![#]) && input.peek2(Bracket) => {
                    return Err(input.error("unexpected attribute inside of attribute"));
                }
                _ => input.parse()?,
            };
            return Ok(Self::Meta(Box::new(Meta::NameValue(MetaNameValue {
                path,
                eq_token,
                value,
            }))));
        }
        Ok(Self::Meta(Box::new(Meta::Path(path))))
    }
}

/// A key: identifiers (keywords too) separated by `::`.
fn key(input: ParseStream<'_>) -> syn::Result<Path> {
    let mut segments = Punctuated::new();
    loop {
        segments.push_value(PathSegment::from(Ident::parse_any(input)?));
        if !input.peek(Token![::]) {
            break;
        }
        segments.push_punct(input.parse()?);
        if !input.peek(Ident::peek_any) {
            return Err(input.error("expected path segment after `::`"));
        }
    }
    Ok(Path {
        leading_colon: None,
        segments,
    })
}

/// The value of one key: `key = value` is read by [`ArgValue::from_expr`], `key` alone only
/// where [`ArgValue::from_word`] allows it, `key(...)` never.
trait ArgValue: Sized {
    /// The value of `key = expr`.
    fn from_expr(expr: &Expr) -> syn::Result<Self>;

    /// The value of `key` alone, when it has one.
    fn from_word() -> Option<Self> {
        None
    }
}

/// Reads the value of one argument.
fn parse_value<T: ArgValue>(meta: &Meta) -> syn::Result<T> {
    match meta {
        Meta::NameValue(nv) => T::from_expr(&nv.value),
        Meta::Path(_) => T::from_word().ok_or_else(|| unexpected_format(meta, "word")),
        Meta::List(list) => {
            // Malformed tokens inside are reported as such, before the form itself.
            Punctuated::<Arg, Token![,]>::parse_terminated.parse2(list.tokens.clone())?;
            Err(unexpected_format(meta, "list"))
        }
    }
}

fn unexpected_format(meta: &Meta, format: &str) -> syn::Error {
    diag::at_span(
        meta.span(),
        format!("Unexpected meta-item format `{format}`"),
    )
}

fn unexpected_type(span: Span, ty: &str) -> syn::Error {
    diag::at_span(span, format!("Unexpected type `{ty}`"))
}

/// The kind of a literal, for [`unexpected_type`].
fn lit_type(lit: &Lit) -> &'static str {
    match lit {
        Lit::Str(_) => "string",
        Lit::ByteStr(_) => "byte string",
        Lit::Byte(_) => "byte",
        Lit::Char(_) => "char",
        Lit::Int(_) => "int",
        Lit::Float(_) => "float",
        Lit::Bool(_) => "bool",
        Lit::Verbatim(_) => "verbatim",
        _ => "unknown",
    }
}

/// The kind of an expression, for [`unexpected_type`].
fn expr_type(expr: &Expr) -> &'static str {
    match expr {
        Expr::Array(_) => "array",
        Expr::Assign(_) => "assign",
        Expr::Async(_) => "async",
        Expr::Await(_) => "await",
        Expr::Binary(_) => "binary",
        Expr::Block(_) => "block",
        Expr::Break(_) => "break",
        Expr::Call(_) => "call",
        Expr::Cast(_) => "cast",
        Expr::Closure(_) => "closure",
        Expr::Const(_) => "const",
        Expr::Continue(_) => "continue",
        Expr::Field(_) => "field",
        Expr::ForLoop(_) => "for_loop",
        Expr::Group(_) => "group",
        Expr::If(_) => "if",
        Expr::Index(_) => "index",
        Expr::Infer(_) => "infer",
        Expr::Let(_) => "let",
        Expr::Lit(_) => "lit",
        Expr::Loop(_) => "loop",
        Expr::Macro(_) => "macro",
        Expr::Match(_) => "match",
        Expr::MethodCall(_) => "method_call",
        Expr::Paren(_) => "paren",
        Expr::Path(_) => "path",
        Expr::Range(_) => "range",
        Expr::Reference(_) => "reference",
        Expr::Repeat(_) => "repeat",
        Expr::Return(_) => "return",
        Expr::Struct(_) => "struct",
        Expr::Try(_) => "try",
        Expr::TryBlock(_) => "try_block",
        Expr::Tuple(_) => "tuple",
        Expr::Unary(_) => "unary",
        Expr::Unsafe(_) => "unsafe",
        Expr::Verbatim(_) => "verbatim",
        Expr::While(_) => "while",
        Expr::Yield(_) => "yield",
        _ => "unknown",
    }
}

impl ArgValue for LitStr {
    fn from_expr(expr: &Expr) -> syn::Result<Self> {
        match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(s.clone()),
            Expr::Lit(ExprLit { lit, .. }) => Err(unexpected_type(lit.span(), lit_type(lit))),
            Expr::Group(group) => Self::from_expr(&group.expr),
            other => Err(unexpected_type(other.span(), expr_type(other))),
        }
    }
}

/// A string value given as a literal or read from the environment.
#[derive(Debug, Clone)]
pub(crate) enum ValueArg {
    /// `"https://..."`.
    Literal(LitStr),
    /// `env("VAR")` or `env("VAR", default = "...")`.
    Env {
        /// The whole `env(...)` expression, for spans.
        span: Span,
        /// The variable name.
        var: LitStr,
        /// The default value.
        default: Option<LitStr>,
    },
}

impl ArgValue for ValueArg {
    fn from_expr(expr: &Expr) -> syn::Result<Self> {
        match expr {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Str(s) => Ok(Self::Literal(s.clone())),
                other => Err(expected_value(other.span())),
            },
            Expr::Group(group) => Self::from_expr(&group.expr),
            Expr::Call(call) => env_call(call),
            other => Err(expected_value(other.span())),
        }
    }
}

fn expected_value(span: Span) -> syn::Error {
    diag::at_span(
        span,
        "expected a string literal or `env(\"VAR\")` / `env(\"VAR\", default = \"...\")`",
    )
}

/// Parses `env("VAR")` / `env("VAR", default = "...")`.
fn env_call(call: &ExprCall) -> syn::Result<ValueArg> {
    let is_env = matches!(&*call.func, Expr::Path(p) if p.path.is_ident("env"));
    if !is_env {
        return Err(expected_value(call.func.span()));
    }
    let mut args = call.args.iter();
    let var = match args.next() {
        Some(Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        })) => s.clone(),
        Some(other) => {
            return Err(diag::at_span(
                other.span(),
                "expected the variable name as a string literal: `env(\"VAR\")`",
            ));
        }
        None => {
            return Err(diag::at_span(
                call.span(),
                "`env()` needs the variable name: `env(\"VAR\")` or `env(\"VAR\", default = \"...\")`",
            ));
        }
    };
    let default = match args.next() {
        None => None,
        Some(Expr::Assign(assign)) => {
            let key_ok = matches!(&*assign.left, Expr::Path(p) if p.path.is_ident("default"));
            if !key_ok {
                return Err(diag::unknown_key(
                    assign.left.span(),
                    &assign.left.to_token_stream().to_string(),
                    &["default"],
                ));
            }
            match &*assign.right {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.clone()),
                other => {
                    return Err(diag::at_span(
                        other.span(),
                        "expected a string literal: `default = \"...\"`",
                    ));
                }
            }
        }
        Some(other) => {
            return Err(diag::at_span(
                other.span(),
                "expected `default = \"...\"` after the variable name",
            ));
        }
    };
    if let Some(extra) = args.next() {
        return Err(diag::at_span(
            extra.span(),
            "`env` takes the variable name and an optional `default = \"...\"`, nothing more",
        ));
    }
    Ok(ValueArg::Env {
        span: call.span(),
        var,
        default,
    })
}

/// `[a, b, ...]` of values.
#[derive(Debug, Clone)]
pub(crate) struct List<T>(pub(crate) Vec<T>);

impl<T: ArgValue> ArgValue for List<T> {
    fn from_expr(expr: &Expr) -> syn::Result<Self> {
        match expr {
            Expr::Array(array) => {
                let mut items = Vec::new();
                let mut errors: Option<syn::Error> = None;
                for elem in &array.elems {
                    match T::from_expr(elem) {
                        Ok(item) => items.push(item),
                        Err(e) => match &mut errors {
                            Some(errors) => errors.combine(e),
                            None => errors = Some(e),
                        },
                    }
                }
                errors.map_or(Ok(Self(items)), Err)
            }
            Expr::Group(group) => Self::from_expr(&group.expr),
            other => Err(diag::at_span(
                other.span(),
                "expected a list: `[\"...\", \"...\"]`",
            )),
        }
    }
}

/// A boolean option: `key`, `key = true` or `key = false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub(crate) bool);

impl ArgValue for Flag {
    fn from_word() -> Option<Self> {
        Some(Self(true))
    }

    fn from_expr(expr: &Expr) -> syn::Result<Self> {
        match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(Self(b.value)),
            Expr::Group(group) => Self::from_expr(&group.expr),
            other => Err(diag::at_span(other.span(), "expected `true` or `false`")),
        }
    }
}

/// A value and the key it was given under.
#[derive(Debug, Clone)]
pub(crate) struct Keyed<T> {
    /// The key, for spans of "missing"/"conflicting" errors.
    pub(crate) key: Path,
    /// The value.
    pub(crate) value: T,
}

/// The arguments of `#[mcp_resource(...)]`, each as written.
#[derive(Debug, Default)]
pub(crate) struct ResourceArgs {
    pub(crate) id: Option<Keyed<ValueArg>>,
    pub(crate) issuer: Option<Keyed<ValueArg>>,
    pub(crate) issuers: Option<Keyed<List<ValueArg>>>,
    pub(crate) scopes: Option<Keyed<List<LitStr>>>,
    pub(crate) name: Option<Keyed<LitStr>>,
    pub(crate) documentation: Option<Keyed<LitStr>>,
    pub(crate) policy_uri: Option<Keyed<LitStr>>,
    pub(crate) tos_uri: Option<Keyed<LitStr>>,
    pub(crate) discovery: Option<Keyed<LitStr>>,
    pub(crate) accept_jwt_typ: Option<Keyed<Flag>>,
    pub(crate) lenient_claims: Option<Keyed<Flag>>,
    pub(crate) scope_claim: Option<Keyed<LitStr>>,
    pub(crate) roles: Option<Keyed<List<LitStr>>>,
    pub(crate) role_claim: Option<Keyed<LitStr>>,
    pub(crate) dpop: Option<Keyed<LitStr>>,
    pub(crate) dpop_algs: Option<Keyed<List<LitStr>>>,
    /// The known keys that were given, valid or not: a key with a malformed value is not
    /// also reported as missing.
    pub(crate) given: Vec<&'static str>,
}

impl ResourceArgs {
    /// Whether `key` was given (valid or not).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.given.contains(&key)
    }
}

/// Parses the attribute arguments; every problem is recorded in `cx` and the rest is kept.
impl ResourceArgs {
    /// The scope literals as written, valid or not: what a fallback implementation declares, so
    /// that `#[requires_scope]` on them adds no follow-up error.
    pub(crate) fn written_scopes(&self) -> Vec<String> {
        self.scopes
            .as_ref()
            .map(|k| k.value.0.iter().map(LitStr::value).collect())
            .unwrap_or_default()
    }

    /// The role literals as written, valid or not (as [`written_scopes`](Self::written_scopes)).
    pub(crate) fn written_roles(&self) -> Vec<String> {
        self.roles
            .as_ref()
            .map(|k| k.value.0.iter().map(LitStr::value).collect())
            .unwrap_or_default()
    }
}

pub(crate) fn args(cx: &Ctxt, tokens: TokenStream) -> ResourceArgs {
    let mut out = ResourceArgs::default();
    for arg in attr::args(cx, tokens) {
        let meta = match arg {
            Arg::Meta(meta) => meta,
            Arg::Invalid(e) => {
                cx.syn_error(e);
                continue;
            }
        };
        let key = meta.path();
        let name = key
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_else(|| key.to_token_stream().to_string());
        if let Some(known) = KEYS.iter().find(|k| **k == name) {
            out.given.push(known);
        }
        match name.as_str() {
            "id" => set(cx, &mut out.id, &meta),
            "issuer" => set(cx, &mut out.issuer, &meta),
            "issuers" => set(cx, &mut out.issuers, &meta),
            "scopes" => set(cx, &mut out.scopes, &meta),
            "name" => set(cx, &mut out.name, &meta),
            "documentation" => set(cx, &mut out.documentation, &meta),
            "policy_uri" => set(cx, &mut out.policy_uri, &meta),
            "tos_uri" => set(cx, &mut out.tos_uri, &meta),
            "discovery" => set(cx, &mut out.discovery, &meta),
            "accept_jwt_typ" => set(cx, &mut out.accept_jwt_typ, &meta),
            "lenient_claims" => set(cx, &mut out.lenient_claims, &meta),
            "scope_claim" => set(cx, &mut out.scope_claim, &meta),
            "roles" => set(cx, &mut out.roles, &meta),
            "role_claim" => set(cx, &mut out.role_claim, &meta),
            "dpop" => set(cx, &mut out.dpop, &meta),
            "dpop_algs" => set(cx, &mut out.dpop_algs, &meta),
            _ => cx.syn_error(diag::unknown_key(key.span(), &name, KEYS)),
        }
    }
    out
}

/// Parses one `key = value` into `slot`, refusing a key given twice.
fn set<T: ArgValue>(cx: &Ctxt, slot: &mut Option<Keyed<T>>, meta: &Meta) {
    let key = meta.path();
    if slot.is_some() {
        let name = key.get_ident().map(Ident::to_string).unwrap_or_default();
        cx.error_spanned_by(key, format!("`{name}` is given twice; keep one"));
        return;
    }
    match parse_value(meta) {
        Ok(value) => {
            *slot = Some(Keyed {
                key: key.clone(),
                value,
            });
        }
        Err(e) => cx.syn_error(e),
    }
}

/// The annotated struct.
#[derive(Debug)]
pub(crate) struct Target {
    /// Its name.
    pub(crate) ident: Ident,
    /// Its visibility, given to the generated associated items.
    pub(crate) vis: Visibility,
}

/// Checks that `item` is a struct without generics.
pub(crate) fn target(item: &TokenStream) -> syn::Result<Target> {
    let s = match syn::parse2::<syn::Item>(item.clone())? {
        syn::Item::Struct(s) => s,
        syn::Item::Enum(e) => {
            return Err(diag::at_span(
                e.enum_token.span(),
                "#[mcp_resource] goes on a struct, not an enum: declare `pub struct Notes;`",
            ));
        }
        syn::Item::Union(u) => {
            return Err(diag::at_span(
                u.union_token.span(),
                "#[mcp_resource] goes on a struct, not a union: declare `pub struct Notes;`",
            ));
        }
        other => {
            return Err(diag::at_span(
                other.span(),
                "#[mcp_resource] goes on a struct: declare `pub struct Notes;`",
            ));
        }
    };
    if !s.generics.params.is_empty() || s.generics.where_clause.is_some() {
        return Err(diag::at_span(
            s.generics.span(),
            "a resource type cannot be generic: it names one resource; declare a plain struct such as `pub struct Notes;`",
        ));
    }
    Ok(Target {
        ident: s.ident,
        vis: s.vis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: TokenStream) -> (ResourceArgs, Vec<String>) {
        let cx = Ctxt::new();
        let args = args(&cx, tokens);
        (args, cx.messages())
    }

    #[test]
    fn literals_env_and_lists() {
        let (a, errors) = parse(quote! {
            id = env("NOTES_ID", default = "http://127.0.0.1:3000/mcp"),
            issuers = ["https://a.example", env("B")],
            scopes = ["read:notes", "write:notes"],
            accept_jwt_typ,
            lenient_claims = false,
        });
        assert!(errors.is_empty(), "{errors:?}");
        match a.id.map(|k| k.value) {
            Some(ValueArg::Env { var, default, .. }) => {
                assert_eq!(var.value(), "NOTES_ID");
                assert_eq!(
                    default.map(|d| d.value()).as_deref(),
                    Some("http://127.0.0.1:3000/mcp")
                );
            }
            other => panic!("{other:?}"),
        }
        let issuers = a.issuers.map(|k| k.value.0).unwrap_or_default();
        assert!(matches!(
            &issuers[..],
            [ValueArg::Literal(_), ValueArg::Env { default: None, .. }]
        ));
        assert_eq!(a.scopes.map(|k| k.value.0.len()), Some(2));
        assert_eq!(a.accept_jwt_typ.map(|k| k.value), Some(Flag(true)));
        assert_eq!(a.lenient_claims.map(|k| k.value), Some(Flag(false)));
    }

    #[test]
    fn every_problem_is_reported() {
        let (a, errors) = parse(quote! {
            idd = "x",
            id = 3,
            scopes = "read",
            issuer = env(),
            name = "a",
            name = "b",
        });
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].contains("Did you mean `id`?"), "{errors:?}");
        assert!(errors[4].contains("given twice"), "{errors:?}");
        assert_eq!(a.name.map(|k| k.value.value()).as_deref(), Some("a"));
    }

    #[test]
    fn env_default_key_is_checked() {
        let (_, errors) = parse(quote!(id = env("X", defualt = "y")));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("Did you mean `default`?"), "{errors:?}");
    }

    #[test]
    fn targets() {
        assert!(
            target(&quote!(
                pub struct Notes;
            ))
            .is_ok()
        );
        assert!(
            target(&quote!(
                struct Notes {
                    a: u8,
                }
            ))
            .is_ok()
        );
        for bad in [
            quote!(
                enum Notes {}
            ),
            quote!(union Notes { a: u8 }),
            quote!(
                struct Notes<T>(T);
            ),
            quote!(
                fn notes() {}
            ),
        ] {
            assert!(target(&bad).is_err(), "{bad}");
        }
    }
}
