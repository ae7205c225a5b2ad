//! `#[circuit_breaker]` on a trait: the trait as written, and a wrapper that implements it,
//! every method guarded but those marked `#[breaker(skip)]` and those whose return type
//! cannot be a `Result` (`()`, a reference, `bool`, ...), which are forwarded.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{
    FnArg, GenericParam, Ident, ItemTrait, LitStr, Pat, ReturnType, TraitItem, TraitItemFn, Type,
};

use super::guarded_call::{Call, GuardedCall, cannot_be_a_result, contains_impl_trait};
use super::item_fn::check_fallback_arguments;
use crate::args::{BreakerArgs, Place};
use crate::doc::doc_attrs;

/// A method of the trait and what to do with it.
struct Method {
    item: TraitItemFn,
    /// `None`: forwarded as it is.
    guard: Option<Guard>,
}

struct Guard {
    args: BreakerArgs,
    /// The field that holds its breaker.
    field: Ident,
    /// Whether it has a breaker of its own (`per_method`, or settings of its own).
    dedicated: bool,
}

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
        return stub_wrapper(&p, &item, trait_impl);
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
        if let Some(guard) = &method.guard {
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
                Self::build(inner, #p::CircuitBreaker::new)
            }

            /// Wraps `inner`; its breakers run on `clock` (a manual clock in tests).
            pub fn with_clock<K: #p::Clock + #p::Clone>(inner: P, clock: K) -> Self {
                Self::build(inner, |name, config| #p::CircuitBreaker::with_clock(name, config, clock.clone()))
            }

            fn build(inner: P, mut make: impl #p::FnMut(&'static str, #p::BreakerConfig) -> #p::CircuitBreaker) -> Self {
                Self {
                    inner,
                    #(#builds,)*
                }
            }

            #shared_accessor

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
fn stub_wrapper(p: &TokenStream, item: &ItemTrait, trait_impl: TokenStream) -> TokenStream {
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

/// Reads the `#[breaker(...)]` of every method (and takes it off), and decides which
/// methods are guarded and by which breaker.
fn check_methods(
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
        if let Some(skip) = method_args.skip {
            if method_args.has_settings()
                || method_args.failure_if.is_some()
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
        let dedicated = args.per_method.is_some() || method_args.has_settings();
        let field = if dedicated {
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

/// What the methods of the wrapper's impl do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bodies {
    /// Guarded or forwarded to the inner value.
    Guarded,
    /// Never run, in a crate that does not compile (see `stub_wrapper`): diverge, but for
    /// a method returning `impl Trait`, which only a forwarded call can satisfy.
    Stubs,
}

/// `impl<P: Trait> Trait for TraitBreaker<P>`: guarded and forwarded methods (or stubs),
/// and the trait's types and constants taken from `P`.
fn trait_impl(
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
    let body = GuardedCall {
        private: p,
        breaker: quote!(&self.#field),
        sig: &sig,
        call: Call::Inner(quote!(<P as #trait_ref>::#name #turbofish(#(#forwarded),*))),
        failure_if: guard.args.failure_if.as_ref(),
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
