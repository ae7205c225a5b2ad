//! A circuit breaker as `tower` middleware: a flaky HTTP upstream behind
//! `CircuitBreakerLayer`, with the `HttpStatus` classifier (a 5xx is a failure, a 429 a rate
//! limit, a 404 says nothing of the remote: see `breaker::http`), and
//! the whole behind a `tower::buffer::Buffer`, as servers often put a service.
//!
//! The buffer's worker polls the one breaker service for every request. An open circuit
//! does not fail that service's readiness (tower would take that for a broken service, and
//! the buffer would fail every request after it); the calls fail fast instead, and after the
//! cooldown the same service sends the probe.
//!
//! Run it with `cargo run --example tower_service --features tower`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use breaker::tower::{CircuitBreakerLayer, HttpStatus};
use breaker::{BreakerConfig, BreakerError, CircuitBreaker, ManualClock};
use tower::buffer::Buffer;
use tower::{ServiceBuilder, ServiceExt, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A manual clock, so that the demo shows a cooldown without waiting for it.
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(3)
        .with_cooldown(Duration::from_secs(30));
    let breaker = Arc::new(CircuitBreaker::with_clock(
        "inventory-api",
        config,
        clock.clone(),
    ));

    // The upstream answers 503 to its 3rd to 5th requests.
    let requests = Arc::new(AtomicU32::new(0));
    let upstream = service_fn(move |path: &'static str| {
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        let status = if (3..=5).contains(&n) { 503 } else { 200 };
        async move {
            http::Response::builder()
                .status(status)
                .body(format!("{path}: {status}"))
        }
    });
    let guarded = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)).with_classifier(HttpStatus))
        .service(upstream);
    let service = Buffer::new(guarded, 32);

    for step in 1..=10 {
        if step == 7 {
            println!("... 30 s later");
            clock.advance(Duration::from_secs(30));
        }
        let shown = match service.clone().oneshot("/stock").await {
            Ok(response) => format!("upstream said {}", response.status()),
            // The buffer boxes the errors: the breaker's is inside.
            Err(error) => match error.downcast_ref::<BreakerError<http::Error>>() {
                Some(BreakerError::Open(open)) => format!("rejected: {open}"),
                _ => format!("upstream error: {error}"),
            },
        };
        println!("request {step:>2}: {shown:<72} breaker {}", breaker.state());
    }
}
