use super::*;
use std::sync::{Arc, Barrier};

/// This thread's slot; `None` while the thread is being torn down.
fn slot() -> Option<usize> {
    SLOT.try_with(|slot| slot.id).ok()
}

impl CallCounters {
    /// The table of the other threads' shards, if there is one.
    fn existing_table(&self) -> Option<&[AtomicPtr<Shard>]> {
        let table = self.others.load(Ordering::Acquire);
        // SAFETY: see `own_shard`.
        (!table.is_null()).then(|| unsafe { std::slice::from_raw_parts(table, table_len()) })
    }

    /// How many per-slot shards have been created (the first and shared ones aside).
    fn slot_shards(&self) -> usize {
        self.existing_table().map_or(0, |table| {
            table[..slot_count()]
                .iter()
                .filter(|slot| !slot.load(Ordering::Acquire).is_null())
                .count()
        })
    }

    /// Whether the table of the other threads' shards exists.
    fn has_others(&self) -> bool {
        self.existing_table().is_some()
    }

    /// The shared shard's count of admitted calls (0 if there is no table).
    fn shared_admitted(&self) -> u64 {
        self.existing_table().map_or(0, |table| {
            // SAFETY: see `bump_slow`: the shared shard is set with the table.
            let shared = unsafe { &*table[shared_shard()].load(Ordering::Acquire) };
            shared.0[ADMITTED].load(Ordering::Relaxed)
        })
    }
}

fn admitted(n: u64) -> Totals {
    Totals {
        admitted: n,
        ..Totals::default()
    }
}

impl CallCounters {
    /// How many counts of counter `index` the shard of slot `slot` holds, if it has one.
    fn in_slot(&self, slot: usize, index: usize) -> Option<u64> {
        let shard = match self.near.get(slot) {
            Some(shard) => shard,
            None => {
                let table = self.existing_table()?;
                // SAFETY: see `own_shard`.
                unsafe { table.get(slot)?.load(Ordering::Acquire).as_ref() }?
            }
        };
        Some(shard.0[index].load(Ordering::Relaxed))
    }
}

#[test]
fn shards_are_cache_line_aligned_and_the_breaker_holds_two_words() {
    let counters = CallCounters::new();
    assert_eq!(std::mem::align_of::<Shard>(), 128);
    assert_eq!(std::mem::size_of::<Shard>(), 128);
    assert_eq!(&*counters.near as *const [Shard; NEAR] as usize % 128, 0);
    assert_eq!(std::mem::size_of::<CallCounters>(), 2 * 8);
}

#[test]
fn an_idle_breaker_has_only_its_near_shards() {
    let counters = CallCounters::new();
    assert!(!counters.has_others());
    assert_eq!(counters.shards().count(), NEAR);
    assert_eq!(counters.totals(), Totals::default());
}

#[test]
fn a_thread_counts_in_its_slots_shard_created_on_its_first_count() {
    let counters = CallCounters::new();
    // Threads of the first slots count in the near shards; the first thread of a later
    // slot creates the table, and its own shard in it.
    let mut counted = 0;
    for n in 1..=NEAR as u64 + 2 {
        let slot = std::thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..n {
                    counters.admitted();
                }
                slot().unwrap()
            })
            .join()
            .unwrap()
        });
        counted += n;
        if slot < NEAR {
            assert!(counters.in_slot(slot, ADMITTED).unwrap() >= n);
        } else if slot < slot_count() {
            assert!(counters.has_others());
            assert!(counters.in_slot(slot, ADMITTED).unwrap() >= n);
        } else {
            assert!(counters.shared_admitted() >= n);
        }
        assert_eq!(counters.totals(), admitted(counted));
    }
}

#[test]
fn threads_of_later_slots_each_get_one_shard() {
    let counters = CallCounters::new();
    // Alive at once (distinct slots): at most NEAR of them have a near shard; the others
    // (unless their slots are beyond the table, with other tests' threads alive) get one
    // shard each in the table.
    let threads = NEAR + 4;
    let barrier = Barrier::new(threads);
    let slots: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let slot = slot().unwrap();
                    barrier.wait();
                    for _ in 0..5 {
                        counters.admitted();
                    }
                    barrier.wait();
                    slot
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let later = slots
        .iter()
        .filter(|&&slot| (NEAR..slot_count()).contains(&slot))
        .count();
    assert_eq!(counters.slot_shards(), later);
    assert_eq!(counters.totals(), admitted(5 * threads as u64));
}

