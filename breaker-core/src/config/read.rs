//! Reading a [`BreakerConfig`] from any self-describing serde format (TOML, JSON, YAML...):
//! each value is read untyped first, then converted by the rule of its field, so that every
//! bad value, whatever its type, gets an error that names the field and shows the value as
//! written.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::raw::{BackoffKind, RawConfig, Written};
use super::value::Value;
use super::{BreakerConfig, ConfigError, checks};
use crate::backoff::Jitter;
use crate::policy::IgnoredErrors;

/// How one setting is read: its value converted by the field's rule, stored in the config.
type Store = fn(&Read<'_>, &mut RawConfig) -> Result<(), ConfigError>;

/// Every setting a file may give, in the order the docs list them, and how it is read.
const FIELDS: &[(&str, Store)] = &[
    ("threshold", |r, raw| r.once(&mut raw.threshold, r.count()?)),
    ("cooldown", |r, raw| {
        r.once(&mut raw.cooldown, r.duration()?)
    }),
    ("half_open_max", |r, raw| {
        r.once(&mut raw.half_open_max, r.count()?)
    }),
    ("half_open_timeout", |r, raw| {
        r.once(&mut raw.half_open_timeout, r.duration()?)
    }),
    ("backoff", |r, raw| {
        let kinds = [
            ("fixed", BackoffKind::Fixed),
            ("exponential", BackoffKind::Exponential),
        ];
        r.once(&mut raw.backoff, r.name(&kinds)?)
    }),
    ("backoff_multiplier", |r, raw| {
        r.once(&mut raw.backoff_multiplier, r.multiplier()?)
    }),
    ("max_cooldown", |r, raw| {
        r.once(&mut raw.max_cooldown, r.duration()?)
    }),
    ("jitter", |r, raw| {
        let kinds = [
            ("none", Jitter::None),
            ("full", Jitter::Full),
            ("equal", Jitter::Equal),
        ];
        r.once(&mut raw.jitter, r.name(&kinds)?)
    }),
    ("jitter_seed", |r, raw| {
        let seed = checks::seed(r.whole_number()?, r.value)?;
        r.once(&mut raw.jitter_seed, seed)
    }),
    ("success_threshold", |r, raw| {
        r.once(&mut raw.success_threshold, r.count()?)
    }),
    ("ignored_errors", |r, raw| {
        let kinds = [
            ("neither", IgnoredErrors::Neither),
            ("success", IgnoredErrors::Success),
        ];
        r.once(&mut raw.ignored_errors, r.name(&kinds)?)
    }),
    ("window_size", |r, raw| {
        r.once(&mut raw.window_size, r.count()?)
    }),
    ("window", |r, raw| r.once(&mut raw.window, r.duration()?)),
    ("window_buckets", |r, raw| {
        r.once(&mut raw.window_buckets, r.count()?)
    }),
    ("failure_rate", |r, raw| {
        r.once(&mut raw.failure_rate, r.percent()?)
    }),
    ("minimum_calls", |r, raw| {
        r.once(&mut raw.minimum_calls, r.count()?)
    }),
    ("slow_call_duration", |r, raw| {
        r.once(&mut raw.slow_call_duration, r.duration()?)
    }),
    ("slow_call_rate", |r, raw| {
        r.once(&mut raw.slow_call_rate, r.percent()?)
    }),
];

impl<'de> Deserialize<'de> for BreakerConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ConfigVisitor { key: None })
    }
}

/// Reads one breaker's settings; `key`, the key they are under in
/// [`BreakerSettings`](crate::BreakerSettings), goes into every error.
pub(crate) struct ConfigVisitor<'k> {
    pub(crate) key: Option<&'k str>,
}

impl ConfigVisitor<'_> {
    fn error<E: de::Error>(&self, error: ConfigError) -> E {
        E::custom(match self.key {
            Some(key) => error.under(key),
            None => error,
        })
    }
}

impl<'de> Visitor<'de> for ConfigVisitor<'_> {
    type Value = BreakerConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key {
            Some(key) => write!(
                f,
                "the settings under `{key}`, a table such as `{{ threshold = 5 }}`"
            ),
            None => f.write_str("circuit breaker settings, a table such as `{ threshold = 5 }`"),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BreakerConfig, A::Error> {
        let mut raw = RawConfig::default();
        while let Some(name) = map.next_key::<String>()? {
            // Converted inside the value's own deserialization, so that a format that tracks
            // positions (TOML) points the error at the value.
            map.next_value_seed(Setting {
                name: &name,
                raw: &mut raw,
                reader: &self,
            })?;
        }
        BreakerConfig::try_from(raw).map_err(|e| self.error(e))
    }
}

