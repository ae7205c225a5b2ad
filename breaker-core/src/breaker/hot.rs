//! [`Hot`]: the one word a call in Closed touches.
//!
//! The current [`Snapshot`](super::Snapshot) in the `ArcSwap` is the truth about the breaker's
//! state, and every transition is a compare-and-swap on it. But loading an `ArcSwap` costs a
//! few atomic read-modify-writes on thread-local debt slots, several times the whole cost
//! of a call through a three-atomics breaker. So the winner of each
//! transition also publishes a summary of the snapshot it installed in one atomic word:
//!
//! ```text
//!  63                                24  23  22 21                 0
//! +------------------------------------+---+---+--------------------+
//! |   generation (low 40 bits)         | O | G | failures | NOT_CLOSED |
//! +------------------------------------+---+---+--------------------+
//! ```
//!
//! G, [`GATED`], is set while the remote's rate limit may be in force: a call then leaves the
//! fast path and the breaker checks the rate limit's deadline (the gate is independent of
//! the generation, so a transition keeps the bit). Set, it only sends calls to the slow path,
//! which clears it once the deadline has passed: so a call in Closed still reads one word.
//! O, [`OBSERVED`], is set once a listener of calls is registered: every call then takes
//! the slow path, which tells the listeners. Both sit above the count, so that the fast
//! path's one comparison of the low 24 bits against the largest count also finds them
//! clear: the flags cost a call in Closed nothing.
//!
//! The low 22 bits are the consecutive failures of that generation if it is Closed under
//! the consecutive-failures policy, a marker if it is Closed under a sliding-window policy
//! ([`WINDOWED`] or [`WINDOWED_TIMED`]: its calls are admitted on this word too, and
//! reported to the snapshot's window), or [`NOT_CLOSED`] otherwise. A call in Closed is then one load of this word to be admitted
//! and, on success, one load and a comparison (the word is written only when there are
//! failures to forget). The failure counter is tagged with its generation, so it is still a
//! per-generation counter: a report tagged with an older generation does not match and is
//! ignored, exactly as a report on a superseded snapshot.
//!
//! Publication is monotonic: a winner writes its word only if no newer generation has been
//! published, so two transitions racing to publish leave the newer one. Between a
//! transition's compare-and-swap and its publication, a call may still be admitted under
//! the old Closed generation; its report is then stale, like that of any call admitted just
//! before a transition.

use std::sync::atomic::{AtomicU64, Ordering};

/// The low bits: the count (or a marker) and the two flags above it.
const FAILURE_BITS: u32 = 24;
const COUNT_BITS: u32 = 22;
/// The low bits of a word whose generation is not Closed.
const NOT_CLOSED: u64 = (1 << COUNT_BITS) - 1;
/// The low field, flags included.
const LOW_MASK: u64 = (1 << FAILURE_BITS) - 1;
/// The low bits of a Closed generation whose calls go to a sliding window.
const WINDOWED: u64 = NOT_CLOSED - 1;
/// The same, for a window that also watches for slow calls: its calls are timed.
const WINDOWED_TIMED: u64 = NOT_CLOSED - 2;
/// The largest threshold the word counts to: the configuration's limit, which must stay
/// below the markers.
pub(crate) const MAX_THRESHOLD: u32 = crate::config::BreakerConfig::MAX_THRESHOLD;
const _: () = assert!(MAX_THRESHOLD as u64 == WINDOWED_TIMED - 1);

/// Whether the low bits of a word count consecutive failures.
#[inline]
fn counting(low: u64) -> bool {
    low <= MAX_THRESHOLD as u64
}

/// What a generation's word says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Summary {
    /// Closed, counting consecutive failures.
    Counting,
    /// Closed, reporting to a sliding window; `timed`: the calls are timed.
    Windowed { timed: bool },
    /// Any other state.
    NotClosed,
}

impl Summary {
    fn low(self) -> u64 {
        match self {
            Summary::Counting => 0,
            Summary::Windowed { timed: false } => WINDOWED,
            Summary::Windowed { timed: true } => WINDOWED_TIMED,
            Summary::NotClosed => NOT_CLOSED,
        }
    }
}
/// Generations are compared on their low 40 bits (a trillion transitions before a tag
/// repeats).
const TAG_BITS: u32 = 64 - FAILURE_BITS;
/// Above the count: the rate-limit gate may be closed.
const GATED: u64 = 1 << COUNT_BITS;
/// The next: calls have listeners.
const OBSERVED: u64 = 1 << (COUNT_BITS + 1);
/// The flags a publication or a count keeps.
const FLAGS: u64 = GATED | OBSERVED;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

