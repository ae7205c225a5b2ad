//! [`BreakerConfig`]: when a breaker trips, how long it stays open, how it probes.
//!
//! The configuration deserializes from any serde format, with durations written as
//! [`humantime`] strings (`"30s"`, `"1m 30s"`, `"250ms"`), and is validated as it is read:
//! a zero threshold, a zero probe limit, a malformed duration and an unknown field are each an
//! error that names the field and the value.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backoff::{Backoff, Jitter};

use crate::breaker::MAX_THRESHOLD;

/// How a circuit breaker behaves.
///
/// | field | default | meaning |
/// | --- | --- | --- |
/// | `threshold` | 5 | consecutive failures in Closed that open the circuit (1 to 16,777,214) |
/// | `cooldown` | 30 s | how long the circuit stays Open before the next call is let through as a probe |
/// | `half_open_max` | 1 | how many probes may be in flight at once in HalfOpen (at least 1) |
/// | `half_open_timeout` | 60 s | how long HalfOpen waits for its probes before it gives them up as lost and admits new ones (more than zero) |
/// | `backoff` | `"fixed"` | `"fixed"`: every opening lasts `cooldown`; `"exponential"`: each opening in a row lasts `backoff_multiplier` times longer, at most `max_cooldown` ([`Backoff`]) |
/// | `backoff_multiplier` | 2 | exponential only: at least 1 |
/// | `max_cooldown` | 10 min | exponential only: at least `cooldown` |
/// | `jitter` | `"none"` | `"full"` (anywhere in `[0, d]`) or `"equal"` (in `[d/2, d]`): randomises each opening ([`Jitter`]) |
/// | `jitter_seed` | random | a seed for the jitter, to make it repeatable (tests) |
///
/// `half_open_timeout` is what keeps a leaked permit (one passed to `mem::forget`, or held by
/// a call that hangs) from wedging the breaker in HalfOpen for ever; a probe that reports after
/// it has been given up is ignored.
///
/// ```
/// use std::time::Duration;
/// use breaker::BreakerConfig;
///
/// let config: BreakerConfig = toml::from_str(r#"
///     threshold = 3
///     cooldown = "1m 30s"
/// "#).unwrap();
/// assert_eq!(config.threshold, 3);
/// assert_eq!(config.cooldown, Duration::from_secs(90));
/// assert_eq!(config.half_open_max, 1); // the default
///
/// let err = toml::from_str::<BreakerConfig>("threshold = 0").unwrap_err();
/// assert!(err.to_string().contains("`threshold`"));
///
/// // Or in code:
/// let config = BreakerConfig::default()
///     .with_threshold(2)
///     .with_cooldown(Duration::from_secs(10));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawConfig", into = "RawConfig")]
pub struct BreakerConfig {
    /// Consecutive failures in Closed that open the circuit; from 1 to 16,777,214.
    pub threshold: u32,
    /// How long the circuit stays Open before the next call goes through as a probe.
    pub cooldown: Duration,
    /// How many probes may be in flight at once in HalfOpen; at least 1.
    pub half_open_max: u32,
    /// How long HalfOpen waits for its probes before giving them up as lost and admitting
    /// new ones; more than zero.
    pub half_open_timeout: Duration,
    /// How the open duration grows when the circuit opens again without closing.
    pub backoff: Backoff,
    /// How each open duration is randomised.
    pub jitter: Jitter,
    /// The seed of the jitter's random numbers; `None`: a seed of the process's own.
    pub jitter_seed: Option<u64>,
}

impl BreakerConfig {
    /// The default threshold: 5 consecutive failures.
    pub const DEFAULT_THRESHOLD: u32 = 5;
    /// The default cooldown: 30 seconds.
    pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
    /// The default number of probes in flight in HalfOpen: 1.
    pub const DEFAULT_HALF_OPEN_MAX: u32 = 1;
    /// The default time HalfOpen waits for its probes: 60 seconds.
    pub const DEFAULT_HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(60);

    /// The defaults: threshold 5, cooldown 30 s, one probe, half-open timeout 60 s.
    pub const fn new() -> Self {
        Self {
            threshold: Self::DEFAULT_THRESHOLD,
            cooldown: Self::DEFAULT_COOLDOWN,
            half_open_max: Self::DEFAULT_HALF_OPEN_MAX,
            half_open_timeout: Self::DEFAULT_HALF_OPEN_TIMEOUT,
            backoff: Backoff::Fixed,
            jitter: Jitter::None,
            jitter_seed: None,
        }
    }

    /// This configuration with `threshold` consecutive failures to open.
    pub const fn with_threshold(mut self, threshold: u32) -> Self {
        self.threshold = threshold;
        self
    }

    /// This configuration with a cooldown of `cooldown`.
    pub const fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// This configuration with at most `half_open_max` probes in flight.
    pub const fn with_half_open_max(mut self, half_open_max: u32) -> Self {
        self.half_open_max = half_open_max;
        self
    }

