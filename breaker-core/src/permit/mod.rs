//! [`Permit`]: the right to make one call, and the duty to say how it went.
//!
//! [`OwnedPermit`] is the same for a breaker held by `Arc`; [`RunFuture`] runs a call's
//! future as the guarded code of a permit.

mod owned;
mod run;

use std::fmt;

use crate::breaker::CircuitBreaker;
use crate::circuit::CircuitState;

pub use owned::OwnedPermit;
pub use run::RunFuture;

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

// The bits of a permit's word: the admission (3 bits), whether the call is timed, whether
// the guarded code is running (so that a drop then is its own panic), whether the permit was
// reported, and 57 bits of payload: the generation that admitted it (the hot word's tag for
// a call admitted in Closed), or, for a probe, its generation's low 47 bits and its slot.
// The permit's second word is a time: a timed call's start, and a probe's admission (which
// is its start too), in nanoseconds of the breaker's clock.
const GENERATION_BITS: u32 = 57;
const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;
const ADMISSION_MASK: u64 = 0b111 << GENERATION_BITS;
const TIMED: u64 = 1 << 60;
const ARMED: u64 = 1 << 62;
const REPORTED: u64 = 1 << 63;
/// A probe's generation: its low 47 bits (a probe reporting after 2^47 transitions could
/// pass for a current one).
const PROBE_GENERATION_BITS: u32 = 47;
const PROBE_GENERATION_MASK: u64 = (1 << PROBE_GENERATION_BITS) - 1;
/// A probe's slot, above its generation: 10 bits.
const SLOT_MASK: u64 = 0x3ff;
/// How many probe slots a permit can name (the breaker checks that `half_open_max` fits).
pub(crate) const PROBE_SLOTS: u64 = SLOT_MASK + 1;

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

/// Permission to make one call through a [`CircuitBreaker`], from
/// [`CircuitBreaker::acquire`].
///
/// Report the outcome with [`success`](Self::success) or [`failure`](Self::failure) (or
/// [`ignore`](Self::ignore) for an error that says nothing about the remote). A permit
/// dropped without a report (its future was cancelled, a panic elsewhere unwound past it)
/// counts as neither: if it was a half-open probe, its slot is freed at once for another
/// probe. Run the call itself through [`run`](Self::run) or [`run_future`](Self::run_future)
/// and a panic of the call is a failure. A permit that is never dropped (`mem::forget`)
/// holds its probe slot until the breaker's `half_open_timeout` gives it up.
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
    /// Generation, admission and flags in one word, so that a call in Closed passes the
    /// permit in registers (its `at` is unused there and optimised away).
    word: u64,
    /// A timed call's start, or a probe's admission: nanoseconds of the breaker's clock,
    /// kept whole so that any duration is measured right.
    at: u64,
}

impl<'a> Permit<'a> {
    #[inline]
    pub(crate) fn new(breaker: &'a CircuitBreaker, admission: Admission, generation: u64) -> Self {
        let word = (generation & GENERATION_MASK) | ((admission as u64) << GENERATION_BITS);
        Self {
            breaker,
            word,
            at: 0,
        }
    }

    /// A half-open probe of `generation` holding slot `slot`, admitted at `now`
    /// (nanoseconds of the breaker's clock).
    pub(crate) fn probe(breaker: &'a CircuitBreaker, generation: u64, slot: u32, now: u64) -> Self {
        let payload = (generation & PROBE_GENERATION_MASK)
            | ((u64::from(slot) & SLOT_MASK) << PROBE_GENERATION_BITS);
        Self {
            breaker,
            word: payload | ((Admission::Probe as u64) << GENERATION_BITS),
            at: now,
        }
    }

    /// This permit, timed from `now` (nanoseconds of the breaker's clock; for a probe, the
    /// time it was admitted at).
    pub(crate) fn timed(mut self, now: u64) -> Self {
        self.word |= TIMED;
        self.at = now;
        self
    }

    /// When the call started (nanoseconds of the breaker's clock), if it is timed.
    pub(crate) fn started(&self) -> Option<u64> {
        (self.word & TIMED != 0).then_some(self.at)
    }

    /// A probe's slot and the stamp it holds the slot with (its admission).
    pub(crate) fn probe_slot(&self) -> (u32, u64) {
        let slot = ((self.word & GENERATION_MASK) >> PROBE_GENERATION_BITS) & SLOT_MASK;
        (slot as u32, crate::breaker::probe_stamp(self.at))
    }

