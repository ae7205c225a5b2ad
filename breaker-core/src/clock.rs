//! Time, as a circuit breaker sees it: a monotonic [`Clock`].
//!
//! A breaker reads the clock when it trips, when a call arrives while it is open (to know
//! whether the cooldown has passed) and when a half-open breaker has all its probe slots
//! taken (to know whether a probe was lost). It never reads the clock for a call in the
//! closed state.
//!
//! - [`RealClock`]: the default, backed by [`quanta`]: on x86 a calibrated TSC read of a few
//!   nanoseconds and no system call, so a call rejected while the circuit is open costs no
//!   `clock_gettime`.
//! - [`ManualClock`]: time that moves only when a test says so; every time-dependent test of
//!   a breaker uses it instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A monotonic clock: the time elapsed since an origin of the clock's choosing.
///
/// Only differences between two readings of the same clock mean anything. A reading must
/// never be smaller than an earlier one.
///
/// ```
/// use std::time::Duration;
/// use breaker::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(clock.now() - before, Duration::from_secs(30));
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The time elapsed since this clock's origin.
    fn now(&self) -> Duration;
}

/// The process-wide clock: `quanta` calibrates the TSC against the OS clock once (this can
/// take up to a couple of hundred milliseconds), so it is built lazily, at the first reading.
fn global() -> &'static (quanta::Clock, quanta::Instant) {
    static GLOBAL: OnceLock<(quanta::Clock, quanta::Instant)> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let clock = quanta::Clock::new();
        let origin = clock.now();
        (clock, origin)
    })
}

/// The real clock: monotonic, process-wide, and cheap to read.
///
/// Backed by [`quanta`], which reads the CPU's time-stamp counter where it is invariant (and
/// falls back to the OS monotonic clock where it is not), so a reading costs a few
/// nanoseconds and no system call. All `RealClock`s share one origin: the first time any of
/// them was read.
///
/// ```
/// use breaker::clock::{Clock, RealClock};
///
/// let clock = RealClock;
/// let a = clock.now();
/// let b = clock.now();
/// assert!(b >= a);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RealClock;

impl Clock for RealClock {
    #[inline]
    fn now(&self) -> Duration {
        let (clock, origin) = global();
        clock.now().duration_since(*origin)
    }
}

/// A clock that moves only when told to: for tests.
///
/// Clones share the same time, so a test keeps one handle and gives a clone to the breaker.
/// It starts at zero.
///
/// ```
/// use std::time::Duration;
/// use breaker::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let handle = clock.clone();
/// handle.advance(Duration::from_millis(1500));
/// assert_eq!(clock.now(), Duration::from_millis(1500));
/// handle.set(Duration::from_secs(10));
/// assert_eq!(clock.now(), Duration::from_secs(10));
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (saturating at `u64::MAX` nanoseconds).
    pub fn advance(&self, by: Duration) {
        let by = duration_to_nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(by))
            });
    }

    /// Sets the clock to `to`.
    ///
    /// # Panics
    ///
    /// If `to` is earlier than the clock's current time: a clock must not go backwards.
    pub fn set(&self, to: Duration) {
        let to = duration_to_nanos(to);
        let before = self.nanos.fetch_max(to, Ordering::AcqRel);
        assert!(
            before <= to,
            "ManualClock::set: time must not go backwards ({} ns -> {} ns)",
            before,
            to
        );
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Acquire))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish()
    }
}

fn duration_to_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The clock a breaker holds: the real clock called directly (inlined on the open-state
/// path), or any other clock through a trait object.
pub(crate) enum BreakerClock {
    Real(RealClock),
    Custom(Box<dyn Clock>),
}

impl BreakerClock {
    #[inline]
    pub(crate) fn now(&self) -> Duration {
        match self {
            BreakerClock::Real(clock) => clock.now(),
            BreakerClock::Custom(clock) => clock.now(),
        }
    }
}

impl fmt::Debug for BreakerClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakerClock::Real(clock) => clock.fmt(f),
            BreakerClock::Custom(clock) => clock.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_starts_at_zero_and_moves_only_when_told() {
        let clock = ManualClock::new();
        assert_eq!(clock.now(), Duration::ZERO);
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.now(), Duration::from_millis(250));
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let clock = ManualClock::new();
        let other = clock.clone();
        other.advance(Duration::from_secs(3));
        assert_eq!(clock.now(), Duration::from_secs(3));
        clock.set(Duration::from_secs(5));
        assert_eq!(other.now(), Duration::from_secs(5));
    }

    #[test]
    fn manual_clock_saturates() {
        let clock = ManualClock::new();
        clock.advance(Duration::MAX);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    #[should_panic(expected = "must not go backwards")]
    fn manual_clock_refuses_to_go_backwards() {
        let clock = ManualClock::new();
        clock.set(Duration::from_secs(2));
        clock.set(Duration::from_secs(1));
    }

    #[test]
    fn real_clock_is_monotonic() {
        let clock = RealClock;
        let mut last = clock.now();
        for _ in 0..1000 {
            let now = clock.now();
            assert!(now >= last);
            last = now;
        }
    }

    #[test]
    fn breaker_clock_dispatches() {
        let manual = ManualClock::new();
        manual.advance(Duration::from_secs(7));
        let clock = BreakerClock::Custom(Box::new(manual));
        assert_eq!(clock.now(), Duration::from_secs(7));
        let real = BreakerClock::Real(RealClock);
        let _ = real.now();
        assert!(format!("{clock:?}").contains("ManualClock"));
    }
}
