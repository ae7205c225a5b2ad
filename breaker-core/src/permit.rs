//! [`Permit`]: the right to make one call, and the duty to say how it went.

use std::fmt;
use std::sync::Arc;

use crate::breaker::{CircuitBreaker, CircuitState};
use crate::error::CircuitOpen;

/// What a permit was admitted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A call in Closed, admitted on the breaker's hot word. A failure counts towards
    /// `threshold`, a success forgets the failures.
    Closed = 0,
    /// A probe in HalfOpen: it holds a probe slot of its generation; its report closes or
    /// reopens the circuit.
    Probe = 1,
    /// A call let through by a disabled breaker: nothing is recorded.
    Unguarded = 2,
    /// A call let through by a breaker in MetricsOnly: counted in the metrics, nothing
    /// more.
    Observed = 3,
    /// A call in Closed under a sliding-window policy (admitted on the hot word's tag): its
    /// report goes to the window of its generation.
    Windowed = 4,
}

// The bits of a permit's word: the admission (3 bits), whether the call is timed, whether a
// panic counts as a failure, whether the permit was reported, and 57 bits of payload: the
// generation that admitted it (the hot word's tag for a call admitted in Closed), or, for a
// timed call, the generation's low 24 bits and when the call started, so that a permit stays
// two words and moves in registers.
const GENERATION_BITS: u32 = 57;
const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;
const ADMISSION_MASK: u64 = 0b111 << GENERATION_BITS;
const TIMED: u64 = 1 << 60;
const FAIL_ON_PANIC: u64 = 1 << 62;
const REPORTED: u64 = 1 << 63;
/// A timed call's start, in microseconds of the breaker's clock modulo 2^33 (about 2.4
/// hours, above the longest slow-call duration, an hour).
const START_BITS: u32 = 33;
const START_MASK: u64 = (1 << START_BITS) - 1;
/// A timed call's generation: its low 24 bits (16 million transitions before a stale
/// report could pass for a current one).
const TIMED_GENERATION_MASK: u64 = (1 << (GENERATION_BITS - START_BITS)) - 1;

/// What the admission bits of a permit's word say.
#[inline]
fn admission_of(word: u64) -> Admission {
    match (word & ADMISSION_MASK) >> GENERATION_BITS {
        0 => Admission::Closed,
        1 => Admission::Probe,
        2 => Admission::Unguarded,
        3 => Admission::Observed,
        _ => Admission::Windowed,
    }
}

/// The elapsed microseconds between a timed call's start (as a permit keeps it) and `now`
/// (nanoseconds of the breaker's clock).
pub(crate) fn elapsed_micros(started: u64, now: u64) -> u64 {
    (now / 1_000).wrapping_sub(started) & START_MASK
}

/// Permission to make one call through a [`CircuitBreaker`], from
/// [`CircuitBreaker::acquire`].
///
/// Report the outcome with [`success`](Self::success) or [`failure`](Self::failure) (or
/// [`ignore`](Self::ignore) for an error that says nothing about the remote). A
/// permit dropped without a report (its future was cancelled, its caller panicked) counts as
/// neither: if it was a half-open probe, its slot is freed at once for another probe. A
/// permit that is never dropped (`mem::forget`) holds its probe slot until the breaker's
/// `half_open_timeout` gives it up.
///
/// A permit belongs to the generation of the breaker that admitted it. If the breaker has
/// changed state since (it opened, a probe closed it, it was reset), the report is stale and
/// is ignored: a slow call that started before the circuit reopened cannot count against the
/// circuit that came after.
///
/// ```
/// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
///
/// let breaker = CircuitBreaker::new("search", BreakerConfig::default().with_threshold(2));
///
/// let permit = breaker.acquire().expect("closed: admitted");
/// assert!(!permit.is_probe());
/// permit.failure();
///
/// // A permit dropped unreported counts as neither success nor failure.
/// drop(breaker.acquire().unwrap());
/// assert_eq!(breaker.metrics().consecutive_failures, 1);
///
/// breaker.acquire().unwrap().failure();
/// assert_eq!(breaker.state(), CircuitState::Open);
/// assert!(breaker.acquire().is_err());
/// ```
#[must_use = "a permit should be reported with `success()` or `failure()`; dropping it counts as neither"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    /// Generation, admission, flags and a timed call's start in one word, so that a permit
    /// is two words and moves in registers: the Closed hot path then has no stack copies
    /// to stall on.
    word: u64,
}

