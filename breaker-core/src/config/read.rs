//! Reading a [`BreakerConfig`] from any self-describing serde format (TOML, JSON, YAML...):
//! each value is read untyped first, then converted by the rule of its setting in the shared
//! table, so that every bad value, whatever its type, gets an error that names the field and
//! shows the value as written.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use breaker_settings::{Input, SETTINGS};

use super::raw::{RawConfig, Written};
use super::value::Value;
use super::{BreakerConfig, ConfigError, checks};

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

/// Converts `value` by the rule of the setting `name` and stores it in `raw`. A null is as
/// if the setting were absent.
fn store(raw: &mut RawConfig, name: &str, value: &Value) -> Result<(), ConfigError> {
    let Some(setting) = breaker_settings::setting(name) else {
        let expected: Vec<String> = SETTINGS.iter().map(|s| format!("`{}`", s.key)).collect();
        return Err(ConfigError::new(
            name.to_owned(),
            value.to_string(),
            format!("unknown field, expected one of {}", expected.join(", ")),
        ));
    };
    let input = match *value {
        Value::Null => return Ok(()),
        Value::Int(n) => Input::Whole(n),
        Value::Float(x) => Input::Number(x),
        Value::String(ref text) => Input::Text(text),
        _ => Input::Other(value.kind()),
    };
    let checked = checks::value(setting.key, input, value)?;
    let slot = raw.slot(setting.key);
    // JSON allows a key twice; the second would silently win.
    if slot.is_some() {
        return Err(ConfigError::new(
            setting.key,
            value.to_string(),
            "is given twice",
        ));
    }
    *slot = Some(Written {
        value: checked,
        shown: Some(value.to_string()),
    });
    Ok(())
}
