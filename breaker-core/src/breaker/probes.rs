//! [`ProbeSlots`]: the half-open probes of one generation, each with its own timeout.
//!
//! A HalfOpen generation has `half_open_max` slots. A probe holds one from its admission
//! until it reports or is dropped; the slot keeps when the probe was admitted, so that a
//! probe lost for good (its permit leaked, its task stuck) is given up exactly
//! `half_open_timeout` after its own admission, whatever the other slots are doing, and the
//! caller that finds it so takes its slot over. Nothing else changes: the generation, the
//! successes counted so far and the other probes stay, so time passing never costs a
//! probe that is still within its timeout, nor a success already counted.
//!
//! A slot's word is 0 when free, else the admission time in nanoseconds of the breaker's
//! clock plus one: the stamp that the probe's permit keeps. A probe reports to its slot
//! only if the slot still holds its stamp, so a probe given up reports to nothing (a
//! successor's stamp is at least `half_open_timeout` later, which is more than zero).
//!
//! `in_flight` counts reserved slots: a claimer reserves one there (bounded by
//! `half_open_max`) before taking a free slot, and a releaser frees its slot before giving
//! the reservation back, so a reserved claimer always finds a free slot. A slot taken over
//! keeps its reservation.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::breaker::permit::PROBE_SLOTS;
use crate::config::BreakerConfig;

// A probe's permit names its slot in a few bits: every slot must have a name.
const _: () = assert!(BreakerConfig::MAX_HALF_OPEN as u64 <= PROBE_SLOTS);

/// A value alone on its cache line (128 bytes: two lines, for adjacent-line prefetchers).
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// The probe slots of a HalfOpen generation (none in any other state).
pub(crate) struct ProbeSlots {
    /// Slots reserved: probes in flight, and claimers about to take a free slot. On its
    /// own cache line, so that claiming a slot does not evict the snapshot's read-mostly
    /// fields from the readers' caches.
    in_flight: Padded<AtomicU32>,
    /// 0 (free) or a probe's stamp: its admission time in nanoseconds, plus one.
    slots: Box<[AtomicU64]>,
    /// How long a probe may be out before it is given up, in nanoseconds.
    timeout: u64,
}

/// What a caller got from [`ProbeSlots::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Slot `slot` is the caller's, stamped with its admission time.
    Slot { slot: u32 },
    /// Every slot is held by a probe within its timeout: the first of them times out in
    /// `wait` nanoseconds.
    Full { wait: u64 },
}

impl ProbeSlots {
    /// No slots: a generation that is not HalfOpen.
    pub(crate) fn none() -> Self {
        Self {
            in_flight: Padded(AtomicU32::new(0)),
            slots: Box::new([]),
            timeout: 0,
        }
    }

    /// `max` free slots, whose probes time out after `timeout` nanoseconds (more than zero).
    pub(crate) fn new(max: u32, timeout: u64) -> Self {
        debug_assert!((1..=BreakerConfig::MAX_HALF_OPEN).contains(&max) && timeout > 0);
        Self {
            in_flight: Padded(AtomicU32::new(0)),
            slots: (0..max).map(|_| AtomicU64::new(0)).collect(),
            timeout,
        }
    }

    /// The stamp of a probe admitted at `now` (nanoseconds).
    #[inline]
    pub(crate) fn stamp(now: u64) -> u64 {
        now.saturating_add(1)
    }

    /// Takes a slot for a probe admitted at `now` (nanoseconds): a free one, or, when
    /// every slot is held, the slot of a probe out for `timeout` or longer (that probe is
    /// given up: its report will find the slot stamped by another).
    pub(crate) fn claim(&self, now: u64) -> Claim {
        let stamp = Self::stamp(now);
        loop {
            if self.reserve() {
                // A reservation guarantees a free slot: releasers free theirs before they
                // give their reservation back. Claimers racing for the same free slot
                // retry; each of them has a slot waiting.
                loop {
                    for (slot, word) in self.slots.iter().enumerate() {
                        if word.load(Ordering::Relaxed) == 0
                            && word
                                .compare_exchange(0, stamp, Ordering::AcqRel, Ordering::Relaxed)
                                .is_ok()
                        {
                            return Claim::Slot { slot: slot as u32 };
                        }
                    }
                    std::hint::spin_loop();
                }
            }
            let mut wait = u64::MAX;
            let mut freed = false;
            for (slot, word) in self.slots.iter().enumerate() {
                let held = word.load(Ordering::Acquire);
                if held == 0 {
                    // Freed since the reservation failed: its releaser is about to give its
                    // reservation back.
                    freed = true;
                    continue;
                }
                let times_out = (held - 1).saturating_add(self.timeout);
                if now < times_out {
                    wait = wait.min(times_out - now);
                } else if word
                    .compare_exchange(held, stamp, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    return Claim::Slot { slot: slot as u32 };
                }
            }
            if !freed && wait != u64::MAX {
                return Claim::Full { wait };
            }
            // A slot was freed, or every held slot changed hands under us: look again.
            std::hint::spin_loop();
        }
    }

