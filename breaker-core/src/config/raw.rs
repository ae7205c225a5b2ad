//! [`RawConfig`]: a [`BreakerConfig`] as a file writes it, flat, with humantime durations;
//! and the checks between its fields.

use std::time::Duration;

use serde::{Serialize, Serializer};

use super::{BreakerConfig, ConfigError, at_least_the_cooldown, quoted};
use crate::backoff::{Backoff, Jitter};
use crate::policy::{FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window};

/// The configuration as written: every field optional, each already checked on its own.
#[derive(Default, Serialize)]
pub(super) struct RawConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) threshold: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cooldown: Option<Written<Duration>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) half_open_max: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) half_open_timeout: Option<Written<Duration>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backoff: Option<BackoffKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backoff_multiplier: Option<Written<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_cooldown: Option<Written<Duration>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) jitter: Option<Jitter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) jitter_seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) success_threshold: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) ignored_errors: Option<IgnoredErrors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) window_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) window: Option<Written<Duration>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) window_buckets: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) failure_rate: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) minimum_calls: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) slow_call_duration: Option<Written<Duration>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) slow_call_rate: Option<u8>,
}

/// `backoff` as written.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum BackoffKind {
    Fixed,
    Exponential,
}

/// A value and how the file wrote it, for an error about it that another field raises.
#[derive(Clone)]
pub(super) struct Written<T> {
    pub(super) value: T,
    pub(super) shown: String,
}

impl Written<Duration> {
    fn duration(duration: Duration) -> Self {
        Self {
            value: duration,
            shown: quoted(duration),
        }
    }
}

impl Serialize for Written<Duration> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(self.value))
    }
}

impl Serialize for Written<f64> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.value)
    }
}

fn value<T: Copy>(written: &Option<Written<T>>) -> Option<T> {
    written.as_ref().map(|w| w.value)
}

impl TryFrom<RawConfig> for BreakerConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        let policy = policy(&raw)?;
        let cooldown = value(&raw.cooldown).unwrap_or(BreakerConfig::DEFAULT_COOLDOWN);
        let backoff = match raw.backoff.unwrap_or(BackoffKind::Fixed) {
            BackoffKind::Fixed => {
                if let Some(multiplier) = raw.backoff_multiplier {
                    return Err(exponential_only("backoff_multiplier", multiplier.shown));
                }
                if let Some(max) = raw.max_cooldown {
                    return Err(exponential_only("max_cooldown", max.shown));
                }
                Backoff::Fixed
            }
            BackoffKind::Exponential => Backoff::Exponential {
                multiplier: value(&raw.backoff_multiplier).unwrap_or(Backoff::DEFAULT_MULTIPLIER),
                max: match raw.max_cooldown {
                    Some(max) => {
                        at_least_the_cooldown(max.value, max.shown, cooldown)?;
                        max.value
                    }
                    None => Backoff::DEFAULT_MAX,
                },
            },
        };
        if let (TripPolicy::FailureRate(_), Some(threshold)) = (policy, raw.threshold) {
            return Err(ConfigError::new(
                "threshold",
                threshold.to_string(),
                "counts consecutive failures, which a sliding window replaces: remove it, or remove `window_size` / `window`",
            ));
        }
        let config = BreakerConfig {
            policy,
            threshold: raw.threshold.unwrap_or(BreakerConfig::DEFAULT_THRESHOLD),
            cooldown,
            half_open_max: raw
                .half_open_max
                .unwrap_or(BreakerConfig::DEFAULT_HALF_OPEN_MAX),
            half_open_timeout: value(&raw.half_open_timeout)
                .unwrap_or(BreakerConfig::DEFAULT_HALF_OPEN_TIMEOUT),
            backoff,
            jitter: raw.jitter.unwrap_or_default(),
            jitter_seed: raw.jitter_seed,
            success_threshold: raw
                .success_threshold
                .unwrap_or(BreakerConfig::DEFAULT_SUCCESS_THRESHOLD),
            ignored_errors: raw.ignored_errors.unwrap_or_default(),
        };
        config.validate()?;
        Ok(config)
    }
}

