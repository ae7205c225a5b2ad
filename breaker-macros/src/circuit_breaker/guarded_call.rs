//! The body of a guarded call, written once for a function and for a method of a trait's
//! wrapper: acquire a permit or return the rejection (or the fallback's answer), run the
//! call through the permit, record its result.
//!
//! Whether the return type is a `Result` is left to the compiler where the syntax cannot
//! tell (an alias has any name): every use of the result goes through the runtime's
//! `GuardedResult`, spanned on the return type, so that a type that is not a `Result` gets
//! one error there.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Path, ReturnType, Signature, Type};

/// One guarded call.
pub struct GuardedCall<'a> {
    /// The facade's `__private` module.
    pub private: &'a TokenStream,
    /// An expression of type `&CircuitBreaker`: the breaker that guards the call; or, with
    /// `by_key`, of a type that derefs to one (a keyed registry's `BreakerRef`).
    pub breaker: TokenStream,
    /// Whether `breaker` is chosen by an argument (`key = ...`), and held in a binding.
    pub by_key: bool,
    /// The signature of the guarded function or method.
    pub sig: &'a Signature,
    /// What runs under the permit.
    pub call: Call<'a>,
    /// Which errors count as failures (`failure_if = path`).
    pub failure_if: Option<&'a Path>,
    /// The verdict on each error (`classify = path`); not given with `failure_if`.
    pub classify: Option<&'a Path>,
    /// What answers a rejected call (`fallback = path`), with the arguments passed to it.
    pub fallback: Option<(&'a Path, Vec<TokenStream>)>,
}

/// What a guarded call runs.
pub enum Call<'a> {
    /// A function's own body.
    Body(&'a Block),
    /// An expression that calls the wrapped value (without its `.await`).
    Inner(TokenStream),
}

