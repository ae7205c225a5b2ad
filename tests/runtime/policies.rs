//! The trip policies, half-open success threshold, ignored errors and the manual states,
//! each on a manual clock: exact trip points, bucket expiry, slow-call timing.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use breaker::{
    BreakerConfig, CircuitBreaker, CircuitState, FailureRate, IgnoredErrors, ManualClock,
    SlowCalls, TripPolicy, Window,
};

const SEC: Duration = Duration::from_secs(1);

fn breaker(config: BreakerConfig) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    (
        CircuitBreaker::with_clock("policies", config, clock.clone()),
        clock,
    )
}

fn rate(policy: FailureRate) -> BreakerConfig {
    BreakerConfig::default()
        .with_policy(TripPolicy::FailureRate(policy))
        .with_cooldown(Duration::from_secs(30))
}

/// One call reported as `ok`, in Closed.
fn call(breaker: &CircuitBreaker, ok: bool) {
    breaker.acquire().expect("admitted").report(ok);
}

#[test]
fn count_window_trips_on_the_sixth_call_of_s_f_s_f_s_f() {
    let policy = FailureRate::new(Window::Count { size: 10 }, 50).with_minimum_calls(5);
    let (breaker, _) = breaker(rate(policy));
    for (n, ok) in [true, false, true, false, true].into_iter().enumerate() {
        call(&breaker, ok);
        assert_eq!(
            breaker.state(),
            CircuitState::Closed,
            "after call {}",
            n + 1
        );
    }
    call(&breaker, false);
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn nothing_trips_below_the_minimum_of_calls() {
    let policy = FailureRate::new(Window::Count { size: 10 }, 50).with_minimum_calls(5);
    let (breaker, _) = breaker(rate(policy));
    for _ in 0..4 {
        call(&breaker, false);
    }
    assert_eq!(
        breaker.state(),
        CircuitState::Closed,
        "4 of 4 failed, minimum 5"
    );
    call(&breaker, false);
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn a_success_can_be_the_call_that_trips() {
    // 4 failures then a success: the fifth call reaches the minimum at 80%.
    let policy = FailureRate::new(Window::Count { size: 10 }, 50).with_minimum_calls(5);
    let (breaker, _) = breaker(rate(policy));
    for _ in 0..4 {
        call(&breaker, false);
    }
    call(&breaker, true);
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn old_failures_slide_out_of_a_count_window() {
    let policy = FailureRate::new(Window::Count { size: 4 }, 75);
    let (breaker, _) = breaker(rate(policy));
    // F F S S: 50%. S: the first F leaves (1 of 4). F, F: 1 then 2 of 4. The next F is
    // the third of the last four: 75%.
    for ok in [false, false, true, true, true, false, false] {
        call(&breaker, ok);
        assert_eq!(breaker.state(), CircuitState::Closed);
    }
    call(&breaker, false);
    assert_eq!(breaker.state(), CircuitState::Open);
    let metrics = breaker.metrics();
    assert_eq!(metrics.window, None, "an Open breaker has no window");
}

#[test]
fn the_window_starts_empty_each_time_the_circuit_closes() {
    let policy = FailureRate::new(Window::Count { size: 4 }, 50).with_minimum_calls(2);
    let (breaker, clock) = breaker(rate(policy));
    call(&breaker, false);
    call(&breaker, false);
    assert_eq!(breaker.state(), CircuitState::Open);
    clock.advance(Duration::from_secs(30));
    call(&breaker, true); // the probe closes it
    assert_eq!(breaker.state(), CircuitState::Closed);
    let window = breaker.metrics().window.expect("Closed with a window");
    assert_eq!((window.calls, window.failures), (0, 0));
    call(&breaker, false);
    assert_eq!(
        breaker.state(),
        CircuitState::Closed,
        "1 call: below the minimum"
    );
}

#[test]
fn time_window_buckets_expire() {
    // 10 s in 5 buckets of 2 s; 50% over at least 4 calls.
    let window = Window::Time {
        length: Duration::from_secs(10),
        buckets: 5,
    };
    let policy = FailureRate::new(window, 50).with_minimum_calls(4);
    let (breaker, clock) = breaker(rate(policy));
    call(&breaker, false); // t = 0
    call(&breaker, false);
    clock.advance(10 * SEC); // the first bucket [0, 2 s) has left the window
    call(&breaker, true);
    call(&breaker, true);
    call(&breaker, false);
    let counts = breaker.metrics().window.unwrap();
    assert_eq!((counts.calls, counts.failures), (3, 1));
    assert_eq!(breaker.state(), CircuitState::Closed);
    call(&breaker, false); // 2 of 4
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn time_window_keeps_calls_until_their_bucket_leaves() {
    let window = Window::Time {
        length: Duration::from_secs(10),
        buckets: 5,
    };
    let policy = FailureRate::new(window, 50).with_minimum_calls(2);
    let (breaker, clock) = breaker(rate(policy));
    clock.advance(SEC);
    call(&breaker, false); // bucket [0, 2 s)
    clock.advance(8 * SEC + SEC / 2); // 9.5 s: still in the window
    assert_eq!(breaker.metrics().window.unwrap().failures, 1);
    call(&breaker, false);
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn slow_calls_trip_at_their_rate() {
    let policy = FailureRate::new(Window::Count { size: 4 }, 100)
        .with_slow_calls(SlowCalls::new(2 * SEC).with_rate(50));
    let (breaker, clock) = breaker(rate(policy));
    let timed = |took: Duration| {
        let permit = breaker.acquire().unwrap();
        clock.advance(took);
        permit.success();
    };
    timed(SEC);
    timed(2 * SEC); // exactly the duration: not slow
    timed(3 * SEC); // slow: 1 of 3
    assert_eq!(breaker.state(), CircuitState::Closed);
    timed(5 * SEC); // slow: 2 of 4 = 50%
    assert_eq!(breaker.state(), CircuitState::Open);
    let metrics = breaker.metrics();
    assert_eq!((metrics.slow, metrics.succeeded, metrics.failed), (2, 4, 0));
}

#[test]
fn failures_and_slow_calls_trip_on_their_own_rates() {
    let policy = FailureRate::new(Window::Count { size: 4 }, 50)
        .with_slow_calls(SlowCalls::new(SEC).with_rate(75));
    let (breaker, clock) = breaker(rate(policy));
    // A slow failure counts in both rates.
    let permit = breaker.acquire().unwrap();
    clock.advance(2 * SEC);
    permit.failure();
    call(&breaker, true);
    call(&breaker, true);
    assert_eq!(breaker.state(), CircuitState::Closed); // 1 of 3 failed, 1 of 3 slow
    call(&breaker, false); // 2 of 4 failed
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn a_slow_probe_reopens_the_circuit() {
    let policy =
        FailureRate::new(Window::Count { size: 2 }, 50).with_slow_calls(SlowCalls::new(SEC));
    let (breaker, clock) = breaker(rate(policy));
    call(&breaker, false);
    call(&breaker, false);
    assert_eq!(breaker.state(), CircuitState::Open);
    clock.advance(Duration::from_secs(30));
    let probe = breaker.acquire().unwrap();
    assert!(probe.is_probe());
    clock.advance(2 * SEC);
    probe.success();
    assert_eq!(
        breaker.state(),
        CircuitState::Open,
        "a slow success is no recovery"
    );
    clock.advance(Duration::from_secs(30));
    breaker.acquire().unwrap().success();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn success_threshold_needs_that_many_probes() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_success_threshold(3);
    let (breaker, clock) = breaker(config);
    call(&breaker, false);
    clock.advance(Duration::from_secs(30));
    for n in 1..=2 {
        let probe = breaker.acquire().expect("a probe slot is free");
        assert!(probe.is_probe());
        assert!(breaker.acquire().is_err(), "one probe at a time");
        probe.success();
        assert_eq!(
            breaker.state(),
            CircuitState::HalfOpen,
            "after {n} successes"
        );
    }
    breaker.acquire().unwrap().success();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_failed_probe_short_of_the_success_threshold_reopens() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_success_threshold(2)
        .with_half_open_max(2);
    let (breaker, clock) = breaker(config);
    call(&breaker, false);
    clock.advance(Duration::from_secs(30));
    let first = breaker.acquire().unwrap();
    let second = breaker.acquire().unwrap();
    first.success();
    second.failure();
    assert_eq!(breaker.state(), CircuitState::Open);
    // The next HalfOpen counts its successes from zero.
    clock.advance(Duration::from_secs(30));
    breaker.acquire().unwrap().success();
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    breaker.acquire().unwrap().success();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn ignored_errors_count_as_neither_by_default() {
    let (breaker, clock) = breaker(BreakerConfig::default().with_threshold(2));
    call(&breaker, false);
    breaker.acquire().unwrap().ignore();
    assert_eq!(breaker.metrics().consecutive_failures, 1, "not reset");
    call(&breaker, false);
    assert_eq!(breaker.state(), CircuitState::Open);
    // An ignored probe gives its slot back and decides nothing.
    clock.advance(Duration::from_secs(30));
    breaker.acquire().unwrap().ignore();
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    breaker.acquire().expect("the slot is free again").success();
    assert_eq!(breaker.state(), CircuitState::Closed);
    let metrics = breaker.metrics();
    assert_eq!((metrics.ignored, metrics.abandoned), (2, 0));
}

#[test]
fn ignored_errors_can_count_as_successes() {
    let config = BreakerConfig::default()
        .with_threshold(2)
        .with_ignored_errors(IgnoredErrors::Success);
    let (breaker, clock) = breaker(config);
    call(&breaker, false);
    breaker.acquire().unwrap().ignore();
    assert_eq!(breaker.metrics().consecutive_failures, 0, "reset");
    call(&breaker, false);
    call(&breaker, false);
    clock.advance(Duration::from_secs(30));
    breaker.acquire().unwrap().ignore();
    assert_eq!(
        breaker.state(),
        CircuitState::Closed,
        "an ignored probe closes"
    );
}

#[test]
fn ignored_errors_are_not_recorded_in_a_window() {
    let policy = FailureRate::new(Window::Count { size: 2 }, 50);
    let (breaker, _) = breaker(rate(policy));
    call(&breaker, false);
    breaker.acquire().unwrap().ignore();
    assert_eq!(breaker.metrics().window.unwrap().calls, 1);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_windowed_report_from_an_earlier_generation_is_stale() {
    let policy = FailureRate::new(Window::Count { size: 2 }, 50).with_minimum_calls(1);
    let (breaker, _) = breaker(rate(policy));
    let late = breaker.acquire().unwrap();
    breaker.reset(); // a new Closed generation, with a new window
    late.failure();
    assert_eq!(breaker.state(), CircuitState::Closed);
    let metrics = breaker.metrics();
    assert_eq!(metrics.stale_reports, 1);
    assert_eq!(metrics.window.unwrap().calls, 0);
}

#[test]
fn exactly_one_transition_when_many_threads_reach_the_rate_at_once() {
    for _ in 0..200 {
        let policy = FailureRate::new(Window::Count { size: 8 }, 50);
        let (breaker, _) = breaker(rate(policy));
        let transitions = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&transitions);
        breaker.on_transition(move |change| {
            if change.to == CircuitState::Open {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        });
        // 7 calls in, 3 failed: each of 8 racing failures would reach the rate.
        for ok in [true, true, true, true, false, false, false] {
            call(&breaker, ok);
        }
        let permits: Vec<_> = (0..8).map(|_| breaker.acquire().unwrap()).collect();
        let gate = Barrier::new(permits.len());
        std::thread::scope(|scope| {
            for permit in permits {
                let gate = &gate;
                scope.spawn(move || {
                    gate.wait();
                    permit.failure();
                });
            }
        });
        assert_eq!(breaker.state(), CircuitState::Open);
        assert_eq!(transitions.load(Ordering::Relaxed), 1);
    }
}

#[test]
fn metrics_only_counts_slow_calls_and_never_rejects() {
    let policy =
        FailureRate::new(Window::Count { size: 2 }, 50).with_slow_calls(SlowCalls::new(SEC));
    let (breaker, clock) = breaker(rate(policy));
    breaker.metrics_only();
    for _ in 0..5 {
        let permit = breaker.acquire().expect("never rejects");
        clock.advance(2 * SEC);
        permit.failure();
    }
    let metrics = breaker.metrics();
    assert_eq!(metrics.state, CircuitState::MetricsOnly);
    assert_eq!((metrics.failed, metrics.slow), (5, 5));
}

#[test]
fn config_file_selects_the_policy() {
    let config: BreakerConfig = toml::from_str(
        r#"
        window = "1m"
        window_buckets = 6
        failure_rate = 25
        minimum_calls = 20
        slow_call_duration = "5s"
        slow_call_rate = 80
        success_threshold = 2
        ignored_errors = "success"
        "#,
    )
    .unwrap();
    let expected = FailureRate::new(
        Window::Time {
            length: Duration::from_secs(60),
            buckets: 6,
        },
        25,
    )
    .with_minimum_calls(20)
    .with_slow_calls(SlowCalls::new(5 * SEC).with_rate(80));
    assert_eq!(config.policy, TripPolicy::FailureRate(expected));
    assert_eq!(config.success_threshold, 2);
    assert_eq!(config.ignored_errors, IgnoredErrors::Success);
    let again: BreakerConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
    assert_eq!(again, config);
}

/// A call of any length is measured whole: one longer than the clock's wrap of a packed
/// start (hours) is still slow against a slow-call duration of an hour.
#[test]
fn calls_of_hours_are_measured_whole() {
    const HOUR: Duration = Duration::from_secs(3_600);
    let policy = FailureRate::new(Window::Count { size: 2 }, 100)
        .with_minimum_calls(1)
        .with_slow_calls(SlowCalls::new(HOUR).with_rate(100));
    let (breaker, clock) = breaker(rate(policy));
    // In Closed: a three-hour call is slow, and trips at a 100% slow rate.
    let permit = breaker.acquire().unwrap();
    clock.advance(3 * HOUR);
    permit.success();
    assert_eq!(breaker.metrics().slow, 1, "three hours is slower than one");
    assert_eq!(breaker.state(), CircuitState::Open);

    // As a probe: a three-hour success is slow, so it reopens the circuit.
    clock.advance(Duration::from_secs(30));
    let probe = breaker.acquire().unwrap();
    assert!(probe.is_probe());
    clock.advance(3 * HOUR);
    probe.success();
    assert_eq!(breaker.state(), CircuitState::Open, "a slow probe reopens");
    assert_eq!(breaker.metrics().slow, 2);

    // Hundreds of days are measured too.
    clock.advance(Duration::from_secs(60));
    let probe = breaker.acquire().unwrap();
    clock.advance(400 * 24 * HOUR);
    probe.success();
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(breaker.metrics().slow, 3);
}
