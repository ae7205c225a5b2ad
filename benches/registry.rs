//! Breakers looked up by a string key among 8, 1,000 and 10,000 keys, called round robin
//! (admitted, then a success), on one thread: the keyed registry against the enum path (the
//! `#[derive(CircuitBreakers)]` enum over its 8 variants, no key to look up), with the
//! `RwLock<HashMap<String, State>>` baseline at the same sizes for reference, and the
//! floor of any hashed lookup: a plain `std` `HashMap` (hashbrown, the same foldhash), with
//! no pin, no recency and no eviction. Then at 8 and 10,000 keys on two threads at once
//! (half a lap apart): the registry, and the same `std` `HashMap` read by both threads.
//!
//! Targets: the registry at 10,000 keys at most 3x the enum path; the registry within 1.5x
//! of the 1-thread `std` `HashMap` floor at 8 and 10,000 keys, on 1 and 2 threads.
//!
//! `cargo bench --bench registry`

use std::hint::black_box;

use std::collections::HashMap;
use std::sync::Arc;

use breaker::KeyedRegistry;
use breaker::{BreakerConfig, CircuitBreaker};
use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};

#[path = "baselines/mod.rs"]
mod baselines;
#[path = "support/mod.rs"]
mod support;

use baselines::rwlock_map::{MapBreakers, MapConfig};
use support::{MODELS, ModelBreakers, round_robin};

/// Every competitor's settings: 5 consecutive failures, 30 s open.
fn config() -> BreakerConfig {
    BreakerConfig::default()
        .with_threshold(support::THRESHOLD)
        .with_cooldown(support::COOLDOWN)
}

/// The key counts measured.
const SIZES: [usize; 3] = [8, 1_000, 10_000];

/// `n` distinct keys, as a service keyed by tenant and model would have.
fn keys(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("tenant-{:05}/model-{}", i / 8, i % 8))
        .collect()
}

fn registry(criterion: &mut Criterion) {
    support::pin_to_cpu(0);
    let mut group = criterion.benchmark_group("registry");

    // The cheaper of the group's two loops (the enum path's and `in_turn`'s over 8 keys).
    let few_keys = keys(SIZES[0]);
    group.bench_function(support::EMPTY_LOOP, |b| {
        in_turn(b, &few_keys, |key| support::empty_call(&key))
    });

    let ours = ModelBreakers::new();
    group.bench_function("ours: enum path (8 variants)", |b| {
        let mut i = 0u64;
        b.iter(|| {
            let model = black_box(MODELS[round_robin(0, i)]);
            if let Ok(permit) = black_box(&ours).get(model).acquire() {
                permit.success();
            }
            i = i.wrapping_add(1);
        })
    });

    for size in SIZES {
        let keys = keys(size);
        bench_registry(&mut group, &keys);
        bench_floor(&mut group, &keys);

        let map = MapBreakers::new(MapConfig::default());
        for key in &keys {
            map.check(key).expect("a new key is closed");
        }
        assert_eq!(map.len(), size);
        group.bench_with_input(
            BenchmarkId::new("baseline: RwLock<HashMap> (seed 001)", size),
            &keys,
            |b, keys| {
                in_turn(b, keys, |key| {
                    let map = black_box(&map);
                    if map.check(key).is_ok() {
                        map.record_success(key);
                    }
                })
            },
        );
    }
    group.finish();
}

/// The floor's map: a `std` `HashMap` from the key to its breaker, with the same hasher.
type Floor = HashMap<Box<str>, CircuitBreaker, foldhash::fast::RandomState>;

fn floor_map(keys: &[String]) -> Floor {
    let mut map = Floor::default();
    for key in keys {
        map.insert(
            key.as_str().into(),
            CircuitBreaker::new(key.clone(), config()),
        );
    }
    map
}

/// A call through the floor: what any hashed lookup of these keys costs here.
#[inline(always)]
fn floor_call(map: &Floor, key: &str) {
    let breaker = black_box(map).get(key).expect("every key is in");
    if let Ok(permit) = breaker.acquire() {
        permit.success();
    }
}

/// The floor: a `std` `HashMap` from the key to its breaker, read by one thread, looked up
/// by `&str` with the same hasher; what any hashed lookup of these keys costs here.
fn bench_floor(group: &mut BenchmarkGroup<'_, WallTime>, keys: &[String]) {
    let map = floor_map(keys);
    group.bench_with_input(
        BenchmarkId::new(
            "reference: std HashMap, 1 thread, no pin or eviction",
            keys.len(),
        ),
        keys,
        |b, keys| in_turn(b, keys, |key| floor_call(&map, key)),
    );
}

