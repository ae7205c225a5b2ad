//! Why a circuit opened: the cause and the open duration a rejection and the opening's
//! `StateChange` carry, whichever path rejects (the open hint or the snapshot).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{
    Because, BreakerConfig, Cause, CircuitBreaker, CircuitState, FailureRate, ManualClock,
    SlowCalls, StateChange, TripPolicy, Verdict, Window,
};

const SEC: Duration = Duration::from_secs(1);

fn breaker(config: BreakerConfig) -> (CircuitBreaker, ManualClock, Arc<Mutex<Vec<StateChange>>>) {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock("gpt-4o", config, clock.clone());
    let seen: Arc<Mutex<Vec<StateChange>>> = Arc::default();
    let sink = Arc::clone(&seen);
    breaker.on_transition(move |change| sink.lock().unwrap().push(change.clone()));
    (breaker, clock, seen)
}

fn one_failure() -> BreakerConfig {
    BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(30 * SEC)
}

#[test]
fn a_status_is_told_by_every_rejection_and_the_opening() {
    let (breaker, clock, seen) = breaker(one_failure());
    breaker
        .acquire()
        .unwrap()
        .verdict_because(Verdict::Failure, Because::Status(503));
    for _ in 0..2 {
        let open = breaker.acquire().unwrap_err();
        assert_eq!(open.cause(), Some(Cause::Status(503)));
        assert_eq!(open.open_for(), Some(30 * SEC));
        assert!(!open.is_rate_limited() && !open.is_forced_open());
        assert!(
            open.to_string().ends_with("(opened by: HTTP 503)"),
            "{open}"
        );
        clock.advance(SEC);
    }
    let opening = &seen.lock().unwrap()[0];
    assert_eq!(opening.to, CircuitState::Open);
    assert_eq!(opening.cause, Some(Cause::Status(503)));
    assert_eq!(opening.open_for, Some(30 * SEC));
}

#[test]
fn an_errors_text_is_told_cut_to_its_bound() {
    let (breaker, _clock, seen) = breaker(one_failure());
    let long = format!("upstream said: {}", "x".repeat(500));
    breaker.acquire().unwrap().failure_because(&long);
    let open = breaker.acquire().unwrap_err();
    let Some(Cause::Error(text)) = open.cause() else {
        panic!("{:?}", open.cause())
    };
    assert!(text.starts_with("upstream said: xx") && text.len() <= Cause::MAX_LEN);
    assert_eq!(seen.lock().unwrap()[0].cause, Some(Cause::Error(text)));
}

#[test]
fn a_plain_failure_and_a_slow_probe() {
    let config = one_failure().with_policy(TripPolicy::FailureRate(
        FailureRate::new(Window::Count { size: 2 }, 100)
            .with_slow_calls(SlowCalls::new(SEC).with_rate(100)),
    ));
    let (breaker, clock, _seen) = breaker(config);
    let first = breaker.acquire().unwrap();
    let second = breaker.acquire().unwrap();
    clock.advance(2 * SEC);
    first.success(); // slow
    second.success(); // slow: the slow-call rate trips
    let open = breaker.acquire().unwrap_err();
    assert_eq!(open.cause(), Some(Cause::SlowCall));
    assert!(
        open.to_string().ends_with("(opened by: a slow call)"),
        "{open}"
    );

    let (breaker, _clock, _seen) = self::breaker(one_failure());
    breaker.acquire().unwrap().failure();
    let open = breaker.acquire().unwrap_err();
    assert_eq!(open.cause(), Some(Cause::Failure));
    // A plain failure adds nothing to the message.
    assert_eq!(
        open.to_string(),
        "circuit breaker `gpt-4o` is open: next probe allowed in 30s"
    );
}

#[test]
fn half_open_keeps_the_cause_and_a_failed_probe_gives_its_own() {
    let (breaker, clock, seen) = breaker(one_failure());
    breaker
        .acquire()
        .unwrap()
        .verdict_because(Verdict::Failure, Because::Status(529));
    clock.advance(30 * SEC);
    let probe = breaker.acquire().unwrap();
    let busy = breaker.acquire().unwrap_err();
    assert_eq!(busy.state(), CircuitState::HalfOpen);
    assert_eq!(busy.cause(), Some(Cause::Status(529)));
    assert_eq!(busy.open_for(), None);
    probe.failure_because("connection refused");
    let open = breaker.acquire().unwrap_err();
    assert_eq!(
        open.cause(),
        Some(Cause::Error("connection refused".into()))
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen[1].cause, Some(Cause::Status(529)), "into HalfOpen");
    assert_eq!(
        seen[2].cause,
        Some(Cause::Error("connection refused".into()))
    );
}

#[test]
fn an_announced_outage_is_the_duration_told() {
    let (breaker, clock, seen) = breaker(one_failure());
    let late = breaker.acquire().unwrap();
    breaker
        .acquire()
        .unwrap()
        .verdict_because(Verdict::DownFor(120 * SEC), Because::Status(503));
    assert_eq!(seen.lock().unwrap()[0].open_for, Some(120 * SEC));
    assert_eq!(breaker.acquire().unwrap_err().open_for(), Some(120 * SEC));
    // Announced longer while open: the rejections tell the longer opening.
    clock.advance(10 * SEC);
    late.verdict(Verdict::DownFor(300 * SEC));
    let open = breaker.acquire().unwrap_err();
    assert_eq!(open.retry_after(), Some(300 * SEC));
    assert_eq!(open.open_for(), Some(310 * SEC));
    assert_eq!(open.cause(), Some(Cause::Status(503)));
}

#[test]
fn forced_open_and_rate_limited_rejections_have_no_cause() {
    let (breaker, _clock, _seen) = breaker(one_failure());
    breaker.force_open();
    let open = breaker.acquire().unwrap_err();
    assert!(open.is_forced_open());
    assert_eq!((open.cause(), open.open_for()), (None, None));

    let (breaker, _clock, _seen) = self::breaker(one_failure());
    breaker.acquire().unwrap().rate_limited(Some(SEC));
    let open = breaker.acquire().unwrap_err();
    assert!(open.is_rate_limited() && !open.is_forced_open());
    assert_eq!((open.cause(), open.open_for()), (None, None));
}
