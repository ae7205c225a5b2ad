//! What a breaker would lose if it were forgotten: the calls it has in flight and the
//! evidence it holds, which a registry weighs before it evicts it.

use std::time::Duration;

use super::{CircuitBreaker, CircuitState, hot, nanos};

/// An Open breaker is stale once its deadline has passed by this many of its open
/// durations with no call: nobody asks for its key any more, so its outage is only
/// history.
const STALE_OPENINGS: u32 = 4;

/// What forgetting a breaker would lose, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Standing {
    /// Closed, with no failure or slow call counted and nothing in flight: a new breaker
    /// for its key would be the same.
    Clean,
    /// Open, and not called since its deadline passed by [`STALE_OPENINGS`] of its open
    /// durations.
    Stale,
    /// Failures or slow calls counted in Closed, or an Open or HalfOpen circuit: an
    /// outage's evidence.
    Evidence,
    /// A call admitted and not yet ended: its report would go to a forgotten breaker.
    InFlight,
    /// ForcedOpen, Disabled or MetricsOnly: an operator's command.
    Commanded,
}

impl CircuitBreaker {
    /// How many calls this breaker admitted that have not ended yet (reported, ignored or
    /// dropped unreported). Exact when no call starts or ends while it is read (the
    /// per-thread counts are summed one after the other); never below zero.
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
    /// let permit = breaker.acquire().unwrap();
    /// assert_eq!(breaker.in_flight(), 1);
    /// permit.ignore();
    /// assert_eq!(breaker.in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> u64 {
        self.counters.totals().in_flight()
    }

    /// What forgetting this breaker would lose, now.
    pub(crate) fn standing(&self) -> Standing {
        let snapshot = self.current.load();
        match snapshot.state {
            CircuitState::ForcedOpen | CircuitState::Disabled | CircuitState::MetricsOnly => {
                return Standing::Commanded;
            }
            _ if self.in_flight() > 0 => return Standing::InFlight,
            CircuitState::HalfOpen => return Standing::Evidence,
            CircuitState::Open => {
                let open_for = snapshot.deadline.saturating_sub(snapshot.entered_at);
                let stale_at = snapshot
                    .deadline
                    .saturating_add(open_for.saturating_mul(STALE_OPENINGS));
                return if self.clock.now() >= stale_at && stale_at != Duration::MAX {
                    Standing::Stale
                } else {
                    Standing::Evidence
                };
            }
            CircuitState::Closed => {}
        }
        let failures = self.hot.failures(hot::tag(snapshot.generation));
        let window = snapshot.window.as_ref().map(|window| {
            let now = if window.needs_time() {
                nanos(self.clock.now())
            } else {
                0
            };
            window.tally(now)
        });
        let clean = failures.unwrap_or(0) == 0
            && window.is_none_or(|tally| tally.failures == 0 && tally.slow == 0);
        if clean {
            Standing::Clean
        } else {
            Standing::Evidence
        }
    }
}
