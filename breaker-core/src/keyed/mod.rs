//! [`KeyedRegistry`]: breakers by key, for keys known only at run time (model ids read from a
//! configuration file, tenant ids), bounded, with lock-free lookups.
//!
//! # How it works
//!
//! - The breakers live in a [`papaya`] map (lock-free reads; memory reclaimed by epochs,
//!   with [`seize`](https://docs.rs/seize)), hashed with [`foldhash`] seeded per registry,
//!   each behind an `Arc`. A lookup pins the map, hashes the borrowed key and probes: no
//!   lock, no allocation. A [`Pinned`] view lends `&CircuitBreaker`s under its pin; a
//!   [`BreakerRef`] or [`KeyedPermit`] holds its breaker's `Arc`, so a breaker evicted
//!   or removed meanwhile stays valid for its holders (a call in flight reports to it, and
//!   the breaker is freed when the last holder lets go).
//! - Writers (insertions, evictions, removals) take the registry's mutex; lookups never
//!   do. Concurrent first lookups of a key: the first to take the mutex inserts, the others
//!   find its breaker there.
//! - Recency is a per-entry stamp: the registry's tick, which moves on every insertion and
//!   every eviction scan. A lookup writes its entry's stamp only if the tick has moved since
//!   the entry's last lookup, so a hot key does not write a shared cache line on every call.
//!   Recency is thus measured in insertions: breakers used since the same insertion are
//!   equally recent.
//! - Eviction (see `evict.rs`): an insertion at the capacity evicts, least recently used
//!   first, breakers that lose nothing (Closed, with no failure or slow call counted and
//!   no call in flight), then stale Open ones (not called since their deadline passed by
//!   four of their open durations). Breakers with evidence of an outage (failures, an Open
//!   or HalfOpen circuit), with a call in flight, or in a state an operator set, are kept,
//!   and the registry grows past its capacity instead, up to twice it: there an insertion
//!   evicts one whatever it holds, in that order (least recently used first within each).
//!   So a registry holds at most twice its capacity, whatever the keys.
//! - Known limits: a lookup that races with the eviction of its own key (the least
//!   recently used one, so rarely) may get the evicted breaker; its call then reports to
//!   that breaker, not to the one the next lookup creates. And the calls in flight are
//!   counted per thread, summed one thread after the other: a call that starts and ends on
//!   two threads while a scan sums them can hide another call in flight for that moment,
//!   so that breaker may be evicted before the bound; its call then reports to it, as
//!   above.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use papaya::{Guard, LocalGuard};

use crate::breaker::CircuitBreaker;
use crate::clock::Clock;
use crate::config::{BreakerConfig, BreakerSettings, ConfigError};
use crate::error::CircuitOpen;
use crate::events::Metrics;
use evict::Evictor;

type Map<K> = papaya::HashMap<K, Entry, foldhash::fast::RandomState>;

/// One key's breaker, and when it was last looked up.
struct Entry {
    /// The registry's tick at the entry's last lookup (or its insertion).
    stamp: AtomicU64,
    breaker: Arc<CircuitBreaker>,
}

impl Entry {
    /// Records a lookup at `tick`: a write only if the tick has moved since the last one.
    #[inline]
    fn touch(&self, tick: u64) {
        if self.stamp.load(Ordering::Relaxed) != tick {
            self.stamp.store(tick, Ordering::Relaxed);
        }
    }
}

/// The registry's tick, alone on its cache line: read by every lookup, written only by
/// insertions and eviction scans.
#[repr(align(128))]
struct Tick(AtomicU64);

