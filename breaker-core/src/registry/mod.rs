//! Breakers by name: the process-wide registry that `#[circuit_breaker]` functions share,
//! and the settings it takes from a configuration file.
//!
//! A guarded function finds its breaker here by name on its first call: functions given the
//! same `name` share one breaker, and a breaker registered under that name beforehand (one
//! on a manual clock, in a test) is the one they use. Settings loaded with
//! [`BreakerRegistry::load`] replace the attribute's own for the functions that name them
//! with `config = "..."`.

// The registries hold no memory of their own: the map and reference counts do.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use crate::breaker::CircuitBreaker;
use crate::config::{BreakerConfig, BreakerSettings, ConfigError};
use crate::events::Metrics;
use crate::name::BreakerName;

/// The breakers of a process by name, and the settings loaded for them.
///
/// Reached on a guarded function's first call only (the function keeps its breaker), so a
/// lock here costs nothing per call.
///
/// ```
/// use breaker::{BreakerConfig, BreakerRegistry, CircuitBreaker};
///
/// let registry = BreakerRegistry::new();
/// let a = registry.get_or_create("search", BreakerConfig::default(), None);
/// let b = registry.get_or_create("search", BreakerConfig::default(), None);
/// assert!(std::sync::Arc::ptr_eq(&a, &b), "one breaker per name");
/// assert_eq!(registry.names(), ["search"]);
/// ```
#[derive(Default)]
pub struct BreakerRegistry {
    breakers: RwLock<HashMap<BreakerName, Arc<CircuitBreaker>>>,
    settings: RwLock<BreakerSettings>,
}

impl BreakerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The breaker named `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        read(&self.breakers).get(name).cloned()
    }

    /// The breaker named `name`; if there is none, one is created with the settings loaded
    /// under `settings_key` when there are some, and with `config` otherwise.
    ///
    /// # Panics
    ///
    /// If the breaker is created with `config` and `config` is invalid (settings loaded with
    /// [`load`](Self::load) are valid: it refuses the others).
    pub fn get_or_create(
        &self,
        name: impl Into<BreakerName>,
        config: BreakerConfig,
        settings_key: Option<&str>,
    ) -> Arc<CircuitBreaker> {
        let name = name.into();
        if let Some(breaker) = self.get(name.as_str()) {
            return breaker;
        }
        let config = settings_key
            .and_then(|key| self.settings(key))
            .unwrap_or(config);
        let mut breakers = write(&self.breakers);
        // Another thread may have created it between the read and the write.
        Arc::clone(
            breakers
                .entry(name.clone())
                .or_insert_with(|| Arc::new(CircuitBreaker::new(name, config))),
        )
    }

    /// Registers `breaker` under its name, so that the guarded functions of that name use
    /// it (a breaker on a manual clock in tests, say); gives it back if the name is taken.
    pub fn register(&self, breaker: CircuitBreaker) -> Result<Arc<CircuitBreaker>, CircuitBreaker> {
        let mut breakers = write(&self.breakers);
        if breakers.contains_key(breaker.name().as_str()) {
            return Err(breaker);
        }
        let breaker = Arc::new(breaker);
        breakers.insert(breaker.name().clone(), Arc::clone(&breaker));
        Ok(breaker)
    }

    /// The names of the registered breakers, sorted.
    pub fn names(&self) -> Vec<BreakerName> {
        let mut names: Vec<BreakerName> = read(&self.breakers).keys().cloned().collect();
        names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        names
    }

    /// The metrics of every registered breaker, sorted by name: for dashboards.
    pub fn metrics(&self) -> Vec<Metrics> {
        let mut breakers: Vec<Arc<CircuitBreaker>> =
            read(&self.breakers).values().cloned().collect();
        breakers.sort_by(|a, b| a.name().as_str().cmp(b.name().as_str()));
        breakers.iter().map(|b| b.metrics()).collect()
    }

    /// Loads settings (read from a file, say): a breaker created afterwards for a function
    /// with `config = "key"` takes the settings under `key`. Breakers already created keep
    /// theirs.
    ///
    /// Every config is validated first: if one is invalid, nothing is loaded and the error
    /// names its key and its field (a config that would make every call of its functions
    /// panic is refused here, once, rather than in the request path).
    ///
    /// ```
    /// use breaker::{BreakerRegistry, BreakerSettings};
    /// use breaker::BreakerConfig;
    ///
    /// let registry = BreakerRegistry::new();
    /// let mut settings = BreakerSettings::new();
    /// settings.insert("openai", BreakerConfig::default().with_threshold(3));
    /// registry.load(settings.clone()).unwrap();
    /// assert_eq!(registry.settings("openai").unwrap().threshold, 3);
    ///
    /// settings.insert("anthropic", BreakerConfig::default().with_threshold(0));
    /// let err = registry.load(settings).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid circuit breaker config under `anthropic`: `threshold` = 0: must be at least 1"
    /// );
    /// assert!(registry.settings("anthropic").is_none());
    /// ```
    pub fn load(&self, settings: BreakerSettings) -> Result<(), ConfigError> {
        settings.validate()?;
        let mut current = write(&self.settings);
        for (key, config) in settings {
            current.insert(key, config);
        }
        Ok(())
    }

    /// The settings loaded under `key`.
    pub fn settings(&self, key: &str) -> Option<BreakerConfig> {
        read(&self.settings).get(key).cloned()
    }
}

