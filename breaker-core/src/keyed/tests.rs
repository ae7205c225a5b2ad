use super::*;
use crate::CircuitState;
use crate::clock::ManualClock;

const COOLDOWN: Duration = Duration::from_secs(10);

fn registry(capacity: usize) -> (KeyedRegistry<Arc<str>>, ManualClock) {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(COOLDOWN);
    (
        KeyedRegistry::with_clock(capacity, config, clock.clone()),
        clock,
    )
}

fn keys<K: RegistryKey>(registry: &KeyedRegistry<K>) -> Vec<String> {
    let mut keys = Vec::new();
    registry.for_each(|key, _| keys.push(key.to_string()));
    keys.sort();
    keys
}

fn trip(registry: &KeyedRegistry<Arc<str>>, key: &str) {
    registry.get_or_insert(key).acquire().unwrap().failure();
    assert_eq!(registry.get(key).unwrap().state(), CircuitState::Open);
}

#[test]
fn one_breaker_per_key_named_after_it() {
    let (registry, _) = registry(10);
    let a: *const CircuitBreaker = &*registry.get_or_insert("gpt-4o");
    let b: *const CircuitBreaker = &*registry.get_or_insert(&String::from("gpt-4o"));
    let c: *const CircuitBreaker = registry.pin().get_or_insert("gpt-4o");
    let d: *const CircuitBreaker = &*registry.get("gpt-4o").unwrap();
    assert!([b, c, d].iter().all(|&p| std::ptr::eq(a, p)));
    assert_eq!(registry.get("gpt-4o").unwrap().name(), "gpt-4o");
    assert_eq!(registry.len(), 1);
    assert!(!registry.is_empty());
    assert_eq!(registry.capacity(), 10);
}

#[test]
fn get_of_a_missing_key_inserts_nothing() {
    let (registry, _) = registry(10);
    assert!(registry.get("missing").is_none());
    assert!(registry.pin().get("missing").is_none());
    assert!(!registry.contains_key("missing"));
    assert!(registry.is_empty());
}

#[test]
fn settings_override_the_default_config_by_the_keys_string_form() {
    let mut settings = BreakerSettings::new();
    settings.insert("7", BreakerConfig::default().with_threshold(9));
    let registry: KeyedRegistry<u64> =
        KeyedRegistry::new(10, BreakerConfig::default().with_threshold(2)).with_settings(settings);
    assert_eq!(registry.get_or_insert_key(7).config().threshold, 9);
    assert_eq!(registry.get_or_insert_key(8).config().threshold, 2);
    assert_eq!(registry.get(&7).unwrap().name(), "7");
}

#[test]
#[should_panic(expected = "capacity")]
fn a_zero_capacity_is_refused() {
    let _ = KeyedRegistry::<String>::new(0, BreakerConfig::default());
}

#[test]
#[should_panic(expected = "threshold")]
fn invalid_settings_are_refused() {
    let mut settings = BreakerSettings::new();
    settings.insert("a", BreakerConfig::default().with_threshold(0));
    let _ = KeyedRegistry::<String>::new(1, BreakerConfig::default()).with_settings(settings);
}

#[test]
fn evicts_the_least_recently_used_breaker() {
    let (registry, _) = registry(3);
    for key in ["a", "b", "c"] {
        registry.get_or_insert(key);
    }
    registry.get("a"); // a is now more recent than b
    registry.get_or_insert("d");
    assert_eq!(keys(&registry), ["a", "c", "d"]);
    registry.get("c");
    registry.get_or_insert("e");
    assert_eq!(keys(&registry), ["c", "d", "e"]);
    registry.get("c");
    registry.get("d");
    registry.get_or_insert("f");
    assert_eq!(keys(&registry), ["c", "d", "f"]);
    assert_eq!(registry.len(), 3);
}

#[test]
fn eviction_order_follows_use_with_a_larger_capacity() {
    let (registry, _) = registry(64);
    let name = |i: usize| format!("k{i:03}");
    for i in 0..64 {
        registry.get_or_insert(name(i).as_str());
    }
    // Use the even keys again: the odd ones are now the least recently used, oldest
    // first.
    for i in (0..64).step_by(2) {
        registry.get(name(i).as_str()).unwrap();
    }
    for i in 64..96 {
        registry.get_or_insert(name(i).as_str());
        assert_eq!(registry.len(), 64);
    }
    for i in 0..64 {
        assert_eq!(
            registry.contains_key(name(i).as_str()),
            i % 2 == 0,
            "{}",
            name(i)
        );
    }
    for i in 64..96 {
        assert!(registry.contains_key(name(i).as_str()));
    }
}