impl<'a> Permit<'a> {
    #[inline]
    pub(crate) fn new(breaker: &'a CircuitBreaker, admission: Admission, generation: u64) -> Self {
        let word = (generation & GENERATION_MASK) | ((admission as u64) << GENERATION_BITS);
        Self { breaker, word }
    }

    /// This permit, timed from `now` (nanoseconds of the breaker's clock): it keeps the low
    /// 24 bits of its generation and the start in microseconds.
    pub(crate) fn timed(mut self, now: u64) -> Self {
        let generation = self.word & TIMED_GENERATION_MASK;
        let start = (now / 1_000) & START_MASK;
        self.word = (self.word & !GENERATION_MASK) | TIMED | (generation << START_BITS) | start;
        self
    }

    /// When the call started (microseconds, modulo 2^33), if it is timed.
    pub(crate) fn started(&self) -> Option<u64> {
        (self.word & TIMED != 0).then_some(self.word & START_MASK)
    }

    /// Whether `generation` (a full one) is the one that admitted this permit, to as many
    /// bits as the permit keeps of it.
    pub(crate) fn is_of(&self, generation: u64) -> bool {
        let kept = match self.admission() {
            Admission::Closed | Admission::Windowed => crate::breaker::hot_tag(generation),
            _ => generation & GENERATION_MASK,
        };
        let kept = if self.word & TIMED != 0 {
            kept & TIMED_GENERATION_MASK
        } else {
            kept
        };
        kept == self.admitted_in()
    }

    /// What it was admitted as.
    #[inline]
    pub(crate) fn admission(&self) -> Admission {
        admission_of(self.word)
    }

    /// The generation it was admitted in (the hot word's tag if admitted in Closed).
    #[inline]
    pub(crate) fn admitted_in(&self) -> u64 {
        Self::admitted_in_of(self.word)
    }

    /// Reports that the call succeeded: in Closed it resets the consecutive failures; as a
    /// probe it closes the circuit.
    #[inline]
    pub fn success(self) {
        // By value, not through `&self`: the permit stays in registers on the hot path.
        let breaker = self.breaker;
        let word = self.detach() | REPORTED;
        breaker.report_success(word);
    }

    /// Reports that the call failed: in Closed it counts towards the threshold; as a probe
    /// it reopens the circuit with a fresh cooldown.
    pub fn failure(mut self) {
        self.word |= REPORTED;
        self.breaker.report_failure(&self);
    }

    /// Reports `success` (true) or failure (false).
    #[inline]
    pub fn report(self, success: bool) {
        if success {
            self.success()
        } else {
            self.failure()
        }
    }

    /// Reports a call's result: `Ok` is a success, `Err` a failure.
    #[inline]
    pub fn record<T, E>(self, result: &Result<T, E>) {
        self.report(result.is_ok());
    }

    /// Reports a call's result: `Ok` is a success; an `Err` is a failure if `failure_if`
    /// says so, and otherwise [ignored](Self::ignore) (a 400 is the caller's fault, not the
    /// remote's).
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
    /// let is_server_error = |status: &u16| *status >= 500;
    /// breaker.acquire().unwrap().record_with(&Err::<(), u16>(503), is_server_error);
    /// breaker.acquire().unwrap().record_with(&Err::<(), u16>(404), is_server_error);
    /// let metrics = breaker.metrics();
    /// assert_eq!((metrics.failed, metrics.ignored), (1, 1));
    /// assert_eq!(metrics.consecutive_failures, 1); // the 404 did not reset the count
    /// ```
    #[inline]
    pub fn record_with<T, E>(self, result: &Result<T, E>, failure_if: impl FnOnce(&E) -> bool) {
        match result {
            Ok(_) => self.success(),
            Err(error) if failure_if(error) => self.failure(),
            Err(_) => self.ignore(),
        }
    }

    /// Reports that the call ended in an error the classifier ignores: it counts as
    /// neither a success nor a failure, or as a success, as the breaker's
    /// [`ignored_errors`](crate::BreakerConfig::ignored_errors) says. Counted in
    /// [`Metrics::ignored`](crate::Metrics::ignored) either way.
    pub fn ignore(mut self) {
        self.word |= REPORTED;
        self.breaker.report_ignored(&self);
    }

