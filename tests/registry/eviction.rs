//! `breaker::KeyedRegistry`'s eviction rules against what keys can do to it.
//!
//! - Calls whose errors are ignored end: their breakers are evicted like any other.
//! - A flood of failing keys leaves the registry within twice its capacity; their Open
//!   breakers, stale once nobody calls them long after their cooldown, give way.
//! - A flood of new keys does not evict a breaker that carries failures while clean ones
//!   can go.
//!
//! The full-size runs (a million failing keys; eight threads for a minute) are `#[ignore]`d:
//! `cargo test --release --test registry -- --ignored --nocapture eviction::`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use breaker::KeyedRegistry;
use breaker::{BreakerConfig, CircuitState, ManualClock};

const COOLDOWN: Duration = Duration::from_secs(60);
const THRESHOLD: u32 = 5;

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .with_threshold(THRESHOLD)
        .with_cooldown(COOLDOWN)
}

fn registry(capacity: usize) -> (KeyedRegistry<Arc<str>>, ManualClock) {
    let clock = ManualClock::new();
    (
        KeyedRegistry::with_clock(capacity, config(), clock.clone()),
        clock,
    )
}

/// An error the classifier ignores (a 404): neither a success nor a failure by default.
fn not_found() -> Result<(), u16> {
    Err(404)
}

fn is_server_error(status: &u16) -> bool {
    *status >= 500
}

/// Fails `key` until its breaker opens.
fn trip(registry: &KeyedRegistry<Arc<str>>, key: &str) {
    for _ in 0..THRESHOLD {
        registry.acquire(key).unwrap().failure();
    }
}

#[test]
fn breakers_whose_calls_were_ignored_are_evicted() {
    let (registry, _) = registry(100);
    for i in 0..1_000 {
        let key = format!("tenant-{i}");
        let permit = registry.acquire(key.as_str()).unwrap();
        permit.record_with(&not_found(), is_server_error);
    }
    assert!(
        registry.len() <= 100,
        "{} breakers for a capacity of 100",
        registry.len()
    );
}

/// How long a run lasts.
enum Budget {
    /// So many insertions on each thread.
    Insertions(u64),
    /// So long, by the wall clock (a load run by hand, not a time test).
    Wall(Duration),
}

