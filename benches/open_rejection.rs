//! A call rejected in Open (the cooldown not over), on one thread: ours against the
//! baselines in the shapes of the breakers this library replaces (`baselines/`) and the peer crates. Every competitor is opened by 5 failures
//! before the group, with a cooldown of a day so that it stays open while the group runs.
//!
//! Target: ours at most 0.3x failsafe (no system-clock read per rejected call); a call the
//! rate-limit gate rejects (Closed, the remote's deadline a day away) within 1.2x of ours.
//! Ours is measured twice: by default (an exact TSC read per rejection, no thread) and with
//! the opt-in upkeep thread (`breaker::RealClock::start_upkeep`: one atomic load instead).
//!
//! `cargo bench --bench open_rejection`

use std::hint::black_box;
use std::time::Duration;

use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "baselines/mod.rs"]
mod baselines;
#[path = "support/mod.rs"]
mod support;

use baselines::atomics::AtomicsBreaker;
use baselines::rwlock_map::{MapBreakers, MapConfig};

const MODEL: &str = "gpt-4o";

fn open_rejection(criterion: &mut Criterion) {
    support::pin_to_cpu(0);
    let cooldown = support::LONG_COOLDOWN;
    let config = BreakerConfig::default()
        .with_threshold(support::THRESHOLD)
        .with_cooldown(cooldown);
    let ours = CircuitBreaker::new(MODEL, config);
    let atomics = AtomicsBreaker::new(support::THRESHOLD, cooldown);
    let map = MapBreakers::new(MapConfig {
        cooldown,
        ..MapConfig::default()
    });
    // Closed, its rate-limit gate holding calls back for a day.
    let rate_limited = CircuitBreaker::new(
        MODEL,
        BreakerConfig::default().with_max_retry_after(cooldown),
    );
    rate_limited
        .acquire()
        .expect("closed")
        .rate_limited(Some(cooldown));
    assert!(rate_limited.acquire().unwrap_err().is_rate_limited());
    let failsafe = support::failsafe(cooldown);
    let recloser = support::recloser(cooldown);
    for _ in 0..support::THRESHOLD {
        ours.acquire().expect("closed").failure();
        atomics.record_failure();
        map.record_failure(MODEL);
        failsafe.on_error();
        let _ = recloser.call(|| Err::<(), ()>(()));
    }
    // recloser computes no rate until its window of 5 is full before the call: a fresh one
    // opens on the 6th failure.
    let _ = recloser.call(|| Err::<(), ()>(()));
    assert_eq!(ours.state(), CircuitState::Open);
    assert!(ours.acquire().is_err());
    assert!(!atomics.is_allowed());
    assert!(map.check(MODEL).is_err());
    assert!(!failsafe.is_call_permitted());
    assert!(recloser.call(|| Ok::<(), ()>(())).is_err());

    let mut group = criterion.benchmark_group("open rejection");
    group.bench_function(support::EMPTY_LOOP, |b| b.iter(|| support::empty_call(&())));
    group.bench_function("ours: acquire + success", |b| {
        b.iter(|| match black_box(&ours).acquire() {
            Ok(permit) => permit.success(),
            Err(open) => drop(black_box(open)),
        })
    });
    group.bench_function("ours: rate-limited rejection", |b| {
        b.iter(|| match black_box(&rate_limited).acquire() {
            Ok(permit) => permit.success(),
            Err(open) => drop(black_box(open)),
        })
    });
    group.bench_function("ours: call", |b| {
        b.iter(|| black_box(&ours).call(|| Ok::<u32, ()>(black_box(1))))
    });
    // The upkeep is process-wide: started after the default path is measured, stopped
    // before the others are.
    let upkeep = support::with_both_cpus(|| {
        breaker::RealClock::start_upkeep(Duration::from_millis(1)).expect("no other upkeep")
    });
    group.bench_function("ours, upkeep 1 ms: acquire + success", |b| {
        b.iter(|| match black_box(&ours).acquire() {
            Ok(permit) => permit.success(),
            Err(open) => drop(black_box(open)),
        })
    });
    drop(upkeep);
    group.bench_function("baseline: atomics (seed 000)", |b| {
        b.iter(|| {
            let breaker = black_box(&atomics);
            if breaker.is_allowed() {
                breaker.record_success();
            }
        })
    });
    group.bench_function("baseline: RwLock<HashMap> (seed 001)", |b| {
        b.iter(|| {
            let map = black_box(&map);
            let model = black_box(MODEL);
            match map.check(model) {
                Ok(()) => map.record_success(model),
                Err(open) => drop(black_box(open)),
            }
        })
    });
    group.bench_function("peer: failsafe 1.3", |b| {
        b.iter(|| {
            let breaker = black_box(&failsafe);
            if breaker.is_call_permitted() {
                breaker.on_success();
            }
        })
    });
    group.bench_function("peer: recloser 1.4", |b| {
        b.iter(|| black_box(&recloser).call(|| Ok::<u32, ()>(black_box(1))))
    });
    group.finish();

    // Still open: every call measured above was a rejection.
    assert_eq!(ours.state(), CircuitState::Open);
    assert!(rate_limited.acquire().unwrap_err().is_rate_limited());
    assert!(atomics.is_open());
    assert!(!failsafe.is_call_permitted());
}

criterion_group!(benches, open_rejection);
criterion_main!(benches);
