//! The registry's writers: insertions, which make room first by evicting, and removals, one
//! at a time under the evictor's mutex.
//!
//! # Which breakers go
//!
//! Each breaker has a [`Standing`]: what forgetting it would lose, from nothing (Clean) to
//! an operator's command. At its capacity, an insertion evicts Clean and Stale breakers
//! (a stale one's outage is long past and nobody asks for it), least recently used first,
//! until the registry is back within its capacity; the others are kept and the registry
//! grows. At twice its capacity an insertion evicts one breaker whatever its standing: the
//! least loss first (evidence of an outage, then a call in flight, then an operator's
//! command), the least recently used first within each. So the registry never holds more
//! than twice its capacity.
//!
//! # What it costs
//!
//! Candidates come from a scan of the whole map, which keeps the best `batch` of them
//! (least loss, then oldest), sorted, so that one scan serves many evictions. A candidate
//! is checked again before it goes: still linked, not used since the scan (its stamp has
//! not moved), and still of a standing the current pressure lets go. Candidates serve an
//! eighth of the capacity in insertions at most (breakers inserted since their scan are
//! not among them). A scan that finds nothing the registry may evict below twice its
//! capacity is not repeated before as many more insertions: an insertion does not scan the
//! whole map each time, whatever the breakers hold.

use std::borrow::Borrow;
use std::cmp::Reverse;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use papaya::Guard;

use super::{Entry, KeyedRegistry, RegistryKey, lock};
use crate::breaker::Standing;

/// What the writers keep between their turns.
pub(super) struct Evictor<K> {
    /// The candidates of the last scan, the best last, so that `pop` gives it.
    candidates: Vec<Candidate<K>>,
    /// After a scan that found nothing to evict below twice the capacity: the length below
    /// which not to scan again (0: no such limit).
    rescan_at: usize,
    /// Insertions left before the candidates are too old to trust: breakers inserted since
    /// the scan are not among them.
    fresh_for: usize,
    /// How many scans were made.
    #[cfg(test)]
    pub(super) scans: usize,
}

/// The order in which breakers go: Clean and Stale ones together, by recency.
fn rank(standing: Standing) -> u8 {
    match standing {
        Standing::Clean | Standing::Stale => 0,
        Standing::Evidence => 1,
        Standing::InFlight => 2,
        Standing::Commanded => 3,
    }
}

/// A breaker a scan found, and what it was then.
struct Candidate<K> {
    standing: Standing,
    stamp: u64,
    key: K,
}

impl<K> Evictor<K> {
    pub(super) fn new() -> Self {
        Self {
            candidates: Vec::new(),
            rescan_at: 0,
            fresh_for: 0,
            #[cfg(test)]
            scans: 0,
        }
    }
}

