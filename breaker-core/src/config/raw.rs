//! [`RawConfig`]: a [`BreakerConfig`] as a file writes it, one slot per setting of the
//! shared table, each value already checked on its own and kept with how it was written.

use std::fmt;
use std::time::Duration;

use breaker_settings::{Default, Given, SETTINGS, Value, conflicts};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{BreakerConfig, ConfigError, checks};
use crate::backoff::{Backoff, Jitter};
use crate::policy::{CredentialErrors, FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window};

/// One value and how it was written, for an error about it (which another setting may
/// raise).
#[derive(Debug, Clone)]
pub(super) struct Written {
    pub(super) value: Value,
    /// As the file wrote it; `None` for a value built in code, shown as a file writes it
    /// only when an error shows it (validating a configuration does not allocate).
    pub(super) shown: Option<String>,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shown {
            Some(shown) => f.write_str(shown),
            None => f.write_str(&self.value.shown()),
        }
    }
}

/// The settings as written: a slot per setting of the table, in its order.
#[derive(Default)]
pub(super) struct RawConfig {
    slots: [Option<Written>; SETTINGS.len()],
}

impl RawConfig {
    /// The slot of `key`, a setting of the table.
    pub(super) fn slot(&mut self, key: &str) -> &mut Option<Written> {
        let index = breaker_settings::index(key).expect("a setting of the table");
        &mut self.slots[index]
    }

    fn get(&self, key: &str) -> Option<&Written> {
        let index = breaker_settings::index(key)?;
        self.slots[index].as_ref()
    }

    fn set(&mut self, key: &str, value: Value) {
        *self.slot(key) = Some(Written { value, shown: None });
    }

    /// The settings written, in the table's order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&'static str, &Written)> {
        SETTINGS
            .iter()
            .zip(&self.slots)
            .filter_map(|(setting, slot)| Some((setting.key, slot.as_ref()?)))
    }

    /// The first rule between settings that these break (of those about values only, if
    /// `values_only`), as an error.
    pub(super) fn check_conflicts(&self, values_only: bool) -> Result<(), ConfigError> {
        let found = conflicts(self);
        match found.iter().find(|c| !(values_only && c.rule.is_layout())) {
            Some(conflict) => {
                let shown = match self.get(conflict.field) {
                    Some(written) => written.to_string(),
                    None => conflict.value.shown(),
                };
                Err(checks::conflict(conflict, shown))
            }
            None => Ok(()),
        }
    }

    /// Every setting of `config`, the threshold too under a window (for its checks).
    pub(super) fn every(config: &BreakerConfig) -> RawConfig {
        let mut raw = RawConfig::default();
        let whole = |n: u32| Value::Whole(n.into());
        raw.set("threshold", whole(config.threshold));
        raw.set("cooldown", Value::Duration(config.cooldown));
        raw.set("half_open_max", whole(config.half_open_max));
        raw.set(
            "half_open_timeout",
            Value::Duration(config.half_open_timeout),
        );
        if let Backoff::Exponential { multiplier, max } = config.backoff {
            raw.set("backoff", Value::Choice("exponential"));
            raw.set("backoff_multiplier", Value::Number(multiplier));
            raw.set("max_cooldown", Value::Duration(max));
        }
        let jitter = match config.jitter {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
        };
        raw.set("jitter", Value::Choice(jitter));
        if let Some(seed) = config.jitter_seed {
            raw.set("jitter_seed", Value::Whole(seed));
        }
        raw.set("success_threshold", whole(config.success_threshold));
        let ignored = match config.ignored_errors {
            IgnoredErrors::Neither => "neither",
            IgnoredErrors::Success => "success",
        };
        raw.set("ignored_errors", Value::Choice(ignored));
        raw.set("rate_limit_delay", Value::Duration(config.rate_limit_delay));
        raw.set("max_retry_after", Value::Duration(config.max_retry_after));
        let credentials = match config.credential_errors {
            CredentialErrors::Failure => "failure",
            CredentialErrors::ForceOpen => "force_open",
        };
        raw.set("credential_errors", Value::Choice(credentials));
        if let TripPolicy::FailureRate(rate) = config.policy {
            match rate.window {
                Window::Count { size } => raw.set("window_size", whole(size)),
                Window::Time { length, buckets } => {
                    raw.set("window", Value::Duration(length));
                    raw.set("window_buckets", whole(buckets));
                }
            }
            raw.set("failure_rate", Value::Whole(rate.failure_rate.into()));
            raw.set("minimum_calls", whole(rate.minimum_calls));
            if let Some(slow) = rate.slow_calls {
                raw.set("slow_call_duration", Value::Duration(slow.duration));
                raw.set("slow_call_rate", Value::Whole(slow.rate.into()));
            }
        }
        raw
    }

    fn whole(&self, key: &str) -> Option<u64> {
        self.get(key)?.value.whole()
    }

    fn count(&self, key: &str) -> Option<u32> {
        self.whole(key).and_then(|n| u32::try_from(n).ok())
    }

    fn percent(&self, key: &str) -> Option<u8> {
        self.whole(key).and_then(|n| u8::try_from(n).ok())
    }

    fn duration(&self, key: &str) -> Option<Duration> {
        self.get(key)?.value.duration()
    }

    fn choice(&self, key: &str) -> Option<&'static str> {
        self.get(key)?.value.choice()
    }

    /// The trip policy the settings describe: a window selects the failure rate.
    fn policy(&self) -> TripPolicy {
        let window = match (self.count("window_size"), self.duration("window")) {
            (Some(size), _) => Window::Count { size },
            (None, Some(length)) => Window::Time {
                length,
                buckets: self
                    .count("window_buckets")
                    .unwrap_or(Window::DEFAULT_BUCKETS),
            },
            (None, None) => return TripPolicy::ConsecutiveFailures,
        };
        let failure_rate = self
            .percent("failure_rate")
            .unwrap_or(FailureRate::DEFAULT_FAILURE_RATE);
        let mut rate = FailureRate::new(window, failure_rate);
        if let Some(minimum) = self.count("minimum_calls") {
            rate = rate.with_minimum_calls(minimum);
        }
        if let Some(duration) = self.duration("slow_call_duration") {
            let slow_rate = self
                .percent("slow_call_rate")
                .unwrap_or(SlowCalls::DEFAULT_RATE);
            rate = rate.with_slow_calls(SlowCalls::new(duration).with_rate(slow_rate));
        }
        TripPolicy::FailureRate(rate)
    }
}

