//! [`Permit`]: the right to make one call, and the duty to say how it went.
//!
//! One implementation, [`PermitOf`], serves every way of holding the breaker (a
//! [`BreakerHandle`]): [`Permit`] borrows it, [`OwnedPermit`] holds it by `Arc`, and the
//! keyed registry's [`KeyedPermit`](crate::KeyedPermit) holds its
//! [`BreakerRef`](crate::BreakerRef). Each reporting method is written once, so
//! all three have them all. [`RunFuture`] runs a call's future as the guarded code of a
//! permit.

mod handle;
mod run;
mod word;

use std::fmt;
use std::mem::ManuallyDrop;
use std::time::Duration;

use crate::breaker::CircuitBreaker;
use crate::cause::{Because, Why};
use crate::circuit::CircuitState;
use crate::verdict::Verdict;

pub(crate) use handle::Sealed;
pub use handle::{BreakerHandle, OwnedPermit};
pub use run::RunFuture;
use word::{ARMED, GENERATION_MASK, NOTIFY, PROBE_GENERATION_MASK, REPORTED, TIMED};
pub(crate) use word::{Admission, PROBE_SLOTS};

/// Permission to make one call through a [`CircuitBreaker`], holding the breaker by `H`:
/// [`Permit`] (a borrow, from [`CircuitBreaker::acquire`]), [`OwnedPermit`] (an `Arc`,
/// from [`CircuitBreaker::acquire_owned`]) or
/// [`KeyedPermit`](crate::KeyedPermit) (from a keyed
/// [`KeyedRegistry`](crate::KeyedRegistry)). They behave alike.
///
/// Report the outcome with [`success`](Self::success) or [`failure`](Self::failure) (or
/// [`ignore`](Self::ignore) for an error that says nothing about the remote). A permit
/// dropped without a report (its future was cancelled, a panic elsewhere unwound past it)
/// counts as neither: if it was a half-open probe, its slot is freed at once for another
/// probe. Run the call itself through [`run`](Self::run) or [`run_future`](Self::run_future)
/// and a panic of the call is a failure; or arm the permit with
/// [`fail_on_panic`](Self::fail_on_panic), and any drop before the report is one. A permit
/// that is never dropped (`mem::forget`) holds its probe slot until the breaker's
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
pub struct PermitOf<H: BreakerHandle> {
    handle: H,
    /// Generation, admission and flags in one word (see `word.rs`), so that a call in
    /// Closed passes the permit in registers (its `at` is unused there and optimised away).
    word: u64,
    /// A timed call's start, or a probe's admission: nanoseconds of the breaker's clock,
    /// kept whole so that any duration is measured right.
    at: u64,
}

/// A permit that borrows its breaker, from [`CircuitBreaker::acquire`]: the cheapest, three
/// words passed in registers. Its methods are those of [`PermitOf`].
///
/// ```
/// use breaker::{BreakerConfig, CircuitBreaker, Permit};
///
/// fn call_search(breaker: &CircuitBreaker) -> Option<Permit<'_>> {
///     breaker.acquire().ok()
/// }
/// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
/// call_search(&breaker).unwrap().success();
/// assert_eq!(breaker.metrics().succeeded, 1);
/// ```
pub type Permit<'a> = PermitOf<&'a CircuitBreaker>;

impl<H: BreakerHandle> PermitOf<H> {
    /// Reports that the call succeeded: in Closed it resets the consecutive failures; as a
    /// probe it closes the circuit.
    // Always inlined, down to the breaker's report: left to LLVM, the success of a call in
    // Closed was kept out of line in the caller's crate, the permit passed through memory.
    #[inline(always)]
    pub fn success(self) {
        H::report_success(self);
    }

    /// Reports that the call failed: in Closed it counts towards the threshold; as a probe
    /// it reopens the circuit with a fresh cooldown.
    pub fn failure(mut self) {
        self.word |= REPORTED;
        self.handle
            .breaker()
            .report_failure(&self.lent(), Why::Unsaid);
    }