impl<K: RegistryKey> KeyedRegistry<K> {
    /// Inserts a breaker for `key` unless another thread just did, making room first.
    #[cold]
    #[inline(never)]
    pub(super) fn insert<'g>(&self, key: K, guard: &'g impl Guard) -> &'g Entry {
        let mut evictor = lock(&self.evictor);
        if let Some(entry) = self.map.get(&key, guard) {
            return entry;
        }
        self.make_room(&mut evictor, guard);
        evictor.fresh_for = evictor.fresh_for.saturating_sub(1);
        let breaker = Arc::new(self.new_breaker(&key));
        for listener in lock(&self.on_breaker).iter() {
            listener(&breaker);
        }
        // The new entry is stamped `tick`; lookups from now on stamp `tick + 1`, so a
        // breaker used after this insertion is more recent than the inserted one.
        let tick = self.tick.0.fetch_add(2, Ordering::Relaxed) + 1;
        let entry = Entry {
            stamp: AtomicU64::new(tick),
            breaker,
        };
        match self.map.try_insert(key, entry, guard) {
            Ok(entry) => {
                self.len.fetch_add(1, Ordering::Relaxed);
                entry
            }
            // Writers hold the mutex, so the key is still missing: kept for completeness.
            Err(occupied) => occupied.current,
        }
    }

    /// Removes the breaker of `key`, whatever its state; returns whether there was one.
    /// Calls already admitted by it report to it; later lookups of `key` create a new one.
    pub fn remove<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _evictor = lock(&self.evictor);
        let removed = self.map.remove(key, &self.map.guard()).is_some();
        if removed {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Twice the capacity: the most the registry holds.
    fn bound(&self) -> usize {
        self.capacity.saturating_mul(2)
    }

    /// How many candidates a scan keeps: an eighth of the capacity, at least 16.
    fn batch(&self) -> usize {
        (self.capacity / 8).max(16)
    }

    /// How many insertions a scan's candidates serve, and how many go by after a scan that
    /// found nothing before the next: an eighth of the capacity, at least one. A scan reads
    /// up to twice the capacity, so its cost per insertion stays constant.
    fn patience(&self) -> usize {
        (self.capacity / 8).max(1)
    }

    /// Evicts until there is room for one more breaker within the capacity, or nothing is
    /// left that may go at this length (see the module docs). At most one scan.
    fn make_room(&self, evictor: &mut Evictor<K>, guard: &impl Guard) {
        if evictor.fresh_for == 0 {
            evictor.candidates.clear();
        }
        let mut scanned = false;
        loop {
            let len = self.len();
            if len < self.capacity {
                return;
            }
            let full = len >= self.bound();
            let may_go = if full {
                Standing::Commanded
            } else {
                Standing::Stale
            };
            match evictor.candidates.last() {
                Some(best) if best.standing <= may_go => {
                    if let Some(candidate) = evictor.candidates.pop() {
                        self.evict(&candidate, may_go, guard);
                    }
                }
                _ if scanned || (!full && len < evictor.rescan_at) => {
                    if full {
                        // Every candidate was used since the scan: the bound holds anyway.
                        self.evict_any(guard);
                    }
                    return;
                }
                _ => {
                    self.scan(evictor, guard);
                    scanned = true;
                    let found = evictor
                        .candidates
                        .last()
                        .is_some_and(|best| best.standing <= Standing::Stale);
                    // Nothing to evict below the bound: scan again only after a batch more
                    // insertions (or at the bound).
                    evictor.rescan_at = if found { 0 } else { len + self.patience() };
                }
            }
        }
    }

    /// Evicts a candidate if it is still linked, unused since its scan, and of a standing
    /// that may go.
    fn evict(&self, candidate: &Candidate<K>, may_go: Standing, guard: &impl Guard) {
        let removed = self.map.remove_if(
            &candidate.key,
            |_, entry| {
                entry.stamp.load(Ordering::Relaxed) == candidate.stamp
                    && entry.breaker.standing() <= may_go
            },
            guard,
        );
        if let Ok(Some(_)) = removed {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Evicts one breaker, any: at the bound, when every candidate was used since the scan.
    fn evict_any(&self, guard: &impl Guard) {
        for (key, _) in self.map.iter(guard) {
            if self.map.remove(key, guard).is_some() {
                self.len.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        }
    }

    /// Refills the candidates with the best `batch` breakers to evict: least loss first,
    /// then least recently used.
    fn scan(&self, evictor: &mut Evictor<K>, guard: &impl Guard) {
        #[cfg(test)]
        {
            evictor.scans += 1;
        }
        // Lookups from now on stamp the tick after the scan, so a candidate whose stamp
        // has moved has been used since.
        let horizon = self.tick.0.fetch_add(1, Ordering::Relaxed) + 1;
        evictor.fresh_for = self.patience();
        let mut seen: Vec<(Standing, u64, &K)> = self
            .map
            .iter(guard)
            .filter_map(|(key, entry)| {
                let stamp = entry.stamp.load(Ordering::Relaxed);
                (stamp < horizon).then(|| (entry.breaker.standing(), stamp, key))
            })
            .collect();
        let keep = self.batch();
        let order = |&(standing, stamp, _): &(Standing, u64, &K)| (rank(standing), stamp);
        if seen.len() > keep {
            seen.select_nth_unstable_by_key(keep - 1, order);
            seen.truncate(keep);
        }
        // The best last, for `pop`.
        seen.sort_unstable_by_key(|seen| Reverse(order(seen)));
        evictor.candidates = seen
            .into_iter()
            .map(|(standing, stamp, key)| Candidate {
                standing,
                stamp,
                key: key.clone(),
            })
            .collect();
    }
}
