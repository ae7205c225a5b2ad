//! A call in Closed (admitted, then reported a success) on one breaker, from 1 thread and
//! from 2 threads at once: ours against the baselines (`baselines/`: the shapes of the breakers this library replaces) and the peer crates.
//!
//! Targets: ours at most 1.0x the atomics baseline and at most 0.4x failsafe.
//! Also measured: the same call under the failure-rate policies, which record every report
//! in a window, and the empty loop (`support::empty_call`), the floor every row must clear.
//!
//! Every row makes its subject opaque on every call (`black_box(&breaker)`), so the
//! compiler can neither hoist the breaker's loads out of the loop nor fold its stores
//! across calls, and black-boxes any result the row does not use itself.
//!
//! `cargo bench --bench closed_call`

use std::hint::black_box;
use std::time::Duration;

use breaker::{BreakerConfig, CircuitBreaker, FailureRate, SlowCalls, TripPolicy, Window};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};

#[path = "baselines/mod.rs"]
mod baselines;
#[path = "support/mod.rs"]
mod support;

use baselines::atomics::AtomicsBreaker;
use baselines::rwlock_map::{MapBreakers, MapConfig};

const MODEL: &str = "gpt-4o";

/// Every competitor, each in its own state, built once and shared by both groups.
struct Competitors {
    ours: CircuitBreaker,
    /// Ours with a failure-rate policy over the last 100 calls.
    count_window: CircuitBreaker,
    /// Ours with a failure-rate policy over a minute, watching for slow calls (timed).
    time_window: CircuitBreaker,
    atomics: AtomicsBreaker,
    map: MapBreakers,
    failsafe: support::Failsafe,
    recloser: recloser::Recloser,
}

impl Competitors {
    fn new() -> Self {
        let config = BreakerConfig::default()
            .with_threshold(support::THRESHOLD)
            .with_cooldown(support::COOLDOWN);
        let map = MapBreakers::new(MapConfig::default());
        map.check(MODEL).expect("a new model is closed"); // its entry exists from here on
        let count = FailureRate::new(Window::Count { size: 100 }, 50);
        let time = FailureRate::new(
            Window::Time {
                length: Duration::from_secs(60),
                buckets: 10,
            },
            50,
        )
        .with_slow_calls(SlowCalls::new(Duration::from_secs(5)));
        Self {
            count_window: CircuitBreaker::new(
                MODEL,
                config.clone().with_policy(TripPolicy::FailureRate(count)),
            ),
            time_window: CircuitBreaker::new(
                MODEL,
                config.clone().with_policy(TripPolicy::FailureRate(time)),
            ),
            ours: CircuitBreaker::new(MODEL, config),
            atomics: AtomicsBreaker::new(support::THRESHOLD, support::COOLDOWN),
            map,
            failsafe: support::failsafe(support::COOLDOWN),
            recloser: support::recloser(support::COOLDOWN),
        }
    }
}

/// Registers `op` as one call on a single thread.
fn on_one(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, op: impl Fn()) {
    group.bench_function(name, |b| b.iter(&op));
}

/// Registers `op` as one call on each of two threads at once (time per call on a thread).
fn on_two(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, op: impl Fn() + Sync) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| support::on_two_threads(iters, |_, _| op()))
    });
}

/// The same competitors, the same calls, registered by `register` (1 or 2 threads).
macro_rules! competitors {
    ($group:expr, $register:ident, $c:expr) => {{
        let c = $c;
        $register($group, support::EMPTY_LOOP, || support::empty_call(&()));
        $register($group, "ours: acquire + success", || {
            if let Ok(permit) = black_box(&c.ours).acquire() {
                permit.success();
            }
        });
        $register($group, "ours: call", || {
            let _ = black_box(black_box(&c.ours).call(|| Ok::<u32, ()>(black_box(1))));
        });
        $register($group, "ours: count window policy", || {
            if let Ok(permit) = black_box(&c.count_window).acquire() {
                permit.success();
            }
        });
        $register($group, "ours: time window + slow calls", || {
            if let Ok(permit) = black_box(&c.time_window).acquire() {
                permit.success();
            }
        });
        $register($group, "baseline: atomics (seed 000)", || {
            let breaker = black_box(&c.atomics);
            if breaker.is_allowed() {
                breaker.record_success();
            }
        });
        $register($group, "baseline: RwLock<HashMap> (seed 001)", || {
            let map = black_box(&c.map);
            let model = black_box(MODEL);
            if map.check(model).is_ok() {
                map.record_success(model);
            }
        });
        $register($group, "peer: failsafe 1.3", || {
            let breaker = black_box(&c.failsafe);
            if breaker.is_call_permitted() {
                breaker.on_success();
            }
        });
        $register($group, "peer: recloser 1.4", || {
            let _ = black_box(black_box(&c.recloser).call(|| Ok::<u32, ()>(black_box(1))));
        });
    }};
}

fn closed_call(criterion: &mut Criterion) {
    support::pin_to_cpu(0);
    let competitors = Competitors::new();

    let mut group = criterion.benchmark_group("closed call, 1 thread");
    competitors!(&mut group, on_one, &competitors);
    group.finish();

    let mut group = criterion.benchmark_group("closed call, 2 threads");
    competitors!(&mut group, on_two, &competitors);
    group.finish();

    assert!(competitors.ours.state() == breaker::CircuitState::Closed);
    assert!(!competitors.atomics.is_open());
}

criterion_group!(benches, closed_call);
criterion_main!(benches);
