//! The tower layer's readiness contract: an open circuit is not a `poll_ready` error (tower
//! discards a service whose readiness fails); the service is ready at once and the call
//! fails fast, without polling or calling the inner service. Behind a `Buffer`, in
//! `ServiceBuilder` stacks, on clones, and when calls or services are dropped midway.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::upstream::{Down, Reply, Upstream, later};
use breaker::tower::{
    CircuitBreakerLayer, CircuitBreakerService, ErrorsAreFailures, ResponseFuture,
};
use breaker::{BreakerConfig, BreakerError, CircuitBreaker, CircuitState, ManualClock};
use futures::FutureExt;
use futures::channel::oneshot;
use futures::executor::block_on;
use tower::buffer::Buffer;
use tower::limit::ConcurrencyLimit;
use tower::retry::Policy;
use tower::{BoxError, Layer, Service, ServiceBuilder, ServiceExt, service_fn};

const COOLDOWN: Duration = Duration::from_secs(10);

/// Opens after 2 failures in a row, for 10 s; one probe at a time.
fn breaker(clock: &ManualClock) -> Arc<CircuitBreaker> {
    let config = BreakerConfig::default()
        .with_threshold(2)
        .with_cooldown(COOLDOWN)
        .with_half_open_max(1);
    Arc::new(CircuitBreaker::with_clock(
        "upstream",
        config,
        clock.clone(),
    ))
}

/// Opens `breaker` with failures of its own calls, as other callers' would.
fn trip(breaker: &CircuitBreaker) {
    while breaker.state() != CircuitState::Open {
        breaker.acquire().unwrap().failure();
    }
}

fn poll_ready<S: Service<R>, R>(service: &mut S) -> Poll<Result<(), S::Error>> {
    service.poll_ready(&mut Context::from_waker(Waker::noop()))
}

/// Waits for the service to be ready, then calls it.
fn ready_call<S: Service<Reply>>(service: &mut S, reply: Reply) -> Result<S::Response, S::Error> {
    block_on(async { service.ready().await?.call(reply).await })
}

fn is_open<E>(result: &Result<(), BreakerError<E>>, state: CircuitState) -> bool {
    matches!(result, Err(BreakerError::Open(open)) if open.state() == state)
}

/// The breaker's error inside a boxed one (`Buffer`, `load_shed`).
fn breaker_error(error: &BoxError) -> &BreakerError<Down> {
    error
        .downcast_ref::<BreakerError<Down>>()
        .unwrap_or_else(|| panic!("not the breaker's error: {error}"))
}

#[test]
fn an_open_circuit_is_ready_and_its_call_fails_fast_without_the_inner_service() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let upstream = Upstream::default();
    let mut service = CircuitBreakerLayer::new(Arc::clone(&breaker)).layer(upstream.clone());
    trip(&breaker);

    assert!(
        matches!(poll_ready(&mut service), Poll::Ready(Ok(()))),
        "an open circuit must not fail readiness"
    );
    let rejected = block_on(service.call(Reply::Ok));
    match rejected {
        Err(BreakerError::Open(open)) => assert_eq!(open.retry_after(), Some(COOLDOWN)),
        other => panic!("expected the open circuit, got {other:?}"),
    }
    assert_eq!(
        (upstream.polls(), upstream.calls()),
        (0, 0),
        "the upstream untouched"
    );

    // After the cooldown the same service sends the probe.
    clock.advance(COOLDOWN);
    assert_eq!(ready_call(&mut service, Reply::Ok), Ok(()));
    assert_eq!((upstream.polls(), upstream.calls()), (1, 1));
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[tokio::test]
async fn behind_a_buffer_the_probe_goes_after_the_cooldown() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let upstream = Upstream::default();
    let service = CircuitBreakerLayer::new(Arc::clone(&breaker)).layer(upstream.clone());
    let buffer = Buffer::new(service, 8);

    for _ in 0..2 {
        let failed = buffer.clone().oneshot(Reply::Fail).await.unwrap_err();
        assert_eq!(breaker_error(&failed), &BreakerError::Inner(Down));
    }
    assert_eq!(breaker.state(), CircuitState::Open);
    for _ in 0..3 {
        let rejected = buffer.clone().oneshot(Reply::Ok).await.unwrap_err();
        assert!(breaker_error(&rejected).is_open(), "{rejected}");
    }
    assert_eq!(upstream.calls(), 2);

    // The buffer's worker still has its service: after the cooldown, the probe goes.
    clock.advance(COOLDOWN);
    buffer.clone().oneshot(Reply::Ok).await.unwrap();
    assert_eq!(upstream.calls(), 3);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[tokio::test]
