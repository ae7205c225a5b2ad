//! The borrowed views of a [`Registry`]'s breakers: [`BreakerRef`], [`SendBreakerRef`],
//! [`RegistryPermit`] and [`Pinned`].

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::ops::Deref;

use papaya::{LocalGuard, OwnedGuard};
use seize::Collector;

use super::{Registry, RegistryKey};
use crate::breaker::{CircuitBreaker, CircuitState};
use crate::error::CircuitOpen;
use crate::permit::Permit;

/// A breaker of a [`Registry`], borrowed: it derefs to [`CircuitBreaker`] (`call`,
/// `call_async`, `state`, `metrics`...). It pins the registry's memory, so the breaker
/// stays valid even if it is evicted meanwhile; it is not `Send` (take
/// [`Registry::get_send`] to keep a breaker across an `.await` in a `Send` future).
pub struct BreakerRef<'r> {
    /// Points into the registry's map; valid while `guard` is held.
    pub(super) breaker: *const CircuitBreaker,
    pub(super) _guard: LocalGuard<'r>,
    pub(super) collector: &'r Collector,
}

impl<'r> BreakerRef<'r> {
    /// Asks to make one call (see [`CircuitBreaker::acquire`]). The permit keeps the
    /// registry pinned by itself, so it can outlive this reference:
    /// `let permit = registry.get_or_insert("gpt-4o").acquire()?;` works.
    #[inline]
    pub fn acquire(&self) -> Result<RegistryPermit<'r>, CircuitOpen> {
        // A nested pin of the calling thread (`self._guard` is live): a counter increment.
        let guard = self.collector.enter();
        // SAFETY: seize's guards are reentrant per thread: the thread's reservation began
        // when `self._guard` was entered, before this breaker could have been retired, and
        // lasts until its last guard is dropped. `guard` is entered while `self._guard` is
        // live, so the reservation has no gap, and it lives (on this thread: guards are not
        // `Send`) as long as the permit, which is dropped before it. The permit's lifetime
        // is not exposed (RegistryPermit only lends it out for `&self`).
        let breaker: &'r CircuitBreaker = unsafe { &*self.breaker };
        let permit = breaker.acquire()?;
        Ok(RegistryPermit {
            permit,
            _guard: guard,
        })
    }
}

impl Deref for BreakerRef<'_> {
    type Target = CircuitBreaker;

    #[inline]
    fn deref(&self) -> &CircuitBreaker {
        // SAFETY: the breaker is in the map's memory, which `self._guard` keeps from being
        // reclaimed; the reference is bounded by `&self`.
        unsafe { &*self.breaker }
    }
}

impl fmt::Debug for BreakerRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A breaker of a [`Registry`], borrowed, that is `Send` and `Sync` (see
/// [`Registry::get_send`]): it derefs to [`CircuitBreaker`], and its permits borrow it.
pub struct SendBreakerRef<'r> {
    /// Points into the registry's map; valid while `_guard` is held.
    pub(super) breaker: *const CircuitBreaker,
    pub(super) _guard: OwnedGuard<'r>,
}

// SAFETY: the pointee is a `CircuitBreaker` (`Send + Sync`), kept alive by an owned guard,
// which may be held and dropped on any thread.
unsafe impl Send for SendBreakerRef<'_> {}
// SAFETY: as above; shared access only hands out `&CircuitBreaker`.
unsafe impl Sync for SendBreakerRef<'_> {}

impl Deref for SendBreakerRef<'_> {
    type Target = CircuitBreaker;

    #[inline]
    fn deref(&self) -> &CircuitBreaker {
        // SAFETY: the breaker is in the map's memory, which `self._guard` keeps from being
        // reclaimed; the reference is bounded by `&self`.
        unsafe { &*self.breaker }
    }
}

impl fmt::Debug for SendBreakerRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`Permit`] of a breaker of a [`Registry`], which keeps the registry pinned until it
/// is reported or dropped: what [`BreakerRef::acquire`] returns. Its methods are those of
/// [`Permit`].
#[must_use = "a permit should be reported with `success()` or `failure()`; dropping it counts as neither"]
pub struct RegistryPermit<'r> {
    // Dropped before the guard: an unreported permit reports to its breaker on drop.
    pub(super) permit: Permit<'r>,
    pub(super) _guard: LocalGuard<'r>,
}

impl RegistryPermit<'_> {
    /// See [`Permit::success`].
    #[inline]
    pub fn success(self) {
        self.permit.success();
    }

    /// See [`Permit::failure`].
    pub fn failure(self) {
        self.permit.failure();
    }

    /// See [`Permit::report`].
    #[inline]
    pub fn report(self, success: bool) {
        self.permit.report(success);
    }

    /// See [`Permit::record`].
    #[inline]
    pub fn record<T, E>(self, result: &Result<T, E>) {
        self.permit.record(result);
    }

    /// See [`Permit::record_with`].
    #[inline]
    pub fn record_with<T, E>(self, result: &Result<T, E>, failure_if: impl FnOnce(&E) -> bool) {
        self.permit.record_with(result, failure_if);
    }

    /// See [`Permit::fail_on_panic`].
    pub fn fail_on_panic(self) -> Self {
        Self {
            permit: self.permit.fail_on_panic(),
            _guard: self._guard,
        }
    }

    /// See [`Permit::generation`].
    pub fn generation(&self) -> u64 {
        self.permit.generation()
    }

    /// See [`Permit::state`].
    pub fn state(&self) -> CircuitState {
        self.permit.state()
    }

    /// See [`Permit::is_probe`].
    pub fn is_probe(&self) -> bool {
        self.permit.is_probe()
    }

    /// See [`Permit::is_stale`].
    pub fn is_stale(&self) -> bool {
        self.permit.is_stale()
    }

    /// The breaker that admitted this permit.
    pub fn breaker(&self) -> &CircuitBreaker {
        self.permit.breaker()
    }
}

impl fmt::Debug for RegistryPermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.permit, f)
    }
}

/// A [`Registry`] pinned for many lookups (see [`Registry::pin`]): its breakers are plain
/// `&CircuitBreaker`s, and their permits plain [`Permit`]s, borrowing the view. Not `Send`.
pub struct Pinned<'r, K> {
    pub(super) registry: &'r Registry<K>,
    pub(super) guard: LocalGuard<'r>,
}

impl<K: RegistryKey> Pinned<'_, K> {
    /// The breaker of `key`, if there is one (see [`Registry::get`]).
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&CircuitBreaker>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.registry
            .lookup(key, &self.guard)
            .map(|slot| &slot.breaker)
    }

    /// The breaker of `key`, created if there is none (see [`Registry::get_or_insert`]).
    #[inline]
    pub fn get_or_insert<Q>(&self, key: &Q) -> &CircuitBreaker
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = match self.registry.lookup(key, &self.guard) {
            Some(slot) => slot,
            None => self.registry.insert(K::from(key), &self.guard),
        };
        &slot.breaker
    }

    /// The breaker of `key`, created if there is none (see [`Registry::get_or_insert_key`]).
    #[inline]
    pub fn get_or_insert_key(&self, key: K) -> &CircuitBreaker {
        let slot = match self.registry.lookup(&key, &self.guard) {
            Some(slot) => slot,
            None => self.registry.insert(key, &self.guard),
        };
        &slot.breaker
    }
}

impl<K> fmt::Debug for Pinned<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned").finish_non_exhaustive()
    }
}
