//! The typed API of a machine: its states and events as types, and the table's edges as
//! trait impls between them, so that only declared transitions compile.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Fields, Ident, Visibility};

use super::check::Table;
use super::expand::Names;
use crate::doc::doc_attrs;

/// `<module>::state::*` and `<module>::event::*`: the states and events as types, and the
/// edges of the table as trait impls between them.
pub(super) fn typed_module(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        state,
        state_kind,
        event,
        module,
        ..
    } = n;
    let vis = &table.vis;
    let vis1 = nested_visibility(vis, 1);
    let vis2 = nested_visibility(&table.vis, 2);
    let module_doc = doc_attrs(&format!(
        "The states and events of `{machine}` as types, for `{machine}::typed`."
    ));
    let state_doc = doc_attrs(&format!("The states of `{machine}` as types."));
    let event_doc = doc_attrs(&format!(
        "The events of `{machine}` as types; each converts into `{event}`."
    ));

    let state_structs = table
        .leaves()
        .filter(|(_, s)| table.typed || s.has_data())
        .map(|(_, s)| {
            let ident = &s.ident;
            let data = if s.has_data() { ", with its data" } else { "" };
            let doc = doc_attrs(&format!("State `{ident}` of `{machine}`, as a type{data}."));
            data_struct(p, &vis2, ident, &s.fields, doc)
        });
    let event_structs = table.events.iter().map(|e| {
        let ident = &e.ident;
        let doc = doc_attrs(&format!("Event `{ident}` of `{machine}`, as a type."));
        data_struct(p, &vis2, ident, &e.fields, doc)
    });
    // Field types are written at the call site; the event module sees them through a glob
    // import of the module that holds the machine.
    let import = quote!(
        #[allow(unused_imports)]
        use super::super::*;
    );
    let event_import = table.has_event_data().then(|| import.clone());
    let state_import = table.has_state_data().then(|| import.clone());

    let state_impls = table.leaves().map(|(_, s)| {
        let ident = &s.ident;
        let (into_state, from_state) = conversions(
            p,
            quote!(self),
            &quote!(#module::state::#ident),
            &quote!(#state::#ident),
            &s.fields,
        );
        let state_type = table.typed.then(|| {
            quote! {
                #[automatically_derived]
                impl #p::StateType for #module::state::#ident {
                    type Machine = #machine;
                    const STATE: #state_kind = #state_kind::#ident;

                    fn into_state(self) -> #state {
                        #into_state
                    }

                    #[allow(unreachable_patterns)]
                    fn from_state(state: #state) -> #p::Option<Self> {
                        match state {
                            #from_state
                            _ => #p::None,
                        }
                    }
                }
            }
        });
        let from = s.has_data().then(|| {
            quote! {
                #[automatically_derived]
                impl #p::From<#module::state::#ident> for #state {
                    fn from(state: #module::state::#ident) -> Self {
                        <#module::state::#ident as #p::StateType>::into_state(state)
                    }
                }
            }
        });
        let from = if table.typed {
            from
        } else {
            let (body, _) = conversions(
                p,
                quote!(state),
                &quote!(#module::state::#ident),
                &quote!(#state::#ident),
                &s.fields,
            );
            s.has_data().then(|| {
                quote! {
                    #[automatically_derived]
                    impl #p::From<#module::state::#ident> for #state {
                        fn from(state: #module::state::#ident) -> Self {
                            #body
                        }
                    }
                }
            })
        };
        quote!(#state_type #from)
    });
    let event_impls = table.events.iter().map(|e| {
        let ident = &e.ident;
        let (body, _) = conversions(
            p,
            quote!(event),
            &quote!(#module::event::#ident),
            &quote!(#event::#ident),
            &e.fields,
        );
        let param = if matches!(e.fields, Fields::Unit) {
            quote!(_event)
        } else {
            quote!(event)
        };
        quote! {
            #[automatically_derived]
            impl #p::From<#module::event::#ident> for #event {
                fn from(#param: #module::event::#ident) -> Self {
                    #body
                }
            }

            #[automatically_derived]
            impl #p::EventType for #module::event::#ident {
                type Machine = #machine;
            }
        }
    });
    let edge_impls = edges(table).into_iter().map(|edge| {
        let from = &table.states[edge.from].ident;
        let ev = &table.events[edge.event].ident;
        let to = &table.states[edge.to].ident;
        let unguarded = edge.unguarded.then(|| {
            quote! {
                #[automatically_derived]
                impl #p::Edge<#module::state::#from> for #module::event::#ev {
                    type To = #module::state::#to;
                }
            }
        });
        quote! {
            #unguarded
            #[automatically_derived]
            impl #p::GuardedEdge<#module::state::#from> for #module::event::#ev {
                type To = #module::state::#to;
            }
        }
    });

    if !table.typed {
        // Only the structs a row action returns to set a state's data.
        let module_doc = doc_attrs(&format!("The data of the states of `{machine}`."));
        let state_doc = doc_attrs(&format!(
            "The states of `{machine}` that carry data, as types."
        ));
        return quote! {
            #module_doc
            #vis mod #module {
                #state_doc
                #vis1 mod state {
                    #state_import
                    #(#state_structs)*
                }
            }

            #(#state_impls)*
        };
    }
    quote! {
        #module_doc
        #vis mod #module {
            #state_doc
            #vis1 mod state {
                #state_import
                #(#state_structs)*
            }

            #event_doc
            #vis1 mod event {
                #event_import
                #(#event_structs)*
            }
        }

        #(#state_impls)*
        #(#event_impls)*
        #(#edge_impls)*
    }
}

