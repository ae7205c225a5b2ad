//! [`Registry`]: breakers by key, for keys known only at run time (model ids read from a
//! configuration file, tenant ids), bounded, with lock-free lookups.
//!
//! # API summary
//!
//! ```text
//! Registry::<K>::new(capacity, default_config)                 real clock
//! Registry::<K>::with_clock(capacity, default_config, clock)   a ManualClock in tests
//!     .with_settings(settings)        per-key configs, by the key's string form (Display)
//!   K: Hash + Eq + Clone + Display + Send + Sync + 'static (Arc<str>, String, BreakerName, u64...)
//!
//! registry.get(&Q)              -> Option<BreakerRef<'_>>   K: Borrow<Q> ("gpt-4o" for Arc<str>)
//! registry.get_or_insert(&Q)    -> BreakerRef<'_>           K: Borrow<Q> + From<&Q>
//! registry.get_or_insert_key(K) -> BreakerRef<'_>           any K (u64 tenant ids...)
//! registry.acquire(&Q) -> Result<RegistryPermit<'_>, CircuitOpen>   one call, one pin
//!     BreakerRef pins the registry (not Send) and derefs to CircuitBreaker (call,
//!     call_async, state, metrics...); BreakerRef::acquire() -> Result<RegistryPermit<'_>,
//!     CircuitOpen>, a permit that keeps its own pin, so that
//!     `let permit = registry.get_or_insert("gpt-4o").acquire()?;` compiles.
//! registry.pin() -> Pinned<'_, K>   one pin for many lookups: the fastest path
//!     pinned.get(&Q) -> Option<&CircuitBreaker>, pinned.get_or_insert(&Q) -> &CircuitBreaker,
//!     pinned.get_or_insert_key(K); their permits are plain `Permit<'_>`s.
//! registry.get_send(&Q) / get_or_insert_send(&Q) -> SendBreakerRef<'_>
//!     Send + Sync, derefs to CircuitBreaker: for async tasks (holds its entry: an atomic
//!     increment more).
//! registry.remove(&Q) -> bool                          whatever the breaker's state
//! registry.contains_key(&Q), len(), is_empty(), capacity(), default_config()
//! registry.for_each(|key, breaker| ...), registry.metrics() -> Vec<Metrics> sorted by name
//! ```
//!
//! Per call, fastest first: `pinned.get(key)` (a pin held across calls); then
//! `registry.acquire(key)` and `registry.get(key).unwrap().call(..)` (a pin and an unpin:
//! stores to the thread's own cache line); `registry.get(key).unwrap().acquire()` (a
//! nested pin more, as the permit may outlive the reference); then `get_send` (an atomic
//! increment and decrement on the entry). At 10,000 keys a lookup costs about what a
//! single-threaded `std` `HashMap` lookup with the same hasher does (`benches/registry.rs`).
//!
//! # How it works
//!
//! A lookup is a hash of the borrowed key ([`foldhash`], seeded per registry), a probe of
//! the [`Index`](index) (one word a slot: a tag from the hash and an entry id; 128 KiB at
//! 10,000 keys, so it stays in a core's L2 cache), and one cache line of the entry, where
//! the key's header, its stamp and the breaker's hot word sit together ([`arena`]). No
//! lock, no allocation, no reference count, and no shared write but the entry's stamp,
//! once after each insertion (see below).
//!
//! - Memory: entries live in an arena at fixed addresses and are recycled. A lookup pins
//!   its thread (a store to the thread's own cache line, see [`epoch`]); an entry evicted
//!   or removed is dropped and reused only once every thread pinned before has unpinned,
//!   and a [`SendBreakerRef`] holds its entry by a count. [`BreakerRef`],
//!   [`RegistryPermit`] and [`Pinned`] hold a pin, so a breaker evicted or removed meanwhile
//!   stays valid until they are dropped. Reuse is checked in batches, so the registry holds
//!   up to its capacity plus a batch (a 32nd of the capacity, at most 64) plus what pins
//!   still hold.
//! - Writers (insertions, evictions, removals) take the registry's mutex; lookups never
//!   do. Concurrent first lookups of a key: the first to take the mutex inserts, the others
//!   find its breaker there.
//! - Recency is a per-entry stamp: the registry's tick, which moves on every insertion and
//!   every eviction scan. A lookup writes its entry's stamp only if the tick has moved since
//!   the entry's last lookup, so a hot key does not write a shared cache line on every call.
//!   Recency is thus measured in insertions: breakers used since the same insertion are
//!   equally recent.
//! - An insertion at the capacity first evicts the least recently used breaker that is
//!   Closed and has no call in flight (admitted and not yet reported). Candidates come from
//!   a scan of the whole index that keeps the oldest Closed ones (an eighth of the capacity,
//!   at least 16), sorted, so the cost of a scan is spread over many evictions; a candidate
//!   used since the scan (its stamp moved) is skipped.
//! - Open, HalfOpen, ForcedOpen and Disabled breakers are never evicted: evicting one would
//!   forget an outage (or an operator's command). If every breaker is in such a state the
//!   registry grows past its capacity rather than forget one, and shrinks back (by
//!   evicting) on later insertions once some have closed.
//! - Known limit: a lookup that races with the eviction of its own key (the least
//!   recently used one, so rarely) may get the evicted breaker; its call then reports to
//!   that breaker, not to the one the next lookup creates.
//! - Memory: an entry is 192 bytes with an `Arc<str>` key, plus the breaker's counters (512
//!   bytes: the shards of the process's first four thread slots); a thread of a later slot
//!   that calls it adds a shard of 128 bytes, and the first such thread a table of four
//!   pointers per core and a shared shard.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::BreakerSettings;
use crate::breaker::CircuitBreaker;
use crate::clock::Clock;
use crate::config::{BreakerConfig, ConfigError};
use crate::error::CircuitOpen;
use crate::events::Metrics;
use arena::{Arena, Entry};
use epoch::Pin;
use index::{Index, Slots};
use writer::Writer;

