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

#[test]
fn enum_with_failure_rates() {
    let out = super::derive(quote! {
        #[derive(CircuitBreakers)]
        #[breaker(window = "1m", slow_call_duration = "500ms")]
        pub enum Region {
            EuWest,
            #[breaker(window_buckets = 6, failure_rate = 25, minimum_calls = 20)]
            UsEast,
        }
    });
    let file: syn::File = syn::parse2(out).expect("the expansion is valid Rust");
    insta::assert_snapshot!(prettyplease::unparse(&file));
}
