//! Transition events (listeners and `tracing`, target `breaker`) and the metrics snapshot.
//!
//! A test binary of its own: it installs the process-wide `tracing` subscriber, and a
//! breaker of another test registering a call site while the subscriber is being installed
//! could leave that call site's cached interest at "never", losing the events checked here.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use breaker::MAX_LISTENER_CHAIN;
use breaker::{
    BreakerConfig, CircuitBreaker, CircuitEvent, CircuitState, ManualClock, StateChange,
};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// One captured tracing event: its target, level and fields (as text).
#[derive(Debug, Clone)]
struct Captured {
    target: String,
    level: Level,
    fields: BTreeMap<String, String>,
}

thread_local! {
    /// The events captured on this thread, while `capture` runs.
    static CAPTURED: RefCell<Option<Vec<Captured>>> = const { RefCell::new(None) };
}

/// A layer that hands each event to the capture of the thread that emitted it.
///
/// It is installed once, as the global default, before any test of this file emits
/// anything: a thread-local default (`with_default`) races with `tracing`'s process-wide
/// cache of which call sites are enabled when tests run in parallel, and loses events.
struct Capture;

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        CAPTURED.with(|captured| {
            if let Some(captured) = captured.borrow_mut().as_mut() {
                let mut fields = BTreeMap::new();
                event.record(&mut Fields(&mut fields));
                captured.push(Captured {
                    target: event.metadata().target().to_owned(),
                    level: *event.metadata().level(),
                    fields,
                });
            }
        });
    }
}

/// Installs the capturing subscriber; every test calls it first.
fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("no other global subscriber in this test binary");
    });
}

/// The tracing events that `f` emits on this thread.
fn capture(f: impl FnOnce()) -> Vec<Captured> {
    init();
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    f();
    CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default())
}

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .with_threshold(2)
        .with_cooldown(Duration::from_secs(10))
}

/// Drives a breaker Closed -> Open -> HalfOpen -> Open -> HalfOpen -> Closed.
fn full_cycle(breaker: &CircuitBreaker, clock: &ManualClock) {
    breaker.acquire().unwrap().failure();
    breaker.acquire().unwrap().failure();
    clock.advance(Duration::from_secs(10));
    breaker.acquire().unwrap().failure();
    clock.advance(Duration::from_secs(10));
    breaker.acquire().unwrap().success();
}

#[test]
fn listeners_see_every_transition_in_order_with_its_generation() {
    init();
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock("gpt-4o", config(), clock.clone());
    let first: Arc<Mutex<Vec<StateChange>>> = Arc::default();
    let second: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = Arc::clone(&first);
    breaker.on_transition(move |change| sink.lock().unwrap().push(change.clone()));
    let sink = Arc::clone(&second);
    breaker.on_transition(move |change| sink.lock().unwrap().push(change.generation));

    full_cycle(&breaker, &clock);

    use CircuitState::*;
    let seen = first.lock().unwrap();
    let moves: Vec<_> = seen
        .iter()
        .map(|c| (c.from, c.to, c.event, c.generation))
        .collect();
    assert_eq!(
        moves,
        [
            (Closed, Open, CircuitEvent::Trip, 1),
            (Open, HalfOpen, CircuitEvent::CooldownElapsed, 2),
            (HalfOpen, Open, CircuitEvent::ProbeFailed, 3),
            (Open, HalfOpen, CircuitEvent::CooldownElapsed, 4),
            (HalfOpen, Closed, CircuitEvent::ProbeSucceeded, 5),
        ]
    );
    assert!(seen.iter().all(|c| c.name == "gpt-4o"));
    assert_eq!(seen[0].at, Duration::ZERO);
    assert_eq!(seen[4].at, Duration::from_secs(20));
    assert_eq!(*second.lock().unwrap(), [1, 2, 3, 4, 5]);

    let json = serde_json::to_value(&seen[4]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "name": "gpt-4o",
            "from": "HalfOpen",
            "to": "Closed",
            "event": "ProbeSucceeded",
            "generation": 5,
            "at_ms": 20000,
        })
    );
    // An opening says what opened it and for how long.
    let json = serde_json::to_value(&seen[0]).unwrap();
    assert_eq!(json["cause"], "a failure");
    assert_eq!(json["open_for_ms"], 10_000);
    assert_eq!(seen[2].cause, Some(breaker::Cause::Failure));
    assert_eq!(
        seen[3].cause,
        Some(breaker::Cause::Failure),
        "HalfOpen keeps its opening's"
    );
    assert_eq!(seen[4].cause, None);
}

