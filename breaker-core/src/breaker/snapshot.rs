//! [`Snapshot`]: one generation of a breaker, immutable but for its counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use super::probes::ProbeSlots;
use super::{CircuitState, nanos};
use crate::cause::Cause;
use crate::config::BreakerConfig;
use crate::policy::{SlidingWindow, TripPolicy};

/// One generation of a breaker: the state it is in, since when, under which config.
///
/// A breaker holds the current snapshot in an `ArcSwap`; a transition builds the next one
/// and installs it with a compare-and-swap. The snapshot's probe slots belong to its
/// generation: a new generation starts with free ones, and a probe that reports to an old
/// snapshot (through a permit admitted under it) changes slots nobody decides on any
/// more. (The consecutive failures of a Closed generation are counted in the breaker's
/// [`Hot`](super::hot::Hot) word, tagged with the generation, for the same effect.)
pub(crate) struct Snapshot {
    /// The state.
    pub(crate) state: CircuitState,
    /// The number of transitions that led here; 0 for a new breaker.
    pub(crate) generation: u64,
    /// When the state was entered, by the breaker's clock.
    pub(crate) entered_at: Duration,
    /// Open: when the next probe may go. Otherwise `Duration::MAX`.
    pub(crate) deadline: Duration,
    /// The configuration in force.
    pub(crate) config: BreakerConfig,
    /// Open and HalfOpen: how many times in a row the circuit has opened without closing
    /// (1 for the first opening); the backoff grows with it. 0 otherwise.
    pub(crate) opens: u32,
    /// Closed under a sliding-window policy: the window of this generation (a new one
    /// each time the circuit closes).
    pub(crate) window: Option<SlidingWindow>,
    /// Open and HalfOpen: what opened the circuit (a HalfOpen generation keeps its
    /// opening's).
    pub(crate) cause: Option<Arc<Cause>>,
    /// HalfOpen: probes that succeeded so far (towards `success_threshold`).
    successes: AtomicU32,
    /// Set (once) by the caller whose transition replaced this snapshot. Reports check it
    /// to ignore a stale generation without loading the breaker's current snapshot.
    superseded: AtomicBool,
    /// HalfOpen: the probes in flight, a slot each. None otherwise.
    pub(crate) probes: ProbeSlots,
}

impl Snapshot {
    /// The first generation of a breaker: Closed.
    pub(crate) fn initial(config: BreakerConfig, now: Duration) -> Self {
        Self::enter(CircuitState::Closed, 0, now, config)
    }

    /// A snapshot entering `state` at `now`. Entering HalfOpen, the caller that made the
    /// transition holds the first probe slot (slot 0, stamped `now`).
    pub(crate) fn enter(
        state: CircuitState,
        generation: u64,
        now: Duration,
        config: BreakerConfig,
    ) -> Self {
        let deadline = match state {
            CircuitState::Open => now.saturating_add(config.cooldown),
            _ => Duration::MAX,
        };
        let probes = if state == CircuitState::HalfOpen {
            let slots = ProbeSlots::new(config.half_open_max, nanos(config.half_open_timeout));
            slots.claim_first(nanos(now));
            slots
        } else {
            ProbeSlots::none()
        };
        let window = match (state, config.policy) {
            (CircuitState::Closed, TripPolicy::FailureRate(rate)) => {
                Some(SlidingWindow::new(rate.window))
            }
            _ => None,
        };
        Self {
            state,
            generation,
            entered_at: now,
            deadline,
            config,
            opens: 0,
            window,
            cause: None,
            successes: AtomicU32::new(0),
            superseded: AtomicBool::new(false),
            probes,
        }
    }

    /// This snapshot as the `opens`-th opening in a row, open for `open_for` (Open) or
    /// still counting it (HalfOpen), because of `cause`.
    pub(crate) fn opening(
        mut self,
        opens: u32,
        open_for: Duration,
        cause: Option<Arc<Cause>>,
    ) -> Self {
        self.opens = opens;
        self.cause = cause;
        if self.state == CircuitState::Open {
            self.deadline = self.entered_at.saturating_add(open_for);
        }
        self
    }

    /// Whether a transition has replaced this snapshot.
    #[inline]
    pub(crate) fn is_superseded(&self) -> bool {
        self.superseded.load(Ordering::Acquire)
    }

    /// Marks this snapshot as replaced; called by the transition's winner only.
    pub(crate) fn supersede(&self) {
        self.superseded.store(true, Ordering::Release);
    }

    /// Counts a probe's success; whether it is the one that reaches `threshold` (exactly
    /// one success does, however many race).
    pub(crate) fn probe_succeeded(&self, threshold: u32) -> bool {
        threshold <= 1 || self.successes.fetch_add(1, Ordering::AcqRel) + 1 == threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_the_state() {
        let config = BreakerConfig::default()
            .with_cooldown(Duration::from_secs(5))
            .with_half_open_timeout(Duration::from_secs(7));
        let now = Duration::from_secs(100);
        let open = Snapshot::enter(CircuitState::Open, 1, now, config.clone());
        assert_eq!(open.deadline, Duration::from_secs(105));
        let half = Snapshot::enter(CircuitState::HalfOpen, 2, now, config.clone());
        assert_eq!(half.deadline, Duration::MAX, "probes time out one by one");
        let closed = Snapshot::enter(CircuitState::Closed, 3, now, config);
        assert_eq!(closed.deadline, Duration::MAX);
    }

    #[test]
    fn entering_half_open_holds_the_first_slot() {
        let config = BreakerConfig::default().with_half_open_max(2);
        let half = Snapshot::enter(CircuitState::HalfOpen, 1, Duration::from_secs(3), config);
        assert_eq!(half.probes.in_flight(), 1);
        assert!(half.probes.holds(0, nanos(Duration::from_secs(3)) + 1));
        let closed = Snapshot::initial(BreakerConfig::default(), Duration::ZERO);
        assert_eq!(closed.probes.in_flight(), 0);
    }

    #[test]
    fn counter_is_on_its_own_cache_line() {
        let snap = Snapshot::initial(BreakerConfig::default(), Duration::ZERO);
        let count = snap.probes.count_address();
        assert_eq!(count % 128, 0);
        let state = &snap.state as *const _ as usize;
        assert!(state / 128 != count / 128);
    }

    #[test]
    fn superseded_is_set_once() {
        let snap = Snapshot::initial(BreakerConfig::default(), Duration::ZERO);
        assert!(!snap.is_superseded());
        snap.supersede();
        assert!(snap.is_superseded());
    }
}
