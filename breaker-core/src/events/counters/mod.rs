//! [`CallCounters`]: the per-call counters of one breaker.
//!
//! Every call bumps a counter or two (admitted, then succeeded or failed; or rejected), so the
//! counters must be neither a contended cache line nor an atomic read-modify-write (each
//! costs more than a whole call through a three-atomics breaker). So each thread counts in a
//! shard of its own, on its own cache line, with a plain load and store: a live thread owns
//! its slot exclusively (slots are handed out by a global allocator and given back when the
//! thread exits, under a mutex that orders the last owner's counts before the next one's).
//!
//! So that a breaker nobody calls, or few threads call, is small (a registry may hold
//! thousands), a breaker starts with the shards of the first [`NEAR`] slots only (the
//! process's first threads: `main` and the first workers), indexed by slot. The
//! first count of a thread with a later slot creates the table of the other slots' shards
//! and the shared shard, then its own shard; each later thread creates its own. Threads
//! whose slot is beyond the table (more threads than four per core), or that are being torn
//! down, count in the shared shard with `fetch_add`.
//!
//! | breaker | heap |
//! | --- | --- |
//! | idle, or called only by threads of the first four slots | 512 bytes |
//! | called by `n` threads of later slots too | `128 (n + 5) + 8 (slots + 2)` (slots: four per core, 16 to 256) |
//!
//! # Invariants
//!
//! The `unsafe` blocks below rest on these, kept by the code of this module alone:
//! - A live thread owns its slot exclusively: only it stores to its shard's counters (plain
//!   load and store); any thread may read them.
//! - `others` goes from null to a table once, published with `Release` (a compare-and-swap
//!   that a loser's table never passes), and is read with `Acquire`; the table has
//!   `table_len()` entries and never moves.
//! - A table entry goes from null to a shard once, likewise published; the shared shard is
//!   set before the table is published.
//! - The table and its shards are freed only when the counters are dropped (`&mut self`),
//!   once, when no thread can count any more.

use std::ptr::null_mut as null;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The counters of a shard, by index.
const ADMITTED: usize = 0;
const REJECTED: usize = 1;
const SUCCEEDED: usize = 2;
const FAILED: usize = 3;
const ABANDONED: usize = 4;
const STALE: usize = 5;
const SLOW: usize = 6;
const IGNORED: usize = 7;
/// Ignored calls counted as neither a success nor a failure: the one way a permit ends
/// that no other counter records.
const UNSCORED: usize = 8;
/// Calls the remote rate-limited (an end of their own: neither a success nor a failure).
const RATE_LIMITED: usize = 9;
/// Rejections by the rate-limit gate (counted in `REJECTED` too).
const GATED: usize = 10;
const COUNTERS: usize = 11;

/// The per-call counters of one breaker (see the module docs): two words in the breaker.
pub(crate) struct CallCounters {
    /// The shards of slots `0..NEAR`, allocated with the breaker: a count there is one load
    /// from the breaker and one from the shard.
    near: Box<[Shard; NEAR]>,
    /// The other slots' shards: null until a thread of a later slot counts, then the first
    /// of `table_len()` pointers (a leaked boxed slice, freed on drop). Pointer `i` in
    /// `NEAR..slot_count()` is slot `i`'s shard, null until the thread holding slot `i`
    /// first counts (those below `NEAR` stay null); pointer `no_shard()` stays null, the
    /// index of threads with no shard of their own; the last one is the shared shard, where
    /// they count with `fetch_add`. Flat and indexed without a bounds check, so that a
    /// thread finds its shard with one load.
    others: AtomicPtr<AtomicPtr<Shard>>,
}

/// One thread's counters, alone on its cache line(s).
#[repr(align(128))]
#[derive(Default)]
struct Shard([AtomicU64; COUNTERS]);

/// What the shards add up to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) admitted: u64,
    pub(crate) rejected: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) abandoned: u64,
    pub(crate) stale: u64,
    pub(crate) slow: u64,
    pub(crate) ignored: u64,
    pub(crate) unscored: u64,
    pub(crate) rate_limited: u64,
    pub(crate) gated: u64,
}

impl Totals {
    /// Permits handed out and not yet ended. Every permit ends exactly once, as a success
    /// (an ignored error counted as one included), a failure, an ignored error counted as
    /// neither, a rate limit, or a drop unreported; a stale report is one of those too.
    ///
    /// The shards are read one after the other, so a permit admitted on one thread and
    /// ended on another while they are read may be missed on one side: the count is exact
    /// when no call starts or ends meanwhile, and never below zero.
    pub(crate) fn in_flight(&self) -> u64 {
        let ended = self
            .succeeded
            .wrapping_add(self.failed)
            .wrapping_add(self.abandoned)
            .wrapping_add(self.unscored)
            .wrapping_add(self.rate_limited);
        let open = self.admitted.wrapping_sub(ended);
        // A difference that wrapped is a read that saw an end before its admission.
        if open > u64::MAX / 2 { 0 } else { open }
    }
}

