//! `#[mcp_resource(...)]` arguments and item, from tokens to raw values with their spans.
//!
//! Nothing is checked here beyond the shape of the tokens: each key is parsed on its own, so an
//! unknown key or a malformed value does not hide the problems of the other keys.

use darling::{Error, FromMeta, ast::NestedMeta};
use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Expr, ExprCall, Ident, Lit, LitStr, Meta, Path, Visibility};

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
];

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

impl FromMeta for ValueArg {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Str(s) => Ok(Self::Literal(s.clone())),
                other => Err(expected_value().with_span(other)),
            },
            Expr::Group(group) => Self::from_expr(&group.expr),
            Expr::Call(call) => env_call(call),
            other => Err(expected_value().with_span(other)),
        }
    }
}

fn expected_value() -> Error {
    Error::custom("expected a string literal or `env(\"VAR\")` / `env(\"VAR\", default = \"...\")`")
}

/// Parses `env("VAR")` / `env("VAR", default = "...")`.
fn env_call(call: &ExprCall) -> darling::Result<ValueArg> {
    let is_env = matches!(&*call.func, Expr::Path(p) if p.path.is_ident("env"));
    if !is_env {
        return Err(expected_value().with_span(&call.func));
    }
    let mut args = call.args.iter();
    let var = match args.next() {
        Some(Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        })) => s.clone(),
        Some(other) => {
            return Err(Error::custom(
                "expected the variable name as a string literal: `env(\"VAR\")`",
            )
            .with_span(other));
        }
        None => {
            return Err(Error::custom(
                "`env()` needs the variable name: `env(\"VAR\")` or `env(\"VAR\", default = \"...\")`",
            )
            .with_span(call));
        }
    };
    let default = match args.next() {
        None => None,
        Some(Expr::Assign(assign)) => {
            let key_ok = matches!(&*assign.left, Expr::Path(p) if p.path.is_ident("default"));
            if !key_ok {
                return Err(Error::unknown_field_with_alts(
                    &quote::ToTokens::to_token_stream(&assign.left).to_string(),
                    &["default"],
                )
                .with_span(&assign.left));
            }
            match &*assign.right {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.clone()),
                other => {
                    return Err(
                        Error::custom("expected a string literal: `default = \"...\"`")
                            .with_span(other),
                    );
                }
            }
        }
        Some(other) => {
            return Err(
                Error::custom("expected `default = \"...\"` after the variable name")
                    .with_span(other),
            );
        }
    };
    if let Some(extra) = args.next() {
        return Err(Error::custom(
            "`env` takes the variable name and an optional `default = \"...\"`, nothing more",
        )
        .with_span(extra));
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

impl<T: FromMeta> FromMeta for List<T> {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Array(array) => {
                let mut acc = Error::accumulator();
                let items = array
                    .elems
                    .iter()
                    .filter_map(|e| acc.handle(T::from_expr(e)))
                    .collect();
                acc.finish_with(Self(items))
            }
            Expr::Group(group) => Self::from_expr(&group.expr),
            other => Err(Error::custom("expected a list: `[\"...\", \"...\"]`").with_span(other)),
        }
    }
}

/// A boolean option: `key`, `key = true` or `key = false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub(crate) bool);

impl FromMeta for Flag {
    fn from_word() -> darling::Result<Self> {
        Ok(Self(true))
    }

    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(Self(b.value)),
            Expr::Group(group) => Self::from_expr(&group.expr),
            other => Err(Error::custom("expected `true` or `false`").with_span(other)),
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

/// Parses the attribute arguments; every problem is pushed to `errors` and the rest is kept.
pub(crate) fn args(tokens: TokenStream, errors: &mut Vec<syn::Error>) -> ResourceArgs {
    let mut out = ResourceArgs::default();
    let items = match NestedMeta::parse_meta_list(tokens) {
        Ok(items) => items,
        Err(e) => {
            errors.push(e);
            return out;
        }
    };
    for item in &items {
        let meta = match item {
            NestedMeta::Meta(meta) => meta,
            NestedMeta::Lit(lit) => {
                errors.push(crate::diag::at(
                    lit,
                    "expected `key = value`, e.g. `id = \"https://...\"`",
                ));
                continue;
            }
        };
        let key = meta.path();
        let name = key
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_else(|| quote::ToTokens::to_token_stream(key).to_string());
        if let Some(known) = KEYS.iter().find(|k| **k == name) {
            out.given.push(known);
        }
        match name.as_str() {
            "id" => set(&mut out.id, meta, errors),
            "issuer" => set(&mut out.issuer, meta, errors),
            "issuers" => set(&mut out.issuers, meta, errors),
            "scopes" => set(&mut out.scopes, meta, errors),
            "name" => set(&mut out.name, meta, errors),
            "documentation" => set(&mut out.documentation, meta, errors),
            "policy_uri" => set(&mut out.policy_uri, meta, errors),
            "tos_uri" => set(&mut out.tos_uri, meta, errors),
            "discovery" => set(&mut out.discovery, meta, errors),
            "accept_jwt_typ" => set(&mut out.accept_jwt_typ, meta, errors),
            "lenient_claims" => set(&mut out.lenient_claims, meta, errors),
            "scope_claim" => set(&mut out.scope_claim, meta, errors),
            _ => errors.push(
                Error::unknown_field_with_alts(&name, KEYS)
                    .with_span(key)
                    .into(),
            ),
        }
    }
    out
}

/// Parses one `key = value` into `slot`, refusing a key given twice.
fn set<T: FromMeta>(slot: &mut Option<Keyed<T>>, meta: &Meta, errors: &mut Vec<syn::Error>) {
    let key = meta.path();
    if slot.is_some() {
        let name = key.get_ident().map(Ident::to_string).unwrap_or_default();
        errors.push(crate::diag::at(
            key,
            format!("`{name}` is given twice; keep one"),
        ));
        return;
    }
    match T::from_meta(meta) {
        Ok(value) => {
            *slot = Some(Keyed {
                key: key.clone(),
                value,
            });
        }
        Err(e) => errors.push(e.into()),
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
pub(crate) fn target(item: &TokenStream) -> darling::Result<Target> {
    let item: syn::Item = syn::parse2(item.clone()).map_err(Error::from)?;
    let s = match item {
        syn::Item::Struct(s) => s,
        syn::Item::Enum(e) => {
            return Err(Error::custom(
                "#[mcp_resource] goes on a struct, not an enum: declare `pub struct Notes;`",
            )
            .with_span(&e.enum_token));
        }
        syn::Item::Union(u) => {
            return Err(Error::custom(
                "#[mcp_resource] goes on a struct, not a union: declare `pub struct Notes;`",
            )
            .with_span(&u.union_token));
        }
        other => {
            return Err(Error::custom(
                "#[mcp_resource] goes on a struct: declare `pub struct Notes;`",
            )
            .with_span(&other));
        }
    };
    if !s.generics.params.is_empty() || s.generics.where_clause.is_some() {
        return Err(Error::custom(
            "a resource type cannot be generic: it names one resource; declare a plain struct such as `pub struct Notes;`",
        )
        .with_span(&s.generics));
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
        let mut errors = Vec::new();
        let args = args(tokens, &mut errors);
        (args, errors.iter().map(ToString::to_string).collect())
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
