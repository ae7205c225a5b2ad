//! The rule of each setting on its own, shared by [`BreakerConfig::validate`] (values in
//! code) and the file reader (values as written, shown as written in the error).

use std::fmt::Display;
use std::time::Duration;

use super::{BreakerConfig, ConfigError};
use crate::policy::{SlowCalls, Window};

/// A count setting (`threshold`, `half_open_max`, `success_threshold`, `window_size`,
/// `window_buckets`, `minimum_calls`): a whole number from 1 to the field's maximum. Takes
/// any whole number, so that -1 and 2^32 get the message of the range they are outside.
pub(super) fn count(field: &'static str, n: i128, shown: impl Display) -> Result<u32, ConfigError> {
    let max = match field {
        "threshold" => BreakerConfig::MAX_THRESHOLD,
        "half_open_max" => BreakerConfig::MAX_HALF_OPEN,
        "window_size" => Window::MAX_SIZE,
        "window_buckets" => Window::MAX_BUCKETS,
        _ => u32::MAX,
    };
    if n < 1 {
        return Err(ConfigError::new(
            field,
            shown.to_string(),
            "must be at least 1",
        ));
    }
    match u32::try_from(n) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(ConfigError::new(
            field,
            shown.to_string(),
            format!("must be at most {max}"),
        )),
    }
}

/// A rate in percent (`failure_rate`, `slow_call_rate`): from 1 to 100.
pub(super) fn percent(
    field: &'static str,
    n: i128,
    shown: impl Display,
) -> Result<u8, ConfigError> {
    match u8::try_from(n) {
        Ok(rate @ 1..=100) => Ok(rate),
        _ => Err(ConfigError::new(
            field,
            shown.to_string(),
            "must be a percentage from 1 to 100",
        )),
    }
}

/// `jitter_seed`: any whole number from 0 to 2^64 - 1.
pub(super) fn seed(n: i128, shown: impl Display) -> Result<u64, ConfigError> {
    u64::try_from(n).map_err(|_| {
        ConfigError::new(
            "jitter_seed",
            shown.to_string(),
            format!("must be a whole number from 0 to {}", u64::MAX),
        )
    })
}

/// `backoff_multiplier`: a number of at least 1 (a smaller one would shorten each opening).
pub(super) fn multiplier(multiplier: f64, shown: impl Display) -> Result<f64, ConfigError> {
    if multiplier.is_finite() && multiplier >= 1.0 {
        Ok(multiplier)
    } else {
        Err(ConfigError::new(
            "backoff_multiplier",
            shown.to_string(),
            "must be a number of at least 1",
        ))
    }
}

/// A duration setting: at most a year ([`BreakerConfig::MAX_DURATION`]; an hour for
/// `slow_call_duration`), and more than zero but for `cooldown` (a zero cooldown makes the
/// call after an opening its probe at once).
pub(super) fn duration(
    field: &'static str,
    duration: Duration,
    shown: impl Display,
) -> Result<Duration, ConfigError> {
    let (max, max_text) = match field {
        "slow_call_duration" => (SlowCalls::MAX_DURATION, "an hour (\"1h\")"),
        _ => (BreakerConfig::MAX_DURATION, "a year (\"1year\")"),
    };
    if duration.is_zero() && field != "cooldown" {
        return Err(ConfigError::new(
            field,
            shown.to_string(),
            "must be more than zero",
        ));
    }
    if duration > max {
        return Err(ConfigError::new(
            field,
            shown.to_string(),
            format!("must be at most {max_text}"),
        ));
    }
    Ok(duration)
}
