//! `#[circuit_breaker]` against the same function guarded by hand with `acquire` / `success`
//! / `failure`: the attribute must cost nothing more (the target is in BENCHMARKS.md).
//!
//! `cargo bench --bench attribute`

use std::hint::black_box;
use std::sync::LazyLock;

use breaker::{BreakerConfig, CircuitBreaker, CircuitOpen, circuit_breaker};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/mod.rs"]
mod support;

#[derive(Debug)]
pub struct CallError;

impl From<CircuitOpen> for CallError {
    fn from(_: CircuitOpen) -> Self {
        CallError
    }
}

/// The work being guarded: small, so that the guard's cost shows.
#[inline(always)]
fn work(x: u64) -> Result<u64, CallError> {
    Ok(black_box(x).wrapping_mul(31).wrapping_add(7))
}

#[circuit_breaker(name = "bench::annotated")]
fn annotated(x: u64) -> Result<u64, CallError> {
    work(x)
}

static HAND_BREAKER: LazyLock<CircuitBreaker> =
    LazyLock::new(|| CircuitBreaker::new("bench::by_hand", BreakerConfig::default()));

/// What a careful person writes without the attribute: a breaker in a static, acquire,
/// run, report.
fn by_hand(x: u64) -> Result<u64, CallError> {
    let permit = HAND_BREAKER.acquire()?;
    let result = work(x);
    if result.is_ok() {
        permit.success();
    } else {
        permit.failure();
    }
    result
}

fn unguarded(x: u64) -> Result<u64, CallError> {
    work(x)
}

fn closed_call(c: &mut Criterion) {
    support::pin_to_cpu(0);
    let mut group = c.benchmark_group("closed call: attribute vs by hand");
    group.bench_function(support::EMPTY_LOOP, |b| b.iter(|| support::empty_call(&())));
    group.bench_function("reference: unguarded", |b| {
        b.iter(|| unguarded(black_box(1)))
    });
    group.bench_function("ours: by hand (acquire + success)", |b| {
        b.iter(|| by_hand(black_box(1)))
    });
    group.bench_function("ours: #[circuit_breaker]", |b| {
        b.iter(|| annotated(black_box(1)))
    });
    group.finish();
}

criterion_group!(benches, closed_call);
criterion_main!(benches);
