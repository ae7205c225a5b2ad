//! The three permit handles (`Permit`, `OwnedPermit`, `KeyedPermit`) walked through
//! every reporting method, each on its own concrete type: a method missing on one handle
//! fails to compile here. Then what `fail_on_panic` arms: a panic, a cancellation and an
//! early return before the report are failures; `run` leaves the permit armed.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker::{
    BreakerConfig, CircuitBreaker, CircuitOpen, CircuitState, ManualClock, OwnedPermit, Permit,
};
use breaker::{BreakerRef, KeyedPermit, KeyedRegistry};

const NAME: &str = "gpt-4o";
const COOLDOWN: Duration = Duration::from_secs(30);

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .with_threshold(2)
        .with_cooldown(COOLDOWN)
}

/// A breaker borrowed by its permits.
struct Borrowed {
    breaker: CircuitBreaker,
    clock: ManualClock,
}

impl Borrowed {
    fn new() -> Self {
        let clock = ManualClock::new();
        let breaker = CircuitBreaker::with_clock(NAME, config(), clock.clone());
        Self { breaker, clock }
    }

    fn acquire(&self) -> Result<Permit<'_>, CircuitOpen> {
        self.breaker.acquire()
    }

    fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

/// A breaker held by `Arc` in its permits.
struct Owned {
    breaker: Arc<CircuitBreaker>,
    clock: ManualClock,
}

impl Owned {
    fn new() -> Self {
        let clock = ManualClock::new();
        let breaker = Arc::new(CircuitBreaker::with_clock(NAME, config(), clock.clone()));
        Self { breaker, clock }
    }

    fn acquire(&self) -> Result<OwnedPermit, CircuitOpen> {
        self.breaker.acquire_owned()
    }

    fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

/// A breaker of a keyed registry.
struct Registered {
    registry: KeyedRegistry<Arc<str>>,
    clock: ManualClock,
}

impl Registered {
    fn new() -> Self {
        let clock = ManualClock::new();
        let registry = KeyedRegistry::with_clock(4, config(), clock.clone());
        Self { registry, clock }
    }

    fn acquire(&self) -> Result<KeyedPermit<'_>, CircuitOpen> {
        self.registry.acquire(NAME)
    }

    fn breaker(&self) -> BreakerRef<'_> {
        self.registry.get_or_insert(NAME)
    }
}

/// The guarded code of a permit, panicking.
fn a_call_that_panics() -> Result<u32, ()> {
    panic!("the guarded code panics")
}

/// Walks the handle built by `$fixture` through every method of a permit, on its concrete
/// permit type, checking the breaker's metrics after each report.
macro_rules! walk_every_method {
    ($fixture:expr, $debug_name:literal) => {{
        let fixture = $fixture;
        let metrics = || fixture.breaker().metrics();
        let counts = || {
            let m = metrics();
            (m.succeeded, m.failed, m.ignored, m.abandoned)
        };

        fixture.acquire().unwrap().success();
        assert_eq!(counts(), (1, 0, 0, 0), "success");
        fixture.acquire().unwrap().failure();
        assert_eq!(counts(), (1, 1, 0, 0), "failure");
        assert_eq!(metrics().consecutive_failures, 1);
        fixture.acquire().unwrap().report(true);
        assert_eq!(counts(), (2, 1, 0, 0), "report(true)");
        assert_eq!(metrics().consecutive_failures, 0);
        fixture.acquire().unwrap().report(false);
        assert_eq!(counts(), (2, 2, 0, 0), "report(false)");
        fixture.acquire().unwrap().record(&Ok::<u8, ()>(1));
        assert_eq!(counts(), (3, 2, 0, 0), "record(Ok)");
        fixture.acquire().unwrap().record(&Err::<u8, ()>(()));
        assert_eq!(counts(), (3, 3, 0, 0), "record(Err)");
        let is_server_error = |status: &u16| *status >= 500;
        fixture
            .acquire()
            .unwrap()
            .record_with(&Err::<(), u16>(404), is_server_error);
        assert_eq!(counts(), (3, 3, 1, 0), "record_with, a client error");
        fixture.acquire().unwrap().ignore();
        assert_eq!(counts(), (3, 3, 2, 0), "ignore");
        fixture
            .acquire()
            .unwrap()
            .record_with(&Ok::<(), u16>(()), is_server_error);
        assert_eq!(counts(), (4, 3, 2, 0), "record_with(Ok)");

        let mut permit = fixture.acquire().unwrap();
        assert_eq!(permit.run(|| 7), 7);
        let eight = futures::executor::block_on(permit.run_future(async { 8 }));
        assert_eq!(eight, 8);
        assert_eq!(permit.state(), CircuitState::Closed);
        assert!(!permit.is_probe());
        assert!(!permit.is_stale());
        assert_eq!(permit.generation(), fixture.breaker().generation());
        assert_eq!(permit.breaker().name(), NAME);
        assert!(
            format!("{permit:?}").starts_with(concat!($debug_name, " {")),
            "{permit:?}"
        );
        permit.success();
        assert_eq!(counts(), (5, 3, 2, 0), "run, run_future, then success");

        let stale = fixture.acquire().unwrap();
        fixture.breaker().reset();
        assert!(stale.is_stale(), "admitted before a reset");
        drop(stale);
        assert_eq!(counts(), (5, 3, 2, 1), "dropped unarmed: abandoned");

        drop(fixture.acquire().unwrap().fail_on_panic());
        assert_eq!(counts(), (5, 4, 2, 1), "dropped armed: a failure");
        let caught = catch_unwind(AssertUnwindSafe(|| {
            let permit = fixture.acquire().unwrap().fail_on_panic();
            let reply = a_call_that_panics();
            permit.record(&reply);
        }));
        assert!(caught.is_err());
        assert_eq!(counts(), (5, 5, 2, 1), "a panic after arming: a failure");
        assert_eq!(metrics().state, CircuitState::Open, "two failures in a row");

        fixture.clock.advance(COOLDOWN);
        let probe = fixture.acquire().unwrap();
        assert!(probe.is_probe());
        assert_eq!(probe.state(), CircuitState::HalfOpen);
        assert!(!probe.is_stale());
        assert_eq!(probe.generation(), fixture.breaker().generation());
        probe.fail_on_panic().success();
        assert_eq!(
            metrics().state,
            CircuitState::Closed,
            "an armed probe's success"
        );
    }};
}