    /// This configuration with a half-open timeout of `half_open_timeout`.
    pub const fn with_half_open_timeout(mut self, half_open_timeout: Duration) -> Self {
        self.half_open_timeout = half_open_timeout;
        self
    }

    /// This configuration with `backoff` for the open duration.
    pub const fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// This configuration with `jitter` on the open duration.
    pub const fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// This configuration with a fixed seed for the jitter (repeatable durations, for tests).
    pub const fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Checks the invariants: `1 <= threshold <= 16_777_214`, `half_open_max >= 1`,
    /// `half_open_timeout > 0`, and for an exponential backoff a multiplier of at least 1
    /// and a cap of at least the cooldown.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.threshold == 0 {
            return Err(ConfigError::new("threshold", "0", "must be at least 1"));
        }
        if self.threshold > MAX_THRESHOLD {
            return Err(ConfigError::new(
                "threshold",
                self.threshold.to_string(),
                format!("must be at most {MAX_THRESHOLD}"),
            ));
        }
        if self.half_open_max == 0 {
            return Err(ConfigError::new("half_open_max", "0", "must be at least 1"));
        }
        if self.half_open_timeout.is_zero() {
            return Err(ConfigError::new(
                "half_open_timeout",
                "0s",
                "must be more than zero",
            ));
        }
        if let Backoff::Exponential { multiplier, max } = self.backoff {
            if !(multiplier.is_finite() && multiplier >= 1.0) {
                return Err(ConfigError::new(
                    "backoff_multiplier",
                    multiplier.to_string(),
                    "must be a number of at least 1",
                ));
            }
            if max < self.cooldown {
                return Err(ConfigError::new(
                    "max_cooldown",
                    format!("\"{}\"", humantime::format_duration(max)),
                    format!(
                        "must be at least the cooldown (\"{}\"): it caps how long the circuit stays open",
                        humantime::format_duration(self.cooldown)
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// An invalid [`BreakerConfig`]: which field, the value it had, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: &'static str,
    value: String,
    problem: String,
}

impl ConfigError {
    fn new(field: &'static str, value: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field,
            value: value.into(),
            problem: problem.into(),
        }
    }

    /// The field that is wrong, as written in a configuration file.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The value it had, as written.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid circuit breaker config: `{}` = {}: {}",
            self.field, self.value, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

/// The configuration as written: durations as humantime strings, every field optional.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_threshold")]
    threshold: u32,
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

fn default_threshold() -> u32 {
    BreakerConfig::DEFAULT_THRESHOLD
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
enum HumanDuration {
    Parsed(Duration),
    Text(String),
}

impl HumanDuration {
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
                    let text = format!("\"{}\"", humantime::format_duration(max));
                    return Err(exponential_only("max_cooldown", text));
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
        let config = BreakerConfig {
            threshold: raw.threshold,
            cooldown: raw.cooldown.parse("cooldown")?,
            half_open_max: raw.half_open_max,
            half_open_timeout: raw.half_open_timeout.parse("half_open_timeout")?,
            backoff,
            jitter: raw.jitter,
            jitter_seed: raw.jitter_seed,
        };
        config.validate()?;
        Ok(config)
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
        RawConfig {
            threshold: config.threshold,
            cooldown: HumanDuration::Parsed(config.cooldown),
            half_open_max: config.half_open_max,
            half_open_timeout: HumanDuration::Parsed(config.half_open_timeout),
            backoff,
            backoff_multiplier,
            max_cooldown,
            jitter: config.jitter,
            jitter_seed: config.jitter_seed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> Result<BreakerConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    fn from_json(text: &str) -> Result<BreakerConfig, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_match_the_reference_designs() {
        let config = BreakerConfig::default();
        assert_eq!(config.threshold, 5);
        assert_eq!(config.cooldown, Duration::from_secs(30));
        assert_eq!(config.half_open_max, 1);
        assert_eq!(config.half_open_timeout, Duration::from_secs(60));
        assert_eq!(config, BreakerConfig::new());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn empty_document_gives_the_defaults() {
        assert_eq!(from_toml("").unwrap(), BreakerConfig::default());
        assert_eq!(from_json("{}").unwrap(), BreakerConfig::default());
    }

    #[test]
    fn durations_are_humantime_strings() {
        let config = from_toml(
            r#"
            threshold = 3
            cooldown = "1m 30s"
            half_open_max = 2
            half_open_timeout = "250ms"
            "#,
        )
        .unwrap();
        assert_eq!(
            config,
            BreakerConfig {
                threshold: 3,
                cooldown: Duration::from_secs(90),
                half_open_max: 2,
                half_open_timeout: Duration::from_millis(250),
                ..BreakerConfig::default()
            }
        );
    }

    #[test]
    fn round_trips_through_toml_and_json() {
        let config = BreakerConfig::default()
            .with_threshold(7)
            .with_cooldown(Duration::from_millis(1500))
            .with_half_open_max(3)
            .with_half_open_timeout(Duration::from_secs(120));
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("cooldown = \"1s 500ms\""), "{text}");
        assert!(text.contains("half_open_timeout = \"2m\""), "{text}");
        assert_eq!(from_toml(&text).unwrap(), config);
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(
            json,
            r#"{"threshold":7,"cooldown":"1s 500ms","half_open_max":3,"half_open_timeout":"2m"}"#
        );
        assert_eq!(from_json(&json).unwrap(), config);
    }

    #[test]
    fn zero_threshold_is_an_error_naming_field_and_value() {
        let err = from_toml("threshold = 0").unwrap_err();
        assert!(err.contains("`threshold` = 0"), "{err}");
        assert!(err.contains("at least 1"), "{err}");
        let err = from_json(r#"{"threshold": 0}"#).unwrap_err();
        assert!(err.contains("`threshold` = 0"), "{err}");
    }

    #[test]
    fn a_huge_threshold_is_an_error() {
        let err = from_toml("threshold = 20000000").unwrap_err();
        assert!(
            err.contains("`threshold` = 20000000: must be at most 16777214"),
            "{err}"
        );
        assert!(
            BreakerConfig::default()
                .with_threshold(MAX_THRESHOLD)
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn zero_half_open_max_is_an_error_naming_field_and_value() {
        let err = from_toml("half_open_max = 0").unwrap_err();
        assert!(err.contains("`half_open_max` = 0"), "{err}");
    }

    #[test]
    fn zero_half_open_timeout_is_an_error() {
        let err = from_toml("half_open_timeout = \"0s\"").unwrap_err();
        assert!(err.contains("`half_open_timeout` = 0s"), "{err}");
    }

    #[test]
    fn malformed_duration_is_an_error_naming_field_and_value() {
        let err = from_toml(r#"cooldown = "30 parsecs""#).unwrap_err();
        assert!(err.contains("`cooldown` = \"30 parsecs\""), "{err}");
        assert!(err.contains("not a duration"), "{err}");
        let err = from_json(r#"{"half_open_timeout": "soon"}"#).unwrap_err();
        assert!(err.contains("`half_open_timeout` = \"soon\""), "{err}");
    }

    #[test]
    fn a_number_is_not_a_duration() {
        let err = from_json(r#"{"cooldown": 30}"#).unwrap_err();
        assert!(err.contains("cooldown") || err.contains("string"), "{err}");
    }

    #[test]
    fn unknown_field_is_an_error_naming_it() {
        let err = from_toml("treshold = 3").unwrap_err();
        assert!(err.contains("unknown field `treshold`"), "{err}");
        let err = from_json(r#"{"threshold": 3, "colldown": "1s"}"#).unwrap_err();
        assert!(err.contains("unknown field `colldown`"), "{err}");
    }

    #[test]
    fn validate_reports_the_first_problem() {
        let config = BreakerConfig::default()
            .with_threshold(0)
            .with_half_open_max(0);
        let err = config.validate().unwrap_err();
        assert_eq!(err.field(), "threshold");
        assert_eq!(err.value(), "0");
        assert_eq!(
            err.to_string(),
            "invalid circuit breaker config: `threshold` = 0: must be at least 1"
        );
        let err = BreakerConfig::default()
            .with_half_open_max(0)
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "half_open_max");
        let err = BreakerConfig::default()
            .with_half_open_timeout(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "half_open_timeout");
    }

    #[test]
    fn backoff_and_jitter_are_read_flat() {
        let config = from_toml(
            r#"
            cooldown = "10s"
            backoff = "exponential"
            backoff_multiplier = 1.5
            max_cooldown = "5m"
            jitter = "equal"
            jitter_seed = 7
            "#,
        )
        .unwrap();
        assert_eq!(
            config.backoff,
            Backoff::Exponential {
                multiplier: 1.5,
                max: Duration::from_secs(300)
            }
        );
        assert_eq!(config.jitter, Jitter::Equal);
        assert_eq!(config.jitter_seed, Some(7));
        let again = from_toml(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);

        let defaults = from_toml("backoff = \"exponential\"").unwrap();
        assert_eq!(defaults.backoff, Backoff::exponential());
    }

    #[test]
    fn bad_backoff_settings_name_the_field_and_the_value() {
        let err = from_toml("backoff = \"exponential\"\nbackoff_multiplier = 0.5").unwrap_err();
        assert!(
            err.contains("`backoff_multiplier` = 0.5") && err.contains("at least 1"),
            "{err}"
        );
        let err = from_toml("cooldown = \"1m\"\nbackoff = \"exponential\"\nmax_cooldown = \"30s\"")
            .unwrap_err();
        assert!(
            err.contains("`max_cooldown` = \"30s\"") && err.contains("at least the cooldown"),
            "{err}"
        );
        let err = from_toml("max_cooldown = \"5m\"").unwrap_err();
        assert!(
            err.contains("`max_cooldown`") && err.contains("only applies to"),
            "{err}"
        );
        let err = from_toml("backoff = \"linear\"").unwrap_err();
        assert!(
            err.contains("linear") && err.contains("exponential"),
            "{err}"
        );
        let err = from_toml("jitter = \"half\"").unwrap_err();
        assert!(err.contains("half") && err.contains("equal"), "{err}");
    }
}
