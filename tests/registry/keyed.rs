//! `breaker::KeyedRegistry` under real concurrency, and its hot path's allocations.
//!
//! - Many threads, released together by a spin gate, look up and insert the same new keys
//!   and call through them: every key ends up with exactly one breaker, the one every thread
//!   got (no breaker lost, none duplicated), and every call is counted by it.
//! - Many threads inserting past the capacity: the registry holds no more than its
//!   capacity (all but the open breakers are evictable), and never evicts an open one.
//! - Eviction, reuse of evicted entries, removal and `Send` references racing with lookups:
//!   every breaker returned or held is the one of its key.
//! - Lookups racing with the growth of the index find every key inserted before.
//! - Looking up an existing key (by `&str`) and calling through it allocates nothing; nor
//!   does looking up a missing one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use breaker::KeyedRegistry;
use breaker::{BreakerConfig, CircuitState, ManualClock};

use crate::counting_alloc::allocations_in;

const THREADS: usize = 8;

/// Waits until all `THREADS` threads have arrived, spinning (and yielding now and then, as
/// there are more threads than cores).
fn gate(arrived: &AtomicUsize) {
    arrived.fetch_add(1, Ordering::AcqRel);
    let mut spins = 0u32;
    while arrived.load(Ordering::Acquire) < THREADS {
        spins += 1;
        if spins % 64 == 0 {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(Duration::from_secs(60))
}

#[test]
fn racing_first_lookups_install_one_breaker_per_key() {
    const KEYS: usize = 1_000;
    const TRIALS: usize = 10;
    const ROUNDS: usize = 3;
    let keys: Vec<String> = (0..KEYS).map(|i| format!("tenant-{i:04}")).collect();
    for _ in 0..TRIALS {
        let registry: KeyedRegistry<Arc<str>> = KeyedRegistry::new(KEYS, config());
        let arrived = AtomicUsize::new(0);
        // What each thread got for each key: the breaker's address.
        let seen: Vec<Vec<usize>> = thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (registry, keys, arrived) = (&registry, &keys, &arrived);
                    scope.spawn(move || {
                        let mut got = vec![0usize; KEYS];
                        gate(arrived);
                        for _ in 0..ROUNDS {
                            // Half the threads race through the keys in order, half in
                            // reverse, so that most new keys are raced for.
                            for n in 0..KEYS {
                                let i = if t % 2 == 0 { n } else { KEYS - 1 - n };
                                let breaker = registry.get_or_insert(keys[i].as_str());
                                breaker.acquire().unwrap().success();
                                let address = &*breaker as *const _ as usize;
                                assert!(got[i] == 0 || got[i] == address, "{} changed", keys[i]);
                                got[i] = address;
                            }
                        }
                        got
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(registry.len(), KEYS);
        for (i, key) in keys.iter().enumerate() {
            let breaker = registry.get(key.as_str()).expect("no breaker lost");
            let address = &*breaker as *const _ as usize;
            for got in &seen {
                assert_eq!(got[i], address, "{key}: one breaker for every thread");
            }
            // Every call was counted by the breaker the registry holds.
            let metrics = breaker.metrics();
            assert_eq!(metrics.succeeded, (THREADS * ROUNDS) as u64, "{key}");
            assert_eq!(metrics.name, key.as_str());
        }
        let mut listed = 0;
        registry.for_each(|_, _| listed += 1);
        assert_eq!(listed, KEYS, "none duplicated");
    }
}

#[test]
fn racing_insertions_past_the_capacity_stay_within_it_and_keep_open_breakers() {
    const CAPACITY: usize = 256;
    const KEYS_PER_THREAD: usize = 3_000;
    const OPEN: usize = 16;
    let clock = ManualClock::new();
    let registry: KeyedRegistry<String> = KeyedRegistry::with_clock(CAPACITY, config(), clock);
    // Keys that fail (and so open their breaker at once); every thread calls them now and
    // then, and they must survive all the evictions.
    for i in 0..OPEN {
        registry
            .get_or_insert(format!("down-{i}").as_str())
            .acquire()
            .unwrap()
            .failure();
    }
    let arrived = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    thread::scope(|scope| {
        for t in 0..THREADS {
            let (registry, arrived, most) = (&registry, &arrived, &most);
            scope.spawn(move || {
                gate(arrived);
                for n in 0..KEYS_PER_THREAD {
                    // Overlapping key sets: neighbouring threads share half their keys.
                    let key = format!("tenant-{}", (t * KEYS_PER_THREAD / 2 + n) % 12_000);
                    let breaker = registry.get_or_insert(key.as_str());
                    breaker.acquire().unwrap().success();
                    drop(breaker);
                    if n % 100 == 0 {
                        let down = format!("down-{}", n / 100 % OPEN);
                        let open = registry.get(down.as_str()).expect("an open breaker stays");
                        assert!(open.acquire().is_err());
                    }
                    most.fetch_max(registry.len(), Ordering::Relaxed);
                }
            });
        }
    });
    // Within the capacity (with nothing in flight any more, the next insertion restores
    // the bound if a racing eviction left it exceeded).
    registry.get_or_insert("last");
    assert!(
        registry.len() <= CAPACITY,
        "{} breakers for a capacity of {CAPACITY}",
        registry.len()
    );
    for i in 0..OPEN {
        let down = registry.get(format!("down-{i}").as_str()).unwrap();
        assert_eq!(down.state(), CircuitState::Open, "down-{i}");
    }
    let mut names: HashMap<String, usize> = HashMap::new();
    registry.for_each(|key, breaker| {
        assert_eq!(breaker.name(), key.as_str());
        *names.entry(key.clone()).or_default() += 1;
    });
    assert_eq!(names.len(), registry.len());
    assert!(names.values().all(|&n| n == 1));
    // While the threads ran, the excess stayed small: at most one insertion per thread in
    // flight beyond the capacity (plus a margin for evictions that raced with calls).
    let most = most.load(Ordering::Relaxed);
    assert!(most <= CAPACITY + 4 * THREADS, "{most} at most");
}

#[test]
fn existing_key_lookups_and_calls_do_not_allocate() {
    let registry: KeyedRegistry<Arc<str>> = KeyedRegistry::new(16, BreakerConfig::default());
    let missing = String::from("missing-model");
    // Warm up: the thread's epoch slot, counter slot and arc-swap debt list are set up on
    // first use.
    registry
        .get_or_insert("gpt-4o")
        .acquire()
        .unwrap()
        .success();
    registry
        .get_or_insert("gpt-4o")
        .acquire()
        .unwrap()
        .failure();
    registry
        .get_or_insert("gpt-4o")
        .acquire()
        .unwrap()
        .success();
    let _ = registry.get(missing.as_str());

    let allocations = allocations_in(|| {
        for _ in 0..10_000 {
            registry
                .get_or_insert("gpt-4o")
                .acquire()
                .unwrap()
                .success();
            registry.get("gpt-4o").unwrap().acquire().unwrap().success();
            let reply = registry.get("gpt-4o").unwrap().call(|| Ok::<_, ()>(1));
            assert_eq!(reply.unwrap(), 1);
            let pinned = registry.pin();
            pinned.get_or_insert("gpt-4o").acquire().unwrap().success();
            assert!(pinned.get(missing.as_str()).is_none());
            assert!(registry.get(missing.as_str()).is_none());
            assert!(registry.contains_key("gpt-4o"));
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(registry.len(), 1);
}

/// A small deterministic generator, so that each thread's key sequence differs.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn recycled_entries_are_never_seen_under_another_key() {
    // Ten times more keys than room: nearly every insertion evicts, and evicted entries are
    // reused for other keys while other threads look keys up, hold `Send` references and
    // remove keys. Every breaker a lookup returns must be the one of the key looked up.
    const CAPACITY: usize = 64;
    const KEYS: u64 = 640;
    const OPS: usize = 20_000;
    let registry: KeyedRegistry<Arc<str>> = KeyedRegistry::new(CAPACITY, config());
    let arrived = AtomicUsize::new(0);
    thread::scope(|scope| {
        for t in 0..THREADS {
            let (registry, arrived) = (&registry, &arrived);
            scope.spawn(move || {
                let mut state = 0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1);
                let mut held = Vec::new();
                gate(arrived);
                for op in 0..OPS {
                    let key = format!("tenant-{}", next(&mut state) % KEYS);
                    match op % 8 {
                        0 => {
                            let send = registry.get_or_insert(key.as_str());
                            held.push((key, send));
                            if held.len() > 4 {
                                held.remove(0);
                            }
                        }
                        1 => {
                            registry.remove(key.as_str());
                        }
                        2 => {
                            if let Some(breaker) = registry.get(key.as_str()) {
                                assert_eq!(breaker.name(), key.as_str());
                            }
                        }
                        _ => {
                            let breaker = registry.get_or_insert(key.as_str());
                            assert_eq!(breaker.name(), key.as_str());
                            if let Ok(permit) = breaker.acquire() {
                                assert_eq!(permit.breaker().name(), key.as_str());
                                permit.success();
                            }
                        }
                    }
                    for (key, send) in &held {
                        assert_eq!(send.name(), key.as_str(), "a held breaker kept its key");
                    }
                }
            });
        }
    });
    registry.for_each(|key, breaker| assert_eq!(breaker.name(), &**key));
    registry.get_or_insert("last");
    assert!(registry.len() <= CAPACITY, "{} breakers", registry.len());
}

#[test]
fn lookups_find_every_key_while_the_index_is_rebuilt() {
    // One thread inserts 50,000 keys (the index is rebuilt a dozen times, and readers may
    // still probe a replaced one) while the others look up keys inserted before: none may
    // be missed.
    const STABLE: usize = 100;
    let registry: KeyedRegistry<Arc<str>> = KeyedRegistry::new(100_000, config());
    let stable: Vec<String> = (0..STABLE).map(|i| format!("stable-{i}")).collect();
    for key in &stable {
        registry.get_or_insert(key.as_str());
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|scope| {
        for t in 0..THREADS - 1 {
            let (registry, stable, done) = (&registry, &stable, &done);
            scope.spawn(move || {
                let mut lookups = 0usize;
                while !done.load(Ordering::Acquire) || lookups < 10_000 {
                    let key = &stable[(t + lookups) % STABLE];
                    let breaker = registry.get(key.as_str()).expect("a stable key is found");
                    assert_eq!(breaker.name(), key.as_str());
                    lookups += 1;
                }
            });
        }
        let (registry, done) = (&registry, &done);
        scope.spawn(move || {
            for i in 0..50_000 {
                registry.get_or_insert(format!("new-{i}").as_str());
            }
            done.store(true, Ordering::Release);
        });
    });
    assert_eq!(registry.len(), STABLE + 50_000);
}
