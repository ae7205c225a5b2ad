//! The settings of a circuit breaker, declared once: each setting's key, kind of value,
//! limits, default and the rules between settings, with the words that refuse a bad value.
//!
//! This is an implementation crate of `breaker`: use `breaker` itself. Its runtime
//! (`breaker-core`, reading a configuration file and validating a `BreakerConfig`) and its
//! macros (`breaker-macros`, reading `#[circuit_breaker(...)]`, `#[breaker(...)]` and the
//! derive's arguments) both check settings here, so that a value the macros accept at
//! compile time is one the runtime accepts at load time, and the other way round.
//!
//! - [`SETTINGS`]: the table, one [`Setting`] per key, in the order the docs list them.
//! - [`check`]: one value on its own, by its setting's [`Kind`], into a neutral [`Value`].
//! - [`conflicts`]: the rules between settings, over anything that can say which settings
//!   were written ([`Given`]).
//!
//! ```
//! use breaker_settings::{Input, setting, check};
//!
//! let threshold = setting("threshold").unwrap();
//! assert!(check(threshold, Input::Whole(5)).is_ok());
//! let refusal = check(threshold, Input::Whole(0)).unwrap_err();
//! assert_eq!(refusal.field(), "threshold");
//! assert_eq!(refusal.to_string(), "must be at least 1");
//! ```
#![warn(missing_docs)]

use std::time::Duration;

mod check;
mod rules;

pub use check::{Input, Problem, Refusal, check, parse_duration, takes};
pub use rules::{Conflict, Given, Rule, conflicts};

/// The largest `threshold`: the runtime counts consecutive failures in the low 22 bits of
/// the word a call in Closed reads, below three marker values.
pub const MAX_THRESHOLD: u32 = 4_194_300;
/// The most probes that may be in flight in HalfOpen: each has a slot of its own.
pub const MAX_HALF_OPEN: u32 = 1_000;
/// The largest window of calls: its counts stay far below the bits that hold them.
pub const MAX_WINDOW_SIZE: u32 = 100_000;
/// The most buckets a time window is cut in.
pub const MAX_WINDOW_BUCKETS: u32 = 1_000;
/// The longest a duration setting may be: a year (`"1year"`, 365.25 days). A longer one is
/// a mistake (a unit left out, a misplaced digit), not a wish; and capped durations keep
/// every deadline far from overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(31_557_600);
/// The longest `slow_call_duration`: an hour, as calls are timed to the microsecond in a
/// 33-bit count.
pub const MAX_SLOW_CALL_DURATION: Duration = Duration::from_secs(3600);

/// The default `threshold`: 5 consecutive failures.
pub const DEFAULT_THRESHOLD: u32 = 5;
/// The default `cooldown`: 30 seconds.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// The default `half_open_max`: one probe at a time.
pub const DEFAULT_HALF_OPEN_MAX: u32 = 1;
/// The default `half_open_timeout`: 60 seconds.
pub const DEFAULT_HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(60);
/// The default `backoff_multiplier` of an exponential backoff: each opening twice as long.
pub const DEFAULT_BACKOFF_MULTIPLIER: f64 = 2.0;
/// The default `max_cooldown` of an exponential backoff: 10 minutes.
pub const DEFAULT_MAX_COOLDOWN: Duration = Duration::from_secs(600);
/// The default `success_threshold`: one successful probe closes the circuit.
pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 1;
/// The default `rate_limit_delay`: how long calls wait after a rate limit that gave no delay.
pub const DEFAULT_RATE_LIMIT_DELAY: Duration = Duration::from_secs(5);
/// The default `max_retry_after`: the longest delay a remote's answer is taken at.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// The default `window_buckets` of a time window.
pub const DEFAULT_WINDOW_BUCKETS: u32 = 10;
/// The default `failure_rate`, in percent.
pub const DEFAULT_FAILURE_RATE: u8 = 50;
/// The default `minimum_calls` of a time window (a window of calls defaults to its size).
pub const DEFAULT_TIME_WINDOW_MINIMUM: u32 = 10;
/// The default `slow_call_rate`, in percent.
pub const DEFAULT_SLOW_CALL_RATE: u8 = 100;

/// One setting: how it is written, what it takes, and what it is when not written.
#[derive(Debug, PartialEq)]
pub struct Setting {
    /// The key, as a file and an attribute write it (`threshold`).
    pub key: &'static str,
    /// What value it takes, with its limits.
    pub kind: Kind,
    /// What it is when not written.
    pub default: Default,
    /// A value to show in a hint (`5`, `"30s"`), as an attribute writes it.
    pub example: &'static str,
    /// Whether `#[circuit_breaker(...)]`, `#[breaker(...)]` and the derive take it; some
    /// settings are for configuration files only.
    pub attribute: bool,
    /// What it means, in a line.
    pub doc: &'static str,
}

