//! `#[circuit_breaker]` on a function: check the signature, then wrap the body.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Signature, Type};

use crate::args::BreakerArgs;

/// The function, guarded; with errors, the function as written.
pub fn expand(args: &BreakerArgs, function: ItemFn, errors: &mut Vec<syn::Error>) -> TokenStream {
    check_signature(&function.sig, errors);
    args.check_combination(args, errors);
    if args.fallback.is_some() {
        check_fallback_arguments(&function.sig, errors);
    }
    if !errors.is_empty() {
        // The function as written still compiles, so its callers show no follow-on errors.
        return quote!(#function);
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

    let fallback_args = args
        .fallback
        .as_ref()
        .map(|_| forwarded_arguments(&function.sig));
    let sig = &function.sig;
    let breaker = Ident::new("breaker", Span::mixed_site());
    let permit = Ident::new("permit", Span::mixed_site());
    let open = Ident::new("open", Span::mixed_site());
    let result = Ident::new("result", Span::mixed_site());

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

    let await_ = sig.asyncness.map(|_| quote!(.await));
    let rejected = match (&args.fallback, &fallback_args) {
        (Some(fallback), Some(call_args)) => {
            quote_spanned!(fallback.span()=> #fallback(#(#call_args),*) #await_)
        }
        _ => {
            // A missing `From<CircuitOpen>` is reported on the error type.
            let span = error_type(&sig.output).map_or_else(Span::call_site, Spanned::span);
            let reject = respan(quote!(#p::reject), span);
            quote_spanned!(span=> #reject(#open))
        }
    };
    let open_binding = if args.fallback.is_some() {
        quote!(_)
    } else {
        quote!(#open)
    };

    let output = match &sig.output {
        ReturnType::Type(_, ty) if !contains_impl_trait(ty) => quote!(: #ty),
        _ => quote!(),
    };
    let block = &function.block;
    // The body runs through the permit, so that its own panic is a failure.
    let run = if sig.asyncness.is_some() {
        quote!(#permit.run_future(async move #block).await)
    } else {
        let closure_output = match &sig.output {
            ReturnType::Type(arrow, ty) if !contains_impl_trait(ty) => quote!(#arrow #ty),
            _ => quote!(),
        };
        quote!(#permit.run(move || #closure_output #block))
    };
    let finish = match &args.failure_if {
        Some(failure_if) => {
            quote_spanned!(failure_if.span()=> #permit.record_with(&#result, #failure_if))
        }
        None => quote!(#permit.record(&#result)),
    };

    let attrs = &function.attrs;
    let vis = &function.vis;
    quote! {
        #(#attrs)*
        #vis #sig {
            let #breaker: &#p::CircuitBreaker = #lookup;
            let mut #permit = match #breaker.acquire() {
                #p::Ok(#permit) => #permit,
                #p::Err(#open_binding) => return #rejected,
            };
            let #result #output = #run;
            #finish;
            #result
        }

        #accessor
    }
}

/// `tokens` with every token at `span`, so that an error about them points there.
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// The `E` of a return type written `Result<T, E>` (or `io::Result<T>`'s whole type).
pub fn error_type(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    if let Type::Path(path) = &**ty {
        if let Some(syn::PathArguments::AngleBracketed(args)) =
            path.path.segments.last().map(|s| &s.arguments)
        {
            if let Some(syn::GenericArgument::Type(error)) = args.args.iter().nth(1) {
                return Some(error);
            }
        }
    }
    Some(ty)
}

/// A guarded function must return a `Result` and run at run time.
pub fn check_signature(sig: &Signature, errors: &mut Vec<syn::Error>) {
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
            if let Some(what) = not_a_result(ty) {
                errors.push(syn::Error::new_spanned(
                    ty,
                    format!("a guarded function returns `Result<T, E>`, not {what}"),
                ));
            }
        }
    }
}

/// What `ty` is, if it is certainly not a `Result` (an alias named otherwise is let through;
/// the compiler checks it).
pub fn not_a_result(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?.ident.to_string();
            const NOT_RESULTS: [&str; 22] = [
                "bool", "char", "str", "String", "u8", "u16", "u32", "u64", "u128", "usize", "i8",
                "i16", "i32", "i64", "i128", "isize", "f32", "f64", "Option", "Vec", "Box", "Self",
            ];
            NOT_RESULTS
                .contains(&last.as_str())
                .then(|| format!("`{last}`"))
        }
        Type::Paren(inner) => not_a_result(&inner.elem),
        Type::Group(inner) => not_a_result(&inner.elem),
        Type::Tuple(t) if t.elems.is_empty() => Some("`()`".into()),
        Type::Tuple(_) => Some("a tuple".into()),
        Type::Reference(_) => Some("a reference".into()),
        Type::Array(_) | Type::Slice(_) => Some("an array".into()),
        Type::Ptr(_) => Some("a pointer".into()),
        Type::ImplTrait(_) => Some("an `impl Trait`".into()),
        Type::TraitObject(_) => Some("a trait object".into()),
        Type::Never(_) => Some("`!`".into()),
        Type::BareFn(_) => Some("a function pointer".into()),
        _ => None,
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

/// Whether `ty` mentions `impl Trait`, which a closure or a `let` cannot be annotated with.
pub fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}