#[test]
fn open_and_half_open_breakers_are_not_evicted_below_twice_the_capacity() {
    let (registry, clock) = registry(2);
    trip(&registry, "open");
    trip(&registry, "half-open");
    clock.advance(COOLDOWN);
    let probe = registry.get("half-open").unwrap().acquire().unwrap();
    assert!(probe.is_probe());
    drop(probe); // unreported: the breaker stays HalfOpen, its probe slot free
    assert_eq!(
        registry.get("half-open").unwrap().state(),
        CircuitState::HalfOpen
    );

    // Full of unevictable breakers: the registry grows past its capacity.
    registry.get_or_insert("closed-1");
    assert_eq!(keys(&registry), ["closed-1", "half-open", "open"]);
    // ...and evicts Closed breakers only.
    registry.get_or_insert("closed-2");
    assert_eq!(keys(&registry), ["closed-2", "half-open", "open"]);
    registry.get_or_insert("closed-3");
    registry.get_or_insert("closed-4");
    assert_eq!(keys(&registry), ["closed-4", "half-open", "open"]);

    // Once they close, they are evicted like any other.
    registry
        .get("half-open")
        .unwrap()
        .acquire()
        .unwrap()
        .success();
    registry.get("open").unwrap().acquire().unwrap().success();
    // Back within the capacity at the next insertion (the three were used since the
    // same insertion: equally recent, any two of them go).
    registry.get_or_insert("closed-5");
    assert_eq!(registry.len(), 2);
    assert!(registry.contains_key("closed-5"));
    registry.get_or_insert("closed-6");
    assert_eq!(keys(&registry), ["closed-5", "closed-6"]);
}

#[test]
fn capacity_is_restored_once_open_breakers_close() {
    let (registry, clock) = registry(2);
    trip(&registry, "a");
    trip(&registry, "b");
    registry.get_or_insert("c");
    assert_eq!(registry.len(), 3);
    clock.advance(COOLDOWN);
    registry.get("a").unwrap().acquire().unwrap().success();
    registry.get("b").unwrap().acquire().unwrap().success();
    // One insertion evicts as many as it takes to be back within the capacity.
    registry.get_or_insert("d");
    assert_eq!(registry.len(), 2);
    assert!(registry.contains_key("d"));
}

#[test]
fn forced_open_and_disabled_breakers_are_not_evicted_below_twice_the_capacity() {
    let (registry, _) = registry(2);
    assert!(registry.get_or_insert("forced").force_open());
    assert!(registry.get_or_insert("disabled").disable());
    for key in ["x", "y", "z"] {
        registry.get_or_insert(key);
    }
    assert_eq!(keys(&registry), ["disabled", "forced", "z"]);
    assert_eq!(
        registry.get("forced").unwrap().state(),
        CircuitState::ForcedOpen
    );
}

#[test]
fn a_breaker_with_a_call_in_flight_is_not_evicted() {
    let (registry, _) = registry(1);
    let permit = registry.get_or_insert("busy").acquire().unwrap();
    registry.get_or_insert("other");
    assert_eq!(keys(&registry), ["busy", "other"]);
    permit.success();
    registry.get_or_insert("third");
    assert_eq!(keys(&registry), ["third"]);
}

#[test]
fn the_new_breaker_is_never_the_one_evicted() {
    let (registry, _) = registry(1);
    trip(&registry, "open");
    for key in ["a", "b", "c"] {
        let breaker = registry.get_or_insert(key);
        assert!(registry.contains_key(key), "{key}");
        breaker.acquire().unwrap().success();
    }
}

#[test]
fn a_removed_breaker_stays_valid_for_its_holders() {
    let (registry, _) = registry(4);
    let held = registry.get_or_insert("gone");
    let permit = held.acquire().unwrap();
    assert!(registry.remove("gone"));
    assert!(registry.is_empty());
    assert!(!registry.remove("gone"));
    permit.failure();
    assert_eq!(held.state(), CircuitState::Open);
    // A new breaker for the key starts afresh.
    assert_eq!(registry.get_or_insert("gone").state(), CircuitState::Closed);
}

#[test]
fn registry_permits_outlive_their_reference() {
    let (registry, clock) = registry(4);
    let permit = registry.get_or_insert("gpt-4o").acquire().unwrap();
    assert_eq!(permit.state(), CircuitState::Closed);
    assert!(!permit.is_probe() && !permit.is_stale());
    assert_eq!(permit.breaker().name(), "gpt-4o");
    permit.failure();
    let rejected = registry.get_or_insert("gpt-4o").acquire().unwrap_err();
    assert!(rejected.to_string().contains("gpt-4o"));
    clock.advance(COOLDOWN);
    let probe = registry.get_or_insert("gpt-4o").acquire().unwrap();
    assert!(probe.is_probe());
    probe.record(&Ok::<(), ()>(()));
    assert_eq!(
        registry.get("gpt-4o").unwrap().state(),
        CircuitState::Closed
    );
}

#[test]
fn metrics_are_sorted_by_name() {
    let (registry, _) = registry(4);
    for key in ["c", "a", "b"] {
        registry.get_or_insert(key).acquire().unwrap().success();
    }
    let metrics = registry.metrics();
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert!(metrics.iter().all(|m| m.succeeded == 1));
}