impl GuardedCall<'_> {
    /// The statements of the guarded function's body.
    pub fn expand(&self) -> TokenStream {
        let p = self.private;
        let sig = self.sig;
        let breaker = hidden("breaker");
        let permit = hidden("permit");
        let open = hidden("open");
        let result = hidden("result");
        let await_ = sig.asyncness.map(|_| quote!(.await));
        let annotated = match &sig.output {
            ReturnType::Type(arrow, ty) if !contains_impl_trait(ty) => Some((arrow, ty)),
            _ => None,
        };

        let (open_binding, rejected) = match &self.fallback {
            Some((fallback, args)) => (
                quote!(_),
                quote_spanned!(fallback.span()=> #fallback(#(#args),*) #await_),
            ),
            None => {
                // A missing `From<CircuitOpen>` is reported on the error type.
                let span = error_type(&sig.output).map_or_else(Span::call_site, Spanned::span);
                let reject = respan(quote!(#p::reject), span);
                (quote!(#open), quote_spanned!(span=> #reject(#open)))
            }
        };

        // The call runs through the permit, so that its own panic is a failure.
        let run = match (&self.call, sig.asyncness.is_some()) {
            (Call::Body(block), true) => quote!(#permit.run_future(async move #block).await),
            (Call::Body(block), false) => {
                let output = annotated.map(|(arrow, ty)| quote!(#arrow #ty));
                quote!(#permit.run(move || #output #block))
            }
            (Call::Inner(inner), true) => quote!(#permit.run_future(#inner).await),
            (Call::Inner(inner), false) => quote!(#permit.run(|| #inner)),
        };
        let let_type = annotated.map(|(_, ty)| quote!(: #ty));

        // A return type that is not a `Result` fails `GuardedResult` here and in `reject`:
        // both are placed on the return type, so that the compiler reports it once, there.
        // `::<_>` written out, because an inferred parameter's unmet bound is reported on
        // the argument (`&result`, which has the macro's place), a written one on itself.
        let output_span = match &sig.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => Span::call_site(),
        };
        let as_result = respan(quote!(#p::as_result::<_>), output_span);
        let recorded = quote_spanned!(output_span=> #as_result(&#result));
        let finish = match (self.classify, self.failure_if) {
            (Some(classify), _) => {
                quote_spanned!(classify.span()=> #permit.record_verdict(#recorded, #classify))
            }
            (None, Some(failure_if)) => {
                quote_spanned!(failure_if.span()=> #permit.record_with(#recorded, #failure_if))
            }
            (None, None) => quote!(#permit.record(#recorded)),
        };

        let breaker_expr = &self.breaker;
        let bind_breaker = if self.by_key {
            let chosen = hidden("chosen");
            quote! {
                let #chosen = #breaker_expr;
                let #breaker: &#p::CircuitBreaker = &#chosen;
            }
        } else {
            quote!(let #breaker: &#p::CircuitBreaker = #breaker_expr;)
        };
        quote! {
            #bind_breaker
            let mut #permit = match #breaker.acquire() {
                #p::Ok(#permit) => #permit,
                #p::Err(#open_binding) => return #rejected,
            };
            let #result #let_type = #run;
            #finish;
            #result
        }
    }
}

/// A name that the generated code binds, out of reach of the user's code.
fn hidden(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

/// `tokens` with every token at `span`, so that an error about them points there.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
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

/// Where to report a missing `From<CircuitOpen>`: the `E` of a return type written
/// `Result<T, E>`, or else the whole type.
fn error_type(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    if let Type::Path(path) = &**ty {
        if let Some(segment) = path.path.segments.last() {
            if let syn::PathArguments::AngleBracketed(args) = &segment.arguments {
                if let Some(syn::GenericArgument::Type(error)) = args.args.iter().nth(1) {
                    if segment.ident == "Result" {
                        return Some(error);
                    }
                }
            }
        }
    }
    Some(ty)
}

/// What `ty` is, if its syntax says it cannot be a `Result`. Any other type may be one (an
/// alias can have any name): the compiler decides, through `GuardedResult`.
pub fn cannot_be_a_result(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) if path.qself.is_none() && path.path.leading_colon.is_none() => {
            let [segment] = path.path.segments.iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            const PRIMITIVES: [&str; 17] = [
                "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
                "i32", "i64", "i128", "isize", "f32", "f64",
            ];
            let name = segment.ident.to_string();
            (segment.arguments.is_none() && PRIMITIVES.contains(&name.as_str()))
                .then(|| format!("`{name}`"))
        }
        Type::Paren(inner) => cannot_be_a_result(&inner.elem),
        Type::Group(inner) => cannot_be_a_result(&inner.elem),
        Type::Tuple(t) if t.elems.is_empty() => Some("`()`".into()),
        Type::Tuple(_) => Some("a tuple".into()),
        Type::Reference(_) => Some("a reference".into()),
        Type::Array(_) => Some("an array".into()),
        Type::Slice(_) => Some("a slice".into()),
        Type::Ptr(_) => Some("a pointer".into()),
        Type::ImplTrait(_) => Some("an `impl Trait`".into()),
        Type::TraitObject(_) => Some("a trait object".into()),
        Type::Never(_) => Some("`!`".into()),
        Type::BareFn(_) => Some("a function pointer".into()),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::cannot_be_a_result;

    fn verdict(ty: &str) -> Option<String> {
        cannot_be_a_result(&syn::parse_str(ty).expect("a type"))
    }

    #[test]
    fn only_what_the_syntax_rules_out_is_not_a_result() {
        for ty in [
            "()",
            "&str",
            "&'a mut Vec<u8>",
            "bool",
            "u32",
            "str",
            "f64",
            "(u8, u8)",
            "[u8; 4]",
            "[u8]",
            "*const u8",
            "impl Iterator<Item = u8>",
            "dyn Fn()",
            "!",
            "fn() -> u8",
            "(bool)",
        ] {
            assert!(verdict(ty).is_some(), "`{ty}` cannot be a `Result`");
        }
        // Any of these may be an alias of `Result`, or a `Result` itself: the compiler says.
        for ty in [
            "Result<String, ApiError>",
            "io::Result<u8>",
            "Reply",
            "String",
            "Option<u32>",
            "Self",
            "Self::Output",
            "<P as Provider>::Reply",
            "T",
            "std::primitive::u32",
            "u32<T>",
        ] {
            assert_eq!(verdict(ty), None, "`{ty}` may be a `Result`");
        }
    }

    #[test]
    fn a_refusal_names_what_the_type_is() {
        assert_eq!(verdict("u32").as_deref(), Some("`u32`"));
        assert_eq!(verdict("&str").as_deref(), Some("a reference"));
        assert_eq!(verdict("[u8]").as_deref(), Some("a slice"));
    }
}
