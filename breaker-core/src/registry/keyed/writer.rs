//! The registry's writer: insertions, evictions, removals and the reuse of memory, one at a
//! time under the registry's mutex.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::arena::{Data, Entry};
use super::epoch::{self, Pin};
use super::index::{Index, Slots};
use super::{Registry, RegistryKey, SharedClock, lock};
use crate::breaker::{CircuitBreaker, CircuitState};

/// What the writer keeps between its turns.
pub(super) struct Writer<K> {
    /// Slots of the current index that are not empty (live or tombstones).
    used: usize,
    /// Ids whose entries are free.
    free: Vec<u32>,
    /// Unlinked memory, to be reused once no pin can see it.
    retired: Vec<Retired>,
    /// The length of `retired` at which to try reusing it (see `vacant_id`).
    reclaim_at: usize,
    /// How many retired entries a reclamation waits for.
    batch: usize,
    /// The eviction candidates of the last scan: (stamp at the scan, key), sorted by
    /// descending stamp, so that `pop` gives the oldest.
    candidates: Vec<(u64, K)>,
    /// After a scan that found nothing to evict: the length below which not to scan again.
    rescan_at: usize,
    /// How many times the index was rebuilt.
    #[cfg(test)]
    pub(super) rebuilds: usize,
}

/// Memory unlinked at `epoch`.
enum Retired {
    Entry {
        id: u32,
        epoch: u64,
    },
    /// Kept only to be freed: readers may still probe it.
    Index {
        _index: Index,
        epoch: u64,
    },
}

impl<K> Writer<K> {
    pub(super) fn new(capacity: usize) -> Self {
        let batch = (capacity / 32).clamp(1, 64);
        Self {
            used: 0,
            free: Vec::new(),
            retired: Vec::new(),
            reclaim_at: batch,
            batch,
            candidates: Vec::new(),
            rescan_at: 0,
            #[cfg(test)]
            rebuilds: 0,
        }
    }
}

impl<K: RegistryKey> Registry<K> {
    /// Inserts a breaker for `key` unless another thread just did, making room first.
    /// The entry is valid while `pin` is held.
    #[cold]
    #[inline(never)]
    pub(super) fn insert<'p>(&'p self, key: K, pin: &'p Pin) -> &'p Entry<K> {
        let hash = self.hasher.hash_one(&key);
        let mut writer = lock(&self.writer);
        if let Some(entry) = self.find(hash, &key, pin) {
            return entry;
        }
        self.make_room(&mut writer, pin);

        let name = key.to_string();
        let config = self
            .settings
            .get(&name)
            .unwrap_or(&self.default_config)
            .clone();
        let breaker = match &self.clock {
            Some(clock) => CircuitBreaker::with_clock(name, config, SharedClock(Arc::clone(clock))),
            None => CircuitBreaker::new(name, config),
        };
        // The new entry is stamped `tick`; lookups from now on stamp `tick + 1`, so a
        // breaker used after this insertion is more recent than the inserted one.
        let tick = self.tick.0.fetch_add(2, Ordering::Relaxed) + 1;
        let id = self.vacant_id(&mut writer);
        let data = Data { hash, key, breaker };
        // SAFETY: we are the writer, and `id` is free.
        let entry = unsafe { self.arena.fill(id, data, tick) };
        self.link(&mut writer, hash, id, pin);
        self.len.fetch_add(1, Ordering::Relaxed);
        entry
    }

