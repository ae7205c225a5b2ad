//! `#[circuit_breaker(...)]`: the arguments (`crate::args`), then a function (`item_fn.rs`)
//! or a trait (`item_trait/`), whose guarded calls both expand through
//! `guarded_call.rs`.

mod guarded_call;
mod item_fn;
mod item_trait;
mod keyed_call;
#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::Item;

use crate::args::{BreakerArgs, Place};

/// Expands `#[circuit_breaker(attr)] item`. With errors, the item is still emitted as
/// written, so that the only messages are ours.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut errors = Vec::new();
    let mut out = match parsed {
        Item::Fn(function) => {
            let args = BreakerArgs::parse(attr, Place::Function, &mut errors);
            item_fn::expand(&args, function, &mut errors)
        }
        Item::Trait(item) => {
            let args = BreakerArgs::parse(attr, Place::Trait, &mut errors);
            item_trait::expand(&args, item, &mut errors)
        }
        other => {
            errors.push(unsupported(&other));
            other.into_token_stream()
        }
    };
    out.extend(crate::diagnostics::compile_errors(errors));
    out
}

fn unsupported(item: &Item) -> syn::Error {
    let (what, span) = match item {
        Item::Struct(s) => ("a struct", s.struct_token.span),
        Item::Enum(e) => (
            "an enum; for one breaker per variant, derive `CircuitBreakers`",
            e.enum_token.span,
        ),
        Item::Impl(i) => (
            "an impl block; put it on each method to guard, or on the trait",
            i.impl_token.span,
        ),
        Item::Mod(m) => ("a module", m.mod_token.span),
        Item::Const(c) => ("a constant", c.const_token.span),
        Item::Static(s) => ("a static", s.static_token.span),
        _ => ("this item", proc_macro2::Span::call_site()),
    };
    let span = if matches!(
        item,
        Item::Struct(_)
            | Item::Enum(_)
            | Item::Impl(_)
            | Item::Mod(_)
            | Item::Const(_)
            | Item::Static(_)
    ) {
        span
    } else {
        syn::spanned::Spanned::span(item)
    };
    syn::Error::new(
        span,
        format!("`#[circuit_breaker]` goes on a function or a trait, not on {what}"),
    )
}