/// What value a setting takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A whole number from 1 to `max`; `zero` says what 0 would do.
    Count {
        /// The largest value allowed.
        max: u32,
        /// What a 0 would do, for the macros' message.
        zero: &'static str,
    },
    /// A whole number of percent, from 1 to 100.
    Percent,
    /// A duration string (`"30s"`, `"1m 30s"`), at most `max`, and more than zero unless
    /// `zero_allowed`.
    Duration {
        /// The longest allowed.
        max: Duration,
        /// `max` in words, as the messages show it.
        max_text: &'static str,
        /// Whether zero is allowed.
        zero_allowed: bool,
    },
    /// A number of at least 1, whole or not.
    Multiplier,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// Any whole number from 0 to 2^64 - 1.
    Seed,
}

/// What a setting is when not written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// This value.
    Is(Value),
    /// Nothing: the feature it selects is off.
    Absent,
    /// Computed from other settings, as this line says.
    Derived(&'static str),
}

/// A setting's value once read, whichever side read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A count, a percentage or a seed.
    Whole(u64),
    /// A duration.
    Duration(Duration),
    /// A multiplier.
    Number(f64),
    /// One of a setting's names.
    Choice(&'static str),
}

impl Value {
    /// The whole number, if this is one.
    pub fn whole(self) -> Option<u64> {
        match self {
            Value::Whole(n) => Some(n),
            _ => None,
        }
    }

    /// The duration, if this is one.
    pub fn duration(self) -> Option<Duration> {
        match self {
            Value::Duration(d) => Some(d),
            _ => None,
        }
    }

    /// The number, if this is one (a whole number is one too).
    pub fn number(self) -> Option<f64> {
        match self {
            Value::Number(x) => Some(x),
            Value::Whole(n) => Some(n as f64),
            _ => None,
        }
    }

    /// The name, if this is one of a choice.
    pub fn choice(self) -> Option<&'static str> {
        match self {
            Value::Choice(name) => Some(name),
            _ => None,
        }
    }

    /// This value as an input to [`check`] (to check a value built in code).
    pub fn input(self) -> Input<'static> {
        match self {
            Value::Whole(n) => Input::Whole(n.into()),
            Value::Duration(d) => Input::Duration(d),
            Value::Number(x) => Input::Number(x),
            Value::Choice(name) => Input::Text(name),
        }
    }

    /// As a configuration file writes it: durations and names quoted (`"1m 30s"`).
    pub fn shown(self) -> String {
        match self {
            Value::Whole(n) => n.to_string(),
            Value::Duration(d) => format!("\"{}\"", humantime::format_duration(d)),
            Value::Number(x) => x.to_string(),
            Value::Choice(name) => format!("\"{name}\""),
        }
    }
}

/// A duration of the table, as a `const`.
const fn duration(max: Duration, max_text: &'static str, zero_allowed: bool) -> Kind {
    Kind::Duration {
        max,
        max_text,
        zero_allowed,
    }
}

/// Any duration but `cooldown`: more than zero, at most a year.
const SPAN: Kind = duration(MAX_DURATION, "a year (\"1year\")", false);

/// The names of `backoff`.
pub const BACKOFFS: &[&str] = &["fixed", "exponential"];
/// The names of `jitter`.
pub const JITTERS: &[&str] = &["none", "full", "equal"];
/// The names of `ignored_errors`.
pub const IGNORED_ERRORS: &[&str] = &["neither", "success"];
/// The names of `credential_errors`.
pub const CREDENTIAL_ERRORS: &[&str] = &["failure", "force_open"];

