//! When a Closed circuit opens: [`TripPolicy`] and the windows of the rate policy.

mod count;
mod time;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub(crate) use count::CountWindow;
pub(crate) use time::TimeWindow;

/// When a Closed circuit opens.
///
/// The default is a number of consecutive failures
/// (`threshold`). That trips late under a steady error rate (one success in four resets the
/// count) and never on calls that succeed too slowly, so a breaker can instead trip on
/// rates over a sliding window ([`FailureRate`]): the failure rate, the slow-call rate, or
/// either, once the window holds `minimum_calls` calls.
///
/// ```
/// use std::time::Duration;
/// use breaker::{FailureRate, SlowCalls, TripPolicy, Window};
/// use breaker::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock};
///
/// // Trip when half of the last 10 calls failed, once 5 calls have been made.
/// let policy = FailureRate::new(Window::Count { size: 10 }, 50).with_minimum_calls(5);
/// let config = BreakerConfig::default().with_policy(TripPolicy::FailureRate(policy));
/// let breaker = CircuitBreaker::with_clock("search", config, ManualClock::new());
///
/// for call in 1..=6 {
///     let permit = breaker.acquire().unwrap();
///     permit.report(call % 2 == 1); // S F S F S F
///     let expected = if call < 6 { CircuitState::Closed } else { CircuitState::Open };
///     assert_eq!(breaker.state(), expected, "after call {call}");
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TripPolicy {
    /// After `threshold` consecutive failures (see
    /// [`BreakerConfig::threshold`](crate::BreakerConfig::threshold)); a success resets the
    /// count. The default, and the cheapest: a call in Closed touches one word.
    #[default]
    ConsecutiveFailures,
    /// When the failure rate or the slow-call rate over a sliding window reaches its
    /// threshold.
    FailureRate(FailureRate),
}

/// Trip on rates over a sliding window: when the window holds at least `minimum_calls`
/// calls and the failures are at least `failure_rate` percent of them, or the slow calls
/// at least `slow_calls.rate` percent.
///
/// Every report is recorded and the rates are checked after it, so with a 50% threshold a
/// window of 10 and a minimum of 5, the calls S F S F S F open the circuit on the sixth
/// (3 of 6) and not before (2 of 5 is 40%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FailureRate {
    /// Which calls the rates are computed over.
    pub window: Window,
    /// How many calls the window must hold before the rates can trip the circuit (a rate
    /// over three calls is noise); at least 1, at most a count window's size.
    pub minimum_calls: u32,
    /// The failure rate that trips the circuit, in percent: from 1 to 100.
    pub failure_rate: u8,
    /// Whether and how slow calls trip the circuit.
    pub slow_calls: Option<SlowCalls>,
}

impl FailureRate {
    /// The failure rate a configuration file means when it gives a window and no
    /// `failure_rate`: 50%.
    pub const DEFAULT_FAILURE_RATE: u8 = breaker_settings::DEFAULT_FAILURE_RATE;
    /// The default minimum of calls in a time window: 10.
    pub const DEFAULT_TIME_WINDOW_MINIMUM: u32 = breaker_settings::DEFAULT_TIME_WINDOW_MINIMUM;

    /// A failure-rate trip at `failure_rate` percent over `window`, with the default
    /// minimum of calls (a count window's size; 10 for a time window) and no slow-call
    /// trip.
    pub const fn new(window: Window, failure_rate: u8) -> Self {
        let minimum_calls = match window {
            Window::Count { size } => size,
            Window::Time { .. } => Self::DEFAULT_TIME_WINDOW_MINIMUM,
        };
        Self {
            window,
            minimum_calls,
            failure_rate,
            slow_calls: None,
        }
    }

    /// This policy with `minimum_calls` calls before the rates count.
    pub const fn with_minimum_calls(mut self, minimum_calls: u32) -> Self {
        self.minimum_calls = minimum_calls;
        self
    }

    /// This policy, also tripping on slow calls.
    pub const fn with_slow_calls(mut self, slow_calls: SlowCalls) -> Self {
        self.slow_calls = Some(slow_calls);
        self
    }

    /// Whether `tally` (the window after a report) trips the circuit.
    pub(crate) fn trips(&self, tally: Tally) -> bool {
        if tally.calls < u64::from(self.minimum_calls) || tally.calls == 0 {
            return false;
        }
        let reached = |count: u64, percent: u8| count * 100 >= u64::from(percent) * tally.calls;
        reached(tally.failures, self.failure_rate)
            || self
                .slow_calls
                .is_some_and(|slow| reached(tally.slow, slow.rate))
    }
}

/// The calls a [`FailureRate`] is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Window {
    /// The last `size` calls (1 to 100,000).
    Count {
        /// How many calls.
        size: u32,
    },
    /// The calls of the last `length`, in `buckets` buckets of `length / buckets` each.
    ///
    /// The window moves a bucket at a time: it covers the current bucket and the
    /// `buckets - 1` before it, so a call is forgotten between `length - length / buckets`
    /// and `length` after it was made. More buckets: a smoother window, a little more work
    /// per call (the buckets are summed after every report).
    Time {
        /// How long the window is; more than zero.
        length: Duration,
        /// How many buckets it is cut in: from 1 to 1,000.
        buckets: u32,
    },
}

impl Window {
    /// The largest count window.
    pub const MAX_SIZE: u32 = breaker_settings::MAX_WINDOW_SIZE;
    /// The most buckets of a time window.
    pub const MAX_BUCKETS: u32 = breaker_settings::MAX_WINDOW_BUCKETS;
    /// The buckets of a time window when a configuration file does not say: 10.
    pub const DEFAULT_BUCKETS: u32 = breaker_settings::DEFAULT_WINDOW_BUCKETS;
}