/// A generation as the hot word tags it.
#[inline]
pub(crate) fn tag(generation: u64) -> u64 {
    generation & TAG_MASK
}

#[inline]
fn pack(tag: u64, low: u64) -> u64 {
    (tag << FAILURE_BITS) | low
}

#[inline]
fn tag_of(word: u64) -> u64 {
    word >> FAILURE_BITS
}

#[inline]
fn low_of(word: u64) -> u64 {
    word & NOT_CLOSED
}

/// Whether tag `a` is newer than tag `b` (modulo wrap-around).
fn newer(a: u64, b: u64) -> bool {
    let ahead = a.wrapping_sub(b) & TAG_MASK;
    ahead != 0 && ahead < (1 << (TAG_BITS - 1))
}

/// What a report from a Closed call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// Its generation is still the published one; the consecutive failures now.
    Current(u32),
    /// A success that forgot the failures counted before it.
    Forgot,
    /// Its generation is gone: the report is ignored.
    Stale,
}

/// The published summary of the current generation.
///
/// Not padded to a cache line of its own: the fields beside it in the breaker are read-only
/// or change only on transitions, and the word itself is written only on failures and
/// transitions, so nothing on the hot path writes its line.
pub(crate) struct Hot(pub(super) AtomicU64);

impl Hot {
    /// Generation 0, Closed, no failures (`Counting`) or a window.
    pub(crate) fn new(summary: Summary) -> Self {
        Self(AtomicU64::new(pack(0, summary.low())))
    }

    /// The tag of the published generation if it is Closed and counts consecutive
    /// failures: the fast path of `acquire`.
    #[inline]
    pub(crate) fn closed(&self) -> Option<u64> {
        let word = self.0.load(Ordering::Acquire);
        // The flags and the count in one comparison: both flags clear, and a count.
        (word & LOW_MASK <= u64::from(MAX_THRESHOLD)).then_some(tag_of(word))
    }

    /// Like [`closed`](Self::closed), for a breaker whose calls have listeners: the tag if
    /// the gate is open and the generation counts consecutive failures.
    #[inline]
    pub(crate) fn closed_observed(&self) -> Option<u64> {
        let word = self.0.load(Ordering::Acquire);
        (word & GATED == 0 && counting(low_of(word))).then_some(tag_of(word))
    }

    /// Whether the gate may be closed or calls have listeners: either sends a call off the
    /// plain slow path.
    #[inline]
    pub(crate) fn flagged(&self) -> bool {
        self.0.load(Ordering::Relaxed) & FLAGS != 0
    }

    /// Whether calls have listeners.
    #[inline]
    pub(crate) fn observed(&self) -> bool {
        self.0.load(Ordering::Relaxed) & OBSERVED != 0
    }

    /// Marks that calls have listeners: from now on every call takes the slow path.
    pub(crate) fn observe(&self) {
        self.0.fetch_or(OBSERVED, Ordering::SeqCst);
    }

    /// Whether the rate-limit gate may be closed (its deadline is then to be checked).
    #[inline]
    pub(crate) fn gated(&self) -> bool {
        self.0.load(Ordering::Acquire) & GATED != 0
    }

