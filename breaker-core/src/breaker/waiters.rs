//! Callers waiting for a breaker to admit them, woken when a half-open probe slot is given
//! back or the state changes.
//!
//! Only a caller that chose to wait (the tower layer's back-pressure mode) registers, and
//! only after the breaker has rejected it, so the list is touched on slow paths alone. The
//! breaker wakes it where a probe slot is given back and after every transition; with
//! nobody waiting that is a fence and a load or two (the list is allocated at the first wait,
//! so a breaker nobody waits on carries one null pointer).
//!
//! No wake-up is lost: a waiter registers, then looks at the breaker again; a waker makes its
//! change (frees a slot, installs a state), then looks at `waiting`. Each puts a sequentially
//! consistent fence between its write and its read, so at least one of them sees the
//! other's write: either the waker wakes the waiter, or the waiter's second look sees the
//! change.

// Only the tower layer waits for now; without it nothing registers, and a wake is the fence
// and the load alone.
#![cfg_attr(not(feature = "tower"), allow(dead_code))]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use once_cell::race::OnceBox;

use super::CircuitBreaker;

/// The wakers of a breaker's waiting callers.
pub(crate) struct Waiters {
    /// Allocated at the first wait: one word in every breaker.
    list: OnceBox<WaiterList>,
}

/// The wakers of a breaker's waiting callers, by waiter.
#[derive(Default)]
struct WaiterList {
    /// Whether `wakers` may hold one: false only while it is empty, so that a wake with
    /// nobody waiting does not take the lock.
    waiting: AtomicBool,
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl WaiterList {
    fn wakers(&self) -> MutexGuard<'_, HashMap<u64, Waker>> {
        // A panic while the lock is held (a waker's `clone`) leaves the map whole.
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Waiters {
    pub(crate) fn new() -> Self {
        Self {
            list: OnceBox::new(),
        }
    }

    /// Wakes the waiter `key` (once) at the next change, in place of a waker it registered
    /// before.
    fn register(&self, key: u64, waker: &Waker) {
        let list = self.list.get_or_init(Box::default);
        {
            let mut wakers = list.wakers();
            match wakers.get_mut(&key) {
                Some(known) => known.clone_from(waker),
                None => {
                    wakers.insert(key, waker.clone());
                }
            }
            list.waiting.store(true, Ordering::Relaxed);
        }
        // Orders the list's allocation and the flag before the caller's next look at the
        // breaker. Pairs with the fence in `wake_all`: that look sees any change whose waker
        // did not see this registration.
        fence(Ordering::SeqCst);
    }

    fn deregister(&self, key: u64) {
        let Some(list) = self.list.get() else {
            return;
        };
        let mut wakers = list.wakers();
        if wakers.remove(&key).is_some() && wakers.is_empty() {
            list.waiting.store(false, Ordering::Relaxed);
        }
    }

    /// Wakes every waiter; each is woken once and registers again if it still waits.
    fn wake_all(&self) {
        // Pairs with the fence in `register`: orders the caller's change (a freed slot, a new
        // state) before the look at `waiting`.
        fence(Ordering::SeqCst);
        let Some(list) = self.list.get() else {
            return;
        };
        if !list.waiting.load(Ordering::Relaxed) {
            return;
        }
        let woken: Vec<Waker> = {
            let mut wakers = list.wakers();
            list.waiting.store(false, Ordering::Relaxed);
            wakers.drain().map(|(_, waker)| waker).collect()
        };
        // Outside the lock: a waker may run code that registers again.
        for waker in woken {
            waker.wake();
        }
    }

    /// How many wakers are registered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.list.get().map_or(0, |list| list.wakers().len())
    }

    /// Whether a wake would take the lock.
    #[cfg(test)]
    fn waiting(&self) -> bool {
        self.list
            .get()
            .is_some_and(|list| list.waiting.load(Ordering::SeqCst))
    }
}

impl CircuitBreaker {
    /// Wakes every caller waiting for the breaker to admit it: called where a half-open
    /// probe slot is given back and after every transition. A fence and a load when nobody
    /// waits.
    #[inline]
    pub(crate) fn wake_waiters(&self) {
        self.waiters.wake_all();
    }
}

/// One caller's place among its breaker's waiters, from its first wait until it is dropped
/// (which deregisters it: the list holds no more wakers than there are live waiters).
pub(crate) struct Waiter {
    breaker: Arc<CircuitBreaker>,
    key: u64,
}

impl Waiter {
    pub(crate) fn new(breaker: &Arc<CircuitBreaker>) -> Self {
        // Process-wide, so that no two waiters of a breaker share a key.
        static NEXT_KEY: AtomicU64 = AtomicU64::new(0);
        Self {
            breaker: Arc::clone(breaker),
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Wakes `waker` at the breaker's next change: a probe slot given back or a transition.
    /// The caller must then look at the breaker again before it waits: a change made before
    /// this call does not wake it.
    fn register(&self, waker: &Waker) {
        self.breaker.waiters.register(self.key, waker);
    }

    /// What `look` finds at `breaker`, or `Pending` while it finds nothing: then `cx`'s
    /// task is woken at the breaker's next change, through the waiter kept in `waiting`
    /// (from the first wait until `look` finds something).
    ///
    /// Registered before its last look, so that no change after that look goes unseen.
    pub(crate) fn poll_look<T>(
        waiting: &mut Option<Waiter>,
        breaker: &Arc<CircuitBreaker>,
        cx: &mut Context<'_>,
        mut look: impl FnMut() -> Option<T>,
    ) -> Poll<T> {
        // Woken, or polled again: registered again before the look.
        let mut registered = match waiting {
            Some(waiter) => {
                waiter.register(cx.waker());
                true
            }
            None => false,
        };
        loop {
            if let Some(found) = look() {
                *waiting = None;
                return Poll::Ready(found);
            }
            if registered {
                return Poll::Pending;
            }
            // Register, then look again: a change between the look and the registration
            // would wake nobody.
            waiting
                .get_or_insert_with(|| Waiter::new(breaker))
                .register(cx.waker());
            registered = true;
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.breaker.waiters.deregister(self.key);
    }
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter").field("key", &self.key).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::config::BreakerConfig;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        (Arc::clone(&count), Waker::from(count))
    }

    fn half_open(clock: &ManualClock) -> Arc<CircuitBreaker> {
        let config = BreakerConfig::default()
            .with_threshold(1)
            .with_cooldown(Duration::from_secs(1));
        let breaker = Arc::new(CircuitBreaker::with_clock("waiters", config, clock.clone()));
        breaker.acquire().unwrap().failure();
        clock.advance(Duration::from_secs(1));
        breaker
    }

    #[test]
    fn a_given_back_probe_slot_wakes_every_waiter_once() {
        let clock = ManualClock::new();
        let breaker = half_open(&clock);
        let probe = breaker.acquire().unwrap();
        let (first, second) = (Waiter::new(&breaker), Waiter::new(&breaker));
        let (first_count, first_waker) = counting();
        let (second_count, second_waker) = counting();
        first.register(&first_waker);
        second.register(&second_waker);
        drop(probe);
        assert_eq!(first_count.0.load(Ordering::SeqCst), 1);
        assert_eq!(second_count.0.load(Ordering::SeqCst), 1);
        // Woken once: the next change wakes only those that registered again.
        first.register(&first_waker);
        breaker.force_open();
        assert_eq!(first_count.0.load(Ordering::SeqCst), 2);
        assert_eq!(second_count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_transition_wakes_the_waiters() {
        let clock = ManualClock::new();
        let breaker = half_open(&clock);
        let probe = breaker.acquire().unwrap();
        let waiter = Waiter::new(&breaker);
        let (count, waker) = counting();
        waiter.register(&waker);
        probe.success();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_list_holds_one_waker_per_live_waiter() {
        let breaker = Arc::new(CircuitBreaker::new("bounded", BreakerConfig::default()));
        let (_, waker) = counting();
        let kept = Waiter::new(&breaker);
        for _ in 0..1_000 {
            // A waiter polled again and again replaces its waker.
            kept.register(&waker);
        }
        for _ in 0..1_000 {
            // A waiter dropped while it waits takes its waker with it.
            Waiter::new(&breaker).register(&waker);
        }
        assert_eq!(breaker.waiters.len(), 1);
        drop(kept);
        assert_eq!(breaker.waiters.len(), 0);
        assert!(!breaker.waiters.waiting());
    }

    #[test]
    fn a_slot_given_back_while_a_waiter_registers_is_never_missed() {
        // Each round, a thread gives the probe slot back while this one polls for a slot
        // (taken when it starts): it must get the slot, or be woken.
        let clock = ManualClock::new();
        let breaker = half_open(&clock);
        // The round the releaser is to release (0: none yet; `usize::MAX`: stop), the last
        // round it released, and the probe it is to drop. Both threads spin rather than
        // block, so that neither starts a round late by a wake-up.
        let (go, released) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let probe: Arc<Mutex<Option<crate::breaker::permit::OwnedPermit>>> = Arc::default();
        let releaser = {
            let (go, released, probe) =
                (Arc::clone(&go), Arc::clone(&released), Arc::clone(&probe));
            std::thread::spawn(move || {
                for round in 1.. {
                    spin_until(|| go.load(Ordering::Acquire) >= round);
                    if go.load(Ordering::Acquire) == usize::MAX {
                        return;
                    }
                    drop(probe.lock().unwrap().take());
                    released.store(round, Ordering::Release);
                }
            })
        };
        // Releases before the first look, between the looks (only the second look after
        // registering sees them), after them (only the wake tells).
        let (mut before, mut between, mut after) = (0, 0, 0);
        // A lag before the looks that follows the outcomes (shorter after a release before
        // them, longer after one after them), so that releases fall around the window.
        let mut lag = 0u32;
        for round in 1..=200_000 {
            if between >= 20 && after >= 20 {
                break;
            }
            *probe.lock().unwrap() = Some(breaker.acquire_owned().unwrap());
            let (mut waiting, mut looks) = (None, 0);
            let (count, waker) = counting();
            go.store(round, Ordering::Release);
            for _ in 0..lag {
                std::hint::spin_loop();
            }
            let polled = Waiter::poll_look(
                &mut waiting,
                &breaker,
                &mut Context::from_waker(&waker),
                || {
                    looks += 1;
                    breaker.acquire_owned().ok()
                },
            );
            spin_until(|| released.load(Ordering::Acquire) == round);
            let woken = count.0.load(Ordering::SeqCst) > 0;
            match (polled, looks) {
                (Poll::Ready(_), 1) => {
                    before += 1;
                    lag = lag.saturating_sub(lag / 8 + 1);
                }
                (Poll::Ready(_), _) => between += 1,
                (Poll::Pending, _) => {
                    assert!(
                        woken,
                        "round {round}: the slot was given back unseen, unwoken"
                    );
                    after += 1;
                    lag = lag.saturating_add(lag / 8 + 1);
                }
            }
        }
        go.store(usize::MAX, Ordering::Release);
        releaser.join().unwrap();
        // The racers met in the window, and around it.
        assert!(
            between >= 20 && after >= 20,
            "releases: {before} before the looks, {between} between, {after} after"
        );
    }

    /// Spins (yielding now and then, on a busy machine) until `done`.
    fn spin_until(done: impl Fn() -> bool) {
        let mut spins = 0u32;
        while !done() {
            spins = spins.wrapping_add(1);
            if spins % 64 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}
