use super::word::PROBE_GENERATION_MASK;
use super::*;
use crate::config::BreakerConfig;

#[test]
fn a_timed_permit_keeps_its_whole_start_and_generation() {
    let breaker = CircuitBreaker::new("timed", BreakerConfig::default());
    let generation = 0x12_3456_789a;
    let start = 3 * 3_600 * 1_000_000_000 + 700; // three hours and 700 ns
    let permit = Permit::new(&breaker, Admission::Windowed, generation).timed(start);
    assert_eq!(permit.started(), Some(start), "nanoseconds, whole");
    assert_eq!(permit.admission(), Admission::Windowed);
    assert_eq!(permit.admitted_in(), generation);
    assert!(permit.is_of(generation));
    assert!(!permit.is_of(generation + 1));
    std::mem::forget(permit);

    let untimed = Permit::new(&breaker, Admission::Observed, generation);
    assert_eq!(untimed.started(), None);
    assert!(untimed.is_of(generation));
    assert!(!untimed.is_of(generation + (1 << 24)), "all 57 bits kept");
    std::mem::forget(untimed);
}

#[test]
fn a_probe_keeps_its_slot_its_admission_and_its_generation() {
    let breaker = CircuitBreaker::new("probe", BreakerConfig::default());
    let generation = (1 << 50) + 77;
    let probe = Permit::probe(&breaker, generation, 999, 42);
    assert_eq!(probe.admission(), Admission::Probe);
    assert_eq!(probe.probe_slot(), (999, 43));
    assert_eq!(probe.generation(), generation & PROBE_GENERATION_MASK);
    assert!(probe.is_of(generation));
    assert!(!probe.is_of(generation + 1));
    assert_eq!(
        probe.started(),
        None,
        "not timed unless slow calls are watched"
    );
    let timed = probe.timed(42);
    assert_eq!(timed.started(), Some(42));
    assert_eq!(timed.probe_slot(), (999, 43));
    std::mem::forget(timed);
}
