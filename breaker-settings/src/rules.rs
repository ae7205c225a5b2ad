//! The rules between settings: which go together, and the limits one sets on another.

use std::fmt;
use std::time::Duration;

use crate::{Default, Value, setting};

/// The settings of one breaker as a side has them, for the rules between them.
pub trait Given {
    /// The value of `key`, if it was written and read (not its default).
    fn value(&self, key: &str) -> Option<Value>;

    /// Whether `key` was written, even with a value that could not be read: the rules that
    /// depend on such a setting are skipped, as its error is already reported.
    fn written(&self, key: &str) -> bool {
        self.value(key).is_some()
    }
}

/// Which rule a [`Conflict`] breaks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// `window_size` and `window` both written.
    BothWindows,
    /// `window_buckets` with a window of calls.
    BucketsWithCountWindow,
    /// A window's setting without a window.
    WindowOnly,
    /// `slow_call_rate` without `slow_call_duration`.
    SlowRateWithoutDuration,
    /// An exponential backoff's setting without `backoff = "exponential"`.
    ExponentialOnly,
    /// `threshold` with a window, which replaces it.
    ThresholdWithWindow,
    /// `max_cooldown` below the cooldown it caps.
    MaxBelowCooldown {
        /// The cooldown, written or default.
        cooldown: Duration,
    },
    /// A time window cut in buckets shorter than a nanosecond.
    BucketsTooShort {
        /// The window's length.
        length: Duration,
    },
    /// `minimum_calls` above the window's size.
    MinimumAboveSize {
        /// The window's size.
        size: u64,
    },
}

impl Rule {
    /// Whether the rule is about which settings are written together (a configuration
    /// built in code has every field, and cannot break it), rather than about values.
    pub fn is_layout(self) -> bool {
        !matches!(
            self,
            Rule::MaxBelowCooldown { .. }
                | Rule::BucketsTooShort { .. }
                | Rule::MinimumAboveSize { .. }
        )
    }
}

/// Settings that do not go together: the one refused, its value (written or default), the
/// rule, and the setting it conflicts with. Displays as a configuration file's message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conflict {
    /// The key of the setting refused.
    pub field: &'static str,
    /// Its value, written or default.
    pub value: Value,
    /// The rule it breaks.
    pub rule: Rule,
    /// The setting it conflicts with, if one.
    pub with: Option<&'static str>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |d: Duration| Value::Duration(d).shown();
        match self.rule {
            Rule::BothWindows => f.write_str(
                "a window counts calls (`window_size`) or time (`window`), not both",
            ),
            Rule::BucketsWithCountWindow => f.write_str(
                "only applies to a time window (`window = \"60s\"`), not to `window_size`",
            ),
            Rule::WindowOnly => f.write_str(
                "only applies to a sliding window: set `window_size` (calls) or `window` (time)",
            ),
            Rule::SlowRateWithoutDuration => f.write_str(
                "only applies with `slow_call_duration`, which says what a slow call is",
            ),
            Rule::ExponentialOnly => f.write_str(
                "only applies to `backoff = \"exponential\"`: set it, or remove this field",
            ),
            Rule::ThresholdWithWindow => f.write_str(
                "counts consecutive failures, which a sliding window replaces: remove it, or remove `window_size` / `window`",
            ),
            Rule::MaxBelowCooldown { cooldown } => write!(
                f,
                "must be at least the cooldown ({}): it caps how long the circuit stays open",
                quoted(cooldown)
            ),
            Rule::BucketsTooShort { length } => write!(
                f,
                "cuts the window ({}) in buckets shorter than a nanosecond",
                quoted(length)
            ),
            Rule::MinimumAboveSize { size } => write!(
                f,
                "must be at most the window size ({size}): the window never holds more"
            ),
        }
    }
}

/// The settings a window needs, in the order a file's errors name them.
const WINDOW_ONLY: [&str; 5] = [
    "window_buckets",
    "failure_rate",
    "minimum_calls",
    "slow_call_duration",
    "slow_call_rate",
];

