//! The generated code names everything by absolute path: it compiles beside a user's own
//! `Result` alias, modules named `core` and `breaker`, and in a module without the prelude.
#![allow(dead_code)]

mod core {}
mod breaker {}

#[derive(Debug)]
pub struct ProviderError;

impl ::std::convert::From<::breaker::CircuitOpen> for ProviderError {
    fn from(_: ::breaker::CircuitOpen) -> Self {
        ProviderError
    }
}

type Result<T> = ::std::result::Result<T, ProviderError>;

#[::breaker::circuit_breaker(threshold = 2)]
fn complete(prompt: &str) -> Result<usize> {
    Ok(prompt.len())
}

mod bare {
    #![no_implicit_prelude]

    #[::breaker::circuit_breaker(threshold = 2, cooldown = "5s", failure_if = is_failure, fallback = cached)]
    pub fn complete(prompt: &str) -> ::std::result::Result<usize, super::ProviderError> {
        ::std::result::Result::Ok(prompt.len())
    }

    #[::breaker::circuit_breaker(
        window_size = 10,
        minimum_calls = 5,
        failure_rate = 30,
        slow_call_duration = "2s",
        slow_call_rate = 40,
        success_threshold = 2,
        ignored_errors = "success"
    )]
    pub fn rated() -> ::std::result::Result<(), super::ProviderError> {
        ::std::result::Result::Ok(())
    }

    #[::breaker::circuit_breaker(window = "1m", window_buckets = 4)]
    pub fn timed() -> ::std::result::Result<(), super::ProviderError> {
        ::std::result::Result::Ok(())
    }

    fn is_failure(_: &super::ProviderError) -> bool {
        true
    }

    fn cached(_: &str) -> ::std::result::Result<usize, super::ProviderError> {
        ::std::result::Result::Ok(0)
    }

    #[::breaker::circuit_breaker(per_method)]
    pub trait Provider {
        fn complete(&self, prompt: &str) -> ::std::result::Result<usize, super::ProviderError>;
        fn name(&self) -> &str;
    }
}

struct Echo;

impl bare::Provider for Echo {
    fn complete(&self, prompt: &str) -> Result<usize> {
        Ok(prompt.len())
    }
    fn name(&self) -> &str {
        "echo"
    }
}

mod renamed {
    // The facade re-exported under another name: `crate = ...` says where it is.
    use ::breaker as cb;

    #[cb::circuit_breaker(crate = cb, threshold = 1)]
    pub fn complete() -> ::std::result::Result<(), super::ProviderError> {
        Ok(())
    }
}

fn main() {
    renamed::complete().unwrap();
    use bare::Provider;
    assert_eq!(complete("abc").unwrap(), 3);
    assert_eq!(bare::complete("ab").unwrap(), 2);
    bare::rated().unwrap();
    bare::timed().unwrap();
    let provider = bare::ProviderBreaker::new(Echo);
    assert_eq!(provider.complete("a").unwrap(), 1);
    assert_eq!(provider.name(), "echo");
    assert!(complete_breaker().name().as_str().ends_with("::complete"));
}
