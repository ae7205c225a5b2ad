//! The configuration the arguments describe, as a constant expression of the runtime's
//! `BreakerConfig` ([`BreakerArgs::config_expr`]).

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, LitInt};

use breaker_settings::{
    DEFAULT_BACKOFF_MULTIPLIER, DEFAULT_FAILURE_RATE, DEFAULT_MAX_COOLDOWN, DEFAULT_WINDOW_BUCKETS,
};

use super::BreakerArgs;

impl BreakerArgs {
    /// A constant expression of the configuration: the defaults with the settings given.
    pub fn config_expr(&self, private: &TokenStream) -> TokenStream {
        let mut expr = quote!(#private::BreakerConfig::new());
        if let Some(policy) = self.policy_expr(private) {
            expr = quote!(#expr.with_policy(#policy));
        }
        if let Some(threshold) = self.whole("threshold") {
            expr = quote!(#expr.with_threshold(#threshold));
        }
        if let Some(cooldown) = self.duration("cooldown") {
            let value = duration_expr(private, cooldown);
            expr = quote!(#expr.with_cooldown(#value));
        }
        if let Some(max) = self.whole("half_open_max") {
            expr = quote!(#expr.with_half_open_max(#max));
        }
        if let Some(timeout) = self.duration("half_open_timeout") {
            let value = duration_expr(private, timeout);
            expr = quote!(#expr.with_half_open_timeout(#value));
        }
        if self.choice("backoff") == Some("exponential") {
            let multiplier = self
                .setting("backoff_multiplier")
                .and_then(|m| m.value.number())
                .unwrap_or(DEFAULT_BACKOFF_MULTIPLIER);
            let multiplier = proc_macro2::Literal::f64_unsuffixed(multiplier);
            let max = self
                .duration("max_cooldown")
                .unwrap_or(DEFAULT_MAX_COOLDOWN);
            let max = duration_expr(private, max);
            expr = quote! {
                #expr.with_backoff(#private::Backoff::Exponential { multiplier: #multiplier, max: #max })
            };
        }
        if let Some(jitter) = self.choice("jitter") {
            let variant = match jitter {
                "full" => quote!(Full),
                "equal" => quote!(Equal),
                _ => quote!(None),
            };
            expr = quote!(#expr.with_jitter(#private::Jitter::#variant));
        }
        if let Some(success) = self.whole("success_threshold") {
            expr = quote!(#expr.with_success_threshold(#success));
        }
        if let Some(ignored) = self.choice("ignored_errors") {
            let variant = match ignored {
                "success" => quote!(Success),
                _ => quote!(Neither),
            };
            expr = quote!(#expr.with_ignored_errors(#private::IgnoredErrors::#variant));
        }
        if let Some(delay) = self.duration("rate_limit_delay") {
            let value = duration_expr(private, delay);
            expr = quote!(#expr.with_rate_limit_delay(#value));
        }
        if let Some(max) = self.duration("max_retry_after") {
            let value = duration_expr(private, max);
            expr = quote!(#expr.with_max_retry_after(#value));
        }
        if let Some(credentials) = self.choice("credential_errors") {
            let variant = match credentials {
                "force_open" => quote!(ForceOpen),
                _ => quote!(Failure),
            };
            expr = quote!(#expr.with_credential_errors(#private::CredentialErrors::#variant));
        }
        expr
    }

    /// The failure-rate policy, when a window is given: `TripPolicy::FailureRate(...)` with
    /// the defaults of a configuration file for what is not.
    fn policy_expr(&self, private: &TokenStream) -> Option<TokenStream> {
        let window = match (self.whole("window_size"), self.duration("window")) {
            (Some(size), _) => quote!(#private::Window::Count { size: #size }),
            (None, Some(window)) => {
                let length = duration_expr(private, window);
                let buckets = self.whole("window_buckets").unwrap_or_else(|| {
                    LitInt::new(&DEFAULT_WINDOW_BUCKETS.to_string(), Span::call_site())
                });
                quote!(#private::Window::Time { length: #length, buckets: #buckets })
            }
            (None, None) => return None,
        };
        let rate = self
            .whole("failure_rate")
            .unwrap_or_else(|| LitInt::new(&DEFAULT_FAILURE_RATE.to_string(), Span::call_site()));
        let mut policy = quote!(#private::FailureRate::new(#window, #rate));
        if let Some(minimum) = self.whole("minimum_calls") {
            policy = quote!(#policy.with_minimum_calls(#minimum));
        }
        if let Some(slow) = self.duration("slow_call_duration") {
            let duration = duration_expr(private, slow);
            let mut slow_calls = quote!(#private::SlowCalls::new(#duration));
            if let Some(rate) = self.whole("slow_call_rate") {
                slow_calls = quote!(#slow_calls.with_rate(#rate));
            }
            policy = quote!(#policy.with_slow_calls(#slow_calls));
        }
        Some(quote!(#private::TripPolicy::FailureRate(#policy)))
    }

    /// The whole number `key` was given, as a literal spanned where it was written.
    fn whole(&self, key: &str) -> Option<LitInt> {
        let setting = self.setting(key)?;
        Some(LitInt::new(
            &setting.value.whole()?.to_string(),
            setting.span,
        ))
    }

    fn duration(&self, key: &str) -> Option<Duration> {
        self.setting(key)?.value.duration()
    }

    fn choice(&self, key: &str) -> Option<&'static str> {
        self.setting(key)?.value.choice()
    }
}

/// `Duration::from_secs(30)`, in the coarsest unit that is exact.
fn duration_expr(private: &TokenStream, duration: Duration) -> TokenStream {
    let nanos = duration.as_nanos();
    let (constructor, value) = if nanos % 1_000_000_000 == 0 {
        ("from_secs", nanos / 1_000_000_000)
    } else if nanos % 1_000_000 == 0 {
        ("from_millis", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        ("from_micros", nanos / 1_000)
    } else {
        ("from_nanos", nanos)
    };
    let constructor = Ident::new(constructor, Span::call_site());
    let value = LitInt::new(&format!("{value}"), Span::call_site());
    quote!(#private::Duration::#constructor(#value))
}
