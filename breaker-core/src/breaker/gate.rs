//! The rate-limit gate, beside the trip policy: a remote that rate-limits a call says when
//! to come back, and until then the breaker rejects calls without counting anything against
//! the remote. And the deadlines failing remotes announce (a 503 with `Retry-After`).
//!
//! The gate's deadline is one atomic (nanoseconds of the breaker's clock, 0 for none) that
//! only ever moves later. While it may be in the future, the hot word's gate bit sends calls
//! to the slow path, which checks it; the first call that finds it passed clears the bit.
//! A report that moves the deadline sets it first, then the bit; a call that clears the bit
//! reads the deadline again after clearing it, and sets the bit back if it moved meanwhile.
//! (Both orders are sequentially consistent, so one of the two sees the other.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::hot::Hinted;
use super::{CircuitBreaker, CircuitState, Opening, nanos};
use crate::breaker::permit::{Admission, Permit};
use crate::error::{CircuitOpen, Detail};
use crate::events::{CallOutcome, RateLimit};

/// Deadlines announced by the remote, in nanoseconds of the breaker's clock; 0 for none.
/// Allocated at the first announcement: most breakers never see one, and the breaker stays
/// within two cache lines.
pub(crate) struct Deadlines {
    /// No call before this: the remote rate-limited one.
    rate_limited_until: AtomicU64,
    /// The remote said it is down until this: an opening lasts at least until then.
    down_until: AtomicU64,
}

impl Deadlines {
    pub(crate) fn new() -> Self {
        Self {
            rate_limited_until: AtomicU64::new(0),
            down_until: AtomicU64::new(0),
        }
    }
}

impl CircuitBreaker {
    /// The deadlines, allocated at the first announcement.
    fn deadlines(&self) -> &Deadlines {
        self.deadlines.get_or_init(|| Box::new(Deadlines::new()))
    }

    /// How long the rate-limit gate still holds calls back, if it does; opens the gate (for
    /// the fast path) once its deadline has passed.
    #[inline(always)]
    pub(crate) fn gate_left(&self) -> Option<Duration> {
        loop {
            if !self.hot.gated() {
                return None;
            }
            // The gate is closed only once the deadlines exist.
            let deadline = &self.deadlines.get()?.rate_limited_until;
            if let Some(left) = self.clock.left_until(deadline.load(Ordering::SeqCst)) {
                return Some(left);
            }
            self.hot.ungate();
            let until = deadline.load(Ordering::SeqCst);
            self.clock.left_until(until)?;
            // A rate limit came in meanwhile: close the gate again, and look again.
            self.hot.gate();
        }
    }

    /// A rejection in `state` by the gate, `left` before its deadline; or by the open
    /// circuit, if its deadline comes later.
    #[inline(always)]
    pub(super) fn reject_gated(
        &self,
        state: CircuitState,
        left: Duration,
        open: Option<Opening>,
    ) -> CircuitOpen {
        match open {
            Some(open) if open.left > left => self.reject_open(open),
            _ => {
                self.counters.gated();
                CircuitOpen::rate_limited(self.name.clone(), state, left)
            }
        }
    }

    /// Holds calls back for `delay` from now (never shortens a later deadline). Returns
    /// whether the deadline moved.
    pub(super) fn close_gate(&self, delay: Duration) -> bool {
        let until = nanos(self.clock.now().saturating_add(delay));
        let before = self
            .deadlines()
            .rate_limited_until
            .fetch_max(until, Ordering::SeqCst);
        self.hot.gate();
        let moved = until > before;
        if moved {
            tracing::warn!(
                target: "breaker",
                name = %self.name,
                retry_after_ms = delay.as_millis() as u64,
                "circuit breaker rate limited by the remote"
            );
        }
        moved
    }

    /// Forgets an announced outage (the remote was found up elsewhere).
    pub(super) fn forget_down(&self) {
        if let Some(deadlines) = self.deadlines.get() {
            deadlines.down_until.store(0, Ordering::Release);
        }
    }

    /// Whether the remote announced it is down past `now` (nanoseconds): until when.
    pub(crate) fn announced_down_until(&self, now: u64) -> Option<u64> {
        let until = self.deadlines.get()?.down_until.load(Ordering::Acquire);
        (until > now).then_some(until)
    }

    /// The remote rate-limited the call: neither a success nor a failure; the gate holds
    /// calls back for `retry_after` (the configured default if `None`).
    pub(super) fn report_rate_limited(&self, permit: &Permit<'_>, retry_after: Option<Duration>) {
        let admission = permit.admission();
        if admission == Admission::Unguarded {
            return; // Disabled: nothing is recorded.
        }
        self.counters.rate_limited();
        let config = &self.current.load().config;
        let delay = retry_after
            .unwrap_or(config.rate_limit_delay)
            .min(config.max_retry_after);
        self.told(permit, CallOutcome::RateLimited { retry_after: delay });
        // MetricsOnly never rejects: the rate limit is counted, and that is all.
        if admission != Admission::Observed && !delay.is_zero() && self.close_gate(delay) {
            self.listeners.tell_rate_limit(|| RateLimit {
                name: self.name.clone(),
                retry_after: delay,
            });
        }
        // A probe frees its slot: a rate limit says nothing about the outage.
        self.give_back(permit);
    }

    /// The remote said it is down for `down_for`: the circuit, if it opens (or is open),
    /// stays open at least that long, at most `max_retry_after`.
    pub(super) fn announce_down(&self, down_for: Duration) {
        let snapshot = self.current.load();
        let down_for = down_for.min(snapshot.config.max_retry_after);
        let until = nanos(self.clock.now().saturating_add(down_for));
        let before = self
            .deadlines()
            .down_until
            .fetch_max(until, Ordering::AcqRel);
        // Open already: the hint of its deadline moves later, so that rejections say when
        // the next probe goes. (A stale hint only sends calls to the exact path.)
        if until > before
            && snapshot.state == CircuitState::Open
            && until > nanos(snapshot.deadline)
        {
            let open_for = Duration::from_nanos(until.saturating_sub(nanos(snapshot.entered_at)));
            let hinted = Hinted {
                until,
                detail: Detail::opening(open_for, snapshot.cause.as_deref()).bits(),
            };
            self.open_hint.publish(snapshot.generation, hinted);
        }
    }
}
