//! [`RawConfig`]: a [`BreakerConfig`] as a file writes it, flat, with humantime durations.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{BreakerConfig, ConfigError, quoted};
use crate::backoff::{Backoff, Jitter};
use crate::policy::{FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window};

/// The configuration as written: durations as humantime strings, every field optional.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    threshold: Option<u32>,
    #[serde(default = "default_cooldown")]
    cooldown: HumanDuration,
    #[serde(default = "default_half_open_max")]
    half_open_max: u32,
    #[serde(default = "default_half_open_timeout")]
    half_open_timeout: HumanDuration,
    #[serde(default, skip_serializing_if = "BackoffKind::is_fixed")]
    backoff: BackoffKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backoff_multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_cooldown: Option<HumanDuration>,
    #[serde(default, skip_serializing_if = "Jitter::is_none")]
    jitter: Jitter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jitter_seed: Option<u64>,
    #[serde(default = "default_success_threshold", skip_serializing_if = "is_one")]
    success_threshold: u32,
    #[serde(default, skip_serializing_if = "IgnoredErrors::is_neither")]
    ignored_errors: IgnoredErrors,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window: Option<HumanDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window_buckets: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure_rate: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    minimum_calls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slow_call_duration: Option<HumanDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slow_call_rate: Option<u64>,
}

fn default_success_threshold() -> u32 {
    BreakerConfig::DEFAULT_SUCCESS_THRESHOLD
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// `backoff` as written.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BackoffKind {
    #[default]
    Fixed,
    Exponential,
}

impl BackoffKind {
    fn is_fixed(&self) -> bool {
        matches!(self, BackoffKind::Fixed)
    }
}

fn default_cooldown() -> HumanDuration {
    HumanDuration::Parsed(BreakerConfig::DEFAULT_COOLDOWN)
}

fn default_half_open_max() -> u32 {
    BreakerConfig::DEFAULT_HALF_OPEN_MAX
}

fn default_half_open_timeout() -> HumanDuration {
    HumanDuration::Parsed(BreakerConfig::DEFAULT_HALF_OPEN_TIMEOUT)
}

/// A duration read as a humantime string. Parsing is deferred to the conversion into
/// [`BreakerConfig`], which knows the field's name for the error.
#[derive(Clone)]
enum HumanDuration {
    Parsed(Duration),
    Text(String),
}

impl HumanDuration {
    /// The duration as written, for an error message.
    fn text(&self) -> String {
        match self {
            HumanDuration::Parsed(duration) => quoted(*duration),
            HumanDuration::Text(text) => format!("{text:?}"),
        }
    }

    fn parse(self, field: &'static str) -> Result<Duration, ConfigError> {
        match self {
            HumanDuration::Parsed(duration) => Ok(duration),
            HumanDuration::Text(text) => humantime::parse_duration(text.trim()).map_err(|e| {
                ConfigError::new(
                    field,
                    format!("{text:?}"),
                    format!("not a duration ({e}); write it like \"30s\", \"1m 30s\" or \"250ms\""),
                )
            }),
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            HumanDuration::Parsed(duration) => {
                serializer.collect_str(&humantime::format_duration(*duration))
            }
            HumanDuration::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(HumanDuration::Text)
    }
}

impl TryFrom<RawConfig> for BreakerConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        let policy = policy(&raw)?;
        let backoff = match raw.backoff {
            BackoffKind::Fixed => {
                if let Some(multiplier) = raw.backoff_multiplier {
                    return Err(exponential_only(
                        "backoff_multiplier",
                        multiplier.to_string(),
                    ));
                }
                if let Some(max) = raw.max_cooldown {
                    let max = max.parse("max_cooldown")?;
                    return Err(exponential_only("max_cooldown", quoted(max)));
                }
                Backoff::Fixed
            }
            BackoffKind::Exponential => Backoff::Exponential {
                multiplier: raw
                    .backoff_multiplier
                    .unwrap_or(Backoff::DEFAULT_MULTIPLIER),
                max: match raw.max_cooldown {
                    Some(max) => max.parse("max_cooldown")?,
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
            cooldown: raw.cooldown.parse("cooldown")?,
            half_open_max: raw.half_open_max,
            half_open_timeout: raw.half_open_timeout.parse("half_open_timeout")?,
            backoff,
            jitter: raw.jitter,
            jitter_seed: raw.jitter_seed,
            success_threshold: raw.success_threshold,
            ignored_errors: raw.ignored_errors,
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
                window.text(),
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
            length: length.clone().parse("window")?,
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
                raw.slow_call_duration.as_ref().map(HumanDuration::text),
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
    let failure_rate = percent(
        "failure_rate",
        raw.failure_rate,
        FailureRate::DEFAULT_FAILURE_RATE,
    )?;
    let mut rate = FailureRate::new(window, failure_rate);
    if let Some(minimum) = raw.minimum_calls {
        rate = rate.with_minimum_calls(minimum);
    }
    match &raw.slow_call_duration {
        Some(duration) => {
            let duration = duration.clone().parse("slow_call_duration")?;
            let slow_rate = percent(
                "slow_call_rate",
                raw.slow_call_rate,
                SlowCalls::DEFAULT_RATE,
            )?;
            rate = rate.with_slow_calls(SlowCalls::new(duration).with_rate(slow_rate));
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

/// A percentage as written, or its default; checked here, as a number of any size, so that
/// 300 gets the same message as 0.
fn percent(field: &'static str, written: Option<u64>, default: u8) -> Result<u8, ConfigError> {
    match written {
        None => Ok(default),
        Some(rate @ 1..=100) => Ok(rate as u8),
        Some(rate) => Err(ConfigError::new(
            field,
            rate.to_string(),
            "must be a percentage from 1 to 100",
        )),
    }
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
        let (backoff, backoff_multiplier, max_cooldown) = match config.backoff {
            Backoff::Fixed => (BackoffKind::Fixed, None, None),
            Backoff::Exponential { multiplier, max } => (
                BackoffKind::Exponential,
                Some(multiplier),
                Some(HumanDuration::Parsed(max)),
            ),
        };
        let consecutive = config.policy == TripPolicy::ConsecutiveFailures;
        let mut raw = RawConfig {
            threshold: consecutive.then_some(config.threshold),
            cooldown: HumanDuration::Parsed(config.cooldown),
            half_open_max: config.half_open_max,
            half_open_timeout: HumanDuration::Parsed(config.half_open_timeout),
            backoff,
            backoff_multiplier,
            max_cooldown,
            jitter: config.jitter,
            jitter_seed: config.jitter_seed,
            success_threshold: config.success_threshold,
            ignored_errors: config.ignored_errors,
            window_size: None,
            window: None,
            window_buckets: None,
            failure_rate: None,
            minimum_calls: None,
            slow_call_duration: None,
            slow_call_rate: None,
        };
        if let TripPolicy::FailureRate(rate) = config.policy {
            match rate.window {
                Window::Count { size } => raw.window_size = Some(size),
                Window::Time { length, buckets } => {
                    raw.window = Some(HumanDuration::Parsed(length));
                    raw.window_buckets = Some(buckets);
                }
            }
            raw.failure_rate = Some(u64::from(rate.failure_rate));
            raw.minimum_calls = Some(rate.minimum_calls);
            if let Some(slow) = rate.slow_calls {
                raw.slow_call_duration = Some(HumanDuration::Parsed(slow.duration));
                raw.slow_call_rate = Some(u64::from(slow.rate));
            }
        }
        raw
    }
}
