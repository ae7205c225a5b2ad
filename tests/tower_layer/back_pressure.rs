//! The tower layer's back-pressure mode (`Readiness::BackPressure`): while the circuit is
//! half-open with every probe slot taken, readiness is `Pending`, and wakes when a slot is
//! given back or the state changes; an open circuit still fails fast.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::upstream::{Down, Reply, Upstream, later};
use breaker::tower::{CircuitBreakerLayer, CircuitBreakerService, Readiness};
use breaker::{BreakerConfig, BreakerError, CircuitBreaker, CircuitState, ManualClock};
use futures::FutureExt;
use futures::executor::block_on;
use tower::buffer::Buffer;
use tower::load_shed::error::Overloaded;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

const COOLDOWN: Duration = Duration::from_secs(10);

/// Opens after 2 failures in a row, for 10 s; `probes` probes at a time.
fn breaker(clock: &ManualClock, probes: u32) -> Arc<CircuitBreaker> {
    let config = BreakerConfig::default()
        .with_threshold(2)
        .with_cooldown(COOLDOWN)
        .with_half_open_max(probes);
    Arc::new(CircuitBreaker::with_clock(
        "upstream",
        config,
        clock.clone(),
    ))
}

fn back_pressure(breaker: &Arc<CircuitBreaker>) -> CircuitBreakerLayer {
    CircuitBreakerLayer::new(Arc::clone(breaker)).with_readiness(Readiness::BackPressure)
}

/// Opens `breaker`, then lets its cooldown pass: the next call is the probe.
fn half_open(breaker: &CircuitBreaker, clock: &ManualClock) {
    while breaker.state() != CircuitState::Open {
        breaker.acquire().unwrap().failure();
    }
    clock.advance(COOLDOWN);
}

/// A waker that counts its wakes.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Wakes {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

type Guarded = CircuitBreakerService<Upstream>;

fn poll_ready(service: &mut Guarded, wakes: &Arc<Wakes>) -> Poll<Result<(), BreakerError<Down>>> {
    let waker = Waker::from(Arc::clone(wakes));
    Service::<Reply>::poll_ready(service, &mut Context::from_waker(&waker))
}

/// A probe out (ready, holding the slot) and another clone waiting for the slot.
fn probe_and_waiter(
    breaker: &Arc<CircuitBreaker>,
    upstream: &Upstream,
) -> (Guarded, Guarded, Arc<Wakes>) {
    let service = back_pressure(breaker).layer(upstream.clone());
    let (mut probe, mut waiting) = (service.clone(), service);
    let wakes = Arc::new(Wakes::default());
    assert!(matches!(
        poll_ready(&mut probe, &wakes),
        Poll::Ready(Ok(()))
    ));
    assert!(
        poll_ready(&mut waiting, &wakes).is_pending(),
        "the probe slot is taken"
    );
    assert_eq!(wakes.count(), 0);
    (probe, waiting, wakes)
}

