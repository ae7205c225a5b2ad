//! [`Index`]: the registry's hash table, from a key's hash to its entry's id.
//!
//! Open addressing with linear probing over one word per slot: the high half of the hash
//! (a tag that rules out nearly every other key without touching its entry) and the entry's
//! id. At 10,000 keys the table is 128 KiB, small enough to stay in a core's L2 cache, so a
//! lookup's probe is an L2 hit and its only other memory is the entry itself.
//!
//! Readers probe without a lock; the single writer (the registry's writer mutex) stores
//! slots with release ordering after writing the entry. A removal leaves a tombstone (a
//! reader probing past it must keep going); an insertion reuses the first tombstone on its
//! path. When live slots and tombstones fill three quarters of the table, the writer builds
//! a new one and retires the old, which readers may still be probing (see `epoch`).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

const EMPTY: u64 = 0;
const TOMBSTONE: u64 = 1;
/// Added to an id in its slot, so that ids start above `EMPTY` and `TOMBSTONE`.
const ID_BIAS: u64 = 2;
/// The largest id a slot holds.
pub(super) const MAX_ID: u32 = u32::MAX - ID_BIAS as u32;

/// Slots by cache line: the table is aligned to a line, so the low six bits of its address
/// are free to hold the log of its length (see [`Index::into_word`]).
#[repr(C, align(64))]
struct Line([AtomicU64; 8]);

/// A table, owned: created by the writer, installed as a word, freed once retired and
/// unseen.
pub(super) struct Index(Box<[Line]>);

/// A table as readers and the writer use it, borrowed from its word.
#[derive(Clone, Copy)]
pub(super) struct Slots<'a> {
    base: *const AtomicU64,
    mask: usize,
    _table: PhantomData<&'a AtomicU64>,
}

/// The tag half of a hash.
#[inline]
fn tag(hash: u64) -> u64 {
    hash >> 32
}

#[inline]
fn slot(hash: u64, id: u32) -> u64 {
    (tag(hash) << 32) | (u64::from(id) + ID_BIAS)
}

impl Index {
    /// A table with room for `live` keys under three quarters load (at least 16 slots).
    pub(super) fn with_room_for(live: usize) -> Self {
        let len = live
            .saturating_add(live / 3 + 1)
            .next_power_of_two()
            .max(16);
        Self(
            (0..len / 8)
                .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(EMPTY))))
                .collect(),
        )
    }

    /// The table as one word: its address, and the log of its length in the low bits. A
    /// reader gets both from one load.
    pub(super) fn into_word(self) -> usize {
        let len = self.0.len() * 8;
        let base = Box::into_raw(self.0).cast::<Line>() as usize;
        debug_assert_eq!(base & 63, 0);
        base | len.trailing_zeros() as usize
    }

    /// The table of a word from [`into_word`](Self::into_word).
    ///
    /// # Safety
    ///
    /// `word` came from `into_word`, and this is its only `from_word`.
    pub(super) unsafe fn from_word(word: usize) -> Self {
        let lines = (1usize << (word & 63)) / 8;
        let base = (word & !63) as *mut Line;
        // SAFETY: allocated as a boxed slice of `lines` lines (the caller's contract).
        Self(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(base, lines)) })
    }
}

impl<'a> Slots<'a> {
    /// The slots of a table's word.
    ///
    /// # Safety
    ///
    /// `word` came from [`Index::into_word`] and its table is not freed during `'a`.
    #[inline]
    pub(super) unsafe fn of(word: usize) -> Self {
        Self {
            base: (word & !63) as *const AtomicU64,
            mask: (1usize << (word & 63)) - 1,
            _table: PhantomData,
        }
    }

