//! The [`Metrics`] snapshot, built from a breaker's state and its
//! [`CallCounters`](super::CallCounters).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::circuit::CircuitState;
use crate::name::BreakerName;

/// A point-in-time view of a breaker: its state and what it has counted since it was built.
///
/// Serializable (for a metrics endpoint or a log line); durations are in milliseconds.
///
/// ```
/// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
///
/// let breaker = CircuitBreaker::new("embeddings", BreakerConfig::default());
/// breaker.acquire().unwrap().success();
/// breaker.acquire().unwrap().failure();
///
/// let metrics = breaker.metrics();
/// assert_eq!(metrics.state, CircuitState::Closed);
/// assert_eq!((metrics.admitted, metrics.succeeded, metrics.failed), (2, 1, 1));
/// assert_eq!(metrics.consecutive_failures, 1);
///
/// let json = serde_json::to_value(&metrics).unwrap();
/// assert_eq!(json["state"], "Closed");
/// assert_eq!(json["name"], "embeddings");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Metrics {
    /// The breaker's name.
    pub name: BreakerName,
    /// Its state.
    #[serde(serialize_with = "state_name")]
    pub state: CircuitState,
    /// Its generation: how many state changes it has gone through.
    pub generation: u64,
    /// Consecutive failures counted in the current Closed generation (0 in other states).
    pub consecutive_failures: u32,
    /// Probes in flight in the current HalfOpen generation (0 in other states).
    pub probes_in_flight: u32,
    /// Calls admitted (permits handed out).
    pub admitted: u64,
    /// Calls rejected with [`CircuitOpen`](crate::CircuitOpen).
    pub rejected: u64,
    /// Calls reported as successes (including stale reports).
    pub succeeded: u64,
    /// Calls reported as failures (including stale reports).
    pub failed: u64,
    /// Permits dropped without a report (cancelled or panicking callers).
    pub abandoned: u64,
    /// Reports that came from an older generation and were ignored by the state machine.
    pub stale_reports: u64,
    /// Calls that took longer than the slow-call duration (counted whatever their outcome;
    /// 0 unless the breaker's policy watches for slow calls).
    pub slow: u64,
    /// Calls whose error the classifier ignores (`failure_if` returned false,
    /// [`Permit::ignore`](crate::Permit::ignore)); with `ignored_errors = "success"` they
    /// are counted in `succeeded` too.
    pub ignored: u64,
    /// Calls the remote rate-limited ([`Verdict::RateLimited`](crate::Verdict::RateLimited)):
    /// neither successes nor failures.
    pub rate_limited: u64,
    /// Of the `rejected` calls, those the rate-limit gate rejected (the remote's deadline
    /// had not passed).
    pub rejected_rate_limited: u64,
    /// Closed under a sliding-window policy: what the window holds now.
    pub window: Option<WindowCounts>,
    /// Time since the last state change; `None` if the breaker never changed state.
    #[serde(rename = "since_last_transition_ms", serialize_with = "millis")]
    pub since_last_transition: Option<Duration>,
    /// Wall-clock time of the last state change in milliseconds since the Unix epoch
    /// (derived from [`since_last_transition`](Self::since_last_transition) and the system
    /// clock when the metrics were taken); `None` if the breaker never changed state.
    pub last_transition_unix_ms: Option<u64>,
}

/// What a sliding window holds: the calls the trip policy's rates are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct WindowCounts {
    /// Calls in the window.
    pub calls: u64,
    /// Of them, failures.
    pub failures: u64,
    /// Of them, slow calls.
    pub slow: u64,
}

fn state_name<S: Serializer>(state: &CircuitState, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(state.name())
}

fn millis<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_some(&(duration.as_millis() as u64)),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn unix_millis_ago(ago: Duration) -> Option<u64> {
    let at = SystemTime::now().checked_sub(ago)?;
    let since_epoch = at.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since_epoch.as_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_millis_ago_is_in_the_past() {
        let now = unix_millis_ago(Duration::ZERO).unwrap();
        let earlier = unix_millis_ago(Duration::from_secs(10)).unwrap();
        assert!(now >= earlier + 10_000 - 5);
    }
}