    /// Whether the published generation is Closed (counting failures or with a window).
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        low_of(self.0.load(Ordering::Acquire)) != NOT_CLOSED
    }

    /// Marks the gate closed: calls leave the fast path. Sequentially consistent with
    /// [`ungate`](Self::ungate) and the deadline's own updates (see the breaker's gate).
    pub(crate) fn gate(&self) {
        self.0.fetch_or(GATED, Ordering::SeqCst);
    }

    /// Marks the gate open: calls take the fast path again.
    pub(crate) fn ungate(&self) {
        self.0.fetch_and(!GATED, Ordering::SeqCst);
    }

    /// The tag of the published generation if it is Closed with a sliding window, and
    /// whether its calls are timed.
    #[inline]
    pub(crate) fn windowed(&self) -> Option<(u64, bool)> {
        let word = self.0.load(Ordering::Acquire);
        match low_of(word) {
            WINDOWED => Some((tag_of(word), false)),
            WINDOWED_TIMED => Some((tag_of(word), true)),
            _ => None,
        }
    }

    /// The consecutive failures of generation `tag`, if it is the published Closed one.
    pub(crate) fn failures(&self, tag: u64) -> Option<u32> {
        let word = self.0.load(Ordering::Acquire);
        (tag_of(word) == tag && counting(low_of(word))).then_some(low_of(word) as u32)
    }

    /// A success in Closed generation `tag`: forgets its failures. Writes nothing when there
    /// are none, so the common case leaves the cache line shared between cores.
    #[inline]
    pub(crate) fn succeed(&self, tag: u64) -> Counted {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            if tag_of(word) != tag || !counting(low_of(word)) {
                return Counted::Stale;
            }
            if low_of(word) == 0 {
                return Counted::Current(0);
            }
            match self.0.compare_exchange_weak(
                word,
                (word & FLAGS) | pack(tag, 0),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Counted::Forgot,
                Err(now) => word = now,
            }
        }
    }

    /// A failure in Closed generation `tag`: counts it.
    pub(crate) fn fail(&self, tag: u64) -> Counted {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            if tag_of(word) != tag || !counting(low_of(word)) {
                return Counted::Stale;
            }
            let failures = (low_of(word) + 1).min(u64::from(MAX_THRESHOLD));
            match self.0.compare_exchange_weak(
                word,
                (word & FLAGS) | pack(tag, failures),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Counted::Current(failures as u32),
                Err(now) => word = now,
            }
        }
    }

    /// Publishes generation `generation`, summarised as `summary`, unless a newer one has
    /// been.
    pub(crate) fn publish(&self, generation: u64, summary: Summary) {
        let tag = tag(generation);
        let low = summary.low();
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                (!newer(tag_of(word), tag)).then_some((word & FLAGS) | pack(tag, low))
            });
    }
}

/// Where a rejection in Open finds its deadline without loading the snapshot: the
/// generation (as the hot word tags it) and its deadline in nanoseconds of the breaker's
/// clock, `u64::MAX` for ForcedOpen, published by the winner of a transition into Open or
/// ForcedOpen, with what the rejection tells of the opening (its duration and its cause).
///
/// The words are published under a sequence number (a seqlock: writers take it odd with
/// a compare-and-swap, so two transitions never interleave their words). A reader uses the
/// pair only if the sequence did not move while it read and the generation is the one the
/// hot word publishes: a stale hint (a slower transition writing late, a state entered
/// without a hint) never matches, and the call takes the snapshot path, which is exact.
pub(crate) struct OpenHint {
    /// The sequence, and the generation the hint is about: [`SEQ_TAG_SHIFT`] up, the tag;
    /// below it a version that each publication moves, shifted by one; bit 0 set while a
    /// writer writes.
    seq: AtomicU64,
    until: AtomicU64,
    /// What the rejection tells of the opening, ready-made: a rejection's packed detail.
    detail: AtomicU64,
}

/// What a hint says of an opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hinted {
    /// The deadline, nanoseconds of the breaker's clock; [`FORCED`] for ForcedOpen.
    pub(crate) until: u64,
    /// The rejection's packed detail (see `CircuitOpen`): the state, the opening's duration
    /// and the kind of its cause (a text the hint cannot hand out without a reference
    /// count: such a rejection reads the snapshot).
    pub(crate) detail: u64,
}

/// Where the tag sits in the sequence word: above a writer's bit and a 23-bit version.
const SEQ_TAG_SHIFT: u32 = 24;
const SEQ_VERSION_MASK: u64 = (1 << SEQ_TAG_SHIFT) - 2;

/// The hint of ForcedOpen: open until reset.
pub(crate) const FORCED: u64 = u64::MAX;

