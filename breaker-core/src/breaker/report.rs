//! How a [`CircuitBreaker`] takes a permit's report: a success, a failure, an ignored
//! error, or a permit dropped unreported.
//!
//! Each report acts only on the generation that admitted the permit (see the breaker's
//! documentation); what it does depends on what the permit was admitted as.

use std::sync::Arc;

use arc_swap::Guard;

use super::{CircuitBreaker, CircuitEvent, CircuitState, Snapshot, hot, nanos};
use crate::breaker::permit::{Admission, Permit};
use crate::cause::Why;
use crate::events::{CallEvent, CallOutcome};
use crate::policy::{CredentialErrors, IgnoredErrors, Outcome, TripPolicy};
use crate::verdict::Verdict;

impl CircuitBreaker {
    /// Inlined into the caller's crate for a call in Closed, the hot path: a load of the hot
    /// word and a comparison; the rest is out of line. Always inlined: left to itself LLVM
    /// kept it out of line once it grew, which the closed_call bench showed as a slower call.
    #[inline(always)]
    pub(crate) fn report_success(&self, word: u64, at: u64) {
        if Permit::is_plain_closed(word) {
            self.consecutive_success(Permit::admitted_in_of(word));
            return;
        }
        self.report_success_slow(word, at);
    }

    /// A success of a call admitted in Closed generation `tag` under the
    /// consecutive-failures policy: forgets the failures.
    #[inline(always)]
    fn consecutive_success(&self, tag: u64) {
        self.counters.succeeded();
        // One comparison inline: anything but "no failures to forget" is out of line, so
        // that the success stays small enough to be inlined into the caller.
        let counted = self.hot.succeed(tag);
        if counted != hot::Counted::Current(0) {
            self.success_counted(counted);
        }
    }

    /// A success that was stale, or forgot failures: the latter told to the listeners of
    /// the count (a fleet store sharing it).
    #[cold]
    #[inline(never)]
    fn success_counted(&self, counted: hot::Counted) {
        match counted {
            hot::Counted::Stale => self.counters.stale(),
            hot::Counted::Forgot => self.listeners.tell_failures(0),
            hot::Counted::Current(_) => {}
        }
    }

    #[inline(never)]
    fn report_success_slow(&self, word: u64, at: u64) {
        let permit = Permit::reported(self, word, at);
        self.report_success_of(&permit);
    }

    /// A success of any permit.
    fn report_success_of(&self, permit: &Permit<'_>) {
        match permit.admission() {
            Admission::Closed => self.consecutive_success(permit.admitted_in()),
            _ => self.report(permit, false, Why::Unsaid),
        }
        self.told(permit, CallOutcome::Succeeded);
    }

    /// A failure; `why` describes it if it opens the circuit.
    pub(crate) fn report_failure(&self, permit: &Permit<'_>, why: Why<'_>) {
        if permit.admission() == Admission::Closed {
            self.counters.failed();
            self.consecutive_failure(permit, why);
        } else {
            self.report(permit, true, why);
        }
        self.told(permit, CallOutcome::Failed);
    }

    /// Tells the listeners of calls how `permit`'s call ended, if they listen to it.
    #[inline]
    pub(super) fn told(&self, permit: &Permit<'_>, outcome: CallOutcome) {
        if permit.notifies() {
            self.listeners
                .tell(|| CallEvent::new(self.name.clone(), outcome));
        }
    }

    /// A failure of a call admitted in Closed under the consecutive-failures policy.
    fn consecutive_failure(&self, permit: &Permit<'_>, why: Why<'_>) {
        match self.hot.fail(permit.admitted_in()) {
            hot::Counted::Stale => self.counters.stale(),
            hot::Counted::Forgot => {}
            hot::Counted::Current(failures) => {
                self.listeners.tell_failures(failures);
                let snapshot = self.current.load();
                if failures >= snapshot.config.threshold
                    && snapshot.state == CircuitState::Closed
                    && permit.is_of(snapshot.generation)
                {
                    // Every failure at or past the threshold tries; the compare-and-swap
                    // lets exactly one of them open the circuit.
                    let now = self.clock.now();
                    let _ = self.transition(&snapshot, CircuitEvent::Trip, now, why, None);
                }
            }
        }
    }

    /// A report of any permit but a consecutive-failures Closed one.
    fn report(&self, permit: &Permit<'_>, failed: bool, why: Why<'_>) {
        let admission = permit.admission();
        if admission == Admission::Unguarded {
            return; // Disabled: nothing is recorded.
        }
        if failed {
            self.counters.failed();
        } else {
            self.counters.succeeded();
        }
        match admission {
            Admission::Closed => self.consecutive_failure(permit, why),
            Admission::Windowed => self.windowed(permit, failed, why),
            Admission::Probe => {
                let slow = permit
                    .started()
                    .is_some_and(|started| self.was_slow(permit, &self.current.load(), started).0);
                let (event, why) = match (failed, slow) {
                    (true, _) => (CircuitEvent::ProbeFailed, why),
                    (false, true) => (CircuitEvent::ProbeFailed, Why::Slow),
                    (false, false) => (CircuitEvent::ProbeSucceeded, why),
                };
                self.probe_reported(permit, event, why);
            }
            Admission::Observed => {
                if let Some(started) = permit.started() {
                    self.was_slow(permit, &self.current.load(), started);
                }
            }
            Admission::Unguarded => {}
        }
    }

