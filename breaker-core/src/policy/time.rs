//! [`TimeWindow`]: the calls of the last `length`, in buckets, without a lock.
//!
//! Time is cut in buckets of `length / buckets`, numbered from the clock's zero; bucket
//! number `n` lives in slot `n % buckets`. A slot is stamped with the number of the bucket
//! it counts. A report in a slot stamped with an older number resets it: it takes the
//! slot with a compare-and-swap to a `RESETTING` stamp, zeroes the counts, and stamps the
//! new number (reports arriving meanwhile wait the few instructions this takes). The
//! window at time `t` is the slots stamped with one of the last `buckets` numbers up to
//! `t`'s; a slot stamped with an older one is an expired bucket nobody has reused yet.
//!
//! A report that stalls for a whole window between reading a slot's stamp and counting in
//! it can count in the bucket that replaced it; it is one call, a window late.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::{Outcome, Tally};

/// The stamp of a slot being reset.
const RESETTING: u64 = u64::MAX;

pub(crate) struct TimeWindow {
    slots: Box<[Bucket]>,
    /// The length of a bucket in nanoseconds.
    bucket: u64,
}

/// One bucket's counts; `stamp` is its number plus one (0: never used).
#[derive(Default)]
struct Bucket {
    stamp: AtomicU64,
    calls: AtomicU32,
    failures: AtomicU32,
    slow: AtomicU32,
}

impl TimeWindow {
    /// An empty window of `length` in `buckets` buckets (`length / buckets` is at least a
    /// nanosecond: validated with the configuration).
    pub(crate) fn new(length: Duration, buckets: u32) -> Self {
        let bucket = u64::try_from(length.as_nanos() / u128::from(buckets))
            .unwrap_or(u64::MAX)
            .max(1);
        Self {
            slots: (0..buckets).map(|_| Bucket::default()).collect(),
            bucket,
        }
    }

    /// The stamp of the bucket of time `now`.
    fn stamp_at(&self, now: u64) -> u64 {
        now / self.bucket + 1
    }

    pub(crate) fn record(&self, outcome: Outcome, now: u64) -> Tally {
        let stamp = self.stamp_at(now);
        let slot = &self.slots[(stamp % self.slots.len() as u64) as usize];
        let mut spins = 0u32;
        loop {
            let seen = slot.stamp.load(Ordering::Acquire);
            if seen == stamp {
                break;
            }
            if seen == RESETTING {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    // The resetting thread was preempted: let it run.
                    std::thread::yield_now();
                }
                continue;
            }
            if seen > stamp {
                // A later bucket already took the slot: this call is older than the
                // window.
                return self.tally(now);
            }
            if slot
                .stamp
                .compare_exchange(seen, RESETTING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                slot.calls.store(0, Ordering::Relaxed);
                slot.failures.store(0, Ordering::Relaxed);
                slot.slow.store(0, Ordering::Relaxed);
                slot.stamp.store(stamp, Ordering::Release);
                break;
            }
        }
        slot.calls.fetch_add(1, Ordering::AcqRel);
        if outcome.failed {
            slot.failures.fetch_add(1, Ordering::AcqRel);
        }
        if outcome.slow {
            slot.slow.fetch_add(1, Ordering::AcqRel);
        }
        self.tally(now)
    }

    /// The calls of the buckets in the window at `now`.
    pub(crate) fn tally(&self, now: u64) -> Tally {
        let newest = self.stamp_at(now);
        let oldest = newest.saturating_sub(self.slots.len() as u64 - 1).max(1);
        let mut tally = Tally::default();
        for slot in self.slots.iter() {
            let stamp = slot.stamp.load(Ordering::Acquire);
            if (oldest..=newest).contains(&stamp) {
                tally.calls += u64::from(slot.calls.load(Ordering::Relaxed));
                tally.failures += u64::from(slot.failures.load(Ordering::Relaxed));
                tally.slow += u64::from(slot.slow.load(Ordering::Relaxed));
            }
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{self, F, S};
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn tally(calls: u64, failures: u64) -> Tally {
        testing::tally(calls, failures, 0)
    }

    #[test]
    fn buckets_expire_one_at_a_time() {
        // 10 s in 5 buckets of 2 s.
        let window = TimeWindow::new(Duration::from_secs(10), 5);
        assert_eq!(window.record(F, 0), tally(1, 1));
        assert_eq!(window.record(S, SEC), tally(2, 1)); // same bucket [0, 2 s)
        assert_eq!(window.record(F, 3 * SEC), tally(3, 2)); // bucket [2 s, 4 s)
        // At 9.9 s the window holds buckets [0, 10 s): everything.
        assert_eq!(window.tally(9 * SEC + SEC / 2), tally(3, 2));
        // At 10 s the first bucket has left the window.
        assert_eq!(window.tally(10 * SEC), tally(1, 1));
        // Recording at 10 s reuses the first bucket's slot.
        assert_eq!(window.record(S, 10 * SEC), tally(2, 1));
        // At 14 s only the new bucket is left.
        assert_eq!(window.tally(14 * SEC), tally(1, 0));
        assert_eq!(window.tally(22 * SEC), tally(0, 0));
    }

    #[test]
    fn a_slot_left_alone_for_many_windows_is_not_counted() {
        let window = TimeWindow::new(Duration::from_secs(4), 4);
        window.record(F, 0);
        // 100 windows later the slot still has its counts, but an old stamp.
        assert_eq!(window.tally(400 * SEC), tally(0, 0));
        assert_eq!(window.record(S, 400 * SEC), tally(1, 0));
    }

    #[test]
    fn a_report_older_than_the_window_is_dropped() {
        let window = TimeWindow::new(Duration::from_secs(2), 2);
        window.record(S, 4 * SEC);
        // Time 0 maps to the same slot, which now counts a later bucket.
        assert_eq!(window.record(F, 0), tally(0, 0));
        assert_eq!(window.tally(4 * SEC), tally(1, 0));
    }

    #[test]
    fn concurrent_reports_across_bucket_boundaries_count_every_call_once() {
        let window = TimeWindow::new(Duration::from_secs(1000), 1000);
        // Four threads record at the same times, crossing into a new bucket every 100
        // calls, so they race on every reset.
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let window = &window;
                scope.spawn(move || {
                    for i in 0..20_000u64 {
                        window.record(F, i / 100 * SEC);
                    }
                });
            }
        });
        // The window at the last bucket holds all 200 buckets of 400 calls.
        assert_eq!(window.tally(199 * SEC), tally(80_000, 80_000));
    }
}
