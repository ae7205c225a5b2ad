//! The methods of a trait under `#[circuit_breaker]`: their `#[breaker(...)]`, and whether
//! each is guarded, and by which breaker.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::{Ident, ItemTrait, ReturnType, TraitItem, TraitItemFn};

use crate::args::{BreakerArgs, Place};
use crate::circuit_breaker::guarded_call::cannot_be_a_result;
use crate::circuit_breaker::item_fn::check_fallback_arguments;
use crate::circuit_breaker::keyed_call::{KeyArgument, key_argument};

/// A method of the trait and what to do with it.
pub struct Method {
    pub item: TraitItemFn,
    /// `None`: forwarded as it is.
    pub guard: Option<Guard>,
}

pub struct Guard {
    pub args: BreakerArgs,
    /// The field that holds its breaker.
    pub field: Ident,
    /// Whether it has a breaker of its own (`per_method`, or settings of its own).
    pub dedicated: bool,
    /// `key = argument`: the argument that chooses the breaker (the field then holds
    /// `KeyBreakers`), and the name the keyed breakers are named after.
    pub key: Option<(KeyArgument, String)>,
}

/// Reads the `#[breaker(...)]` of every method (and takes it off), and decides which
/// methods are guarded and by which breaker.
pub fn check_methods(
    args: &BreakerArgs,
    item: &mut ItemTrait,
    errors: &mut Vec<syn::Error>,
) -> Vec<Method> {
    let mut methods = Vec::new();
    for trait_item in &mut item.items {
        let TraitItem::Fn(method) = trait_item else {
            if let Some(attrs) = item_attrs(trait_item) {
                for attr in take_breaker_attrs(attrs) {
                    errors.push(syn::Error::new_spanned(
                        attr,
                        "`#[breaker]` goes on a method of the trait",
                    ));
                }
            }
            if let TraitItem::Macro(mac) = trait_item {
                errors.push(syn::Error::new_spanned(
                    mac,
                    "a macro in a trait under `#[circuit_breaker]` cannot be forwarded: write its items out",
                ));
            }
            continue;
        };
        let mut method_args = BreakerArgs::default();
        let attrs = take_breaker_attrs(&mut method.attrs);
        for (index, attr) in attrs.iter().enumerate() {
            if index > 0 {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "a second `#[breaker]`: give the method's arguments in one",
                ));
                continue;
            }
            let tokens = match &attr.meta {
                syn::Meta::List(list) => list.tokens.clone(),
                _ => TokenStream::new(),
            };
            method_args = BreakerArgs::parse(tokens, Place::TraitMethod, errors);
        }

        let may_return_a_result = may_return_a_result(&method.sig.output);
        if let (Some(_), Some(key)) = (method_args.skip, &method_args.key) {
            errors.push(syn::Error::new(
                key.span(),
                "`key` on a method marked `skip`: a skipped method is forwarded unguarded, so no argument chooses a breaker for it",
            ));
        }
        if let Some(skip) = method_args.skip {
            if method_args.has_settings()
                || method_args.failure_if.is_some()
                || method_args.classify.is_some()
                || method_args.fallback.is_some()
            {
                errors.push(syn::Error::new(
                    skip,
                    "`skip` leaves the method unguarded: it takes no other argument",
                ));
            }
            methods.push(Method {
                item: method.clone(),
                guard: None,
            });
            continue;
        }
        if !may_return_a_result {
            if !attrs.is_empty() {
                errors.push(syn::Error::new_spanned(
                    &attrs[0],
                    "only a method that returns `Result<T, E>` is guarded; this one is forwarded as it is, so `#[breaker]` has no effect here",
                ));
            }
            methods.push(Method {
                item: method.clone(),
                guard: None,
            });
            continue;
        }
        if let Some(receiver) = method.sig.receiver() {
            if receiver.colon_token.is_some() {
                errors.push(syn::Error::new_spanned(
                    receiver,
                    "a method with a typed receiver (`self: Box<Self>`, `self: Pin<&mut Self>`) cannot be forwarded to the inner value: mark it `#[breaker(skip)]` and implement it on the wrapper yourself",
                ));
            }
        } else {
            errors.push(syn::Error::new_spanned(
                &method.sig,
                "an associated function without `self` cannot be guarded per instance: mark it `#[breaker(skip)]`",
            ));
        }
        if method_args.fallback.is_some() {
            check_fallback_arguments(&method.sig, errors);
        }
        let key = method_args
            .key
            .as_ref()
            .and_then(|key| key_argument(&method.sig, key, errors))
            .map(|key| {
                let base = args
                    .name
                    .as_ref()
                    .map_or_else(|| item.ident.to_string(), syn::LitStr::value);
                (key, format!("{base}::{}", method.sig.ident))
            });
        // Named after `key` as written, so that a wrapper stubbed after an error in it still
        // has the accessor.
        let keyed = method_args.key.is_some();
        let dedicated = args.per_method.is_some() || method_args.has_settings() || keyed;
        let field = if keyed {
            format_ident!("{}_breakers", method.sig.ident)
        } else if dedicated {
            format_ident!("{}_breaker", method.sig.ident)
        } else {
            Ident::new("breaker", Span::call_site())
        };
        let mut guard_args = method_args.or(args);
        guard_args.skip = None;
        guard_args.check_combination(&method_args, errors);
        methods.push(Method {
            item: method.clone(),
            guard: Some(Guard {
                args: guard_args,
                field,
                dedicated,
                key,
            }),
        });
    }
    methods
}

fn item_attrs(item: &mut TraitItem) -> Option<&mut Vec<syn::Attribute>> {
    match item {
        TraitItem::Const(c) => Some(&mut c.attrs),
        TraitItem::Type(t) => Some(&mut t.attrs),
        TraitItem::Macro(m) => Some(&mut m.attrs),
        _ => None,
    }
}

fn take_breaker_attrs(attrs: &mut Vec<syn::Attribute>) -> Vec<syn::Attribute> {
    let (ours, others): (Vec<_>, Vec<_>) =
        attrs.drain(..).partition(|a| a.path().is_ident("breaker"));
    *attrs = others;
    ours
}

/// Whether a method may return a `Result`: its return type is not one that the syntax
/// rules out (`()`, a reference, `bool`, ...). The compiler checks the others.
fn may_return_a_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, ty) => cannot_be_a_result(ty).is_none(),
        ReturnType::Default => false,
    }
}