    /// This permit, reporting a failure if it is dropped unreported while its thread
    /// panics (a panicking call is a failed call); dropped unreported otherwise (a cancelled
    /// future), it still counts as neither. What `#[circuit_breaker]` and
    /// [`CircuitBreaker::call`] mean by a panic.
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new("ocr", BreakerConfig::default().with_threshold(1));
    /// let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     let _permit = breaker.acquire().unwrap().fail_on_panic();
    ///     panic!("the call panics");
    /// }));
    /// assert!(panicked.is_err());
    /// assert_eq!(breaker.state(), CircuitState::Open);
    /// ```
    #[inline]
    pub fn fail_on_panic(mut self) -> Self {
        self.word |= FAIL_ON_PANIC;
        self
    }

    /// The generation of the breaker that admitted this permit (modulo 2^40 for a call
    /// admitted in Closed, modulo 2^24 for a call timed by a slow-call policy).
    pub fn generation(&self) -> u64 {
        self.admitted_in()
    }

    /// The state the breaker was in when it admitted this permit: `Closed`, `HalfOpen` (a
    /// probe), `Disabled` or `MetricsOnly`.
    pub fn state(&self) -> CircuitState {
        match self.admission() {
            Admission::Closed | Admission::Windowed => CircuitState::Closed,
            Admission::Probe => CircuitState::HalfOpen,
            Admission::Unguarded => CircuitState::Disabled,
            Admission::Observed => CircuitState::MetricsOnly,
        }
    }

    /// Whether this permit is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.admission() == Admission::Probe
    }

    /// Whether the breaker has changed state since it admitted this permit (so a report
    /// would be ignored).
    pub fn is_stale(&self) -> bool {
        match self.admission() {
            Admission::Closed | Admission::Windowed => !self.is_of(self.breaker.published_tag()),
            _ => !self.is_of(self.breaker.generation()),
        }
    }

    /// The breaker that admitted this permit.
    pub fn breaker(&self) -> &'a CircuitBreaker {
        self.breaker
    }
}

impl<'a> Permit<'a> {
    /// A reported permit from its parts, for the code that reports it out of line.
    pub(crate) fn reported(breaker: &'a CircuitBreaker, word: u64) -> Self {
        Self {
            breaker,
            word: word | REPORTED,
        }
    }

    /// The admission of a permit's word.
    #[inline]
    pub(crate) fn admission_of(word: u64) -> Admission {
        admission_of(word)
    }

    /// The generation of a permit's word.
    #[inline]
    pub(crate) fn admitted_in_of(word: u64) -> u64 {
        if word & TIMED != 0 {
            (word & GENERATION_MASK) >> START_BITS
        } else {
            word & GENERATION_MASK
        }
    }

    /// The permit's word, without reporting it or dropping it: for reports by value.
    #[inline]
    fn detach(self) -> u64 {
        let word = self.word;
        std::mem::forget(self);
        word
    }
}

/// A [`Permit`] that holds its breaker by `Arc`, from [`CircuitBreaker::acquire_owned`]: it
/// can live in a future or move to another thread. Reported and dropped exactly as a
/// [`Permit`].
///
/// ```
/// use std::sync::Arc;
/// use breaker::{BreakerConfig, CircuitBreaker};
///
/// let breaker = Arc::new(CircuitBreaker::new("embeddings", BreakerConfig::default()));
/// let permit = breaker.acquire_owned().unwrap();
/// std::thread::spawn(move || permit.record(&Ok::<_, ()>(42))).join().unwrap();
/// assert_eq!(breaker.metrics().succeeded, 1);
/// ```
#[must_use = "a permit should be reported with `success()` or `failure()`; dropping it counts as neither"]
pub struct OwnedPermit {
    breaker: Arc<CircuitBreaker>,
    word: u64,
}