impl OpenHint {
    /// No hint: tag 0 with deadline 0 rejects nothing.
    pub(crate) fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            until: AtomicU64::new(0),
            detail: AtomicU64::new(0),
        }
    }

    /// Publishes that generation `generation` is open as `hinted` says.
    pub(crate) fn publish(&self, generation: u64, hinted: Hinted) {
        let mut seq = self.seq.load(Ordering::Relaxed);
        loop {
            if seq & 1 == 1 {
                std::hint::spin_loop();
                seq = self.seq.load(Ordering::Relaxed);
                continue;
            }
            match self
                .seq
                .compare_exchange_weak(seq, seq | 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => seq = now,
            }
        }
        // Readers that see either word below must also see the odd sequence.
        std::sync::atomic::fence(Ordering::Release);
        self.until.store(hinted.until, Ordering::Relaxed);
        self.detail.store(hinted.detail, Ordering::Relaxed);
        let version = (seq + 2) & SEQ_VERSION_MASK;
        self.seq.store(
            (tag(generation) << SEQ_TAG_SHIFT) | version,
            Ordering::Release,
        );
    }

    /// What the hint says of generation tag `tag`, if it is about it (`until` is
    /// [`FORCED`] for ForcedOpen).
    #[inline]
    pub(crate) fn about(&self, tag: u64) -> Option<Hinted> {
        let before = self.seq.load(Ordering::Acquire);
        if before & 1 == 1 || before >> SEQ_TAG_SHIFT != tag {
            return None;
        }
        let until = self.until.load(Ordering::Relaxed);
        let detail = self.detail.load(Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Acquire);
        let after = self.seq.load(Ordering::Relaxed);
        (before == after && until != 0).then_some(Hinted { until, detail })
    }

    /// The deadline of generation tag `tag`, if the hint is about it: `Some(FORCED)` for
    /// ForcedOpen.
    #[cfg(test)]
    fn until(&self, tag: u64) -> Option<u64> {
        self.about(tag).map(|hinted| hinted.until)
    }
}

