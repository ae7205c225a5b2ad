//! [`FleetOptions`]: how an instance shares its breakers through the store.

use std::time::Duration;

use serde::Deserialize;

use super::FleetError;

/// How an instance shares its breakers through the store. Every field has a default; read
/// from a file with serde (durations as `"250ms"`, `"1s"`), or built in code.
///
/// ```
/// use std::time::Duration;
/// use breaker::fleet::FleetOptions;
///
/// let options: FleetOptions = toml::from_str(r#"
///     prefix = "llm"
///     poll_interval = "2s"
///     quorum = 2
/// "#).unwrap();
/// assert_eq!(options.poll_interval, Duration::from_secs(2));
/// assert_eq!(options.store_timeout, Duration::from_millis(250));
///
/// let bad = toml::from_str::<FleetOptions>(r#"poll_interval = "soon""#).unwrap_err();
/// assert!(bad.to_string().contains(r#"fleet option `poll_interval` = "soon""#), "{bad}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawOptions")]
#[non_exhaustive]
pub struct FleetOptions {
    /// Put before every key and the channel: fleets (or environments) sharing one server
    /// apart. Default `breaker`.
    pub prefix: String,
    /// This instance's name in the store (who decided what); default: the process id and a
    /// random number.
    pub instance: Option<String>,
    /// How often the records of the active breakers are read, as a backstop to the
    /// channel; also the store breaker's cooldown. Default 1 s.
    pub poll_interval: Duration,
    /// How long a store command may take before it counts as failed. Default 250 ms.
    pub store_timeout: Duration,
    /// Failed store commands in a row before the store is considered unreachable (and the
    /// breakers decide locally). Default 2.
    pub store_failures: u32,
    /// How much longer than the fleet's opening a breaker stays open, so that its probe
    /// waits for the lease: past it, an instance that could not reach the store probes on
    /// its own. Default 1 s.
    pub hold: Duration,
    /// How many instances must trip within `quorum_window` before the fleet opens; below
    /// it, a trip stays local. Default 1 (every trip opens the fleet).
    pub quorum: u32,
    /// See `quorum`. Default 60 s.
    pub quorum_window: Duration,
    /// How long a breaker's keys outlive its last deadline. Default 24 h.
    pub retention: Duration,
    /// Receive the changes on the channel as they are made (else by polling only).
    /// Default true.
    pub pubsub: bool,
    /// While the store is unreachable, keep every attached breaker open (forced open,
    /// until the store is back) instead of deciding locally. Default false.
    pub fail_closed: bool,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            prefix: "breaker".to_owned(),
            instance: None,
            poll_interval: Duration::from_secs(1),
            store_timeout: Duration::from_millis(250),
            store_failures: 2,
            hold: Duration::from_secs(1),
            quorum: 1,
            quorum_window: Duration::from_secs(60),
            retention: Duration::from_secs(24 * 60 * 60),
            pubsub: true,
            fail_closed: false,
        }
    }
}

impl FleetOptions {
    /// These options with `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// These options with this instance's name.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// These options with `poll_interval`.
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// These options with `store_timeout`.
    pub fn with_store_timeout(mut self, store_timeout: Duration) -> Self {
        self.store_timeout = store_timeout;
        self
    }

    /// These options with `hold`.
    pub fn with_hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// These options with a quorum of `quorum` instances within `window`.
    pub fn with_quorum(mut self, quorum: u32, window: Duration) -> Self {
        self.quorum = quorum;
        self.quorum_window = window;
        self
    }

    /// These options receiving changes on the channel (`true`) or by polling only.
    pub fn with_pubsub(mut self, pubsub: bool) -> Self {
        self.pubsub = pubsub;
        self
    }

    /// These options keeping every breaker open while the store is unreachable.
    pub fn with_fail_closed(mut self, fail_closed: bool) -> Self {
        self.fail_closed = fail_closed;
        self
    }

