//! Cancelled, panicking and forgotten permits; probes given up on their own timeouts;
//! stale reports.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use breaker::{BreakerConfig, BreakerError, CircuitBreaker, CircuitState, ManualClock};

const COOLDOWN: Duration = Duration::from_secs(30);
const HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// A breaker that is HalfOpen with every probe slot free but the one `take_probe` returns.
fn tripped(threshold: u32) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(threshold)
        .with_cooldown(COOLDOWN)
        .with_half_open_timeout(HALF_OPEN_TIMEOUT);
    let breaker = CircuitBreaker::with_clock("gpt-4o", config, clock.clone());
    for _ in 0..threshold {
        breaker.acquire().unwrap().failure();
    }
    assert_eq!(breaker.state(), CircuitState::Open);
    clock.advance(COOLDOWN);
    (breaker, clock)
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// A future that is pending until `ready` is set, then returns `Ok(())`.
struct Until<'a>(&'a AtomicBool);

impl Future for Until<'_> {
    type Output = Result<(), std::io::Error>;

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        if self.0.load(Ordering::Acquire) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn a_cancelled_probe_frees_its_slot_at_once_and_counts_as_neither() {
    let (breaker, _clock) = tripped(1);
    let never = AtomicBool::new(false);
    {
        let mut call = pin!(breaker.call_async(Until(&never)));
        assert!(poll_once(call.as_mut()).is_pending());
        // The probe is in flight: nobody else gets in.
        assert_eq!(breaker.metrics().probes_in_flight, 1);
        assert!(breaker.acquire().is_err());
    } // the future is dropped here: cancelled
    let metrics = breaker.metrics();
    assert_eq!(
        metrics.state,
        CircuitState::HalfOpen,
        "neither success nor failure"
    );
    assert_eq!(metrics.probes_in_flight, 0);
    assert_eq!(
        (metrics.succeeded, metrics.failed, metrics.abandoned),
        (0, 1, 1)
    );
    // The slot is free again, without waiting for any timeout.
    let probe = breaker
        .acquire()
        .expect("the freed slot admits a new probe");
    assert!(probe.is_probe());
    probe.success();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_completed_async_call_reports() {
    let (breaker, _clock) = tripped(1);
    let ready = AtomicBool::new(false);
    let mut call = pin!(breaker.call_async(Until(&ready)));
    assert!(poll_once(call.as_mut()).is_pending());
    ready.store(true, Ordering::Release);
    assert!(matches!(poll_once(call.as_mut()), Poll::Ready(Ok(()))));
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn an_async_call_is_not_polled_when_rejected() {
    let (breaker, _clock) = tripped(1);
    let _probe = breaker.acquire().unwrap();
    let polled = AtomicBool::new(false);
    let future = async {
        polled.store(true, Ordering::Relaxed);
        Ok::<(), ()>(())
    };
    let mut call = pin!(breaker.call_async(future));
    match poll_once(call.as_mut()) {
        Poll::Ready(Err(BreakerError::Open(open))) => {
            assert_eq!(open.state(), CircuitState::HalfOpen)
        }
        _ => panic!("expected a rejection"),
    }
    assert!(!polled.load(Ordering::Relaxed));
}

#[test]
fn a_probe_whose_thread_panics_frees_its_slot() {
    let (breaker, _clock) = tripped(1);
    thread::scope(|scope| {
        let crashed = scope.spawn(|| {
            let _probe = breaker.acquire().unwrap();
            panic!("the caller crashed while holding the probe");
        });
        assert!(crashed.join().is_err());
    });
    let metrics = breaker.metrics();
    assert_eq!(metrics.state, CircuitState::HalfOpen);
    assert_eq!(metrics.probes_in_flight, 0);
    assert_eq!(metrics.abandoned, 1);
    assert!(breaker.acquire().unwrap().is_probe());
}

#[test]
fn a_panic_inside_call_is_a_failure_and_is_resumed() {
    let (breaker, clock) = tripped(1);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        breaker.call(|| -> Result<(), ()> { panic!("provider client bug") })
    }));
    let payload = caught.expect_err("the panic reaches the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"provider client bug"));
    assert_eq!(
        breaker.state(),
        CircuitState::Open,
        "the panicking probe reopened it"
    );
    assert_eq!(breaker.metrics().abandoned, 0);

    // In Closed a panic counts towards the threshold too.
    clock.advance(COOLDOWN);
    breaker.acquire().unwrap().success();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        breaker.call(|| -> Result<(), ()> { panic!("again") })
    }));
    assert!(caught.is_err());
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn a_panic_inside_call_async_is_a_failure_and_is_resumed() {
    let (breaker, _clock) = tripped(1);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let mut call = pin!(breaker.call_async(async {
            panic!("async provider client bug");
            #[allow(unreachable_code)]
            Ok::<(), ()>(())
        }));
        poll_once(call.as_mut())
    }));
    assert!(caught.is_err());
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn a_forgotten_probe_does_not_wedge_the_breaker() {
    let (breaker, clock) = tripped(1);
    let leaked = breaker.acquire().unwrap();
    std::mem::forget(leaked);

    // Until the half-open timeout, the leaked probe holds the only slot.
    for _ in 0..10 {
        clock.advance(HALF_OPEN_TIMEOUT / 20);
        let rejected = breaker.acquire().unwrap_err();
        assert_eq!(rejected.state(), CircuitState::HalfOpen);
        assert!(rejected.retry_after().unwrap() <= HALF_OPEN_TIMEOUT);
    }
    clock.advance(HALF_OPEN_TIMEOUT / 2);
    let probe = breaker
        .acquire()
        .expect("after half_open_timeout a new probe is admitted");
    assert!(probe.is_probe());
    probe.success();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_slow_probe_given_up_by_the_timeout_reports_stale() {
    let (breaker, clock) = tripped(1);
    let slow = breaker.acquire().unwrap();
    clock.advance(HALF_OPEN_TIMEOUT);
    let fresh = breaker.acquire().unwrap();
    assert!(fresh.is_probe());
    assert_eq!(
        fresh.generation(),
        slow.generation(),
        "the slot changed hands"
    );
    assert!(slow.is_stale(), "given up");
    assert!(!fresh.is_stale());
    // The given-up probe's success decides nothing...
    slow.success();
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    assert_eq!(
        breaker.metrics().probes_in_flight,
        1,
        "the fresh probe's slot stays"
    );
    assert_eq!(breaker.metrics().stale_reports, 1);
    // ...the fresh probe's does.
    fresh.success();
    assert_eq!(breaker.state(), CircuitState::Closed);
}

/// Half-open with `max` slots, `success_threshold` successes to close, probes given up
/// after `timeout`.
fn half_open(max: u32, success_threshold: u32, timeout: Duration) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(COOLDOWN)
        .with_half_open_max(max)
        .with_success_threshold(success_threshold)
        .with_half_open_timeout(timeout);
    let breaker = CircuitBreaker::with_clock("claude", config, clock.clone());
    breaker.acquire().unwrap().failure();
    clock.advance(COOLDOWN);
    (breaker, clock)
}

