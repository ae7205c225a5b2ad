//! [`CircuitBreaker`]: the runtime of the [`Circuit`] state machine.
//!
//! # How it works
//!
//! The breaker's state is an immutable `Snapshot` (state, generation, when it was entered,
//! the config in force) held in an [`ArcSwap`]. Its counters belong to its generation: the
//! probes in flight of a HalfOpen generation are an atomic inside its snapshot; the
//! consecutive failures of a Closed generation are counted in the breaker's hot word, tagged
//! with the generation.
//!
//! - A call in Closed loads the hot word and compares it: no `ArcSwap` load, no
//!   allocation, no clock, no write to a shared cache line (the per-call metrics go to a
//!   cache line of the calling thread's own). Its success writes the word only if there are
//!   failures to forget. The permit is two words, so it moves in registers.
//! - A transition computes the next state with [`Circuit::next`], builds the next snapshot
//!   (generation + 1, fresh counters) and installs it with a compare-and-swap against the
//!   snapshot it was decided on. Exactly one caller wins; the winner marks the old snapshot
//!   superseded, publishes the new generation in the hot word and emits the
//!   [`StateChange`]. A loser's decision was about a snapshot that no longer exists, so it
//!   is dropped (a report) or retried on the new one (an acquire, a manual command).
//! - A permit remembers its generation. Its report acts only if that generation is still
//!   the current one (the hot word's tag for a Closed call; the current snapshot's
//!   generation for a probe, which then is the snapshot the transition is compared and
//!   swapped against, since each installed snapshot's generation is its predecessor's plus
//!   one). So a report from an older generation cannot count against a newer one.
//! - Entering HalfOpen, the winning caller takes the first probe slot in the same snapshot;
//!   every other caller has to claim one of the `half_open_max` slots with a
//!   compare-and-swap. So no more than `half_open_max` probes are in flight at once. A slot
//!   remembers when its probe was admitted: a probe out for `half_open_timeout` is given
//!   up and its slot goes to the next caller, in the same generation, so the other probes
//!   and the successes counted so far stay.

mod adopt;
mod call;
mod gate;
mod hot;
pub(crate) mod permit;
mod probes;
mod report;
mod snapshot;
mod standing;
mod waiters;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};

use crate::backoff::{Jitter, JitterSource};
use crate::cause::{Cause, Why};
use crate::clock::{BreakerClock, Clock, RealClock};
use crate::config::{BreakerConfig, ConfigError};
use crate::error::{CircuitOpen, Detail};
use crate::events::{
    CallCounters, CallEvent, CallOutcome, Listeners, Metrics, StateChange, WindowCounts,
    unix_millis_ago,
};
use crate::policy::TripPolicy;
use hot::{Hinted, Hot, OpenHint, Summary};
use permit::{Admission, Permit};
use probes::Claim;

pub use crate::circuit::{Circuit, CircuitEvent, CircuitState};
pub use crate::name::BreakerName;
pub(crate) use hot::tag as hot_tag;
pub(crate) use probes::ProbeSlots;
pub(crate) use snapshot::Snapshot;
pub(crate) use standing::Standing;
#[cfg(feature = "tower")]
pub(crate) use waiters::Waiter;
use waiters::Waiters;