#[test]
fn a_panicking_listener_does_not_break_the_breaker_or_the_others() {
    init();
    let breaker = CircuitBreaker::with_clock("m", config(), ManualClock::new());
    let seen: Arc<Mutex<u32>> = Arc::default();
    breaker.on_transition(|_| panic!("a buggy listener"));
    let sink = Arc::clone(&seen);
    breaker.on_transition(move |_| *sink.lock().unwrap() += 1);
    breaker.force_open();
    breaker.reset();
    assert_eq!(*seen.lock().unwrap(), 2);
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn every_transition_is_a_tracing_event_with_target_breaker() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock("claude-sonnet", config(), clock.clone());
    let events: Vec<Captured> = capture(|| {
        full_cycle(&breaker, &clock);
        breaker.force_open();
        breaker.disable();
        breaker.reset();
    })
    .into_iter()
    .filter(|e| e.target == "breaker")
    .collect();
    assert_eq!(events.len(), 8, "{events:#?}");
    let expected = [
        ("Closed", "Open", Level::WARN),
        ("Open", "HalfOpen", Level::INFO),
        ("HalfOpen", "Open", Level::WARN),
        ("Open", "HalfOpen", Level::INFO),
        ("HalfOpen", "Closed", Level::INFO),
        ("Closed", "ForcedOpen", Level::WARN),
        ("ForcedOpen", "Disabled", Level::INFO),
        ("Disabled", "Closed", Level::INFO),
    ];
    for (i, (event, (from, to, level))) in events.iter().zip(expected).enumerate() {
        assert_eq!(event.fields["name"], "claude-sonnet", "{event:?}");
        assert_eq!(event.fields["from"], from, "{event:?}");
        assert_eq!(event.fields["to"], to, "{event:?}");
        assert_eq!(event.fields["generation"], (i + 1).to_string(), "{event:?}");
        assert!(event.fields.contains_key("event"), "{event:?}");
        assert_eq!(event.level, level, "{event:?}");
        assert_eq!(event.fields["message"], "circuit breaker state changed");
    }
}

#[test]
fn no_tracing_event_without_a_transition() {
    let breaker = CircuitBreaker::with_clock("quiet", config(), ManualClock::new());
    let events = capture(|| {
        for _ in 0..100 {
            breaker.acquire().unwrap().success();
        }
        breaker.acquire().unwrap().failure();
        breaker.disable();
        breaker.reset();
    });
    assert_eq!(events.len(), 2, "disable and reset only: {events:#?}");
}

#[test]
fn metrics_count_calls_and_serialize() {
    init();
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock("gpt-4o", config(), clock.clone());
    breaker.acquire().unwrap().success();
    breaker.acquire().unwrap().failure();
    drop(breaker.acquire().unwrap());
    breaker.acquire().unwrap().failure(); // trips
    clock.advance(Duration::from_secs(3));
    assert!(breaker.acquire().is_err());
    assert!(breaker.acquire().is_err());
    clock.advance(Duration::from_millis(500));

    let metrics = breaker.metrics();
    assert_eq!(metrics.name, "gpt-4o");
    assert_eq!(metrics.state, CircuitState::Open);
    assert_eq!(metrics.generation, 1);
    assert_eq!(metrics.admitted, 4);
    assert_eq!(metrics.rejected, 2);
    assert_eq!(metrics.succeeded, 1);
    assert_eq!(metrics.failed, 2);
    assert_eq!(metrics.abandoned, 1);
    assert_eq!(metrics.stale_reports, 0);
    assert_eq!(
        metrics.since_last_transition,
        Some(Duration::from_millis(3500))
    );

    let json = serde_json::to_value(&metrics).unwrap();
    assert_eq!(json["name"], "gpt-4o");
    assert_eq!(json["state"], "Open");
    assert_eq!(json["generation"], 1);
    assert_eq!(json["consecutive_failures"], 0);
    assert_eq!(json["admitted"], 4);
    assert_eq!(json["rejected"], 2);
    assert_eq!(json["since_last_transition_ms"], 3500);
    assert!(json["last_transition_unix_ms"].as_u64().unwrap() > 1_600_000_000_000);

    let fresh = CircuitBreaker::new("fresh", config()).metrics();
    let json = serde_json::to_value(&fresh).unwrap();
    assert!(json["since_last_transition_ms"].is_null());
    assert!(json["last_transition_unix_ms"].is_null());
}

/// Counts how deeply listeners nest on this thread, and the deepest it got.
#[derive(Default)]
struct Nesting {
    now: AtomicU32,
    deepest: AtomicU32,
}