#[test]
fn readiness_waits_for_the_probe_slot_and_wakes_when_it_is_given_back() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let upstream = Upstream::default();
    half_open(&breaker, &clock);
    let (probe, mut waiting, wakes) = probe_and_waiter(&breaker, &upstream);
    assert_eq!(
        upstream.polls(),
        1,
        "only the probe's readiness reached the upstream"
    );
    // Polled again while waiting: still pending, not woken.
    assert!(poll_ready(&mut waiting, &wakes).is_pending());

    drop(probe); // ready, never called: its slot is given back
    assert_eq!(wakes.count(), 1, "the waiter is woken");
    assert!(matches!(
        poll_ready(&mut waiting, &wakes),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(block_on(waiting.call(Reply::Ok)), Ok(()));
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_probe_dropped_mid_call_wakes_the_waiter_with_its_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let upstream = Upstream::default();
    half_open(&breaker, &clock);
    let (mut probe, mut waiting, wakes) = probe_and_waiter(&breaker, &upstream);

    let (_answer, reply) = later();
    let mut call = probe.call(reply);
    assert!(
        (&mut call).now_or_never().is_none(),
        "the upstream is still answering"
    );
    assert!(poll_ready(&mut waiting, &wakes).is_pending());
    drop(call);

    assert_eq!(wakes.count(), 1);
    assert!(matches!(
        poll_ready(&mut waiting, &wakes),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(breaker.metrics().probes_in_flight, 1, "the waiter's probe");
}

#[test]
fn a_probe_that_closes_the_circuit_wakes_the_waiter_into_closed() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let upstream = Upstream::default();
    half_open(&breaker, &clock);
    let (mut probe, mut waiting, wakes) = probe_and_waiter(&breaker, &upstream);

    assert_eq!(block_on(probe.call(Reply::Ok)), Ok(()));
    assert_eq!(wakes.count(), 1);
    assert!(matches!(
        poll_ready(&mut waiting, &wakes),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(block_on(waiting.call(Reply::Ok)), Ok(()));
    assert_eq!(upstream.calls(), 2);
}

#[test]
fn a_probe_that_reopens_the_circuit_wakes_the_waiter_to_fail_fast() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let upstream = Upstream::default();
    half_open(&breaker, &clock);
    let (mut probe, mut waiting, wakes) = probe_and_waiter(&breaker, &upstream);

    assert_eq!(
        block_on(probe.call(Reply::Fail)),
        Err(BreakerError::Inner(Down))
    );
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(wakes.count(), 1);
    // Open: ready at once, the call fails fast, the upstream is not asked.
    assert!(matches!(
        poll_ready(&mut waiting, &wakes),
        Poll::Ready(Ok(()))
    ));
    match block_on(waiting.call(Reply::Ok)) {
        Err(BreakerError::Open(open)) => assert_eq!(open.state(), CircuitState::Open),
        other => panic!("expected the open circuit, got {other:?}"),
    }
    assert_eq!((upstream.polls(), upstream.calls()), (1, 1));
}

#[test]
fn an_open_or_forced_open_circuit_still_fails_fast() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let upstream = Upstream::default();
    let mut service = back_pressure(&breaker).layer(upstream.clone());
    let wakes = Arc::new(Wakes::default());
    for force in [false, true] {
        if force {
            breaker.force_open();
        } else {
            half_open(&breaker, &clock);
            clock.advance(Duration::ZERO);
            breaker.acquire().unwrap().failure(); // the probe failed: open again
        }
        assert!(matches!(
            poll_ready(&mut service, &wakes),
            Poll::Ready(Ok(()))
        ));
        assert!(block_on(service.call(Reply::Ok)).unwrap_err().is_open());
    }
    assert_eq!((upstream.polls(), upstream.calls()), (0, 0));
}

#[tokio::test]
async fn behind_a_buffer_requests_queue_while_the_probe_is_out() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let upstream = Upstream::default();
    let buffer = Buffer::new(back_pressure(&breaker).layer(upstream.clone()), 8);
    half_open(&breaker, &clock);

    let (answer, reply) = later();
    let probe = tokio::spawn(buffer.clone().oneshot(reply));
    let queued = tokio::spawn(buffer.clone().oneshot(Reply::Ok));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(upstream.calls(), 1, "the probe is out");
    assert!(
        !queued.is_finished(),
        "the second request waits, it is not rejected"
    );

    // The probe closes the circuit, which wakes the buffer's worker: the request goes.
    answer.send(Ok(())).unwrap();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(queued.is_finished(), "the queued request was never woken");
    probe.await.unwrap().unwrap();
    queued.await.unwrap().unwrap();
    assert_eq!(upstream.calls(), 2);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn under_load_shed_a_full_half_open_budget_sheds_the_call() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let upstream = Upstream::default();
    let service = ServiceBuilder::new()
        .load_shed()
        .layer(back_pressure(&breaker))
        .service(upstream.clone());
    half_open(&breaker, &clock);

    let mut probe = service.clone();
    block_on(probe.ready()).unwrap();
    let shed = block_on(service.clone().oneshot(Reply::Ok)).unwrap_err();
    assert!(shed.is::<Overloaded>(), "{shed}");

    block_on(probe.call(Reply::Ok)).unwrap();
    block_on(service.oneshot(Reply::Ok)).unwrap();
    assert_eq!(upstream.calls(), 2);
}

#[test]
fn threads_waiting_for_probe_slots_all_get_one() {
    // Half-open with 1 slot, closing after 800 successful probes: 8 threads make 100 calls
    // each, racing for the slot (a thread ready yields before it calls, holding it); each
    // probe's success gives the slot back to the waiters.
    // Every call must get through (a lost wake-up leaves a thread waiting for ever).
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(COOLDOWN)
        .with_half_open_max(1)
        .with_success_threshold(800);
    let breaker = Arc::new(CircuitBreaker::with_clock(
        "upstream",
        config,
        clock.clone(),
    ));
    half_open(&breaker, &clock);
    let service = back_pressure(&breaker).layer(Upstream::default());
    let start = Arc::new(Barrier::new(8));
    let (done, finished) = std::sync::mpsc::channel();
    for _ in 0..8 {
        let (mut service, start, done) = (service.clone(), Arc::clone(&start), done.clone());
        std::thread::spawn(move || {
            start.wait();
            for _ in 0..100 {
                let result = block_on(async {
                    let ready = service.ready().await?;
                    std::thread::yield_now();
                    ready.call(Reply::Ok).await
                });
                done.send(result).unwrap();
            }
        });
    }
    for _ in 0..800 {
        let result = finished
            .recv_timeout(Duration::from_secs(60))
            .expect("a waiting thread was never woken");
        assert_eq!(result, Ok(()));
    }
    assert_eq!(breaker.state(), CircuitState::Closed);
    // The racers met: some found both slots taken and waited.
    assert!(
        breaker.metrics().rejected > 0,
        "no thread ever waited: {:?}",
        breaker.metrics()
    );
}

#[test]
fn a_rate_limit_while_half_open_fails_fast_rather_than_wait() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, 1);
    let upstream = Upstream::default();
    half_open(&breaker, &clock);
    // The probe meets a rate limit: its slot is free, but the gate holds calls back for 5 s,
    // an end that is a time, which no slot event would wake a waiter for.
    breaker
        .acquire()
        .unwrap()
        .rate_limited(Some(Duration::from_secs(5)));
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    let mut service = back_pressure(&breaker).layer(upstream.clone());
    let wakes = Arc::new(Wakes::default());
    assert!(
        matches!(poll_ready(&mut service, &wakes), Poll::Ready(Ok(()))),
        "ready at once: the call fails fast"
    );
    match block_on(service.call(Reply::Ok)) {
        Err(BreakerError::Open(open)) => {
            assert!(open.is_rate_limited(), "{open}");
            assert_eq!(open.retry_after(), Some(Duration::from_secs(5)));
        }
        other => panic!("not a rate-limited rejection: {other:?}"),
    }
    assert_eq!(upstream.polls(), 0, "the upstream was not asked");
    clock.advance(Duration::from_secs(5));
    assert!(matches!(
        poll_ready(&mut service, &wakes),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(block_on(service.call(Reply::Ok)), Ok(()));
    assert_eq!(breaker.state(), CircuitState::Closed);
}