    /// Reports that the call failed with `error`: a [`failure`](Self::failure) whose
    /// `Display`, if it opens the circuit, is the [`Cause`](crate::Cause) the opening and its
    /// rejections carry (formatted only then).
    ///
    /// ```
    /// use breaker::{BreakerConfig, Cause, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new("embeddings", BreakerConfig::default().with_threshold(1));
    /// breaker.acquire().unwrap().failure_because("connection refused");
    /// let rejected = breaker.acquire().unwrap_err();
    /// assert_eq!(rejected.cause(), Some(Cause::Error("connection refused".into())));
    /// ```
    pub fn failure_because(self, error: &(impl fmt::Display + ?Sized)) {
        self.verdict_because(Verdict::Failure, Because::Error(&DisplayRef(error)));
    }

    /// Reports what a classifier said of the call, with what it said it of: an HTTP status,
    /// an error. Like [`verdict`](Self::verdict); if the report opens the circuit, `because`
    /// is the [`Cause`](crate::Cause) the opening and its rejections carry.
    ///
    /// ```
    /// use breaker::{Because, BreakerConfig, Cause, CircuitBreaker, Verdict};
    ///
    /// let breaker = CircuitBreaker::new("claude", BreakerConfig::default().with_threshold(1));
    /// breaker.acquire().unwrap().verdict_because(Verdict::Failure, Because::Status(529));
    /// let rejected = breaker.acquire().unwrap_err();
    /// assert_eq!(rejected.cause(), Some(Cause::Status(529)));
    /// ```
    pub fn verdict_because(mut self, verdict: Verdict, because: Because<'_>) {
        self.word |= REPORTED;
        self.handle
            .breaker()
            .report_verdict(&self.lent(), verdict, Why::Said(because));
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

    /// Reports what a classifier said of the call (see [`Verdict`] for what each does).
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock, Verdict};
    ///
    /// let clock = ManualClock::new();
    /// let config = BreakerConfig::default().with_threshold(1).with_cooldown(Duration::from_secs(5));
    /// let breaker = CircuitBreaker::with_clock("claude", config, clock.clone());
    /// // A 503 saying "back in two minutes": open for two minutes, not the 5 s cooldown.
    /// breaker.acquire().unwrap().verdict(Verdict::DownFor(Duration::from_secs(120)));
    /// assert_eq!(breaker.state(), CircuitState::Open);
    /// assert_eq!(breaker.acquire().unwrap_err().retry_after(), Some(Duration::from_secs(120)));
    /// ```
    pub fn verdict(mut self, verdict: Verdict) {
        match verdict {
            Verdict::Success => self.success(),
            Verdict::Failure => self.failure(),
            Verdict::Ignored => self.ignore(),
            verdict => {
                self.word |= REPORTED;
                self.handle
                    .breaker()
                    .report_verdict(&self.lent(), verdict, Why::Unsaid);
            }
        }
    }

    /// Reports that the remote rate-limited the call and said to come back after
    /// `retry_after` (the breaker's `rate_limit_delay` when `None`): see
    /// [`Verdict::RateLimited`].
    pub fn rate_limited(self, retry_after: Option<Duration>) {
        self.verdict(Verdict::RateLimited(retry_after));
    }

    /// Reports a call's result: `Ok` is a success, an `Err` is what `classify` says of it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{BreakerConfig, CircuitBreaker, Verdict};
    ///
    /// let breaker = CircuitBreaker::new("search", BreakerConfig::default());
    /// let classify = |status: &u16| match status {
    ///     429 => Verdict::RateLimited(Some(Duration::from_secs(2))),
    ///     500.. => Verdict::Failure,
    ///     _ => Verdict::Ignored,
    /// };
    /// breaker.acquire().unwrap().record_verdict(&Err::<(), u16>(429), classify);
    /// assert_eq!(breaker.metrics().rate_limited, 1);
    /// assert!(breaker.acquire().unwrap_err().is_rate_limited());
    /// ```
    #[inline]
    pub fn record_verdict<T, E, V: Into<Verdict>>(
        self,
        result: &Result<T, E>,
        classify: impl FnOnce(&E) -> V,
    ) {
        match result {
            Ok(_) => self.success(),
            Err(error) => self.verdict(classify(error).into()),
        }
    }

    /// Reports that the call ended in an error the classifier ignores: it counts as
    /// neither a success nor a failure, or as a success, as the breaker's
    /// [`ignored_errors`](crate::BreakerConfig::ignored_errors) says. Counted in
    /// [`Metrics::ignored`](crate::Metrics::ignored) either way.
    pub fn ignore(mut self) {
        self.word |= REPORTED;
        self.handle.breaker().report_ignored(&self.lent());
    }

