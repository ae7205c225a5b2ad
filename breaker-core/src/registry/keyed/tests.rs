use super::*;
use crate::CircuitState;
use crate::clock::ManualClock;

const COOLDOWN: Duration = Duration::from_secs(10);

fn registry(capacity: usize) -> (Registry<Arc<str>>, ManualClock) {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(COOLDOWN);
    (Registry::with_clock(capacity, config, clock.clone()), clock)
}

fn keys<K: RegistryKey>(registry: &Registry<K>) -> Vec<String> {
    let mut keys = Vec::new();
    registry.for_each(|key, _| keys.push(key.to_string()));
    keys.sort();
    keys
}

fn trip(registry: &Registry<Arc<str>>, key: &str) {
    registry.get_or_insert(key).acquire().unwrap().failure();
    assert_eq!(registry.get(key).unwrap().state(), CircuitState::Open);
}

#[test]
fn one_breaker_per_key_named_after_it() {
    let (registry, _) = registry(10);
    let a: *const CircuitBreaker = &*registry.get_or_insert("gpt-4o");
    let b: *const CircuitBreaker = &*registry.get_or_insert(&String::from("gpt-4o"));
    let c: *const CircuitBreaker = registry.pin().get_or_insert("gpt-4o");
    let d: *const CircuitBreaker = &*registry.get_or_insert_send("gpt-4o");
    let e: *const CircuitBreaker = &*registry.get_send("gpt-4o").unwrap();
    assert!([b, c, d, e].iter().all(|&p| std::ptr::eq(a, p)));
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
    assert!(registry.get_send("missing").is_none());
    assert!(!registry.contains_key("missing"));
    assert!(registry.is_empty());
}

#[test]
fn settings_override_the_default_config_by_the_keys_string_form() {
    let mut settings = BreakerSettings::new();
    settings.insert("7", BreakerConfig::default().with_threshold(9));
    let registry: Registry<u64> =
        Registry::new(10, BreakerConfig::default().with_threshold(2)).with_settings(settings);
    assert_eq!(registry.get_or_insert_key(7).config().threshold, 9);
    assert_eq!(registry.get_or_insert_key(8).config().threshold, 2);
    assert_eq!(registry.get(&7).unwrap().name(), "7");
}

#[test]
#[should_panic(expected = "capacity")]
fn a_zero_capacity_is_refused() {
    let _ = Registry::<String>::new(0, BreakerConfig::default());
}

