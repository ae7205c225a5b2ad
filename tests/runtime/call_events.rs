//! Listeners of calls (`CircuitBreaker::on_call`): every way a call ends is told, once,
//! on every admission path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{
    BreakerConfig, CallEvent, CallOutcome, CircuitBreaker, CircuitState, FailureRate, ManualClock,
    SlowCalls, TripPolicy, Window,
};

const SEC: Duration = Duration::from_secs(1);

type Seen = Arc<Mutex<Vec<CallEvent>>>;

fn listened(config: BreakerConfig) -> (CircuitBreaker, ManualClock, Seen) {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock("gpt-4o", config, clock.clone());
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    breaker.on_call(move |event| sink.lock().unwrap().push(event.clone()));
    (breaker, clock, seen)
}

fn outcomes(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .drain(..)
        .map(|event| {
            assert_eq!(event.name, "gpt-4o");
            match event.outcome {
                CallOutcome::Rejected(open) if open.is_rate_limited() => {
                    "Rejected(rate limited)".into()
                }
                CallOutcome::Rejected(open) => format!("Rejected({})", open.state()),
                CallOutcome::RateLimited { retry_after } => format!("RateLimited({retry_after:?})"),
                outcome => format!("{outcome:?}"),
            }
        })
        .collect()
}

#[test]
fn every_end_of_a_call_is_told_once() {
    let config = BreakerConfig::default()
        .with_threshold(2)
        .with_cooldown(10 * SEC);
    let (breaker, clock, seen) = listened(config);
    breaker.acquire().unwrap().success();
    breaker.acquire().unwrap().ignore();
    drop(breaker.acquire().unwrap());
    breaker.acquire().unwrap().rate_limited(Some(SEC));
    let _ = breaker.acquire();
    clock.advance(SEC);
    breaker.acquire().unwrap().failure();
    breaker.acquire().unwrap().failure();
    let _ = breaker.acquire();
    clock.advance(10 * SEC);
    let probe = breaker.acquire().unwrap();
    let _ = breaker.acquire();
    probe.success();
    assert_eq!(
        outcomes(&seen),
        [
            "Succeeded",
            "Ignored",
            "Abandoned",
            "RateLimited(1s)",
            "Rejected(rate limited)",
            "Failed",
            "Failed",
            "Rejected(Open)",
            "Rejected(HalfOpen)",
            "Succeeded",
        ]
    );
    assert_eq!(breaker.state(), CircuitState::Closed);
    // The breaker counted as it would without a listener.
    let metrics = breaker.metrics();
    assert_eq!(
        (metrics.succeeded, metrics.failed, metrics.rejected),
        (2, 2, 3)
    );
    assert_eq!(breaker.in_flight(), 0);
}

#[test]
fn slow_calls_are_told_besides_their_report() {
    let policy = FailureRate::new(Window::Count { size: 10 }, 50)
        .with_slow_calls(SlowCalls::new(SEC).with_rate(100));
    let (breaker, clock, seen) =
        listened(BreakerConfig::default().with_policy(TripPolicy::FailureRate(policy)));
    let permit = breaker.acquire().unwrap();
    clock.advance(2 * SEC);
    permit.success();
    assert_eq!(outcomes(&seen), ["Slow", "Succeeded"]);
}

#[test]
fn every_permit_handle_and_disabled_calls() {
    let (breaker, _clock, seen) = listened(BreakerConfig::default());
    let breaker = Arc::new(breaker);
    breaker.acquire_owned().unwrap().failure();
    breaker.disable();
    breaker.acquire().unwrap().failure();
    assert_eq!(
        outcomes(&seen),
        ["Failed"],
        "disabled: nothing recorded, nothing told"
    );
    breaker.metrics_only();
    breaker.acquire().unwrap().success();
    assert_eq!(outcomes(&seen), ["Succeeded"]);
}

#[test]
fn a_panicking_call_listener_is_ignored() {
    let (breaker, _clock, seen) = listened(BreakerConfig::default());
    breaker.on_call(|_| panic!("a buggy listener"));
    breaker.acquire().unwrap().success();
    assert_eq!(outcomes(&seen), ["Succeeded"]);
    assert_eq!(breaker.metrics().succeeded, 1);
}