    /// Arms the permit until it is reported: from here on, a drop without a report is a
    /// failure. The code between this call and the report is, by the caller's declaration,
    /// the guarded code, so its panic is a failed call, as a panic inside [`run`](Self::run)
    /// is. So is every other way of leaving it unreported: an early return (`?`), or the
    /// cancellation of a future that holds the permit (a timeout, a `select!` that took
    /// another branch), a call given up before it answered. (A runtime drops a panicked
    /// task after catching its panic, when the thread no longer panics, so a drop cannot
    /// tell a panic from a cancellation: an armed permit counts both as failures.)
    ///
    /// Prefer [`run`](Self::run) or [`run_future`](Self::run_future) when the call is one
    /// closure or one future: only its own panic is then a failure, and a cancellation, an
    /// early return or a panic of the caller's own code counts as neither. Arm the permit
    /// when the guarded code cannot be wrapped: several statements or awaits (a response
    /// read chunk by chunk), or a permit handed on to code that reports it later.
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
    ///
    /// fn read_page(page: u32) -> String {
    ///     assert!(page < 1, "page {page} is unreadable");
    ///     format!("page {page}")
    /// }
    ///
    /// let breaker = CircuitBreaker::new("ocr", BreakerConfig::default().with_threshold(1));
    /// let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     let permit = breaker.acquire().unwrap().fail_on_panic();
    ///     // The guarded code: a loop, not one closure to hand to `run`.
    ///     let pages: Vec<String> = (0..3).map(read_page).collect();
    ///     permit.success();
    ///     pages
    /// }));
    /// assert!(panicked.is_err());
    /// assert_eq!(breaker.state(), CircuitState::Open);
    ///
    /// // Reported, an armed permit counts as its report says.
    /// breaker.reset();
    /// breaker.acquire().unwrap().fail_on_panic().success();
    /// assert_eq!(breaker.metrics().succeeded, 1);
    /// ```
    #[inline]
    pub fn fail_on_panic(mut self) -> Self {
        self.word |= ARMED;
        self
    }

    /// Runs `call`, the guarded code: if it panics, the permit counts a failure as the
    /// panic unwinds past it (the panic goes on untouched). A panic anywhere else that drops
    /// the permit (a sibling in `join!`, a caller's own code) is not the call's: the permit
    /// then counts as neither, like any permit dropped unreported (unless it was armed by
    /// [`fail_on_panic`](Self::fail_on_panic), which `run` leaves armed).
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
    /// counts as neither once dropped (unless it was armed by
    /// [`fail_on_panic`](Self::fail_on_panic)).
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
        let breaker = self.handle.breaker();
        match self.admission() {
            Admission::Closed | Admission::Windowed => !self.is_of(breaker.published_tag()),
            Admission::Probe => !breaker.holds_probe(&self.lent()),
            _ => !self.is_of(breaker.generation()),
        }
    }
}

/// What the breaker reads of a permit, whatever holds the breaker.
impl<H: BreakerHandle> PermitOf<H> {
    /// This permit as a [`Permit`] borrowing its breaker, for the breaker's code to read;
    /// never dropped, as this permit answers for the report.
    #[inline]
    fn lent(&self) -> ManuallyDrop<Permit<'_>> {
        ManuallyDrop::new(PermitOf {
            handle: self.handle.breaker(),
            word: self.word,
            at: self.at,
        })
    }

    /// What this permit holds its breaker by.
    #[inline]
    pub(crate) fn handle(&self) -> &H {
        &self.handle
    }

    /// Reports a success (the words by value, not the permit by reference), then drops the
    /// permit, which, reported, only lets go of its handle.
    #[inline]
    fn report_success_and_drop(mut self) {
        self.word |= REPORTED;
        self.handle.breaker().report_success(self.word, self.at);
    }

    /// Whether the permit's end is told to the breaker's listeners of calls.
    #[inline]
    pub(crate) fn notifies(&self) -> bool {
        self.word & NOTIFY != 0
    }

    /// When the call started (nanoseconds of the breaker's clock), if it is timed.
    pub(crate) fn started(&self) -> Option<u64> {
        (self.word & TIMED != 0).then_some(self.at)
    }

    /// A probe's slot and the stamp it holds the slot with (its admission).
    pub(crate) fn probe_slot(&self) -> (u32, u64) {
        (
            word::slot_of(self.word),
            crate::breaker::probe_stamp(self.at),
        )
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
        word::admission_of(self.word)
    }

    /// The generation it was admitted in (the hot word's tag if admitted in Closed).
    #[inline]
    pub(crate) fn admitted_in(&self) -> u64 {
        word::admitted_in_of(self.word)
    }
}