#[test]
fn live_threads_hold_distinct_slots_and_exited_threads_give_them_back() {
    let barrier = Arc::new(Barrier::new(8));
    let slots: Vec<usize> = (0..8)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mine = slot().unwrap();
                barrier.wait(); // all eight alive at once
                mine
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    let mut distinct = slots.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 8, "{slots:?}");
    // A new thread reuses a slot given back (slots stay dense).
    let reused = std::thread::spawn(|| slot().unwrap()).join().unwrap();
    assert!(reused < NEXT_SLOT.load(Ordering::Relaxed));
}

#[test]
fn threads_reusing_a_slot_count_in_its_shard() {
    let counters = CallCounters::new();
    // One after the other: each new thread may reuse the slot of one that exited, and
    // with it that slot's shard here.
    let slots: Vec<usize> = (0..40)
        .map(|_| {
            std::thread::scope(|s| {
                s.spawn(|| {
                    for _ in 0..10 {
                        counters.admitted();
                    }
                    slot().unwrap()
                })
                .join()
                .unwrap()
            })
        })
        .collect();
    assert_eq!(counters.totals(), admitted(400));
    let mut with_shard: Vec<usize> = slots
        .iter()
        .copied()
        .filter(|slot| (NEAR..slot_count()).contains(slot))
        .collect();
    with_shard.sort_unstable();
    with_shard.dedup();
    assert_eq!(
        counters.slot_shards(),
        with_shard.len(),
        "one shard per slot"
    );
}

#[test]
fn threads_beyond_the_slot_count_count_in_the_shared_shard() {
    let counters = Arc::new(CallCounters::new());
    let threads = slot_count() + 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (counters, barrier) = (Arc::clone(&counters), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let _ = slot();
                barrier.wait(); // all alive with a slot: some are beyond the table
                for _ in 0..100 {
                    counters.admitted();
                }
                barrier.wait(); // nobody gives a slot back before all have counted
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(counters.totals(), admitted(100 * threads as u64));
    assert!(counters.shared_admitted() > 0);
    assert!(counters.slot_shards() <= slot_count());
}

#[test]
fn totals_add_up_across_threads() {
    let counters = Arc::new(CallCounters::new());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let counters = Arc::clone(&counters);
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    counters.admitted();
                    counters.succeeded();
                }
                counters.rejected();
                counters.failed();
                counters.abandoned();
                counters.stale();
                counters.slow();
                counters.ignored();
                counters.unscored();
                counters.rate_limited();
                counters.gated();
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(
        counters.totals(),
        Totals {
            admitted: 4000,
            rejected: 8,
            succeeded: 4000,
            failed: 4,
            abandoned: 4,
            stale: 4,
            slow: 4,
            ignored: 4,
            unscored: 4,
            rate_limited: 4,
            gated: 4,
        }
    );
}

#[test]
fn every_way_a_permit_ends_takes_it_out_of_flight() {
    let totals = Totals {
        admitted: 10,
        succeeded: 3,
        failed: 2,
        abandoned: 1,
        unscored: 1,
        // Stale reports and ignored errors are counted as one of the above too.
        stale: 2,
        ignored: 3,
        ..Totals::default()
    };
    assert_eq!(totals.in_flight(), 3);
    // A read that saw a permit's end but not its admission (another thread's shard).
    let ahead = Totals {
        admitted: 1,
        succeeded: 2,
        ..Totals::default()
    };
    assert_eq!(ahead.in_flight(), 0);
}

#[test]
fn a_thread_being_torn_down_counts_in_the_shared_shard() {
    struct CountsOnExit(Arc<CallCounters>);
    impl Drop for CountsOnExit {
        fn drop(&mut self) {
            self.0.admitted();
        }
    }
    thread_local! {
        static ON_EXIT: std::cell::RefCell<Option<CountsOnExit>> = const { std::cell::RefCell::new(None) };
    }
    let counters = Arc::new(CallCounters::new());
    let inner = Arc::clone(&counters);
    std::thread::spawn(move || {
        // Registered before the slot, so destroyed after it (destructors run in reverse).
        ON_EXIT.with(|on_exit| *on_exit.borrow_mut() = Some(CountsOnExit(inner)));
        let _ = slot();
    })
    .join()
    .unwrap();
    assert_eq!(counters.totals(), admitted(1));
    assert_eq!(counters.shared_admitted(), 1);
}
