//! Pins and safe reuse for the registry's memory: epoch-based, with the fence on the rare
//! side.
//!
//! A lookup pins its thread (writes the global epoch into the thread's slot), reads the
//! index and an entry, and unpins. Memory a writer unlinks (an evicted entry, a replaced
//! index) is retired at the epoch that follows the unlink, and reused only once no thread is
//! pinned at an older epoch: every thread that could have seen it has moved on.
//!
//! The classic scheme puts a full fence in every pin, so that the pin is visible before the
//! reads it protects: about 8 ns on this project's machine, more than the rest of a lookup.
//! Here a pin is a plain store and a compiler fence, and the writer, before scanning the
//! slots, runs `membarrier(2)` (`MEMBARRIER_CMD_PRIVATE_EXPEDITED`), which makes every
//! running thread of the process execute a full fence. For each reader, either that fence
//! comes after its pin, which the scan then sees, or before its reads, which then see the
//! unlink. Writers scan only when they need memory back, in batches, so the system call
//! (under a microsecond here) is rare. Where membarrier is unavailable (not Linux, or
//! refused by a sandbox), pins take the full fence.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering, compiler_fence, fence};
use std::sync::{Mutex, MutexGuard};

/// The global epoch. It starts at 1: 0 in a slot means "not pinned".
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// Every slot ever created (they are never freed), for the writers' scans.
static SLOTS: Mutex<Vec<&'static Slot>> = Mutex::new(Vec::new());
/// The slots of exited threads and of finished owned pins, for reuse.
static FREE: Mutex<Vec<&'static Slot>> = Mutex::new(Vec::new());

/// A thread's pin, alone on its cache line (it is written by every lookup of that thread).
#[repr(align(128))]
struct Slot {
    /// The epoch the slot is pinned at, or 0.
    pinned_at: AtomicU64,
    /// The pins held by the owner, nested. Touched only by the thread that owns the slot.
    depth: Cell<u32>,
    /// Taken from the pool for one pin (the thread's own slot was gone: a pin in a
    /// thread-local's destructor), and given back when it is dropped. Owner-only too.
    pooled: Cell<bool>,
}

// SAFETY: `pinned_at` is atomic; `depth` is read and written only by the slot's owner: the
// thread whose `SLOT` holds it, or the thread holding the `Pin` it was taken for (a `Pin`
// is not `Send`). Ownership passes between threads only through the `FREE` mutex.
unsafe impl Sync for Slot {}

fn lock<T>(mutex: &'static Mutex<T>) -> MutexGuard<'static, T> {
    // Vectors of `&'static Slot`: a panic cannot leave them inconsistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A free slot, or a new one.
fn take_slot() -> &'static Slot {
    if let Some(slot) = lock(&FREE).pop() {
        return slot;
    }
    let slot: &'static Slot = Box::leak(Box::new(Slot {
        pinned_at: AtomicU64::new(0),
        depth: Cell::new(0),
        pooled: Cell::new(false),
    }));
    lock(&SLOTS).push(slot);
    slot
}

thread_local! {
    /// The calling thread's slot, once it has one. A `const` thread-local with no
    /// destructor: reading it is one load, with no lazy-initialization check.
    static SLOT: Cell<Option<&'static Slot>> = const { Cell::new(None) };
    /// Gives the thread's slot back when the thread exits (registered with the slot).
    static OWNER: Owner = const { Owner };
}

struct Owner;

impl Drop for Owner {
    fn drop(&mut self) {
        let Some(slot) = SLOT.with(Cell::take) else {
            return;
        };
        // A pin still held (in another thread-local being destroyed) or leaked with
        // `mem::forget`: the slot is never reused, and a leaked pin keeps memory retired
        // after it from reuse (it is freed with its registry). Correct, if wasteful.
        if slot.depth.get() == 0 {
            lock(&FREE).push(slot);
        }
    }
}

/// A pinned thread: while it lives, memory retired after it was taken is not reused. Not
/// `Send`: it is the pin of the thread that took it.
pub(crate) struct Pin {
    slot: &'static Slot,
    _not_send: PhantomData<*const ()>,
}