impl Hot {
    /// The tag of the published generation (whatever its state).
    #[inline]
    pub(crate) fn tag(&self) -> u64 {
        tag_of(self.0.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hint of an opening until `until`.
    fn at(until: u64) -> Hinted {
        Hinted { until, detail: 1 }
    }

    #[test]
    fn a_new_word_is_closed_generation_zero() {
        let hot = Hot::new(Summary::Counting);
        assert_eq!(hot.closed(), Some(0));
        assert_eq!(hot.failures(0), Some(0));
    }

    #[test]
    fn failures_count_and_a_success_forgets_them() {
        let hot = Hot::new(Summary::Counting);
        assert_eq!(hot.fail(0), Counted::Current(1));
        assert_eq!(hot.fail(0), Counted::Current(2));
        assert_eq!(hot.failures(0), Some(2));
        assert_eq!(hot.succeed(0), Counted::Forgot);
        assert_eq!(hot.failures(0), Some(0));
        assert_eq!(
            hot.succeed(0),
            Counted::Current(0),
            "nothing more to forget"
        );
    }

    #[test]
    fn reports_of_another_generation_are_stale() {
        let hot = Hot::new(Summary::Counting);
        hot.fail(0);
        hot.publish(1, Summary::NotClosed);
        assert_eq!(hot.closed(), None);
        assert_eq!(hot.fail(0), Counted::Stale);
        assert_eq!(hot.succeed(0), Counted::Stale);
        hot.publish(2, Summary::Counting);
        assert_eq!(hot.closed(), Some(2));
        assert_eq!(hot.fail(1), Counted::Stale);
        assert_eq!(hot.fail(2), Counted::Current(1));
        assert_eq!(hot.tag(), 2);
    }

    #[test]
    fn publication_never_goes_back() {
        let hot = Hot::new(Summary::Counting);
        hot.publish(6, Summary::NotClosed);
        hot.publish(5, Summary::Counting); // late: a newer generation is out
        assert_eq!(hot.closed(), None);
        hot.publish(7, Summary::Counting);
        assert_eq!(hot.closed(), Some(7));
    }

    #[test]
    fn tags_wrap_around() {
        assert!(newer(0, TAG_MASK));
        assert!(!newer(TAG_MASK, 0));
        assert!(newer(5, 4));
        assert!(!newer(4, 4));
        assert_eq!(tag(TAG_MASK + 3), 2);
        let hot = Hot::new(Summary::Counting);
        hot.publish(TAG_MASK, Summary::Counting);
        hot.publish(TAG_MASK + 1, Summary::Counting);
        assert_eq!(hot.closed(), Some(0));
    }

    #[test]
    fn failures_saturate_below_the_marker() {
        let hot = Hot::new(Summary::Counting);
        hot.0
            .store(pack(0, u64::from(MAX_THRESHOLD)), Ordering::Relaxed);
        assert_eq!(hot.fail(0), Counted::Current(MAX_THRESHOLD));
        assert_eq!(hot.closed(), Some(0));
    }

    #[test]
    fn a_windowed_generation_is_not_admitted_on_the_fast_path() {
        let hot = Hot::new(Summary::Windowed { timed: true });
        assert_eq!(hot.closed(), None);
        assert_eq!(hot.windowed(), Some((0, true)));
        assert_eq!(hot.failures(0), None);
        assert_eq!(hot.fail(0), Counted::Stale);
        hot.publish(1, Summary::Windowed { timed: false });
        assert_eq!(hot.windowed(), Some((1, false)));
        hot.publish(2, Summary::Counting);
        assert_eq!(hot.windowed(), None);
        assert_eq!(hot.closed(), Some(2));
    }

    #[test]
    fn the_gate_sends_calls_to_the_slow_path_and_outlives_transitions() {
        let hot = Hot::new(Summary::Counting);
        hot.fail(0);
        hot.gate();
        assert!(hot.gated());
        assert_eq!(hot.closed(), None, "gated: not the fast path");
        assert_eq!(hot.failures(0), Some(1), "the count is kept");
        assert_eq!(hot.fail(0), Counted::Current(2));
        assert_eq!(hot.succeed(0), Counted::Forgot);
        assert!(hot.gated(), "reports keep the gate");
        hot.publish(1, Summary::NotClosed);
        assert!(hot.gated() && !hot.is_closed());
        hot.publish(2, Summary::Counting);
        assert!(hot.gated(), "a transition keeps the gate");
        assert_eq!(hot.tag(), 2);
        hot.ungate();
        assert_eq!(hot.closed(), Some(2));
        assert!(hot.is_closed());
    }

    #[test]
    fn listeners_of_calls_send_every_call_to_the_slow_path() {
        let hot = Hot::new(Summary::Counting);
        hot.observe();
        assert_eq!(hot.closed(), None);
        assert_eq!(hot.closed_observed(), Some(0));
        assert_eq!(hot.fail(0), Counted::Current(1));
        hot.publish(1, Summary::Counting);
        assert!(hot.observed(), "kept by counts and transitions");
        hot.gate();
        assert_eq!(hot.closed_observed(), None, "the gate first");
        hot.ungate();
        assert!(hot.observed());
        assert_eq!(hot.closed_observed(), Some(1));
    }

    #[test]
    fn an_open_hint_is_used_only_for_its_own_generation() {
        let hint = OpenHint::new();
        assert_eq!(hint.until(0), None, "no hint yet");
        hint.publish(3, at(1_000));
        assert_eq!(hint.until(3), Some(1_000));
        assert_eq!(hint.until(4), None, "another generation: no hint");
        hint.publish(4, at(FORCED));
        assert_eq!(hint.until(4), Some(FORCED));
        // A transition writing late leaves a hint that matches no current generation.
        hint.publish(2, at(500));
        assert_eq!(hint.until(4), None);
    }

    #[test]
    fn racing_writers_never_leave_a_torn_hint() {
        let hint = OpenHint::new();
        std::thread::scope(|scope| {
            for writer in 1..=2u64 {
                let hint = &hint;
                scope.spawn(move || {
                    for _ in 0..20_000 {
                        // Each writer's deadline is its tag times 1000: a torn pair breaks it.
                        hint.publish(
                            writer,
                            Hinted {
                                until: writer * 1_000,
                                detail: writer * 7,
                            },
                        );
                    }
                });
            }
            let hint = &hint;
            scope.spawn(move || {
                for _ in 0..40_000 {
                    for tag in 1..=2u64 {
                        if let Some(hinted) = hint.about(tag) {
                            let whole = Hinted {
                                until: tag * 1_000,
                                detail: tag * 7,
                            };
                            assert_eq!(hinted, whole, "a torn hint");
                        }
                    }
                }
            });
        });
    }
}
