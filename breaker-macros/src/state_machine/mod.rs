//! `state_machine!`: parse (ast.rs), check (check.rs), expand (expand.rs, diagram.rs).

mod ast;
mod check;
mod context;
mod data;
mod diagram;
mod expand;
mod fire;
#[cfg(test)]
mod tests;
mod typed;

pub use check::snake_case;

use proc_macro2::TokenStream;

/// Expands a `state_machine!` invocation: the generated items, and every error found as
/// `compile_error!`s beside them.
pub fn expand(tokens: TokenStream) -> TokenStream {
    let input = match syn::parse2::<ast::Input>(tokens) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    let (table, errors) = check::check(input);
    let mut out = table.as_ref().map(expand::expand).unwrap_or_default();
    out.extend(crate::diagnostics::compile_errors(errors));
    out
}
