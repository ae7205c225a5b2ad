//! `#[circuit_breaker]` on a function: check the signature, then wrap the body.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, ReturnType, Signature};

use super::guarded_call::{Call, GuardedCall, cannot_be_a_result};
use super::keyed_call::{KeyArgument, chosen_breaker, key_argument};
use crate::args::BreakerArgs;

/// The function, guarded; with errors, the function as written.
pub fn expand(args: &BreakerArgs, function: ItemFn, errors: &mut Vec<syn::Error>) -> TokenStream {
    check_signature(&function.sig, errors);
    args.check_combination(args, errors);
    if args.fallback.is_some() {
        check_fallback_arguments(&function.sig, errors);
    }
    let key = args
        .key
        .as_ref()
        .and_then(|key| key_argument(&function.sig, key, errors));
    if !errors.is_empty() {
        // The function as written still compiles, so its callers show no follow-on errors;
        // so does the accessor of its keyed breakers, which they may call.
        let accessor = args
            .key
            .as_ref()
            .filter(|_| function.sig.receiver().is_none())
            .map(|_| {
                let krate = args.krate();
                let accessor_name = format_ident!("{}_breakers", function.sig.ident);
                let vis = &function.vis;
                quote! {
                    #vis fn #accessor_name() -> &'static #krate::__private::KeyBreakers {
                        ::core::unreachable!()
                    }
                }
            });
        return quote!(#function #accessor);
    }

    let krate = args.krate();
    let p = quote!(#krate::__private);
    let fn_name = &function.sig.ident;
    let has_receiver = function.sig.receiver().is_some();
    let config = args.config_expr(&p);
    let config_key = match &args.config {
        Some(key) => quote!(#p::Some(#key)),
        None => quote!(#p::None),
    };
    let name = match &args.name {
        Some(name) => quote!(#name),
        None if has_receiver => {
            let method = fn_name.to_string();
            quote!(#p::method_name::<Self>(#method))
        }
        None => {
            let path = format!("::{fn_name}");
            quote!(#p::concat!(#p::module_path!(), #path))
        }
    };

    let fallback = args
        .fallback
        .as_ref()
        .map(|fallback| (fallback, forwarded_arguments(&function.sig)));

    if let Some(key) = &key {
        let config = quote!(#p::configured(#config_key, #config));
        return keyed(args, &function, key, fallback, &name, &config);
    }

    let get_breaker = quote! {
        static BREAKER: #p::LazyBreaker = #p::LazyBreaker::new();
        BREAKER.get(|| #p::named(#name, #config, #config_key))
    };
    // A function without a receiver gets an accessor beside it; a method keeps its breaker
    // inside, reachable by name through the registry.
    let (lookup, accessor) = if has_receiver {
        (quote!({ #get_breaker }), None)
    } else {
        let accessor_name = format_ident!("{}_breaker", fn_name);
        let vis = &function.vis;
        let doc = format!(" The circuit breaker that guards [`{fn_name}`].");
        (
            quote!(#accessor_name()),
            Some(quote! {
                #[doc = #doc]
                #vis fn #accessor_name() -> &'static #p::CircuitBreaker {
                    #get_breaker
                }
            }),
        )
    };

    guarded(args, &function, lookup, false, fallback, accessor)
}

/// The function, its body guarded by `breaker` (see `GuardedCall`), then `accessor`.
fn guarded(
    args: &BreakerArgs,
    function: &ItemFn,
    breaker: TokenStream,
    by_key: bool,
    fallback: Option<(&syn::Path, Vec<TokenStream>)>,
    accessor: Option<TokenStream>,
) -> TokenStream {
    let krate = args.krate();
    let p = quote!(#krate::__private);
    let body = GuardedCall {
        private: &p,
        breaker,
        by_key,
        sig: &function.sig,
        call: Call::Body(&function.block),
        failure_if: args.failure_if.as_ref(),
        classify: args.classify.as_ref(),
        fallback,
    }
    .expand();
    let attrs = &function.attrs;
    let vis = &function.vis;
    let sig = &function.sig;
    quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }

        #accessor
    }
}

/// The function guarded by the breaker its argument `key` chooses, and (without a
/// receiver) an accessor of its breakers beside it.
fn keyed(
    args: &BreakerArgs,
    function: &ItemFn,
    key: &KeyArgument,
    fallback: Option<(&syn::Path, Vec<TokenStream>)>,
    name: &TokenStream,
    config: &TokenStream,
) -> TokenStream {
    let krate = args.krate();
    let p = quote!(#krate::__private);
    let fn_name = &function.sig.ident;
    let store = quote!(static BREAKERS: #p::KeyBreakers = #p::KeyBreakers::new(););
    let (store_expr, accessor) = if function.sig.receiver().is_some() {
        (quote!({ #store &BREAKERS }), None)
    } else {
        let accessor_name = format_ident!("{}_breakers", fn_name);
        let vis = &function.vis;
        let doc = format!(
            " The circuit breakers that guard [`{fn_name}`], one per value of its argument `{}`, created on first use.",
            key.name
        );
        (
            quote!(#accessor_name()),
            Some(quote! {
                #[doc = #doc]
                #vis fn #accessor_name() -> &'static #p::KeyBreakers {
                    #store
                    &BREAKERS
                }
            }),
        )
    };
    let breaker = chosen_breaker(&p, store_expr, key, name.clone(), config.clone());
    guarded(args, function, breaker, true, fallback, accessor)
}

/// A guarded function runs at run time and returns a `Result`: here the types that the
/// syntax rules out; the compiler checks the others (an alias of `Result` has any name).
fn check_signature(sig: &Signature, errors: &mut Vec<syn::Error>) {
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span(),
            "a `const fn` cannot be guarded: a circuit breaker decides at run time",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "a variadic function cannot be guarded",
        ));
    }
    match &sig.output {
        ReturnType::Default => errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            format!(
                "`{}` returns `()`: a guarded function returns `Result<T, E>`, so that a rejection and a failure can be told apart from a success",
                sig.ident
            ),
        )),
        ReturnType::Type(_, ty) => {
            if let Some(what) = cannot_be_a_result(ty) {
                errors.push(syn::Error::new_spanned(
                    ty,
                    format!("a guarded function returns `Result<T, E>`, not {what}"),
                ));
            }
        }
    }
}

/// The expressions that pass the function's arguments on to its fallback (every argument is
/// a name: `check_fallback_arguments`).
fn forwarded_arguments(sig: &Signature) -> Vec<TokenStream> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Receiver(_) => Some(quote!(self)),
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) => {
                    let ident = &ident.ident;
                    Some(quote!(#ident))
                }
                _ => None,
            },
        })
        .collect()
}

/// Arguments written as patterns cannot be passed on to a fallback.
pub fn check_fallback_arguments(sig: &Signature, errors: &mut Vec<syn::Error>) {
    for input in &sig.inputs {
        if let FnArg::Typed(typed) = input {
            if !matches!(&*typed.pat, Pat::Ident(ident) if ident.subpat.is_none()) {
                errors.push(syn::Error::new_spanned(
                    &typed.pat,
                    "with a `fallback`, every argument needs a name, to be passed on to the fallback",
                ));
            }
        }
    }
}