/// One `name = value` of the settings, stored into `raw`.
struct Setting<'a, 'k> {
    name: &'a str,
    raw: &'a mut RawConfig,
    reader: &'a ConfigVisitor<'k>,
}

impl<'de> DeserializeSeed<'de> for Setting<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let value = Value::deserialize(deserializer)?;
        store(self.raw, self.name, &value).map_err(|e| self.reader.error(e))
    }
}

/// Converts `value` by the rule of the field `name` and stores it in `raw`. A null is as if
/// the field were absent.
fn store(raw: &mut RawConfig, name: &str, value: &Value) -> Result<(), ConfigError> {
    let Some(&(field, store)) = FIELDS.iter().find(|(field, _)| *field == name) else {
        let expected: Vec<String> = FIELDS.iter().map(|(f, _)| format!("`{f}`")).collect();
        return Err(ConfigError::new(
            name.to_owned(),
            value.to_string(),
            format!("unknown field, expected one of {}", expected.join(", ")),
        ));
    };
    if *value == Value::Null {
        return Ok(());
    }
    store(&Read { field, value }, raw)
}

/// A field's value being read.
struct Read<'a> {
    field: &'static str,
    value: &'a Value,
}

impl Read<'_> {
    fn error(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError::new(self.field, self.value.to_string(), problem)
    }

    /// An error for a value of the wrong type: what the field takes, and what it got.
    fn not(&self, takes: &str) -> ConfigError {
        self.error(format!("must be {takes}, not {}", self.value.kind()))
    }

    /// Stores `value` in `slot`, unless the field was given already (JSON allows that).
    fn once<T>(&self, slot: &mut Option<T>, value: T) -> Result<(), ConfigError> {
        if slot.is_some() {
            return Err(self.error("is given twice"));
        }
        *slot = Some(value);
        Ok(())
    }

    fn whole_number(&self) -> Result<i128, ConfigError> {
        match *self.value {
            Value::Int(n) => Ok(n),
            _ => Err(self.not("a whole number")),
        }
    }

    fn count(&self) -> Result<u32, ConfigError> {
        checks::count(self.field, self.whole_number()?, self.value)
    }

    fn percent(&self) -> Result<u8, ConfigError> {
        match *self.value {
            Value::Int(n) => checks::percent(self.field, n, self.value),
            _ => Err(self.not("a percentage, a whole number from 1 to 100")),
        }
    }

    fn multiplier(&self) -> Result<Written<f64>, ConfigError> {
        let multiplier = match *self.value {
            Value::Int(n) => n as f64,
            Value::Float(x) => x,
            _ => return Err(self.not("a number of at least 1")),
        };
        Ok(Written {
            value: checks::multiplier(multiplier, self.value)?,
            shown: self.value.to_string(),
        })
    }

    fn duration(&self) -> Result<Written<Duration>, ConfigError> {
        const TAKES: &str =
            "a duration written as a string, such as \"30s\", \"1m 30s\" or \"250ms\"";
        let Value::String(text) = self.value else {
            return Err(self.not(TAKES));
        };
        let duration = humantime::parse_duration(text.trim())
            .map_err(|e| self.error(format!("not a duration ({e}); must be {TAKES}")))?;
        Ok(Written {
            value: checks::duration(self.field, duration, self.value)?,
            shown: self.value.to_string(),
        })
    }

    /// One of `choices`, by name.
    fn name<T: Copy>(&self, choices: &[(&str, T)]) -> Result<T, ConfigError> {
        let names: Vec<String> = choices
            .iter()
            .map(|(name, _)| format!("{name:?}"))
            .collect();
        let takes = format!("one of {}", names.join(", "));
        let Value::String(text) = self.value else {
            return Err(self.not(&takes));
        };
        choices
            .iter()
            .find(|(name, _)| name == text)
            .map(|&(_, choice)| choice)
            .ok_or_else(|| self.error(format!("must be {takes}")))
    }
}