    /// Checks every option's range: the error names the option and its value.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::fleet::FleetOptions;
    ///
    /// let error = FleetOptions::default().with_poll_interval(Duration::ZERO).validate();
    /// assert_eq!(
    ///     error.unwrap_err().to_string(),
    ///     "fleet option `poll_interval` = 0ns: more than zero"
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// [`FleetError::Options`] for the first option out of its range.
    pub fn validate(&self) -> Result<(), FleetError> {
        let positive = [
            ("poll_interval", self.poll_interval),
            ("store_timeout", self.store_timeout),
            ("quorum_window", self.quorum_window),
            ("retention", self.retention),
        ];
        for (field, value) in positive {
            if value.is_zero() {
                return Err(FleetError::Options {
                    field,
                    value: format!("{value:?}"),
                    expected: "more than zero",
                });
            }
        }
        for (field, value) in [
            ("quorum", self.quorum),
            ("store_failures", self.store_failures),
        ] {
            if value == 0 {
                return Err(FleetError::Options {
                    field,
                    value: value.to_string(),
                    expected: "at least 1",
                });
            }
        }
        if self.prefix.is_empty() {
            return Err(FleetError::Options {
                field: "prefix",
                value: "\"\"".to_owned(),
                expected: "not empty",
            });
        }
        Ok(())
    }

    /// The channel the changes are published on.
    pub(super) fn channel(&self) -> String {
        format!("{}:changes", self.prefix)
    }

    /// This instance's name: given, or the process id and a random number.
    pub(super) fn instance_name(&self) -> String {
        if let Some(instance) = &self.instance {
            return instance.clone();
        }
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        format!("{}-{:08x}", std::process::id(), hasher.finish() as u32)
    }
}

/// The options as a file writes them: durations as text, read and every option checked
/// when converted, so that an error names the option and its value in every format.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    prefix: Option<String>,
    instance: Option<String>,
    poll_interval: Option<String>,
    store_timeout: Option<String>,
    store_failures: Option<u32>,
    hold: Option<String>,
    quorum: Option<u32>,
    quorum_window: Option<String>,
    retention: Option<String>,
    pubsub: Option<bool>,
    fail_closed: Option<bool>,
}

impl TryFrom<RawOptions> for FleetOptions {
    type Error = FleetError;

    fn try_from(raw: RawOptions) -> Result<Self, FleetError> {
        fn duration(
            field: &'static str,
            text: Option<String>,
            default: Duration,
        ) -> Result<Duration, FleetError> {
            match text {
                None => Ok(default),
                Some(text) => humantime::parse_duration(&text).map_err(|_| FleetError::Options {
                    field,
                    value: format!("{text:?}"),
                    expected: "a duration such as \"250ms\" or \"1s\"",
                }),
            }
        }
        let default = FleetOptions::default();
        let options = FleetOptions {
            prefix: raw.prefix.unwrap_or(default.prefix),
            instance: raw.instance,
            poll_interval: duration("poll_interval", raw.poll_interval, default.poll_interval)?,
            store_timeout: duration("store_timeout", raw.store_timeout, default.store_timeout)?,
            store_failures: raw.store_failures.unwrap_or(default.store_failures),
            hold: duration("hold", raw.hold, default.hold)?,
            quorum: raw.quorum.unwrap_or(default.quorum),
            quorum_window: duration("quorum_window", raw.quorum_window, default.quorum_window)?,
            retention: duration("retention", raw.retention, default.retention)?,
            pubsub: raw.pubsub.unwrap_or(default.pubsub),
            fail_closed: raw.fail_closed.unwrap_or(default.fail_closed),
        };
        options.validate()?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_option_is_named_with_its_value_in_toml_and_json() {
        let toml = toml::from_str::<FleetOptions>("hold = \"a while\"").unwrap_err();
        let json = serde_json::from_str::<FleetOptions>(r#"{"hold": "a while"}"#).unwrap_err();
        for error in [toml.to_string(), json.to_string()] {
            assert!(
                error.contains("fleet option `hold` = \"a while\""),
                "{error}"
            );
        }
        let json = serde_json::from_str::<FleetOptions>(r#"{"quorum": 0}"#).unwrap_err();
        assert!(
            json.to_string()
                .contains("fleet option `quorum` = 0: at least 1"),
            "{json}"
        );
        let unknown = serde_json::from_str::<FleetOptions>(r#"{"qorum": 2}"#).unwrap_err();
        assert!(unknown.to_string().contains("qorum"), "{unknown}");
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(
            toml::from_str::<FleetOptions>("").unwrap(),
            FleetOptions::default()
        );
    }
}
