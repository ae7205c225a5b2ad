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
//!     BreakerRef pins the registry (not Send) and derefs to CircuitBreaker (call,
//!     call_async, state, metrics...); BreakerRef::acquire() -> Result<RegistryPermit<'_>,
//!     CircuitOpen>, a permit that keeps its own pin, so that
//!     `let permit = registry.get_or_insert("gpt-4o").acquire()?;` compiles.
//! registry.pin() -> Pinned<'_, K>   one pin for many lookups: the fastest path
//!     pinned.get(&Q) -> Option<&CircuitBreaker>, pinned.get_or_insert(&Q) -> &CircuitBreaker,
//!     pinned.get_or_insert_key(K); their permits are plain `Permit<'_>`s.
//! registry.get_send(&Q) / get_or_insert_send(&Q) -> SendBreakerRef<'_>
//!     Send + Sync, derefs to CircuitBreaker: for async tasks (~45 ns instead of ~15).
//! registry.remove(&Q) -> bool                          whatever the breaker's state
//! registry.contains_key(&Q), len(), is_empty(), capacity(), default_config()
//! registry.for_each(|key, breaker| ...), registry.metrics() -> Vec<Metrics> sorted by name
//! ```
//!
//! Per call, fastest first: `pinned.get(key)` (a pin held across calls), then
//! `registry.get(key).unwrap().call(..)` or `registry.get(key).unwrap().acquire()`
//! (each pins and unpins, about 5 ns more), then `get_send`.
//!
//! # How it works
//!
//! - The breakers live in a [`papaya`] hash map (lock-free reads, epoch-based reclamation
//!   by [`seize`]) hashed with [`foldhash`] (fast, seeded per registry), each inside its
//!   map entry. A lookup pins the map's epoch (a store and a swap on the calling thread's
//!   own reservation: no shared write), hashes the borrowed key and probes: no lock, no
//!   allocation, no reference count. The [`BreakerRef`], [`RegistryPermit`],
//!   [`SendBreakerRef`] or [`Pinned`] holds the pin, so a breaker evicted or removed
//!   meanwhile stays valid until they are dropped; it is freed after that.
//! - Recency is a per-entry stamp: the registry's tick, which moves on every insertion and
//!   every eviction scan. A lookup writes its entry's stamp only if the tick has moved since
//!   the entry's last lookup, so a hot key does not write a shared cache line on every call.
//!   Recency is thus measured in insertions: breakers used since the same insertion are
//!   equally recent.
//! - An insertion past the capacity evicts the least recently used breaker that is Closed
//!   and has no call in flight (admitted and not yet reported). Candidates come from a
//!   scan of the whole map that keeps the oldest Closed ones (an eighth of the capacity, at
//!   least 16), sorted, so the cost of a scan is spread over many evictions; a candidate
//!   used since the scan (its stamp moved) is skipped. Insertions take a mutex for this;
//!   lookups never do.
//! - Open, HalfOpen, ForcedOpen and Disabled breakers are never evicted: evicting one would
//!   forget an outage (or an operator's command). If every breaker is in such a state the
//!   registry grows past its capacity rather than forget one, and shrinks back (by
//!   evicting) on later insertions once some have closed.
//! - Concurrent first lookups of a key may each build a breaker, but exactly one is
//!   installed and returned to all of them; the others are dropped unseen.
//! - Known limit: a lookup that races with the eviction of its own key (the least
//!   recently used one, so rarely) may get the evicted breaker; its call then reports to
//!   that breaker, not to the one the next lookup creates.
//! - Memory: a breaker's counters take 512 bytes (the shards of the process's first four
//!   thread slots); a thread of a later slot that calls it adds a shard of 128 bytes, and
//!   the first such thread a table of four pointers per core and a shared shard.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use seize::Collector;

use super::BreakerSettings;
use crate::breaker::{CircuitBreaker, CircuitState};
use crate::clock::Clock;
use crate::config::BreakerConfig;
use crate::events::Metrics;

type Map<K> = papaya::HashMap<K, Slot, foldhash::fast::RandomState>;

/// One breaker and when it was last looked up.
struct Slot {
    breaker: CircuitBreaker,
    /// The registry's tick at the last lookup (or at the insertion).
    stamp: AtomicU64,
}

impl Slot {
    /// Records a lookup at `tick`: a write only if the tick has moved since the last one.
    #[inline]
    fn touch(&self, tick: u64) {
        if self.stamp.load(Ordering::Relaxed) != tick {
            self.stamp.store(tick, Ordering::Relaxed);
        }
    }

    /// Whether the breaker may be forgotten: Closed, with no call in flight.
    fn evictable(&self) -> bool {
        if self.breaker.state() != CircuitState::Closed {
            return false;
        }
        let m = self.breaker.metrics();
        m.state == CircuitState::Closed && m.admitted <= m.succeeded + m.failed + m.abandoned
    }
}