    #[inline]
    fn at(&self, at: usize) -> &'a AtomicU64 {
        // SAFETY: `at` is masked to the table's length, and the table outlives `'a`.
        unsafe { &*self.base.add(at & self.mask) }
    }

    /// How many slots the table has.
    fn len(&self) -> usize {
        self.mask + 1
    }

    /// The slots, live or tombstones, past which the table is rebuilt.
    pub(super) fn limit(&self) -> usize {
        self.len() / 4 * 3
    }

    /// The first entry on `hash`'s probe path for which `found` returns something.
    #[inline]
    pub(super) fn find<T>(&self, hash: u64, mut found: impl FnMut(u32) -> Option<T>) -> Option<T> {
        let mut at = hash as usize;
        loop {
            let word = self.at(at).load(Ordering::Acquire);
            if word == EMPTY {
                return None;
            }
            if tag(word) == tag(hash)
                && word & 0xffff_ffff >= ID_BIAS
                && let Some(hit) = found(((word & 0xffff_ffff) - ID_BIAS) as u32)
            {
                return Some(hit);
            }
            at = at.wrapping_add(1);
        }
    }

    /// The position of the slot holding `id` on `hash`'s probe path.
    fn position(&self, hash: u64, id: u32) -> Option<usize> {
        let wanted = slot(hash, id);
        let mut at = hash as usize;
        loop {
            match self.at(at).load(Ordering::Relaxed) {
                EMPTY => return None,
                word if word == wanted => return Some(at),
                _ => at = at.wrapping_add(1),
            }
        }
    }

    /// Links `id` under `hash` (the writer only, the key known absent). Returns whether it
    /// took an empty slot (rather than a tombstone).
    pub(super) fn insert(&self, hash: u64, id: u32) -> bool {
        debug_assert!(id <= MAX_ID);
        let mut at = hash as usize;
        loop {
            let word = self.at(at).load(Ordering::Relaxed);
            if word == EMPTY || word == TOMBSTONE {
                // Release: the entry, written before, is visible to readers that see the slot.
                self.at(at).store(slot(hash, id), Ordering::Release);
                return word == EMPTY;
            }
            at = at.wrapping_add(1);
        }
    }

    /// Unlinks `id`, linked under `hash` (the writer only).
    pub(super) fn remove(&self, hash: u64, id: u32) {
        let at = self
            .position(hash, id)
            .expect("Index::remove: the entry is linked");
        self.at(at).store(TOMBSTONE, Ordering::Release);
    }

    /// The ids linked, in table order.
    pub(super) fn ids(self) -> impl Iterator<Item = u32> + 'a {
        (0..self.len()).filter_map(move |at| {
            let word = self.at(at).load(Ordering::Acquire) & 0xffff_ffff;
            (word >= ID_BIAS).then(|| (word - ID_BIAS) as u32)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_is_linked_past_collisions_and_tombstones() {
        let word = Index::with_room_for(4).into_word();
        // SAFETY: freed at the end of the test, after its last use.
        let index = unsafe { Slots::of(word) };
        // Three hashes on the same home slot, two with the same tag.
        let (a, b, c) = (
            0x1111_0000_0000_0003,
            0x1111_0000_0001_0003,
            0x2222_0000_0000_0003,
        );
        assert!(index.insert(a, 10));
        assert!(index.insert(b, 11));
        assert!(index.insert(c, 12));
        let find = |hash, id| index.find(hash, |found| (found == id).then_some(found));
        assert_eq!(find(c, 12), Some(12));
        assert_eq!(find(b, 11), Some(11));
        index.remove(a, 10);
        assert_eq!(find(a, 10), None);
        assert_eq!(find(c, 12), Some(12), "found past the tombstone");
        assert!(!index.insert(a, 13), "the tombstone is reused");
        assert_eq!(find(a, 13), Some(13));
        let mut ids: Vec<u32> = index.ids().collect();
        ids.sort();
        assert_eq!(ids, [11, 12, 13]);
        // SAFETY: from `into_word`, once.
        drop(unsafe { Index::from_word(word) });
    }

    #[test]
    fn sized_under_three_quarters_load() {
        let slots = |live| {
            let word = Index::with_room_for(live).into_word();
            // SAFETY: freed right after reading its size.
            let (len, limit) = unsafe { (Slots::of(word).len(), Slots::of(word).limit()) };
            // SAFETY: from `into_word`, once.
            drop(unsafe { Index::from_word(word) });
            (len, limit)
        };
        assert_eq!(slots(10_000), (16_384, 12_288), "128 KiB");
        assert!(slots(12_288).1 >= 12_288);
        assert_eq!(slots(0).0, 16);
    }
}
