//! Time, as a circuit breaker sees it: a monotonic [`Clock`].
//!
//! A breaker reads the clock when it trips, when a call arrives while it is open (to know
//! whether the cooldown has passed) and when a half-open breaker has all its probe slots
//! taken (to know whether a probe was lost). It never reads the clock for a call in the
//! closed state.
//!
//! - [`RealClock`]: the default, backed by [`quanta`]: on x86 a calibrated TSC read and no
//!   system call, so a call rejected while the circuit is open costs no `clock_gettime`.
//! - [`ManualClock`]: time that moves only when a test says so; every time-dependent test of
//!   a breaker uses it instead of sleeping.
//! - [`RealClock::start_upkeep`]: opt in to a background thread that keeps a coarse time in one atomic
//!   word. While it runs, a [`RealClock`] breaker rejects a call in Open without reading the
//!   TSC (on some CPUs most of a rejection's cost) as long as the deadline is
//!   comfortably ahead, and reads it exactly near the deadline, so the first call at or after
//!   the deadline still becomes the probe.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A monotonic clock: the time elapsed since an origin of the clock's choosing.
///
/// Only differences between two readings of the same clock mean anything. A reading must
/// never be smaller than an earlier one.
///
/// ```
/// use std::time::Duration;
/// use breaker::{Clock, ManualClock};
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
struct Global {
    clock: quanta::Clock,
    /// The raw reading at the origin: a reading is the scaled delta from it, in nanoseconds,
    /// with no `Duration` arithmetic in between.
    origin: u64,
}

impl Global {
    /// Nanoseconds since the origin.
    #[inline]
    fn nanos(&self) -> u64 {
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
}

fn global() -> &'static Global {
    static GLOBAL: OnceLock<Global> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        Global { clock, origin }
    })
}

/// The real clock: monotonic, process-wide, and cheap to read.
///
/// Backed by [`quanta`], which reads the CPU's time-stamp counter where it is invariant (and
/// falls back to the OS monotonic clock where it is not), so a reading costs a few
/// nanoseconds and no system call. All `RealClock`s share one origin: the first time any of
/// them was read.
///
/// While an [`Upkeep`] runs, a breaker on this clock rejects a call in Open without reading
/// it as long as the deadline is more than two upkeep intervals ahead; the `retry_after` of
/// such a rejection is accurate to the interval.
///
/// ```
/// use breaker::{Clock, RealClock};
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
        Duration::from_nanos(global().nanos())
    }
}

impl RealClock {
    /// Starts a background thread that refreshes a coarse time every `interval`, which
    /// [`RealClock`] breakers then read (one atomic load) to reject calls in Open; stops it when
    /// the returned [`Upkeep`] is dropped.
    ///
    /// This is opt-in because a library must not start threads on its own; without it, every
    /// rejection reads the exact clock. The trade-off is small: a rejection is decided from the
    /// coarse time only while the deadline is more than two intervals ahead; after that the
    /// exact clock decides, so the first call at or after the deadline becomes the probe. Only
    /// if the thread is starved (not run for more than an interval past its due time) can a
    /// probe be admitted late, by as much, never early. The `retry_after` of a rejection decided
    /// on the coarse time is accurate to the interval. A millisecond is a reasonable interval:
    /// the thread then wakes a thousand times a second to do one clock read and one store.
    ///
    /// # Errors
    ///
    /// [`UpkeepError`] if an upkeep is already running, or the thread cannot be spawned.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{BreakerConfig, CircuitBreaker};
    ///
    /// // Hold the handle for as long as the breakers run, e.g. in `main`.
    /// let upkeep = breaker::RealClock::start_upkeep(Duration::from_millis(1)).expect("one upkeep");
    /// let breaker = CircuitBreaker::new("search", BreakerConfig::default().with_threshold(1));
    /// breaker.acquire().expect("closed").failure();
    /// assert!(breaker.acquire().is_err()); // rejected on the coarse time
    /// drop(upkeep);
    /// assert!(breaker.acquire().is_err()); // and without it
    /// ```
    pub fn start_upkeep(interval: Duration) -> Result<Upkeep, UpkeepError> {
        if UPKEEP
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(UpkeepError::Running);
        }
        let global = global();
        let margin = duration_to_nanos(interval).saturating_mul(2).max(1);
        UPKEEP.margin.store(margin, Ordering::Relaxed);
        let refresh = move || {
            UPKEEP
                .bound
                .store(global.nanos().saturating_add(margin), Ordering::Relaxed)
        };
        // Valid from the start, whenever the thread gets to run.
        refresh();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("breaker-clock".into())
            .spawn(move || {
                while !stopped.load(Ordering::Acquire) {
                    refresh();
                    std::thread::park_timeout(interval);
                }
            });
        match spawned {
            Ok(thread) => Ok(Upkeep {
                thread: Some(thread),
                stop,
                interval,
            }),
            Err(error) => {
                UPKEEP.bound.store(0, Ordering::Relaxed);
                UPKEEP.running.store(false, Ordering::Release);
                Err(UpkeepError::Spawn(error))
            }
        }
    }

    /// How long until `until` (nanoseconds of this clock), `None` if it has come: from the
    /// upkeep's coarse time while `until` is certainly ahead, else from an exact reading.
    #[inline]
    fn left_until(until: u64) -> Option<Duration> {
        let bound = UPKEEP.bound.load(Ordering::Relaxed);
        if bound != 0 && bound < until {
            let margin = UPKEEP.margin.load(Ordering::Relaxed);
            return Some(Duration::from_nanos(until - bound.saturating_sub(margin)));
        }
        left(until, global().nanos())
    }
}