/// Circuit breakers by key, created on first use, for keys known only at run time: model
/// ids from a configuration file, tenant ids.
///
/// - Lookups take no lock and allocate nothing when the key exists: look a `KeyedRegistry<Arc<str>>`
///   (or `String`, `BreakerName`) up by `&str`.
/// - Bounded: past [`capacity`](Self::capacity), an insertion evicts the least recently
///   used breakers that lose nothing by it (Closed, no failure counted, no call in flight),
///   then stale Open ones (not called long after their cooldown). Breakers with evidence of
///   an outage, a call in flight or an operator's state are kept while the registry holds
///   less than twice its capacity; at twice its capacity an insertion evicts one of them,
///   least recently used first. So it never holds more than twice its capacity.
/// - Concurrent first lookups of a new key install exactly one breaker; every caller gets
///   that one.
///
/// A breaker is named after its key's string form ([`Display`](fmt::Display)), which is
/// also the key its settings are looked up under (see [`with_settings`](Self::with_settings)).
///
/// ```
/// use std::sync::Arc;
/// use breaker::KeyedRegistry;
/// use breaker::{BreakerConfig, CircuitState};
///
/// let models: KeyedRegistry<Arc<str>> = KeyedRegistry::new(1_000, BreakerConfig::default());
///
/// // By `&str`: no allocation when the key exists.
/// let permit = models.get_or_insert("gpt-4o").acquire()?;
/// permit.success();
///
/// let reply = models.get_or_insert("claude-sonnet").call(|| Ok::<_, std::io::Error>("hi"));
/// assert_eq!(reply.unwrap(), "hi");
///
/// assert_eq!(models.len(), 2);
/// assert_eq!(models.get("gpt-4o").unwrap().state(), CircuitState::Closed);
/// assert!(models.get("llama").is_none());
/// # Ok::<(), breaker::CircuitOpen>(())
/// ```
///
/// # The API in short
///
/// ```text
/// KeyedRegistry::<K>::new(capacity, default_config)                 real clock
/// KeyedRegistry::<K>::with_clock(capacity, default_config, clock)   a ManualClock in tests
///     .with_settings(settings)        per-key configs, by the key's string form (Display)
///   K: Hash + Eq + Clone + Display + Send + Sync + 'static (Arc<str>, String, BreakerName, u64...)
///
/// registry.get(&Q)              -> Option<BreakerRef<'_>>   K: Borrow<Q> ("gpt-4o" for Arc<str>)
/// registry.get_or_insert(&Q)    -> BreakerRef<'_>           K: Borrow<Q> + From<&Q>
/// registry.get_or_insert_key(K) -> BreakerRef<'_>           any K (u64 tenant ids...)
/// registry.acquire(&Q) -> Result<KeyedPermit<'_>, CircuitOpen>   one call
///     BreakerRef holds its breaker (an `Arc`: Send + Sync) and derefs to CircuitBreaker
///     (call, call_async, state, metrics...); BreakerRef::acquire() ->
///     Result<KeyedPermit<'_>, CircuitOpen>, a permit that holds the breaker too, so that
///     `let permit = registry.get_or_insert("gpt-4o").acquire()?;` compiles.
/// registry.pin() -> Pinned<'_, K>   one pin for many lookups: the fastest path
///     pinned.get(&Q) -> Option<&CircuitBreaker>, pinned.get_or_insert(&Q) -> &CircuitBreaker,
///     pinned.get_or_insert_key(K); their permits are plain `Permit<'_>`s.
/// registry.remove(&Q) -> bool                          whatever the breaker's state
/// registry.contains_key(&Q), len(), is_empty(), capacity(), default_config()
/// registry.for_each(|key, breaker| ...), registry.metrics() -> Vec<Metrics> sorted by name
/// ```
///
/// Per call, fastest first: `pinned.get(key)` (a pin held across calls: no shared write at
/// all); then `registry.acquire(key)` (a pin and an unpin, and the permit's reference count
/// on the breaker: an increment and a decrement); then `registry.get(key)` (the reference's
/// count too).
pub struct KeyedRegistry<K> {
    map: Map<K>,
    tick: Tick,
    /// How many breakers the map holds (maintained under the evictor's mutex).
    len: AtomicUsize,
    capacity: usize,
    default_config: BreakerConfig,
    settings: BreakerSettings,
    clock: Option<Arc<dyn Clock>>,
    /// Put before each breaker's name (see [`with_name_prefix`](Self::with_name_prefix)).
    name_prefix: Option<Box<str>>,
    /// The writers' mutex, and the eviction candidates.
    evictor: Mutex<Evictor<K>>,
    /// Told of every breaker created (see [`on_breaker`](Self::on_breaker)); read under the
    /// writers' mutex.
    on_breaker: Mutex<Vec<BreakerListener>>,
}

/// A listener of the breakers a [`KeyedRegistry`] creates.
type BreakerListener = Box<dyn Fn(&Arc<CircuitBreaker>) + Send + Sync>;

/// The bounds every key type meets.
///
/// Blanket-implemented: `Arc<str>`, `String`, `Box<str>`, [`BreakerName`](crate::BreakerName),
/// integers, `Uuid`s... any `Hash + Eq + Clone + Display + Send + Sync + 'static` type.
pub trait RegistryKey: Hash + Eq + Clone + fmt::Display + Send + Sync + 'static {}