/// `key`'s value: written, else its default, if it has one.
fn or_default(given: &impl Given, key: &str) -> Option<Value> {
    given.value(key).or(match setting(key)?.default {
        Default::Is(value) => Some(value),
        Default::Absent | Default::Derived(_) => None,
    })
}

/// Every rule `given` breaks, in the order a configuration file reports them (it reports
/// the first; the macros all).
pub fn conflicts(given: &impl Given) -> Vec<Conflict> {
    let mut found = Vec::new();
    let mut refuse = |field: &'static str, value: Value, rule: Rule, with: Option<&'static str>| {
        found.push(Conflict {
            field,
            value,
            rule,
            with,
        })
    };
    let size = given.value("window_size");
    let window = given.value("window");
    let has_window = given.written("window_size") || given.written("window");
    // A window written with a wrong value: which kind is meant is unclear, so the rules of
    // one kind are not checked.
    let clear = (size.is_some() || !given.written("window_size"))
        && (window.is_some() || !given.written("window"));
    if !has_window {
        for key in WINDOW_ONLY {
            if let Some(value) = given.value(key) {
                refuse(key, value, Rule::WindowOnly, None);
            }
        }
    } else {
        if let (true, Some(_), Some(window)) = (clear, size, window) {
            refuse("window", window, Rule::BothWindows, Some("window_size"));
        }
        if let (true, Some(_), None, Some(buckets)) =
            (clear, size, window, given.value("window_buckets"))
        {
            refuse(
                "window_buckets",
                buckets,
                Rule::BucketsWithCountWindow,
                Some("window_size"),
            );
        }
        if let Some(rate) = given.value("slow_call_rate") {
            if !given.written("slow_call_duration") {
                refuse(
                    "slow_call_rate",
                    rate,
                    Rule::SlowRateWithoutDuration,
                    Some("slow_call_duration"),
                );
            }
        }
    }
    let backoff = given.value("backoff");
    let exponential = backoff == Some(Value::Choice("exponential"));
    // A `backoff` written wrong may well be an exponential one: its settings are not refused.
    if !exponential && (backoff.is_some() || !given.written("backoff")) {
        for key in ["backoff_multiplier", "max_cooldown"] {
            if let Some(value) = given.value(key) {
                refuse(key, value, Rule::ExponentialOnly, Some("backoff"));
            }
        }
    }
    let readable = |key| given.value(key).is_some() || !given.written(key);
    if exponential && readable("cooldown") && readable("max_cooldown") {
        let cooldown = or_default(given, "cooldown").and_then(Value::duration);
        let max = or_default(given, "max_cooldown");
        if let (Some(cooldown), Some(max @ Value::Duration(cap))) = (cooldown, max) {
            if cap < cooldown {
                refuse(
                    "max_cooldown",
                    max,
                    Rule::MaxBelowCooldown { cooldown },
                    Some("cooldown"),
                );
            }
        }
    }
    if let Some(threshold) = given.value("threshold") {
        let windows = [("window_size", size), ("window", window)];
        if let Some((key, _)) = windows.into_iter().find(|(_, value)| value.is_some()) {
            refuse("threshold", threshold, Rule::ThresholdWithWindow, Some(key));
        }
    }
    if let (true, None, Some(Value::Duration(length))) = (clear, size, window) {
        if let (true, Some(Value::Whole(buckets))) = (
            readable("window_buckets"),
            or_default(given, "window_buckets"),
        ) {
            if length.as_nanos() < u128::from(buckets) {
                refuse(
                    "window_buckets",
                    Value::Whole(buckets),
                    Rule::BucketsTooShort { length },
                    Some("window"),
                );
            }
        }
    }
    if let (true, Some(Value::Whole(size)), None) = (clear, size, window) {
        if let Some(minimum) = given.value("minimum_calls") {
            if minimum.whole().is_some_and(|minimum| minimum > size) {
                refuse(
                    "minimum_calls",
                    minimum,
                    Rule::MinimumAboveSize { size },
                    Some("window_size"),
                );
            }
        }
    }
    found
}
