//! Unit tests of the breaker's internals: snapshots, generations, counters. The behaviours
//! users see are tested again, through the facade, in the workspace's `tests/runtime/` and
//! `tests/breaker_*.rs`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::clock::ManualClock;
use crate::error::CircuitOpen;

fn breaker(config: BreakerConfig) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    (
        CircuitBreaker::with_clock("test", config, clock.clone()),
        clock,
    )
}

fn config(threshold: u32, cooldown_secs: u64, half_open_max: u32) -> BreakerConfig {
    BreakerConfig::default()
        .with_threshold(threshold)
        .with_cooldown(Duration::from_secs(cooldown_secs))
        .with_half_open_max(half_open_max)
}

fn record(breaker: &CircuitBreaker) -> Arc<Mutex<Vec<StateChange>>> {
    let seen: Arc<Mutex<Vec<StateChange>>> = Arc::default();
    let sink = Arc::clone(&seen);
    breaker.on_transition(move |change| sink.lock().unwrap().push(change.clone()));
    seen
}

#[test]
fn a_new_breaker_is_closed_in_generation_zero() {
    let (breaker, _) = breaker(BreakerConfig::default());
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.generation(), 0);
    assert_eq!(breaker.config(), BreakerConfig::default());
    assert_eq!(breaker.metrics().since_last_transition, None);
    assert_eq!(breaker.name(), "test");
}

#[test]
fn invalid_config_is_refused() {
    let err = CircuitBreaker::try_new("x", BreakerConfig::default().with_threshold(0)).unwrap_err();
    assert_eq!(err.field(), "threshold");
    let err = CircuitBreaker::try_with_clock(
        "x",
        BreakerConfig::default().with_half_open_max(0),
        ManualClock::new(),
    )
    .unwrap_err();
    assert_eq!(err.field(), "half_open_max");
}

#[test]
#[should_panic(expected = "`threshold` = 0")]
fn new_panics_on_invalid_config() {
    let _ = CircuitBreaker::new("x", BreakerConfig::default().with_threshold(0));
}

#[test]
fn each_transition_starts_a_generation_with_a_fresh_counter() {
    let (breaker, clock) = breaker(config(2, 10, 1));
    breaker.acquire().unwrap().failure();
    assert_eq!(breaker.hot.failures(0), Some(1));
    breaker.acquire().unwrap().failure();
    assert_eq!(breaker.hot.closed(), None, "Open is published");
    let open = breaker.current.load_full();
    assert_eq!((open.state, open.generation), (CircuitState::Open, 1));
    assert_eq!(open.entered_at, clock.now());
    assert_eq!(open.deadline, clock.now() + Duration::from_secs(10));

    clock.advance(Duration::from_secs(10));
    let probe = breaker.acquire().unwrap();
    let half = breaker.current.load_full();
    assert_eq!((half.state, half.generation), (CircuitState::HalfOpen, 2));
    assert_eq!(half.probes.in_flight(), 1, "the probe holds the first slot");
    assert!(open.is_superseded());
    probe.success();
    let closed = breaker.current.load_full();
    assert_eq!((closed.state, closed.generation), (CircuitState::Closed, 3));
    assert_eq!(breaker.hot.closed(), Some(3));
    assert_eq!(breaker.hot.failures(3), Some(0), "a fresh count");
    assert!(half.is_superseded());
    assert!(!closed.is_superseded());
}

#[test]
fn a_success_in_closed_writes_nothing_when_there_is_nothing_to_reset() {
    let (breaker, _) = breaker(config(3, 10, 1));
    let before = breaker.current.load_full();
    let word = breaker.hot.0.load(Ordering::Relaxed);
    breaker.acquire().unwrap().success();
    // Same snapshot, hot word untouched, no transition.
    assert!(Arc::ptr_eq(&before, &breaker.current.load_full()));
    assert_eq!(breaker.hot.0.load(Ordering::Relaxed), word);
    breaker.acquire().unwrap().failure();
    assert_ne!(breaker.hot.0.load(Ordering::Relaxed), word);
    breaker.acquire().unwrap().success();
    assert_eq!(breaker.hot.0.load(Ordering::Relaxed), word);
    assert!(Arc::ptr_eq(&before, &breaker.current.load_full()));
}

#[test]
fn failures_past_the_threshold_trip_once() {
    let (breaker, _) = breaker(config(2, 10, 1));
    let seen = record(&breaker);
    let permits: Vec<_> = (0..5).map(|_| breaker.acquire().unwrap()).collect();
    for permit in permits {
        permit.failure();
    }
    assert_eq!(breaker.state(), CircuitState::Open);
    assert_eq!(breaker.generation(), 1);
    assert_eq!(seen.lock().unwrap().len(), 1);
    // The three failures after the trip were admitted in the Closed generation: stale.
    assert_eq!(breaker.metrics().stale_reports, 3);
    assert_eq!(breaker.metrics().failed, 5);
}

