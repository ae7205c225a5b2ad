//! [`BreakerSettings`]: breaker settings by key, as a configuration file gives them, each
//! key's errors naming the key.

use std::collections::HashMap;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{BreakerConfig, ConfigError, ConfigVisitor};

/// Breaker settings by key, as read from a configuration file.
///
/// ```
/// use std::time::Duration;
/// use breaker::BreakerSettings;
///
/// let settings: BreakerSettings = toml::from_str(r#"
///     [openai]
///     threshold = 3
///     cooldown = "10s"
///
///     [anthropic]
///     cooldown = "1m"
/// "#).unwrap();
/// assert_eq!(settings.get("openai").unwrap().threshold, 3);
/// assert_eq!(settings.get("anthropic").unwrap().cooldown, Duration::from_secs(60));
///
/// // A bad value names its key, its field and the value.
/// let err = toml::from_str::<BreakerSettings>("[openai]\nthreshold = -1").unwrap_err();
/// assert!(err.to_string().contains("under `openai`: `threshold` = -1"), "{err}");
/// ```
// Deserialize: below, with each key in the errors of its settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BreakerSettings {
    by_key: HashMap<String, BreakerConfig>,
}

impl BreakerSettings {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The settings under `key`.
    pub fn get(&self, key: &str) -> Option<&BreakerConfig> {
        self.by_key.get(key)
    }

    /// The settings under `key`, or `default` if there are none.
    pub fn get_or(&self, key: &str, default: BreakerConfig) -> BreakerConfig {
        self.by_key.get(key).cloned().unwrap_or(default)
    }

    /// Sets the settings under `key`.
    pub fn insert(&mut self, key: impl Into<String>, config: BreakerConfig) {
        self.by_key.insert(key.into(), config);
    }

    /// Every key and its settings.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &BreakerConfig)> {
        self.by_key.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Checks every config (see [`BreakerConfig::validate`]): the error of the first invalid
    /// one in key order, naming its key. Settings read with serde were checked as they were
    /// read; settings built in code are checked by whatever installs them.
    ///
    /// ```
    /// use breaker::BreakerSettings;
    /// use breaker::BreakerConfig;
    ///
    /// let mut settings = BreakerSettings::new();
    /// settings.insert("openai", BreakerConfig::default().with_half_open_max(0));
    /// let err = settings.validate().unwrap_err();
    /// assert_eq!((err.key(), err.field()), (Some("openai"), "half_open_max"));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut keys: Vec<&String> = self.by_key.keys().collect();
        keys.sort();
        for key in keys {
            self.by_key[key].validate().map_err(|e| e.under(key))?;
        }
        Ok(())
    }
}

impl IntoIterator for BreakerSettings {
    type Item = (String, BreakerConfig);
    type IntoIter = std::collections::hash_map::IntoIter<String, BreakerConfig>;

    /// The settings by key, in no particular order.
    fn into_iter(self) -> Self::IntoIter {
        self.by_key.into_iter()
    }
}

impl<'de> Deserialize<'de> for BreakerSettings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SettingsVisitor)
    }
}

struct SettingsVisitor;

impl<'de> Visitor<'de> for SettingsVisitor {
    type Value = BreakerSettings;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("breaker settings by key, a table of tables")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BreakerSettings, A::Error> {
        let mut settings = BreakerSettings::new();
        while let Some(key) = map.next_key::<String>()? {
            let config = map.next_value_seed(Keyed(&key))?;
            if settings.by_key.insert(key.clone(), config).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "breaker settings: `{key}` is given twice"
                )));
            }
        }
        Ok(settings)
    }
}

/// The settings under one key.
struct Keyed<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for Keyed<'_> {
    type Value = BreakerConfig;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<BreakerConfig, D::Error> {
        deserializer.deserialize_map(ConfigVisitor { key: Some(self.0) })
    }
}
