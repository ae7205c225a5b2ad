//! [`ConfigError`]: which setting is wrong, its value, and why.

use std::borrow::Cow;
use std::fmt;

/// An invalid [`BreakerConfig`](super::BreakerConfig): which field, the value it had (as a
/// file writes it: strings and durations quoted), and what is wrong with it; and, for
/// settings keyed by breaker ([`BreakerSettings`](crate::BreakerSettings)), under
/// which key.
///
/// ```
/// use breaker::BreakerConfig;
///
/// let err = serde_json::from_str::<BreakerConfig>(r#"{"threshold": "3"}"#).unwrap_err();
/// assert!(err.to_string().contains(r#"`threshold` = "3": must be a whole number, not a string"#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    key: Option<String>,
    field: Cow<'static, str>,
    value: String,
    problem: String,
}

impl ConfigError {
    pub(super) fn new(
        field: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self {
            key: None,
            field: field.into(),
            value: value.into(),
            problem: problem.into(),
        }
    }

    /// This error, about the settings under `key`.
    pub(crate) fn under(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self
    }

    /// The key of the settings that are wrong, for settings keyed by breaker.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The field that is wrong, as written in a configuration file (an unknown field too).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The value it had, as written.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid circuit breaker config")?;
        if let Some(key) = &self.key {
            write!(f, " under `{key}`")?;
        }
        write!(f, ": `{}` = {}: {}", self.field, self.value, self.problem)
    }
}

impl std::error::Error for ConfigError {}
