//! The rate-limit gate and the deadlines a failing remote announces, on a manual clock:
//! each rule of [`Verdict::RateLimited`] and [`Verdict::DownFor`].

use std::time::Duration;

use breaker::{
    Backoff, BreakerConfig, CircuitBreaker, CircuitState, CredentialErrors, ManualClock, Verdict,
};

const SEC: Duration = Duration::from_secs(1);

fn breaker(config: BreakerConfig) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    (
        CircuitBreaker::with_clock("gpt-4o", config, clock.clone()),
        clock,
    )
}

fn rate_limited(breaker: &CircuitBreaker, after: Option<Duration>) {
    breaker
        .acquire()
        .expect("admitted")
        .verdict(Verdict::RateLimited(after));
}

/// The time left a rate-limited rejection gives, or why the call was not one.
fn gate_left(breaker: &CircuitBreaker) -> Duration {
    match breaker.acquire() {
        Ok(_) => panic!("admitted: the gate is open"),
        Err(open) => {
            assert!(open.is_rate_limited(), "not a rate limit: {open}");
            open.retry_after().expect("a rate limit has a deadline")
        }
    }
}

#[test]
fn a_rate_limited_rejection_carries_the_exact_time_left() {
    let (breaker, clock) = breaker(BreakerConfig::default());
    rate_limited(&breaker, Some(Duration::from_millis(6_500)));
    assert_eq!(gate_left(&breaker), Duration::from_millis(6_500));
    clock.advance(Duration::from_millis(2_250));
    let open = breaker.acquire().unwrap_err();
    assert!(open.is_rate_limited());
    assert_eq!(open.state(), CircuitState::Closed);
    assert_eq!(open.retry_after(), Some(Duration::from_millis(4_250)));
    assert_eq!(
        open.to_string(),
        "circuit breaker `gpt-4o` holds calls back: the remote rate-limited them; \
         next call allowed in 4s 250ms"
    );
    clock.advance(Duration::from_millis(4_249));
    assert_eq!(gate_left(&breaker), Duration::from_millis(1));
    clock.advance(Duration::from_millis(1));
    breaker
        .acquire()
        .expect("the deadline has passed")
        .success();
    let metrics = breaker.metrics();
    assert_eq!(metrics.rate_limited, 1);
    assert_eq!(metrics.rejected_rate_limited, 3);
    assert_eq!(metrics.rejected, 3);
    assert_eq!(breaker.in_flight(), 0);
}

#[test]
fn a_deadline_only_moves_later() {
    let (breaker, clock) = breaker(BreakerConfig::default());
    // Two calls in flight when the remote starts rate-limiting.
    let first = breaker.acquire().unwrap();
    let second = breaker.acquire().unwrap();
    let third = breaker.acquire().unwrap();
    first.rate_limited(Some(10 * SEC));
    clock.advance(SEC);
    // A shorter Retry-After arriving later does not shorten the wait...
    second.rate_limited(Some(2 * SEC));
    assert_eq!(gate_left(&breaker), 9 * SEC);
    // ...a longer one extends it.
    third.rate_limited(Some(30 * SEC));
    assert_eq!(gate_left(&breaker), 30 * SEC);
    clock.advance(30 * SEC);
    let permit = breaker
        .acquire()
        .expect("admitted after the latest deadline");
    assert_eq!(breaker.in_flight(), 1, "rate-limited calls have ended");
    permit.success();
}

#[test]
fn a_rate_limit_is_never_a_failure() {
    let config = BreakerConfig::default().with_threshold(2);
    let (breaker, clock) = breaker(config);
    for _ in 0..10 {
        rate_limited(&breaker, Some(SEC));
        clock.advance(SEC);
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.metrics().failed, 0);
    // Nor a success: it does not forget the failures counted before it.
    breaker.acquire().unwrap().failure();
    rate_limited(&breaker, Some(SEC));
    clock.advance(SEC);
    assert_eq!(breaker.metrics().consecutive_failures, 1);
    breaker.acquire().unwrap().failure();
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn a_rate_limit_never_feeds_the_window() {
    let config = BreakerConfig::default().with_policy(breaker::TripPolicy::FailureRate(
        breaker::FailureRate::new(breaker::Window::Count { size: 4 }, 50),
    ));
    let (breaker, clock) = breaker(config);
    for _ in 0..8 {
        rate_limited(&breaker, Some(SEC));
        clock.advance(SEC);
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.metrics().window.unwrap().calls, 0);
}

#[test]
fn a_probe_rate_limited_frees_its_slot_and_decides_nothing() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(10 * SEC)
        .with_backoff(Backoff::Exponential {
            multiplier: 2.0,
            max: Duration::from_secs(600),
        });
    let (breaker, clock) = breaker(config);
    breaker.acquire().unwrap().failure();
    clock.advance(10 * SEC);
    let probe = breaker.acquire().unwrap();
    assert!(probe.is_probe());
    let generation = breaker.generation();
    probe.rate_limited(Some(5 * SEC));
    // Still HalfOpen, same generation, the slot free: the outage is undecided.
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    assert_eq!(breaker.generation(), generation);
    assert_eq!(breaker.metrics().probes_in_flight, 0);
    // The gate holds the next probe back until the remote's deadline.
    assert_eq!(gate_left(&breaker), 5 * SEC);
    assert_eq!(
        breaker.acquire().unwrap_err().state(),
        CircuitState::HalfOpen
    );
    clock.advance(5 * SEC);
    let probe = breaker
        .acquire()
        .expect("the next probe, after the deadline");
    assert!(probe.is_probe());
    probe.failure();
    // The second opening in a row: 20 s. The rate limit was not an opening.
    assert_eq!(breaker.acquire().unwrap_err().retry_after(), Some(20 * SEC));
}

