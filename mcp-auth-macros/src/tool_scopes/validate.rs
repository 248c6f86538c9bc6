//! `#[tool_scopes]`: raw arguments and methods to a checked [`ToolScopesModel`].

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident};
use syn::{Ident, LitStr, Type};

use super::parse::{OpKind, RawMethod, ToolScopesArgs};
use crate::ctxt::Ctxt;
use crate::scopes;

/// A checked `#[tool_scopes]`: the resource, the generated function's name and the scopes of
/// each operation that has a requirement.
#[derive(Debug, Clone)]
pub(crate) struct ToolScopesModel {
    /// The resource every scope belongs to.
    pub(crate) resource: Type,
    /// The generated function.
    pub(crate) fn_name: Ident,
    /// The operations with a requirement, in source order.
    pub(crate) ops: Vec<OpScopes>,
}

/// The in-method guard of one method with a requirement.
#[derive(Debug, Clone)]
pub(crate) struct MethodGuard {
    /// The method.
    pub(crate) method: Ident,
    /// The path its `#[requires_scope]` was written with (`requires_scope`,
    /// `mcp_auth::requires_scope`), put back with a marker so that the import stays used.
    pub(crate) attr_path: syn::Path,
}

/// The scopes one tool or prompt requires.
#[derive(Debug, Clone)]
pub(crate) struct OpScopes {
    /// Tool or prompt.
    pub(crate) kind: OpKind,
    /// The name MCP clients call it by.
    pub(crate) name: String,
    /// The scopes, valid tokens, each once; their spans are kept for the declared-scope check.
    pub(crate) scopes: Vec<LitStr>,
    /// The method that serves it, which checks the scopes again when it is called.
    pub(crate) guard: MethodGuard,
}

/// The name of the generated function when `fn_name` is not given.
pub(crate) fn default_fn_name() -> Ident {
    format_ident!("tool_scopes")
}

/// Checks the arguments and the methods; every problem is recorded in `cx`. The model is
/// complete only when `cx` holds no error.
///
/// `attr` is the whole argument list, the span of errors about the list as a whole.
pub(crate) fn validate(
    cx: &Ctxt,
    args: ToolScopesArgs,
    attr: &TokenStream,
    methods: &[RawMethod],
) -> Option<ToolScopesModel> {
    let resource = args.resource;
    if resource.is_none() {
        cx.error_at(
            span_of(attr),
            "#[tool_scopes] needs the resource the scopes belong to: `#[tool_scopes(Notes)]`, \
             where `Notes` is declared with `#[mcp_resource(...)]`",
        );
    }
    let resource_text = resource.as_ref().map(|r| r.to_token_stream().to_string());

    let mut seen: Vec<(OpKind, &str, &Ident)> = Vec::new();
    let mut ops = Vec::new();
    for method in methods {
        for op in &method.ops {
            if let Some((_, _, first)) = seen
                .iter()
                .find(|(kind, name, _)| *kind == op.kind && *name == op.name)
            {
                cx.error_at(
                    op.span,
                    format!(
                        "{} name `{}` is used twice in this impl (by `{first}` and `{}`): MCP \
                         clients call it by name, so each name must be unique",
                        op.kind.attribute(),
                        op.name,
                        method.ident,
                    ),
                );
            } else {
                seen.push((op.kind, &op.name, &method.ident));
            }
        }
        if let [first, second, ..] = method.ops.as_slice() {
            cx.error_at(
                second.span,
                format!(
                    "`{}` is marked both {} and {}; a method serves one MCP operation",
                    method.ident,
                    first.kind.attribute(),
                    second.kind.attribute(),
                ),
            );
        }

        let Some(requirement) = method.requirements.first() else {
            continue;
        };
        for repeated in method.requirements.iter().skip(1) {
            scopes::given_twice(cx, &repeated.attr);
        }
        if let (Some(named), Some(expected)) = (&requirement.args.resource, &resource_text) {
            let named_text = named.to_token_stream().to_string();
            if &named_text != expected {
                cx.error_spanned_by(
                    named,
                    format!(
                        "the scopes of this impl belong to `{expected}` (from \
                         `#[tool_scopes({expected})]`); a method cannot name another resource \
                         (`{named_text}`): drop it, e.g. `#[requires_scope(\"read:notes\")]`"
                    ),
                );
            }
        }
        scopes::check(cx, &requirement.args.scopes, &requirement.attr);
        let Some(op) = method.ops.first() else {
            cx.error_spanned_by(
                &requirement.attr,
                format!(
                    "#[requires_scope] on `{}` has no effect: the method is neither a `#[tool]` \
                     nor a `#[prompt]`, and the MCP layer enforces scopes per tool or prompt",
                    method.ident
                ),
            );
            continue;
        };
        ops.push(OpScopes {
            kind: op.kind,
            name: op.name.clone(),
            scopes: requirement.args.scopes.clone(),
            guard: MethodGuard {
                method: method.ident.clone(),
                attr_path: requirement.attr.path().clone(),
            },
        });
    }

    Some(ToolScopesModel {
        resource: resource?,
        fn_name: args.fn_name.unwrap_or_else(default_fn_name),
        ops,
    })
}