impl OwnedPermit {
    /// The permit as a borrowed [`Permit`]: reporting it reports this one.
    fn borrowed(&self) -> Permit<'_> {
        Permit {
            breaker: &self.breaker,
            word: self.word,
        }
    }

    /// Reports that the call succeeded; see [`Permit::success`].
    pub fn success(mut self) {
        self.borrowed().success();
        self.word |= REPORTED;
    }

    /// Reports that the call failed; see [`Permit::failure`].
    pub fn failure(mut self) {
        self.borrowed().failure();
        self.word |= REPORTED;
    }

    /// Reports `success` (true) or failure (false).
    pub fn report(self, success: bool) {
        if success {
            self.success()
        } else {
            self.failure()
        }
    }

    /// Reports a call's result: `Ok` is a success, `Err` a failure.
    pub fn record<T, E>(self, result: &Result<T, E>) {
        self.report(result.is_ok());
    }

    /// Reports a call's result, with `failure_if` classifying its error; see
    /// [`Permit::record_with`].
    pub fn record_with<T, E>(mut self, result: &Result<T, E>, failure_if: impl FnOnce(&E) -> bool) {
        self.borrowed().record_with(result, failure_if);
        self.word |= REPORTED;
    }

    /// Reports an error the classifier ignores; see [`Permit::ignore`].
    pub fn ignore(mut self) {
        self.borrowed().ignore();
        self.word |= REPORTED;
    }

    /// This permit, reporting a failure if it is dropped unreported while its thread
    /// panics; see [`Permit::fail_on_panic`].
    pub fn fail_on_panic(mut self) -> Self {
        self.word |= FAIL_ON_PANIC;
        self
    }

    /// Whether this permit is a half-open probe.
    pub fn is_probe(&self) -> bool {
        admission_of(self.word) == Admission::Probe
    }

    /// The breaker that admitted this permit.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}

impl OwnedPermit {
    /// Reads the permit as a borrowed [`Permit`], which is never dropped (so never reported).
    fn peek<T>(&self, read: impl FnOnce(&Permit<'_>) -> T) -> T {
        read(&std::mem::ManuallyDrop::new(self.borrowed()))
    }

    /// See [`Permit::generation`].
    pub fn generation(&self) -> u64 {
        self.peek(|permit| permit.generation())
    }

    /// See [`Permit::state`].
    pub fn state(&self) -> CircuitState {
        self.peek(|permit| permit.state())
    }

    /// See [`Permit::is_stale`].
    pub fn is_stale(&self) -> bool {
        self.peek(|permit| permit.is_stale())
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if self.word & REPORTED == 0 {
            // Dropped unreported: the borrowed permit's drop decides (neither, or a failure
            // while panicking with `fail_on_panic`).
            drop(self.borrowed());
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("breaker", &self.breaker.name())
            .field("probe", &self.is_probe())
            .finish()
    }
}

impl CircuitBreaker {
    /// Like [`acquire`](Self::acquire), for a breaker held by `Arc`: the permit owns a
    /// reference to the breaker, so it can live in a future or move to another thread.
    pub fn acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit, CircuitOpen> {
        let word = self.acquire()?.detach();
        Ok(OwnedPermit {
            breaker: Arc::clone(self),
            word,
        })
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.word & REPORTED == 0 {
            if self.word & FAIL_ON_PANIC != 0 && std::thread::panicking() {
                self.word |= REPORTED;
                self.breaker.report_failure(self);
            } else {
                self.breaker.report_abandoned(self);
            }
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("state", &self.state())
            .field("generation", &self.generation())
            .field("probe", &self.is_probe())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BreakerConfig;

    #[test]
    fn a_timed_permit_keeps_its_start_and_the_low_bits_of_its_generation() {
        let breaker = CircuitBreaker::new("timed", BreakerConfig::default());
        let generation = 0x12_3456_789a;
        let permit = Permit::new(&breaker, Admission::Probe, generation).timed(5_000_700);
        assert_eq!(permit.started(), Some(5_000), "microseconds, truncated");
        assert_eq!(permit.admission(), Admission::Probe);
        assert_eq!(permit.admitted_in(), generation & TIMED_GENERATION_MASK);
        assert!(permit.is_of(generation));
        assert!(!permit.is_of(generation + 1));
        std::mem::forget(permit);

        let untimed = Permit::new(&breaker, Admission::Probe, generation);
        assert_eq!(untimed.started(), None);
        assert!(untimed.is_of(generation));
        assert!(!untimed.is_of(generation + (1 << 24)), "all 57 bits kept");
        std::mem::forget(untimed);
    }

    #[test]
    fn elapsed_time_wraps_with_the_start() {
        assert_eq!(elapsed_micros(1_000, 3_500_000), 2_500);
        // Started just before the 33-bit count wrapped: still 2 µs.
        assert_eq!(elapsed_micros(START_MASK, 1_000), 2);
    }
}