/// A circuit breaker: it lets calls through while they succeed, rejects them for a cooldown
/// once its [trip policy](crate::TripPolicy) says the remote is failing (by default `threshold`
/// consecutive failures), then lets probes through to find out whether the remote has
/// recovered.
///
/// | state | a call | moves to |
/// | --- | --- | --- |
/// | Closed | admitted | Open when the policy trips: `threshold` consecutive failures (a success resets the count), or a failure or slow-call rate over a window |
/// | Open | rejected with [`CircuitOpen`] until `cooldown` has passed; the first call after it is admitted as a probe | HalfOpen |
/// | HalfOpen | admitted as a probe while fewer than `half_open_max` are in flight (a probe out for `half_open_timeout` is given up, and its slot goes to the next caller), else rejected | Closed after `success_threshold` successful probes, Open on a failed (or slow) one |
/// | ForcedOpen | rejected | Closed on [`reset`](Self::reset) |
/// | Disabled | admitted, nothing recorded, never trips | Closed on [`reset`](Self::reset) |
/// | MetricsOnly | admitted and counted in the metrics, never trips | Closed on [`reset`](Self::reset) |
/// | *(gate)* Closed, Open, HalfOpen while a rate limit is in force | rejected, [rate limited](CircuitOpen::is_rate_limited), until the remote's deadline | no state change |
///
/// # Rate limits, beside the states
///
/// A remote that rate-limits a call ([`Verdict::RateLimited`](crate::Verdict::RateLimited):
/// a 429) is not failing: the call counts as neither a success nor a failure, feeds neither
/// the trip policy's count or window nor the backoff, and a probe that meets one gives its
/// slot back without deciding anything. Instead the breaker's rate-limit gate holds every
/// call back until the remote's deadline (its `Retry-After`, or `rate_limit_delay`), at most
/// `max_retry_after` away; a later rate limit can move the deadline later, never earlier.
/// The gate is not a state of the table: the circuit stays where it is (Closed, Open or
/// HalfOpen), a rejection says which of the two held the call back
/// ([`CircuitOpen::is_rate_limited`]) and carries the exact time left (the later of the two
/// deadlines when the circuit is open too). Disabled and MetricsOnly never reject, so the
/// gate does not apply to them; ForcedOpen rejects as forced open.
///
/// A failing remote may also say how long it will be down
/// ([`Verdict::DownFor`](crate::Verdict::DownFor): a 503 with `Retry-After`): that is a
/// failure, and an opening of the circuit then lasts at least until that deadline (at most
/// `max_retry_after` from when it was said), whatever the backoff gives.
///
/// Share it by reference (`&CircuitBreaker`, `Arc<CircuitBreaker>`, a `static`); all its
/// methods take `&self`.
///
/// ```
/// use std::time::Duration;
/// use breaker::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock};
///
/// let clock = ManualClock::new();
/// let config = BreakerConfig::default()
///     .with_threshold(3)
///     .with_cooldown(Duration::from_secs(30));
/// let breaker = CircuitBreaker::with_clock("gpt-4o", config, clock.clone());
///
/// for _ in 0..3 {
///     breaker.acquire().unwrap().failure();
/// }
/// assert_eq!(breaker.state(), CircuitState::Open);
/// let rejected = breaker.acquire().unwrap_err();
/// assert!(rejected.to_string().contains("circuit breaker `gpt-4o`"));
///
/// clock.advance(Duration::from_secs(30));
/// let probe = breaker.acquire().unwrap(); // the first call after the cooldown is a probe
/// assert!(probe.is_probe());
/// assert!(breaker.acquire().is_err()); // one probe at a time
/// probe.success();
/// assert_eq!(breaker.state(), CircuitState::Closed);
/// ```
// In declaration order: a call in Closed reads `hot` and `counters` only, so they come first,
// where a registry entry puts them on the cache line of its key.
#[repr(C)]
pub struct CircuitBreaker {
    /// The published summary of the current generation: what a call in Closed reads.
    hot: Hot,
    counters: CallCounters,
    /// Open and ForcedOpen: the deadline, so that a rejection needs no snapshot.
    open_hint: OpenHint,
    /// The rate-limit gate's deadline and the outage deadline the remote announced.
    deadlines: once_cell::race::OnceBox<gate::Deadlines>,
    name: BreakerName,
    current: ArcSwap<Snapshot>,
    clock: BreakerClock,
    listeners: Listeners,
    /// The random numbers of the open durations' jitter.
    jitter: JitterSource,
    /// Callers waiting for a probe slot or a state change (the tower layer's back-pressure).
    waiters: Waiters,
}

/// Why a transition was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotMade {
    /// Another caller changed the state first.
    Lost,
    /// The table has no such transition from the current state.
    Refused,
}

