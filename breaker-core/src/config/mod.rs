//! [`BreakerConfig`]: when a breaker trips, how long it stays open, how it probes.
//!
//! The configuration deserializes from any self-describing serde format (TOML, JSON, YAML...),
//! with durations written as [`humantime`] strings (`"30s"`, `"1m 30s"`, `"250ms"`), and is
//! validated as it is read: every bad value (out of range, of the wrong type, an unknown name
//! or field, a field given twice) is a [`ConfigError`] that names the field and shows the
//! value as written (`` `threshold` = -1: must be at least 1 ``).

use std::time::Duration;

use serde::Serialize;

use crate::backoff::{Backoff, Jitter};
use crate::policy::{CredentialErrors, IgnoredErrors, SlowCalls, TripPolicy};
pub use by_key::BreakerSettings;
pub use error::ConfigError;
use raw::RawConfig;
pub(crate) use read::ConfigVisitor;

mod by_key;
mod checks;
mod error;
mod raw;
mod read;
#[cfg(test)]
mod tests;
mod value;

/// How a circuit breaker behaves.
///
/// | field | default | meaning |
/// | --- | --- | --- |
/// | `threshold` | 5 | consecutive failures in Closed that open the circuit (1 to 4,194,300) |
/// | `cooldown` | 30 s | how long the circuit stays Open before the next call is let through as a probe (zero allowed: the next call is the probe at once) |
/// | `half_open_max` | 1 | how many probes may be in flight at once in HalfOpen (1 to 1,000) |
/// | `half_open_timeout` | 60 s | how long a probe may be out, from its own admission, before it is given up as lost and its slot goes to the next caller (more than zero) |
/// | `backoff` | `"fixed"` | `"fixed"`: every opening lasts `cooldown`; `"exponential"`: each opening in a row lasts `backoff_multiplier` times longer, at most `max_cooldown` ([`Backoff`]) |
/// | `backoff_multiplier` | 2 | exponential only: at least 1 |
/// | `max_cooldown` | 10 min | exponential only: at least `cooldown`, more than zero |
/// | `jitter` | `"none"` | `"full"` (anywhere in `[0, d]`) or `"equal"` (in `[d/2, d]`): randomises each opening ([`Jitter`]) |
/// | `jitter_seed` | random | a seed for the jitter, to make it repeatable (tests): 0 to 2^64 - 1 |
/// | `success_threshold` | 1 | successful probes in HalfOpen that close the circuit (at least 1) |
/// | `ignored_errors` | `"neither"` | what an error the classifier ignores counts as: `"neither"` or `"success"` ([`IgnoredErrors`]) |
/// | `rate_limit_delay` | 5 s | how long calls are held back after a rate limit that gave no delay ([`Verdict::RateLimited`](crate::Verdict::RateLimited); zero: not at all) |
/// | `max_retry_after` | 10 min | the longest delay taken from a remote: a rate limit's, or an outage's ([`Verdict::DownFor`](crate::Verdict::DownFor)); longer ones are cut to it (more than zero) |
/// | `credential_errors` | `"failure"` | what refused credentials (401, 403) do: `"failure"` or `"force_open"` ([`CredentialErrors`](crate::CredentialErrors)) |
/// | `window_size` | none | trip on rates over the last `window_size` calls instead of consecutive failures ([`Window::Count`](crate::policy::Window::Count); 1 to 100,000) |
/// | `window` | none | or over the calls of the last `window` ([`Window::Time`](crate::policy::Window::Time); more than zero) |
/// | `window_buckets` | 10 | time window only: how many buckets it is cut in (1 to 1,000) |
/// | `failure_rate` | 50 | with a window: the failure rate that trips, in percent (1 to 100) |
/// | `minimum_calls` | the window size; 10 for a time window | with a window: calls it must hold before a rate trips (at most `window_size`) |
/// | `slow_call_duration` | none | with a window: a call slower than this is slow ([`SlowCalls`]; at most an hour) |
/// | `slow_call_rate` | 100 | with `slow_call_duration`: the slow-call rate that trips, in percent (1 to 100) |
///
/// Durations are strings, at most a year ([`MAX_DURATION`](Self::MAX_DURATION), `"1year"`):
/// a longer one is a unit left out or a digit too many, not a wish. Counts are whole numbers
/// (`3`, not `3.0` or `"3"`); `backoff_multiplier` is any number. A null (JSON) is as if the
/// field were absent.
///
/// Giving `window_size` or `window` selects the [`TripPolicy::FailureRate`] policy; the
/// settings of a policy given without it (`threshold` with a window, `failure_rate` without
/// one) are errors, so that a file never says something the breaker ignores.
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
// Deserialize: in `read`, field by field, so that every error names the field and the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "RawConfig")]
#[non_exhaustive]
pub struct BreakerConfig {
    /// When a Closed circuit opens: after `threshold` consecutive failures (the default), or
    /// on rates over a sliding window.
    pub policy: TripPolicy,
    /// Consecutive failures in Closed that open the circuit, with the
    /// [`ConsecutiveFailures`](TripPolicy::ConsecutiveFailures) policy; from 1 to
    /// 4,194,300.
    pub threshold: u32,
    /// How long the circuit stays Open before the next call goes through as a probe.
    pub cooldown: Duration,
    /// How many probes may be in flight at once in HalfOpen; from 1 to
    /// [`MAX_HALF_OPEN`](Self::MAX_HALF_OPEN).
    pub half_open_max: u32,
    /// How long a probe may be out, from its own admission, before it is given up as lost
    /// and its slot goes to the next caller; more than zero. Successes counted so far stay.
    pub half_open_timeout: Duration,
    /// How the open duration grows when the circuit opens again without closing.
    pub backoff: Backoff,
    /// How each open duration is randomised.
    pub jitter: Jitter,
    /// The seed of the jitter's random numbers; `None`: a seed of the process's own.
    pub jitter_seed: Option<u64>,
    /// How many probes must succeed in HalfOpen before the circuit closes; at least 1. A
    /// probe that succeeds short of it frees its slot for the next probe.
    pub success_threshold: u32,
    /// What an error the classifier ignores counts as.
    pub ignored_errors: IgnoredErrors,
    /// How long calls are held back after the remote rate-limited one without saying for
    /// how long ([`Verdict::RateLimited(None)`](crate::Verdict::RateLimited)); zero: not at
    /// all. At most `max_retry_after`.
    pub rate_limit_delay: Duration,
    /// The longest delay taken from a remote's answer: a rate limit's `Retry-After`, or how
    /// long a failing remote said it would be down
    /// ([`Verdict::DownFor`](crate::Verdict::DownFor)). A longer one is cut to this (a
    /// misread header, a daily quota) so that the breaker tries again after it; more than
    /// zero.
    pub max_retry_after: Duration,
    /// What a call refused for its credentials does
    /// ([`Verdict::CredentialsRefused`](crate::Verdict::CredentialsRefused)).
    pub credential_errors: CredentialErrors,
}

