//! The behaviours of the two breakers this crate replaces (oxios-kernel 0.3.0 and awaken-runtime
//! 0.4.0), kept: each of their tests,
//! rewritten against `CircuitBreaker` with a manual clock instead of sleeps.

use std::time::Duration;

use breaker::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock};

fn breaker(
    name: &'static str,
    threshold: u32,
    cooldown: Duration,
    half_open_max: u32,
) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(threshold)
        .with_cooldown(cooldown)
        .with_half_open_max(half_open_max);
    (
        CircuitBreaker::with_clock(name, config, clock.clone()),
        clock,
    )
}

fn fail(breaker: &CircuitBreaker, times: u32) {
    for _ in 0..times {
        breaker.acquire().expect("admitted").failure();
    }
}

const COOLDOWN: Duration = Duration::from_secs(30);

#[test]
fn starts_closed_and_admits() {
    let (b, _) = breaker("m", 5, COOLDOWN, 1);
    assert_eq!(b.state(), CircuitState::Closed);
    assert!(b.acquire().is_ok());
}

#[test]
fn opens_after_threshold_consecutive_failures() {
    let (b, _) = breaker("m", 3, COOLDOWN, 1);
    fail(&b, 2);
    assert_eq!(b.state(), CircuitState::Closed);
    assert!(b.acquire().is_ok(), "below the threshold: still closed");
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Open);
    assert!(b.acquire().is_err());
}

#[test]
fn opens_exactly_at_the_threshold_for_every_threshold() {
    for threshold in 1..20 {
        for failures in 0..30 {
            let (b, _) = breaker("m", threshold, COOLDOWN, 1);
            fail(&b, failures.min(threshold));
            let open = b.acquire().is_err();
            assert_eq!(
                open,
                failures >= threshold,
                "threshold {threshold}, failures {failures}"
            );
        }
    }
}

#[test]
fn a_success_resets_the_failure_count() {
    let (b, _) = breaker("m", 3, COOLDOWN, 1);
    fail(&b, 2);
    b.acquire().unwrap().success();
    fail(&b, 2);
    assert_eq!(
        b.state(),
        CircuitState::Closed,
        "only 2 consecutive failures since the success"
    );
    assert_eq!(b.metrics().consecutive_failures, 2);
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Open);
}

#[test]
fn open_rejects_until_the_cooldown_has_passed() {
    let (b, clock) = breaker("m", 1, COOLDOWN, 1);
    fail(&b, 1);
    clock.advance(COOLDOWN - Duration::from_millis(1));
    let rejected = b.acquire().unwrap_err();
    assert_eq!(rejected.retry_after(), Some(Duration::from_millis(1)));
    assert_eq!(b.state(), CircuitState::Open);
    clock.advance(Duration::from_millis(1));
    let probe = b
        .acquire()
        .expect("the first call after the cooldown is a probe");
    assert!(probe.is_probe());
    assert_eq!(b.state(), CircuitState::HalfOpen);
    probe.success();
}

#[test]
fn half_open_admits_a_single_probe() {
    let (b, clock) = breaker("m", 1, COOLDOWN, 1);
    fail(&b, 1);
    clock.advance(COOLDOWN);
    let probe = b.acquire().unwrap();
    assert!(b.acquire().is_err(), "second probe blocked");
    assert!(b.acquire().is_err(), "third probe blocked");
    assert_eq!(b.state(), CircuitState::HalfOpen);
    drop(probe);
}

#[test]
fn half_open_admits_up_to_half_open_max_probes() {
    let (b, clock) = breaker("m", 2, COOLDOWN, 3);
    fail(&b, 2);
    assert!(b.acquire().is_err());
    clock.advance(COOLDOWN);
    let probes: Vec<_> = (0..3).map(|_| b.acquire().expect("probe")).collect();
    assert!(probes.iter().all(|p| p.is_probe()));
    assert!(b.acquire().is_err(), "a fourth probe is blocked");
    assert_eq!(b.metrics().probes_in_flight, 3);
    // The first success closes the circuit; the other probes' reports are stale.
    let mut probes = probes.into_iter();
    probes.next().unwrap().success();
    assert_eq!(b.state(), CircuitState::Closed);
    for probe in probes {
        probe.failure();
    }
    assert_eq!(b.state(), CircuitState::Closed);
    assert_eq!(b.metrics().stale_reports, 2);
}