    /// Removes the breaker of `key`, whatever its state; returns whether there was one.
    /// Calls already admitted by it report to it; later lookups of `key` create a new one.
    pub fn remove<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let pin = epoch::pin();
        let hash = self.hasher.hash_one(key);
        let mut writer = lock(&self.writer);
        match self.find_id(hash, key, &pin) {
            Some(id) => {
                self.unlink(&mut writer, hash, id, &pin);
                true
            }
            None => false,
        }
    }

    /// The id of `key`'s entry.
    fn find_id<Q>(&self, hash: u64, key: &Q, pin: &Pin) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.index(pin).find(hash, |id| {
            // SAFETY: reached through the index under `pin`.
            let data = unsafe { self.arena.entry(id).data() };
            (data.hash == hash && data.key.borrow() == key).then_some(id)
        })
    }

    /// Links entry `id`, filled, under `hash`: in a rebuilt index if the current one is
    /// full.
    fn link(&self, writer: &mut Writer<K>, hash: u64, id: u32, pin: &Pin) {
        let mut index = self.index(pin);
        if writer.used + 1 > index.limit() {
            // Room for half as many again: a rebuild then comes after at least `len / 2`
            // more slots are used, so its cost per insertion stays constant (sized for
            // `len + 1`, a registry at its capacity could rebuild on every other eviction).
            // Never below the first index's size: a registry emptied by removals would
            // otherwise shrink to 16 slots and rebuild its way back up.
            let room = ((self.len() + 1).saturating_mul(3) / 2).max(initial_room(self.capacity));
            let rebuilt = Index::with_room_for(room).into_word();
            // SAFETY: not installed yet: ours alone.
            let slots = unsafe { Slots::of(rebuilt) };
            for linked in index.ids() {
                // SAFETY: linked, and we are the writer.
                slots.insert(unsafe { self.arena.entry(linked).data() }.hash, linked);
            }
            writer.used = self.len();
            #[cfg(test)]
            {
                writer.rebuilds += 1;
            }
            let old = self.index.swap(rebuilt, Ordering::AcqRel);
            writer.retired.push(Retired::Index {
                // SAFETY: from `into_word`, replaced (so unreachable by new lookups), and
                // taken back once.
                _index: unsafe { Index::from_word(old) },
                epoch: epoch::advance(),
            });
            index = self.index(pin);
        }
        if index.insert(hash, id) {
            writer.used += 1;
        }
    }

    /// Unlinks entry `id`, linked under `hash`, and retires it.
    fn unlink(&self, writer: &mut Writer<K>, hash: u64, id: u32, pin: &Pin) {
        self.index(pin).remove(hash, id);
        self.len.fetch_sub(1, Ordering::Relaxed);
        writer.retired.push(Retired::Entry {
            id,
            epoch: epoch::advance(),
        });
    }

    /// A free entry's id: a reused one if reclamation finds some, a new one otherwise.
    fn vacant_id(&self, writer: &mut Writer<K>) -> u32 {
        if writer.free.is_empty() && writer.retired.len() >= writer.reclaim_at {
            self.reclaim(writer);
        }
        writer.free.pop().unwrap_or_else(|| self.arena.allocate())
    }

    /// Frees the retired memory no pin can see any more, and entries no `SendBreakerRef`
    /// holds. A membarrier and a scan of the threads' pins: done only when a batch of
    /// entries waits, so that its cost is shared.
    fn reclaim(&self, writer: &mut Writer<K>) {
        let oldest = epoch::oldest_pin();
        let mut reusable = Vec::new();
        writer.retired.retain(|retired| match *retired {
            Retired::Entry { id, epoch } => {
                // Acquire: pairs with the release of the last `SendBreakerRef`'s drop.
                let unseen =
                    epoch <= oldest && self.arena.entry(id).holds.load(Ordering::Acquire) == 0;
                if unseen {
                    reusable.push(id);
                }
                !unseen
            }
            Retired::Index { epoch, .. } => epoch > oldest,
        });
        writer.reclaim_at = writer.retired.len() + writer.batch;
        // Out of `retired` before any destructor runs, and each marked free before its own:
        // a key whose `drop` panics leaves its entry free (and the rest unreclaimed,
        // leaked), never dropped twice.
        for id in reusable {
            writer.free.push(id);
            // SAFETY: unlinked at its epoch, no pin from before that is held, and no
            // `SendBreakerRef` holds it; no longer in `retired`, so emptied once.
            unsafe { self.arena.empty(id) };
        }
    }

    /// Evicts least recently used Closed breakers until there is room for one more, or none
    /// is left to evict.
    fn make_room(&self, writer: &mut Writer<K>, pin: &Pin) {
        // Whether the candidates of the last scan made here gave an eviction: if not,
        // another scan would find the same ones.
        let mut scanned_in_vain = None;
        while self.len() >= self.capacity {
            let Some((stamp, key)) = writer.candidates.pop() else {
                if scanned_in_vain == Some(true) || self.len() < writer.rescan_at {
                    break;
                }
                self.scan(writer, pin);
                scanned_in_vain = Some(true);
                continue;
            };
            // Not used since the scan (a lookup would have moved its stamp), Closed, and
            // no call in flight.
            let hash = self.hasher.hash_one(&key);
            if let Some(id) = self.find_id(hash, &key, pin) {
                let entry = self.arena.entry(id);
                if entry.stamp.load(Ordering::Relaxed) == stamp && evictable(entry) {
                    self.unlink(writer, hash, id, pin);
                    scanned_in_vain = Some(false);
                }
            }
        }
    }

    /// Refills the candidates with the oldest Closed breakers: an eighth of the capacity
    /// (at least 16), oldest last.
    fn scan(&self, writer: &mut Writer<K>, pin: &Pin) {
        // Lookups from now on stamp the tick after the scan, so a candidate whose stamp
        // has moved has been used since.
        let horizon = self.tick.0.fetch_add(1, Ordering::Relaxed) + 1;
        let mut seen: Vec<(u64, &K)> = self
            .index(pin)
            .ids()
            .map(|id| self.arena.entry(id))
            .filter_map(|entry| {
                // SAFETY: linked, and we are the writer.
                let data = unsafe { entry.data() };
                let stamp = entry.stamp.load(Ordering::Relaxed);
                (stamp < horizon && data.breaker.state() == CircuitState::Closed)
                    .then_some((stamp, &data.key))
            })
            .collect();
        let keep = (self.capacity / 8).max(16);
        if seen.len() > keep {
            seen.select_nth_unstable_by_key(keep - 1, |&(stamp, _)| stamp);
            seen.truncate(keep);
        }
        // Descending, so that `pop` gives the oldest.
        seen.sort_unstable_by_key(|&(stamp, _)| std::cmp::Reverse(stamp));
        writer.candidates = seen
            .into_iter()
            .map(|(stamp, key)| (stamp, key.clone()))
            .collect();
        writer.rescan_at = if writer.candidates.is_empty() {
            // Nothing to evict: every breaker is open. Scan again only after an eighth of
            // the capacity more insertions.
            self.len() + (self.capacity / 8).max(1)
        } else {
            0
        };
    }
}

