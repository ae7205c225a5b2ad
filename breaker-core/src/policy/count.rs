//! [`CountWindow`]: the outcomes of the last N calls, without a lock.
//!
//! A ring of N one-byte slots and a running tally. A report takes the next position with a
//! `fetch_add`, swaps its outcome into that slot, and applies the difference between what
//! it wrote and what it replaced to the tally with one more `fetch_add`, which returns the
//! tally it produced: the report sees a consistent window without reading the ring. A
//! report that changes nothing (a success replacing a success, the steady state) skips the
//! second `fetch_add`.
//!
//! The tally is three counts packed in a word (calls, failures, slow calls), each biased by
//! 2^20: under concurrency a report can subtract an outcome whose writer has not added it
//! yet, so a count can dip below zero for a moment, and the bias keeps such a dip from
//! borrowing from the count above it. Once reports stop, the tally is exactly the ring's.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use super::{Outcome, Tally};

const EMPTY: u8 = 0;
const CALL: u8 = 1;
const FAILED: u8 = 2;
const SLOW: u8 = 4;

const FIELD_BITS: u32 = 21;
const BIAS: u64 = 1 << (FIELD_BITS - 1);
const FIELD_MASK: u64 = (1 << FIELD_BITS) - 1;
/// Every count at zero.
const ZERO: u64 = BIAS | (BIAS << FIELD_BITS) | (BIAS << (2 * FIELD_BITS));

pub(crate) struct CountWindow {
    slots: Box<[AtomicU8]>,
    /// How many reports have taken a position.
    next: AtomicU64,
    tally: AtomicU64,
}

/// What a slot holds for `outcome`.
fn slot_of(outcome: Outcome) -> u8 {
    CALL | if outcome.failed { FAILED } else { 0 } | if outcome.slow { SLOW } else { 0 }
}

/// The packed change of the tally from a slot holding `old` to one holding `new`.
fn delta(old: u8, new: u8) -> u64 {
    let bit = |slot: u8, flag: u8| i64::from(slot & flag != 0);
    let calls = bit(new, CALL) - bit(old, CALL);
    let failures = bit(new, FAILED) - bit(old, FAILED);
    let slow = bit(new, SLOW) - bit(old, SLOW);
    (calls + (failures << FIELD_BITS) + (slow << (2 * FIELD_BITS))) as u64
}

fn unpack(word: u64) -> Tally {
    let field = |shift: u32| ((word >> shift) & FIELD_MASK).saturating_sub(BIAS);
    Tally {
        calls: field(0),
        failures: field(FIELD_BITS),
        slow: field(2 * FIELD_BITS),
    }
}

impl CountWindow {
    /// An empty window of the last `size` calls (`size` is at most
    /// [`Window::MAX_SIZE`](super::Window::MAX_SIZE), well below the bias).
    pub(crate) fn new(size: u32) -> Self {
        debug_assert!(size > 0 && u64::from(size) < BIAS);
        Self {
            slots: (0..size).map(|_| AtomicU8::new(EMPTY)).collect(),
            next: AtomicU64::new(0),
            tally: AtomicU64::new(ZERO),
        }
    }

    pub(crate) fn record(&self, outcome: Outcome) -> Tally {
        let position = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[(position % self.slots.len() as u64) as usize];
        let new = slot_of(outcome);
        let old = slot.swap(new, Ordering::Relaxed);
        if old == new {
            return self.tally();
        }
        // Wrapping: a negative delta is its two's complement, and the bias keeps every
        // field in range, so no field borrows from or carries into the next.
        let delta = delta(old, new);
        let before = self.tally.fetch_add(delta, Ordering::AcqRel);
        unpack(before.wrapping_add(delta))
    }

    pub(crate) fn tally(&self) -> Tally {
        unpack(self.tally.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{F, S, SLOW_S, tally};
    use super::*;

    #[test]
    fn fills_then_slides() {
        let window = CountWindow::new(3);
        assert_eq!(window.tally(), tally(0, 0, 0));
        assert_eq!(window.record(F), tally(1, 1, 0));
        assert_eq!(window.record(S), tally(2, 1, 0));
        assert_eq!(window.record(SLOW_S), tally(3, 1, 1));
        // The fourth call replaces the first (a failure).
        assert_eq!(window.record(S), tally(3, 0, 1));
        assert_eq!(window.record(S), tally(3, 0, 1));
        assert_eq!(window.record(F), tally(3, 1, 0));
    }

    #[test]
    fn concurrent_reports_leave_the_exact_tally_of_the_ring() {
        let window = CountWindow::new(64);
        std::thread::scope(|scope| {
            for thread in 0..4u64 {
                let window = &window;
                scope.spawn(move || {
                    for i in 0..50_000u64 {
                        let outcome = Outcome {
                            failed: (i + thread) % 3 == 0,
                            slow: (i * 7 + thread) % 5 == 0,
                        };
                        let seen = window.record(outcome);
                        // A dip below zero shows as zero, never as a huge count.
                        assert!(seen.calls <= 64 + 4, "{seen:?}");
                        assert!(seen.failures <= 64 + 4 && seen.slow <= 64 + 4, "{seen:?}");
                    }
                });
            }
        });
        let mut expected = Tally::default();
        for slot in window.slots.iter() {
            let slot = slot.load(Ordering::Relaxed);
            expected.calls += u64::from(slot & CALL != 0);
            expected.failures += u64::from(slot & FAILED != 0);
            expected.slow += u64::from(slot & SLOW != 0);
        }
        assert_eq!(expected.calls, 64);
        assert_eq!(window.tally(), expected);
    }
}
