//! The configuration the arguments describe, as a constant expression of the runtime's
//! `BreakerConfig` ([`BreakerArgs::config_expr`]).

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, LitInt};

use super::{
    BackoffKind, BreakerArgs, DEFAULT_BUCKETS, DEFAULT_FAILURE_RATE, DEFAULT_MAX_COOLDOWN,
};

impl BreakerArgs {
    /// A constant expression of the configuration: the defaults with the settings given.
    pub fn config_expr(&self, private: &TokenStream) -> TokenStream {
        let mut expr = quote!(#private::BreakerConfig::new());
        if let Some(policy) = self.policy_expr(private) {
            expr = quote!(#expr.with_policy(#policy));
        }
        if let Some(threshold) = &self.threshold {
            let value = LitInt::new(&threshold.value.to_string(), threshold.span);
            expr = quote!(#expr.with_threshold(#value));
        }
        if let Some(cooldown) = &self.cooldown {
            let value = duration_expr(private, cooldown.value);
            expr = quote!(#expr.with_cooldown(#value));
        }
        if let Some(max) = &self.half_open_max {
            let value = LitInt::new(&max.value.to_string(), max.span);
            expr = quote!(#expr.with_half_open_max(#value));
        }
        if let Some(timeout) = &self.half_open_timeout {
            let value = duration_expr(private, timeout.value);
            expr = quote!(#expr.with_half_open_timeout(#value));
        }
        if self
            .backoff
            .as_ref()
            .is_some_and(|b| b.value == BackoffKind::Exponential)
        {
            let multiplier = self.backoff_multiplier.as_ref().map_or(2.0, |m| m.value);
            let multiplier = proc_macro2::Literal::f64_unsuffixed(multiplier);
            let max = self
                .max_cooldown
                .as_ref()
                .map_or(DEFAULT_MAX_COOLDOWN, |m| m.value);
            let max = duration_expr(private, max);
            expr = quote! {
                #expr.with_backoff(#private::Backoff::Exponential { multiplier: #multiplier, max: #max })
            };
        }
        if let Some(jitter) = &self.jitter {
            let variant = match jitter.value {
                "full" => quote!(Full),
                "equal" => quote!(Equal),
                _ => quote!(None),
            };
            expr = quote!(#expr.with_jitter(#private::Jitter::#variant));
        }
        if let Some(success) = &self.success_threshold {
            let value = LitInt::new(&success.value.to_string(), success.span);
            expr = quote!(#expr.with_success_threshold(#value));
        }
        if let Some(ignored) = &self.ignored_errors {
            let variant = match ignored.value {
                "success" => quote!(Success),
                _ => quote!(Neither),
            };
            expr = quote!(#expr.with_ignored_errors(#private::IgnoredErrors::#variant));
        }
        expr
    }

    /// The failure-rate policy, when a window is given: `TripPolicy::FailureRate(...)` with
    /// the defaults of a configuration file for what is not.
    fn policy_expr(&self, private: &TokenStream) -> Option<TokenStream> {
        let window = match (&self.window_size, &self.window) {
            (Some(size), _) => {
                let size = LitInt::new(&size.value.to_string(), size.span);
                quote!(#private::Window::Count { size: #size })
            }
            (None, Some(window)) => {
                let length = duration_expr(private, window.value);
                let buckets = match &self.window_buckets {
                    Some(buckets) => LitInt::new(&buckets.value.to_string(), buckets.span),
                    None => LitInt::new(&DEFAULT_BUCKETS.to_string(), Span::call_site()),
                };
                quote!(#private::Window::Time { length: #length, buckets: #buckets })
            }
            (None, None) => return None,
        };
        let rate = match &self.failure_rate {
            Some(rate) => LitInt::new(&rate.value.to_string(), rate.span),
            None => LitInt::new(&DEFAULT_FAILURE_RATE.to_string(), Span::call_site()),
        };
        let mut policy = quote!(#private::FailureRate::new(#window, #rate));
        if let Some(minimum) = &self.minimum_calls {
            let value = LitInt::new(&minimum.value.to_string(), minimum.span);
            policy = quote!(#policy.with_minimum_calls(#value));
        }
        if let Some(slow) = &self.slow_call_duration {
            let duration = duration_expr(private, slow.value);
            let mut slow_calls = quote!(#private::SlowCalls::new(#duration));
            if let Some(rate) = &self.slow_call_rate {
                let value = LitInt::new(&rate.value.to_string(), rate.span);
                slow_calls = quote!(#slow_calls.with_rate(#value));
            }
            policy = quote!(#policy.with_slow_calls(#slow_calls));
        }
        Some(quote!(#private::TripPolicy::FailureRate(#policy)))
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
