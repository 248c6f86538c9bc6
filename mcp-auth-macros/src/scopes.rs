//! What `#[requires_scope]` and `#[tool_scopes]` share: the arguments of a
//! `#[requires_scope(...)]` (read by the macro itself on a handler, and by `#[tool_scopes]` on
//! each method of an impl block), the rules its scopes follow, and the compile-time check that
//! the resource declares them.

use mcp_auth_rules::ProblemKind;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Type};

use crate::ctxt::Ctxt;
use crate::{attr, diag, runtime};

/// The keys `#[requires_scope]` accepts, for did-you-mean suggestions.
const KEYS: &[&str] = &["resource"];

/// One comma-separated argument of `#[requires_scope(...)]`.
enum Arg {
    /// `"read:notes"`.
    Scope(LitStr),
    /// `Notes` or `resource = Notes`.
    Resource(Box<Type>),
    /// A problem found while parsing this argument; the parser went on to the next comma.
    Invalid(syn::Error),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(Self::Scope(input.parse()?));
        }
        if input.peek(syn::Lit) {
            let lit: syn::Lit = input.parse()?;
            return Ok(Self::Invalid(diag::at_span(
                lit.span(),
                "expected a scope as a string literal, e.g. `\"read:notes\"`",
            )));
        }
        if attr::peek_key(input) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            if key == "resource" {
                return Ok(Self::Resource(input.parse()?));
            }
            attr::skip_to_comma(input)?;
            return Ok(Self::Invalid(diag::unknown_key(
                key.span(),
                &key.to_string(),
                KEYS,
            )));
        }
        Ok(Self::Resource(input.parse()?))
    }
}

/// The arguments of `#[requires_scope(...)]`, as written.
#[derive(Debug, Default)]
pub(crate) struct ScopeArgs {
    /// The resource named explicitly.
    pub(crate) resource: Option<Type>,
    /// The scopes, in order.
    pub(crate) scopes: Vec<LitStr>,
}

/// Parses the arguments of `#[requires_scope(...)]`; every problem is recorded in `cx`.
pub(crate) fn args(cx: &Ctxt, tokens: TokenStream) -> ScopeArgs {
    let mut out = ScopeArgs::default();
    for arg in attr::args(cx, tokens) {
        match arg {
            Arg::Scope(lit) => out.scopes.push(lit),
            Arg::Resource(ty) => {
                if out.resource.is_some() {
                    cx.error_spanned_by(
                        &ty,
                        "the resource is named twice; name it once, first: `#[requires_scope(Notes, \"read:notes\")]`",
                    );
                } else {
                    out.resource = Some(*ty);
                }
            }
            Arg::Invalid(e) => cx.syn_error(e),
        }
    }
    out
}

/// Checks the scopes of one `#[requires_scope]`: at least one, each a valid RFC 6749 scope
/// token, listed once, not `offline_access`. Every problem is recorded at its literal; an empty
/// list is reported at `attr`.
pub(crate) fn check<T: ToTokens>(cx: &Ctxt, scopes: &[LitStr], attr: &T) {
    if scopes.is_empty() {
        cx.error_spanned_by(
            attr,
            "#[requires_scope] needs at least one scope, e.g. `#[requires_scope(\"read:notes\")]`",
        );
    }
    let values: Vec<String> = scopes.iter().map(LitStr::value).collect();
    for (i, problem) in mcp_auth_rules::scope_list(values.iter().map(String::as_str)) {
        let Some(lit) = scopes.get(i) else {
            continue;
        };
        if problem.kind == ProblemKind::OfflineAccess {
            cx.error_spanned_by(
                lit,
                "`offline_access` cannot be required: a resource never declares it (it is asked of the authorization server, not of the resource)",
            );
        } else {
            cx.syn_error(diag::problem(&problem, lit));
        }
    }
}

/// A second `#[requires_scope]` on the same function.
pub(crate) fn given_twice(cx: &Ctxt, attr: &Attribute) {
    cx.error_spanned_by(
        attr,
        "#[requires_scope] is given twice; list all scopes in one attribute: `#[requires_scope(\"a\", \"b\")]`",
    );
}

/// A `const` item that fails to compile, at the scope literal, when `resource` does not
/// declare `scope`. The message lists the declared scopes.
pub(crate) fn declared_check(resource: &Type, scope: &LitStr) -> TokenStream {
    // Every token of the failing call carries the literal's span: a call whose tokens mix spans
    // is reported at the whole attribute.
    let p = runtime::private_spanned(scope.span());
    let head = format!("scope `{}` is not declared by resource `", scope.value());
    quote_spanned! {scope.span()=>
        const _: () = {
            const DECLARED: &[&str] = <#resource as #p::Resource>::SPEC.scopes;
            if !#p::scope_declared(DECLARED, #scope) {
                const PARTS: &[&str] = &[
                    #head,
                    <#resource as #p::Resource>::SPEC.type_name,
                    "`; declared scopes: ",
                ];
                const MESSAGE: [u8; #p::concat_list_len(PARTS, DECLARED)] =
                    #p::concat_list_bytes(PARTS, DECLARED);
                #p::compile_error(&MESSAGE);
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: TokenStream) -> (ScopeArgs, Vec<String>) {
        let cx = Ctxt::new();
        let a = args(&cx, tokens);
        (a, cx.messages())
    }

    #[test]
    fn forms() {
        let (a, e) = parse(quote!("read:notes", "write:notes"));
        assert!(e.is_empty() && a.resource.is_none() && a.scopes.len() == 2);
        let (a, e) = parse(quote!(Notes, "read:notes"));
        assert!(e.is_empty() && a.resource.is_some() && a.scopes.len() == 1);
        let (a, e) = parse(quote!(resource = crate::api::Notes, "read:notes",));
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            a.resource.map(|t| quote!(#t).to_string()).as_deref(),
            Some("crate :: api :: Notes")
        );
    }

    #[test]
    fn problems_are_all_reported() {
        let (a, e) = parse(quote!(resourse = Notes, 3, "a", Notes, Other));
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("Did you mean `resource`?"), "{e:?}");
        assert!(e[1].contains("string literal"), "{e:?}");
        assert!(e[2].contains("named twice"), "{e:?}");
        assert_eq!(a.scopes.len(), 1);
    }
}