#[test]
fn a_failed_probe_reopens_with_a_fresh_cooldown() {
    let (b, clock) = breaker("m", 1, COOLDOWN, 1);
    fail(&b, 1);
    clock.advance(COOLDOWN);
    b.acquire().unwrap().failure();
    assert_eq!(b.state(), CircuitState::Open);
    let rejected = b.acquire().unwrap_err();
    assert_eq!(
        rejected.retry_after(),
        Some(COOLDOWN),
        "the cooldown starts again"
    );
    clock.advance(COOLDOWN);
    assert!(b.acquire().unwrap().is_probe());
}

#[test]
fn a_successful_probe_closes_the_circuit() {
    let (b, clock) = breaker("m", 1, COOLDOWN, 1);
    fail(&b, 1);
    clock.advance(COOLDOWN);
    b.acquire().unwrap().success();
    assert_eq!(b.state(), CircuitState::Closed);
    for _ in 0..10 {
        b.acquire().expect("closed: every call admitted").success();
    }
    // And the count starts from zero.
    assert_eq!(b.metrics().consecutive_failures, 0);
}

#[test]
fn breakers_of_different_models_are_independent() {
    let clock = ManualClock::new();
    let config = BreakerConfig::default().with_threshold(3);
    let models = ["gpt-4o", "claude-sonnet", "llama"];
    let breakers = models.map(|m| CircuitBreaker::with_clock(m, config.clone(), clock.clone()));
    fail(&breakers[0], 3);
    fail(&breakers[1], 2);
    assert_eq!(breakers[0].state(), CircuitState::Open);
    assert_eq!(breakers[1].state(), CircuitState::Closed);
    assert_eq!(breakers[2].state(), CircuitState::Closed);
    assert!(breakers[0].acquire().is_err());
    assert!(breakers[1].acquire().is_ok());
    assert!(breakers[2].acquire().is_ok());
    assert_eq!(breakers[1].metrics().consecutive_failures, 2);
    assert_eq!(breakers[2].metrics().admitted, 1);
}

#[test]
fn defaults_are_5_failures_30_seconds_one_probe() {
    let config = BreakerConfig::default();
    assert_eq!(config.threshold, 5);
    assert_eq!(config.cooldown, Duration::from_secs(30));
    assert_eq!(config.half_open_max, 1);

    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock("m", BreakerConfig::default(), clock.clone());
    fail(&b, 4);
    assert_eq!(b.state(), CircuitState::Closed);
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Open);
    clock.advance(Duration::from_secs(29));
    assert!(b.acquire().is_err());
    clock.advance(Duration::from_secs(1));
    let _probe = b.acquire().unwrap();
    assert!(b.acquire().is_err());
}

#[test]
fn the_rejection_names_the_model_and_says_circuit_breaker() {
    let (b, clock) = breaker("gpt-4o", 3, COOLDOWN, 1);
    fail(&b, 3);
    clock.advance(Duration::from_secs(12));
    let err = b.acquire().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("gpt-4o"),
        "error should mention the model: {msg}"
    );
    assert!(
        msg.contains("circuit breaker"),
        "error should mention circuit breaker: {msg}"
    );
    assert_eq!(err.name(), "gpt-4o");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(18)));
    assert_eq!(
        msg,
        "circuit breaker `gpt-4o` is open: next probe allowed in 18s"
    );

    // The same through `call`, with the caller's error type untouched.
    let err = b.call(|| Ok::<(), std::io::Error>(())).unwrap_err();
    assert!(err.is_open());
    assert!(err.to_string().contains("circuit breaker `gpt-4o`"));
}

#[test]
fn a_name_built_at_run_time_works_too() {
    let model = String::from("mistral-large");
    let b = CircuitBreaker::new(
        format!("{model}@eu"),
        BreakerConfig::default().with_threshold(1),
    );
    b.acquire().unwrap().failure();
    assert!(
        b.acquire()
            .unwrap_err()
            .to_string()
            .contains("`mistral-large@eu`")
    );
}