impl std::fmt::Debug for BreakerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerRegistry")
            .field("breakers", &self.names())
            .finish_non_exhaustive()
    }
}

impl BreakerRegistry {
    /// The process-wide registry, which `#[circuit_breaker]` functions and
    /// `#[derive(CircuitBreakers)]` enums use.
    ///
    /// ```
    /// use breaker::BreakerRegistry;
    ///
    /// assert!(std::ptr::eq(BreakerRegistry::global(), BreakerRegistry::global()));
    /// ```
    pub fn global() -> &'static BreakerRegistry {
        static GLOBAL: OnceLock<BreakerRegistry> = OnceLock::new();
        GLOBAL.get_or_init(BreakerRegistry::new)
    }
}

/// The breaker of a guarded function, from the process-wide registry.
#[doc(hidden)]
pub fn named(
    name: impl Into<BreakerName>,
    config: BreakerConfig,
    settings_key: Option<&str>,
) -> Arc<CircuitBreaker> {
    BreakerRegistry::global().get_or_create(name, config, settings_key)
}

/// `config` unless settings were loaded under `settings_key` in the process-wide registry.
#[doc(hidden)]
pub fn configured(settings_key: Option<&str>, config: BreakerConfig) -> BreakerConfig {
    settings_key
        .and_then(|key| BreakerRegistry::global().settings(key))
        .unwrap_or(config)
}

// A panic while a lock is held leaves the maps consistent (every write is one insert), so a
// poisoned lock is used as it is.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(feature = "metrics")]
impl BreakerRegistry {
    /// Publishes the state and call counts of every breaker of the registry through the
    /// `metrics` facade (feature `metrics`; see [`export`](crate::export) for the metric
    /// names).
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn export_metrics(&self) {
        for metrics in self.metrics() {
            crate::export::publish(&metrics);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use std::time::Duration;

    #[test]
    fn settings_replace_the_attribute_config_for_new_breakers() {
        let registry = BreakerRegistry::new();
        let mut settings = BreakerSettings::new();
        settings.insert("openai", BreakerConfig::default().with_threshold(9));
        registry.load(settings).unwrap();
        let configured = registry.get_or_create(
            "a",
            BreakerConfig::default().with_threshold(2),
            Some("openai"),
        );
        assert_eq!(configured.config().threshold, 9);
        let unconfigured = registry.get_or_create(
            "b",
            BreakerConfig::default().with_threshold(2),
            Some("missing"),
        );
        assert_eq!(unconfigured.config().threshold, 2);
    }

    #[test]
    fn load_refuses_invalid_settings_built_in_code_naming_key_and_field() {
        let registry = BreakerRegistry::new();
        let mut settings = BreakerSettings::new();
        settings.insert("good", BreakerConfig::default().with_threshold(3));
        settings.insert("bad", BreakerConfig::default().with_half_open_max(0));
        let refused = registry.load(settings);
        // The function configured with `bad` gets its attribute's config, not a panic on
        // its first call.
        let breaker =
            registry.get_or_create("f", BreakerConfig::default().with_threshold(2), Some("bad"));
        assert_eq!(breaker.config().threshold, 2);
        let err = refused.unwrap_err();
        assert_eq!(
            (err.key(), err.field(), err.value()),
            (Some("bad"), "half_open_max", "0")
        );
        assert_eq!(
            err.to_string(),
            "invalid circuit breaker config under `bad`: `half_open_max` = 0: must be at least 1"
        );
        assert!(registry.settings("good").is_none(), "all or nothing");
    }

    #[test]
    fn a_keyed_registry_refuses_invalid_settings_built_in_code() {
        let mut settings = BreakerSettings::new();
        settings.insert("tenant-1", BreakerConfig::default().with_threshold(0));
        let registry = crate::KeyedRegistry::<String>::new(10, BreakerConfig::default());
        let err = registry.try_with_settings(settings).err().unwrap();
        assert_eq!(
            (err.key(), err.field(), err.value()),
            (Some("tenant-1"), "threshold", "0")
        );
    }

    #[test]
    fn a_registered_breaker_is_the_one_used_and_names_are_unique() {
        let registry = BreakerRegistry::new();
        let clock = ManualClock::new();
        let config = BreakerConfig::default().with_cooldown(Duration::from_secs(1));
        let registered = registry
            .register(CircuitBreaker::with_clock(
                "tests::complete",
                config.clone(),
                clock.clone(),
            ))
            .unwrap();
        let found = registry.get_or_create("tests::complete", BreakerConfig::default(), None);
        assert!(Arc::ptr_eq(&registered, &found));
        let again = registry.register(CircuitBreaker::with_clock("tests::complete", config, clock));
        assert!(again.is_err());
    }

    #[test]
    fn concurrent_first_calls_create_one_breaker() {
        let registry = BreakerRegistry::new();
        let created: Vec<Arc<CircuitBreaker>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| registry.get_or_create("shared", BreakerConfig::default(), None))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(created.iter().all(|b| Arc::ptr_eq(b, &created[0])));
        assert_eq!(registry.names().len(), 1);
    }
}
