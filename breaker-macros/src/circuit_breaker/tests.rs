//! Expansion snapshots of `#[circuit_breaker]`: the code it generates for representative
//! inputs, pretty-printed, so that every change to it shows up in review.

use proc_macro2::TokenStream;
use quote::quote;

fn expand_pretty(attr: TokenStream, item: TokenStream) -> String {
    let out = super::expand(attr, item);
    let file: syn::File = syn::parse2(out).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

#[test]
fn sync_fn() {
    insta::assert_snapshot!(expand_pretty(
        quote!(threshold = 3, cooldown = "10s"),
        quote! {
            /// Asks the model.
            pub fn complete(prompt: &str) -> Result<String, ProviderError> {
                let reply = send(prompt)?;
                if reply.is_empty() {
                    return Err(ProviderError::Empty);
                }
                Ok(reply)
            }
        },
    ));
}

#[test]
fn async_fn_with_failure_if_and_fallback() {
    insta::assert_snapshot!(expand_pretty(
        quote!(
            name = "openai",
            failure_if = ProviderError::is_transient,
            fallback = cached_reply,
            config = "openai"
        ),
        quote! {
            pub async fn complete(client: &Client, prompt: String) -> Result<String, ProviderError> {
                client.send(prompt).await
            }
        },
    ));
}

#[test]
fn async_fn_with_classify() {
    insta::assert_snapshot!(expand_pretty(
        quote!(name = "openai", classify = ApiError::verdict),
        quote! {
            pub async fn complete(client: &Client, prompt: String) -> Result<String, ApiError> {
                client.send(prompt).await
            }
        },
    ));
}

#[test]
fn method() {
    insta::assert_snapshot!(expand_pretty(
        quote!(
            threshold = 2,
            half_open_max = 2,
            half_open_timeout = "1m 30s"
        ),
        quote! {
            pub fn complete(&mut self, prompt: &str) -> Result<String, ProviderError> {
                self.calls += 1;
                self.send(prompt)
            }
        },
    ));
}

#[test]
fn generic_fn() {
    insta::assert_snapshot!(expand_pretty(
        quote!(
            cooldown = "250ms",
            crate = ::my_breaker,
            backoff = "exponential",
            backoff_multiplier = 1.5,
            max_cooldown = "5m",
            jitter = "full"
        ),
        quote! {
            fn fetch<T: DeserializeOwned>(url: impl AsRef<str>) -> io::Result<T> {
                let body = get(url.as_ref())?;
                parse(&body)
            }
        },
    ));
}

#[test]
fn trait_with_native_async_fn() {
    insta::assert_snapshot!(expand_pretty(
        quote!(threshold = 3, cooldown = "10s"),
        quote! {
            /// An LLM provider.
            pub trait Provider: Send + Sync {
                type Model;
                const NAME: &'static str;
                async fn complete(&self, model: &Self::Model, prompt: &str) -> Result<String, ProviderError>;
                #[breaker(threshold = 1, failure_if = is_outage)]
                fn embed(&mut self, text: &str) -> Result<Vec<f32>, ProviderError>;
                #[breaker(skip)]
                fn health(&self) -> Result<(), ProviderError>;
                fn name(&self) -> &str;
            }
        },
    ));
}

#[test]
fn trait_with_async_trait() {
    insta::assert_snapshot!(expand_pretty(
        quote!(per_method, name = "anthropic"),
        quote! {
            #[async_trait::async_trait]
            pub trait Provider {
                async fn complete(&self, prompt: &str) -> Result<String, ProviderError>;
                async fn count_tokens(&self, prompt: &str) -> Result<usize, ProviderError>;
            }
        },
    ));
}

#[test]
fn fn_with_a_failure_rate() {
    insta::assert_snapshot!(expand_pretty(
        quote!(
            window_size = 20,
            minimum_calls = 10,
            failure_rate = 40,
            slow_call_duration = "2s",
            slow_call_rate = 80,
            success_threshold = 3,
            ignored_errors = "success"
        ),
        quote! {
            pub fn complete(prompt: &str) -> Result<String, ProviderError> {
                send(prompt)
            }
        },
    ));
}

#[test]
fn async_fn_keyed_by_an_argument() {
    insta::assert_snapshot!(expand_pretty(
        quote!(key = model, threshold = 2),
        quote! {
            pub async fn complete(model: Model, prompt: &str) -> Result<String, ProviderError> {
                send(model, prompt).await
            }
        },
    ));
}

#[test]
fn trait_method_keyed_by_an_argument() {
    insta::assert_snapshot!(expand_pretty(
        quote!(threshold = 3),
        quote! {
            pub trait Provider {
                #[breaker(key = model)]
                async fn complete(&self, model: &str, prompt: &str) -> Result<String, ProviderError>;
                fn health(&self) -> Result<(), ProviderError>;
            }
        },
    ));
}
