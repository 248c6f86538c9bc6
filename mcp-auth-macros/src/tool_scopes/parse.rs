//! `#[tool_scopes(...)]` arguments and impl block, from tokens to raw values with their spans.
//!
//! Reading the methods also removes their `#[requires_scope]` attributes: this macro expands
//! before them and takes them over.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, ImplItem, ItemImpl, LitStr, Meta, Token, Type};

use crate::ctxt::Ctxt;
use crate::scopes::{self, Kind, ScopeArgs};
use crate::{attr, diag};

/// The keys `#[tool_scopes]` accepts, for did-you-mean suggestions.
const KEYS: &[&str] = &["resource", "fn_name"];

/// One comma-separated argument.
enum Arg {
    /// `Notes` or `resource = Notes`.
    Resource(Box<Type>),
    /// `fn_name = prompt_scopes`.
    FnName(Ident),
    /// A problem found while parsing this argument; the parser went on to the next comma.
    Invalid(syn::Error),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(syn::Lit) {
            let lit: syn::Lit = input.parse()?;
            return Ok(Self::Invalid(diag::at_span(
                lit.span(),
                "#[tool_scopes] takes the resource type, e.g. `#[tool_scopes(Notes)]`; the \
                 scopes go on each method: `#[requires_scope(\"read:notes\")]`",
            )));
        }
        if attr::peek_key(input) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            if key == "resource" {
                return Ok(Self::Resource(input.parse()?));
            }
            if key == "fn_name" {
                return Ok(Self::FnName(input.parse()?));
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

/// The arguments of `#[tool_scopes(...)]`, as written.
#[derive(Debug, Default)]
pub(crate) struct ToolScopesArgs {
    /// The resource every scope of the impl belongs to.
    pub(crate) resource: Option<Type>,
    /// The name of the generated function (default `tool_scopes`).
    pub(crate) fn_name: Option<Ident>,
}

/// Parses the attribute arguments; every problem is recorded in `cx`.
pub(crate) fn args(cx: &Ctxt, tokens: TokenStream) -> ToolScopesArgs {
    let mut out = ToolScopesArgs::default();
    for arg in attr::args(cx, tokens) {
        match arg {
            Arg::Resource(ty) if out.resource.is_some() => cx.error_spanned_by(
                &ty,
                "the resource is named twice; name it once: `#[tool_scopes(Notes)]`",
            ),
            Arg::Resource(ty) => out.resource = Some(*ty),
            Arg::FnName(ident) if out.fn_name.is_some() => {
                cx.error_spanned_by(&ident, "`fn_name` is given twice; give it once");
            }
            Arg::FnName(ident) => out.fn_name = Some(ident),
            Arg::Invalid(e) => cx.syn_error(e),
        }
    }
    out
}

/// Parses the annotated item: an impl block.
pub(crate) fn target(item: &TokenStream) -> syn::Result<ItemImpl> {
    syn::parse2::<ItemImpl>(item.clone()).map_err(|_| {
        diag::at(
            item,
            "#[tool_scopes] goes on the impl block of an rmcp server (the one with \
             `#[tool_router]` or `#[prompt_router]`)",
        )
    })
}

/// Whether a method is served as an MCP tool or prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// `#[tool]`: `tools/call`.
    Tool,
    /// `#[prompt]`: `prompts/get`.
    Prompt,
}

impl OpKind {
    /// The attribute, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Self::Tool => "#[tool]",
            Self::Prompt => "#[prompt]",
        }
    }
}

/// The MCP operation a method serves: its kind and name, as rmcp computes it.
#[derive(Debug, Clone)]
pub(crate) struct RawOp {
    /// Tool or prompt.
    pub(crate) kind: OpKind,
    /// `name = "..."` of the attribute, else the method's name (`Ident::to_string`, as rmcp).
    pub(crate) name: String,
    /// Where the name comes from: the `name` literal, or the method name.
    pub(crate) span: Span,
}

