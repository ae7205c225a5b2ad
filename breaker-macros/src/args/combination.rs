//! The checks of settings that depend on each other ([`BreakerArgs::check_combination`]),
//! with the rules of a configuration file, and the runtime's defaults and limits they
//! compare with.

use std::time::Duration;

use proc_macro2::Span;

use super::{BackoffKind, BreakerArgs, DEFAULT_BUCKETS, DEFAULT_COOLDOWN, Spanned};

impl BreakerArgs {
    /// Checks the settings that depend on each other, for the breaker that these (merged)
    /// arguments configure, with the rules of a configuration file: the exponential
    /// backoff's settings need `backoff = "exponential"`, and its cap must be at least the
    /// cooldown; a window (`window_size` or `window`, not both) selects the failure-rate
    /// policy, which `threshold` does not apply to and which the other window settings need.
    /// `own` are the arguments written at this place (a method's, a variant's), to point at
    /// the one that introduces a conflict with an inherited setting.
    pub fn check_combination(&self, own: &BreakerArgs, errors: &mut Vec<syn::Error>) {
        self.check_backoff(own, errors);
        self.check_policy(own, errors);
    }

    fn check_backoff(&self, own: &BreakerArgs, errors: &mut Vec<syn::Error>) {
        let exponential = self
            .backoff
            .as_ref()
            .is_some_and(|b| b.value == BackoffKind::Exponential);
        if !exponential {
            if self.written("backoff", false) {
                // A misspelt `backoff`: its settings may well be for an exponential one.
                return;
            }
            if let Some(multiplier) = &self.backoff_multiplier {
                errors.push(exponential_only("backoff_multiplier", multiplier.span));
            }
            if let Some(max) = &self.max_cooldown {
                errors.push(exponential_only("max_cooldown", max.span));
            }
            return;
        }
        let cooldown = self.cooldown.as_ref().map_or(DEFAULT_COOLDOWN, |c| c.value);
        let Some(max) = self
            .max_cooldown
            .as_ref()
            .filter(|max| max.value < cooldown)
        else {
            return;
        };
        let (max_text, cooldown_text) = (
            humantime::format_duration(max.value),
            humantime::format_duration(cooldown),
        );
        errors.push(match (&own.cooldown, &own.max_cooldown) {
            (Some(own_cooldown), None) => syn::Error::new(
                own_cooldown.span,
                format!(
                    "`cooldown = \"{cooldown_text}\"` is above the `max_cooldown` it inherits ({max_text}): the cap must be at least the cooldown; give this one its own `max_cooldown`"
                ),
            ),
            _ => syn::Error::new(
                max.span,
                format!(
                    "`max_cooldown = \"{max_text}\"` is below the cooldown ({cooldown_text}): it caps how long the circuit stays open, so it must be at least the cooldown"
                ),
            ),
        });
    }

    fn check_policy(&self, own: &BreakerArgs, errors: &mut Vec<syn::Error>) {
        let size = Setting::of(
            "window_size",
            &self.window_size,
            &own.window_size,
            u32::to_string,
        );
        let window = Setting::of("window", &self.window, &own.window, quoted);
        let buckets = Setting::of(
            "window_buckets",
            &self.window_buckets,
            &own.window_buckets,
            u32::to_string,
        );
        let has_window =
            self.written("window_size", size.is_some()) || self.written("window", window.is_some());
        if !has_window {
            let stray = [
                (
                    "window_buckets",
                    self.window_buckets.as_ref().map(|s| s.span),
                ),
                ("failure_rate", self.failure_rate.as_ref().map(|s| s.span)),
                ("minimum_calls", self.minimum_calls.as_ref().map(|s| s.span)),
                (
                    "slow_call_duration",
                    self.slow_call_duration.as_ref().map(|s| s.span),
                ),
                (
                    "slow_call_rate",
                    self.slow_call_rate.as_ref().map(|s| s.span),
                ),
            ];
            for (key, span) in stray {
                if let Some(span) = span {
                    errors.push(syn::Error::new(
                        span,
                        format!("`{key}` only applies to a sliding window: add `window_size = 100` (the last 100 calls) or `window = \"60s\"` (the calls of the last minute)"),
                    ));
                }
            }
            return;
        }
        if let Some(threshold) =
            Setting::of("threshold", &self.threshold, &own.threshold, u32::to_string)
        {
            if let Some(window) = size.as_ref().or(window.as_ref()) {
                errors.push(conflict(
                    &threshold,
                    window,
                    "`threshold` counts consecutive failures, which a sliding window replaces with a failure rate",
                ));
            }
        }
        // With a wrong `window` or `window_size` beside the other, which kind is meant is
        // unclear: the settings of one kind are not checked.
        let unclear =
            self.unreadable.contains(&"window_size") || self.unreadable.contains(&"window");
        match (&size, &window) {
            _ if unclear => {}
            (Some(size), Some(window)) => errors.push(conflict(
                window,
                size,
                "a window counts calls (`window_size`) or time (`window`), not both",
            )),
            (Some(size), None) => {
                if let Some(buckets) = &buckets {
                    errors.push(conflict(
                        buckets,
                        size,
                        "buckets cut a time window (`window = \"60s\"`); a window of calls has none",
                    ));
                }
                self.check_minimum_calls(own, size, errors);
            }
            (None, Some(window)) => {
                let count = self
                    .window_buckets
                    .as_ref()
                    .map_or(DEFAULT_BUCKETS, |b| b.value);
                if self
                    .window
                    .as_ref()
                    .is_some_and(|w| w.value.as_nanos() < u128::from(count))
                {
                    errors.push(match &buckets {
                        Some(buckets) => conflict(
                            buckets,
                            window,
                            "the buckets would be shorter than a nanosecond",
                        ),
                        None => syn::Error::new(
                            window.span,
                            format!("`{window}` is too short for its {DEFAULT_BUCKETS} buckets: each must last at least a nanosecond"),
                        ),
                    });
                }
            }
            (None, None) => {}
        }
        if let Some(rate) = &self.slow_call_rate {
            if !self.written("slow_call_duration", self.slow_call_duration.is_some()) {
                errors.push(syn::Error::new(
                    rate.span,
                    "`slow_call_rate` only applies with `slow_call_duration`, which says what a slow call is: add `slow_call_duration = \"2s\"`",
                ));
            }
        }
    }