/// Eight threads insert new keys, 5 % of their calls ending in an ignored error, within
/// `budget`: the registry must stay within twice its capacity. Returns the most it held,
/// the insertions made and the wall time per insertion (all threads together).
fn ignored_errors_under_eight_threads(capacity: usize, budget: Budget) -> (usize, u64, f64) {
    const THREADS: usize = 8;
    let registry: KeyedRegistry<String> = KeyedRegistry::new(capacity, BreakerConfig::default());
    let (arrived, stop, most) = (
        AtomicUsize::new(0),
        AtomicBool::new(false),
        AtomicUsize::new(0),
    );
    let per_thread = match budget {
        Budget::Insertions(n) => n,
        Budget::Wall(_) => u64::MAX,
    };
    let started = Instant::now();
    let insertions: u64 = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (registry, arrived, stop, most) = (&registry, &arrived, &stop, &most);
                scope.spawn(move || {
                    arrived.fetch_add(1, Ordering::AcqRel);
                    while arrived.load(Ordering::Acquire) < THREADS {
                        thread::yield_now();
                    }
                    let mut n = 0u64;
                    while n < per_thread && !stop.load(Ordering::Relaxed) {
                        let key = format!("t{t}-k{n}");
                        let permit = registry.acquire(key.as_str()).unwrap();
                        if n % 20 == 0 {
                            permit.record_with(&not_found(), is_server_error);
                        } else {
                            permit.success();
                        }
                        most.fetch_max(registry.len(), Ordering::Relaxed);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        if let Budget::Wall(run_for) = budget {
            thread::sleep(run_for);
            stop.store(true, Ordering::Relaxed);
        }
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let elapsed = started.elapsed();
    let nanos_per_insertion = elapsed.as_nanos() as f64 / insertions as f64;
    (
        most.load(Ordering::Relaxed),
        insertions,
        nanos_per_insertion,
    )
}

#[test]
fn ignored_errors_under_eight_threads_keep_the_registry_bounded() {
    const CAPACITY: usize = 256;
    let (most, insertions, _) =
        ignored_errors_under_eight_threads(CAPACITY, Budget::Insertions(2_000));
    assert_eq!(insertions, 16_000);
    assert!(most <= 2 * CAPACITY, "{most} breakers at most");
}

#[test]
#[ignore = "a minute: run by hand, in release"]
fn ignored_errors_under_eight_threads_for_a_minute() {
    const CAPACITY: usize = 1_000;
    let (most, insertions, nanos) =
        ignored_errors_under_eight_threads(CAPACITY, Budget::Wall(Duration::from_secs(60)));
    println!(
        "capacity {CAPACITY}: {insertions} insertions in 60 s on 8 threads, {nanos:.0} ns \
         each (wall time), {most} breakers at most"
    );
    assert!(most <= 2 * CAPACITY);
}

/// Floods a registry with `keys` distinct keys that fail until their breaker opens: the most
/// it held.
fn flood(registry: &KeyedRegistry<Arc<str>>, keys: usize) -> usize {
    let mut most = 0;
    for i in 0..keys {
        trip(registry, format!("attacker-{i}").as_str());
        most = most.max(registry.len());
    }
    most
}

#[test]
fn a_flood_of_failing_keys_stays_within_twice_the_capacity() {
    const CAPACITY: usize = 100;
    let (registry, _) = registry(CAPACITY);
    let most = flood(&registry, 10_000);
    assert!(most <= 2 * CAPACITY, "{most} breakers at most");
}

#[test]
fn a_healthy_key_still_trips_after_a_flood() {
    const CAPACITY: usize = 100;
    let (registry, _) = registry(CAPACITY);
    flood(&registry, 10_000);
    // Healthy traffic: new keys that succeed, and one that starts failing.
    for i in 0..THRESHOLD {
        registry.acquire("payments").unwrap().failure();
        for j in 0..20 {
            let key = format!("healthy-{i}-{j}");
            registry.acquire(key.as_str()).unwrap().success();
        }
    }
    assert_eq!(
        registry.get("payments").unwrap().state(),
        CircuitState::Open
    );
}

#[test]
fn stale_open_breakers_give_way_after_a_flood() {
    const CAPACITY: usize = 100;
    let (registry, clock) = registry(CAPACITY);
    flood(&registry, 1_000);
    // Long after their cooldown, and nobody called them: stale.
    clock.advance(COOLDOWN * 10);
    for i in 0..CAPACITY / 2 {
        registry
            .acquire(format!("healthy-{i}").as_str())
            .unwrap()
            .success();
    }
    assert!(
        registry.len() <= CAPACITY,
        "{} breakers for a capacity of {CAPACITY}",
        registry.len()
    );
    for i in 0..CAPACITY / 2 {
        assert!(registry.contains_key(format!("healthy-{i}").as_str()));
    }
}

#[test]
#[ignore = "a million keys: run by hand, in release"]
fn a_flood_of_a_million_failing_keys() {
    const CAPACITY: usize = 10_000;
    let (registry, _) = registry(CAPACITY);
    let rss_before = rss_kib();
    let started = Instant::now();
    let most = flood(&registry, 1_000_000);
    println!(
        "1,000,000 failing keys at capacity {CAPACITY}: len {} (most {most}), RSS {} MiB \
         (was {} MiB), {:.1} s",
        registry.len(),
        rss_kib() / 1024,
        rss_before / 1024,
        started.elapsed().as_secs_f64()
    );
    assert!(most <= 2 * CAPACITY);
}

/// The process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_failing_breakers_history_survives_a_flood_of_new_keys() {
    const CAPACITY: usize = 100;
    let (registry, _) = registry(CAPACITY);
    for _ in 0..THRESHOLD - 1 {
        registry.acquire("flaky").unwrap().failure();
    }
    for i in 0..CAPACITY {
        registry
            .acquire(format!("new-{i}").as_str())
            .unwrap()
            .success();
    }
    registry.acquire("flaky").unwrap().failure();
    let flaky = registry.get("flaky").unwrap();
    assert_eq!(flaky.state(), CircuitState::Open, "{:?}", flaky.metrics());
}

#[test]
fn failures_interleaved_with_new_keys_trip_the_breaker() {
    const CAPACITY: usize = 100;
    let (registry, _) = registry(CAPACITY);
    let mut rejected = 0;
    for i in 0..400 {
        match registry.acquire("flaky") {
            Ok(permit) => permit.failure(),
            Err(_) => rejected += 1,
        }
        // A capacity's worth of new keys between two calls of the failing one.
        for j in 0..CAPACITY {
            let key = format!("new-{i}-{j}");
            registry.acquire(key.as_str()).unwrap().success();
        }
    }
    assert_eq!(rejected, 400 - THRESHOLD as usize);
}