/// The registry's tick, alone on its cache line: read by every lookup, written only by
/// insertions and eviction scans.
#[repr(align(128))]
struct Tick(AtomicU64);

/// The eviction candidates of the last scan, oldest last.
struct Evictor<K> {
    /// (stamp at the scan, key), sorted by descending stamp: `pop` gives the oldest.
    candidates: Vec<(u64, K)>,
    /// After a scan that found nothing to evict: the length below which not to scan again.
    rescan_at: usize,
}

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
    map: Map<K>,
    /// The map's epoch collector: pins taken from it protect the map's memory.
    collector: Arc<Collector>,
    capacity: usize,
    default_config: BreakerConfig,
    settings: BreakerSettings,
    clock: Option<Arc<dyn Clock>>,
    /// How many breakers the map holds (maintained by insertions and removals).
    len: AtomicUsize,
    tick: Tick,
    evictor: Mutex<Evictor<K>>,
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
        let collector = Arc::new(Collector::new());
        let map = papaya::HashMap::builder()
            .hasher(foldhash::fast::RandomState::default())
            .capacity(capacity.min(1 << 16))
            .shared_collector(Arc::clone(&collector))
            .build();
        Self {
            map,
            collector,
            capacity,
            default_config,
            settings: BreakerSettings::new(),
            clock,
            len: AtomicUsize::new(0),
            tick: Tick(AtomicU64::new(0)),
            evictor: Mutex::new(Evictor {
                candidates: Vec::new(),
                rescan_at: 0,
            }),
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
    /// are read).
    pub fn with_settings(mut self, settings: BreakerSettings) -> Self {
        for (key, config) in settings.iter() {
            if let Err(e) = config.validate() {
                panic!("Registry: invalid settings under `{key}`: {e}");
            }
        }
        self.settings = settings;
        self
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
        let guard = self.map.guard();
        let slot = self.lookup(key, &guard)?;
        let breaker: *const CircuitBreaker = &slot.breaker;
        Some(BreakerRef {
            breaker,
            _guard: guard,
            collector: &self.collector,
        })
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
        let guard = self.map.guard();
        let slot = match self.lookup(key, &guard) {
            Some(slot) => slot,
            None => self.insert(K::from(key), &guard),
        };
        let breaker: *const CircuitBreaker = &slot.breaker;
        BreakerRef {
            breaker,
            _guard: guard,
            collector: &self.collector,
        }
    }

    /// The breaker of `key`, created if there is none: for key types not built from a
    /// borrowed form (`u64` tenant ids), or when the key is owned already.
    #[inline]
    pub fn get_or_insert_key(&self, key: K) -> BreakerRef<'_> {
        let guard = self.map.guard();
        let slot = match self.lookup(&key, &guard) {
            Some(slot) => slot,
            None => self.insert(key, &guard),
        };
        let breaker: *const CircuitBreaker = &slot.breaker;
        BreakerRef {
            breaker,
            _guard: guard,
            collector: &self.collector,
        }
    }

    /// A view that keeps the registry pinned for many lookups, whose breakers (and so
    /// whose permits) borrow it: the fastest way to make several calls (one per request,
    /// say). Keep it short-lived: breakers evicted while it lives are freed only after it
    /// is dropped.
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
            guard: self.map.guard(),
        }
    }

    /// The breaker of `key`, if there is one, as a reference that is `Send` and `Sync`: to
    /// hold across an `.await` in a `Send` future (`call_async`). It costs more than
    /// [`get`](Self::get) (it takes an epoch slot from a process-wide pool, under a mutex),
    /// which is nothing next to a network call but not for a hot synchronous loop. Memory
    /// evicted while it is held is freed after it is dropped.
    pub fn get_send<Q>(&self, key: &Q) -> Option<SendBreakerRef<'_>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.map.owned_guard();
        let slot = self.lookup(key, &guard)?;
        let breaker: *const CircuitBreaker = &slot.breaker;
        Some(SendBreakerRef {
            breaker,
            _guard: guard,
        })
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
        let guard = self.map.owned_guard();
        let slot = match self.lookup(key, &guard) {
            Some(slot) => slot,
            None => self.insert(K::from(key), &guard),
        };
        let breaker: *const CircuitBreaker = &slot.breaker;
        SendBreakerRef {
            breaker,
            _guard: guard,
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

    /// Removes the breaker of `key`, whatever its state; returns whether there was one.
    /// Calls already admitted by it report to it; later lookups of `key` create a new one.
    pub fn remove<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let removed = self.map.remove(key, &self.map.guard()).is_some();
        if removed {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Calls `f` with every key and its breaker, in no particular order (not counted as
    /// uses): for dashboards.
    pub fn for_each(&self, mut f: impl FnMut(&K, &CircuitBreaker)) {
        let guard = self.map.guard();
        for (key, slot) in self.map.iter(&guard) {
            f(key, &slot.breaker);
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

    /// The slot of `key`, its stamp refreshed.
    #[inline]
    fn lookup<'g, Q>(&self, key: &Q, guard: &'g impl papaya::Guard) -> Option<&'g Slot>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.map.get(key, guard)?;
        slot.touch(self.tick.0.load(Ordering::Relaxed));
        Some(slot)
    }

    /// Inserts a breaker for `key` unless another thread just did, then makes room.
    #[cold]
    #[inline(never)]
    fn insert<'g>(&self, key: K, guard: &'g impl papaya::Guard) -> &'g Slot {
        let name = key.to_string();
        let config = self
            .settings
            .get(&name)
            .unwrap_or(&self.default_config)
            .clone();
        let make = || {
            let breaker = match &self.clock {
                Some(clock) => {
                    CircuitBreaker::with_clock(name, config, SharedClock(Arc::clone(clock)))
                }
                None => CircuitBreaker::new(name, config),
            };
            // The new slot is stamped `tick`; lookups from now on stamp `tick + 1`, so a
            // breaker used after this insertion is more recent than the inserted one.
            let tick = self.tick.0.fetch_add(2, Ordering::Relaxed) + 1;
            Slot {
                breaker,
                stamp: AtomicU64::new(tick),
            }
        };
        match self.map.try_insert_with(key, make, guard) {
            Ok(slot) => {
                let len = self.len.fetch_add(1, Ordering::Relaxed) + 1;
                if len > self.capacity {
                    self.make_room(slot, guard);
                }
                slot
            }
            Err(existing) => existing,
        }
    }

    /// Evicts least recently used Closed breakers until the registry is within its
    /// capacity or none is left to evict. Never evicts `inserted`, the caller's new slot.
    #[cold]
    fn make_room(&self, inserted: &Slot, guard: &impl papaya::Guard) {
        let mut evictor = lock(&self.evictor);
        // Whether the candidates of the last scan made here gave an eviction: if not,
        // another scan would find the same ones.
        let mut scanned_in_vain = None;
        while self.len.load(Ordering::Relaxed) > self.capacity {
            let Some((stamp, key)) = evictor.candidates.pop() else {
                if scanned_in_vain == Some(true)
                    || self.len.load(Ordering::Relaxed) < evictor.rescan_at
                {
                    break;
                }
                self.scan(&mut evictor, inserted, guard);
                scanned_in_vain = Some(true);
                continue;
            };
            // Not used since the scan (a lookup would have moved its stamp), Closed, and
            // no call in flight.
            let removed = self.map.remove_if(
                &key,
                |_, slot| slot.stamp.load(Ordering::Relaxed) == stamp && slot.evictable(),
                guard,
            );
            if let Ok(Some(_)) = removed {
                self.len.fetch_sub(1, Ordering::Relaxed);
                scanned_in_vain = Some(false);
            }
        }
    }

    /// Refills the candidates with the oldest Closed breakers: an eighth of the capacity
    /// (at least 16), oldest last.
    fn scan(&self, evictor: &mut Evictor<K>, inserted: &Slot, guard: &impl papaya::Guard) {
        // Lookups from now on stamp the tick after the scan, so a candidate whose stamp
        // has moved has been used since.
        let horizon = self.tick.0.fetch_add(1, Ordering::Relaxed) + 1;
        let mut seen: Vec<(u64, &K)> = self
            .map
            .iter(guard)
            .filter(|(_, slot)| {
                !std::ptr::eq(*slot, inserted) && slot.breaker.state() == CircuitState::Closed
            })
            .map(|(key, slot)| (slot.stamp.load(Ordering::Relaxed), key))
            .filter(|&(stamp, _)| stamp < horizon)
            .collect();
        let keep = (self.capacity / 8).max(16);
        if seen.len() > keep {
            seen.select_nth_unstable_by_key(keep - 1, |&(stamp, _)| stamp);
            seen.truncate(keep);
        }
        // Descending, so that `pop` gives the oldest.
        seen.sort_unstable_by_key(|&(stamp, _)| std::cmp::Reverse(stamp));
        evictor.candidates = seen
            .into_iter()
            .map(|(stamp, key)| (stamp, key.clone()))
            .collect();
        evictor.rescan_at = if evictor.candidates.is_empty() {
            // Nothing to evict: every breaker is open (or just inserted). Scan again only
            // after an eighth of the capacity more insertions.
            self.len.load(Ordering::Relaxed) + (self.capacity / 8).max(1)
        } else {
            0
        };
    }
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
    // The evictor's state is a cache: a panic mid-way leaves nothing inconsistent.
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

mod refs;
#[cfg(test)]
mod tests;

pub use refs::{BreakerRef, Pinned, RegistryPermit, SendBreakerRef};