/// The time from `now` to `until`, `None` if it has come.
#[inline]
fn left(until: u64, now: u64) -> Option<Duration> {
    (now < until).then(|| Duration::from_nanos(until - now))
}

/// What the upkeep thread keeps, in nanoseconds of [`RealClock`].
struct UpkeepTime {
    /// An upper bound on the time now: the time of the last refresh plus the margin; 0 when
    /// no upkeep runs.
    bound: AtomicU64,
    /// Two intervals: the thread refreshes every interval, the second leaves room for it
    /// waking up late.
    margin: AtomicU64,
    running: AtomicBool,
}

static UPKEEP: UpkeepTime = UpkeepTime {
    bound: AtomicU64::new(0),
    margin: AtomicU64::new(0),
    running: AtomicBool::new(false),
};

/// A running upkeep thread (see [`RealClock::start_upkeep`]); dropping it stops the thread (at once:
/// it is woken up) and breakers go back to reading the exact clock.
#[derive(Debug)]
#[must_use = "dropping the handle stops the upkeep thread"]
pub struct Upkeep {
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    interval: Duration,
}

impl Upkeep {
    /// How often the thread refreshes the coarse time.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl Drop for Upkeep {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        // After the thread's last write: readers stop trusting a time that no longer moves.
        UPKEEP.bound.store(0, Ordering::Relaxed);
        UPKEEP.running.store(false, Ordering::Release);
    }
}

/// Why [`RealClock::start_upkeep`] could not start the thread.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpkeepError {
    /// An upkeep is already running in this process: one is enough.
    Running,
    /// The thread could not be spawned.
    Spawn(std::io::Error),
}

impl fmt::Display for UpkeepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpkeepError::Running => f.write_str("a clock upkeep is already running"),
            UpkeepError::Spawn(error) => write!(f, "cannot spawn the clock upkeep: {error}"),
        }
    }
}

impl std::error::Error for UpkeepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UpkeepError::Running => None,
            UpkeepError::Spawn(error) => Some(error),
        }
    }
}

/// A clock that moves only when told to: for tests.
///
/// Clones share the same time, so a test keeps one handle and gives a clone to the breaker.
/// It starts at zero.
///
/// ```
/// use std::time::Duration;
/// use breaker::{Clock, ManualClock};
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
    /// Boxed twice, so that it is one word in the breaker (which must stay small): a custom
    /// clock, a test's, can afford the extra indirection.
    Custom(Box<Box<dyn Clock>>),
}

impl BreakerClock {
    #[inline]
    pub(crate) fn now(&self) -> Duration {
        match self {
            BreakerClock::Real(clock) => clock.now(),
            BreakerClock::Custom(clock) => clock.now(),
        }
    }

