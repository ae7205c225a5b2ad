//! One setting's value on its own: read by its [`Kind`](crate::Kind) and checked against
//! its limits.

use std::fmt;
use std::time::Duration;

use crate::{Kind, Setting, Value};

/// A value as a side has it before it is checked: a file's untyped value, an attribute's
/// literal, or a field of a configuration built in code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input<'a> {
    /// A whole number, of any sign and size a side can hold.
    Whole(i128),
    /// A number with a fractional part or an exponent.
    Number(f64),
    /// A string.
    Text(&'a str),
    /// A duration already (a configuration built in code).
    Duration(Duration),
    /// A value of another type, described for the message (`"a boolean"`).
    Other(&'static str),
}

/// Why a value is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Of the wrong type: `got` describes what it is.
    WrongType {
        /// What it is (`"a string"`).
        got: &'static str,
    },
    /// A count below 1.
    BelowOne,
    /// A count above its maximum.
    AboveMax(u32),
    /// Not a whole number of percent from 1 to 100.
    NotPercent,
    /// A seed below 0 or above 2^64 - 1.
    NotSeed,
    /// A multiplier below 1 (or not finite).
    MultiplierBelowOne,
    /// A string that is not a duration: the parser's reason.
    NotDuration(String),
    /// A zero duration where zero is not allowed.
    Zero,
    /// A duration above its maximum.
    TooLong,
    /// A name that is not one of the setting's choices.
    NotChoice,
}

/// A value refused: for which setting, and why. Displays as a configuration file's message
/// (`must be at least 1`); [`field`](Self::field) names the setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The setting refused.
    pub setting: &'static Setting,
    /// Why.
    pub problem: Problem,
}

impl Refusal {
    /// The key of the setting refused.
    pub fn field(&self) -> &'static str {
        self.setting.key
    }
}

/// What a setting of `kind` takes, in words (`a whole number`).
pub fn takes(kind: Kind) -> String {
    match kind {
        Kind::Count { .. } | Kind::Seed => "a whole number".to_owned(),
        Kind::Percent => "a percentage, a whole number from 1 to 100".to_owned(),
        Kind::Duration { .. } => {
            "a duration written as a string, such as \"30s\", \"1m 30s\" or \"250ms\"".to_owned()
        }
        Kind::Multiplier => "a number of at least 1".to_owned(),
        Kind::Choice(names) => {
            let names: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
            format!("one of {}", names.join(", "))
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.setting.kind;
        match &self.problem {
            Problem::WrongType { got } => write!(f, "must be {}, not {got}", takes(kind)),
            Problem::BelowOne => f.write_str("must be at least 1"),
            Problem::AboveMax(max) => write!(f, "must be at most {max}"),
            Problem::NotPercent => f.write_str("must be a percentage from 1 to 100"),
            Problem::NotSeed => write!(f, "must be a whole number from 0 to {}", u64::MAX),
            Problem::MultiplierBelowOne => f.write_str("must be a number of at least 1"),
            Problem::NotDuration(reason) => {
                write!(f, "not a duration ({reason}); must be {}", takes(kind))
            }
            Problem::Zero => f.write_str("must be more than zero"),
            Problem::TooLong => match kind {
                Kind::Duration { max_text, .. } => write!(f, "must be at most {max_text}"),
                _ => f.write_str("is too long"),
            },
            Problem::NotChoice => write!(f, "must be {}", takes(kind)),
        }
    }
}

impl std::error::Error for Refusal {}

/// A duration as a setting writes it (`"1m 30s"`, `"250ms"`); surrounding spaces ignored.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| e.to_string())
}

/// Reads `input` as a value of `setting`, within its limits.
pub fn check(setting: &'static Setting, input: Input<'_>) -> Result<Value, Refusal> {
    let refuse = |problem| Refusal { setting, problem };
    let wrong_type = || {
        refuse(Problem::WrongType {
            got: match input {
                Input::Whole(_) => "a whole number",
                Input::Number(_) => "a floating-point number",
                Input::Text(_) => "a string",
                Input::Duration(_) => "a duration",
                Input::Other(got) => got,
            },
        })
    };
    match setting.kind {
        Kind::Count { max, .. } => {
            let Input::Whole(n) = input else {
                return Err(wrong_type());
            };
            if n < 1 {
                return Err(refuse(Problem::BelowOne));
            }
            match u32::try_from(n) {
                Ok(n) if n <= max => Ok(Value::Whole(n.into())),
                _ => Err(refuse(Problem::AboveMax(max))),
            }
        }
        Kind::Percent => match input {
            Input::Whole(n @ 1..=100) => Ok(Value::Whole(n as u64)),
            Input::Whole(_) => Err(refuse(Problem::NotPercent)),
            _ => Err(wrong_type()),
        },
        Kind::Seed => match input {
            Input::Whole(n) => u64::try_from(n)
                .map(Value::Whole)
                .map_err(|_| refuse(Problem::NotSeed)),
            _ => Err(wrong_type()),
        },
        Kind::Multiplier => {
            let x = match input {
                Input::Whole(n) => n as f64,
                Input::Number(x) => x,
                _ => return Err(wrong_type()),
            };
            if x.is_finite() && x >= 1.0 {
                Ok(Value::Number(x))
            } else {
                Err(refuse(Problem::MultiplierBelowOne))
            }
        }
        Kind::Duration {
            max, zero_allowed, ..
        } => {
            let duration = match input {
                Input::Duration(d) => d,
                Input::Text(text) => {
                    parse_duration(text).map_err(|e| refuse(Problem::NotDuration(e)))?
                }
                _ => return Err(wrong_type()),
            };
            if duration.is_zero() && !zero_allowed {
                return Err(refuse(Problem::Zero));
            }
            if duration > max {
                return Err(refuse(Problem::TooLong));
            }
            Ok(Value::Duration(duration))
        }
        Kind::Choice(names) => {
            let Input::Text(text) = input else {
                return Err(wrong_type());
            };
            names
                .iter()
                .find(|name| **name == text)
                .map(|name| Value::Choice(name))
                .ok_or_else(|| refuse(Problem::NotChoice))
        }
    }
}
