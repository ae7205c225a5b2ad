//! A permit's word: what it was admitted as, its generation, its flags, packed in one `u64`
//! so that a call in Closed passes its permit in registers.
//!
//! The bits: the admission (3 bits), whether the call is timed, whether its end is told to
//! listeners of calls, whether the permit is armed
//! (a drop then is a failure: see [`run`](super::run)), whether the permit was reported,
//! and 57 bits of payload: the generation that admitted it (the hot word's tag for a call
//! admitted in Closed), or, for a probe, its generation's low 47 bits and its slot. The
//! permit's second word is a time: a timed call's start, and a probe's admission (which is
//! its start too), in nanoseconds of the breaker's clock.

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

pub(super) const GENERATION_BITS: u32 = 57;
pub(super) const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;
const ADMISSION_MASK: u64 = 0b111 << GENERATION_BITS;
pub(super) const TIMED: u64 = 1 << 60;
/// The permit's end is told to the breaker's listeners of calls.
pub(super) const NOTIFY: u64 = 1 << 61;
pub(super) const ARMED: u64 = 1 << 62;
pub(super) const REPORTED: u64 = 1 << 63;
/// A probe's generation: its low 47 bits (a probe reporting after 2^47 transitions could
/// pass for a current one).
pub(super) const PROBE_GENERATION_BITS: u32 = 47;
pub(super) const PROBE_GENERATION_MASK: u64 = (1 << PROBE_GENERATION_BITS) - 1;
/// A probe's slot, above its generation: 10 bits.
pub(super) const SLOT_MASK: u64 = 0x3ff;
/// How many probe slots a permit can name (the breaker checks that `half_open_max` fits).
pub(crate) const PROBE_SLOTS: u64 = SLOT_MASK + 1;

/// The word of a permit admitted as `admission` in `generation`.
#[inline]
pub(super) fn admitted(admission: Admission, generation: u64) -> u64 {
    (generation & GENERATION_MASK) | ((admission as u64) << GENERATION_BITS)
}

/// The word of a half-open probe of `generation` holding slot `slot`.
#[inline]
pub(super) fn probe(generation: u64, slot: u32) -> u64 {
    let payload = (generation & PROBE_GENERATION_MASK)
        | ((u64::from(slot) & SLOT_MASK) << PROBE_GENERATION_BITS);
    payload | ((Admission::Probe as u64) << GENERATION_BITS)
}

/// What the admission bits of a permit's word say.
#[inline]
pub(crate) fn admission_of(word: u64) -> Admission {
    match (word & ADMISSION_MASK) >> GENERATION_BITS {
        0 => Admission::Closed,
        1 => Admission::Probe,
        2 => Admission::Unguarded,
        3 => Admission::Observed,
        _ => Admission::Windowed,
    }
}

/// The generation a permit's word was admitted in (the hot word's tag if admitted in
/// Closed; a probe's low 47 bits).
#[inline]
pub(crate) fn admitted_in_of(word: u64) -> u64 {
    if admission_of(word) == Admission::Probe {
        word & PROBE_GENERATION_MASK
    } else {
        word & GENERATION_MASK
    }
}

/// Whether a permit's word is of a call admitted in Closed whose end nobody listens to:
/// the report's fast path.
#[inline]
pub(crate) fn is_plain_closed(word: u64) -> bool {
    word & (ADMISSION_MASK | NOTIFY) == 0
}

/// A probe's slot.
#[inline]
pub(super) fn slot_of(word: u64) -> u32 {
    (((word & GENERATION_MASK) >> PROBE_GENERATION_BITS) & SLOT_MASK) as u32
}