/// The trip policy the file describes: a window selects the failure rate.
fn policy(raw: &RawConfig) -> Result<TripPolicy, ConfigError> {
    let window = match (raw.window_size, &raw.window) {
        (Some(_), Some(window)) => {
            return Err(ConfigError::new(
                "window",
                window.shown.clone(),
                "a window counts calls (`window_size`) or time (`window`), not both",
            ));
        }
        (Some(size), None) => {
            if let Some(buckets) = raw.window_buckets {
                return Err(ConfigError::new(
                    "window_buckets",
                    buckets.to_string(),
                    "only applies to a time window (`window = \"60s\"`), not to `window_size`",
                ));
            }
            Some(Window::Count { size })
        }
        (None, Some(length)) => Some(Window::Time {
            length: length.value,
            buckets: raw.window_buckets.unwrap_or(Window::DEFAULT_BUCKETS),
        }),
        (None, None) => None,
    };
    let Some(window) = window else {
        let stray = [
            ("window_buckets", raw.window_buckets.map(|n| n.to_string())),
            ("failure_rate", raw.failure_rate.map(|n| n.to_string())),
            ("minimum_calls", raw.minimum_calls.map(|n| n.to_string())),
            (
                "slow_call_duration",
                raw.slow_call_duration.as_ref().map(|d| d.shown.clone()),
            ),
            ("slow_call_rate", raw.slow_call_rate.map(|n| n.to_string())),
        ];
        if let Some((field, Some(value))) = stray.into_iter().find(|(_, value)| value.is_some()) {
            return Err(ConfigError::new(
                field,
                value,
                "only applies to a sliding window: set `window_size` (calls) or `window` (time)",
            ));
        }
        return Ok(TripPolicy::ConsecutiveFailures);
    };
    let failure_rate = raw
        .failure_rate
        .unwrap_or(FailureRate::DEFAULT_FAILURE_RATE);
    let mut rate = FailureRate::new(window, failure_rate);
    if let Some(minimum) = raw.minimum_calls {
        rate = rate.with_minimum_calls(minimum);
    }
    match &raw.slow_call_duration {
        Some(duration) => {
            let slow_rate = raw.slow_call_rate.unwrap_or(SlowCalls::DEFAULT_RATE);
            rate = rate.with_slow_calls(SlowCalls::new(duration.value).with_rate(slow_rate));
        }
        None => {
            if let Some(slow_rate) = raw.slow_call_rate {
                return Err(ConfigError::new(
                    "slow_call_rate",
                    slow_rate.to_string(),
                    "only applies with `slow_call_duration`, which says what a slow call is",
                ));
            }
        }
    }
    Ok(TripPolicy::FailureRate(rate))
}

/// A setting of the exponential backoff given with `backoff = "fixed"`.
fn exponential_only(field: &'static str, value: String) -> ConfigError {
    ConfigError::new(
        field,
        value,
        "only applies to `backoff = \"exponential\"`: set it, or remove this field",
    )
}

impl From<BreakerConfig> for RawConfig {
    fn from(config: BreakerConfig) -> Self {
        let mut raw = RawConfig {
            threshold: (config.policy == TripPolicy::ConsecutiveFailures)
                .then_some(config.threshold),
            cooldown: Some(Written::duration(config.cooldown)),
            half_open_max: Some(config.half_open_max),
            half_open_timeout: Some(Written::duration(config.half_open_timeout)),
            jitter: (!config.jitter.is_none()).then_some(config.jitter),
            jitter_seed: config.jitter_seed,
            success_threshold: (config.success_threshold != 1).then_some(config.success_threshold),
            ignored_errors: (!config.ignored_errors.is_neither()).then_some(config.ignored_errors),
            ..RawConfig::default()
        };
        if let Backoff::Exponential { multiplier, max } = config.backoff {
            raw.backoff = Some(BackoffKind::Exponential);
            raw.backoff_multiplier = Some(Written {
                value: multiplier,
                shown: multiplier.to_string(),
            });
            raw.max_cooldown = Some(Written::duration(max));
        }
        if let TripPolicy::FailureRate(rate) = config.policy {
            match rate.window {
                Window::Count { size } => raw.window_size = Some(size),
                Window::Time { length, buckets } => {
                    raw.window = Some(Written::duration(length));
                    raw.window_buckets = Some(buckets);
                }
            }
            raw.failure_rate = Some(rate.failure_rate);
            raw.minimum_calls = Some(rate.minimum_calls);
            if let Some(slow) = rate.slow_calls {
                raw.slow_call_duration = Some(Written::duration(slow.duration));
                raw.slow_call_rate = Some(slow.rate);
            }
        }
        raw
    }
}