/// Ours: a `KeyedRegistry<Arc<str>>` holding a breaker per key, looked up by `&str` on every call
/// the ways its docs show: `registry.get_or_insert(key).acquire()` (two nested pins, as the
/// permit may outlive the reference), `registry.acquire(key)` (one pin), and through a pinned
/// view held for the whole measurement (no pin per call).
fn bench_registry(group: &mut BenchmarkGroup<'_, WallTime>, keys: &[String]) {
    let size = keys.len();
    let registry: KeyedRegistry<Arc<str>> = KeyedRegistry::new(size, config());
    for key in keys {
        registry
            .get_or_insert(key.as_str())
            .acquire()
            .expect("a new key is closed")
            .success();
    }
    assert_eq!(registry.len(), size);

    group.bench_with_input(
        BenchmarkId::new("ours: Registry get_or_insert", size),
        keys,
        |b, keys| {
            in_turn(b, keys, |key| {
                if let Ok(permit) = black_box(&registry).get_or_insert(key).acquire() {
                    permit.success();
                }
            })
        },
    );
    group.bench_with_input(
        BenchmarkId::new("ours: Registry acquire", size),
        keys,
        |b, keys| {
            in_turn(b, keys, |key| {
                if let Ok(permit) = black_box(&registry).acquire(key) {
                    permit.success();
                }
            })
        },
    );
    group.bench_with_input(
        BenchmarkId::new("ours: Registry pinned", size),
        keys,
        |b, keys| {
            let pinned = registry.pin();
            in_turn(b, keys, |key| {
                if let Ok(permit) = black_box(&pinned).get_or_insert(key).acquire() {
                    permit.success();
                }
            })
        },
    );
    assert_eq!(registry.len(), size, "no key was added or evicted");
}

/// Measures `call` on each key in turn, round robin.
fn in_turn(b: &mut Bencher<'_, WallTime>, keys: &[String], mut call: impl FnMut(&str)) {
    let mut i = 0;
    b.iter(|| {
        call(black_box(keys[i].as_str()));
        i += 1;
        if i == keys.len() {
            i = 0;
        }
    })
}

/// The key of call `i` on `thread` of two: round robin, the second thread half a lap ahead.
fn key_of(keys: &[String], thread: usize, i: u64) -> &str {
    keys[(i as usize + thread * keys.len() / 2) % keys.len()].as_str()
}

/// At 8 and 10,000 keys, each of two threads calling round robin at once: the time per call
/// on a thread (see `support::on_two_threads`).
fn registry_two_threads(criterion: &mut Criterion) {
    support::pin_to_cpu(0);
    let mut group = criterion.benchmark_group("registry, 2 threads");
    // The group's loop over 8 keys on two threads, with nothing looked up or called.
    let few_keys = keys(8);
    group.bench_function(support::EMPTY_LOOP, |b| {
        b.iter_custom(|iters| {
            support::on_two_threads(iters, |t, i| support::empty_call(&key_of(&few_keys, t, i)))
        })
    });
    for size in [8, 10_000] {
        let keys = keys(size);
        let map = floor_map(&keys);
        group.bench_with_input(
            BenchmarkId::new("reference: std HashMap read by 2 threads", size),
            &keys,
            |b, keys| {
                b.iter_custom(|iters| {
                    support::on_two_threads(iters, |t, i| {
                        floor_call(&map, black_box(key_of(keys, t, i)))
                    })
                })
            },
        );
        let registry: KeyedRegistry<Arc<str>> = KeyedRegistry::new(size, config());
        for key in &keys {
            registry
                .acquire(key.as_str())
                .expect("a new key is closed")
                .success();
        }
        group.bench_with_input(
            BenchmarkId::new("ours: Registry get_or_insert", size),
            &keys,
            |b, keys| {
                b.iter_custom(|iters| {
                    support::on_two_threads(iters, |t, i| {
                        let key = black_box(key_of(keys, t, i));
                        if let Ok(permit) = black_box(&registry).get_or_insert(key).acquire() {
                            permit.success();
                        }
                    })
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("ours: Registry acquire", size),
            &keys,
            |b, keys| {
                b.iter_custom(|iters| {
                    support::on_two_threads(iters, |t, i| {
                        if let Ok(permit) =
                            black_box(&registry).acquire(black_box(key_of(keys, t, i)))
                        {
                            permit.success();
                        }
                    })
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("ours: Registry pinned", size),
            &keys,
            |b, keys| {
                b.iter_custom(|iters| {
                    support::on_two_threads_with(
                        iters,
                        |_| registry.pin(),
                        |pinned, t, i| {
                            let key = black_box(key_of(keys, t, i));
                            if let Ok(permit) = black_box(pinned).get_or_insert(key).acquire() {
                                permit.success();
                            }
                        },
                    )
                })
            },
        );
        assert_eq!(registry.len(), size, "no key was added or evicted");
    }
    group.finish();
}

criterion_group!(benches, registry, registry_two_threads);
criterion_main!(benches);
