//! Expansion snapshot of `#[derive(CircuitBreakers)]`.

use quote::quote;

#[test]
fn enum_of_models() {
    let out = super::derive(quote! {
        #[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
        #[breaker(threshold = 5, cooldown = "30s", rename_all = "kebab-case")]
        pub enum Model {
            #[breaker(threshold = 2, name = "gpt-4o")]
            Gpt4o,
            #[breaker(cooldown = "10s")]
            ClaudeSonnet,
            Llama,
        }
    });
    let file: syn::File = syn::parse2(out).expect("the expansion is valid Rust");
    insta::assert_snapshot!(prettyplease::unparse(&file));
}