impl<'a> Permit<'a> {
    /// A permit admitted as `admission` in `generation`.
    #[inline]
    pub(crate) fn new(breaker: &'a CircuitBreaker, admission: Admission, generation: u64) -> Self {
        Self {
            handle: breaker,
            word: word::admitted(admission, generation),
            at: 0,
        }
    }

    /// A half-open probe of `generation` holding slot `slot`, admitted at `now`
    /// (nanoseconds of the breaker's clock).
    pub(crate) fn probe(breaker: &'a CircuitBreaker, generation: u64, slot: u32, now: u64) -> Self {
        Self {
            handle: breaker,
            word: word::probe(generation, slot),
            at: now,
        }
    }

    /// This permit, its end told to the breaker's listeners of calls.
    pub(crate) fn notifying(mut self) -> Self {
        self.word |= NOTIFY;
        self
    }

    /// This permit, timed from `now` (nanoseconds of the breaker's clock; for a probe, the
    /// time it was admitted at).
    pub(crate) fn timed(mut self, now: u64) -> Self {
        self.word |= TIMED;
        self.at = now;
        self
    }

    /// The permit's parts, the permit forgotten: a borrow has nothing to drop, and a drop
    /// left to run on a reported permit is not always optimised away.
    #[inline]
    fn detach(self) -> (&'a CircuitBreaker, u64, u64) {
        let parts = (self.handle, self.word, self.at);
        std::mem::forget(self);
        parts
    }

    /// Reports a success: the words by value, not the permit by reference, so that on the
    /// hot path the permit stays in registers.
    #[inline(always)]
    fn report_success_and_forget(self) {
        let (breaker, word, at) = self.detach();
        breaker.report_success(word | REPORTED, at);
    }

    /// This permit's words under another handle to the same breaker.
    #[inline]
    pub(crate) fn held_by<H: BreakerHandle>(self, handle: H) -> PermitOf<H> {
        let (breaker, word, at) = self.detach();
        debug_assert!(std::ptr::eq(breaker, handle.breaker()));
        PermitOf { handle, word, at }
    }

    /// A reported permit from its parts, for the code that reports it out of line.
    pub(crate) fn reported(breaker: &'a CircuitBreaker, word: u64, at: u64) -> Self {
        Self {
            handle: breaker,
            word: word | REPORTED,
            at,
        }
    }

    /// Whether a permit's word is of a call admitted in Closed whose end nobody listens to.
    #[inline]
    pub(crate) fn is_plain_closed(word: u64) -> bool {
        word::is_plain_closed(word)
    }

    /// The generation of a permit's word.
    #[inline]
    pub(crate) fn admitted_in_of(word: u64) -> u64 {
        word::admitted_in_of(word)
    }

    /// The breaker that admitted this permit.
    pub fn breaker(&self) -> &'a CircuitBreaker {
        self.handle
    }
}

impl<H: BreakerHandle> Drop for PermitOf<H> {
    #[inline]
    fn drop(&mut self) {
        if self.word & REPORTED == 0 {
            let breaker = self.handle.breaker();
            if self.word & ARMED != 0 {
                // Dropped armed: while its guarded code was running (that code panicked:
                // the permit's owner cannot drop it from inside `run`), or after
                // `fail_on_panic`, before its report. A failed call either way.
                breaker.report_failure(&self.lent(), Why::Unsaid);
            } else {
                breaker.report_abandoned(&self.lent());
            }
        }
    }
}

impl<H: BreakerHandle> fmt::Debug for PermitOf<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(H::PERMIT_NAME)
            .field("breaker", &self.handle.breaker().name())
            .field("state", &self.state())
            .field("generation", &self.generation())
            .field("probe", &self.is_probe())
            .finish()
    }
}

#[cfg(test)]
mod tests;

/// An unsized `Display` behind a sized one, to be lent as `&dyn Display`.
struct DisplayRef<'a, T: ?Sized>(&'a T);

impl<T: fmt::Display + ?Sized> fmt::Display for DisplayRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