    /// `minimum_calls` against the size of a window of calls, which it cannot exceed.
    fn check_minimum_calls(&self, own: &BreakerArgs, size: &Setting, errors: &mut Vec<syn::Error>) {
        let Some(minimum) = &self.minimum_calls else {
            return;
        };
        let Some(window_size) = &self.window_size else {
            return;
        };
        if minimum.value <= window_size.value {
            return;
        }
        let (minimum_value, size_value) = (minimum.value, window_size.value);
        errors.push(match (own.minimum_calls.is_some(), size.here) {
            (false, true) => syn::Error::new(
                size.span,
                format!(
                    "`window_size = {size_value}` is below the `minimum_calls` it inherits ({minimum_value}): the window would never hold enough calls for its rates to count; give this one its own `minimum_calls`"
                ),
            ),
            (true, false) => syn::Error::new(
                minimum.span,
                format!(
                    "`minimum_calls = {minimum_value}` is above the `window_size` it inherits ({size_value}): the window never holds more calls, so its rates would never count"
                ),
            ),
            _ => syn::Error::new(
                minimum.span,
                format!(
                    "`minimum_calls = {minimum_value}` is above `window_size = {size_value}`: the window never holds more calls, so its rates would never count"
                ),
            ),
        });
    }
}

/// A setting of the merged arguments, for a message about a conflict with another.
struct Setting {
    key: &'static str,
    /// The value as written: `20`, `"1m"`.
    value: String,
    span: Span,
    /// Written at this place, not inherited.
    here: bool,
}

impl Setting {
    fn of<T>(
        key: &'static str,
        merged: &Option<Spanned<T>>,
        own: &Option<Spanned<T>>,
        show: impl Fn(&T) -> String,
    ) -> Option<Setting> {
        merged.as_ref().map(|setting| Setting {
            key,
            value: show(&setting.value),
            span: setting.span,
            here: own.is_some(),
        })
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}", self.key, self.value)
    }
}

/// Two settings that cannot go together, reported at `first`, unless `second` is the one
/// written here and `first` inherited: then at `second`, which introduces the conflict.
fn conflict(first: &Setting, second: &Setting, reason: &str) -> syn::Error {
    match (first.here, second.here) {
        (false, true) => syn::Error::new(
            second.span,
            format!("`{second}` conflicts with the `{first}` it inherits: {reason}"),
        ),
        (true, false) => syn::Error::new(
            first.span,
            format!("`{first}` conflicts with the `{second}` it inherits: {reason}"),
        ),
        _ => syn::Error::new(
            first.span,
            format!("`{first}` conflicts with `{second}`: {reason}"),
        ),
    }
}

/// A duration as an argument writes it: `"1m 30s"`.
fn quoted(duration: &Duration) -> String {
    format!("\"{}\"", humantime::format_duration(*duration))
}

fn exponential_only(key: &str, span: Span) -> syn::Error {
    syn::Error::new(
        span,
        format!("`{key}` only applies to an exponential backoff: add `backoff = \"exponential\"`"),
    )
}