/// The span of the argument list, or of the attribute when it is empty.
fn span_of(attr: &TokenStream) -> Span {
    attr.clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use quote::quote;

    fn check(args: TokenStream, item: TokenStream) -> Result<ToolScopesModel, Vec<String>> {
        let cx = Ctxt::new();
        let a = parse::args(&cx, args.clone());
        let mut item = parse::target(&item).unwrap();
        let methods = parse::take_methods(&cx, &mut item);
        let model = validate(&cx, a, &args, &methods);
        let errors = cx.messages();
        match model {
            Some(m) if errors.is_empty() => Ok(m),
            _ => Err(errors),
        }
    }

    #[test]
    fn collects_tools_and_prompts() {
        let m = check(
            quote!(Notes),
            quote! {
                impl S {
                    #[tool(name = "create")]
                    #[requires_scope("write:notes")]
                    async fn create_note(&self) {}
                    #[requires_scope(Notes, "read:notes")]
                    #[prompt]
                    async fn summarise(&self) {}
                    #[tool]
                    async fn whoami(&self) {}
                }
            },
        )
        .unwrap();
        assert_eq!(m.fn_name, "tool_scopes");
        let ops: Vec<(OpKind, &str, usize)> = m
            .ops
            .iter()
            .map(|o| (o.kind, o.name.as_str(), o.scopes.len()))
            .collect();
        assert_eq!(
            ops,
            [
                (OpKind::Tool, "create", 1),
                (OpKind::Prompt, "summarise", 1)
            ]
        );
    }

    #[test]
    fn the_resource_is_required_and_cannot_be_overridden() {
        let e = check(quote!(), quote!(impl S {})).unwrap_err();
        assert!(e[0].contains("needs the resource"), "{e:?}");
        let e = check(
            quote!(Notes),
            quote! {
                impl S {
                    #[tool]
                    #[requires_scope(Other, "read:notes")]
                    async fn f(&self) {}
                }
            },
        )
        .unwrap_err();
        assert!(e[0].contains("cannot name another resource"), "{e:?}");
    }

    #[test]
    fn requirement_without_tool_or_prompt() {
        let e = check(
            quote!(Notes),
            quote! {
                impl S {
                    #[requires_scope("read:notes")]
                    async fn helper(&self) {}
                }
            },
        )
        .unwrap_err();
        assert!(
            e[0].contains("neither a `#[tool]` nor a `#[prompt]`"),
            "{e:?}"
        );
    }

    #[test]
    fn duplicate_names_and_double_marks() {
        let e = check(
            quote!(Notes),
            quote! {
                impl S {
                    #[tool(name = "create")]
                    async fn a(&self) {}
                    #[tool]
                    async fn create(&self) {}
                    #[prompt(name = "create")]
                    async fn c(&self) {}
                    #[tool]
                    #[prompt]
                    async fn d(&self) {}
                }
            },
        )
        .unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("`create` is used twice") && e[0].contains("`a` and `create`"));
        assert!(e[1].contains("both #[tool] and #[prompt]"), "{e:?}");
    }

    #[test]
    fn scope_rules_are_shared_with_requires_scope() {
        let e = check(
            quote!(Notes),
            quote! {
                impl S {
                    #[tool]
                    #[requires_scope("a", "b c", "a", "offline_access")]
                    async fn f(&self) {}
                    #[tool]
                    #[requires_scope]
                    async fn g(&self) {}
                    #[tool]
                    #[requires_scope("a")]
                    #[requires_scope("b")]
                    async fn h(&self) {}
                }
            },
        )
        .unwrap_err();
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(e[0].contains("contains a space"));
        assert!(e[1].contains("listed twice"));
        assert!(e[2].contains("cannot be required"));
        assert!(e[3].contains("at least one scope"));
        assert!(e[4].contains("given twice"));
    }
}
