//! The wrapper's impl of the trait: each method guarded (`guarded_call.rs`) or forwarded,
//! and the trait's types and constants taken from the wrapped value.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{FnArg, GenericParam, Ident, ItemTrait, Pat, ReturnType, TraitItem, Type};

use super::methods::Method;
use crate::circuit_breaker::guarded_call::{Call, GuardedCall, contains_impl_trait};
use crate::circuit_breaker::keyed_call::chosen_breaker;

/// What the methods of the wrapper's impl do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Bodies {
    /// Guarded or forwarded to the inner value.
    Guarded,
    /// Never run, in a crate that does not compile (see `stub_wrapper`): diverge, but for
    /// a method returning `impl Trait`, which only a forwarded call can satisfy.
    Stubs,
}

/// `impl<P: Trait> Trait for TraitBreaker<P>`: guarded and forwarded methods (or stubs),
/// and the trait's types and constants taken from `P`.
pub fn trait_impl(
    p: &TokenStream,
    item: &ItemTrait,
    wrapper: &Ident,
    methods: &[Method],
    bodies: Bodies,
) -> TokenStream {
    let trait_name = &item.ident;
    let (_, trait_generics, _) = item.generics.split_for_impl();
    let trait_params = &item.generics.params;
    let where_clause = &item.generics.where_clause;
    let trait_ref = quote!(#trait_name #trait_generics);
    let unsafety = &item.unsafety;
    // `#[async_trait]` on the trait must be on the impl too.
    let async_trait = item.attrs.iter().filter(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "async_trait")
    });

    let items = item.items.iter().filter_map(|trait_item| match trait_item {
        TraitItem::Const(c) => {
            let (ident, ty) = (&c.ident, &c.ty);
            Some(quote!(const #ident: #ty = <P as #trait_ref>::#ident;))
        }
        TraitItem::Type(t) => {
            let ident = &t.ident;
            let (_, type_generics, where_clause) = t.generics.split_for_impl();
            let params = &t.generics.params;
            Some(quote!(type #ident<#params> = <P as #trait_ref>::#ident #type_generics #where_clause;))
        }
        _ => None,
    });
    let methods = methods.iter().map(|m| {
        let sig = &m.item.sig;
        let diverges = bodies == Bodies::Stubs
            && match &sig.output {
                ReturnType::Type(_, ty) => !contains_impl_trait(ty),
                ReturnType::Default => true,
            };
        if diverges {
            quote!(#[allow(unused_variables)] #sig { ::core::unreachable!() })
        } else {
            method_impl(p, &trait_ref, m)
        }
    });
    let comma = (!trait_params.is_empty()).then(|| quote!(,));
    quote! {
        #(#async_trait)*
        #[automatically_derived]
        #unsafety impl<P: #trait_ref #comma #trait_params> #trait_ref for #wrapper<P> #where_clause {
            #(#items)*
            #(#methods)*
        }
    }
}

fn method_impl(p: &TokenStream, trait_ref: &TokenStream, method: &Method) -> TokenStream {
    let mut sig = method.item.sig.clone();
    // Arguments written as patterns get names, to be passed on.
    let mut forwarded = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => forwarded.push(if receiver.reference.is_none() {
                quote!(self.inner)
            } else if receiver.mutability.is_some() {
                quote!(&mut self.inner)
            } else {
                quote!(&self.inner)
            }),
            FnArg::Typed(typed) => {
                let ident = match &*typed.pat {
                    Pat::Ident(pat) if pat.subpat.is_none() => pat.ident.clone(),
                    _ => format_ident!("arg{}", index),
                };
                *typed.pat = syn::parse_quote!(#ident);
                forwarded.push(quote!(#ident));
            }
        }
    }
    let name = &sig.ident;
    let has_impl_trait_arg = sig
        .inputs
        .iter()
        .any(|i| matches!(i, FnArg::Typed(t) if matches!(&*t.ty, Type::ImplTrait(_))));
    let turbofish_params: Vec<TokenStream> = sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(t) => {
                let ident = &t.ident;
                Some(quote!(#ident))
            }
            GenericParam::Const(c) => {
                let ident = &c.ident;
                Some(quote!(#ident))
            }
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let turbofish = (!turbofish_params.is_empty() && !has_impl_trait_arg)
        .then(|| quote!(::<#(#turbofish_params),*>));
    let await_ = sig.asyncness.map(|_| quote!(.await));
    let call_inner = quote!(<P as #trait_ref>::#name #turbofish(#(#forwarded),*) #await_);

    let Some(guard) = &method.guard else {
        return quote! {
            #sig {
                #call_inner
            }
        };
    };
    let field = &guard.field;
    let (breaker, by_key) = match &guard.key {
        Some((key, name)) => {
            let config = guard.args.config_expr(p);
            let store = quote!(&self.#field);
            (chosen_breaker(p, store, key, quote!(#name), config), true)
        }
        None => (quote!(&self.#field), false),
    };
    let body = GuardedCall {
        private: p,
        breaker,
        by_key,
        sig: &sig,
        call: Call::Inner(quote!(<P as #trait_ref>::#name #turbofish(#(#forwarded),*))),
        failure_if: guard.args.failure_if.as_ref(),
        classify: guard.args.classify.as_ref(),
        fallback: guard
            .args
            .fallback
            .as_ref()
            .map(|fallback| (fallback, forwarded.clone())),
    }
    .expand();
    quote! {
        #sig {
            #body
        }
    }
}
