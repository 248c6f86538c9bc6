//! `#[requires_scope]`: raw arguments and the function to a checked [`ScopeModel`].
//!
//! Shared by every expansion mode (axum handler, MCP tool method).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{FnArg, GenericArgument, ItemFn, LitStr, PathArguments, Type};

use crate::ctxt::Ctxt;
use crate::scopes::{self, Kind, ScopeArgs};

/// A checked `#[requires_scope]` (or `#[requires_role]`): the resource and what it requires.
#[derive(Debug, Clone)]
pub(crate) struct ScopeModel {
    /// Scopes or roles.
    pub(crate) kind: Kind,
    /// The resource type (explicit, or the `X` of an `Auth<X>` argument).
    pub(crate) resource: Type,
    /// The scopes (or roles), valid, each once; their spans are kept for the declared check.
    pub(crate) scopes: Vec<LitStr>,
}

/// Checks `args` against `item`; every problem is recorded in `cx`. The model is complete only
/// when `cx` holds no error.
///
/// `attr` is the whole argument list, the span of errors about the list as a whole.
pub(crate) fn validate(
    cx: &Ctxt,
    kind: Kind,
    args: ScopeArgs,
    attr: &TokenStream,
    item: &ItemFn,
) -> Option<ScopeModel> {
    for attr in &item.attrs {
        let repeated = attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == kind.name());
        if repeated {
            scopes::given_twice(cx, kind, attr);
        }
    }
    if let Some(target) = &args.target {
        cx.error_spanned_by(
            target.literal(),
            format!(
                "`uri` and `uri_template` name an MCP resource: they go on `read_resource` in an impl block with `#[tool_scopes(..)]`, not on a handler function; {} on a handler needs no target",
                kind.attribute()
            ),
        );
    }

    let resource = match args.resource {
        Some(ty) => Some(ty),
        None => resource_from_arguments(cx, item, attr),
    };

    scopes::check(cx, kind, &args.scopes, attr);

    Some(ScopeModel {
        kind,
        resource: resource?,
        scopes: args.scopes,
    })
}

/// The `X` of the function's `Auth<X>` arguments; an error when there is none or several
/// different ones.
fn resource_from_arguments(cx: &Ctxt, item: &ItemFn, attr: &TokenStream) -> Option<Type> {
    let found: Vec<&Type> = item
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat) => auth_resource(&pat.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let Some(first) = found.first() else {
        if let Some(bare) = item.sig.inputs.iter().find_map(bare_auth) {
            cx.error_spanned_by(
                bare,
                "this `Auth` does not name the resource the scopes belong to: write `Auth<Notes>`, or name the resource first: `#[requires_scope(Notes, \"read:notes\")]`",
            );
            return None;
        }
        cx.error_spanned_by(
            attr,
            "cannot tell which resource these scopes belong to: take an `Auth<Notes>` argument, or name the resource first: `#[requires_scope(Notes, \"read:notes\")]`",
        );
        return None;
    };
    let first_text = first.to_token_stream().to_string();
    if let Some(other) = found
        .iter()
        .find(|ty| ty.to_token_stream().to_string() != first_text)
    {
        cx.error_spanned_by(
            other,
            format!(
                "the handler takes `Auth` for two resources (`{first_text}` and `{}`): name the one the scopes belong to first, e.g. `#[requires_scope({first_text}, \"read:notes\")]`",
                other.to_token_stream()
            ),
        );
        return None;
    }
    Some((*first).clone())
}

/// The type of an argument typed `Auth` without a type argument (`Auth<AnyResource>`).
fn bare_auth(arg: &FnArg) -> Option<&Type> {
    let FnArg::Typed(pat) = arg else {
        return None;
    };
    let Type::Path(path) = &*pat.ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    (last.ident == "Auth" && last.arguments.is_none()).then_some(&*pat.ty)
}

/// `X` when `ty` is `Auth<X>` (any path ending in `Auth` with one type argument).
fn auth_resource(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Auth" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    match (types.next(), types.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use quote::quote;

    fn check(args: TokenStream, item: TokenStream) -> Result<ScopeModel, Vec<String>> {
        let cx = Ctxt::new();
        let a = scopes::args(&cx, args.clone());
        let f = parse::target(&item).unwrap();
        let model = validate(&cx, Kind::Scope, a, &args, &f);
        let errors = cx.messages();
        match model {
            Some(m) if errors.is_empty() => Ok(m),
            _ => Err(errors),
        }
    }

    fn resource(m: &ScopeModel) -> String {
        m.resource.to_token_stream().to_string()
    }

    #[test]
    fn resource_from_auth_argument() {
        let m = check(
            quote!("read:notes"),
            quote!(
                async fn f(h: HeaderMap, a: mcp_auth::Auth<Notes>, b: String) {}
            ),
        )
        .unwrap();
        assert_eq!(resource(&m), "Notes");
        let m = check(
            quote!(Other, "read:notes"),
            quote!(
                async fn f(a: Auth<Notes>) {}
            ),
        )
        .unwrap();
        assert_eq!(resource(&m), "Other");
    }

    #[test]
    fn resource_must_be_known_and_unique() {
        let e = check(
            quote!("read:notes"),
            quote!(
                async fn f(b: String) {}
            ),
        )
        .unwrap_err();
        assert!(e[0].starts_with("cannot tell which resource"), "{e:?}");
        let e = check(
            quote!("r"),
            quote!(
                async fn f(a: Auth) {}
            ),
        )
        .unwrap_err();
        assert!(e[0].starts_with("this `Auth` does not name"), "{e:?}");
        let e = check(
            quote!("r"),
            quote!(
                async fn f(a: Auth<A>, b: Auth<B>) {}
            ),
        )
        .unwrap_err();
        assert!(e[0].contains("two resources"), "{e:?}");
        assert!(
            check(
                quote!("r"),
                quote!(
                    async fn f(a: Auth<A>, b: Auth<A>) {}
                )
            )
            .is_ok()
        );
    }

    #[test]
    fn scope_rules() {
        let e = check(
            quote!(Notes),
            quote!(
                async fn f() {}
            ),
        )
        .unwrap_err();
        assert!(e[0].contains("at least one scope"), "{e:?}");
        let e = check(
            quote!(Notes, "a", "b c", "a", "offline_access"),
            quote!(
                async fn f() {}
            ),
        )
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("contains a space"));
        assert!(e[1].contains("listed twice"));
        assert!(e[2].contains("cannot be required"));
    }

    #[test]
    fn repeated_attribute() {
        let e = check(
            quote!(Notes, "a"),
            quote!(
                #[requires_scope("b")]
                async fn f() {}
            ),
        )
        .unwrap_err();
        assert!(e[0].contains("given twice"), "{e:?}");
    }
}