/// A call slower than `duration` is slow (whatever its outcome); the circuit trips when at
/// least `rate` percent of the window's calls are slow.
///
/// Timing a call costs two clock reads (one when it is admitted, one when it reports), so
/// it is done only when a policy asks for it. In HalfOpen, a slow probe counts as a failed
/// one: the remote has not recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SlowCalls {
    /// How long a call may take before it is slow; more than zero, at most an hour (calls
    /// are timed to the microsecond).
    pub duration: Duration,
    /// The slow-call rate that trips the circuit, in percent: from 1 to 100.
    pub rate: u8,
}

impl SlowCalls {
    /// The longest slow-call duration: an hour.
    pub const MAX_DURATION: Duration = breaker_settings::MAX_SLOW_CALL_DURATION;
    /// The default slow-call rate: 100%, every call in the window slow.
    pub const DEFAULT_RATE: u8 = breaker_settings::DEFAULT_SLOW_CALL_RATE;

    /// Calls slower than `duration` are slow; trip at the default rate (100%).
    pub const fn new(duration: Duration) -> Self {
        Self {
            duration,
            rate: Self::DEFAULT_RATE,
        }
    }

    /// Trip at `rate` percent of slow calls.
    pub const fn with_rate(mut self, rate: u8) -> Self {
        self.rate = rate;
        self
    }
}

/// What a call whose error the classifier ignores counts as (a `failure_if` that returns
/// false, [`Permit::ignore`](crate::Permit::ignore)): a 404 or a 400 says nothing about the
/// remote's health.
///
/// The error is returned to the caller either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IgnoredErrors {
    /// Neither a success nor a failure (the default): not counted towards any trip, and a
    /// probe's slot is freed for another probe.
    #[default]
    Neither,
    /// A success: it resets the consecutive failures, counts as a success in the window,
    /// and a probe's success closes the circuit.
    Success,
}

/// What a call the remote refused for its credentials
/// ([`Verdict::CredentialsRefused`](crate::Verdict::CredentialsRefused): a 401 or a 403)
/// does to the breaker.
///
/// The error is returned to the caller either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CredentialErrors {
    /// A failure, like any other (the default): a key revoked for good opens the circuit
    /// after `threshold` calls, and its probes keep finding out whether it was restored.
    #[default]
    Failure,
    /// Forces the circuit open until [`reset`](crate::CircuitBreaker::reset): no call can
    /// succeed with these credentials, so none is made until an operator (or a listener that
    /// rotates the key) resets the breaker.
    ForceOpen,
}

/// How one call went, as a window records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) failed: bool,
    pub(crate) slow: bool,
}

/// What a window holds: its calls, and how many of them failed or were slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tally {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

/// The window of one Closed generation.
pub(crate) enum SlidingWindow {
    Count(CountWindow),
    Time(TimeWindow),
}

impl SlidingWindow {
    pub(crate) fn new(window: Window) -> Self {
        match window {
            Window::Count { size } => SlidingWindow::Count(CountWindow::new(size)),
            Window::Time { length, buckets } => {
                SlidingWindow::Time(TimeWindow::new(length, buckets))
            }
        }
    }

    /// Records `outcome` at `now` (nanoseconds of the breaker's clock); the window after it.
    pub(crate) fn record(&self, outcome: Outcome, now: u64) -> Tally {
        match self {
            SlidingWindow::Count(window) => window.record(outcome),
            SlidingWindow::Time(window) => window.record(outcome, now),
        }
    }

    /// What the window holds at `now`.
    pub(crate) fn tally(&self, now: u64) -> Tally {
        match self {
            SlidingWindow::Count(window) => window.tally(),
            SlidingWindow::Time(window) => window.tally(now),
        }
    }

    /// Whether recording needs the time (a time window does).
    pub(crate) fn needs_time(&self) -> bool {
        matches!(self, SlidingWindow::Time(_))
    }
}

/// Outcomes and tallies, written short, for the windows' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Outcome, Tally};

    pub(crate) const S: Outcome = Outcome {
        failed: false,
        slow: false,
    };
    pub(crate) const F: Outcome = Outcome {
        failed: true,
        slow: false,
    };
    pub(crate) const SLOW_S: Outcome = Outcome {
        failed: false,
        slow: true,
    };

    pub(crate) fn tally(calls: u64, failures: u64, slow: u64) -> Tally {
        Tally {
            calls,
            failures,
            slow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::tally;
    use super::*;

    #[test]
    fn trips_at_the_rate_once_the_minimum_is_reached() {
        let policy = FailureRate::new(Window::Count { size: 10 }, 50).with_minimum_calls(5);
        assert!(!policy.trips(tally(4, 4, 0)), "below the minimum");
        assert!(!policy.trips(tally(5, 2, 0)), "40%");
        assert!(policy.trips(tally(6, 3, 0)), "50%");
        assert!(policy.trips(tally(5, 5, 0)));
    }

    #[test]
    fn slow_calls_trip_on_their_own_rate() {
        let policy = FailureRate::new(Window::Count { size: 4 }, 100)
            .with_slow_calls(SlowCalls::new(Duration::from_secs(1)).with_rate(75));
        assert!(!policy.trips(tally(4, 3, 2)));
        assert!(policy.trips(tally(4, 0, 3)));
        assert!(policy.trips(tally(4, 4, 0)));
    }

    #[test]
    fn defaults_of_the_minimum() {
        assert_eq!(
            FailureRate::new(Window::Count { size: 20 }, 50).minimum_calls,
            20
        );
        let time = Window::Time {
            length: Duration::from_secs(60),
            buckets: 6,
        };
        assert_eq!(FailureRate::new(time, 50).minimum_calls, 10);
    }
}