#[test]
fn a_borrowed_permit_has_every_method() {
    walk_every_method!(Borrowed::new(), "Permit");
}

#[test]
fn an_owned_permit_has_every_method() {
    walk_every_method!(Owned::new(), "OwnedPermit");
}

#[test]
fn a_registry_permit_has_every_method() {
    walk_every_method!(Registered::new(), "RegistryPermit");
}

/// A future that is pending once, then ready.
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Polls `call` once (it is pending) and drops it: a call cancelled before it answered.
fn cancel_after_one_poll(call: impl Future<Output = ()>) {
    let mut call = pin!(call);
    let polled = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(polled.is_pending());
}

#[test]
fn an_armed_permit_in_a_cancelled_future_is_a_failure() {
    let breaker = CircuitBreaker::new(NAME, config());
    cancel_after_one_poll(async {
        let permit = breaker.acquire().unwrap().fail_on_panic();
        PendingOnce(false).await;
        permit.success();
    });
    let metrics = breaker.metrics();
    assert_eq!((metrics.failed, metrics.abandoned), (1, 0));
}

#[test]
fn an_unarmed_permit_in_a_cancelled_future_is_abandoned() {
    let breaker = CircuitBreaker::new(NAME, config());
    cancel_after_one_poll(async {
        let mut permit = breaker.acquire().unwrap();
        permit.run_future(PendingOnce(false)).await;
        permit.success();
    });
    let metrics = breaker.metrics();
    assert_eq!((metrics.failed, metrics.abandoned), (0, 1));
}

#[test]
fn an_early_return_from_an_armed_permit_is_a_failure() {
    let breaker = CircuitBreaker::new(NAME, config());
    let call = || -> Result<u32, std::num::ParseIntError> {
        let permit = breaker.acquire().unwrap().fail_on_panic();
        let reply: u32 = "not a number".parse()?;
        permit.success();
        Ok(reply)
    };
    assert!(call().is_err());
    assert_eq!(breaker.metrics().failed, 1);
}

#[test]
fn run_and_run_future_leave_an_armed_permit_armed() {
    let breaker = CircuitBreaker::new(NAME, config());
    let mut permit = breaker.acquire().unwrap().fail_on_panic();
    permit.run(|| ());
    drop(permit);
    assert_eq!(breaker.metrics().failed, 1, "armed after run");

    let mut permit = breaker.acquire().unwrap().fail_on_panic();
    futures::executor::block_on(permit.run_future(async {}));
    drop(permit);
    let metrics = breaker.metrics();
    assert_eq!(
        (metrics.failed, metrics.abandoned),
        (2, 0),
        "armed after run_future"
    );
}

#[test]
fn every_permit_is_a_pointer_and_two_words() {
    use std::mem::size_of;
    let pointer_and_two_words = size_of::<usize>() + 2 * size_of::<u64>();
    assert_eq!(size_of::<Permit<'_>>(), pointer_and_two_words);
    assert_eq!(size_of::<OwnedPermit>(), pointer_and_two_words);
    assert_eq!(size_of::<KeyedPermit<'_>>(), pointer_and_two_words);
}
