//! What `#[requires_scope]`, `#[requires_role]` and `#[tool_scopes]` share: the arguments of a
//! requirement attribute (read by the macro itself on a handler, and by `#[tool_scopes]` on each
//! method of an impl block), the rules its scopes and roles follow, and the compile-time check
//! that the resource declares them.

use mcp_auth_rules::ProblemKind;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Type};

use crate::ctxt::Ctxt;
use crate::{attr, diag, runtime};

/// What a requirement attribute requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[requires_scope]`: OAuth scopes.
    Scope,
    /// `#[requires_role]`: roles from the token's role claim.
    Role,
}

impl Kind {
    /// The attribute, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Self::Scope => "#[requires_scope]",
            Self::Role => "#[requires_role]",
        }
    }

    /// The attribute's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Scope => "requires_scope",
            Self::Role => "requires_role",
        }
    }

    /// What it lists, singular.
    fn noun(self) -> &'static str {
        match self {
            Self::Scope => "scope",
            Self::Role => "role",
        }
    }

    /// An example value.
    fn example(self) -> &'static str {
        match self {
            Self::Scope => "read:notes",
            Self::Role => "notes-admin",
        }
    }

    /// The attribute of `name`, if it is one.
    pub(crate) fn of(name: &str) -> Option<Self> {
        match name {
            "requires_scope" => Some(Self::Scope),
            "requires_role" => Some(Self::Role),
            _ => None,
        }
    }
}

/// The keys a requirement attribute accepts, for did-you-mean suggestions.
const KEYS: &[&str] = &["resource", "uri", "uri_template"];

/// The MCP resource a requirement on `read_resource` is for.
#[derive(Debug, Clone)]
pub(crate) enum ResourceTarget {
    /// `uri = "notes://stats"`: one resource, by its exact URI.
    Uri(LitStr),
    /// `uri_template = "notes://note/{id}"`: every URI the RFC 6570 template covers.
    Template(LitStr),
}

impl ResourceTarget {
    pub(crate) fn literal(&self) -> &LitStr {
        match self {
            Self::Uri(lit) | Self::Template(lit) => lit,
        }
    }
}

/// One comma-separated argument of a requirement attribute.
enum Arg {
    /// `"read:notes"`.
    Value(LitStr),
    /// `Notes` or `resource = Notes`.
    Resource(Box<Type>),
    /// `uri = "..."` or `uri_template = "..."`.
    Target(ResourceTarget),
    /// A problem found while parsing this argument; the parser went on to the next comma.
    Invalid(syn::Error),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(Self::Value(input.parse()?));
        }
        if input.peek(syn::Lit) {
            let lit: syn::Lit = input.parse()?;
            return Ok(Self::Invalid(diag::at_span(
                lit.span(),
                "expected a string literal, e.g. `\"read:notes\"` or `\"notes-admin\"`",
            )));
        }
        if attr::peek_key(input) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            if key == "resource" {
                return Ok(Self::Resource(input.parse()?));
            }
            if key == "uri" {
                return Ok(Self::Target(ResourceTarget::Uri(input.parse()?)));
            }
            if key == "uri_template" {
                return Ok(Self::Target(ResourceTarget::Template(input.parse()?)));
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

/// The arguments of a requirement attribute, as written.
#[derive(Debug, Default)]
pub(crate) struct ScopeArgs {
    /// The resource named explicitly.
    pub(crate) resource: Option<Type>,
    /// The scopes (or roles), in order.
    pub(crate) scopes: Vec<LitStr>,
    /// The MCP resource it is for (on `read_resource`).
    pub(crate) target: Option<ResourceTarget>,
}

/// Parses the arguments of a requirement attribute; every problem is recorded in `cx`.
pub(crate) fn args(cx: &Ctxt, tokens: TokenStream) -> ScopeArgs {
    let mut out = ScopeArgs::default();
    for arg in attr::args(cx, tokens) {
        match arg {
            Arg::Value(lit) => out.scopes.push(lit),
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
            Arg::Target(target) => {
                if out.target.is_some() {
                    cx.error_spanned_by(
                        target.literal(),
                        "one requirement is for one MCP resource: give `uri` or `uri_template` once, and write one attribute per resource",
                    );
                } else {
                    out.target = Some(target);
                }
            }
            Arg::Invalid(e) => cx.syn_error(e),
        }
    }
    out
}

/// Checks the values of one requirement: at least one, each a valid RFC 6749 scope token (not
/// `offline_access`) or role name, listed once. Every problem is recorded at its literal; an
/// empty list is reported at `attr`.
pub(crate) fn check<T: ToTokens>(cx: &Ctxt, kind: Kind, scopes: &[LitStr], attr: &T) {
    if scopes.is_empty() {
        cx.error_spanned_by(
            attr,
            format!(
                "{} needs at least one {}, e.g. `#[{}(\"{}\")]`",
                kind.attribute(),
                kind.noun(),
                kind.name(),
                kind.example()
            ),
        );
    }
    let values: Vec<String> = scopes.iter().map(LitStr::value).collect();
    let problems = match kind {
        Kind::Scope => mcp_auth_rules::scope_list(values.iter().map(String::as_str)),
        Kind::Role => mcp_auth_rules::role_list(values.iter().map(String::as_str)),
    };
    for (i, problem) in problems {
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

/// A second requirement attribute of one kind on the same function.
pub(crate) fn given_twice(cx: &Ctxt, kind: Kind, attr: &Attribute) {
    cx.error_spanned_by(
        attr,
        format!(
            "{} is given twice; list all {}s in one attribute: `#[{}(\"a\", \"b\")]`",
            kind.attribute(),
            kind.noun(),
            kind.name()
        ),
    );
}

/// A `const` item that fails to compile, at the literal, when `resource` does not declare the
/// scope (or role) `value`. The message lists the declared ones.
pub(crate) fn declared_check(resource: &Type, kind: Kind, value: &LitStr) -> TokenStream {
    // Every token of the failing call carries the literal's span: a call whose tokens mix spans
    // is reported at the whole attribute.
    let p = runtime::private_spanned(value.span());
    let (field, plural) = match kind {
        Kind::Scope => (quote_spanned!(value.span()=> scopes), "scopes"),
        Kind::Role => (quote_spanned!(value.span()=> roles), "roles"),
    };
    let head = format!(
        "{} `{}` is not declared by resource `",
        kind.noun(),
        value.value()
    );
    let tail = format!("`; declared {plural}: ");
    quote_spanned! {value.span()=>
        const _: () = {
            const DECLARED: &[&str] = <#resource as #p::Resource>::SPEC.#field;
            if !#p::scope_declared(DECLARED, #value) {
                const PARTS: &[&str] = &[
                    #head,
                    <#resource as #p::Resource>::SPEC.type_name,
                    #tail,
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