#[test]
fn stale_success_does_not_clear_the_new_generations_failures() {
    let (breaker, _) = breaker(config(3, 10, 1));
    let old = breaker.acquire().unwrap();
    breaker.reset();
    breaker.acquire().unwrap().failure();
    breaker.acquire().unwrap().failure();
    assert!(old.is_stale());
    old.success();
    assert_eq!(breaker.metrics().consecutive_failures, 2);
    assert_eq!(breaker.metrics().stale_reports, 1);
}

#[test]
fn a_dropped_probe_frees_its_slot_and_counts_as_neither() {
    let (breaker, clock) = breaker(config(1, 5, 1));
    breaker.acquire().unwrap().failure();
    clock.advance(Duration::from_secs(5));
    let probe = breaker.acquire().unwrap();
    assert!(breaker.acquire().is_err());
    drop(probe);
    let metrics = breaker.metrics();
    assert_eq!(metrics.state, CircuitState::HalfOpen);
    assert_eq!(metrics.probes_in_flight, 0);
    assert_eq!(metrics.abandoned, 1);
    let generation = breaker.generation();
    let probe = breaker.acquire().unwrap();
    assert!(probe.is_probe());
    assert_eq!(
        probe.generation(),
        generation,
        "same generation, slot reused"
    );
}

#[test]
fn a_forgotten_probe_is_given_up_after_the_half_open_timeout() {
    let config = config(1, 5, 1).with_half_open_timeout(Duration::from_secs(20));
    let (breaker, clock) = breaker(config);
    let seen = record(&breaker);
    breaker.acquire().unwrap().failure();
    clock.advance(Duration::from_secs(5));
    let leaked = breaker.acquire().unwrap();
    let leaked_generation = leaked.generation();
    std::mem::forget(leaked);

    clock.advance(Duration::from_secs(19));
    let rejected = breaker.acquire().unwrap_err();
    assert_eq!(rejected.state(), CircuitState::HalfOpen);
    assert_eq!(rejected.retry_after(), Some(Duration::from_secs(1)));

    clock.advance(Duration::from_secs(1));
    let probe = breaker.acquire().unwrap();
    assert!(probe.is_probe());
    assert_eq!(
        probe.generation(),
        leaked_generation,
        "the slot changed hands, not the generation"
    );
    assert!(breaker.acquire().is_err(), "still one probe at a time");
    probe.success();
    assert_eq!(breaker.state(), CircuitState::Closed);
    let events: Vec<_> = seen.lock().unwrap().iter().map(|c| c.event).collect();
    assert_eq!(
        events,
        [
            CircuitEvent::Trip,
            CircuitEvent::CooldownElapsed,
            CircuitEvent::ProbeSucceeded
        ]
    );
}

#[test]
fn half_open_rejection_looks_again_when_the_probe_has_just_reported() {
    let (breaker, clock) = breaker(config(1, 5, 1));
    breaker.acquire().unwrap().failure();
    clock.advance(Duration::from_secs(5));
    let probe = breaker.acquire().unwrap();
    let half = breaker.current.load();
    probe.success();
    // A caller still holding the HalfOpen snapshot finds no slot, sees it superseded and
    // retries on the Closed one.
    let permit = breaker.acquire_from(half).unwrap();
    assert_eq!(permit.state(), CircuitState::Closed);
    assert_eq!(permit.generation(), 3);
}

#[test]
fn manual_commands_go_through_the_table_and_return_whether_they_changed_anything() {
    let (breaker, _) = breaker(config(1, 5, 1));
    let seen = record(&breaker);
    assert!(breaker.force_open());
    assert!(!breaker.force_open());
    assert!(breaker.disable());
    assert!(!breaker.disable());
    assert!(breaker.reset());
    assert!(breaker.reset(), "a reset always starts a generation");
    let moves: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|c| (c.from, c.to, c.generation))
        .collect();
    use CircuitState::*;
    assert_eq!(
        moves,
        [
            (Closed, ForcedOpen, 1),
            (ForcedOpen, Disabled, 2),
            (Disabled, Closed, 3),
            (Closed, Closed, 4)
        ]
    );
}

#[test]
fn forced_open_rejects_without_a_retry_time() {
    let (breaker, clock) = breaker(config(1, 5, 1));
    breaker.force_open();
    clock.advance(Duration::from_secs(3600));
    let rejected = breaker.acquire().unwrap_err();
    assert_eq!(rejected.state(), CircuitState::ForcedOpen);
    assert_eq!(rejected.retry_after(), None);
    breaker.reset();
    assert!(breaker.acquire().is_ok());
}