#[test]
fn no_delay_given_takes_the_configured_default() {
    let config = BreakerConfig::default().with_rate_limit_delay(3 * SEC);
    let (breaker, _clock) = breaker(config);
    rate_limited(&breaker, None);
    assert_eq!(gate_left(&breaker), 3 * SEC);

    let default = BreakerConfig::default();
    assert_eq!(default.rate_limit_delay, 5 * SEC);
    let (breaker, _clock) = self::breaker(default);
    breaker.acquire().unwrap().rate_limited(None);
    assert_eq!(gate_left(&breaker), 5 * SEC);

    // Zero: a rate limit without a delay is counted and holds nothing back.
    let (breaker, _clock) =
        self::breaker(BreakerConfig::default().with_rate_limit_delay(Duration::ZERO));
    rate_limited(&breaker, None);
    assert!(breaker.acquire().is_ok());
    assert_eq!(breaker.metrics().rate_limited, 1);
}

#[test]
fn a_remote_delay_is_capped() {
    let config = BreakerConfig::default().with_max_retry_after(60 * SEC);
    let (breaker, _clock) = breaker(config);
    rate_limited(&breaker, Some(Duration::from_secs(86_400)));
    assert_eq!(gate_left(&breaker), 60 * SEC);
}

#[test]
fn open_and_rate_limited_the_later_deadline_is_told() {
    let config = BreakerConfig::default()
        .with_threshold(2)
        .with_cooldown(30 * SEC);
    let (breaker, clock) = breaker(config);
    let late = breaker.acquire().unwrap();
    breaker.acquire().unwrap().failure();
    breaker.acquire().unwrap().failure();
    assert_eq!(breaker.state(), CircuitState::Open);
    // A call admitted before the opening reports a short rate limit: the open circuit,
    // which lasts longer, is what the rejection tells.
    late.rate_limited(Some(5 * SEC));
    let open = breaker.acquire().unwrap_err();
    assert!(!open.is_rate_limited());
    assert_eq!(open.retry_after(), Some(30 * SEC));
    // After the cooldown, the gate (5 s) long passed: the probe goes.
    clock.advance(30 * SEC);
    assert!(breaker.acquire().unwrap().is_probe());
}

#[test]
fn a_rate_limit_longer_than_the_opening_holds_the_probe_back() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(10 * SEC);
    let (breaker, clock) = breaker(config);
    let late = breaker.acquire().unwrap();
    breaker.acquire().unwrap().failure();
    late.rate_limited(Some(60 * SEC));
    assert_eq!(gate_left(&breaker), 60 * SEC);
    clock.advance(10 * SEC);
    assert_eq!(
        gate_left(&breaker),
        50 * SEC,
        "no probe before the remote's deadline"
    );
    assert_eq!(breaker.state(), CircuitState::Open);
    clock.advance(50 * SEC);
    assert!(breaker.acquire().unwrap().is_probe());
}

#[test]
fn disabled_and_metrics_only_never_reject_for_a_rate_limit() {
    let (breaker, _clock) = breaker(BreakerConfig::default());
    let before = breaker.acquire().unwrap();
    breaker.metrics_only();
    breaker.acquire().unwrap().rate_limited(Some(60 * SEC));
    assert!(
        breaker.acquire().is_ok(),
        "MetricsOnly counts, never rejects"
    );
    assert_eq!(breaker.metrics().rate_limited, 1);
    breaker.disable();
    // A call admitted before the command reports late: Disabled still admits.
    before.rate_limited(Some(60 * SEC));
    assert!(breaker.acquire().is_ok());
    // Back to Closed: the remote's deadline is still in force.
    breaker.reset();
    assert_eq!(gate_left(&breaker), 60 * SEC);
}

