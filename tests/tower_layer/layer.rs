//! `CircuitBreakerLayer` in front of a real `tower` service, driven through Open, HalfOpen
//! and Closed on a manual clock; an open circuit fails the call, not the readiness.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker::tower::{CircuitBreakerLayer, ClassifyFn, HttpStatus};
use breaker::{BreakerConfig, BreakerError, CircuitBreaker, CircuitState, ManualClock};
use futures::executor::block_on;
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

/// Waits for the service to be ready, then calls it.
fn call<S: Service<&'static str>>(service: &mut S) -> Result<S::Response, S::Error> {
    block_on(async { service.ready().await?.call("GET /").await })
}

fn breaker(clock: &ManualClock) -> Arc<CircuitBreaker> {
    let config = BreakerConfig::default()
        .with_threshold(2)
        .with_cooldown(Duration::from_secs(10));
    Arc::new(CircuitBreaker::with_clock(
        "upstream",
        config,
        clock.clone(),
    ))
}

#[test]
fn an_http_service_opens_on_5xx_and_429_and_closes_after_a_good_probe() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let status = Arc::new(AtomicU16::new(200));
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = {
        let (status, calls) = (Arc::clone(&status), Arc::clone(&calls));
        service_fn(move |_request: &'static str| {
            calls.fetch_add(1, Ordering::SeqCst);
            let code = status.load(Ordering::SeqCst);
            async move {
                Ok::<_, std::convert::Infallible>(
                    http::Response::builder().status(code).body(()).unwrap(),
                )
            }
        })
    };
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)).with_classifier(HttpStatus))
        .service(upstream);

    // A 404 is the request's fault: a success for the breaker.
    status.store(404, Ordering::SeqCst);
    assert_eq!(call(&mut service).unwrap().status(), 404);
    status.store(503, Ordering::SeqCst);
    assert_eq!(call(&mut service).unwrap().status(), 503);
    status.store(429, Ordering::SeqCst);
    assert_eq!(call(&mut service).unwrap().status(), 429);
    assert_eq!(breaker.state(), CircuitState::Open);

    // Open: ready, and the call says so without calling the upstream.
    let before = calls.load(Ordering::SeqCst);
    match call(&mut service) {
        Err(BreakerError::Open(open)) => {
            assert_eq!(open.retry_after(), Some(Duration::from_secs(10)));
        }
        other => panic!("expected the open circuit, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), before);

    // After the cooldown, one probe; a 200 closes the circuit.
    clock.advance(Duration::from_secs(10));
    status.store(200, Ordering::SeqCst);
    assert_eq!(call(&mut service).unwrap().status(), 200);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_probe_taken_by_poll_ready_and_never_called_frees_its_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let upstream = service_fn(|fail: bool| async move { if fail { Err("down") } else { Ok(()) } });
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)))
        .service(upstream);

    for _ in 0..2 {
        assert_eq!(
            block_on(service.clone().oneshot(true)),
            Err(BreakerError::Inner("down"))
        );
    }
    assert_eq!(breaker.state(), CircuitState::Open);
    clock.advance(Duration::from_secs(10));
    {
        // Ready (the probe slot is taken), then dropped without a call.
        let mut idle = service.clone();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(
            Service::<bool>::poll_ready(&mut idle, &mut cx),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
    }
    // The slot is free again: the next caller probes, and closes the circuit.
    assert_eq!(block_on(service.clone().oneshot(false)), Ok(()));
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_classifier_function_decides_what_counts() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let upstream =
        service_fn(|code: u16| async move { if code >= 500 { Err(code) } else { Ok(code) } });
    // Only a 503 is an outage here; a 500 is a bug of ours, not the remote being down.
    let only_503 = ClassifyFn(|result: &Result<u16, u16>| matches!(result, Err(503)));
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)).with_classifier(only_503))
        .service(upstream);
    for _ in 0..3 {
        assert_eq!(
            block_on(service.clone().oneshot(500)),
            Err(BreakerError::Inner(500))
        );
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
    for _ in 0..2 {
        assert_eq!(
            block_on(service.clone().oneshot(503)),
            Err(BreakerError::Inner(503))
        );
    }
    assert_eq!(breaker.state(), CircuitState::Open);
}

/// A panic of the inner service is a failed call, whether its `call` or its future panics;
/// a response future dropped for any other reason counts as neither.
#[test]
fn a_panicking_inner_service_is_a_failure() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)))
        .service_fn(|request: &'static str| {
            assert_ne!(request, "panic in call", "the inner call panics");
            async move {
                assert_ne!(request, "panic in future", "the inner future panics");
                Ok::<_, std::convert::Infallible>(())
            }
        });
    for request in ["panic in future", "panic in call"] {
        let caught = catch_unwind(AssertUnwindSafe(|| {
            block_on(async { service.ready().await?.call(request).await })
        }));
        assert!(caught.is_err(), "{request}: the panic reaches the caller");
    }
    let metrics = breaker.metrics();
    assert_eq!((metrics.failed, metrics.abandoned), (2, 0));
    assert_eq!(breaker.state(), CircuitState::Open, "threshold 2");
}
