//! A breaker per model over 8 models, called round robin (admitted, then a success), from
//! 1 thread and from 2 threads at once: the `#[derive(CircuitBreakers)]` enum (a `match` and
//! an array index) against the `RwLock<HashMap<String, State>>` baseline (a write
//! lock and a `String` key per check, a write lock per report).
//!
//! Target: ours at least 15x faster than the RwLock-HashMap baseline, 1 and 2
//! threads.
//!
//! And `key = model`: a function under `#[circuit_breaker(key = model)]` over the derived
//! enum against the same call written by hand (`breakers.get(model).call(...)`), on one
//! thread. Target: within 1 ns of the hand-written call.
//!
//! `cargo bench --bench per_model`

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};

#[path = "baselines/mod.rs"]
mod baselines;
#[path = "support/mod.rs"]
mod support;

use baselines::rwlock_map::{MapBreakers, MapConfig};
use breaker::{CircuitOpen, circuit_breaker};
use support::{MODEL_NAMES, MODELS, Model, ModelBreakers, round_robin};

/// The error of the guarded calls below, which never fail.
#[derive(Debug)]
struct Unavailable;

impl From<CircuitOpen> for Unavailable {
    fn from(_: CircuitOpen) -> Self {
        Unavailable
    }
}

#[circuit_breaker(key = model)]
fn keyed_call(model: Model) -> Result<u32, Unavailable> {
    Ok(black_box(1))
}

/// Registers `op(i)`, the call of round `i`, on a single thread.
fn on_one(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, op: impl Fn(usize)) {
    group.bench_function(name, |b| {
        let mut i = 0u64;
        b.iter(|| {
            op(round_robin(0, i));
            i = i.wrapping_add(1);
        })
    });
}

/// Registers `op(i)` on each of two threads at once (time per call on a thread).
fn on_two(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, op: impl Fn(usize) + Sync) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            support::on_two_threads(iters, |thread, i| op(round_robin(thread, i)))
        })
    });
}

macro_rules! competitors {
    ($group:expr, $register:ident, $ours:expr, $map:expr) => {{
        let ours: &ModelBreakers = $ours;
        let map: &MapBreakers = $map;
        $register($group, support::EMPTY_LOOP, |i| {
            support::empty_call(&MODELS[i])
        });
        $register($group, "ours: #[derive(CircuitBreakers)]", |i| {
            let model = black_box(MODELS[i]);
            if let Ok(permit) = black_box(ours).get(model).acquire() {
                permit.success();
            }
        });
        $register($group, "baseline: RwLock<HashMap> (seed 001)", |i| {
            let model = black_box(MODEL_NAMES[i]);
            let map = black_box(map);
            if map.check(model).is_ok() {
                map.record_success(model);
            }
        });
    }};
}

fn per_model(criterion: &mut Criterion) {
    support::pin_to_cpu(0);
    let ours = ModelBreakers::new();
    let map = MapBreakers::new(MapConfig::default());
    for (model, name) in MODELS.into_iter().zip(MODEL_NAMES) {
        assert_eq!(ours.get(model).name().as_str(), name);
        map.check(name).expect("a new model is closed");
    }
    assert_eq!(map.len(), 8);

    let mut group = criterion.benchmark_group("per model (8, round robin), 1 thread");
    competitors!(&mut group, on_one, &ours, &map);
    group.finish();

    let mut group = criterion.benchmark_group("per model (8, round robin), 2 threads");
    competitors!(&mut group, on_two, &ours, &map);
    group.finish();
}

fn key_argument(criterion: &mut Criterion) {
    support::pin_to_cpu(0);
    let ours = ModelBreakers::new();
    let mut group = criterion.benchmark_group("key = model over the derived enum, 1 thread");
    on_one(&mut group, "by hand: breakers.get(model).call(...)", |i| {
        let model = black_box(MODELS[i]);
        let _ = black_box(
            black_box(&ours)
                .get(model)
                .call(|| Ok::<u32, ()>(black_box(1))),
        );
    });
    on_one(&mut group, "#[circuit_breaker(key = model)]", |i| {
        let model = black_box(MODELS[i]);
        let _ = black_box(keyed_call(model));
    });
    group.finish();
}

criterion_group!(benches, per_model, key_argument);
criterion_main!(benches);