async fn a_load_shed_stack_passes_the_open_error_through_and_probes_after_the_cooldown() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let upstream = Upstream::default();
    let mut service = ServiceBuilder::new()
        .load_shed()
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)))
        .service(upstream.clone());
    trip(&breaker);

    // Ready (not overloaded, not failed): the call says the circuit is open.
    let ready = service.ready().await;
    assert!(ready.is_ok(), "readiness failed: {:?}", ready.err());
    let rejected = service.call(Reply::Ok).await.unwrap_err();
    assert!(breaker_error(&rejected).is_open(), "{rejected}");

    clock.advance(COOLDOWN);
    service
        .ready()
        .await
        .unwrap()
        .call(Reply::Ok)
        .await
        .unwrap();
    assert_eq!(upstream.calls(), 1);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

/// The breaker in front of a limit of one call at a time, whose slot a call admitted while
/// closed holds, hanging on the upstream.
struct Saturated {
    service: CircuitBreakerService<ConcurrencyLimit<Upstream>>,
    upstream: Upstream,
    /// The hung call's answer, to send.
    answer: oneshot::Sender<Result<(), Down>>,
    hung_call:
        ResponseFuture<<ConcurrencyLimit<Upstream> as Service<Reply>>::Future, ErrorsAreFailures>,
}

fn saturated(breaker: &Arc<CircuitBreaker>) -> Saturated {
    let upstream = Upstream::default();
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(breaker)))
        .concurrency_limit(1)
        .service(upstream.clone());
    let (answer, reply) = later();
    let mut hung = service.clone();
    let hung_call = block_on(hung.ready()).unwrap().call(reply);
    Saturated {
        service,
        upstream,
        answer,
        hung_call,
    }
}

#[test]
fn an_open_circuit_does_not_wait_for_a_saturated_inner_service() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let Saturated {
        service,
        upstream,
        answer,
        mut hung_call,
    } = saturated(&breaker);
    assert!((&mut hung_call).now_or_never().is_none());
    // Closed: readiness waits on the saturated inner service.
    let mut waiting = service.clone();
    assert!(poll_ready(&mut waiting).is_pending());

    // Open: ready at once, and the call fails fast; the upstream is not asked.
    trip(&breaker);
    let mut caller = service.clone();
    let polls = upstream.polls();
    assert!(
        matches!(poll_ready(&mut caller), Poll::Ready(Ok(()))),
        "an open circuit must not fail readiness"
    );
    assert!(is_open(
        &block_on(caller.call(Reply::Ok)),
        CircuitState::Open
    ));
    assert_eq!((upstream.polls(), upstream.calls()), (polls, 1));

    answer.send(Ok(())).unwrap();
    assert_eq!(block_on(hung_call), Ok(()));
}

/// What a call through the retry stack returns.
type Attempt = Result<(), BreakerError<&'static str>>;

/// Retries what the upstream failed, up to 4 attempts; never a rejection. Keeps every
/// result it is shown.
#[derive(Clone)]
struct RetryUpstreamErrors {
    attempts: usize,
    seen: Arc<Mutex<Vec<Attempt>>>,
}

impl Policy<bool, (), BreakerError<&'static str>> for RetryUpstreamErrors {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _: &mut bool, result: &mut Attempt) -> Option<Self::Future> {
        self.seen.lock().unwrap().push(result.clone());
        self.attempts += 1;
        let again = matches!(result, Err(BreakerError::Inner(_))) && self.attempts < 4;
        again.then(|| std::future::ready(()))
    }

    fn clone_request(&mut self, failing: &bool) -> Option<bool> {
        Some(*failing)
    }
}