impl CircuitBreaker {
    /// A breaker named `name` with `config`, on the real clock.
    ///
    /// # Panics
    ///
    /// If `config` is invalid (see [`BreakerConfig::validate`]); [`try_new`](Self::try_new)
    /// returns the error instead.
    pub fn new(name: impl Into<BreakerName>, config: BreakerConfig) -> Self {
        Self::try_new(name, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A breaker named `name` with `config`, on the real clock, or why `config` is invalid.
    pub fn try_new(
        name: impl Into<BreakerName>,
        config: BreakerConfig,
    ) -> Result<Self, ConfigError> {
        Self::build(name.into(), config, BreakerClock::Real(RealClock))
    }

    /// A breaker on the given clock (a [`ManualClock`](crate::ManualClock) in tests).
    ///
    /// # Panics
    ///
    /// If `config` is invalid; [`try_with_clock`](Self::try_with_clock) returns the error
    /// instead.
    pub fn with_clock(
        name: impl Into<BreakerName>,
        config: BreakerConfig,
        clock: impl Clock,
    ) -> Self {
        Self::try_with_clock(name, config, clock).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A breaker on the given clock, or why `config` is invalid.
    pub fn try_with_clock(
        name: impl Into<BreakerName>,
        config: BreakerConfig,
        clock: impl Clock,
    ) -> Result<Self, ConfigError> {
        Self::build(
            name.into(),
            config,
            BreakerClock::Custom(Box::new(Box::new(clock))),
        )
    }

    fn build(
        name: BreakerName,
        config: BreakerConfig,
        clock: BreakerClock,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let config_seed = config.jitter_seed;
        // The first snapshot's time is only reported as "no transition yet": reading the
        // clock here would make building a breaker calibrate the real clock.
        let initial = Snapshot::initial(config, Duration::ZERO);
        Ok(Self {
            hot: Hot::new(summary(&initial)),
            open_hint: OpenHint::new(),
            deadlines: once_cell::race::OnceBox::new(),
            name,
            current: ArcSwap::from_pointee(initial),
            clock,
            counters: CallCounters::new(),
            listeners: Listeners::new(),
            jitter: JitterSource::new(config_seed),
            waiters: Waiters::new(),
        })
    }

    /// The breaker's name.
    pub fn name(&self) -> &BreakerName {
        &self.name
    }

    /// The current state.
    ///
    /// Time alone does not change it: an Open breaker whose cooldown has passed stays Open
    /// until the next call, which becomes the probe.
    pub fn state(&self) -> CircuitState {
        self.current.load().state
    }

    /// The current generation: how many state changes the breaker has gone through.
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }

    /// The configuration in force.
    pub fn config(&self) -> BreakerConfig {
        self.current.load().config.clone()
    }

    /// Asks to make one call: a [`Permit`] to report the outcome on, or [`CircuitOpen`] if
    /// the breaker rejects the call.
    ///
    /// In Closed this is one atomic load and one comparison (and a clock read with a policy
    /// that times calls). In Open it reads the open deadline and the clock (cheap: see
    /// [`RealClock`], and [`start_upkeep`](crate::RealClock::start_upkeep) to skip even that);
    /// the first call after the cooldown moves the breaker to HalfOpen and is admitted as its
    /// first probe.
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new("rerank", BreakerConfig::default());
    /// match breaker.acquire() {
    ///     Ok(permit) => {
    ///         let ok = true; // make the call here
    ///         permit.report(ok);
    ///     }
    ///     Err(open) => eprintln!("{open}; retry in {:?}", open.retry_after()),
    /// }
    /// ```
    #[inline]
    pub fn acquire(&self) -> Result<Permit<'_>, CircuitOpen> {
        if let Some(tag) = self.hot.closed() {
            self.counters.admitted();
            return Ok(Permit::new(self, Admission::Closed, tag));
        }
        self.acquire_slow()
    }

    /// Every state but Closed counting consecutive failures (and that too while its
    /// generation is being published, or while calls have listeners).
    #[inline(never)]
    fn acquire_slow(&self) -> Result<Permit<'_>, CircuitOpen> {
        // A rate limit or listeners of calls: one test of the word for both, off the path
        // of an outage.
        if self.hot.flagged() {
            return self.acquire_flagged();
        }
        self.admit_plain()
    }