/// A struct for a state or an event: unit, tuple or named fields, all public.
fn data_struct(
    p: &TokenStream,
    vis: &TokenStream,
    ident: &Ident,
    fields: &Fields,
    doc: TokenStream,
) -> TokenStream {
    match fields {
        Fields::Unit => quote! {
            #doc
            #[derive(#p::Debug, #p::Clone, #p::Copy, #p::PartialEq, #p::Eq, #p::Hash, #p::Default)]
            #vis struct #ident;
        },
        Fields::Unnamed(fields) => {
            let types = fields.unnamed.iter().map(|f| &f.ty);
            quote! {
                #doc
                #[derive(#p::Debug)]
                #vis struct #ident(#(#vis #types),*);
            }
        }
        Fields::Named(fields) => {
            let names = fields.named.iter().map(|f| &f.ident);
            let types = fields.named.iter().map(|f| &f.ty);
            quote! {
                #doc
                #[derive(#p::Debug)]
                #vis struct #ident { #(#vis #names: #types),* }
            }
        }
    }
}

/// The body that turns `self` (the struct `typed`) into the enum variant `variant`, and the
/// match arm that turns the variant back into the struct.
fn conversions(
    p: &TokenStream,
    source: TokenStream,
    typed: &TokenStream,
    variant: &TokenStream,
    fields: &Fields,
) -> (TokenStream, TokenStream) {
    match fields {
        Fields::Unit => (quote!(#variant), quote!(#variant => #p::Some(#typed),)),
        Fields::Unnamed(fields) => {
            let bindings: Vec<Ident> = (0..fields.unnamed.len())
                .map(|i| format_ident!("field{}", i))
                .collect();
            (
                quote! {
                    let #typed(#(#bindings),*) = #source;
                    #variant(#(#bindings),*)
                },
                quote!(#variant(#(#bindings),*) => #p::Some(#typed(#(#bindings),*)),),
            )
        }
        Fields::Named(fields) => {
            let names: Vec<_> = fields.named.iter().map(|f| &f.ident).collect();
            (
                quote! {
                    let #typed { #(#names),* } = #source;
                    #variant { #(#names),* }
                },
                quote!(#variant { #(#names),* } => #p::Some(#typed { #(#names),* }),),
            )
        }
    }
}

/// A state and event whose rows all lead to one state: a typed edge.
struct TypedEdge {
    from: usize,
    event: usize,
    to: usize,
    /// Whether one of the rows has no guard, so that firing cannot fail.
    unguarded: bool,
}

fn edges(table: &Table) -> Vec<TypedEdge> {
    let mut edges: Vec<(TypedEdge, bool)> = Vec::new();
    for row in &table.rows {
        match edges
            .iter_mut()
            .find(|(e, _)| e.from == row.from && e.event == row.event)
        {
            Some((edge, single_target)) => {
                *single_target &= edge.to == row.to;
                edge.unguarded |= row.guard.is_none();
            }
            None => edges.push((
                TypedEdge {
                    from: row.from,
                    event: row.event,
                    to: row.to,
                    unguarded: row.guard.is_none(),
                },
                true,
            )),
        }
    }
    edges
        .into_iter()
        .filter(|(_, single)| *single)
        .map(|(edge, _)| edge)
        .collect()
}

/// The visibility `vis` means at the call site, written for an item `depth` modules down.
fn nested_visibility(vis: &Visibility, depth: usize) -> TokenStream {
    let supers = |extra: usize| {
        let parts = std::iter::repeat_n(quote!(super), depth + extra);
        quote!(#(#parts)::*)
    };
    match vis {
        Visibility::Public(_) => quote!(pub),
        Visibility::Inherited => {
            let path = supers(0);
            quote!(pub(in #path))
        }
        Visibility::Restricted(r) => {
            let first = r.path.segments.first().map(|s| s.ident.to_string());
            match first.as_deref() {
                Some("self") if r.path.segments.len() == 1 => {
                    let path = supers(0);
                    quote!(pub(in #path))
                }
                Some("super") | Some("self") => {
                    let path = supers(0);
                    let rest = r.path.segments.iter().filter(|s| s.ident != "self");
                    quote!(pub(in #path::#(#rest)::*))
                }
                _ => quote!(#vis),
            }
        }
    }
}