impl Given for RawConfig {
    fn value(&self, key: &str) -> Option<Value> {
        Some(self.get(key)?.value)
    }
}

impl TryFrom<RawConfig> for BreakerConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        raw.check_conflicts(false)?;
        let backoff = match raw.choice("backoff") {
            Some("exponential") => Backoff::Exponential {
                multiplier: raw
                    .get("backoff_multiplier")
                    .and_then(|w| w.value.number())
                    .unwrap_or(Backoff::DEFAULT_MULTIPLIER),
                max: raw.duration("max_cooldown").unwrap_or(Backoff::DEFAULT_MAX),
            },
            _ => Backoff::Fixed,
        };
        let jitter = match raw.choice("jitter") {
            Some("full") => Jitter::Full,
            Some("equal") => Jitter::Equal,
            _ => Jitter::None,
        };
        let ignored_errors = match raw.choice("ignored_errors") {
            Some("success") => IgnoredErrors::Success,
            _ => IgnoredErrors::Neither,
        };
        let credential_errors = match raw.choice("credential_errors") {
            Some("force_open") => CredentialErrors::ForceOpen,
            _ => CredentialErrors::Failure,
        };
        Ok(BreakerConfig {
            policy: raw.policy(),
            threshold: raw
                .count("threshold")
                .unwrap_or(BreakerConfig::DEFAULT_THRESHOLD),
            cooldown: raw
                .duration("cooldown")
                .unwrap_or(BreakerConfig::DEFAULT_COOLDOWN),
            half_open_max: raw
                .count("half_open_max")
                .unwrap_or(BreakerConfig::DEFAULT_HALF_OPEN_MAX),
            half_open_timeout: raw
                .duration("half_open_timeout")
                .unwrap_or(BreakerConfig::DEFAULT_HALF_OPEN_TIMEOUT),
            backoff,
            jitter,
            jitter_seed: raw.whole("jitter_seed"),
            success_threshold: raw
                .count("success_threshold")
                .unwrap_or(BreakerConfig::DEFAULT_SUCCESS_THRESHOLD),
            ignored_errors,
            rate_limit_delay: raw
                .duration("rate_limit_delay")
                .unwrap_or(BreakerConfig::DEFAULT_RATE_LIMIT_DELAY),
            max_retry_after: raw
                .duration("max_retry_after")
                .unwrap_or(BreakerConfig::DEFAULT_MAX_RETRY_AFTER),
            credential_errors,
        })
    }
}

/// As a file writes it: what differs from the defaults, and what the policy needs.
impl From<BreakerConfig> for RawConfig {
    fn from(config: BreakerConfig) -> Self {
        let mut raw = RawConfig::every(&config);
        // Settings that only say something when they are not their default.
        for key in [
            "jitter",
            "success_threshold",
            "ignored_errors",
            "rate_limit_delay",
            "max_retry_after",
            "credential_errors",
        ] {
            let default = breaker_settings::setting(key).map(|setting| setting.default);
            if let Some(written) = raw.get(key) {
                if default == Some(Default::Is(written.value)) {
                    *raw.slot(key) = None;
                }
            }
        }
        if config.policy != TripPolicy::ConsecutiveFailures {
            *raw.slot("threshold") = None;
        }
        raw
    }
}

impl Serialize for RawConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, written) in self.iter() {
            match written.value {
                Value::Whole(n) => map.serialize_entry(key, &n)?,
                Value::Duration(d) => {
                    map.serialize_entry(key, &humantime::format_duration(d).to_string())?
                }
                Value::Number(x) => map.serialize_entry(key, &x)?,
                Value::Choice(name) => map.serialize_entry(key, name)?,
            }
        }
        map.end()
    }
}
