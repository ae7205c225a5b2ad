//! The shared table's verdicts as [`ConfigError`]s, for [`BreakerConfig::validate`]
//! (values in code) and the file reader (values as written, shown as written).

use std::fmt::Display;

use breaker_settings::{Conflict, Input, Refusal, Value};

use super::ConfigError;

/// `input` read as a value of the setting `key`, within its limits; `shown` is the value
/// in the error.
pub(super) fn value(
    key: &'static str,
    input: Input<'_>,
    shown: impl Display,
) -> Result<Value, ConfigError> {
    let setting = breaker_settings::setting(key).expect("a setting of the table");
    breaker_settings::check(setting, input).map_err(|refusal| refused(&refusal, shown))
}

/// A value refused on its own.
pub(super) fn refused(refusal: &Refusal, shown: impl Display) -> ConfigError {
    ConfigError::new(refusal.field(), shown.to_string(), refusal.to_string())
}

/// A setting refused by a rule between settings.
pub(super) fn conflict(conflict: &Conflict, shown: String) -> ConfigError {
    ConfigError::new(conflict.field, shown, conflict.to_string())
}
