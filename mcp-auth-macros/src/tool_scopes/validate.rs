//! `#[tool_scopes]`: raw arguments and methods to a checked [`ToolScopesModel`].

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident};
use syn::{Ident, LitStr, Type};

use super::parse::{OpKind, RawMethod, RawRequirement, ToolScopesArgs};
use crate::ctxt::Ctxt;
use crate::scopes::{self, Kind, ResourceTarget};

/// A checked `#[tool_scopes]`: the resource, the generated function's name, what each tool,
/// prompt and MCP resource requires, and the methods that check resources before they run.
#[derive(Debug, Clone)]
pub(crate) struct ToolScopesModel {
    /// The resource every scope and role belongs to.
    pub(crate) resource: Type,
    /// The generated function.
    pub(crate) fn_name: Ident,
    /// The tools and prompts with a requirement, in source order.
    pub(crate) ops: Vec<OpScopes>,
    /// The MCP resources with a requirement (from `read_resource`), in source order.
    pub(crate) resources: Vec<ResourceScopes>,
    /// The methods that serve resources (`read_resource`, `subscribe`, `unsubscribe`), each
    /// checked against [`resources`](Self::resources) before its body runs.
    pub(crate) resource_guards: Vec<ResourceGuard>,
}

/// The in-method guard of one method with a requirement.
#[derive(Debug, Clone)]
pub(crate) struct MethodGuard {
    /// The method.
    pub(crate) method: Ident,
    /// The paths its requirement attributes were written with (`requires_scope`,
    /// `mcp_auth::requires_role`), put back with a marker so that the imports stay used.
    pub(crate) attr_paths: Vec<syn::Path>,
}

/// What one tool or prompt requires.
#[derive(Debug, Clone)]
pub(crate) struct OpScopes {
    /// Tool or prompt.
    pub(crate) kind: OpKind,
    /// The name MCP clients call it by.
    pub(crate) name: String,
    /// The scopes, valid tokens, each once; their spans are kept for the declared check.
    pub(crate) scopes: Vec<LitStr>,
    /// The roles, valid names, each once.
    pub(crate) roles: Vec<LitStr>,
    /// The method that serves it, which checks the requirement again when it is called.
    pub(crate) guard: MethodGuard,
}

/// What one MCP resource (or every resource a template covers) requires.
#[derive(Debug, Clone)]
pub(crate) struct ResourceScopes {
    pub(crate) target: ResourceTarget,
    pub(crate) scopes: Vec<LitStr>,
    pub(crate) roles: Vec<LitStr>,
}

/// A method that serves resources and the names of its request and context parameters.
#[derive(Debug, Clone)]
pub(crate) struct ResourceGuard {
    pub(crate) method: Ident,
    pub(crate) request: Ident,
    pub(crate) ctx: Ident,
    /// The paths of requirement attributes to put back (on `read_resource`).
    pub(crate) attr_paths: Vec<syn::Path>,
}

/// The methods of rmcp's `ServerHandler` that serve a resource by its URI.
const RESOURCE_METHODS: &[&str] = &["read_resource", "subscribe", "unsubscribe"];

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
    let mut resources: Vec<ResourceScopes> = Vec::new();
    let mut resource_methods: Vec<&RawMethod> = Vec::new();
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
        for requirement in &method.requirements {
            same_resource(cx, requirement, resource_text.as_deref());
            scopes::check(
                cx,
                requirement.kind,
                &requirement.args.scopes,
                &requirement.attr,
            );
        }
        let name = method.ident.to_string();
        if RESOURCE_METHODS.contains(&name.as_str()) && method.ops.is_empty() {
            resource_methods.push(method);
            if name == "read_resource" {
                resources_of(cx, method, &mut resources);
            } else if let Some(requirement) = method.requirements.first() {
                cx.error_spanned_by(
                    &requirement.attr,
                    format!(
                        "`{name}` is checked with the requirements of `read_resource`: declare \
                         them there, e.g. `#[requires_scope(\"read:notes\", uri = \"notes://stats\")]`"
                    ),
                );
            }
            continue;
        }
        if method.requirements.is_empty() {
            continue;
        }
        let Some(op) = method.ops.first() else {
            cx.error_spanned_by(
                &method.requirements[0].attr,
                format!(
                    "{} on `{}` has no effect: the method is neither a `#[tool]`, a `#[prompt]` \
                     nor `read_resource`, and the MCP layer enforces requirements per tool, \
                     prompt or resource",
                    method.requirements[0].kind.attribute(),
                    method.ident
                ),
            );
            continue;
        };
        let mut scopes = Vec::new();
        let mut roles = Vec::new();
        for kind in [Kind::Scope, Kind::Role] {
            let mut of_kind = method.requirements.iter().filter(|r| r.kind == kind);
            let Some(first) = of_kind.next() else {
                continue;
            };
            for repeated in of_kind {
                scopes::given_twice(cx, kind, &repeated.attr);
            }
            if let Some(target) = &first.args.target {
                cx.error_spanned_by(
                    target.literal(),
                    format!(
                        "`uri` and `uri_template` name an MCP resource, and `{}` is a {}: put the \
                         requirement of a resource on `read_resource` in the impl of \
                         `ServerHandler` (with `#[tool_scopes]` on it)",
                        method.ident,
                        op.kind.attribute()
                    ),
                );
            }
            match kind {
                Kind::Scope => scopes = first.args.scopes.clone(),
                Kind::Role => roles = first.args.scopes.clone(),
            }
        }
        ops.push(OpScopes {
            kind: op.kind,
            name: op.name.clone(),
            scopes,
            roles,
            guard: MethodGuard {
                method: method.ident.clone(),
                attr_paths: method
                    .requirements
                    .iter()
                    .map(|r| r.attr.path().clone())
                    .collect(),
            },
        });
    }

    // The methods that serve resources check them before they run, when there is anything to
    // check.
    let mut resource_guards = Vec::new();
    if !resources.is_empty() {
        for method in resource_methods {
            if let Some(guard) = resource_guard(cx, method) {
                resource_guards.push(guard);
            }
        }
    }

    Some(ToolScopesModel {
        resource: resource?,
        fn_name: args.fn_name.unwrap_or_else(default_fn_name),
        ops,
        resources,
        resource_guards,
    })
}

