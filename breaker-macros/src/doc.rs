//! Doc comments for generated items.

use proc_macro2::TokenStream;
use quote::quote;

/// `#[doc]` attributes for `text`, one a line, each with the space that `///` leaves.
pub fn doc_attrs(text: &str) -> TokenStream {
    text.lines()
        .chain(text.is_empty().then_some(""))
        .map(|line| {
            let line = if line.is_empty() {
                String::new()
            } else {
                format!(" {line}")
            };
            quote!(#[doc = #line])
        })
        .collect()
}