/// The keys a registry's first index has room for: its capacity, up to a thousand (larger
/// registries grow their index as they fill).
pub(super) fn initial_room(capacity: usize) -> usize {
    capacity.min(1_024)
}

/// Whether an entry's breaker may be forgotten: Closed, with no call in flight.
fn evictable<K>(entry: &Entry<K>) -> bool {
    // SAFETY: the caller (the writer) found it linked.
    let breaker = unsafe { &entry.data().breaker };
    if breaker.state() != CircuitState::Closed {
        return false;
    }
    let m = breaker.metrics();
    m.state == CircuitState::Closed && m.admitted <= m.succeeded + m.failed + m.abandoned
}

impl<K> Drop for Registry<K> {
    fn drop(&mut self) {
        // `&mut self`: no view of the registry is left, so everything linked or retired
        // can be dropped now.
        // SAFETY: from `into_word`; taken back once.
        let index = unsafe { Index::from_word(*self.index.get_mut()) };
        // SAFETY: `index` is freed at the end of this function, after the last use.
        let slots = unsafe { Slots::of(*self.index.get_mut()) };
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let retired = writer
            .retired
            .drain(..)
            .filter_map(|retired| match retired {
                Retired::Entry { id, .. } => Some(id),
                Retired::Index { .. } => None,
            });
        for id in slots.ids().chain(retired) {
            // SAFETY: linked or retired, so initialized; nothing can reach it any more.
            unsafe { self.arena.empty(id) };
        }
        drop(index);
    }
}