    /// How long until `until` (nanoseconds of this clock), `None` if it has come. Exact
    /// about whether it has come; the duration is as precise as the clock that decided.
    #[inline]
    pub(crate) fn left_until(&self, until: u64) -> Option<Duration> {
        match self {
            BreakerClock::Real(_) => RealClock::left_until(until),
            BreakerClock::Custom(clock) => left(until, duration_to_nanos(clock.now())),
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
    fn left_until_is_exact_under_a_manual_clock() {
        let manual = ManualClock::new();
        let clock = BreakerClock::Custom(Box::new(Box::new(manual.clone())));
        manual.set(Duration::from_nanos(999));
        assert_eq!(clock.left_until(1_000), Some(Duration::from_nanos(1)));
        manual.advance(Duration::from_nanos(1));
        assert_eq!(
            clock.left_until(1_000),
            None,
            "the deadline itself has come"
        );
    }

    #[test]
    fn real_left_until_never_says_a_passed_deadline_is_ahead() {
        let clock = BreakerClock::Real(RealClock);
        let hour = Duration::from_secs(3600);
        for _ in 0..1000 {
            let now = duration_to_nanos(RealClock.now());
            assert_eq!(clock.left_until(now.max(1)), None);
            let left = clock
                .left_until(now + duration_to_nanos(hour))
                .expect("an hour ahead");
            // Exact, or from the upkeep (another test may run one): within its interval.
            let error = left.abs_diff(hour);
            assert!(error < Duration::from_millis(50), "{left:?}");
        }
    }

    #[test]
    fn a_real_deadline_comes_exactly_when_the_exact_clock_passes_it() {
        let clock = BreakerClock::Real(RealClock);
        let until = duration_to_nanos(RealClock.now()) + 2_000_000;
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        while clock.left_until(until).is_some() {
            assert!(
                std::time::Instant::now() < give_up,
                "the deadline never came"
            );
            std::hint::spin_loop();
        }
        assert!(
            duration_to_nanos(RealClock.now()) >= until,
            "admitted early"
        );
    }

    #[test]
    fn the_upkeep_keeps_a_coarse_time_until_dropped() {
        let upkeep = RealClock::start_upkeep(Duration::from_millis(1)).expect("the only upkeep");
        assert_eq!(upkeep.interval(), Duration::from_millis(1));
        assert!(matches!(
            RealClock::start_upkeep(Duration::from_millis(1)),
            Err(UpkeepError::Running)
        ));
        let first = UPKEEP.bound.load(Ordering::Relaxed);
        assert_ne!(first, 0, "a time from the start");
        // The thread refreshes it: wait for that, without a fixed sleep.
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        while UPKEEP.bound.load(Ordering::Relaxed) == first {
            assert!(std::time::Instant::now() < give_up, "no refresh");
            std::thread::yield_now();
        }
        let clock = BreakerClock::Real(RealClock);
        let now = duration_to_nanos(RealClock.now());
        // A deadline that has passed is found passed, and one ahead ahead. (Not one that
        // passes just now: a thread starved on a loaded machine refreshes late, and its
        // coarse time then says "not yet" a little longer; late, never early.)
        assert_eq!(
            clock.left_until(now.saturating_sub(1_000_000_000).max(1)),
            None
        );
        assert!(clock.left_until(now + 1_000_000_000).is_some());
        drop(upkeep);
        assert_eq!(UPKEEP.bound.load(Ordering::Relaxed), 0);
        let again =
            RealClock::start_upkeep(Duration::from_secs(1)).expect("stopped, so startable again");
        assert!(format!("{again:?}").contains("Upkeep"));
    }

    #[test]
    fn breaker_clock_dispatches() {
        let manual = ManualClock::new();
        manual.advance(Duration::from_secs(7));
        let clock = BreakerClock::Custom(Box::new(Box::new(manual)));
        assert_eq!(clock.now(), Duration::from_secs(7));
        let real = BreakerClock::Real(RealClock);
        let _ = real.now();
        assert!(format!("{clock:?}").contains("ManualClock"));
    }
}
