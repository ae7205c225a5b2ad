//! `key = argument`: the argument of a guarded call that chooses its breaker, checked
//! against the signature, and the expression that finds the breaker where the call is
//! compiled (the runtime's `key_choice`: derived per-variant breakers, or a bounded
//! registry for a hashed key).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::visit::Visit;
use syn::{FnArg, GenericParam, Ident, Pat, Signature, Type};

use crate::suggest;

/// The argument named by `key`, as the generated code borrows it.
pub struct KeyArgument {
    /// The name the attribute gave, spanned where `key = ...` wrote it.
    pub name: Ident,
    /// Whether the argument is already a reference (`model: &str`): it is then passed as it
    /// is, so that the key is `str`, whose owned form outlives the call.
    pub by_reference: bool,
}

/// The argument `key` names in `sig`; errors (no such argument, with a suggestion; a type
/// that mentions the function's own type parameters) are pushed.
pub fn key_argument(
    sig: &Signature,
    key: &Ident,
    errors: &mut Vec<syn::Error>,
) -> Option<KeyArgument> {
    let names: Vec<String> = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) => Some(ident.ident.to_string()),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect();
    let found = sig.inputs.iter().find_map(|input| match input {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(ident) if ident.ident == *key => Some(&*typed.ty),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    });
    let Some(ty) = found else {
        let hint = suggest::did_you_mean(&key.to_string(), names.iter());
        let listed = if names.is_empty() {
            "it has none".to_owned()
        } else {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("its arguments are {}", quoted.join(", "))
        };
        errors.push(syn::Error::new(
            key.span(),
            format!(
                "`key = {key}` names no argument of `{}`{hint}: {listed}",
                sig.ident
            ),
        ));
        return None;
    };
    if let Some(param) = generic_in(ty, sig) {
        errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "the `key` argument's type mentions `{param}`, a type chosen by each caller: the breakers of a guarded call are created once, for one key type; give `{key}` a concrete type"
            ),
        ));
        return None;
    }
    Some(KeyArgument {
        name: key.clone(),
        by_reference: matches!(ty, Type::Reference(_)),
    })
}

/// The first of the function's type parameters (or an `impl Trait`) that `ty` mentions.
fn generic_in(ty: &Type, sig: &Signature) -> Option<String> {
    struct Finder<'a> {
        params: Vec<&'a Ident>,
        found: Option<String>,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_type_path(&mut self, path: &'ast syn::TypePath) {
            if let Some(ident) = path.path.get_ident() {
                if self.params.contains(&ident) {
                    self.found.get_or_insert_with(|| ident.to_string());
                }
            }
            syn::visit::visit_type_path(self, path);
        }
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.found.get_or_insert_with(|| "impl Trait".to_owned());
        }
    }
    let params = sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(t) => Some(&t.ident),
            _ => None,
        })
        .collect();
    let mut finder = Finder {
        params,
        found: None,
    };
    finder.visit_type(ty);
    finder.found
}

/// The expression that finds the breaker `key` chooses among `store`'s (a `KeyBreakers`):
/// a `&CircuitBreaker` or a `BreakerRef`, which the guarded call binds and borrows.
pub fn chosen_breaker(
    p: &TokenStream,
    store: TokenStream,
    key: &KeyArgument,
    name: TokenStream,
    config: TokenStream,
) -> TokenStream {
    let arg = &key.name;
    let borrowed = if key.by_reference {
        quote!(#arg)
    } else {
        quote!(&#arg)
    };
    // Spanned on the key, so that a type of neither kind is reported there.
    let call = quote_spanned! {arg.span()=>
        (&&#p::KeyTag(#borrowed)).key_kind().breaker(#store, #borrowed, || #p::Into::into(#name), || #config)
    };
    quote! {{
        use #p::{DerivedKindOf as _, HashedKindOf as _, NeitherKindOf as _};
        #call
    }}
}