impl<K: Hash + Eq + Clone + fmt::Display + Send + Sync + 'static> RegistryKey for K {}

impl<K: RegistryKey> KeyedRegistry<K> {
    /// An empty registry holding up to `capacity` breakers (see the type's docs for when it
    /// holds more), created with `default_config`, on the real clock.
    ///
    /// # Panics
    ///
    /// If `capacity` is zero or `default_config` is invalid.
    pub fn new(capacity: usize, default_config: BreakerConfig) -> Self {
        Self::build(capacity, default_config, None)
    }

    /// An empty registry whose breakers run on `clock` (a
    /// [`ManualClock`](crate::ManualClock) in tests).
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::KeyedRegistry;
    /// use breaker::{BreakerConfig, CircuitState, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// let config = BreakerConfig::default().with_threshold(1).with_cooldown(Duration::from_secs(5));
    /// let tenants: KeyedRegistry<u64> = KeyedRegistry::with_clock(100, config, clock.clone());
    ///
    /// tenants.get_or_insert_key(42).acquire().unwrap().failure();
    /// assert_eq!(tenants.get(&42).unwrap().state(), CircuitState::Open);
    /// clock.advance(Duration::from_secs(5));
    /// assert!(tenants.get(&42).unwrap().acquire().unwrap().is_probe());
    /// ```
    ///
    /// # Panics
    ///
    /// If `capacity` is zero or `default_config` is invalid.
    pub fn with_clock(capacity: usize, default_config: BreakerConfig, clock: impl Clock) -> Self {
        Self::build(capacity, default_config, Some(Arc::new(clock)))
    }

    fn build(
        capacity: usize,
        default_config: BreakerConfig,
        clock: Option<Arc<dyn Clock>>,
    ) -> Self {
        assert!(capacity > 0, "Registry: the capacity must be at least 1");
        if let Err(e) = default_config.validate() {
            panic!("Registry: invalid default config: {e}");
        }
        // Room for the capacity up to a thousand keys: larger registries grow their table
        // as they fill.
        let map = papaya::HashMap::builder()
            .hasher(foldhash::fast::RandomState::default())
            .capacity(capacity.min(1_024))
            .build();
        Self {
            map,
            tick: Tick(AtomicU64::new(0)),
            len: AtomicUsize::new(0),
            capacity,
            default_config,
            settings: BreakerSettings::new(),
            clock,
            name_prefix: None,
            evictor: Mutex::new(Evictor::new()),
            on_breaker: Mutex::new(Vec::new()),
        }
    }

    /// This registry, creating the breaker of a key with the settings under the key's
    /// string form in `settings` if there are some (the default config otherwise).
    /// Breakers already created keep their config.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::{BreakerSettings, KeyedRegistry};
    /// use breaker::BreakerConfig;
    ///
    /// let settings: BreakerSettings = toml::from_str(r#"
    ///     [gpt-4o]
    ///     threshold = 2
    /// "#).unwrap();
    /// let models: KeyedRegistry<Arc<str>> =
    ///     KeyedRegistry::new(100, BreakerConfig::default()).with_settings(settings);
    /// assert_eq!(models.get_or_insert("gpt-4o").config().threshold, 2);
    /// assert_eq!(models.get_or_insert("llama").config().threshold, 5);
    /// ```
    ///
    /// # Panics
    ///
    /// If one of the settings is invalid (settings read with serde are validated as they
    /// are read); [`try_with_settings`](Self::try_with_settings) returns the error instead.
    pub fn with_settings(self, settings: BreakerSettings) -> Self {
        self.try_with_settings(settings)
            .unwrap_or_else(|e| panic!("Registry: {e}"))
    }