#[test]
fn a_hot_key_does_not_rewrite_its_stamp() {
    let (registry, _) = registry(4);
    registry.get_or_insert("hot");
    registry.get("hot");
    let guard = registry.map.guard();
    let entry = registry.map.get("hot", &guard).unwrap();
    let stamp = entry.stamp.load(Ordering::Relaxed);
    for _ in 0..100 {
        registry.get("hot");
    }
    assert_eq!(entry.stamp.load(Ordering::Relaxed), stamp);
    registry.get_or_insert("other");
    registry.get("hot");
    assert!(entry.stamp.load(Ordering::Relaxed) > stamp);
}

#[test]
fn evicted_breakers_are_freed() {
    // Each breaker holds a clone of `token` (in a listener): the strong count is the
    // number of breakers not yet freed.
    let token = Arc::new(());
    let (registry, _) = registry(64);
    for i in 0..5_000 {
        let breaker = registry.get_or_insert(format!("k{i}").as_str());
        let held = Arc::clone(&token);
        breaker.on_transition(move |_| {
            let _ = &held;
        });
    }
    assert_eq!(registry.len(), 64);
    // The map frees removed entries in batches, once no pin can see them.
    let alive = Arc::strong_count(&token) - 1;
    assert!(alive <= 64 + 256, "{alive} breakers alive");
    drop(registry);
    assert_eq!(Arc::strong_count(&token), 1, "all freed with the registry");
}

#[test]
fn a_permit_outlives_the_eviction_of_its_breaker() {
    let (registry, _) = registry(1);
    let held = registry.get_or_insert("held");
    let permit = registry.acquire("held").unwrap();
    let other = registry.acquire("other").unwrap();
    assert_eq!(registry.len(), 2, "twice the capacity, both in flight");
    // At the bound, both in flight: the least recently used goes.
    registry.get_or_insert("new");
    assert!(!registry.contains_key("held"));
    permit.failure();
    assert_eq!(held.name(), "held");
    assert_eq!(
        held.state(),
        CircuitState::Open,
        "the evicted breaker took the report"
    );
    assert!(held.acquire().is_err());
    let fresh = registry.get_or_insert("held");
    assert_eq!(
        fresh.state(),
        CircuitState::Closed,
        "a new breaker for the key"
    );
    other.success();
}

#[test]
fn a_scan_that_finds_nothing_to_evict_is_not_repeated_on_every_insertion() {
    // Every breaker has a call in flight: none may go below twice the capacity, so the
    // registry grows, scanning once per eighth of the capacity rather than on each
    // insertion.
    const CAPACITY: usize = 64;
    let (registry, _) = registry(CAPACITY);
    let mut permits = Vec::new();
    for i in 0..2 * CAPACITY {
        permits.push(registry.acquire(format!("busy-{i}").as_str()).unwrap());
    }
    assert_eq!(registry.len(), 2 * CAPACITY);
    let scans = lock(&registry.evictor).scans;
    assert!(
        scans <= CAPACITY / 8 + 1,
        "{scans} scans for {CAPACITY} insertions"
    );
    drop(permits);
}

#[test]
fn at_twice_the_capacity_evidence_goes_before_calls_in_flight_and_commands() {
    let (registry, _) = registry(2);
    assert!(registry.get_or_insert("forced").force_open());
    let busy = registry.acquire("busy").unwrap();
    trip(&registry, "open");
    registry.get_or_insert("clean");
    assert_eq!(registry.len(), 4, "twice the capacity, nothing evicted");
    registry.get_or_insert("a");
    assert_eq!(
        keys(&registry),
        ["a", "busy", "forced", "open"],
        "clean first"
    );
    registry.get_or_insert("b");
    assert_eq!(keys(&registry), ["b", "busy", "forced", "open"]);
    registry.get("b").unwrap().acquire().unwrap().failure();
    registry.get_or_insert("c");
    assert_eq!(
        keys(&registry),
        ["b", "busy", "c", "forced"],
        "then the least recently used with evidence"
    );
    registry.get("c").unwrap().acquire().unwrap().failure();
    registry.get_or_insert("d");
    registry.get("d").unwrap().acquire().unwrap().failure();
    registry.get_or_insert("e");
    assert_eq!(keys(&registry), ["busy", "d", "e", "forced"]);
    busy.success();
}

#[test]
fn at_twice_the_capacity_the_least_recently_used_command_goes() {
    let (registry, _) = registry(1);
    assert!(registry.get_or_insert("forced").force_open());
    assert!(registry.get_or_insert("disabled").disable());
    registry.get("forced");
    registry.get_or_insert("x");
    assert_eq!(keys(&registry), ["forced", "x"]);
}

#[test]
fn registries_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<KeyedRegistry<Arc<str>>>();
    send_sync::<KeyedRegistry<String>>();
    send_sync::<KeyedRegistry<u64>>();
    send_sync::<KeyedRegistry<crate::BreakerName>>();
    send_sync::<BreakerRef<'static>>();
    send_sync::<KeyedPermit<'static>>();
}