impl BreakerConfig {
    /// The default threshold: 5 consecutive failures.
    pub const DEFAULT_THRESHOLD: u32 = breaker_settings::DEFAULT_THRESHOLD;
    /// The default cooldown: 30 seconds.
    pub const DEFAULT_COOLDOWN: Duration = breaker_settings::DEFAULT_COOLDOWN;
    /// The default number of probes in flight in HalfOpen: 1.
    pub const DEFAULT_HALF_OPEN_MAX: u32 = breaker_settings::DEFAULT_HALF_OPEN_MAX;
    /// The largest `threshold`: consecutive failures are counted in the low 22 bits of the
    /// word a call in Closed reads, below three marker values.
    pub const MAX_THRESHOLD: u32 = breaker_settings::MAX_THRESHOLD;
    /// The most probes that may be in flight in HalfOpen: each has a slot of its own,
    /// which remembers when its probe was admitted (so that a lost one is given up on its
    /// own timeout).
    pub const MAX_HALF_OPEN: u32 = breaker_settings::MAX_HALF_OPEN;
    /// The default time HalfOpen waits for its probes: 60 seconds.
    pub const DEFAULT_HALF_OPEN_TIMEOUT: Duration = breaker_settings::DEFAULT_HALF_OPEN_TIMEOUT;
    /// The default `rate_limit_delay`: 5 seconds.
    pub const DEFAULT_RATE_LIMIT_DELAY: Duration = breaker_settings::DEFAULT_RATE_LIMIT_DELAY;
    /// The default `max_retry_after`: 10 minutes.
    pub const DEFAULT_MAX_RETRY_AFTER: Duration = breaker_settings::DEFAULT_MAX_RETRY_AFTER;
    /// The default number of successful probes that close the circuit: 1.
    pub const DEFAULT_SUCCESS_THRESHOLD: u32 = breaker_settings::DEFAULT_SUCCESS_THRESHOLD;
    /// The longest a duration setting may be: a year (`"1year"`, 365.25 days). A longer one
    /// is a mistake (a unit left out, a misplaced digit), not a wish; and capped durations
    /// keep every deadline far from overflowing.
    pub const MAX_DURATION: Duration = breaker_settings::MAX_DURATION;