/// Pins the calling thread (nested pins cost an increment).
#[inline]
pub(crate) fn pin() -> Pin {
    match SLOT.with(Cell::get) {
        Some(slot) => {
            enter(slot);
            Pin {
                slot,
                _not_send: PhantomData,
            }
        }
        None => pin_first(),
    }
}

/// The thread's first pin: takes its slot. Or a pin during the thread's exit, after its
/// slot was given back: from the pool, for this pin only.
#[cold]
fn pin_first() -> Pin {
    // Registers the owner's destructor; fails once thread-locals are being destroyed.
    let pooled = OWNER.try_with(|_| ()).is_err();
    let slot = take_slot();
    slot.pooled.set(pooled);
    if !pooled {
        SLOT.with(|own| own.set(Some(slot)));
    }
    enter(slot);
    Pin {
        slot,
        _not_send: PhantomData,
    }
}

#[inline]
fn enter(slot: &Slot) {
    let depth = slot.depth.get();
    if depth == 0 {
        // Release, like the unpin: a scan that reads this epoch has seen everything this
        // thread did under its previous pins.
        slot.pinned_at
            .store(EPOCH.load(Ordering::Acquire), Ordering::Release);
        // The pin must be ordered before the reads it protects (see the module docs).
        light_fence();
    }
    slot.depth.set(deeper(depth));
}

impl Pin {
    /// Another pin of the same thread, nested in this one: an increment.
    #[inline]
    pub(crate) fn nested(&self) -> Pin {
        self.slot.depth.set(deeper(self.slot.depth.get()));
        Pin {
            slot: self.slot,
            _not_send: PhantomData,
        }
    }
}

/// One pin more. Aborts rather than wrap (four billion pins leaked with `mem::forget`),
/// which would unpin the thread under its live pins, as `Rc` and `Arc` do for their counts.
#[inline]
fn deeper(depth: u32) -> u32 {
    depth
        .checked_add(1)
        .unwrap_or_else(|| std::process::abort())
}

impl Drop for Pin {
    #[inline]
    fn drop(&mut self) {
        let depth = self.slot.depth.get() - 1;
        self.slot.depth.set(depth);
        if depth == 0 {
            // Release: this thread's reads of retired memory happen before its reuse.
            self.slot.pinned_at.store(0, Ordering::Release);
            if self.slot.pooled.get() {
                give_back(self.slot);
            }
        }
    }
}

/// Gives a pooled pin's slot back (out of line, so that dropping a pin inlines).
#[cold]
#[inline(never)]
fn give_back(slot: &'static Slot) {
    lock(&FREE).push(slot);
}

/// Advances the global epoch, after unlinking memory: what is unlinked is retired at the
/// epoch returned.
pub(crate) fn advance() -> u64 {
    EPOCH.fetch_add(1, Ordering::SeqCst) + 1
}

/// The oldest epoch a thread is pinned at, `u64::MAX` if none is: memory retired at an
/// epoch up to it can be reused. Runs the heavy barrier first (see the module docs).
pub(crate) fn oldest_pin() -> u64 {
    if !heavy_fence() {
        return 0; // No barrier, no proof: nothing is reused.
    }
    lock(&SLOTS)
        .iter()
        .map(|slot| slot.pinned_at.load(Ordering::Acquire))
        .filter(|&epoch| epoch != 0)
        .min()
        .unwrap_or(u64::MAX)
}

/// Which barrier the process uses.
static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
/// Pins take a compiler fence, scans run membarrier.
const ASYMMETRIC: u8 = 1;
/// Pins take a full fence, and so do scans.
const SYMMETRIC: u8 = 2;
/// A membarrier call failed after registration: pins may have relied on it, so from then
/// on scans prove nothing and memory is not reused (the registries grow instead).
static BARRIER_FAILED: AtomicBool = AtomicBool::new(false);

#[inline]
fn light_fence() {
    if MODE.load(Ordering::Relaxed) == ASYMMETRIC {
        compiler_fence(Ordering::SeqCst);
    } else {
        light_fence_slow();
    }
}