#[test]
fn disabled_admits_records_nothing_and_never_trips() {
    let (breaker, _) = breaker(config(1, 5, 1));
    breaker.disable();
    for _ in 0..10 {
        let permit = breaker.acquire().unwrap();
        assert_eq!(permit.state(), CircuitState::Disabled);
        permit.failure();
    }
    breaker.acquire().unwrap().ignore();
    drop(breaker.acquire().unwrap());
    let metrics = breaker.metrics();
    assert_eq!(metrics.state, CircuitState::Disabled);
    let counted = [
        metrics.admitted,
        metrics.failed,
        metrics.ignored,
        metrics.abandoned,
    ];
    assert_eq!(counted, [0; 4]);
    assert_eq!(metrics.generation, 1);
}

#[test]
fn metrics_only_admits_counts_and_never_trips() {
    let (breaker, _) = breaker(config(1, 5, 1));
    assert!(breaker.metrics_only());
    assert!(!breaker.metrics_only(), "already watching");
    for _ in 0..10 {
        let permit = breaker.acquire().unwrap();
        assert_eq!(permit.state(), CircuitState::MetricsOnly);
        permit.failure();
    }
    breaker.acquire().unwrap().success();
    let metrics = breaker.metrics();
    assert_eq!(metrics.state, CircuitState::MetricsOnly);
    assert_eq!(
        (metrics.admitted, metrics.failed, metrics.succeeded),
        (11, 10, 1)
    );
    assert!(breaker.reset());
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn a_probe_racing_a_manual_command_is_stale() {
    let (breaker, clock) = breaker(config(1, 5, 1));
    breaker.acquire().unwrap().failure();
    clock.advance(Duration::from_secs(5));
    let probe = breaker.acquire().unwrap();
    breaker.force_open();
    probe.success();
    assert_eq!(breaker.state(), CircuitState::ForcedOpen);
    assert_eq!(breaker.metrics().stale_reports, 1);
}

#[test]
fn metrics_report_time_since_the_last_transition() {
    let (breaker, clock) = breaker(config(1, 5, 1));
    clock.advance(Duration::from_secs(100));
    breaker.acquire().unwrap().failure();
    clock.advance(Duration::from_millis(1500));
    let metrics = breaker.metrics();
    assert_eq!(
        metrics.since_last_transition,
        Some(Duration::from_millis(1500))
    );
    assert!(metrics.last_transition_unix_ms.is_some());
    assert_eq!(metrics.rejected, 0);
    let _ = breaker.acquire().unwrap_err();
    assert_eq!(breaker.metrics().rejected, 1);
}

#[test]
fn debug_output_names_the_breaker_and_state() {
    let (breaker, _) = breaker(BreakerConfig::default());
    let text = format!("{breaker:?}");
    assert!(text.contains("\"test\""), "{text}");
    assert!(text.contains("Closed"), "{text}");
    let permit = breaker.acquire().unwrap();
    let text = format!("{permit:?}");
    assert!(text.contains("generation: 0"), "{text}");
    permit.success();
}

#[test]
fn permits_and_breakers_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CircuitBreaker>();
    send_sync::<Permit<'static>>();
    fn send<T: Send>(_: &T) {}
    let (breaker, _) = breaker(BreakerConfig::default());
    let future = breaker.call_async(async { Ok::<_, ()>(1) });
    send(&future);
}

#[test]
fn a_breaker_and_a_permit_are_small() {
    // Small enough to be passed around by value and to sit in a `Result`'s error
    // (`BreakerRegistry::register` gives a breaker back): under clippy's `result_large_err`
    // threshold of 128 bytes.
    assert!(std::mem::size_of::<CircuitBreaker>() < 128);
    // Three words: the breaker, the packed word, and a time kept whole (a timed call's
    // start, a probe's admission). A call in Closed never reads the time, so the
    // compiler keeps the other two in registers.
    assert_eq!(std::mem::size_of::<Permit<'_>>(), 24);
    // What a rejection returns, through memory: five words (the name, the retry-after, a
    // word of packed detail, the text of a cause that has one).
    assert_eq!(std::mem::size_of::<Result<Permit<'_>, CircuitOpen>>(), 40);
    // And what `call` returns: the rejection and a word for the variant, every field a
    // whole word, so that moving it is whole-word copies (a niche inside a narrow field
    // made the move overlap its own stores, a stall on the rejection path).
    assert_eq!(
        std::mem::size_of::<Result<u64, crate::BreakerError<u32>>>(),
        48
    );
}

#[test]
fn the_failure_count_is_told_as_it_moves() {
    let (breaker, _) = breaker(BreakerConfig::default().with_threshold(3));
    let told: Arc<Mutex<Vec<u32>>> = Arc::default();
    let sink = Arc::clone(&told);
    breaker.on_failure_count(move |failures| sink.lock().unwrap().push(failures));
    breaker.acquire().unwrap().success(); // nothing to forget: not told
    breaker.acquire().unwrap().failure();
    breaker.acquire().unwrap().failure();
    breaker.acquire().unwrap().success(); // forgets them
    breaker.acquire().unwrap().success();
    breaker.acquire().unwrap().failure();
    assert_eq!(*told.lock().unwrap(), [1, 2, 0, 1]);
}