    /// A call while the rate-limit gate may be closed, or calls have listeners.
    #[cold]
    #[inline(never)]
    fn acquire_flagged(&self) -> Result<Permit<'_>, CircuitOpen> {
        if self.hot.observed() {
            return self.acquire_observed();
        }
        self.admit_slow()
    }

    /// A call when calls have listeners: admitted or rejected as without them, and told.
    #[cold]
    #[inline(never)]
    fn acquire_observed(&self) -> Result<Permit<'_>, CircuitOpen> {
        let admitted = match self.hot.closed_observed() {
            Some(tag) => {
                self.counters.admitted();
                Ok(Permit::new(self, Admission::Closed, tag))
            }
            None => self.admit_slow(),
        };
        match admitted {
            // Disabled records nothing.
            Ok(permit) if permit.admission() == Admission::Unguarded => Ok(permit),
            Ok(permit) => Ok(permit.notifying()),
            Err(open) => {
                let outcome =
                    || CallEvent::new(self.name.clone(), CallOutcome::Rejected(open.clone()));
                self.listeners.tell(outcome);
                Err(open)
            }
        }
    }

    /// [`acquire_slow`](Self::acquire_slow) but for the listeners of calls. Inlined into
    /// its callers, so that a rate-limited rejection is returned without a copy.
    #[inline(always)]
    fn admit_slow(&self) -> Result<Permit<'_>, CircuitOpen> {
        // The remote rate-limited a call: rejected until its deadline, whatever the state
        // (but Disabled and MetricsOnly, which never reject: the snapshot decides those).
        if self.hot.gated() {
            if let Some(left) = self.gate_left() {
                if self.hot.is_closed() {
                    return Err(self.reject_gated(CircuitState::Closed, left, None));
                }
                if let Some(hinted) = self.open_hint.about(self.hot.tag()) {
                    if hinted.until == hot::FORCED {
                        return Err(self.reject(CircuitState::ForcedOpen, None));
                    }
                    let detail = Detail::from_bits(hinted.detail);
                    if !detail.has_text() {
                        let open = self.clock.left_until(hinted.until).map(|left| Opening {
                            left,
                            detail,
                            text: None,
                        });
                        return Err(self.reject_gated(CircuitState::Open, left, open));
                    }
                }
                return self.acquire_from(self.current.load());
            }
        }
        self.admit_plain()
    }

    /// [`acquire_slow`](Self::acquire_slow) with the gate open and nobody listening to
    /// calls. Inlined: a call between the two would copy the rejection once more on the hot
    /// path of an outage.
    #[inline(always)]
    fn admit_plain(&self) -> Result<Permit<'_>, CircuitOpen> {
        // Closed with a sliding window: admitted on the hot word, like the fast path.
        if let Some((tag, timed)) = self.hot.windowed() {
            self.counters.admitted();
            let permit = Permit::new(self, Admission::Windowed, tag);
            return Ok(if timed {
                permit.timed(nanos(self.clock.now()))
            } else {
                permit
            });
        }
        // Open or ForcedOpen, as the hint of the published generation says: reject without
        // loading the snapshot (two locked instructions). The hot path of an outage.
        if let Some(hinted) = self.open_hint.about(self.hot.tag()) {
            if hinted.until == hot::FORCED {
                return Err(self.reject(CircuitState::ForcedOpen, None));
            }
            // A cause in text is shared by reference count: the snapshot hands it out.
            let detail = Detail::from_bits(hinted.detail);
            if !detail.has_text() {
                if let Some(left) = self.clock.left_until(hinted.until) {
                    return Err(self.reject_open(Opening {
                        left,
                        detail,
                        text: None,
                    }));
                }
            }
        }
        self.acquire_from(self.current.load())
    }

    /// Every state but Closed, from `snapshot` (a current one, or one just superseded).
    fn acquire_from(&self, mut snapshot: Guard<Arc<Snapshot>>) -> Result<Permit<'_>, CircuitOpen> {
        loop {
            match snapshot.state {
                CircuitState::Closed => {
                    if let Some(left) = self.gate_left() {
                        return Err(self.reject_gated(CircuitState::Closed, left, None));
                    }
                    self.counters.admitted();
                    let tag = hot::tag(snapshot.generation);
                    return Ok(match summary(&snapshot) {
                        Summary::Windowed { .. } => {
                            self.timed(&snapshot, Permit::new(self, Admission::Windowed, tag))
                        }
                        _ => Permit::new(self, Admission::Closed, tag),
                    });
                }
                CircuitState::Disabled => {
                    let generation = snapshot.generation;
                    return Ok(Permit::new(self, Admission::Unguarded, generation));
                }
                CircuitState::MetricsOnly => {
                    self.counters.admitted();
                    let permit = Permit::new(self, Admission::Observed, snapshot.generation);
                    return Ok(self.timed(&snapshot, permit));
                }
                CircuitState::ForcedOpen => {
                    return Err(self.reject(CircuitState::ForcedOpen, None));
                }
                CircuitState::Open => {
                    let now = self.clock.now();
                    // The remote may have announced a longer outage since the circuit opened.
                    let deadline = match self.announced_down_until(nanos(now)) {
                        Some(until) => snapshot.deadline.max(Duration::from_nanos(until)),
                        None => snapshot.deadline,
                    };
                    let open = (now < deadline).then(|| Opening {
                        left: deadline - now,
                        detail: Detail::opening(
                            deadline - snapshot.entered_at,
                            snapshot.cause.as_deref(),
                        ),
                        text: text_of(snapshot.cause.as_ref()),
                    });
                    if let Some(left) = self.gate_left() {
                        return Err(self.reject_gated(CircuitState::Open, left, open));
                    }
                    if let Some(open) = open {
                        return Err(self.reject_open(open));
                    }
                    let event = CircuitEvent::CooldownElapsed;
                    match self.transition(&snapshot, event, now, Why::Unsaid, None) {
                        Ok(probe) => return Ok(self.admit_probe(probe)),
                        Err(_) => snapshot = self.current.load(),
                    }
                }
                CircuitState::HalfOpen => {
                    if let Some(left) = self.gate_left() {
                        return Err(self.reject_gated(CircuitState::HalfOpen, left, None));
                    }
                    let now = nanos(self.clock.now());
                    match snapshot.probes.claim(now) {
                        Claim::Slot { slot } => {
                            if snapshot.is_superseded() {
                                // A slot freed in a generation that has just ended: give
                                // it back and look again.
                                snapshot.probes.release(slot, ProbeSlots::stamp(now));
                                snapshot = self.current.load();
                                continue;
                            }
                            self.counters.admitted();
                            let permit = Permit::probe(self, snapshot.generation, slot, now);
                            return Ok(self.timed_at(&snapshot, permit, now));
                        }
                        Claim::Full { wait } => {
                            if snapshot.is_superseded() {
                                // A probe's report changed the state while we looked: look
                                // again.
                                snapshot = self.current.load();
                                continue;
                            }
                            let wait = Duration::from_nanos(wait);
                            let cause = snapshot.cause.as_ref();
                            let detail =
                                Detail::new(CircuitState::HalfOpen).with_cause(cause.map(|c| &**c));
                            self.counters.rejected();
                            return Err(CircuitOpen::with_detail(
                                self.name.clone(),
                                Some(wait),
                                detail,
                                text_of(cause),
                            ));
                        }
                    }
                }
            }
        }
    }

    /// The caller that moved the breaker into HalfOpen: the new snapshot's first probe slot
    /// is already its own.
    fn admit_probe(&self, snapshot: Arc<Snapshot>) -> Permit<'_> {
        self.counters.admitted();
        let now = nanos(snapshot.entered_at);
        let permit = Permit::probe(self, snapshot.generation, 0, now);
        self.timed_at(&snapshot, permit, now)
    }

    /// `permit`, timed if `snapshot`'s policy watches for slow calls.
    fn timed<'a>(&'a self, snapshot: &Snapshot, permit: Permit<'a>) -> Permit<'a> {
        if snapshot.config.slow_calls().is_some() {
            permit.timed(nanos(self.clock.now()))
        } else {
            permit
        }
    }

    /// `permit`, timed from `now` if `snapshot`'s policy watches for slow calls.
    fn timed_at<'a>(&'a self, snapshot: &Snapshot, permit: Permit<'a>, now: u64) -> Permit<'a> {
        if snapshot.config.slow_calls().is_some() {
            permit.timed(now)
        } else {
            permit
        }
    }

    /// Whether `probe` still holds its slot in the current generation (it was not given
    /// up, and its generation has not ended).
    pub(crate) fn holds_probe(&self, probe: &Permit<'_>) -> bool {
        let snapshot = self.current.load();
        let (slot, stamp) = probe.probe_slot();
        probe.is_of(snapshot.generation)
            && snapshot.state == CircuitState::HalfOpen
            && snapshot.probes.holds(slot, stamp)
    }

    fn reject(&self, state: CircuitState, retry_after: Option<Duration>) -> CircuitOpen {
        self.counters.rejected();
        CircuitOpen::new(self.name.clone(), state, retry_after)
    }

    /// A rejection by the open circuit. Always inlined: passed to a call, the opening's
    /// fields were stored one by one and read back whole, a store-forwarding stall that the
    /// open_rejection bench showed as most of a rejection's time.
    #[inline(always)]
    fn reject_open(&self, open: Opening) -> CircuitOpen {
        self.counters.rejected();
        CircuitOpen::with_detail(self.name.clone(), Some(open.left), open.detail, open.text)
    }

    /// Makes the transition `event` from `from`, if `from` is still the current snapshot:
    /// exactly one caller succeeds for a given `from`, and it emits the [`StateChange`].
    /// `why`: what the report that made it said, which is the cause of an opening.
    /// `open_for`: how long an opening lasts when it was decided elsewhere (the backoff's
    /// otherwise).
    fn transition(
        &self,
        from: &Arc<Snapshot>,
        event: CircuitEvent,
        now: Duration,
        why: Why<'_>,
        open_for: Option<Duration>,
    ) -> Result<Arc<Snapshot>, NotMade> {
        let to = Circuit::next(from.state, &event, &mut ()).map_err(|_| NotMade::Refused)?;
        // Openings in a row: counted from the first opening until the circuit closes (or a
        // manual command takes over); the backoff grows with them. An opening decided
        // elsewhere while open is the same opening, held longer or shorter.
        let opens = match to {
            CircuitState::Open if from.state == CircuitState::Open => from.opens,
            CircuitState::Open => from.opens.saturating_add(1),
            CircuitState::HalfOpen => from.opens,
            _ => 0,
        };
        let open_for = if let Some(open_for) = open_for {
            open_for
        } else if to == CircuitState::Open {
            let open_for = self.open_duration(&from.config, opens);
            // The remote said how long it will be down: at least that (capped when announced).
            match self.announced_down_until(nanos(now)) {
                Some(until) => open_for.max(Duration::from_nanos(until) - now),
                None => open_for,
            }
        } else {
            Duration::ZERO
        };
        let cause = match to {
            CircuitState::Open => Some(Arc::new(why.cause())),
            CircuitState::HalfOpen => from.cause.clone(),
            _ => None,
        };
        let next = Arc::new(
            Snapshot::enter(to, from.generation + 1, now, from.config.clone())
                .opening(opens, open_for, cause),
        );
        let previous = self.current.compare_and_swap(from, Arc::clone(&next));
        if !Arc::ptr_eq(&previous, from) {
            return Err(NotMade::Lost);
        }
        drop(previous);
        from.supersede();
        self.hot.publish(next.generation, summary(&next));
        match to {
            CircuitState::Open => self.open_hint.publish(
                next.generation,
                Hinted {
                    until: nanos(next.deadline),
                    detail: Detail::opening(open_for, next.cause.as_deref()).bits(),
                },
            ),
            CircuitState::ForcedOpen => self.open_hint.publish(
                next.generation,
                Hinted {
                    until: hot::FORCED,
                    detail: 0,
                },
            ),
            _ => {}
        }
        self.wake_waiters();
        self.listeners.emit(&StateChange {
            name: self.name.clone(),
            from: from.state,
            to,
            event,
            generation: next.generation,
            at: now,
            cause: next.cause.as_deref().cloned(),
            open_for: (to == CircuitState::Open).then_some(open_for),
        });
        Ok(next)
    }

    /// The tag of the generation the hot word publishes (a call admitted in Closed is
    /// current if it was admitted under it).
    pub(crate) fn published_tag(&self) -> u64 {
        self.hot.tag()
    }

    #[inline]
    /// How long the `opens`-th opening in a row lasts: the backoff, then the jitter.
    fn open_duration(&self, config: &BreakerConfig, opens: u32) -> Duration {
        let duration = config.backoff.open_for(config.cooldown, opens);
        match config.jitter {
            Jitter::None => duration,
            jitter => jitter.apply(duration, self.jitter.next_unit()),
        }
    }

    /// Opens the circuit until [`reset`](Self::reset): every call is rejected. Returns
    /// whether the state changed (false if it was already forced open).
    pub fn force_open(&self) -> bool {
        self.command(CircuitEvent::ForceOpen)
    }

    /// Disables the breaker until [`reset`](Self::reset): every call is admitted, nothing is
    /// recorded (not even in the metrics), and nothing trips it. Returns whether the state
    /// changed.
    pub fn disable(&self) -> bool {
        self.command(CircuitEvent::Disable)
    }

    /// Puts the breaker in MetricsOnly until [`reset`](Self::reset): every call is admitted
    /// and counted in the metrics (slow calls too, if the policy watches for them), and
    /// nothing trips it. For rolling out a breaker: watch what it would see before it may
    /// reject anything. Returns whether the state changed.
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new("rerank", BreakerConfig::default().with_threshold(1));
    /// breaker.metrics_only();
    /// for _ in 0..3 {
    ///     breaker.acquire().unwrap().failure();
    /// }
    /// assert_eq!(breaker.state(), CircuitState::MetricsOnly);
    /// assert_eq!(breaker.metrics().failed, 3);
    /// ```
    pub fn metrics_only(&self) -> bool {
        self.command(CircuitEvent::ObserveOnly)
    }

    /// Closes the circuit with a fresh generation, from any state: failures counted so far
    /// are forgotten and permits admitted before are stale. Always makes a transition (even
    /// Closed -> Closed), so it returns true; but for a listener's command at the end of a
    /// chain of them (see [`on_transition`](Self::on_transition)), which is refused.
    pub fn reset(&self) -> bool {
        self.command(CircuitEvent::Reset)
    }

    /// A manual command: made from whatever the current state is, retried until it lands;
    /// refused at the end of a chain of listeners' commands.
    fn command(&self, event: CircuitEvent) -> bool {
        loop {
            let current = self.current.load_full();
            let Ok(to) = Circuit::next(current.state, &event, &mut ()) else {
                return false;
            };
            if to == current.state && event != CircuitEvent::Reset {
                return false;
            }
            if !crate::events::command_allowed(&self.name, event) {
                return false;
            }
            match self.transition(&current, event, self.clock.now(), Why::Unsaid, None) {
                Ok(_) => return true,
                Err(NotMade::Refused) => return false,
                Err(NotMade::Lost) => continue,
            }
        }
    }

    /// Registers `listener`, called with every later [`StateChange`] on the thread that
    /// made it. A panicking listener is logged and ignored.
    ///
    /// Every transition is emitted exactly once, by the caller whose compare-and-swap installed
    /// it:
    /// - as a `tracing` event with target `breaker`, message "circuit breaker state changed",
    ///   level WARN when the circuit opens (INFO otherwise) and the fields `name`, `from`, `to`,
    ///   `event` and `generation`;
    /// - to every listener registered here, called on the thread that made the transition,
    ///   after it was installed.
    ///
    /// Two transitions made at nearly the same moment on two threads may reach a listener in
    /// either order; their [`generation`](StateChange::generation)s tell the true order.
    ///
    /// # Listeners that make transitions
    ///
    /// A listener may command breakers (its own or others: [`reset`](Self::reset),
    /// [`force_open`](Self::force_open)...) and make calls. A transition made
    /// while a listener runs is not delivered inside it: its tracing event is emitted at once,
    /// and its listeners are called on the same thread once the transition being delivered has
    /// reached all of its own, in the order the transitions were made. So listeners never nest,
    /// and a command made by a listener has happened when it returns, but its listeners have not
    /// run yet.
    ///
    /// Listeners that answer every transition with a command would go on for ever; a chain of
    /// such answers is cut after [`MAX_LISTENER_CHAIN`](crate::MAX_LISTENER_CHAIN) links: the
    /// command that would go further is refused (it returns false) and reported as a tracing
    /// ERROR event. Calls made by listeners are never refused.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
    ///
    /// // Whenever `primary` opens, force `fallback` open too.
    /// let primary = CircuitBreaker::new("primary", BreakerConfig::default().with_threshold(1));
    /// let fallback = Arc::new(CircuitBreaker::new("fallback", BreakerConfig::default()));
    /// let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    /// let (follower, sink) = (Arc::clone(&fallback), Arc::clone(&seen));
    /// primary.on_transition(move |change| {
    ///     if change.to == CircuitState::Open {
    ///         assert!(follower.force_open()); // made now...
    ///     }
    ///     sink.lock().unwrap().push(format!("{} {}", change.name, change.to));
    /// });
    /// let sink = Arc::clone(&seen);
    /// fallback.on_transition(move |change| {
    ///     sink.lock().unwrap().push(format!("{} {}", change.name, change.to));
    /// });
    ///
    /// primary.acquire().unwrap().failure();
    /// // ...delivered after the listener that made it returned.
    /// assert_eq!(*seen.lock().unwrap(), ["primary Open", "fallback ForcedOpen"]);
    /// assert_eq!(fallback.state(), CircuitState::ForcedOpen);
    /// ```
    pub fn on_transition(&self, listener: impl Fn(&StateChange) + Send + Sync + 'static) {
        self.listeners.add(Arc::new(listener));
    }

    /// Registers `listener`, called with what happens to every later call: its report (a
    /// success, a failure, an ignored error, a rate limit, a drop unreported), a slow call,
    /// or its rejection. Called on the thread that reports or is rejected, after the breaker
    /// has counted it; a panicking listener is logged and ignored.
    ///
    /// Without such a listener a call costs what it would otherwise; with one, every call
    /// takes the breaker's slower path (see [`CallEvent`] for an example). Disabled calls
    /// are not told: nothing is recorded of them.
    pub fn on_call(&self, listener: impl Fn(&CallEvent) + Send + Sync + 'static) {
        self.listeners.add_call(Arc::new(listener));
        self.hot.observe();
    }

    /// The breaker's state and counters, now.
    pub fn metrics(&self) -> Metrics {
        let snapshot = self.current.load();
        let totals = self.counters.totals();
        let failures = self.hot.failures(hot::tag(snapshot.generation));
        let since_last_transition =
            (snapshot.generation > 0).then(|| self.clock.now().saturating_sub(snapshot.entered_at));
        Metrics {
            name: self.name.clone(),
            state: snapshot.state,
            generation: snapshot.generation,
            consecutive_failures: failures.unwrap_or(0),
            probes_in_flight: snapshot.probes.in_flight(),
            admitted: totals.admitted,
            rejected: totals.rejected,
            succeeded: totals.succeeded,
            failed: totals.failed,
            abandoned: totals.abandoned,
            stale_reports: totals.stale,
            slow: totals.slow,
            ignored: totals.ignored,
            rate_limited: totals.rate_limited,
            rejected_rate_limited: totals.gated,
            window: snapshot.window.as_ref().map(|window| {
                let tally = window.tally(nanos(self.clock.now()));
                WindowCounts {
                    calls: tally.calls,
                    failures: tally.failures,
                    slow: tally.slow,
                }
            }),
            since_last_transition,
            last_transition_unix_ms: since_last_transition.and_then(unix_millis_ago),
        }
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.current.load();
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &snapshot.state)
            .field("generation", &snapshot.generation)
            .field("config", &snapshot.config)
            .field("clock", &self.clock)
            .field("listeners", &self.listeners.len())
            .finish()
    }
}

