//! [`Snapshot`]: one generation of a breaker, immutable but for its counters.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use super::CircuitState;
use crate::config::BreakerConfig;
use crate::policy::{SlidingWindow, TripPolicy};

/// One generation of a breaker: the state it is in, since when, under which config.
///
/// A breaker holds the current snapshot in an `ArcSwap`; a transition builds the next one
/// and installs it with a compare-and-swap. The snapshot's probe counter belongs to its
/// generation: a new generation starts from zero, and a probe that reports to an old
/// snapshot (through a permit admitted under it) changes a counter nobody decides on any
/// more. (The consecutive failures of a Closed generation are counted in the breaker's
/// [`Hot`](super::hot::Hot) word, tagged with the generation, for the same effect.)
pub(crate) struct Snapshot {
    /// The state.
    pub(crate) state: CircuitState,
    /// The number of transitions that led here; 0 for a new breaker.
    pub(crate) generation: u64,
    /// When the state was entered, by the breaker's clock.
    pub(crate) entered_at: Duration,
    /// Open: when the next probe may go. HalfOpen: when probes still in flight are given up
    /// as lost. Otherwise `Duration::MAX`.
    pub(crate) deadline: Duration,
    /// The configuration in force.
    pub(crate) config: BreakerConfig,
    /// Open and HalfOpen: how many times in a row the circuit has opened without closing
    /// (1 for the first opening); the backoff grows with it. 0 otherwise.
    pub(crate) opens: u32,
    /// Closed under a sliding-window policy: the window of this generation (a new one
    /// each time the circuit closes).
    pub(crate) window: Option<SlidingWindow>,
    /// HalfOpen: probes that succeeded so far (towards `success_threshold`).
    successes: AtomicU32,
    /// Set (once) by the caller whose transition replaced this snapshot. Reports check it
    /// to ignore a stale generation without loading the breaker's current snapshot.
    superseded: AtomicBool,
    /// HalfOpen: probes in flight. Unused otherwise. On its own cache line, so that
    /// claiming a probe slot does not evict the read-mostly fields above from the readers'
    /// caches.
    pub(crate) probes: Padded<AtomicU32>,
}

/// A value alone on its cache line (128 bytes: two lines, for adjacent-line prefetchers).
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl Snapshot {
    /// The first generation of a breaker: Closed.
    pub(crate) fn initial(config: BreakerConfig, now: Duration) -> Self {
        Self::enter(CircuitState::Closed, 0, now, config, 0)
    }

    /// A snapshot entering `state` at `now`, with `probes` in flight already (1 when the
    /// caller entering HalfOpen takes the first probe slot itself).
    pub(crate) fn enter(
        state: CircuitState,
        generation: u64,
        now: Duration,
        config: BreakerConfig,
        probes: u32,
    ) -> Self {
        let deadline = match state {
            CircuitState::Open => now.saturating_add(config.cooldown),
            CircuitState::HalfOpen => now.saturating_add(config.half_open_timeout),
            _ => Duration::MAX,
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
            successes: AtomicU32::new(0),
            superseded: AtomicBool::new(false),
            probes: Padded(AtomicU32::new(probes)),
        }
    }

    /// This snapshot as the `opens`-th opening in a row, open for `open_for` (Open) or
    /// still counting it (HalfOpen).
    pub(crate) fn opening(mut self, opens: u32, open_for: Duration) -> Self {
        self.opens = opens;
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

    /// Takes a probe slot in HalfOpen if one is free.
    #[inline]
    pub(crate) fn try_claim_probe(&self) -> bool {
        let max = self.config.half_open_max;
        let mut in_flight = self.probes.load(Ordering::Relaxed);
        loop {
            if in_flight >= max {
                return false;
            }
            match self.probes.compare_exchange_weak(
                in_flight,
                in_flight + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => in_flight = now,
            }
        }
    }

    /// Counts a probe's success; whether it is the one that reaches `threshold` (exactly
    /// one success does, however many race).
    pub(crate) fn probe_succeeded(&self, threshold: u32) -> bool {
        threshold <= 1 || self.successes.fetch_add(1, Ordering::AcqRel) + 1 == threshold
    }

    /// Gives a probe slot back (its permit was dropped unreported).
    pub(crate) fn release_probe(&self) {
        let before = self.probes.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before > 0, "probe slot released twice");
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
        let open = Snapshot::enter(CircuitState::Open, 1, now, config.clone(), 0);
        assert_eq!(open.deadline, Duration::from_secs(105));
        let half = Snapshot::enter(CircuitState::HalfOpen, 2, now, config.clone(), 1);
        assert_eq!(half.deadline, Duration::from_secs(107));
        let closed = Snapshot::enter(CircuitState::Closed, 3, now, config, 0);
        assert_eq!(closed.deadline, Duration::MAX);
    }

    #[test]
    fn probe_slots_are_bounded() {
        let config = BreakerConfig::default().with_half_open_max(2);
        let half = Snapshot::enter(CircuitState::HalfOpen, 1, Duration::ZERO, config, 1);
        assert!(half.try_claim_probe());
        assert!(!half.try_claim_probe());
        half.release_probe();
        assert!(half.try_claim_probe());
        assert!(!half.try_claim_probe());
    }

    #[test]
    fn counter_is_on_its_own_cache_line() {
        let snap = Snapshot::initial(BreakerConfig::default(), Duration::ZERO);
        let count = &snap.probes as *const _ as usize;
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