    /// Whether `generation` (a full one) is the one that admitted this permit, to as many
    /// bits as the permit keeps of it.
    pub(crate) fn is_of(&self, generation: u64) -> bool {
        let kept = match self.admission() {
            Admission::Closed | Admission::Windowed => crate::breaker::hot_tag(generation),
            Admission::Probe => generation & PROBE_GENERATION_MASK,
            _ => generation & GENERATION_MASK,
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
        let (word, at) = self.detach();
        breaker.report_success(word | REPORTED, at);
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

    /// Runs `call`, the guarded code: if it panics, the permit counts a failure as the
    /// panic unwinds past it (the panic goes on untouched). A panic anywhere else that drops
    /// the permit (a sibling in `join!`, a caller's own code) is not the call's: the permit
    /// then counts as neither, like any permit dropped unreported.
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new("ocr", BreakerConfig::default().with_threshold(1));
    /// let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     let mut permit = breaker.acquire().unwrap();
    ///     let text: Result<String, ()> = permit.run(|| panic!("the call panics"));
    ///     permit.record(&text);
    /// }));
    /// assert!(panicked.is_err());
    /// assert_eq!(breaker.state(), CircuitState::Open);
    ///
    /// // A panic outside `run` is not the call's: the permit counts as neither.
    /// breaker.reset();
    /// let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     let _permit = breaker.acquire().unwrap();
    ///     panic!("the caller's own code panics");
    /// }));
    /// assert!(panicked.is_err());
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// assert_eq!(breaker.metrics().abandoned, 1);
    /// ```
    #[inline]
    pub fn run<R>(&mut self, call: impl FnOnce() -> R) -> R {
        run::run_armed(&mut self.word, call)
    }

    /// Polls `future`, the guarded call, through the returned future: if a poll of it
    /// panics, the permit counts a failure (as [`run`](Self::run) does for a closure). The
    /// permit is not reported: report the output as usual. Dropping the returned future
    /// before it finishes (a timeout, a cancelled task) leaves the permit unreported, so it
    /// counts as neither once dropped.
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker};
    ///
    /// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
    /// #     let mut future = std::pin::pin!(future);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop {
    /// #         if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) { return out; }
    /// #     }
    /// # }
    /// let breaker = CircuitBreaker::new("embeddings", BreakerConfig::default());
    /// block_on(async {
    ///     let mut permit = breaker.acquire().unwrap();
    ///     let vector = permit.run_future(async { Ok::<_, ()>(vec![0.5_f32; 4]) }).await;
    ///     permit.record(&vector);
    /// });
    /// assert_eq!(breaker.metrics().succeeded, 1);
    /// ```
    pub fn run_future<F: std::future::Future>(&mut self, future: F) -> RunFuture<'_, F> {
        RunFuture::new(&mut self.word, future)
    }

    /// The generation of the breaker that admitted this permit (modulo 2^40 for a call
    /// admitted in Closed, modulo 2^47 for a probe).
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

    /// Whether the breaker has changed state since it admitted this permit, or, for a
    /// probe, whether it was given up after `half_open_timeout` (so a report would be
    /// ignored).
    pub fn is_stale(&self) -> bool {
        match self.admission() {
            Admission::Closed | Admission::Windowed => !self.is_of(self.breaker.published_tag()),
            Admission::Probe => !self.breaker.holds_probe(self),
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
    pub(crate) fn reported(breaker: &'a CircuitBreaker, word: u64, at: u64) -> Self {
        Self {
            breaker,
            word: word | REPORTED,
            at,
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
        if admission_of(word) == Admission::Probe {
            word & PROBE_GENERATION_MASK
        } else {
            word & GENERATION_MASK
        }
    }

    /// The permit's words, without reporting it or dropping it: for reports by value and
    /// for the handles that own their breaker.
    #[inline]
    pub(crate) fn detach(self) -> (u64, u64) {
        let parts = (self.word, self.at);
        std::mem::forget(self);
        parts
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.word & REPORTED == 0 {
            if self.word & ARMED != 0 {
                // Dropped while its guarded code was running: that code panicked (the
                // permit's owner cannot drop it from inside `run`), a failed call.
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
    fn a_timed_permit_keeps_its_whole_start_and_generation() {
        let breaker = CircuitBreaker::new("timed", BreakerConfig::default());
        let generation = 0x12_3456_789a;
        let start = 3 * 3_600 * 1_000_000_000 + 700; // three hours and 700 ns
        let permit = Permit::new(&breaker, Admission::Windowed, generation).timed(start);
        assert_eq!(permit.started(), Some(start), "nanoseconds, whole");
        assert_eq!(permit.admission(), Admission::Windowed);
        assert_eq!(permit.admitted_in(), generation);
        assert!(permit.is_of(generation));
        assert!(!permit.is_of(generation + 1));
        std::mem::forget(permit);

        let untimed = Permit::new(&breaker, Admission::Observed, generation);
        assert_eq!(untimed.started(), None);
        assert!(untimed.is_of(generation));
        assert!(!untimed.is_of(generation + (1 << 24)), "all 57 bits kept");
        std::mem::forget(untimed);
    }

    #[test]
    fn a_probe_keeps_its_slot_its_admission_and_its_generation() {
        let breaker = CircuitBreaker::new("probe", BreakerConfig::default());
        let generation = (1 << 50) + 77;
        let probe = Permit::probe(&breaker, generation, 999, 42);
        assert_eq!(probe.admission(), Admission::Probe);
        assert_eq!(probe.probe_slot(), (999, 43));
        assert_eq!(probe.generation(), generation & PROBE_GENERATION_MASK);
        assert!(probe.is_of(generation));
        assert!(!probe.is_of(generation + 1));
        assert_eq!(
            probe.started(),
            None,
            "not timed unless slow calls are watched"
        );
        let timed = probe.timed(42);
        assert_eq!(timed.started(), Some(42));
        assert_eq!(timed.probe_slot(), (999, 43));
        std::mem::forget(timed);
    }
}
