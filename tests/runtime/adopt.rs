//! Decisions made elsewhere (a fleet's), applied to a breaker: `adopt_open`,
//! `adopt_closed`, `adopt_rate_limit`, and the `on_rate_limit` listeners a fleet store
//! hears the local rate limits by. On a manual clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{
    Backoff, BreakerConfig, Cause, CircuitBreaker, CircuitEvent, CircuitState, ManualClock, Verdict,
};

fn breaker(config: BreakerConfig) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    (
        CircuitBreaker::with_clock("gpt-4o", config, clock.clone()),
        clock,
    )
}

#[test]
fn an_adopted_opening_lasts_what_it_says_and_tells_its_cause() {
    let (breaker, clock) = breaker(BreakerConfig::default().with_cooldown(Duration::from_secs(5)));
    type Seen = Vec<(CircuitEvent, Option<Duration>)>;
    let events: Arc<Mutex<Seen>> = Arc::default();
    let sink = Arc::clone(&events);
    breaker.on_transition(move |change| sink.lock().unwrap().push((change.event, change.open_for)));

    assert!(breaker.adopt_open(Duration::from_secs(42), Some(&Cause::Status(529))));
    let rejected = breaker.acquire().unwrap_err();
    assert_eq!(rejected.retry_after(), Some(Duration::from_secs(42)));
    assert_eq!(rejected.cause(), Some(Cause::Status(529)));
    assert_eq!(
        *events.lock().unwrap(),
        [(CircuitEvent::FleetOpened, Some(Duration::from_secs(42)))]
    );
    clock.advance(Duration::from_secs(42));
    assert!(
        breaker.acquire().unwrap().is_probe(),
        "then the next call probes, as after a cooldown"
    );
}

#[test]
fn an_opening_held_longer_is_the_same_opening_for_the_backoff() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(Duration::from_secs(10))
        .with_backoff(Backoff::Exponential {
            multiplier: 2.0,
            max: Duration::from_secs(600),
        });
    let (breaker, clock) = breaker(config);
    breaker.acquire().unwrap().failure(); // 1st opening: 10 s
    // The fleet holds it open, three times: still the first opening.
    for _ in 0..3 {
        assert!(breaker.adopt_open(Duration::from_secs(1), None));
    }
    clock.advance(Duration::from_secs(1));
    breaker.acquire().unwrap().failure(); // the probe fails: the 2nd opening, 20 s
    let left = breaker.acquire().unwrap_err().retry_after().unwrap();
    assert_eq!(left, Duration::from_secs(20));
}

#[test]
fn an_adopted_opening_makes_the_probes_out_stale() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(Duration::from_secs(1));
    let (breaker, clock) = breaker(config);
    breaker.acquire().unwrap().failure();
    clock.advance(Duration::from_secs(1));
    let probe = breaker.acquire().unwrap();
    assert!(probe.is_probe());
    // Another instance's probe failed meanwhile: the fleet opens again.
    assert!(breaker.adopt_open(Duration::from_secs(30), None));
    assert!(probe.is_stale());
    probe.success(); // too late: it cannot close the circuit the fleet reopened
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(breaker.metrics().stale_reports, 1);
}

#[test]
fn adopted_decisions_leave_the_states_set_by_hand() {
    let (breaker, _clock) = breaker(BreakerConfig::default());
    for (set, state) in [
        (
            CircuitBreaker::force_open as fn(&CircuitBreaker) -> bool,
            CircuitState::ForcedOpen,
        ),
        (CircuitBreaker::disable, CircuitState::Disabled),
        (CircuitBreaker::metrics_only, CircuitState::MetricsOnly),
    ] {
        set(&breaker);
        assert!(!breaker.adopt_open(Duration::from_secs(5), None), "{state}");
        assert!(!breaker.adopt_closed(), "{state}");
        assert_eq!(breaker.state(), state);
    }
}

#[test]
fn an_adopted_close_forgets_an_announced_outage() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(Duration::from_secs(1));
    let (breaker, _clock) = breaker(config);
    breaker
        .acquire()
        .unwrap()
        .verdict(Verdict::DownFor(Duration::from_secs(120)));
    assert!(breaker.acquire().unwrap_err().retry_after().unwrap() >= Duration::from_secs(119));
    // The fleet found the remote up elsewhere.
    assert!(breaker.adopt_closed());
    assert_eq!(breaker.state(), CircuitState::Closed);
    // A new failure opens for the cooldown, not for the outage announced before.
    breaker.acquire().unwrap().failure();
    assert_eq!(
        breaker.acquire().unwrap_err().retry_after(),
        Some(Duration::from_secs(1))
    );
}

#[test]
fn rate_limit_listeners_hear_the_calls_that_move_the_gate_only() {
    let (breaker, clock) = breaker(BreakerConfig::default());
    let heard: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let sink = Arc::clone(&heard);
    breaker.on_rate_limit(move |limit| sink.lock().unwrap().push(limit.retry_after));

    breaker
        .acquire()
        .unwrap()
        .rate_limited(Some(Duration::from_secs(10)));
    clock.advance(Duration::from_secs(10));
    breaker.adopt_rate_limit(Duration::from_secs(20)); // seen elsewhere: not told again
    clock.advance(Duration::from_secs(20));
    let permit = breaker.acquire().unwrap();
    permit.rate_limited(Some(Duration::from_secs(3)));
    clock.advance(Duration::from_secs(1));
    breaker.adopt_rate_limit(Duration::ZERO); // nothing
    assert_eq!(
        *heard.lock().unwrap(),
        [Duration::from_secs(10), Duration::from_secs(3)]
    );
    assert_eq!(
        breaker.metrics().rate_limited,
        2,
        "an adopted rate limit is not counted"
    );
}
