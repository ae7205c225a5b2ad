//! `CircuitBreakerLayer` in front of a real `tower` service, driven through Open, HalfOpen
//! and Closed on a manual clock; an open circuit fails the call, not the readiness; HTTP
//! responses classified by `HttpStatus`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker::tower::{CircuitBreakerLayer, Classify, ClassifyFn, HttpStatus};
use breaker::{BreakerConfig, BreakerError, CircuitBreaker, CircuitState, ManualClock, Verdict};
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

/// The status and headers an upstream answers with, changed as a test goes.
type Reply = Arc<Mutex<(u16, Vec<(&'static str, &'static str)>)>>;

/// An upstream answering each request with the status (and headers) set in `reply`, and
/// counting its calls.
fn http_upstream(
    reply: &Reply,
    calls: &Arc<AtomicUsize>,
) -> impl Service<
    &'static str,
    Response = http::Response<()>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    let (reply, calls) = (Arc::clone(reply), Arc::clone(calls));
    service_fn(move |_request: &'static str| {
        calls.fetch_add(1, Ordering::SeqCst);
        let (status, headers) = reply.lock().unwrap().clone();
        let mut response = http::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(name, value);
        }
        let response = response.body(()).unwrap();
        async move { Ok(response) }
    })
}

#[test]
fn an_http_service_opens_on_5xx_and_closes_after_a_good_probe() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let reply = Arc::new(Mutex::new((200, Vec::new())));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)).with_classifier(HttpStatus))
        .service(http_upstream(&reply, &calls));

    // A 404 is the request's fault: it says nothing of the remote.
    reply.lock().unwrap().0 = 404;
    assert_eq!(call(&mut service).unwrap().status(), 404);
    assert_eq!(breaker.metrics().ignored, 1);
    reply.lock().unwrap().0 = 503;
    assert_eq!(call(&mut service).unwrap().status(), 503);
    reply.lock().unwrap().0 = 502;
    assert_eq!(call(&mut service).unwrap().status(), 502);
    assert_eq!(breaker.state(), CircuitState::Open);

    // Open: ready, and the call says so without calling the upstream.
    let before = calls.load(Ordering::SeqCst);
    match call(&mut service) {
        Err(BreakerError::Open(open)) => {
            assert_eq!(open.retry_after(), Some(Duration::from_secs(10)));
            assert_eq!(
                open.cause(),
                Some(breaker::Cause::Status(502)),
                "what opened it"
            );
        }
        other => panic!("expected the open circuit, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), before);

    // After the cooldown, one probe; a 200 closes the circuit.
    clock.advance(Duration::from_secs(10));
    reply.lock().unwrap().0 = 200;
    assert_eq!(call(&mut service).unwrap().status(), 200);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn the_http_classifier_gives_each_response_its_verdict() {
    let response = |status: u16, headers: &[(&str, &str)]| {
        let mut response = http::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        Ok::<_, &str>(response.body(()).unwrap())
    };
    let verdict = |result: Result<http::Response<()>, &str>| HttpStatus.classify(&result);
    assert_eq!(verdict(response(200, &[])), Verdict::Success);
    assert_eq!(
        verdict(response(429, &[("retry-after", "6")])),
        Verdict::RateLimited(Some(Duration::from_secs(6)))
    );
    assert_eq!(
        verdict(response(429, &[("x-ratelimit-reset-requests", "6m0s")])),
        Verdict::RateLimited(Some(Duration::from_secs(360)))
    );
    assert_eq!(
        verdict(response(503, &[("retry-after", "120")])),
        Verdict::DownFor(Duration::from_secs(120))
    );
    assert_eq!(verdict(response(529, &[])), Verdict::Failure);
    assert_eq!(verdict(response(401, &[])), Verdict::CredentialsRefused);
    assert_eq!(verdict(response(422, &[])), Verdict::Ignored);
    // The inner service gave no response at all (connection refused): a failure.
    assert_eq!(verdict(Err("connection refused")), Verdict::Failure);
}

/// A 429 closes the gate for the delay it announces: the calls are rejected as rate
/// limited, without calling the upstream, and nothing counts as a failure.
#[test]
fn a_429_through_the_layer_rate_limits_without_failing() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let reply = Arc::new(Mutex::new((429, vec![("retry-after", "6")])));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)).with_classifier(HttpStatus))
        .service(http_upstream(&reply, &calls));

    assert_eq!(call(&mut service).unwrap().status(), 429);
    match call(&mut service) {
        Err(BreakerError::Open(open)) => {
            assert!(open.is_rate_limited());
            assert_eq!(open.retry_after(), Some(Duration::from_secs(6)));
        }
        other => panic!("expected a rate-limited rejection, got {other:?}"),
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the upstream was not called"
    );
    let metrics = breaker.metrics();
    assert_eq!((metrics.failed, metrics.rate_limited), (0, 1));
    assert_eq!(breaker.state(), CircuitState::Closed);

    clock.advance(Duration::from_secs(6));
    *reply.lock().unwrap() = (200, Vec::new());
    assert_eq!(call(&mut service).unwrap().status(), 200);
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
