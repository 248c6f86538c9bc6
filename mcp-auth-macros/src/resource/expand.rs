//! `#[mcp_resource]`: a checked [`Model`] to the `Resource` impl and the associated items.

use mcp_auth_rules::DiscoveryKind;
use proc_macro2::TokenStream;
use quote::quote;

use super::parse::Target;
use super::validate::{Model, Source};
use crate::runtime;

/// The struct as written, then the generated impls.
pub(crate) fn expand(item: &TokenStream, target: &Target, model: &Model) -> TokenStream {
    let ident = &target.ident;
    let vis = &target.vis;
    let p = runtime::private();

    let type_name = ident.to_string();
    let id = source(&model.id);
    let kind = match model.discovery {
        DiscoveryKind::OAuth => quote!(#p::DiscoveryKind::OAuth),
        DiscoveryKind::Oidc => quote!(#p::DiscoveryKind::Oidc),
        DiscoveryKind::Auto => quote!(#p::DiscoveryKind::Auto),
    };
    let issuers = model.issuers.iter().map(|issuer| {
        let issuer = source(issuer);
        quote!(#p::IssuerSpec { issuer: #issuer, kind: #kind })
    });
    let scopes = &model.scopes;
    let name = option(model.name.as_deref());
    let documentation = option(model.documentation.as_deref());
    let policy_uri = option(model.policy_uri.as_deref());
    let tos_uri = option(model.tos_uri.as_deref());
    let typ = if model.accept_jwt_typ {
        quote!(#p::TypPolicy::AllowJwt)
    } else {
        quote!(#p::TypPolicy::Strict)
    };
    let claims = if model.lenient_claims {
        quote!(#p::ClaimsProfile::Lenient)
    } else {
        quote!(#p::ClaimsProfile::Strict)
    };
    let scope_claim = option(model.scope_claim.as_deref());
    let role_claim = option(model.role_claim.as_deref());
    let roles = &model.roles;
    let metadata_json = model.metadata_json();
    let metadata_json_opt = if metadata_json.is_some() {
        quote!(#p::core::option::Option::Some(Self::METADATA_JSON))
    } else {
        option(None)
    };

    let scopes_doc = if scopes.is_empty() {
        format!(
            " The scopes [`{type_name}`] declares: none, so `scopes_supported` is omitted from its metadata."
        )
    } else {
        let listed: Vec<String> = scopes.iter().map(|s| format!("`{s}`")).collect();
        format!(
            " The scopes [`{type_name}`] declares (`scopes_supported`): {}. `#[requires_scope]` accepts only these.",
            listed.join(", ")
        )
    };
    let roles_doc = if roles.is_empty() {
        format!(" The roles [`{type_name}`] declares: none, so no operation can require a role.")
    } else {
        let listed: Vec<String> = roles.iter().map(|s| format!("`{s}`")).collect();
        format!(
            " The roles [`{type_name}`] declares: {}. `#[requires_role]` accepts only these.",
            listed.join(", ")
        )
    };
    let literal_items = literal_items(model, vis, metadata_json.as_deref());
    let dpop = model.dpop.as_ref().map(|d| {
        let policy = match d.policy {
            "accepted" => quote!(#p::DpopPolicy::Accepted),
            "required" => quote!(#p::DpopPolicy::Required),
            _ => quote!(#p::DpopPolicy::BearerOnly),
        };
        let algs = &d.algs;
        quote! {
            const DPOP: #p::DpopSpec = #p::DpopSpec {
                policy: #policy,
                algs: &[#(#algs),*],
            };
        }
    });

    quote! {
        #item

        impl #p::Resource for #ident {
            const SPEC: #p::ResourceSpec = #p::ResourceSpec {
                type_name: #type_name,
                id: #id,
                issuers: &[#(#issuers),*],
                scopes: &[#(#scopes),*],
                roles: &[#(#roles),*],
                metadata: #p::MetadataSpec {
                    resource_name: #name,
                    resource_documentation: #documentation,
                    resource_policy_uri: #policy_uri,
                    resource_tos_uri: #tos_uri,
                    localized: &[],
                },
                token: #p::TokenSpec {
                    typ: #typ,
                    claims: #claims,
                    scope_claim_fallback: #scope_claim,
                    role_claim: #role_claim,
                },
                metadata_json: #metadata_json_opt,
            };
            #dpop
        }

        #[allow(dead_code)]
        impl #ident {
            #[doc = #scopes_doc]
            #vis const SCOPES: &'static [&'static str] = <Self as #p::Resource>::SPEC.scopes;
            #[doc = #roles_doc]
            #vis const ROLES: &'static [&'static str] = <Self as #p::Resource>::SPEC.roles;

            #literal_items

            /// Starts this resource at run time: discovers the issuers' metadata and keys, then
            /// `.build().await` returns the running resource (layer, extractor, metadata route).
            #vis fn builder() -> #p::ResourceBuilder<Self> {
                #p::ResourceBuilder::new()
            }
        }
    }
}

/// The struct as written, with an implementation that only type-checks, for a declaration with
/// errors: every item `expand` generates exists (the literal constants empty), and the scopes
/// are the ones written. The errors next to it stop the build.
pub(crate) fn fallback(
    item: &TokenStream,
    target: &Target,
    scopes: &[String],
    roles: &[String],
) -> TokenStream {
    let ident = &target.ident;
    let vis = &target.vis;
    let p = runtime::private();
    let type_name = ident.to_string();
    quote! {
        #item

        impl #p::Resource for #ident {
            const SPEC: #p::ResourceSpec = #p::ResourceSpec {
                type_name: #type_name,
                id: #p::ValueSource::Literal(""),
                issuers: &[],
                scopes: &[#(#scopes),*],
                roles: &[#(#roles),*],
                metadata: #p::MetadataSpec {
                    resource_name: #p::core::option::Option::None,
                    resource_documentation: #p::core::option::Option::None,
                    resource_policy_uri: #p::core::option::Option::None,
                    resource_tos_uri: #p::core::option::Option::None,
                    localized: &[],
                },
                token: #p::TokenSpec::STRICT,
                metadata_json: #p::core::option::Option::None,
            };
        }

        #[allow(dead_code)]
        impl #ident {
            #vis const SCOPES: &'static [&'static str] = <Self as #p::Resource>::SPEC.scopes;
            #vis const ROLES: &'static [&'static str] = <Self as #p::Resource>::SPEC.roles;
            #vis const ID: &'static str = "";
            #vis const WELL_KNOWN_PATH: &'static str = "";
            #vis const METADATA_JSON: &'static str = "";

            #vis fn builder() -> #p::ResourceBuilder<Self> {
                #p::ResourceBuilder::new()
            }
        }
    }
}

/// `ID`, `WELL_KNOWN_PATH` and `METADATA_JSON`, for the values known at compile time.
fn literal_items(model: &Model, vis: &syn::Visibility, metadata_json: Option<&str>) -> TokenStream {
    let mut out = TokenStream::new();
    if let Some(id) = model.literal_id() {
        let doc = format!(" The resource identifier: `{id}`.");
        out.extend(quote! {
            #[doc = #doc]
            #vis const ID: &'static str = #id;
        });
    }
    if let Some(path) = model.well_known_path() {
        let doc = format!(" The path the metadata is served at (RFC 9728 §3.1): `{path}`.");
        out.extend(quote! {
            #[doc = #doc]
            #vis const WELL_KNOWN_PATH: &'static str = #path;
        });
    }
    if let Some(json) = metadata_json {
        let doc = format!(
            " The RFC 9728 metadata document, byte for byte as served at [`Self::WELL_KNOWN_PATH`]:\n\n```json\n{json}\n```"
        );
        out.extend(quote! {
            #[doc = #doc]
            #vis const METADATA_JSON: &'static str = #json;
        });
    }
    out
}

fn source(source: &Source) -> TokenStream {
    let p = runtime::private();
    match source {
        Source::Literal(s) => quote!(#p::ValueSource::Literal(#s)),
        Source::Env { var, default } => {
            let default = option(default.as_deref());
            quote!(#p::ValueSource::Env { var: #var, default: #default })
        }
    }
}

fn option(value: Option<&str>) -> TokenStream {
    let p = runtime::private();
    match value {
        Some(v) => quote!(#p::core::option::Option::Some(#v)),
        None => quote!(#p::core::option::Option::None),
    }
}
