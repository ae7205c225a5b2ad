//! `#[derive(CircuitBreakers)]`: one breaker per variant of a fieldless enum, in an array
//! indexed by the variant. Parse and check here; the code is in `expand.rs`.

mod expand;
#[cfg(test)]
mod tests;

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr};

use crate::args::{BreakerArgs, Place};

/// A checked enum.
pub struct Keys {
    pub input_ident: Ident,
    pub vis: syn::Visibility,
    pub args: BreakerArgs,
    pub variants: Vec<Key>,
    /// Whether a variant was left out for an error: `get` then needs an arm for it, so that
    /// the only errors are ours.
    pub incomplete: bool,
}

/// A variant: its breaker's name and arguments (the enum's, under the variant's own).
pub struct Key {
    pub ident: Ident,
    pub name: LitStr,
    pub args: BreakerArgs,
}

pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    let mut errors = Vec::new();
    let keys = check(input, &mut errors);
    let mut out = keys.map(|keys| expand::expand(&keys)).unwrap_or_default();
    out.extend(crate::diagnostics::compile_errors(errors));
    out
}

/// Checks the enum; `None` when there is nothing sensible to expand (not an enum, generic).
fn check(input: DeriveInput, errors: &mut Vec<syn::Error>) -> Option<Keys> {
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(s) => {
            errors.push(syn::Error::new(
                s.struct_token.span,
                "`CircuitBreakers` derives for an enum whose variants are the keys, not for a struct",
            ));
            return None;
        }
        Data::Union(u) => {
            errors.push(syn::Error::new(
                u.union_token.span,
                "`CircuitBreakers` derives for an enum whose variants are the keys, not for a union",
            ));
            return None;
        }
    };
    let args = enum_args(&input.attrs, Place::Enum, errors);
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "`CircuitBreakers` needs an enum without generic parameters: its variants are a fixed set of keys",
        ));
        return None;
    }
    if data.variants.is_empty() {
        errors.push(syn::Error::new(
            input.ident.span(),
            format!(
                "`{}` has no variants, so there is no breaker to make: add a variant per key",
                input.ident
            ),
        ));
        return None;
    }

    let mut variants: Vec<Key> = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            errors.push(syn::Error::new_spanned(
                &variant.fields,
                format!(
                    "variant `{}` carries data: `CircuitBreakers` keys one breaker on each fieldless variant",
                    variant.ident
                ),
            ));
            continue;
        }
        let own = enum_args(&variant.attrs, Place::Variant, errors);
        let name = own.name.clone().unwrap_or_else(|| {
            let text = match &args.rename_all {
                Some(rule) => rule.value.apply(&variant.ident.to_string()),
                None => variant.ident.to_string(),
            };
            LitStr::new(&text, variant.ident.span())
        });
        if let Some(first) = variants.iter().find(|v| v.name.value() == name.value()) {
            errors.push(syn::Error::new(
                name_span(&own, &variant.ident),
                format!(
                    "variant `{}` has the breaker name \"{}\" of variant `{}`: each breaker needs its own name",
                    variant.ident,
                    name.value(),
                    first.ident
                ),
            ));
            continue;
        }
        let merged = own.or(&args);
        merged.check_combination(&own, errors);
        variants.push(Key {
            ident: variant.ident.clone(),
            name,
            args: merged,
        });
    }
    Some(Keys {
        incomplete: variants.len() < data.variants.len(),
        input_ident: input.ident,
        vis: input.vis,
        args,
        variants,
    })
}

fn name_span(own: &BreakerArgs, ident: &Ident) -> Span {
    own.name
        .as_ref()
        .map_or_else(|| ident.span(), |name| name.span())
}

/// The arguments of the `#[breaker(...)]` attributes among `attrs`: one at most.
fn enum_args(attrs: &[Attribute], place: Place, errors: &mut Vec<syn::Error>) -> BreakerArgs {
    let mut args = BreakerArgs::default();
    for (index, attr) in attrs
        .iter()
        .filter(|a| a.path().is_ident("breaker"))
        .enumerate()
    {
        if index > 0 {
            errors.push(syn::Error::new_spanned(
                attr,
                "a second `#[breaker]`: give the arguments in one",
            ));
            continue;
        }
        match &attr.meta {
            syn::Meta::List(list) => args = BreakerArgs::parse(list.tokens.clone(), place, errors),
            other => errors.push(syn::Error::new(
                other.span(),
                "`#[breaker]` takes arguments: `#[breaker(threshold = 3, cooldown = \"10s\")]`",
            )),
        }
    }
    args
}
