//! Turning the errors a macro collected into what the compiler shows.

use proc_macro2::TokenStream;

/// Every error in `errors` as `compile_error!`s, combined with `syn::Error::combine` and
/// without repeats: a setting that several methods or variants inherit is reported once,
/// at the token that wrote it.
pub fn compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    let mut seen = std::collections::HashSet::new();
    errors
        .into_iter()
        .filter(|err| seen.insert((format!("{:?}", err.span()), err.to_string())))
        .reduce(|mut all, err| {
            all.combine(err);
            all
        })
        .map(|all| all.to_compile_error())
        .unwrap_or_default()
}