    /// Takes the first slot for the caller that enters HalfOpen, before anyone else can
    /// see the generation.
    pub(crate) fn claim_first(&self, now: u64) -> u32 {
        self.in_flight.store(1, Ordering::Relaxed);
        self.slots[0].store(Self::stamp(now), Ordering::Relaxed);
        0
    }

    /// Reserves a slot if fewer than `slots.len()` are reserved.
    fn reserve(&self) -> bool {
        let max = self.slots.len() as u32;
        let mut reserved = self.in_flight.load(Ordering::Relaxed);
        loop {
            if reserved >= max {
                return false;
            }
            match self.in_flight.compare_exchange_weak(
                reserved,
                reserved + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => reserved = now,
            }
        }
    }

    /// Whether slot `slot` is still held by the probe stamped `stamp` (it was not given
    /// up).
    pub(crate) fn holds(&self, slot: u32, stamp: u64) -> bool {
        self.slots
            .get(slot as usize)
            .is_some_and(|word| word.load(Ordering::Acquire) == stamp)
    }

    /// Frees slot `slot` if the probe stamped `stamp` still holds it; whether it did.
    pub(crate) fn release(&self, slot: u32, stamp: u64) -> bool {
        let Some(word) = self.slots.get(slot as usize) else {
            return false;
        };
        if word
            .compare_exchange(stamp, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let before = self.in_flight.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before > 0, "probe slot released twice");
        true
    }

    /// Probes in flight (held slots).
    pub(crate) fn in_flight(&self) -> u32 {
        self.slots
            .iter()
            .filter(|word| word.load(Ordering::Relaxed) != 0)
            .count() as u32
    }

    /// The address of the reservation count, for the layout test.
    #[cfg(test)]
    pub(crate) fn count_address(&self) -> usize {
        &*self.in_flight as *const AtomicU32 as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn slots_are_bounded_and_reused() {
        let slots = ProbeSlots::new(2, 10 * SECOND);
        assert_eq!(slots.claim_first(0), 0);
        assert_eq!(slots.claim(1), Claim::Slot { slot: 1 });
        assert_eq!(
            slots.claim(2),
            Claim::Full {
                wait: 10 * SECOND - 2
            }
        );
        assert!(slots.release(1, ProbeSlots::stamp(1)));
        assert!(!slots.release(1, ProbeSlots::stamp(1)), "released once");
        assert_eq!(slots.claim(3), Claim::Slot { slot: 1 });
        assert_eq!(slots.in_flight(), 2);
    }

    #[test]
    fn each_probe_times_out_from_its_own_admission() {
        let slots = ProbeSlots::new(2, 10 * SECOND);
        slots.claim_first(0);
        assert_eq!(slots.claim(8 * SECOND), Claim::Slot { slot: 1 });
        // At 9 s the first probe has 1 s left, the second 9 s.
        assert_eq!(slots.claim(9 * SECOND), Claim::Full { wait: SECOND });
        // At 10 s the first is given up and its slot taken over; the second keeps its own.
        assert_eq!(slots.claim(10 * SECOND), Claim::Slot { slot: 0 });
        assert!(
            !slots.holds(0, ProbeSlots::stamp(0)),
            "the first probe was given up"
        );
        assert!(slots.holds(1, ProbeSlots::stamp(8 * SECOND)));
        assert_eq!(slots.claim(11 * SECOND), Claim::Full { wait: 7 * SECOND });
        // The given-up probe's report frees nothing.
        assert!(!slots.release(0, ProbeSlots::stamp(0)));
        assert_eq!(slots.in_flight(), 2);
    }

    #[test]
    fn racing_claimers_never_exceed_the_slots() {
        use std::sync::Barrier;
        let slots = ProbeSlots::new(3, u64::MAX);
        let barrier = Barrier::new(8);
        let won: u32 = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        u32::from(matches!(slots.claim(5), Claim::Slot { .. }))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(won, 3);
        assert_eq!(slots.in_flight(), 3);
    }
}
