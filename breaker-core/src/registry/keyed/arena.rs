//! [`Arena`]: the registry's entries, at addresses that never change, recycled after
//! eviction.
//!
//! Entries live in segments of doubling size (64, 128, 256... entries), allocated as ids
//! reach them and freed with the arena, so an entry's address is fixed for the registry's
//! life and an id finds it with a little arithmetic and one load. An entry evicted is
//! dropped and its id reused only once no reader can hold it (see `epoch`), so the arena
//! holds about the registry's capacity. Ids are handed out in order, so entries created
//! together sit together.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use super::index::MAX_ID;
use crate::breaker::CircuitBreaker;

/// One key's breaker, and what eviction needs to know of it. Aligned to a cache line, so
/// that what a lookup reads (the stamp, the hash, the key's header and the breaker's hot
/// word and counters) shares one line.
#[repr(C, align(64))]
pub(super) struct Entry<K> {
    /// The registry's tick at the entry's last lookup (or its insertion).
    pub(super) stamp: AtomicU64,
    /// Initialized while the entry is linked in the index or retired; uninitialized while
    /// it is free.
    data: UnsafeCell<MaybeUninit<Data<K>>>,
    /// [`SendBreakerRef`](super::SendBreakerRef)s held: the entry is not reused while
    /// there is one. Outside `data`, as it outlives one use of the entry; last, as a
    /// lookup does not read it.
    pub(super) holds: AtomicU32,
}

#[repr(C)]
pub(super) struct Data<K> {
    pub(super) hash: u64,
    pub(super) key: K,
    pub(super) breaker: CircuitBreaker,
}

impl<K> Entry<K> {
    /// Records a lookup at `tick`: a write only if the tick has moved since the last one.
    #[inline]
    pub(super) fn touch(&self, tick: u64) {
        if self.stamp.load(Ordering::Relaxed) != tick {
            self.stamp.store(tick, Ordering::Relaxed);
        }
    }

    /// The entry's key and breaker.
    ///
    /// # Safety
    ///
    /// The entry is initialized and stays so while the reference lives: it was reached
    /// through the index under a pin taken before, or the caller is the writer and it is
    /// linked or retired.
    #[inline]
    pub(super) unsafe fn data(&self) -> &Data<K> {
        // SAFETY: initialized (the caller's contract); written only while free, when no
        // reader can reach it.
        unsafe { (*self.data.get()).assume_init_ref() }
    }
}

const FIRST: usize = 64;
/// Enough segments for every id a slot can hold (`FIRST * (2^27 - 1) > 2^32`).
const SEGMENTS: usize = 27;

/// Entries by id.
pub(super) struct Arena<K> {
    segments: [AtomicPtr<Entry<K>>; SEGMENTS],
    /// Ids handed out so far (the writer only).
    allocated: AtomicU32,
}

// SAFETY: the arena owns its entries' keys and breakers (`CircuitBreaker` is `Send + Sync`):
// sending it sends the keys.
unsafe impl<K: Send> Send for Arena<K> {}
// SAFETY: readers on any thread share `&K`; the writer, on any thread, writes and drops keys
// that other threads created. The entries' `UnsafeCell` is written only while unreachable
// (see `fill` and `empty`).
unsafe impl<K: Send + Sync> Sync for Arena<K> {}

/// The segment of `id` and its position there.
#[inline]
fn locate(id: u32) -> (usize, usize) {
    let n = id as usize / FIRST + 1;
    let segment = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (segment, id as usize - FIRST * ((1 << segment) - 1))
}

fn segment_len(segment: usize) -> usize {
    FIRST << segment
}

impl<K> Arena<K> {
    pub(super) fn new() -> Self {
        Self {
            segments: std::array::from_fn(|_| AtomicPtr::new(null_mut())),
            allocated: AtomicU32::new(0),
        }
    }

    /// The entry of `id`, an id handed out by [`allocate`](Self::allocate).
    #[inline]
    pub(super) fn entry(&self, id: u32) -> &Entry<K> {
        let (segment, at) = locate(id);
        // Acquire: pairs with the release in `allocate` (the id reached the caller
        // through a slot stored after it, so the segment is there).
        let base = self.segments[segment].load(Ordering::Acquire);
        debug_assert!(!base.is_null() && at < segment_len(segment));
        // SAFETY: ids are handed out only once their segment is allocated, and segments
        // live as long as the arena.
        unsafe { &*base.add(at) }
    }