/// Thread slots with a shard of their own in a breaker: four per core, at least 16, at
/// most 256 (only those that count in the breaker get one).
fn slot_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cores * 4).clamp(16, 256)
    })
}

/// The length of a breaker's table of shards (see [`CallCounters::others`]).
fn table_len() -> usize {
    slot_count() + 2
}

/// The index in the table of the pointer that stays null: that of threads with no shard.
fn no_shard() -> usize {
    slot_count()
}

/// The index in the table of the shared shard.
fn shared_shard() -> usize {
    slot_count() + 1
}

/// The thread slots given back by threads that exited, for reuse by new threads.
static FREE_SLOTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// The next slot never handed out.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// A thread's slot: held for the thread's life, given back when it exits.
struct Slot {
    id: usize,
    /// Its shard's index: `id`, or [`no_shard`] if it is beyond the table.
    index: usize,
}

impl Slot {
    fn take() -> Self {
        let reused = FREE_SLOTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let id = reused.unwrap_or_else(|| NEXT_SLOT.fetch_add(1, Ordering::Relaxed));
        Slot {
            id,
            index: id.min(no_shard()),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The mutex orders this thread's last counts before the next owner's first.
        FREE_SLOTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(self.id);
    }
}

thread_local! {
    static SLOT: Slot = Slot::take();
}

/// The slots whose shards every breaker has from the start.
const NEAR: usize = 4;

/// This thread's shard index (see [`Slot::index`]); [`no_shard`] while it is being torn
/// down.
#[inline]
fn shard_index() -> usize {
    SLOT.try_with(|slot| slot.index)
        .unwrap_or_else(|_| no_shard())
}

/// A count in a shard only the calling thread writes: no read-modify-write needed.
#[inline]
fn bump_owned(counter: &AtomicU64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

impl CallCounters {
    pub(crate) fn new() -> Self {
        Self {
            near: Box::default(),
            others: AtomicPtr::new(null()),
        }
    }

    /// Counts one in counter `index` of the calling thread's shard.
    #[inline]
    fn bump(&self, index: usize) {
        let table_index = shard_index();
        match self.near.get(table_index) {
            Some(shard) => bump_owned(&shard.0[index]),
            None => self.bump_other(table_index, index),
        }
    }

    /// Counts for a thread of a slot beyond the near shards: out of line, so that the
    /// inlined part of a count stays small enough for `acquire` and `success` to be inlined
    /// into their callers.
    #[inline(never)]
    fn bump_other(&self, table_index: usize, index: usize) {
        match self.own_shard(table_index) {
            Some(shard) => bump_owned(&shard.0[index]),
            None => self.bump_slow(table_index, index),
        }
    }

    /// The shard at `table_index` in the table, if it exists: one dependent load more than
    /// the near shards' path (the table's pointer to the shard, from a read-shared line).
    #[inline]
    fn own_shard(&self, table_index: usize) -> Option<&Shard> {
        let table = self.others.load(Ordering::Acquire);
        if table.is_null() {
            return None;
        }
        // SAFETY: a non-null table is the one this breaker installed (Acquire pairs with the
        // Release of its installation), `table_len()` pointers long, freed only when the
        // breaker is dropped (`&self` borrows it); a thread's index is at most `no_shard()`.
        let shard = unsafe { &*table.add(table_index) }.load(Ordering::Acquire);
        // SAFETY: a non-null slot points to a shard installed (with Release) by `bump_slow`
        // and freed only when the breaker is.
        unsafe { shard.as_ref() }
    }

    /// The first count of this thread in this breaker: creates its shard (and the table of
    /// them, if this is the first thread of a later slot), else counts in the shared shard.
    #[cold]
    #[inline(never)]
    fn bump_slow(&self, table_index: usize, index: usize) {
        let table = self.table();
        if table_index == no_shard() {
            // SAFETY: the shared shard is set when the table is made and freed only when the
            // breaker is.
            let shared = unsafe { &*table[shared_shard()].load(Ordering::Acquire) };
            shared.0[index].fetch_add(1, Ordering::Relaxed);
            return;
        }
        let slot = &table[table_index];
        let fresh = Box::into_raw(Box::<Shard>::default());
        // Only the thread holding this slot installs its shard: compare anyway, it is the
        // cold path.
        let shard = match slot.compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(existing) => {
                // SAFETY: `fresh` came from `Box::into_raw` above and was not published.
                drop(unsafe { Box::from_raw(fresh) });
                existing
            }
        };
        // SAFETY: `shard` is non-null, installed in this breaker's table and freed only when
        // the breaker is dropped.
        bump_owned(&unsafe { &*shard }.0[index]);
    }

    /// The table of the other slots' shards, created if there is none yet.
    fn table(&self) -> &[AtomicPtr<Shard>] {
        let mut current = self.others.load(Ordering::Acquire);
        if current.is_null() {
            let shared = Box::into_raw(Box::<Shard>::default());
            let fresh: Box<[AtomicPtr<Shard>]> = (0..table_len())
                .map(|i| AtomicPtr::new(if i == shared_shard() { shared } else { null() }))
                .collect();
            let fresh = Box::into_raw(fresh).cast::<AtomicPtr<Shard>>();
            current = match self.others.compare_exchange(
                null(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => fresh,
                Err(existing) => {
                    // SAFETY: `fresh` and `shared` came from `Box::into_raw` above and were
                    // not published.
                    unsafe { free_table(fresh) };
                    existing
                }
            };
        }
        // SAFETY: non-null, installed in `self.others` (by us or with Release by another
        // thread, read with Acquire), `table_len()` long, freed only when `self` is.
        unsafe { std::slice::from_raw_parts(current, table_len()) }
    }

    /// A permit was handed out.
    #[inline]
    pub(crate) fn admitted(&self) {
        self.bump(ADMITTED);
    }

    /// A call was rejected.
    #[inline]
    pub(crate) fn rejected(&self) {
        self.bump(REJECTED);
    }

    /// A call reported success.
    #[inline]
    pub(crate) fn succeeded(&self) {
        self.bump(SUCCEEDED);
    }

    /// A call reported failure.
    #[inline]
    pub(crate) fn failed(&self) {
        self.bump(FAILED);
    }

    /// A permit was dropped unreported.
    #[inline]
    pub(crate) fn abandoned(&self) {
        self.bump(ABANDONED);
    }

    /// A report was ignored as stale.
    #[inline]
    pub(crate) fn stale(&self) {
        self.bump(STALE);
    }

    /// A call took longer than the slow-call duration.
    #[inline]
    pub(crate) fn slow(&self) {
        self.bump(SLOW);
    }

    /// A call's error was one the classifier ignores.
    #[inline]
    pub(crate) fn ignored(&self) {
        self.bump(IGNORED);
    }

    /// An ignored call counted as neither a success nor a failure.
    #[inline]
    pub(crate) fn unscored(&self) {
        self.bump(UNSCORED);
    }

    /// A call the remote rate-limited.
    pub(crate) fn rate_limited(&self) {
        self.bump(RATE_LIMITED);
    }

    /// A call rejected by the rate-limit gate (counted as rejected too).
    pub(crate) fn gated(&self) {
        self.bump(REJECTED);
        self.bump(GATED);
    }

    /// Every shard.
    fn shards(&self) -> impl Iterator<Item = &Shard> {
        let table = self.others.load(Ordering::Acquire);
        let table: &[AtomicPtr<Shard>] = if table.is_null() {
            &[]
        } else {
            // SAFETY: see `own_shard`.
            unsafe { std::slice::from_raw_parts(table, table_len()) }
        };
        let rest = table.iter().filter_map(|slot| {
            // SAFETY: see `own_shard`.
            unsafe { slot.load(Ordering::Acquire).as_ref() }
        });
        self.near.iter().chain(rest)
    }

    pub(crate) fn totals(&self) -> Totals {
        let mut sums = [0u64; COUNTERS];
        for shard in self.shards() {
            for (sum, counter) in sums.iter_mut().zip(&shard.0) {
                *sum = sum.wrapping_add(counter.load(Ordering::Relaxed));
            }
        }
        Totals {
            admitted: sums[ADMITTED],
            rejected: sums[REJECTED],
            succeeded: sums[SUCCEEDED],
            failed: sums[FAILED],
            abandoned: sums[ABANDONED],
            stale: sums[STALE],
            slow: sums[SLOW],
            ignored: sums[IGNORED],
            unscored: sums[UNSCORED],
            rate_limited: sums[RATE_LIMITED],
            gated: sums[GATED],
        }
    }
}

impl Drop for CallCounters {
    fn drop(&mut self) {
        let table = *self.others.get_mut();
        if !table.is_null() {
            // SAFETY: `&mut self`: no thread counts any more, so nothing else refers to the
            // table or its shards.
            unsafe { free_table(table) };
        }
    }
}

/// Frees a table of shards and the shards it points to.
///
/// # Safety
///
/// `table` comes from `Box::into_raw` of a boxed slice of `table_len()` pointers (in
/// [`CallCounters::table`]), each null or from `Box::<Shard>::into_raw`, and nothing else
/// refers to any of them.
unsafe fn free_table(table: *mut AtomicPtr<Shard>) {
    let slice = std::ptr::slice_from_raw_parts_mut(table, table_len());
    // SAFETY: see the function's contract.
    let mut slots = unsafe { Box::from_raw(slice) };
    for slot in slots.iter_mut() {
        let shard = *slot.get_mut();
        if !shard.is_null() {
            // SAFETY: see the function's contract: each shard is freed once, here.
            drop(unsafe { Box::from_raw(shard) });
        }
    }
}

#[cfg(test)]
mod tests;