/// The registry's tick, alone on its cache line: read by every lookup, written only by
/// insertions and eviction scans.
#[repr(align(128))]
struct Tick(AtomicU64);

/// Circuit breakers by key, created on first use, for keys known only at run time: model
/// ids from a configuration file, tenant ids.
///
/// - Lookups take no lock and allocate nothing when the key exists: look a `Registry<Arc<str>>`
///   (or `String`, `BreakerName`) up by `&str`.
/// - Bounded: past [`capacity`](Self::capacity), an insertion evicts the least recently
///   used breaker that is Closed with no call in flight. An Open, HalfOpen, ForcedOpen or
///   Disabled breaker is never evicted (that would forget an outage): if all of them are in
///   such states, the registry exceeds its capacity rather than forget one.
/// - Concurrent first lookups of a new key install exactly one breaker; every caller gets
///   that one.
///
/// A breaker is named after its key's string form ([`Display`](fmt::Display)), which is
/// also the key its settings are looked up under (see [`with_settings`](Self::with_settings)).
///
/// ```
/// use std::sync::Arc;
/// use breaker::registry::Registry;
/// use breaker::{BreakerConfig, CircuitState};
///
/// let models: Registry<Arc<str>> = Registry::new(1_000, BreakerConfig::default());
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
pub struct Registry<K> {
    /// The current index, as a word (see [`Index::into_word`]). One it replaces is retired,
    /// and freed once no pin can see it.
    index: AtomicUsize,
    arena: Arena<K>,
    hasher: foldhash::fast::RandomState,
    tick: Tick,
    /// How many breakers the index links (maintained by the writer).
    len: AtomicUsize,
    capacity: usize,
    default_config: BreakerConfig,
    settings: BreakerSettings,
    clock: Option<Arc<dyn Clock>>,
    writer: Mutex<Writer<K>>,
}

/// The bounds every key type meets.
///
/// Blanket-implemented: `Arc<str>`, `String`, `Box<str>`, [`BreakerName`](crate::BreakerName),
/// integers, `Uuid`s... any `Hash + Eq + Clone + Display + Send + Sync + 'static` type.
pub trait RegistryKey: Hash + Eq + Clone + fmt::Display + Send + Sync + 'static {}

impl<K: Hash + Eq + Clone + fmt::Display + Send + Sync + 'static> RegistryKey for K {}