#[test]
fn a_failure_with_a_deadline_opens_for_at_least_that_long() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(5 * SEC);
    let (breaker, clock) = breaker(config);
    breaker
        .acquire()
        .unwrap()
        .verdict(Verdict::DownFor(120 * SEC));
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(
        breaker.acquire().unwrap_err().retry_after(),
        Some(120 * SEC)
    );
    clock.advance(119 * SEC);
    assert!(breaker.acquire().is_err());
    clock.advance(SEC);
    let probe = breaker.acquire().unwrap();
    // A probe that fails without a deadline: the cooldown again, not the old deadline.
    probe.failure();
    assert_eq!(breaker.acquire().unwrap_err().retry_after(), Some(5 * SEC));
    // Shorter than the backoff: the backoff wins.
    clock.advance(5 * SEC);
    breaker
        .acquire()
        .unwrap()
        .verdict(Verdict::DownFor(Duration::from_millis(500)));
    assert_eq!(breaker.acquire().unwrap_err().retry_after(), Some(5 * SEC));
}

#[test]
fn a_failure_deadline_is_capped_and_counts_as_a_failure() {
    let config = BreakerConfig::default()
        .with_threshold(3)
        .with_cooldown(5 * SEC)
        .with_max_retry_after(60 * SEC);
    let (breaker, clock) = breaker(config);
    // Announced before the threshold is reached: the opening that comes later honours it.
    breaker
        .acquire()
        .unwrap()
        .verdict(Verdict::DownFor(3_600 * SEC));
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.metrics().consecutive_failures, 1);
    clock.advance(10 * SEC);
    breaker.acquire().unwrap().failure();
    breaker.acquire().unwrap().failure();
    assert_eq!(breaker.state(), CircuitState::Open);
    // Capped at 60 s from the announcement, 10 s ago.
    assert_eq!(breaker.acquire().unwrap_err().retry_after(), Some(50 * SEC));
}

#[test]
fn a_deadline_announced_while_open_extends_the_opening() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(10 * SEC);
    let (breaker, clock) = breaker(config);
    let late = breaker.acquire().unwrap();
    breaker.acquire().unwrap().failure();
    clock.advance(2 * SEC);
    late.verdict(Verdict::DownFor(30 * SEC));
    assert_eq!(breaker.acquire().unwrap_err().retry_after(), Some(30 * SEC));
    clock.advance(8 * SEC);
    assert_eq!(
        breaker.acquire().unwrap_err().retry_after(),
        Some(22 * SEC),
        "past the cooldown, the announced outage still holds the probe back"
    );
    clock.advance(22 * SEC);
    assert!(breaker.acquire().unwrap().is_probe());
}

#[test]
fn refused_credentials_are_a_failure_or_force_the_circuit_open() {
    let config = BreakerConfig::default().with_threshold(2);
    let (breaker, _clock) = breaker(config.clone());
    breaker
        .acquire()
        .unwrap()
        .verdict(Verdict::CredentialsRefused);
    assert_eq!(breaker.metrics().consecutive_failures, 1);
    assert_eq!(breaker.state(), CircuitState::Closed);

    let config = config.with_credential_errors(CredentialErrors::ForceOpen);
    let (breaker, _clock) = self::breaker(config);
    breaker
        .acquire()
        .unwrap()
        .verdict(Verdict::CredentialsRefused);
    assert_eq!(breaker.state(), CircuitState::ForcedOpen);
    assert_eq!(breaker.acquire().unwrap_err().retry_after(), None);
}

#[test]
fn every_permit_handle_reports_rate_limits() {
    let (breaker, _clock) = breaker(BreakerConfig::default());
    let breaker = std::sync::Arc::new(breaker);
    breaker.acquire_owned().unwrap().rate_limited(Some(3 * SEC));
    assert_eq!(gate_left(&breaker), 3 * SEC);

    let registry = breaker::KeyedRegistry::<String>::with_clock(
        16,
        BreakerConfig::default(),
        ManualClock::new(),
    );
    let permit = registry.acquire("gpt-4o").unwrap();
    permit.rate_limited(Some(4 * SEC));
    let open = registry.acquire("gpt-4o").unwrap_err();
    assert!(open.is_rate_limited());
    assert_eq!(open.retry_after(), Some(4 * SEC));
}
