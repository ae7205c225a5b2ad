//! [`Verdict`]: what the outcome of one call says about the remote.

use std::time::Duration;

/// What the outcome of one call says about the remote: the answer of a classifier, and what
/// a permit reports with [`verdict`](crate::PermitOf::verdict).
///
/// | verdict | the trip policy | the rate-limit gate |
/// | --- | --- | --- |
/// | `Success` | a success | untouched |
/// | `Failure` | a failure | untouched |
/// | `DownFor(d)` | a failure; if the circuit opens, it stays open at least `d` (at most `max_retry_after`) | untouched |
/// | `RateLimited(d)` | nothing: neither a success nor a failure (a probe frees its slot) | closed for `d` (`rate_limit_delay` if `None`; at most `max_retry_after`), never shortened |
/// | `Ignored` | as `ignored_errors` says (neither, by default) | untouched |
/// | `CredentialsRefused` | a failure, or the circuit forced open, as `credential_errors` says | untouched |
///
/// ```
/// use std::time::Duration;
/// use breaker::{BreakerConfig, CircuitBreaker, ManualClock, Verdict};
///
/// let clock = ManualClock::new();
/// let breaker = CircuitBreaker::with_clock("gpt-4o", BreakerConfig::default(), clock.clone());
/// breaker.acquire().unwrap().verdict(Verdict::RateLimited(Some(Duration::from_secs(6))));
///
/// let rejected = breaker.acquire().unwrap_err();
/// assert!(rejected.is_rate_limited());
/// assert_eq!(rejected.retry_after(), Some(Duration::from_secs(6)));
/// assert_eq!(breaker.metrics().failed, 0); // a rate limit is not a failure
///
/// clock.advance(Duration::from_secs(6));
/// assert!(breaker.acquire().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The remote did its job.
    Success,
    /// The remote failed: counts towards the trip policy.
    Failure,
    /// The remote failed and said how long it will be down (a 503 with `Retry-After`): a
    /// failure, and if the circuit opens it stays open at least this long.
    DownFor(Duration),
    /// The remote refused the call for the caller's rate: no calls until this much time has
    /// passed (the breaker's `rate_limit_delay` when `None`). Neither a success nor a
    /// failure.
    RateLimited(Option<Duration>),
    /// Says nothing about the remote (a request it rightly refused): counted as the
    /// breaker's [`ignored_errors`](crate::BreakerConfig::ignored_errors) says.
    Ignored,
    /// The remote refused the caller's credentials (401, 403): a failure, or the circuit
    /// forced open until reset, as the breaker's
    /// [`credential_errors`](crate::BreakerConfig::credential_errors) says.
    CredentialsRefused,
}

/// `true` is a failure, `false` a success: a classifier may answer with a `bool`.
impl From<bool> for Verdict {
    fn from(failed: bool) -> Self {
        if failed {
            Verdict::Failure
        } else {
            Verdict::Success
        }
    }
}