    /// The defaults: 5 consecutive failures, cooldown 30 s, one probe at a time that closes
    /// the circuit, half-open timeout 60 s.
    pub const fn new() -> Self {
        Self {
            policy: TripPolicy::ConsecutiveFailures,
            threshold: Self::DEFAULT_THRESHOLD,
            cooldown: Self::DEFAULT_COOLDOWN,
            half_open_max: Self::DEFAULT_HALF_OPEN_MAX,
            half_open_timeout: Self::DEFAULT_HALF_OPEN_TIMEOUT,
            backoff: Backoff::Fixed,
            jitter: Jitter::None,
            jitter_seed: None,
            success_threshold: Self::DEFAULT_SUCCESS_THRESHOLD,
            ignored_errors: IgnoredErrors::Neither,
            rate_limit_delay: Self::DEFAULT_RATE_LIMIT_DELAY,
            max_retry_after: Self::DEFAULT_MAX_RETRY_AFTER,
            credential_errors: CredentialErrors::Failure,
        }
    }

    /// This configuration with `policy` deciding when the circuit opens.
    pub const fn with_policy(mut self, policy: TripPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// This configuration with `success_threshold` successful probes to close.
    pub const fn with_success_threshold(mut self, success_threshold: u32) -> Self {
        self.success_threshold = success_threshold;
        self
    }

    /// This configuration with ignored errors counting as `ignored_errors`.
    pub const fn with_ignored_errors(mut self, ignored_errors: IgnoredErrors) -> Self {
        self.ignored_errors = ignored_errors;
        self
    }

    /// This configuration holding calls back for `delay` after a rate limit that gave none.
    pub const fn with_rate_limit_delay(mut self, delay: Duration) -> Self {
        self.rate_limit_delay = delay;
        self
    }

    /// This configuration taking a remote's delays up to `max` at most.
    pub const fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// This configuration treating refused credentials as `credential_errors` says.
    pub const fn with_credential_errors(mut self, credential_errors: CredentialErrors) -> Self {
        self.credential_errors = credential_errors;
        self
    }

    /// What counts as a slow call, if the policy watches for slow calls (then calls are
    /// timed).
    pub fn slow_calls(&self) -> Option<SlowCalls> {
        match self.policy {
            TripPolicy::FailureRate(rate) => rate.slow_calls,
            TripPolicy::ConsecutiveFailures => None,
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

    /// Checks the invariants: `1 <= threshold <= 4_194_300`, `1 <= half_open_max <= 1_000`,
    /// `success_threshold >= 1`; durations of at most [`MAX_DURATION`](Self::MAX_DURATION)
    /// and more than zero, but for `cooldown`, which may be zero; for an exponential backoff
    /// a multiplier of at least 1 and a cap of at least the cooldown; for a failure-rate
    /// policy a window of 1 to 100,000 calls (or of a time in 1 to 1,000 buckets of at least a
    /// nanosecond), rates from 1 to 100 percent, a minimum of calls from 1 to the window's
    /// size, and a slow-call duration of at most an hour.
    ///
    /// A configuration read with serde is validated as it is read; one built in code is
    /// validated by the breaker and the registries that take it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut raw = RawConfig::every(self);
        for (key, written) in raw.iter() {
            checks::value(key, written.value.input(), written)?;
        }
        // The threshold a window replaces is kept in code, but not part of the policy.
        if self.policy != TripPolicy::ConsecutiveFailures {
            *raw.slot("threshold") = None;
        }
        raw.check_conflicts(true)
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self::new()
    }
}