impl<K: RegistryKey> Registry<K> {
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
    /// use breaker::registry::Registry;
    /// use breaker::{BreakerConfig, CircuitState, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// let config = BreakerConfig::default().with_threshold(1).with_cooldown(Duration::from_secs(5));
    /// let tenants: Registry<u64> = Registry::with_clock(100, config, clock.clone());
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
        let index = Index::with_room_for(writer::initial_room(capacity));
        Self {
            index: AtomicUsize::new(index.into_word()),
            arena: Arena::new(),
            hasher: foldhash::fast::RandomState::default(),
            tick: Tick(AtomicU64::new(0)),
            len: AtomicUsize::new(0),
            capacity,
            default_config,
            settings: BreakerSettings::new(),
            clock,
            writer: Mutex::new(Writer::new(capacity)),
        }
    }

    /// This registry, creating the breaker of a key with the settings under the key's
    /// string form in `settings` if there are some (the default config otherwise).
    /// Breakers already created keep their config.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::registry::{BreakerSettings, Registry};
    /// use breaker::BreakerConfig;
    ///
    /// let settings: BreakerSettings = toml::from_str(r#"
    ///     [gpt-4o]
    ///     threshold = 2
    /// "#).unwrap();
    /// let models: Registry<Arc<str>> =
    ///     Registry::new(100, BreakerConfig::default()).with_settings(settings);
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

    /// How many breakers it holds (more than the capacity only while every breaker is in a
    /// state that is never evicted).
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
        let pin = epoch::pin();
        let entry = self.lookup(key, &pin)?;
        Some(BreakerRef::new(breaker_of(entry), pin))
    }

    /// The breaker of `key`, created if there is none (from a clone of the borrowed key:
    /// `Registry<Arc<str>>` or `Registry<String>` take a `&str`). No lock and no allocation
    /// when the key exists.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::registry::Registry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: Registry<Arc<str>> = Registry::new(100, BreakerConfig::default());
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
        let pin = epoch::pin();
        let entry = self.lookup_or_insert(key, &pin);
        BreakerRef::new(breaker_of(entry), pin)
    }

    /// Asks `key`'s breaker, created if there is none, to make one call: the shortest path
    /// for one call, as it pins the registry once (`get_or_insert(key).acquire()` pins it
    /// twice, as its permit may outlive the reference).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::registry::Registry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: Registry<Arc<str>> = Registry::new(100, BreakerConfig::default());
    /// let permit = models.acquire("gpt-4o")?;
    /// permit.success();
    /// assert_eq!(models.get("gpt-4o").unwrap().metrics().succeeded, 1);
    /// # Ok::<(), breaker::CircuitOpen>(())
    /// ```
    #[inline]
    pub fn acquire<Q>(&self, key: &Q) -> Result<RegistryPermit<'_>, CircuitOpen>
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        let pin = epoch::pin();
        let entry = self.lookup_or_insert(key, &pin);
        // SAFETY: looked up under `pin`, which the permit keeps (and drops after itself).
        let breaker: &CircuitBreaker = unsafe { &*breaker_of(entry) };
        Ok(RegistryPermit::new(breaker.acquire()?, pin))
    }

    /// The breaker of `key`, created if there is none: for key types not built from a
    /// borrowed form (`u64` tenant ids), or when the key is owned already.
    #[inline]
    pub fn get_or_insert_key(&self, key: K) -> BreakerRef<'_> {
        let pin = epoch::pin();
        let entry = match self.lookup(&key, &pin) {
            Some(entry) => entry,
            None => self.insert(key, &pin),
        };
        BreakerRef::new(breaker_of(entry), pin)
    }

    /// A view that keeps the registry pinned for many lookups, whose breakers (and so
    /// whose permits) borrow it: the fastest way to make several calls (one per request,
    /// say). Keep it short-lived: memory evicted while it lives, in this registry or any
    /// other (pins are per thread, not per registry), is reused only after it is dropped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::registry::Registry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: Registry<Arc<str>> = Registry::new(100, BreakerConfig::default());
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
            pin: epoch::pin(),
        }
    }

    /// The breaker of `key`, if there is one, as a reference that is `Send` and `Sync`: to
    /// hold across an `.await` in a `Send` future (`call_async`). It holds its entry by a
    /// count (an atomic increment, and a decrement when dropped): the entry is not reused
    /// while it lives, even if the key is evicted meanwhile.
    pub fn get_send<Q>(&self, key: &Q) -> Option<SendBreakerRef<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let pin = epoch::pin();
        let entry = self.lookup(key, &pin)?;
        Some(SendBreakerRef::new(breaker_of(entry), self.holds_of(entry)))
    }

    /// [`get_or_insert`](Self::get_or_insert), as a reference that is `Send` and `Sync`
    /// (see [`get_send`](Self::get_send)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::registry::Registry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: Registry<Arc<str>> = Registry::new(100, BreakerConfig::default());
    /// std::thread::scope(|s| {
    ///     let breaker = models.get_or_insert_send("gpt-4o");
    ///     s.spawn(move || breaker.acquire().unwrap().success()); // `Send`
    /// });
    /// ```
    pub fn get_or_insert_send<Q>(&self, key: &Q) -> SendBreakerRef<'_>
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        let pin = epoch::pin();
        let entry = self.lookup_or_insert(key, &pin);
        SendBreakerRef::new(breaker_of(entry), self.holds_of(entry))
    }

    /// Whether there is a breaker for `key` (not counted as a use).
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let pin = epoch::pin();
        self.find(self.hasher.hash_one(key), key, &pin).is_some()
    }

    /// Calls `f` with every key and its breaker, in no particular order (not counted as
    /// uses): for dashboards.
    pub fn for_each(&self, mut f: impl FnMut(&K, &CircuitBreaker)) {
        let pin = epoch::pin();
        let index = self.index(&pin);
        for id in index.ids() {
            // SAFETY: reached through the index under `pin`.
            let data = unsafe { self.arena.entry(id).data() };
            f(&data.key, &data.breaker);
        }
    }

    /// The metrics of every breaker, sorted by name: for dashboards.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker::registry::Registry;
    /// use breaker::BreakerConfig;
    ///
    /// let models: Registry<Arc<str>> = Registry::new(100, BreakerConfig::default());
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

    /// The count of `SendBreakerRef`s of an entry of this registry, for the registry's life.
    fn holds_of(&self, entry: &Entry<K>) -> &AtomicU32 {
        let holds: *const AtomicU32 = &entry.holds;
        // SAFETY: entries are in the arena, whose memory lives as long as the registry; the
        // count is outside the entry's data, so it stays valid across reuse.
        unsafe { &*holds }
    }

    /// The current index, valid while `pin` is held.
    #[inline]
    fn index<'p>(&'p self, _pin: &'p Pin) -> Slots<'p> {
        // SAFETY: the word is an index's, which is freed only once it is replaced and no
        // pin taken before is held; `_pin` was taken before this load.
        unsafe { Slots::of(self.index.load(Ordering::Acquire)) }
    }

    /// The entry of `key`, its stamp refreshed.
    #[inline]
    fn lookup<'p, Q>(&'p self, key: &Q, pin: &'p Pin) -> Option<&'p Entry<K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entry = self.find(self.hasher.hash_one(key), key, pin)?;
        entry.touch(self.tick.0.load(Ordering::Relaxed));
        Some(entry)
    }

    /// The entry of `key`, created if there is none.
    #[inline]
    fn lookup_or_insert<'p, Q>(&'p self, key: &Q, pin: &'p Pin) -> &'p Entry<K>
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.lookup(key, pin) {
            Some(entry) => entry,
            None => self.insert(K::from(key), pin),
        }
    }

    /// The entry of `key`, whose hash is `hash`.
    #[inline]
    fn find<'p, Q>(&'p self, hash: u64, key: &Q, pin: &'p Pin) -> Option<&'p Entry<K>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.index(pin).find(hash, |id| {
            let entry = self.arena.entry(id);
            // SAFETY: reached through the index under `pin`.
            let data = unsafe { entry.data() };
            (data.hash == hash && data.key.borrow() == key).then_some(entry)
        })
    }
}

/// The breaker of an entry reached through the index under a pin: valid while the pin is
/// held.
#[inline]
fn breaker_of<K>(entry: &Entry<K>) -> *const CircuitBreaker {
    // SAFETY: entries are reached only through the index under a pin (so they are
    // initialized); the pointer is dereferenced only while that pin, or a count in
    // `holds`, keeps the entry from reuse.
    unsafe { &entry.data().breaker }
}

impl<K: RegistryKey> fmt::Debug for Registry<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("default_config", &self.default_config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The writer's state is updated so that a panic (a key's `Display`, `Hash`, `Eq` or
    // `Drop`) leaves nothing unsafe: at worst an entry is leaked (see `reclaim`).
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The registry's clock, shared by its breakers.
#[derive(Debug)]
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    #[inline]
    fn now(&self) -> Duration {
        self.0.now()
    }
}

/// Lifetimes of the views: they borrow the registry.
type Borrows<'r> = PhantomData<&'r ()>;

mod arena;
mod epoch;
mod index;
mod refs;
#[cfg(test)]
mod tests;
mod writer;

pub use refs::{BreakerRef, Pinned, RegistryPermit, SendBreakerRef};