#[test]
fn a_retry_policy_is_shown_the_open_circuit_as_the_calls_result() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = RetryUpstreamErrors {
        attempts: 0,
        seen: Arc::clone(&seen),
    };
    let upstream = service_fn(|fail: bool| async move { if fail { Err("down") } else { Ok(()) } });
    let service = ServiceBuilder::new()
        .retry(policy)
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)))
        .service(upstream);

    // Two failures open the circuit; the third attempt is rejected, and the policy, shown
    // the rejection, stops.
    let result = block_on(service.oneshot(true));
    assert!(is_open(&result, CircuitState::Open), "{result:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "the policy was shown {seen:?}");
    let down = Err(BreakerError::Inner("down"));
    assert_eq!(seen[..2], [down.clone(), down]);
    assert!(is_open(&seen[2], CircuitState::Open));
}

#[test]
fn clones_poll_their_own_readiness_and_share_the_probe_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let upstream = Upstream::default();
    let service = CircuitBreakerLayer::new(Arc::clone(&breaker)).layer(upstream.clone());
    trip(&breaker);
    clock.advance(COOLDOWN);

    // The first clone ready takes the one probe slot.
    let mut probe = service.clone();
    assert!(matches!(poll_ready(&mut probe), Poll::Ready(Ok(()))));
    // Another clone, or a clone of the ready one (readiness is not cloned), is ready too, and
    // its call fails fast: the circuit is half-open with its probe out.
    for mut other in [service.clone(), probe.clone()] {
        assert!(
            matches!(poll_ready(&mut other), Poll::Ready(Ok(()))),
            "a half-open circuit with its probe out must not fail readiness"
        );
        assert!(is_open(
            &block_on(other.call(Reply::Ok)),
            CircuitState::HalfOpen
        ));
    }
    assert_eq!(upstream.calls(), 0);

    assert_eq!(block_on(probe.call(Reply::Ok)), Ok(()));
    assert_eq!(breaker.state(), CircuitState::Closed);
    let mut later_clone = service.clone();
    assert_eq!(ready_call(&mut later_clone, Reply::Ok), Ok(()));
    assert_eq!(upstream.calls(), 2);
}

#[test]
fn a_response_future_dropped_mid_call_counts_as_neither_and_frees_the_probe_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let upstream = Upstream::default();
    let mut service = CircuitBreakerLayer::new(Arc::clone(&breaker)).layer(upstream.clone());
    trip(&breaker);
    clock.advance(COOLDOWN);
    let before = breaker.metrics();

    let (_answer, reply) = later();
    let mut probe = block_on(service.ready()).unwrap().call(reply);
    assert!(
        (&mut probe).now_or_never().is_none(),
        "the upstream is still answering"
    );
    assert_eq!(breaker.metrics().probes_in_flight, 1);
    drop(probe);

    let after = breaker.metrics();
    assert_eq!(after.probes_in_flight, 0, "the slot is given back");
    assert_eq!(after.abandoned, before.abandoned + 1);
    assert_eq!(
        (after.succeeded, after.failed, after.state),
        (before.succeeded, before.failed, CircuitState::HalfOpen),
        "neither a success nor a failure"
    );
    // The next call is the probe.
    assert_eq!(ready_call(&mut service, Reply::Ok), Ok(()));
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_service_dropped_while_its_inner_service_is_not_ready_frees_its_probe_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let Saturated {
        service,
        answer,
        hung_call,
        ..
    } = saturated(&breaker);
    // Then the circuit opens.
    trip(&breaker);
    clock.advance(COOLDOWN);

    {
        // Admitted as the probe, waiting for the limit; dropped before it is ready.
        let mut waiting = service.clone();
        assert!(poll_ready(&mut waiting).is_pending());
        assert_eq!(breaker.metrics().probes_in_flight, 1);
    }
    assert_eq!(
        breaker.metrics().probes_in_flight,
        0,
        "the slot is given back"
    );
    assert_eq!(breaker.state(), CircuitState::HalfOpen);

    answer.send(Ok(())).unwrap();
    assert_eq!(
        block_on(hung_call),
        Ok(()),
        "admitted while closed: a stale report"
    );
    assert_eq!(block_on(service.oneshot(Reply::Ok)), Ok(()));
    assert_eq!(breaker.state(), CircuitState::Closed);
}
