//! A breaker attached to a fleet store (a real `redis-server`, started by the bench on a
//! free loopback port) against the same breaker alone: a call in Closed and a rejection in
//! Open. The store is off the call path, so the rows should match: the fleet's task runs
//! on another CPU, polling the attached breakers every second while they are measured.
//!
//! Target: the attached breaker within 1.1x of the local one, in both groups.
//!
//! `cargo bench --features redis --bench fleet`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use breaker::fleet::{FleetOptions, FleetStore};
use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/mod.rs"]
mod support;

#[allow(dead_code, unused_imports)]
#[path = "../tests/support/redis_server.rs"]
mod redis_server;

/// Waits until `done` holds (the store's task adopting a decision), at most 10 s.
fn until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waited for: {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn fleet(criterion: &mut Criterion) {
    support::pin_to_cpu(0);
    let server = redis_server::RedisServer::start();
    // The store's task runs on the runtime's threads, free to use both CPUs (the measured
    // thread stays on CPU 0).
    let runtime = support::with_both_cpus(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime")
    });
    let store = {
        let _entered = runtime.enter();
        FleetStore::connect(&server.url(), FleetOptions::default()).expect("a store")
    };
    let config = BreakerConfig::default()
        .with_threshold(support::THRESHOLD)
        .with_cooldown(support::LONG_COOLDOWN);
    let local = CircuitBreaker::new("gpt-4o", config.clone());
    let attached = Arc::new(CircuitBreaker::new("gpt-4o", config.clone()));
    store.attach(&attached);
    until("the store read once", || store.stats().adopted > 0);

    let mut group = criterion.benchmark_group("fleet closed call");
    group.bench_function(support::EMPTY_LOOP, |b| b.iter(|| support::empty_call(&())));
    group.bench_function("ours: local, acquire + success", |b| {
        b.iter(|| black_box(&local).acquire().expect("closed").success())
    });
    group.bench_function("ours: fleet, acquire + success", |b| {
        b.iter(|| black_box(&*attached).acquire().expect("closed").success())
    });
    group.bench_function("ours: local, call", |b| {
        b.iter(|| black_box(&local).call(|| Ok::<u32, ()>(black_box(1))))
    });
    group.bench_function("ours: fleet, call", |b| {
        b.iter(|| black_box(&*attached).call(|| Ok::<u32, ()>(black_box(1))))
    });
    group.finish();
    assert_eq!(attached.state(), CircuitState::Closed);

    // Open: the local breaker by its own failures, the attached one by the fleet (its trip
    // told to the store, and the store's opening adopted).
    for _ in 0..support::THRESHOLD {
        local.acquire().expect("closed").failure();
        attached.acquire().expect("closed").failure();
    }
    until("the fleet's opening adopted", || store.stats().adopted > 2);
    assert!(local.acquire().is_err() && attached.acquire().is_err());

    let mut group = criterion.benchmark_group("fleet open rejection");
    group.bench_function(support::EMPTY_LOOP, |b| b.iter(|| support::empty_call(&())));
    group.bench_function("ours: local, acquire", |b| {
        b.iter(|| match black_box(&local).acquire() {
            Ok(permit) => permit.success(),
            Err(open) => drop(black_box(open)),
        })
    });
    group.bench_function("ours: fleet, acquire", |b| {
        b.iter(|| match black_box(&*attached).acquire() {
            Ok(permit) => permit.success(),
            Err(open) => drop(black_box(open)),
        })
    });
    group.bench_function("ours: local, call", |b| {
        b.iter(|| black_box(&local).call(|| Ok::<u32, ()>(black_box(1))))
    });
    group.bench_function("ours: fleet, call", |b| {
        b.iter(|| black_box(&*attached).call(|| Ok::<u32, ()>(black_box(1))))
    });
    group.finish();
    assert_eq!(local.state(), CircuitState::Open);
    assert_eq!(attached.state(), CircuitState::Open);
    let stats = store.stats();
    assert!(stats.store_up, "the store stayed up: {stats:?}");
    drop(store);
    drop(runtime);
}

criterion_group!(benches, fleet);
criterion_main!(benches);