/// Every setting, in the order the docs list them (and a file is written).
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "threshold",
        kind: Kind::Count {
            max: MAX_THRESHOLD,
            zero: "would never admit a call",
        },
        default: Default::Is(Value::Whole(DEFAULT_THRESHOLD as u64)),
        example: "5",
        attribute: true,
        doc: "consecutive failures in Closed that open the circuit",
    },
    Setting {
        key: "cooldown",
        kind: duration(MAX_DURATION, "a year (\"1year\")", true),
        default: Default::Is(Value::Duration(DEFAULT_COOLDOWN)),
        example: "\"30s\"",
        attribute: true,
        doc: "how long the circuit stays Open before a probe",
    },
    Setting {
        key: "half_open_max",
        kind: Kind::Count {
            max: MAX_HALF_OPEN,
            zero: "would never admit a call",
        },
        default: Default::Is(Value::Whole(DEFAULT_HALF_OPEN_MAX as u64)),
        example: "1",
        attribute: true,
        doc: "how many probes may be in flight at once in HalfOpen",
    },
    Setting {
        key: "half_open_timeout",
        kind: SPAN,
        default: Default::Is(Value::Duration(DEFAULT_HALF_OPEN_TIMEOUT)),
        example: "\"60s\"",
        attribute: true,
        doc: "how long a probe may be out before it is given up as lost",
    },
    Setting {
        key: "backoff",
        kind: Kind::Choice(BACKOFFS),
        default: Default::Is(Value::Choice("fixed")),
        example: "\"exponential\"",
        attribute: true,
        doc: "whether each opening in a row lasts longer",
    },
    Setting {
        key: "backoff_multiplier",
        kind: Kind::Multiplier,
        default: Default::Is(Value::Number(DEFAULT_BACKOFF_MULTIPLIER)),
        example: "2.0",
        attribute: true,
        doc: "exponential backoff: how much longer each opening lasts",
    },
    Setting {
        key: "max_cooldown",
        kind: SPAN,
        default: Default::Is(Value::Duration(DEFAULT_MAX_COOLDOWN)),
        example: "\"10m\"",
        attribute: true,
        doc: "exponential backoff: the longest opening",
    },
    Setting {
        key: "jitter",
        kind: Kind::Choice(JITTERS),
        default: Default::Is(Value::Choice("none")),
        example: "\"full\"",
        attribute: true,
        doc: "how each open duration is randomised",
    },
    Setting {
        key: "jitter_seed",
        kind: Kind::Seed,
        default: Default::Absent,
        example: "7",
        attribute: false,
        doc: "a seed for the jitter, to make it repeatable",
    },
    Setting {
        key: "success_threshold",
        kind: Kind::Count {
            max: u32::MAX,
            zero: "would close the circuit without a successful probe",
        },
        default: Default::Is(Value::Whole(DEFAULT_SUCCESS_THRESHOLD as u64)),
        example: "1",
        attribute: true,
        doc: "successful probes in HalfOpen that close the circuit",
    },
    Setting {
        key: "ignored_errors",
        kind: Kind::Choice(IGNORED_ERRORS),
        default: Default::Is(Value::Choice("neither")),
        example: "\"success\"",
        attribute: true,
        doc: "what an error the classifier ignores counts as",
    },
    Setting {
        key: "rate_limit_delay",
        kind: duration(MAX_DURATION, "a year (\"1year\")", true),
        default: Default::Is(Value::Duration(DEFAULT_RATE_LIMIT_DELAY)),
        example: "\"5s\"",
        attribute: true,
        doc: "how long calls wait after a rate limit that said no delay",
    },
    Setting {
        key: "max_retry_after",
        kind: SPAN,
        default: Default::Is(Value::Duration(DEFAULT_MAX_RETRY_AFTER)),
        example: "\"10m\"",
        attribute: true,
        doc: "the longest delay taken from a remote (a rate limit's, an outage's)",
    },
    Setting {
        key: "credential_errors",
        kind: Kind::Choice(CREDENTIAL_ERRORS),
        default: Default::Is(Value::Choice("failure")),
        example: "\"force_open\"",
        attribute: true,
        doc: "what refused credentials (401, 403) do: a failure, or force the circuit open",
    },
    Setting {
        key: "window_size",
        kind: Kind::Count {
            max: MAX_WINDOW_SIZE,
            zero: "is a window of no calls",
        },
        default: Default::Absent,
        example: "100",
        attribute: true,
        doc: "trip on rates over the last `window_size` calls",
    },
    Setting {
        key: "window",
        kind: SPAN,
        default: Default::Absent,
        example: "\"60s\"",
        attribute: true,
        doc: "trip on rates over the calls of the last `window`",
    },
    Setting {
        key: "window_buckets",
        kind: Kind::Count {
            max: MAX_WINDOW_BUCKETS,
            zero: "cuts the window in no buckets",
        },
        default: Default::Is(Value::Whole(DEFAULT_WINDOW_BUCKETS as u64)),
        example: "10",
        attribute: true,
        doc: "time window: how many buckets it is cut in",
    },
    Setting {
        key: "failure_rate",
        kind: Kind::Percent,
        default: Default::Is(Value::Whole(DEFAULT_FAILURE_RATE as u64)),
        example: "50",
        attribute: true,
        doc: "window: the failure rate that trips, in percent",
    },
    Setting {
        key: "minimum_calls",
        kind: Kind::Count {
            max: u32::MAX,
            zero: "would let the rates of an empty window count",
        },
        default: Default::Derived("the window's size; 10 for a time window"),
        example: "10",
        attribute: true,
        doc: "window: calls it must hold before a rate trips",
    },
    Setting {
        key: "slow_call_duration",
        kind: duration(MAX_SLOW_CALL_DURATION, "an hour (\"1h\")", false),
        default: Default::Absent,
        example: "\"2s\"",
        attribute: true,
        doc: "window: a call slower than this is slow",
    },
    Setting {
        key: "slow_call_rate",
        kind: Kind::Percent,
        default: Default::Is(Value::Whole(DEFAULT_SLOW_CALL_RATE as u64)),
        example: "50",
        attribute: true,
        doc: "with `slow_call_duration`: the slow-call rate that trips, in percent",
    },
];

/// The setting written `key`, if there is one.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|setting| setting.key == key)
}

/// The position of `key` in [`SETTINGS`], for a side that keeps one slot per setting.
pub fn index(key: &str) -> Option<usize> {
    SETTINGS.iter().position(|setting| setting.key == key)
}

#[cfg(test)]
mod tests;
