//! Open-state backoff, driven on a manual clock: the open duration grows with each opening
//! in a row up to its cap, starts again once the circuit closes, and jitter stays within
//! its bounds and repeats itself under a seed.

use std::time::Duration;

use breaker::{Backoff, Jitter};
use breaker::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Opens `breaker` (threshold 1) and returns how long it will stay open.
fn trip(breaker: &CircuitBreaker) -> Duration {
    breaker.acquire().unwrap().failure();
    assert_eq!(breaker.state(), CircuitState::Open);
    breaker.acquire().unwrap_err().retry_after().unwrap()
}

/// Waits out the opening, lets the probe fail, and returns the next open duration.
fn fail_probe(breaker: &CircuitBreaker, clock: &ManualClock, open_for: Duration) -> Duration {
    clock.advance(open_for - Duration::from_nanos(1));
    assert!(
        breaker.acquire().is_err(),
        "still open a nanosecond before the end"
    );
    clock.advance(Duration::from_nanos(1));
    let probe = breaker.acquire().expect("the opening is over: a probe");
    assert!(probe.is_probe());
    probe.failure();
    breaker.acquire().unwrap_err().retry_after().unwrap()
}

#[test]
fn exponential_backoff_grows_to_its_cap_and_resets_when_the_circuit_closes() {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(secs(10))
        .with_backoff(Backoff::Exponential {
            multiplier: 2.0,
            max: secs(35),
        });
    let breaker = CircuitBreaker::with_clock("search", config, clock.clone());

    let mut open_for = trip(&breaker);
    let mut sequence = vec![open_for];
    for _ in 0..3 {
        open_for = fail_probe(&breaker, &clock, open_for);
        sequence.push(open_for);
    }
    assert_eq!(sequence, [secs(10), secs(20), secs(35), secs(35)]);

    // A successful probe closes the circuit; the next opening starts from the cooldown.
    clock.advance(open_for);
    breaker.acquire().unwrap().success();
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(trip(&breaker), secs(10));
}

#[test]
fn fixed_backoff_is_the_cooldown_every_time() {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(secs(7));
    let breaker = CircuitBreaker::with_clock("fixed", config, clock.clone());
    let mut open_for = trip(&breaker);
    for _ in 0..3 {
        assert_eq!(open_for, secs(7));
        open_for = fail_probe(&breaker, &clock, open_for);
    }
}

/// The open durations of `openings` openings in a row.
fn durations(jitter: Jitter, seed: u64, openings: usize) -> Vec<Duration> {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(secs(10))
        .with_jitter(jitter)
        .with_jitter_seed(seed);
    let breaker = CircuitBreaker::with_clock("jittered", config, clock.clone());
    let mut open_for = trip(&breaker);
    let mut all = vec![open_for];
    for _ in 1..openings {
        open_for = fail_probe(&breaker, &clock, open_for.max(Duration::from_nanos(1)));
        all.push(open_for);
    }
    all
}

#[test]
fn jitter_stays_within_its_bounds_and_repeats_under_a_seed() {
    let equal = durations(Jitter::Equal, 42, 50);
    assert!(
        equal.iter().all(|d| *d >= secs(5) && *d <= secs(10)),
        "{equal:?}"
    );
    assert_eq!(
        equal,
        durations(Jitter::Equal, 42, 50),
        "same seed, same durations"
    );
    assert_ne!(
        equal,
        durations(Jitter::Equal, 43, 50),
        "another seed, other durations"
    );
    let distinct: std::collections::BTreeSet<_> = equal.iter().collect();
    assert!(distinct.len() > 40, "the durations are spread out");

    let full = durations(Jitter::Full, 7, 50);
    assert!(full.iter().all(|d| *d <= secs(10)), "{full:?}");
    assert!(
        full.iter().any(|d| *d < secs(5)),
        "full jitter goes below half: {full:?}"
    );
}
