//! The checks of settings that depend on each other ([`BreakerArgs::check_combination`]):
//! the shared rules decide, these messages say it on the argument that introduces the
//! conflict.

use breaker_settings::{Conflict, Rule, conflicts};
use proc_macro2::Span;

use super::BreakerArgs;

impl BreakerArgs {
    /// Checks the settings that depend on each other, for the breaker that these (merged)
    /// arguments configure, by the rules a configuration file follows: the exponential
    /// backoff's settings need `backoff = "exponential"`, and its cap must be at least the
    /// cooldown; a window (`window_size` or `window`, not both) selects the failure-rate
    /// policy, which `threshold` does not apply to and which the other window settings need.
    /// `own` are the arguments written at this place (a method's, a variant's), to point at
    /// the one that introduces a conflict with an inherited setting.
    pub fn check_combination(&self, own: &BreakerArgs, errors: &mut Vec<syn::Error>) {
        for conflict in conflicts(self) {
            errors.push(self.conflict_error(&conflict, own));
        }
    }

    /// `key` as a [`Setting`] for a message, if these arguments have it.
    fn described(&self, key: &'static str, own: &BreakerArgs) -> Option<Setting> {
        let setting = self.setting(key)?;
        Some(Setting {
            key,
            value: setting.value.shown(),
            span: setting.span,
            here: own.setting(key).is_some(),
        })
    }

    fn conflict_error(&self, conflict: &Conflict, own: &BreakerArgs) -> syn::Error {
        let field = self.described(conflict.field, own);
        let with = conflict.with.and_then(|key| self.described(key, own));
        // The field refused is written, unless it is a default another setting conflicts
        // with: then the message goes on that one.
        let span = field
            .as_ref()
            .or(with.as_ref())
            .map_or_else(Span::call_site, |s| s.span);
        let key = conflict.field;
        let between = |reason: &str| match (&field, &with) {
            (Some(field), Some(with)) => pair(field, with, reason),
            _ => syn::Error::new(span, format!("`{key}`: {reason}")),
        };
        match conflict.rule {
            Rule::WindowOnly => syn::Error::new(
                span,
                format!(
                    "`{key}` only applies to a sliding window: add `window_size = 100` (the last 100 calls) or `window = \"60s\"` (the calls of the last minute)"
                ),
            ),
            Rule::BothWindows => {
                between("a window counts calls (`window_size`) or time (`window`), not both")
            }
            Rule::BucketsWithCountWindow => between(
                "buckets cut a time window (`window = \"60s\"`); a window of calls has none",
            ),
            Rule::SlowRateWithoutDuration => syn::Error::new(
                span,
                "`slow_call_rate` only applies with `slow_call_duration`, which says what a slow call is: add `slow_call_duration = \"2s\"`",
            ),
            Rule::ExponentialOnly => syn::Error::new(
                span,
                format!(
                    "`{key}` only applies to an exponential backoff: add `backoff = \"exponential\"`"
                ),
            ),
            Rule::ThresholdWithWindow => between(
                "`threshold` counts consecutive failures, which a sliding window replaces with a failure rate",
            ),
            Rule::MaxBelowCooldown { cooldown } => {
                let cooldown = humantime::format_duration(cooldown);
                let max = conflict.value.duration().map(humantime::format_duration);
                let max = max.map_or_else(String::new, |max| max.to_string());
                match (&field, &with) {
                    (Some(_), Some(with)) if with.here && own.setting(key).is_none() => {
                        syn::Error::new(
                            with.span,
                            format!(
                                "`cooldown = \"{cooldown}\"` is above the `max_cooldown` it inherits ({max}): the cap must be at least the cooldown; give this one its own `max_cooldown`"
                            ),
                        )
                    }
                    (Some(_), _) => syn::Error::new(
                        span,
                        format!(
                            "`max_cooldown = \"{max}\"` is below the cooldown ({cooldown}): it caps how long the circuit stays open, so it must be at least the cooldown"
                        ),
                    ),
                    (None, _) => syn::Error::new(
                        span,
                        format!(
                            "`cooldown = \"{cooldown}\"` is above the default `max_cooldown` of an exponential backoff ({max}): the cap must be at least the cooldown; add a `max_cooldown`"
                        ),
                    ),
                }
            }
            Rule::BucketsTooShort { .. } => match (&field, &with) {
                (Some(field), Some(with)) => pair(
                    field,
                    with,
                    "the buckets would be shorter than a nanosecond",
                ),
                _ => {
                    let window = with.as_ref().map_or_else(String::new, ToString::to_string);
                    let buckets = conflict.value.shown();
                    syn::Error::new(
                        span,
                        format!(
                            "`{window}` is too short for its {buckets} buckets (`window_buckets`): each must last at least a nanosecond"
                        ),
                    )
                }
            },
            Rule::MinimumAboveSize { size } => {
                let minimum = conflict.value.shown();
                let size_here = with.as_ref().is_some_and(|with| with.here);
                match (own.setting(key).is_some(), size_here) {
                    (false, true) => syn::Error::new(
                        with.as_ref().map_or(span, |with| with.span),
                        format!(
                            "`window_size = {size}` is below the `minimum_calls` it inherits ({minimum}): the window would never hold enough calls for its rates to count; give this one its own `minimum_calls`"
                        ),
                    ),
                    (true, false) => syn::Error::new(
                        span,
                        format!(
                            "`minimum_calls = {minimum}` is above the `window_size` it inherits ({size}): the window never holds more calls, so its rates would never count"
                        ),
                    ),
                    _ => syn::Error::new(
                        span,
                        format!(
                            "`minimum_calls = {minimum}` is above `window_size = {size}`: the window never holds more calls, so its rates would never count"
                        ),
                    ),
                }
            }
        }
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

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}", self.key, self.value)
    }
}

/// Two settings that cannot go together, reported at `first`, unless `second` is the one
/// written here and `first` inherited: then at `second`, which introduces the conflict.
fn pair(first: &Setting, second: &Setting, reason: &str) -> syn::Error {
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