/// One `#[requires_scope(...)]` or `#[requires_role(...)]` on a method.
pub(crate) struct RawRequirement {
    /// Scopes or roles.
    pub(crate) kind: Kind,
    /// The whole attribute, for errors about it.
    pub(crate) attr: Attribute,
    /// Its arguments.
    pub(crate) args: ScopeArgs,
}

/// A method of the impl block with what this macro needs to know about it.
pub(crate) struct RawMethod {
    /// The method's name.
    pub(crate) ident: Ident,
    /// Every `#[tool]` / `#[prompt]` on it (one, normally).
    pub(crate) ops: Vec<RawOp>,
    /// Every requirement on it.
    pub(crate) requirements: Vec<RawRequirement>,
    /// The names of its parameters after the receiver (`None` for a pattern that is not a
    /// name), for the guards inserted into `read_resource`, `subscribe` and `unsubscribe`.
    pub(crate) params: Vec<Option<Ident>>,
}

/// Reads every method of `item` and removes its `#[requires_scope]` attributes; every problem
/// is recorded in `cx`.
pub(crate) fn take_methods(cx: &Ctxt, item: &mut ItemImpl) -> Vec<RawMethod> {
    let mut out = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let mut ops = Vec::new();
        let mut requirements = Vec::new();
        let mut kept = Vec::with_capacity(method.attrs.len());
        for attr in std::mem::take(&mut method.attrs) {
            let name = last_segment(&attr);
            match name.as_deref() {
                Some(requirement @ ("requires_scope" | "requires_role")) => {
                    let kind = Kind::of(requirement).unwrap_or(Kind::Scope);
                    let tokens = match &attr.meta {
                        Meta::List(list) => list.tokens.clone(),
                        Meta::Path(_) => TokenStream::new(),
                        Meta::NameValue(_) => {
                            cx.error_spanned_by(
                                &attr,
                                format!("expected `#[{}(\"...\")]`", kind.name()),
                            );
                            continue;
                        }
                    };
                    let args = scopes::args(cx, tokens);
                    requirements.push(RawRequirement { kind, attr, args });
                }
                Some(kind @ ("tool" | "prompt")) => {
                    let kind = if kind == "tool" {
                        OpKind::Tool
                    } else {
                        OpKind::Prompt
                    };
                    let (name, span) = match op_name(&attr, kind) {
                        Ok(Some(found)) => found,
                        Ok(None) => (method.sig.ident.to_string(), method.sig.ident.span()),
                        Err(e) => {
                            // Still an operation: no follow-up "neither a tool nor a prompt".
                            cx.syn_error(e);
                            (method.sig.ident.to_string(), method.sig.ident.span())
                        }
                    };
                    ops.push(RawOp { kind, name, span });
                    kept.push(attr);
                }
                _ => kept.push(attr),
            }
        }
        method.attrs = kept;
        let params = method
            .sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                syn::FnArg::Typed(typed) => Some(match &*typed.pat {
                    syn::Pat::Ident(pat) => Some(pat.ident.clone()),
                    _ => None,
                }),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        out.push(RawMethod {
            ident: method.sig.ident.clone(),
            ops,
            requirements,
            params,
        });
    }
    out
}

fn last_segment(attr: &Attribute) -> Option<String> {
    attr.path().segments.last().map(|s| s.ident.to_string())
}

/// The `name = "..."` of a `#[tool(...)]` / `#[prompt(...)]`, if any.
///
/// Only the top-level `name` key is read; rmcp itself checks the rest of the attribute.
fn op_name(attr: &Attribute, kind: OpKind) -> syn::Result<Option<(String, Span)>> {
    let Meta::List(list) = &attr.meta else {
        return Ok(None);
    };
    let mut segment: Vec<TokenTree> = Vec::new();
    let mut tokens = list.tokens.clone().into_iter();
    loop {
        let next = tokens.next();
        let at_end = match &next {
            None => true,
            Some(TokenTree::Punct(p)) => p.as_char() == ',',
            Some(_) => false,
        };
        if !at_end {
            if let Some(t) = next {
                segment.push(t);
            }
            continue;
        }
        if let Some(found) = name_value(&segment, kind)? {
            return Ok(Some(found));
        }
        segment.clear();
        if next.is_none() {
            return Ok(None);
        }
    }
}