#[cold]
fn light_fence_slow() {
    if mode() == ASYMMETRIC {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The heavy side of the barrier; false if it failed.
fn heavy_fence() -> bool {
    fence(Ordering::SeqCst);
    if mode() == ASYMMETRIC && !membarrier::expedited() {
        BARRIER_FAILED.store(true, Ordering::SeqCst);
    }
    !BARRIER_FAILED.load(Ordering::SeqCst)
}

/// The process's barrier mode, chosen on first use.
fn mode() -> u8 {
    let mode = MODE.load(Ordering::Acquire);
    if mode != UNKNOWN {
        return mode;
    }
    static CHOOSE: Mutex<()> = Mutex::new(());
    let _chosen = lock(&CHOOSE);
    let mode = MODE.load(Ordering::Acquire);
    if mode != UNKNOWN {
        return mode;
    }
    let mode = if membarrier::register() {
        ASYMMETRIC
    } else {
        SYMMETRIC
    };
    MODE.store(mode, Ordering::Release);
    mode
}

#[cfg(target_os = "linux")]
mod membarrier {
    // From <linux/membarrier.h>.
    const QUERY: libc::c_long = 0;
    const PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn call(command: libc::c_long) -> libc::c_long {
        // SAFETY: membarrier takes a command and two integer arguments, no pointers.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                command,
                0 as libc::c_long,
                0 as libc::c_long,
            )
        }
    }

    /// Registers the process for expedited barriers, if the kernel has them.
    pub(super) fn register() -> bool {
        let supported = call(QUERY);
        supported >= 0
            && supported & PRIVATE_EXPEDITED != 0
            && call(REGISTER_PRIVATE_EXPEDITED) == 0
    }

    /// A full fence on every running thread of the process.
    pub(super) fn expedited() -> bool {
        call(PRIVATE_EXPEDITED) == 0
    }
}

#[cfg(not(target_os = "linux"))]
mod membarrier {
    pub(super) fn register() -> bool {
        false
    }

    pub(super) fn expedited() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_holds_back_reuse_of_what_is_retired_after_it() {
        let pin = pin();
        let retired = advance();
        assert!(oldest_pin() < retired, "this thread's pin is older");
        drop(pin);
        // Other tests' threads may be pinned at older epochs, but only briefly.
        let mut tries = 0;
        while oldest_pin() < retired {
            tries += 1;
            assert!(tries < 100_000, "a pin was never released");
            std::thread::yield_now();
        }
    }

    #[test]
    fn nested_pins_unpin_with_the_outermost() {
        let outer = pin();
        let own = SLOT.with(Cell::get).unwrap();
        let epoch = own.pinned_at.load(Ordering::Relaxed);
        assert_ne!(epoch, 0);
        advance();
        let inner = pin();
        assert_eq!(
            own.pinned_at.load(Ordering::Relaxed),
            epoch,
            "a nested pin keeps the outer epoch"
        );
        drop(inner);
        assert_eq!(own.depth.get(), 1);
        drop(outer);
        assert_eq!(own.pinned_at.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn pins_work_in_thread_local_destructors() {
        struct PinsOnExit;
        impl Drop for PinsOnExit {
            fn drop(&mut self) {
                let outer = pin();
                let inner = outer.nested();
                drop((inner, outer));
            }
        }
        thread_local! {
            static EXIT: PinsOnExit = const { PinsOnExit };
        }
        std::thread::spawn(|| {
            EXIT.with(|_| ());
            drop(pin());
        })
        .join()
        .expect("pins in destructors do not panic");
    }

    #[test]
    fn another_threads_pin_is_seen_by_the_scan() {
        let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let pin = pin();
            pinned_tx.send(()).unwrap();
            done_rx.recv().unwrap();
            drop(pin);
        });
        pinned_rx.recv().unwrap();
        let retired = advance();
        assert!(oldest_pin() < retired);
        done_tx.send(()).unwrap();
        reader.join().unwrap();
    }
}
