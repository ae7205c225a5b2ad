//! `#[circuit_breaker]` on a trait: the trait as written, and a wrapper that implements it,
//! every method guarded but those marked `#[breaker(skip)]` and those whose return type
//! cannot be a `Result` (`()`, a reference, `bool`, ...), which are forwarded.
//!
//! `methods.rs` decides what becomes of each method; `trait_impl.rs` writes the wrapper's
//! impl of the trait.

mod methods;
mod trait_impl;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Ident, ItemTrait, LitStr, TraitItem};

use crate::args::BreakerArgs;
use crate::doc::doc_attrs;
use methods::{Method, check_methods};
use trait_impl::{Bodies, trait_impl};

/// The trait, and the wrapper that guards it; with errors, the trait as written (less the
/// `#[breaker]` attributes, which the compiler would not know).
pub fn expand(
    args: &BreakerArgs,
    mut item: ItemTrait,
    errors: &mut Vec<syn::Error>,
) -> TokenStream {
    if let Some(unsafety) = &item.unsafety {
        errors.push(syn::Error::new(
            unsafety.span,
            "`#[circuit_breaker]` cannot wrap an `unsafe trait`: its wrapper would have to \
             promise the trait's safety contract (`unsafe impl`), which only you can; \
             implement the trait for a wrapper of your own and guard its methods with \
             `#[circuit_breaker]`",
        ));
    }
    let methods = check_methods(args, &mut item, errors);
    let krate = args.krate();
    let p = quote!(#krate::__private);
    if !errors.is_empty() {
        // The trait and a wrapper with the same API, its methods forwarded unguarded: the
        // crate does not compile anyway, and each use of the wrapper then adds no error to
        // the ones reported.
        let forwarded: Vec<Method> = item
            .items
            .iter()
            .filter_map(|trait_item| match trait_item {
                TraitItem::Fn(method) => Some(Method {
                    item: method.clone(),
                    guard: None,
                }),
                _ => None,
            })
            .collect();
        let wrapper = format_ident!("{}Breaker", item.ident);
        let trait_impl = trait_impl(&p, &item, &wrapper, &forwarded, Bodies::Stubs);
        // The accessors of keyed breakers too, which the wrapper's users may call.
        let keyed: Vec<Ident> = methods
            .iter()
            .filter_map(|m| m.guard.as_ref())
            .filter(|guard| guard.args.key.is_some())
            .map(|guard| guard.field.clone())
            .collect();
        return stub_wrapper(&p, &item, trait_impl, &keyed);
    }

    let trait_name = &item.ident;
    let wrapper = format_ident!("{}Breaker", trait_name);
    let vis = &item.vis;
    let base_name = args
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| trait_name.to_string());
    let shared_field = Ident::new("breaker", Span::call_site());
    let uses_shared = methods
        .iter()
        .any(|m| m.guard.as_ref().is_some_and(|g| !g.dedicated));
    let dedicated: Vec<&Method> = methods
        .iter()
        .filter(|m| m.guard.as_ref().is_some_and(|g| g.dedicated))
        .collect();

    // Fields and their construction: one shared breaker and one per dedicated method.
    let mut fields = Vec::new();
    let mut builds = Vec::new();
    let mut lookups = Vec::new();
    let mut key_accessors = Vec::new();
    if uses_shared {
        let config = args.config_expr(&p);
        let key = config_key(&p, args.config.as_ref().map(LitStr::value));
        fields.push(quote!(#shared_field: #p::CircuitBreaker));
        builds.push(quote!(#shared_field: make(#base_name, #p::configured(#key, #config))));
    }
    for method in &dedicated {
        let guard = method
            .guard
            .as_ref()
            .expect("dedicated methods are guarded");
        let field = &guard.field;
        let method_name = method.item.sig.ident.to_string();
        if let Some((key, _)) = &guard.key {
            fields.push(quote!(#field: #p::KeyBreakers));
            builds.push(quote!(#field: keys()));
            let doc = format!(
                " The breakers of `{method_name}`, one per value of its argument `{}`, created on first use.",
                key.name
            );
            key_accessors.push(quote! {
                #[doc = #doc]
                pub fn #field(&self) -> &#p::KeyBreakers {
                    &self.#field
                }
            });
            continue;
        }
        let name = format!("{base_name}::{method_name}");
        let config = guard.args.config_expr(&p);
        let key = config_key(
            &p,
            args.config
                .as_ref()
                .map(|k| format!("{}::{method_name}", k.value())),
        );
        fields.push(quote!(#field: #p::CircuitBreaker));
        builds.push(quote!(#field: make(#name, #p::configured(#key, #config))));
    }
    for method in &methods {
        if let Some(guard) = method.guard.as_ref().filter(|g| g.key.is_none()) {
            let field = &guard.field;
            let method_name = method.item.sig.ident.to_string();
            lookups.push(quote!(#method_name => #p::Some(&self.#field)));
        }
    }

    let shared_accessor = uses_shared.then(|| {
        let doc = format!(" The breaker that the methods of `{trait_name}` share.");
        quote! {
            #[doc = #doc]
            pub fn breaker(&self) -> &#p::CircuitBreaker {
                &self.#shared_field
            }
        }
    });

    let struct_doc = doc_attrs(&format!(
        "A [`{trait_name}`] whose calls go through a circuit breaker: a call that the breaker rejects returns its error without reaching the inner `{trait_name}`.\n\nGenerated by `#[circuit_breaker]` on the trait."
    ));
    let trait_impl = trait_impl(&p, &item, &wrapper, &methods, Bodies::Guarded);
    let wrapper_name = wrapper.to_string();
    let debug_fields = debug_field_names(&methods, uses_shared)
        .into_iter()
        .map(|name| {
            let ident = Ident::new(&name, Span::call_site());
            quote!(.field(#name, &self.#ident))
        });

    let inner_accessors = inner_accessors();
    quote! {
        #item

        #struct_doc
        #vis struct #wrapper<P> {
            inner: P,
            #(#fields,)*
        }

        impl<P> #wrapper<P> {
            /// Wraps `inner`; its breakers run on the real clock.
            pub fn new(inner: P) -> Self {
                Self::build(inner, #p::CircuitBreaker::new, #p::KeyBreakers::new)
            }

            /// Wraps `inner`; its breakers run on `clock` (a manual clock in tests).
            pub fn with_clock<K: #p::Clock + #p::Clone>(inner: P, clock: K) -> Self {
                Self::build(
                    inner,
                    |name, config| #p::CircuitBreaker::with_clock(name, config, clock.clone()),
                    || #p::KeyBreakers::with_clock(clock.clone()),
                )
            }

            #[allow(unused_mut, unused_variables)]
            fn build(
                inner: P,
                mut make: impl #p::FnMut(&'static str, #p::BreakerConfig) -> #p::CircuitBreaker,
                keys: impl #p::Fn() -> #p::KeyBreakers,
            ) -> Self {
                Self {
                    inner,
                    #(#builds,)*
                }
            }

            #shared_accessor

            #(#key_accessors)*

            /// The breaker that guards `method`, if it is guarded.
            pub fn breaker_of(&self, method: &str) -> #p::Option<&#p::CircuitBreaker> {
                match method {
                    #(#lookups,)*
                    _ => #p::None,
                }
            }

            #inner_accessors
        }

        #[automatically_derived]
        impl<P: #p::fmt::Debug> #p::fmt::Debug for #wrapper<P> {
            fn fmt(&self, f: &mut #p::fmt::Formatter<'_>) -> #p::fmt::Result {
                f.debug_struct(#wrapper_name)
                    .field("inner", &self.inner)
                    #(#debug_fields)*
                    .finish()
            }
        }

        #trait_impl
    }
}

/// The wrapper of a trait whose expansion failed: the same name and inherent API, one
/// breaker with the default settings, `trait_impl` forwarding every method.
fn stub_wrapper(
    p: &TokenStream,
    item: &ItemTrait,
    trait_impl: TokenStream,
    keyed: &[Ident],
) -> TokenStream {
    let wrapper = format_ident!("{}Breaker", item.ident);
    let vis = &item.vis;
    let name = item.ident.to_string();
    let inner_accessors = inner_accessors();
    quote! {
        #item

        #vis struct #wrapper<P> {
            inner: P,
            breaker: #p::CircuitBreaker,
        }

        impl<P> #wrapper<P> {
            pub fn new(inner: P) -> Self {
                Self::with_clock(inner, #p::RealClock)
            }

            pub fn with_clock<K: #p::Clock + #p::Clone>(inner: P, clock: K) -> Self {
                let config = <#p::BreakerConfig as #p::Default>::default();
                Self {
                    inner,
                    breaker: #p::CircuitBreaker::with_clock(#name, config, clock),
                }
            }

            pub fn breaker(&self) -> &#p::CircuitBreaker {
                &self.breaker
            }

            pub fn breaker_of(&self, _method: &str) -> #p::Option<&#p::CircuitBreaker> {
                #p::Some(&self.breaker)
            }

            #(
                pub fn #keyed(&self) -> &#p::KeyBreakers {
                    ::core::unreachable!()
                }
            )*

            #inner_accessors
        }

        #trait_impl
    }
}

/// The wrapper's methods that reach the wrapped value.
fn inner_accessors() -> TokenStream {
    quote! {
        /// The wrapped value.
        pub fn inner(&self) -> &P {
            &self.inner
        }

        /// The wrapped value, mutably.
        pub fn inner_mut(&mut self) -> &mut P {
            &mut self.inner
        }

        /// The wrapped value, giving up the breakers.
        pub fn into_inner(self) -> P {
            self.inner
        }
    }
}

/// The names of the breaker fields, in declaration order.
fn debug_field_names(methods: &[Method], uses_shared: bool) -> Vec<String> {
    let shared = uses_shared.then(|| "breaker".to_string());
    let dedicated = methods.iter().filter_map(|m| {
        m.guard
            .as_ref()
            .filter(|g| g.dedicated)
            .map(|g| g.field.to_string())
    });
    shared.into_iter().chain(dedicated).collect()
}

fn config_key(p: &TokenStream, key: Option<String>) -> TokenStream {
    match key {
        Some(key) => quote!(#p::Some(#key)),
        None => quote!(#p::None),
    }
}