#[test]
fn a_probe_admitted_late_in_half_open_keeps_its_whole_timeout() {
    let timeout = Duration::from_secs(10);
    let (breaker, clock) = half_open(1, 2, timeout);
    breaker.acquire().unwrap().success(); // enters HalfOpen; 1 of 2 successes
    clock.advance(Duration::from_secs(50));
    let late = breaker.acquire().expect("the slot is free");
    std::mem::forget(late); // lost for good

    clock.advance(Duration::from_secs(9));
    let rejected = breaker.acquire().unwrap_err();
    assert_eq!(rejected.state(), CircuitState::HalfOpen);
    assert_eq!(
        rejected.retry_after(),
        Some(Duration::from_secs(1)),
        "timed from its own admission, 50 s into HalfOpen"
    );
    clock.advance(Duration::from_secs(1));
    let next = breaker.acquire().expect("given up after its own timeout");
    next.success();
    assert_eq!(
        breaker.state(),
        CircuitState::Closed,
        "the success counted before the lost probe still counts"
    );
    assert_eq!(breaker.metrics().stale_reports, 0);
}

#[test]
fn a_probe_keeps_its_slot_while_an_older_one_is_given_up() {
    let timeout = Duration::from_secs(10);
    let (breaker, clock) = half_open(2, 1, timeout);
    let first = breaker.acquire().unwrap(); // at 0 s
    clock.advance(Duration::from_secs(8));
    let second = breaker.acquire().unwrap(); // at 8 s
    clock.advance(Duration::from_secs(2));
    let third = breaker
        .acquire()
        .expect("the first probe's slot, timed out at 10 s");
    assert!(first.is_stale() && !second.is_stale() && !third.is_stale());
    assert!(breaker.acquire().is_err(), "the second probe still has 6 s");
    // The second probe, within its timeout, still decides.
    second.success();
    assert_eq!(breaker.state(), CircuitState::Closed);
    drop((first, third));
}

/// Probes that each take 25 s, a caller every second, `success_threshold` 3 and the
/// default `half_open_timeout` of 60 s: the third probe's success closes the circuit.
/// (Timed from entering HalfOpen, the timeout gave up the probe in flight at 60 s and
/// forgot the two successes, and so on every minute: the circuit never closed.)
#[test]
fn probes_slower_than_a_third_of_the_timeout_still_close_the_circuit() {
    let (breaker, clock) = half_open(1, 3, Duration::from_secs(60));
    let probe_time = 25;
    let mut in_flight: Vec<(breaker::Permit<'_>, u64)> = Vec::new();
    let mut closed_at = None;
    for second in 0..3_600 {
        let (done, running) = in_flight
            .into_iter()
            .partition(|&(_, done_at)| second >= done_at);
        in_flight = running;
        for (permit, _) in done {
            permit.success();
        }
        if breaker.state() == CircuitState::Closed {
            closed_at = Some(second);
            break;
        }
        // A caller every second; admitted ones are probes that take 25 s.
        if let Ok(permit) = breaker.acquire() {
            in_flight.push((permit, second + probe_time));
        }
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(closed_at, Some(75), "three probes of 25 s");
    let metrics = breaker.metrics();
    assert_eq!(metrics.stale_reports, 0, "no success was ignored");
    assert_eq!(breaker.generation(), 3, "trip, probe, close");
}

#[test]
fn a_slow_call_from_closed_failing_after_reopen_and_close_does_not_count() {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(COOLDOWN);
    let breaker = CircuitBreaker::with_clock("gpt-4o", config, clock.clone());

    let slow = breaker.acquire().unwrap(); // starts in Closed, generation 0
    assert_eq!(slow.generation(), 0);
    breaker.acquire().unwrap().failure(); // Closed -> Open
    clock.advance(COOLDOWN);
    breaker.acquire().unwrap().success(); // Open -> HalfOpen -> Closed
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.generation(), 3);

    // With threshold 1, this failure would reopen the circuit if it counted.
    slow.failure();
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.metrics().consecutive_failures, 0);
    assert_eq!(breaker.metrics().stale_reports, 1);
    assert_eq!(
        breaker.metrics().failed,
        2,
        "it is still counted as a failed call"
    );
}