#[cfg(test)]
mod tests;

/// What the hot word says about `snapshot`'s generation.
fn summary(snapshot: &Snapshot) -> Summary {
    match (snapshot.state, snapshot.config.policy) {
        (CircuitState::Closed, TripPolicy::ConsecutiveFailures) => Summary::Counting,
        (CircuitState::Closed, TripPolicy::FailureRate(rate)) => Summary::Windowed {
            timed: rate.slow_calls.is_some(),
        },
        _ => Summary::NotClosed,
    }
}

/// What a rejection by the open circuit tells.
struct Opening {
    /// The time left until the next probe.
    left: Duration,
    /// The rest, packed.
    detail: Detail,
    /// A cause in text.
    text: Option<Arc<Cause>>,
}

/// The text of a cause, shared, if it is one.
fn text_of(cause: Option<&Arc<Cause>>) -> Option<Arc<Cause>> {
    cause
        .filter(|cause| matches!(***cause, Cause::Error(_)))
        .cloned()
}

/// The stamp a probe admitted at `at` (nanoseconds) holds its slot with.
pub(crate) fn probe_stamp(at: u64) -> u64 {
    ProbeSlots::stamp(at)
}

/// A time of the breaker's clock in nanoseconds, short of [`hot::FORCED`] (585 years).
fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).map_or(hot::FORCED - 1, |n| n.min(hot::FORCED - 1))
}