    /// A new id, its entry free (the writer only).
    pub(super) fn allocate(&self) -> u32 {
        let id = self.allocated.load(Ordering::Relaxed);
        assert!(id <= MAX_ID, "Registry: more than 2^32 breakers");
        let (segment, _) = locate(id);
        if self.segments[segment].load(Ordering::Relaxed).is_null() {
            let entries: Box<[Entry<K>]> = (0..segment_len(segment))
                .map(|_| Entry {
                    stamp: AtomicU64::new(0),
                    data: UnsafeCell::new(MaybeUninit::uninit()),
                    holds: AtomicU32::new(0),
                })
                .collect();
            let base = Box::into_raw(entries).cast::<Entry<K>>();
            self.segments[segment].store(base, Ordering::Release);
        }
        self.allocated.store(id + 1, Ordering::Relaxed);
        id
    }

    /// How many ids have been handed out: the entries the arena holds.
    #[cfg(test)]
    pub(super) fn allocated(&self) -> u32 {
        self.allocated.load(Ordering::Relaxed)
    }

    /// Writes a free entry's key and breaker.
    ///
    /// # Safety
    ///
    /// The caller is the writer, and `id` is free: no reader can reach it.
    pub(super) unsafe fn fill(&self, id: u32, data: Data<K>, stamp: u64) -> &Entry<K> {
        let entry = self.entry(id);
        // SAFETY: free, so uninitialized and unreachable (the caller's contract).
        unsafe { (*entry.data.get()).write(data) };
        entry.stamp.store(stamp, Ordering::Relaxed);
        entry
    }

    /// Drops an entry's key and breaker, making it free.
    ///
    /// # Safety
    ///
    /// The caller is the writer, and `id` is initialized and unreachable: unlinked, and no
    /// reader pinned before it was unlinked is still pinned, and no `SendBreakerRef` holds it.
    pub(super) unsafe fn empty(&self, id: u32) {
        let entry = self.entry(id);
        // SAFETY: initialized and unreachable (the caller's contract).
        unsafe { (*entry.data.get()).assume_init_drop() };
    }
}

impl<K> Drop for Arena<K> {
    fn drop(&mut self) {
        // Entries still initialized were emptied by the registry's drop.
        for (segment, base) in self.segments.iter_mut().enumerate() {
            let base = *base.get_mut();
            if !base.is_null() {
                let entries = std::ptr::slice_from_raw_parts_mut(base, segment_len(segment));
                // SAFETY: allocated in `allocate` as a boxed slice of this length.
                drop(unsafe { Box::from_raw(entries) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_to_segments_of_doubling_size() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
        let last = locate(MAX_ID);
        assert!(last.0 < SEGMENTS && last.1 < segment_len(last.0));
    }

    #[test]
    fn what_a_lookup_reads_is_on_the_first_cache_line() {
        use std::mem::offset_of;
        type Key = std::sync::Arc<str>;
        let data = offset_of!(Entry<Key>, data);
        let breaker = data + offset_of!(Data<Key>, breaker);
        assert!(offset_of!(Entry<Key>, stamp) < 64 && data + offset_of!(Data<Key>, key) < 64);
        // The breaker's hot word and counters lead it (`repr(C)`): 24 bytes.
        assert!(breaker + 24 <= 64, "the breaker starts at {breaker}");
        // The stamp, the hash and the key (16 bytes here): a key type of up to 24 bytes (a
        // small string holding its bytes inline) still leaves them on the line.
        assert_eq!(breaker, 8 + 8 + 16);
        assert_eq!(
            std::mem::size_of::<Entry<Key>>(),
            192,
            "as the registry's docs say"
        );
    }

    #[test]
    fn entries_keep_their_address() {
        let arena: Arena<u64> = Arena::new();
        let first: *const Entry<u64> = {
            let id = arena.allocate();
            arena.entry(id)
        };
        for _ in 0..1_000 {
            arena.allocate();
        }
        assert!(std::ptr::eq(first, arena.entry(0)));
        assert_eq!(arena.allocated.load(Ordering::Relaxed), 1_001);
    }
}