#[test]
fn a_stale_success_cannot_close_a_reopened_circuit() {
    let (breaker, clock) = tripped(1);
    let probe = breaker.acquire().unwrap();
    breaker.force_open();
    breaker.reset();
    breaker.acquire().unwrap().failure(); // Open again, generation moved on
    clock.advance(Duration::from_secs(1));
    probe.success();
    assert_eq!(breaker.state(), CircuitState::Open);
}

#[test]
fn a_reset_makes_permits_admitted_before_it_stale() {
    let clock = ManualClock::new();
    let config = BreakerConfig::default().with_threshold(2);
    let breaker = CircuitBreaker::with_clock("m", config, clock);
    let before: Vec<_> = (0..3).map(|_| breaker.acquire().unwrap()).collect();
    breaker.acquire().unwrap().failure();
    breaker.reset();
    for permit in before {
        permit.failure();
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.metrics().consecutive_failures, 0);
}

/// A permit dropped by a panic that is not its call's own (a sibling in `join!`, the
/// caller's code) counts as neither.
mod unrelated_panics {
    use super::*;
    use futures::future::join;

    /// Joins a call through `breaker` that never finishes with a sibling that panics.
    fn call_beside_a_panicking_sibling(breaker: &CircuitBreaker) {
        let never = AtomicBool::new(false);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(join(breaker.call_async(Until(&never)), async {
                panic!("a sibling task panics");
            }))
        }));
        assert!(caught.is_err());
    }

    #[test]
    fn a_sibling_panic_in_a_join_does_not_trip_a_healthy_breaker() {
        let breaker = CircuitBreaker::new("gpt-4o", BreakerConfig::default().with_threshold(1));
        call_beside_a_panicking_sibling(&breaker);
        let metrics = breaker.metrics();
        assert_eq!(metrics.state, CircuitState::Closed);
        assert_eq!((metrics.failed, metrics.abandoned), (0, 1));
    }

    #[test]
    fn a_probe_cancelled_by_a_sibling_panic_frees_its_slot() {
        let (breaker, _clock) = tripped(1);
        call_beside_a_panicking_sibling(&breaker);
        let metrics = breaker.metrics();
        assert_eq!(metrics.state, CircuitState::HalfOpen, "not reopened");
        assert_eq!(metrics.probes_in_flight, 0);
        assert!(breaker.acquire().unwrap().is_probe());
    }

    #[test]
    fn a_permit_held_across_the_callers_own_panic_is_abandoned() {
        let breaker = CircuitBreaker::new("gpt-4o", BreakerConfig::default().with_threshold(1));
        let caught = catch_unwind(AssertUnwindSafe(|| {
            let mut permit = breaker.acquire().unwrap();
            let reply = permit.run(|| Ok::<_, ()>("fine"));
            assert_eq!(reply, Ok("fine"));
            panic!("the caller's own code panics before it reports");
        }));
        assert!(caught.is_err());
        assert_eq!(breaker.state(), CircuitState::Closed);
        assert_eq!(breaker.metrics().abandoned, 1);
    }

    /// A runtime that catches a task's panic drops the task afterwards, when the thread is
    /// no longer panicking: the call's own panic is still a failure.
    #[test]
    fn a_call_that_panicked_is_a_failure_even_when_dropped_after_the_unwind() {
        let breaker = std::sync::Arc::new(CircuitBreaker::new(
            "gpt-4o",
            BreakerConfig::default().with_threshold(1),
        ));
        let mut permit = breaker.acquire_owned().unwrap();
        {
            let mut call = pin!(permit.run_future(async {
                panic!("the provider client panics");
                #[allow(unreachable_code)]
                Ok::<(), ()>(())
            }));
            let caught = catch_unwind(AssertUnwindSafe(|| poll_once(call.as_mut())));
            assert!(caught.is_err());
        }
        assert!(!thread::panicking());
        drop(permit); // as a runtime drops a panicked task, after catching the panic
        assert_eq!(breaker.state(), CircuitState::Open);
        assert_eq!(breaker.metrics().failed, 1);
    }
}