impl Nesting {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.deepest.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Forces `breaker` open, or resets it if it is forced open: a command that always lands.
fn toggle(breaker: &CircuitBreaker) -> bool {
    if breaker.state() == CircuitState::ForcedOpen {
        breaker.reset()
    } else {
        breaker.force_open()
    }
}

fn refusals(events: &[Captured]) -> usize {
    events
        .iter()
        .filter(|e| e.level == Level::ERROR && e.fields["message"].contains("was refused"))
        .count()
}

#[test]
fn a_listener_that_answers_every_transition_with_a_command_stops_without_nesting() {
    let breaker = Arc::new(CircuitBreaker::with_clock(
        "echo",
        config(),
        ManualClock::new(),
    ));
    let seen: Arc<Mutex<Vec<(u64, CircuitState)>>> = Arc::default();
    let nesting = Arc::new(Nesting::default());
    let refused = Arc::new(AtomicU32::new(0));
    let (sink, weak, depth, misses) = (
        Arc::clone(&seen),
        Arc::downgrade(&breaker),
        Arc::clone(&nesting),
        Arc::clone(&refused),
    );
    breaker.on_transition(move |change| {
        depth.enter();
        sink.lock().unwrap().push((change.generation, change.to));
        if !toggle(&weak.upgrade().unwrap()) {
            misses.fetch_add(1, Ordering::SeqCst);
        }
        depth.leave();
    });

    let events = capture(|| assert!(breaker.force_open()));

    let seen = seen.lock().unwrap();
    let links = 1 + MAX_LISTENER_CHAIN as usize;
    assert_eq!(seen.len(), links, "{seen:?}");
    for (i, &(generation, to)) in seen.iter().enumerate() {
        assert_eq!(generation, i as u64 + 1, "{seen:?}");
        let expected = if i % 2 == 0 {
            CircuitState::ForcedOpen
        } else {
            CircuitState::Closed
        };
        assert_eq!(to, expected, "{seen:?}");
    }
    assert_eq!(
        nesting.deepest.load(Ordering::SeqCst),
        1,
        "listeners nested"
    );
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    assert_eq!(refusals(&events), 1, "{events:#?}");
    assert_eq!(breaker.generation(), links as u64);
    drop(seen);
    // The chain is over: a command outside listeners lands (and starts a new chain).
    assert!(breaker.reset());
    assert_eq!(breaker.generation(), 2 * links as u64);
}

#[test]
fn two_breakers_whose_listeners_command_each_other_stop() {
    let clock = ManualClock::new();
    let a = Arc::new(CircuitBreaker::with_clock("a", config(), clock.clone()));
    let b = Arc::new(CircuitBreaker::with_clock("b", config(), clock.clone()));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let nesting = Arc::new(Nesting::default());
    for (this, other) in [(&a, &b), (&b, &a)] {
        let (sink, other, depth) = (
            Arc::clone(&seen),
            Arc::downgrade(other),
            Arc::clone(&nesting),
        );
        this.on_transition(move |change| {
            depth.enter();
            sink.lock()
                .unwrap()
                .push(format!("{} {}", change.name, change.to));
            toggle(&other.upgrade().unwrap());
            depth.leave();
        });
    }

    let events = capture(|| {
        a.acquire().unwrap().failure();
        a.acquire().unwrap().failure();
    });

    let seen = seen.lock().unwrap();
    assert_eq!(
        *seen,
        [
            "a Open",
            "b ForcedOpen",
            "a ForcedOpen",
            "b Closed",
            "a Closed",
            "b ForcedOpen",
            "a ForcedOpen",
            "b Closed",
            "a Closed",
        ]
    );
    assert_eq!(seen.len(), 1 + MAX_LISTENER_CHAIN as usize);
    assert_eq!(
        nesting.deepest.load(Ordering::SeqCst),
        1,
        "listeners nested"
    );
    assert_eq!(refusals(&events), 1, "{events:#?}");
    assert_eq!(
        (a.state(), b.state()),
        (CircuitState::Closed, CircuitState::Closed)
    );
}

#[test]
fn a_transition_made_by_a_listener_reaches_listeners_after_the_one_being_delivered() {
    init();
    let primary = CircuitBreaker::with_clock("primary", config(), ManualClock::new());
    let follower = Arc::new(CircuitBreaker::with_clock(
        "follower",
        config(),
        ManualClock::new(),
    ));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let commanded = Arc::clone(&follower);
    primary.on_transition(move |change| {
        if change.to == CircuitState::ForcedOpen {
            // Made at once, delivered later.
            assert!(commanded.force_open());
            assert_eq!(commanded.state(), CircuitState::ForcedOpen);
        }
    });
    for breaker in [&primary, &*follower] {
        let sink = Arc::clone(&seen);
        breaker.on_transition(move |change| {
            sink.lock()
                .unwrap()
                .push(format!("{} {}", change.name, change.to));
        });
    }

    primary.force_open();
    primary.reset();

    assert_eq!(
        *seen.lock().unwrap(),
        [
            "primary ForcedOpen",
            "follower ForcedOpen",
            "primary Closed"
        ]
    );
}