/// `name = "lit"` when `segment` is that key-value pair.
fn name_value(segment: &[TokenTree], kind: OpKind) -> syn::Result<Option<(String, Span)>> {
    let [TokenTree::Ident(key), TokenTree::Punct(eq), value @ ..] = segment else {
        return Ok(None);
    };
    if key != "name" || eq.as_char() != '=' {
        return Ok(None);
    }
    let value: TokenStream = value.iter().cloned().collect();
    match syn::parse2::<LitStr>(value.clone()) {
        Ok(lit) => Ok(Some((lit.value(), lit.span()))),
        Err(_) => Err(diag::at_span(
            value.span(),
            format!(
                "the `name` of {} must be a string literal for `#[tool_scopes]` to know it, e.g. `name = \"create_note\"`",
                kind.attribute()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn methods(item: TokenStream) -> (Vec<RawMethod>, ItemImpl, Vec<String>) {
        let cx = Ctxt::new();
        let mut item = target(&item).unwrap();
        let m = take_methods(&cx, &mut item);
        (m, item, cx.messages())
    }

    fn parse_args(tokens: TokenStream) -> (ToolScopesArgs, Vec<String>) {
        let cx = Ctxt::new();
        let a = args(&cx, tokens);
        (a, cx.messages())
    }

    #[test]
    fn args_forms() {
        let (a, e) = parse_args(quote!(Notes));
        assert!(e.is_empty() && a.resource.is_some() && a.fn_name.is_none());
        let (a, e) = parse_args(quote!(resource = crate::Notes, fn_name = prompt_scopes));
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(a.fn_name.unwrap().to_string(), "prompt_scopes");
        let (a, e) = parse_args(quote!());
        assert!(e.is_empty() && a.resource.is_none());
        let (_, e) = parse_args(quote!(Notes, Other, fn_nme = x, "read:notes"));
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("named twice"));
        assert!(e[1].contains("fn_name"), "did you mean: {}", e[1]);
        assert!(e[2].contains("the scopes go on each method"));
    }

    #[test]
    fn operation_names_as_rmcp_computes_them() {
        let (m, _, e) = methods(quote! {
            impl S {
                #[tool(description = "x", name = "create", annotations(title = "a, b"))]
                async fn create_note(&self) {}
                #[rmcp::tool]
                async fn r#list(&self) {}
                #[prompt(name = "sum")]
                async fn summarise(&self) {}
                #[tool(description = "name = \"not this\"")]
                fn plain(&self) {}
            }
        });
        assert!(e.is_empty(), "{e:?}");
        let ops: Vec<(OpKind, &str)> = m
            .iter()
            .flat_map(|m| m.ops.iter().map(|o| (o.kind, o.name.as_str())))
            .collect();
        assert_eq!(
            ops,
            [
                (OpKind::Tool, "create"),
                (OpKind::Tool, "r#list"),
                (OpKind::Prompt, "sum"),
                (OpKind::Tool, "plain"),
            ]
        );
    }

    #[test]
    fn a_name_that_is_not_a_literal_is_an_error() {
        let (_, _, e) = methods(quote! {
            impl S {
                #[tool(name = NAME)]
                async fn f(&self) {}
            }
        });
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("must be a string literal"), "{e:?}");
    }

    #[test]
    fn requirements_are_taken_off_the_methods() {
        let (m, item, e) = methods(quote! {
            impl S {
                #[tool]
                #[doc = "kept"]
                #[mcp_auth::requires_scope("read:notes", "write:notes")]
                async fn f(&self) {}
            }
        });
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(m[0].requirements.len(), 1);
        assert_eq!(m[0].requirements[0].args.scopes.len(), 2);
        let text = quote!(#item).to_string();
        assert!(!text.contains("requires_scope"), "{text}");
        assert!(text.contains("# [tool]") && text.contains("kept"), "{text}");
    }

    #[test]
    fn only_impl_blocks() {
        assert!(
            target(&quote!(
                struct S;
            ))
            .is_err()
        );
    }
}
