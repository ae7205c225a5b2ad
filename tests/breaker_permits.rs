//! Guarantees 2 and 3: cancelled, panicking and forgotten permits; stale reports.

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
    assert!(fresh.generation() > slow.generation());
    fresh.success();
    assert_eq!(breaker.state(), CircuitState::Closed);
    // The slow probe fails long after: its generation is gone, the circuit stays closed.
    assert!(slow.is_stale());
    slow.failure();
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.metrics().stale_reports, 1);
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
