//! The hot paths do not allocate: a call in Closed (acquire + success) and a call rejected
//! while Open, counted by a global allocator that tallies this thread's allocations.
//!
//! A test binary of its own, so that the count sees the breaker alone: no other test can
//! install a global `tracing` subscriber or `metrics` recorder whose handling of the
//! breaker's events would allocate on this thread.

use std::time::Duration;

use breaker::{BreakerConfig, CircuitBreaker, ManualClock};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations_in;

#[test]
fn closed_calls_and_open_rejections_do_not_allocate() {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(3)
        .with_cooldown(Duration::from_secs(30));
    let named_at_run_time = String::from("gpt-4o");
    let breakers = [
        CircuitBreaker::with_clock("static-name", config.clone(), clock.clone()),
        CircuitBreaker::with_clock(named_at_run_time, config, clock.clone()),
    ];
    for breaker in &breakers {
        // Warm up: the thread's counter slot and its arc-swap debt list are set up on its
        // first call and first failure.
        breaker.acquire().unwrap().failure();
        breaker.acquire().unwrap().success();

        let closed = allocations_in(|| {
            for _ in 0..10_000 {
                breaker.acquire().unwrap().success();
            }
            breaker.acquire().unwrap().failure();
            breaker.acquire().unwrap().success();
            drop(breaker.acquire().unwrap());
        });
        assert_eq!(closed, 0, "{}: allocations in Closed", breaker.name());

        for _ in 0..3 {
            breaker.acquire().unwrap().failure(); // the trip allocates the Open snapshot
        }
        let open = allocations_in(|| {
            for _ in 0..10_000 {
                let rejected = breaker.acquire().unwrap_err();
                assert!(rejected.retry_after().is_some());
            }
        });
        assert_eq!(open, 0, "{}: allocations in Open", breaker.name());
    }
}

/// Validating a configuration (each breaker built, each key of a keyed registry) allocates
/// nothing unless it refuses it.
#[test]
fn validating_a_config_does_not_allocate() {
    use breaker::{Backoff, Jitter};
    use breaker::{FailureRate, SlowCalls, TripPolicy, Window};

    let window = Window::Time {
        length: Duration::from_secs(60),
        buckets: 6,
    };
    let rate = FailureRate::new(window, 40).with_slow_calls(SlowCalls::new(Duration::from_secs(2)));
    let configs = [
        BreakerConfig::default(),
        BreakerConfig::default()
            .with_policy(TripPolicy::FailureRate(rate))
            .with_backoff(Backoff::exponential())
            .with_jitter(Jitter::Full)
            .with_jitter_seed(7),
    ];
    for config in &configs {
        let validated = allocations_in(|| assert!(config.validate().is_ok()));
        assert_eq!(validated, 0, "allocations validating {config:?}");
    }
}