#[test]
#[should_panic(expected = "threshold")]
fn invalid_settings_are_refused() {
    let mut settings = BreakerSettings::new();
    settings.insert("a", BreakerConfig::default().with_threshold(0));
    let _ = Registry::<String>::new(1, BreakerConfig::default()).with_settings(settings);
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
fn open_and_half_open_breakers_are_never_evicted() {
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
fn forced_open_and_disabled_breakers_are_never_evicted() {
    let (registry, _) = registry(1);
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
    let pin = epoch::pin();
    let slot = registry
        .find(registry.hasher.hash_one("hot"), "hot", &pin)
        .unwrap();
    let stamp = slot.stamp.load(Ordering::Relaxed);
    for _ in 0..100 {
        registry.get("hot");
    }
    assert_eq!(slot.stamp.load(Ordering::Relaxed), stamp);
    registry.get_or_insert("other");
    registry.get("hot");
    assert!(slot.stamp.load(Ordering::Relaxed) > stamp);
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
    // Reclamation runs in batches: a few hundred evicted breakers may wait for theirs.
    let alive = Arc::strong_count(&token) - 1;
    assert!(alive <= 64 + 128, "{alive} breakers alive");
    drop(registry);
    assert_eq!(Arc::strong_count(&token), 1, "all freed with the registry");
}

#[test]
fn evicted_entries_are_reused() {
    const CAPACITY: usize = 16;
    let (registry, _) = registry(CAPACITY);
    for i in 0..10_000 {
        registry
            .acquire(format!("k{i}").as_str())
            .unwrap()
            .success();
    }
    assert_eq!(registry.len(), CAPACITY);
    // Alone, the capacity and one or two entries waiting for reuse. Pins are process-wide,
    // so the pins of other tests' threads (running alongside) delay some reuses: a wide
    // margin, still far from one entry per insertion.
    let allocated = registry.arena.allocated() as usize;
    assert!(
        allocated < 1_000,
        "{allocated} entries for {CAPACITY} breakers"
    );
}

#[test]
fn a_send_ref_keeps_its_entry_from_reuse_after_eviction() {
    let (registry, _) = registry(4);
    let held = registry.get_or_insert_send("held");
    for i in 0..1_000 {
        registry.get_or_insert(format!("k{i}").as_str());
    }
    assert!(!registry.contains_key("held"), "evicted");
    assert_eq!(held.name(), "held");
    held.acquire().unwrap().success();
    assert_eq!(
        held.metrics().succeeded,
        1,
        "its own breaker, not a reused one"
    );
    let before = registry.arena.allocated();
    drop(held);
    for i in 1_000..2_000 {
        registry.get_or_insert(format!("k{i}").as_str());
    }
    // Margin as in `evicted_entries_are_reused`.
    assert!(
        registry.arena.allocated() < before + 500,
        "entries are reused once the reference is dropped"
    );
}

#[test]
fn removals_leave_tombstones_that_insertions_reuse() {
    let (registry, _) = registry(1_000);
    let rebuilds = || lock(&registry.writer).rebuilds;
    // The same keys removed and inserted again: each finds its own tombstone on its probe
    // path, so the index never fills (without reuse it would take 100 more slots a round
    // and be rebuilt every 15 rounds).
    for _ in 0..50 {
        for i in 0..100 {
            registry.get_or_insert(format!("k{i}").as_str());
        }
        for i in 0..100 {
            assert!(registry.remove(format!("k{i}").as_str()));
        }
        assert!(registry.is_empty());
    }
    assert_eq!(rebuilds(), 0);
    // New keys every round: tombstones pile up off their paths and a rebuild clears them,
    // at the first index's size (an emptied registry does not shrink it).
    for round in 0..50 {
        for i in 0..100 {
            registry.get_or_insert(format!("k{round}-{i}").as_str());
        }
        for i in 0..100 {
            assert!(registry.remove(format!("k{round}-{i}").as_str()));
        }
    }
    assert!(rebuilds() <= 3, "{} rebuilds", rebuilds());
    registry.get_or_insert("last");
    assert_eq!(keys(&registry), ["last"]);
    assert!(registry.get("k49-99").is_none());
}

#[test]
fn a_registry_at_its_capacity_rarely_rebuilds_its_index() {
    // 767 keys: sized for `len + 1`, the rebuilt index had a slot or two to spare, and a
    // registry at its capacity rebuilt it on every other eviction.
    const CAPACITY: usize = 767;
    let registry: Registry<u64> = Registry::new(CAPACITY, BreakerConfig::default());
    for key in 0..CAPACITY as u64 {
        registry.get_or_insert_key(key);
    }
    let before = lock(&registry.writer).rebuilds;
    for key in CAPACITY as u64..CAPACITY as u64 + 10_000 {
        registry.get_or_insert_key(key);
    }
    let rebuilds = lock(&registry.writer).rebuilds - before;
    // At least `len / 2` slots are used between two rebuilds: 10,000 / 383 is 26.
    assert!(rebuilds <= 26, "{rebuilds} rebuilds in 10,000 insertions");
}

/// A key that counts its live instances, whose `drop` panics once when armed.
mod panicking_key {
    use std::fmt;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    pub(super) static LIVE: AtomicI64 = AtomicI64::new(0);
    pub(super) static ARMED: AtomicBool = AtomicBool::new(false);

    #[derive(PartialEq, Eq, Hash)]
    pub(super) struct Key(pub(super) u64);

    impl Key {
        pub(super) fn new(key: u64) -> Self {
            LIVE.fetch_add(1, Ordering::SeqCst);
            Key(key)
        }
    }

    impl Clone for Key {
        fn clone(&self) -> Self {
            Key::new(self.0)
        }
    }

    impl fmt::Display for Key {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "k{}", self.0)
        }
    }

    impl Drop for Key {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Ordering::SeqCst);
            if ARMED.swap(false, Ordering::SeqCst) {
                panic!("a key's drop panics");
            }
        }
    }
}

#[test]
fn a_key_whose_drop_panics_is_never_dropped_twice() {
    use panicking_key::{ARMED, Key, LIVE};
    let registry: Registry<Key> = Registry::new(1, BreakerConfig::default());
    registry.get_or_insert_key(Key::new(1));
    registry.get_or_insert_key(Key::new(2)); // evicts key 1, reused later
    ARMED.store(true, Ordering::SeqCst);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for key in 3..6 {
            registry.get_or_insert_key(Key::new(key));
        }
    }));
    assert!(panicked.is_err(), "the reuse of key 1's entry ran its drop");
    for key in 6..10 {
        let breaker = registry.get_or_insert_key(Key::new(key));
        assert_eq!(breaker.name(), format!("k{key}").as_str());
    }
    drop(registry);
    // Every instance dropped once: none left (nothing leaked here: key 1 was the only
    // entry being reused), none dropped twice (that would count below zero, if it did not
    // crash first).
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn registries_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Registry<Arc<str>>>();
    send_sync::<Registry<String>>();
    send_sync::<Registry<u64>>();
    send_sync::<Registry<crate::BreakerName>>();
    send_sync::<SendBreakerRef<'static>>();
}