    /// Whether a call that started at `started` (nanoseconds of the breaker's clock) was
    /// slow by `snapshot`'s policy (counted in the metrics if so), and the time now.
    fn was_slow(&self, permit: &Permit<'_>, snapshot: &Snapshot, started: u64) -> (bool, u64) {
        let now = nanos(self.clock.now());
        let elapsed = u128::from(now.saturating_sub(started));
        let slow = snapshot
            .config
            .slow_calls()
            .is_some_and(|slow| elapsed > slow.duration.as_nanos());
        if slow {
            self.counters.slow();
            self.told(permit, CallOutcome::Slow);
        }
        (slow, now)
    }

    /// A report of a call admitted in Closed under a sliding-window policy: recorded in the
    /// window of its generation, which may trip the circuit.
    fn windowed(&self, permit: &Permit<'_>, failed: bool, why: Why<'_>) {
        let snapshot = self.current.load();
        let current = snapshot.state == CircuitState::Closed && permit.is_of(snapshot.generation);
        let (Some(window), TripPolicy::FailureRate(policy), true) =
            (&snapshot.window, snapshot.config.policy, current)
        else {
            self.counters.stale();
            return;
        };
        let (slow, now) = match permit.started() {
            Some(started) => self.was_slow(permit, &snapshot, started),
            None if window.needs_time() => (false, nanos(self.clock.now())),
            None => (false, 0),
        };
        let tally = window.record(Outcome { failed, slow }, now);
        if policy.trips(tally) {
            // Every report that finds the rate reached tries; one opens the circuit.
            let why = if failed { why } else { Why::Slow };
            let _ = self.transition(&snapshot, CircuitEvent::Trip, self.clock.now(), why, None);
        }
    }

    /// The current snapshot, if it is still the generation a probe was admitted in.
    fn probes_generation(&self, permit: &Permit<'_>) -> Option<Guard<Arc<Snapshot>>> {
        let snapshot = self.current.load();
        (permit.is_of(snapshot.generation) && snapshot.state == CircuitState::HalfOpen)
            .then_some(snapshot)
    }

    /// A probe's report: closes or reopens the circuit if the probe's generation is still
    /// the current one (generations identify snapshots: each installed one is its
    /// predecessor's plus one) and the probe still holds its slot (it was not given up after
    /// `half_open_timeout`). A success short of `success_threshold` only counts, and frees
    /// its slot for the next probe.
    fn probe_reported(&self, permit: &Permit<'_>, event: CircuitEvent, why: Why<'_>) {
        let Some(snapshot) = self.probes_generation(permit) else {
            self.counters.stale();
            return;
        };
        let (slot, stamp) = permit.probe_slot();
        if !snapshot.probes.holds(slot, stamp) {
            self.counters.stale(); // given up after `half_open_timeout`
            return;
        }
        if event == CircuitEvent::ProbeSucceeded
            && !snapshot.probe_succeeded(snapshot.config.success_threshold)
        {
            // Short of the threshold: counted, and the slot goes to the next probe. The
            // success that closes the circuit keeps its slot, so that nobody claims it in
            // a generation about to end.
            snapshot.probes.release(slot, stamp);
            self.wake_waiters();
            return;
        }
        if self
            .transition(&snapshot, event, self.clock.now(), why, None)
            .is_err()
        {
            self.counters.stale();
        }
    }

    /// An error the classifier ignores: neither a success nor a failure, or a success, as
    /// the configuration says.
    pub(crate) fn report_ignored(&self, permit: &Permit<'_>) {
        if permit.admission() == Admission::Unguarded {
            return;
        }
        self.counters.ignored();
        self.told(permit, CallOutcome::Ignored);
        match self.current.load().config.ignored_errors {
            IgnoredErrors::Success => match permit.admission() {
                Admission::Closed => self.consecutive_success(permit.admitted_in()),
                _ => self.report(permit, false, Why::Unsaid),
            },
            IgnoredErrors::Neither => {
                self.counters.unscored();
                self.give_back(permit)
            }
        }
    }

    pub(crate) fn report_abandoned(&self, permit: &Permit<'_>) {
        if permit.admission() == Admission::Unguarded {
            return;
        }
        self.counters.abandoned();
        self.told(permit, CallOutcome::Abandoned);
        self.give_back(permit);
    }

    /// A permit that counts as neither: a probe gives its slot back for another probe.
    pub(super) fn give_back(&self, permit: &Permit<'_>) {
        if permit.admission() == Admission::Probe {
            // If the generation has moved on, its slots are dead: nothing to give back. A
            // probe given up has no slot left either.
            if let Some(snapshot) = self.probes_generation(permit) {
                let (slot, stamp) = permit.probe_slot();
                if snapshot.probes.release(slot, stamp) {
                    self.wake_waiters();
                }
            }
        }
    }

    /// A verdict other than a plain success, failure or ignored error (which the permit
    /// reports itself); those three are taken too.
    pub(crate) fn report_verdict(&self, permit: &Permit<'_>, verdict: Verdict, why: Why<'_>) {
        match verdict {
            Verdict::RateLimited(retry_after) => self.report_rate_limited(permit, retry_after),
            Verdict::DownFor(down_for) => {
                if permit.admission() != Admission::Unguarded {
                    self.announce_down(down_for);
                }
                self.report_failure(permit, why);
            }
            Verdict::CredentialsRefused => {
                self.report_failure(permit, why);
                let force =
                    self.current.load().config.credential_errors == CredentialErrors::ForceOpen;
                if force && permit.admission() != Admission::Unguarded {
                    self.force_open();
                }
            }
            Verdict::Success => self.report_success_of(permit),
            Verdict::Failure => self.report_failure(permit, why),
            Verdict::Ignored => self.report_ignored(permit),
        }
    }
}