    /// This registry, naming the breaker of a key `prefix[key]` rather than `key`, so that
    /// the breakers of several registries can be told apart in events and metrics. The
    /// settings are still looked up under the key's string form.
    ///
    /// ```
    /// use breaker::{BreakerConfig, KeyedRegistry};
    ///
    /// let models: KeyedRegistry<String> =
    ///     KeyedRegistry::new(100, BreakerConfig::default()).with_name_prefix("complete");
    /// assert_eq!(models.get_or_insert("gpt-4o").name(), "complete[gpt-4o]");
    /// ```
    pub fn with_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = Some(prefix.into().into_boxed_str());
        self
    }

    /// This registry with `settings`, or the error of the first invalid config in them
    /// (settings built in code), which names its key and its field.
    pub fn try_with_settings(mut self, settings: BreakerSettings) -> Result<Self, ConfigError> {
        settings.validate()?;
        self.settings = settings;
        Ok(self)
    }

    /// How many breakers the registry holds before it evicts.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many breakers it holds: more than the capacity only while the others hold
    /// evidence of an outage, a call in flight or an operator's state, and never more than
    /// twice the capacity.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether it holds no breaker.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The config of breakers with no settings of their own.
    pub fn default_config(&self) -> &BreakerConfig {
        &self.default_config
    }

    /// The breaker of `key`, if there is one. No lock, no allocation.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<BreakerRef<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.map.guard();
        let entry = self.lookup(key, &guard)?;
        Some(BreakerRef::new(&entry.breaker))
    }

    /// The breaker of `key`, created if there is none (from a clone of the borrowed key:
    /// `KeyedRegistry<Arc<str>>` or `KeyedRegistry<String>` take a `&str`). No lock and no allocation
    /// when the key exists.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::KeyedRegistry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: KeyedRegistry<Arc<str>> = KeyedRegistry::new(100, BreakerConfig::default());
    /// let model_id: String = "gpt-4o".into(); // read from a config file
    /// let a = models.get_or_insert(&model_id);
    /// let b = models.get_or_insert("gpt-4o");
    /// assert!(std::ptr::eq(&*a, &*b), "one breaker per key");
    /// assert_eq!(a.name(), "gpt-4o");
    /// ```
    #[inline]
    pub fn get_or_insert<Q>(&self, key: &Q) -> BreakerRef<'_>
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.map.guard();
        BreakerRef::new(&self.lookup_or_insert(key, &guard).breaker)
    }

    /// Asks `key`'s breaker, created if there is none, to make one call: the shortest path
    /// for one call (`get_or_insert(key).acquire()` takes a reference to the breaker more).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::KeyedRegistry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: KeyedRegistry<Arc<str>> = KeyedRegistry::new(100, BreakerConfig::default());
    /// let permit = models.acquire("gpt-4o")?;
    /// permit.success();
    /// assert_eq!(models.get("gpt-4o").unwrap().metrics().succeeded, 1);
    /// # Ok::<(), breaker::CircuitOpen>(())
    /// ```
    #[inline]
    pub fn acquire<Q>(&self, key: &Q) -> Result<KeyedPermit<'_>, CircuitOpen>
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.map.guard();
        let entry = self.lookup_or_insert(key, &guard);
        BreakerRef::acquire_from(&entry.breaker)
    }

    /// The breaker of `key`, created if there is none: for key types not built from a
    /// borrowed form (`u64` tenant ids), or when the key is owned already.
    #[inline]
    pub fn get_or_insert_key(&self, key: K) -> BreakerRef<'_> {
        let guard = self.map.guard();
        BreakerRef::new(&self.lookup_or_insert_key(key, &guard).breaker)
    }

    /// A view that keeps the registry pinned for many lookups, whose breakers (and so
    /// whose permits) borrow it: the fastest way to make several calls (one per request,
    /// say). Keep it short-lived: memory evicted while it lives is freed only after it is
    /// dropped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::KeyedRegistry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: KeyedRegistry<Arc<str>> = KeyedRegistry::new(100, BreakerConfig::default());
    /// let pinned = models.pin();
    /// for model in ["gpt-4o", "llama", "gpt-4o"] {
    ///     let permit = pinned.get_or_insert(model).acquire()?;
    ///     permit.success();
    /// }
    /// assert_eq!(models.len(), 2);
    /// # Ok::<(), breaker::CircuitOpen>(())
    /// ```
    pub fn pin(&self) -> Pinned<'_, K> {
        Pinned {
            registry: self,
            guard: self.map.guard(),
        }
    }

    /// Whether there is a breaker for `key` (not counted as a use).
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(key, &self.map.guard())
    }

    /// Calls `f` with every key and its breaker, in no particular order (not counted as
    /// uses): for dashboards.
    pub fn for_each(&self, mut f: impl FnMut(&K, &CircuitBreaker)) {
        let guard = self.map.guard();
        for (key, entry) in self.map.iter(&guard) {
            f(key, &entry.breaker);
        }
    }

    /// Calls `listener` with every breaker of the registry: at once with each one it holds,
    /// then with each one it creates, when it creates it (before any call through it). For
    /// what has to see every breaker, such as a fleet store that shares their state: it is
    /// given the breaker's `Arc`, so it may keep a `Weak` that dies with an evicted breaker.
    /// The listener runs under the registry's writers' mutex: it must not create breakers
    /// in this registry.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use breaker::{BreakerConfig, KeyedRegistry};
    ///
    /// let models: KeyedRegistry<Arc<str>> = KeyedRegistry::new(100, BreakerConfig::default());
    /// models.get_or_insert("gpt-4o");
    /// let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    /// let sink = Arc::clone(&seen);
    /// models.on_breaker(move |breaker| sink.lock().unwrap().push(breaker.name().to_string()));
    /// models.get_or_insert("llama");
    /// models.get_or_insert("llama");
    /// assert_eq!(*seen.lock().unwrap(), ["gpt-4o", "llama"]);
    /// ```
    pub fn on_breaker(&self, listener: impl Fn(&Arc<CircuitBreaker>) + Send + Sync + 'static) {
        // Under the writers' mutex: no breaker is created between the ones told now and
        // the listener's registration.
        let _writers = lock(&self.evictor);
        let guard = self.map.guard();
        for (_, entry) in self.map.iter(&guard) {
            listener(&entry.breaker);
        }
        lock(&self.on_breaker).push(Box::new(listener));
    }

    /// The metrics of every breaker, sorted by name: for dashboards.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::KeyedRegistry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: KeyedRegistry<Arc<str>> = KeyedRegistry::new(100, BreakerConfig::default());
    /// models.get_or_insert("llama").acquire().unwrap().failure();
    /// models.get_or_insert("gpt-4o");
    /// let metrics = models.metrics();
    /// assert_eq!(metrics[0].name, "gpt-4o");
    /// assert_eq!(metrics[1].consecutive_failures, 1);
    /// ```
    pub fn metrics(&self) -> Vec<Metrics> {
        let mut metrics = Vec::with_capacity(self.len());
        self.for_each(|_, breaker| metrics.push(breaker.metrics()));
        metrics.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        metrics
    }

    /// The entry of `key`, its stamp refreshed.
    #[inline]
    fn lookup<'g, Q>(&self, key: &Q, guard: &'g impl Guard) -> Option<&'g Entry>
    where
        K: Borrow<Q> + 'g,
        Q: Hash + Eq + ?Sized,
    {
        let entry = self.map.get(key, guard)?;
        entry.touch(self.tick.0.load(Ordering::Relaxed));
        Some(entry)
    }

    /// The entry of `key`, created if there is none.
    #[inline]
    fn lookup_or_insert<'g, Q>(&self, key: &Q, guard: &'g impl Guard) -> &'g Entry
    where
        K: Borrow<Q> + for<'q> From<&'q Q> + 'g,
        Q: Hash + Eq + ?Sized,
    {
        match self.lookup(key, guard) {
            Some(entry) => entry,
            None => self.insert(K::from(key), guard),
        }
    }

    /// The entry of an owned `key`, created if there is none.
    #[inline]
    fn lookup_or_insert_key<'g>(&self, key: K, guard: &'g impl Guard) -> &'g Entry {
        match self.lookup(&key, guard) {
            Some(entry) => entry,
            None => self.insert(key, guard),
        }
    }

    /// A new breaker for `key`, named after it, with its settings.
    fn new_breaker(&self, key: &K) -> CircuitBreaker {
        let key_name = key.to_string();
        let config = self
            .settings
            .get(&key_name)
            .unwrap_or(&self.default_config)
            .clone();
        let name = match &self.name_prefix {
            Some(prefix) => format!("{prefix}[{key_name}]"),
            None => key_name,
        };
        match &self.clock {
            Some(clock) => CircuitBreaker::with_clock(name, config, SharedClock(Arc::clone(clock))),
            None => CircuitBreaker::new(name, config),
        }
    }
}

impl<K: RegistryKey> fmt::Debug for KeyedRegistry<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("default_config", &self.default_config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The evictor's state is a cache of candidates, each checked again before use: a
    // panic (a key's `Display`, `Hash`, `Eq` or `Drop`) leaves nothing wrong in it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The registry's clock, shared by its breakers.
#[derive(Debug)]
pub(crate) struct SharedClock(pub(crate) Arc<dyn Clock>);

impl Clock for SharedClock {
    #[inline]
    fn now(&self) -> Duration {
        self.0.now()
    }
}

/// The guard of a registry's map: what a [`Pinned`] view holds.
type MapGuard<'r> = LocalGuard<'r>;

mod evict;
mod refs;
#[cfg(test)]
mod tests;

pub use refs::{BreakerRef, KeyedPermit, Pinned};