/// A requirement naming another resource than the impl block's.
fn same_resource(cx: &Ctxt, requirement: &RawRequirement, expected: Option<&str>) {
    let (Some(named), Some(expected)) = (&requirement.args.resource, expected) else {
        return;
    };
    let named_text = named.to_token_stream().to_string();
    if named_text != expected {
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

/// The requirements of `read_resource`: each names its resource (`uri` or `uri_template`), a
/// template is well-formed, one resource gets one attribute of each kind.
fn resources_of(cx: &Ctxt, method: &RawMethod, resources: &mut Vec<ResourceScopes>) {
    for requirement in &method.requirements {
        let Some(target) = &requirement.args.target else {
            cx.error_spanned_by(
                &requirement.attr,
                format!(
                    "on `read_resource`, say which resource the requirement is for: \
                     `#[{}(\"...\", uri = \"notes://stats\")]`, or `uri_template = \
                     \"notes://note/{{id}}\"` for every URI a template covers",
                    requirement.kind.name()
                ),
            );
            continue;
        };
        let value = target.literal().value();
        match target {
            ResourceTarget::Uri(lit) if value.contains('{') => {
                cx.error_spanned_by(
                    lit,
                    format!(
                        "`{value}` is a URI template: write `uri_template = \"{value}\"`, which \
                         covers every URI it expands to (`uri` is one resource, compared byte for \
                         byte)"
                    ),
                );
                continue;
            }
            ResourceTarget::Uri(lit) if value.is_empty() => {
                cx.error_spanned_by(lit, "the resource URI is empty");
                continue;
            }
            ResourceTarget::Template(lit) => {
                if let Err(error) = mcp_auth_rules::uri_template::UriTemplate::parse(&value) {
                    cx.error_spanned_by(
                        lit,
                        format!("`{value}` is not a URI template (RFC 6570): {error}"),
                    );
                    continue;
                }
            }
            ResourceTarget::Uri(_) => {}
        }
        let same = |t: &ResourceTarget| {
            std::mem::discriminant(t) == std::mem::discriminant(target)
                && t.literal().value() == value
        };
        let entry = match resources.iter_mut().position(|r| same(&r.target)) {
            Some(at) => &mut resources[at],
            None => {
                resources.push(ResourceScopes {
                    target: target.clone(),
                    scopes: Vec::new(),
                    roles: Vec::new(),
                });
                resources.last_mut().expect("just pushed")
            }
        };
        let list = match requirement.kind {
            Kind::Scope => &mut entry.scopes,
            Kind::Role => &mut entry.roles,
        };
        if !list.is_empty() {
            scopes::given_twice(cx, requirement.kind, &requirement.attr);
            continue;
        }
        *list = requirement.args.scopes.clone();
    }
}

/// The guard of a method that serves resources: the names of its request and context
/// parameters, which the inserted check reads.
fn resource_guard(cx: &Ctxt, method: &RawMethod) -> Option<ResourceGuard> {
    match method.params.as_slice() {
        [Some(request), Some(ctx)] => Some(ResourceGuard {
            method: method.ident.clone(),
            request: request.clone(),
            ctx: ctx.clone(),
            attr_paths: method
                .requirements
                .iter()
                .map(|r| r.attr.path().clone())
                .collect(),
        }),
        _ => {
            cx.error_spanned_by(
                &method.ident,
                format!(
                    "`{}` checks the requirement of the URI it serves before its body runs: give \
                     its two parameters names, e.g. `(&self, request: ReadResourceRequestParams, \
                     ctx: RequestContext<RoleServer>)`",
                    method.ident
                ),
            );
            None
        }
    }
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
            e[0].contains("neither a `#[tool]`, a `#[prompt]` nor `read_resource`"),
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
