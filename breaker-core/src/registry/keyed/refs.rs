//! The borrowed views of a [`Registry`]'s breakers: [`BreakerRef`], [`SendBreakerRef`],
//! [`RegistryPermit`] and [`Pinned`].

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::ops::Deref;

use std::sync::atomic::{AtomicU32, Ordering};

use super::epoch::Pin;
use super::{Borrows, Registry, RegistryKey, breaker_of};
use crate::breaker::{CircuitBreaker, CircuitState};
use crate::error::CircuitOpen;
use crate::permit::{Permit, RunFuture};

/// A breaker of a [`Registry`], borrowed: it derefs to [`CircuitBreaker`] (`call`,
/// `call_async`, `state`, `metrics`...). It pins the registry's memory, so the breaker
/// stays valid even if it is evicted meanwhile; it is not `Send` (take
/// [`Registry::get_send`] to keep a breaker across an `.await` in a `Send` future).
pub struct BreakerRef<'r> {
    /// Points into the registry's arena; valid while `pin` is held.
    breaker: *const CircuitBreaker,
    pin: Pin,
    _registry: Borrows<'r>,
}

impl<'r> BreakerRef<'r> {
    pub(super) fn new(breaker: *const CircuitBreaker, pin: Pin) -> Self {
        Self {
            breaker,
            pin,
            _registry: Borrows::default(),
        }
    }

    /// Asks to make one call (see [`CircuitBreaker::acquire`]). The permit keeps the
    /// registry pinned by itself, so it can outlive this reference:
    /// `let permit = registry.get_or_insert("gpt-4o").acquire()?;` works.
    #[inline]
    pub fn acquire(&self) -> Result<RegistryPermit<'r>, CircuitOpen> {
        // A nested pin of the calling thread: an increment.
        let pin = self.pin.nested();
        // SAFETY: the thread has been pinned without a gap since before the breaker was
        // looked up (`pin` is nested in `self.pin`, taken first), and stays pinned as long
        // as the permit, which is dropped before `pin` (field order) and on this thread
        // (pins are not `Send`). The permit's lifetime is not exposed: `RegistryPermit`
        // lends it out only for `&self`.
        let breaker: &'r CircuitBreaker = unsafe { &*self.breaker };
        let permit = breaker.acquire()?;
        Ok(RegistryPermit { permit, _pin: pin })
    }
}

impl Deref for BreakerRef<'_> {
    type Target = CircuitBreaker;

    #[inline]
    fn deref(&self) -> &CircuitBreaker {
        // SAFETY: the breaker is in the registry's arena, and `self.pin` keeps its entry from
        // being reused; the reference is bounded by `&self`.
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
    /// Points into the registry's arena; valid while `holds` counts this reference.
    breaker: *const CircuitBreaker,
    /// The entry's count of `SendBreakerRef`s: the entry is not reused while it is not 0.
    holds: &'r AtomicU32,
}

impl<'r> SendBreakerRef<'r> {
    /// Holds the entry whose breaker and count these are, reached under a pin still held.
    pub(super) fn new(breaker: *const CircuitBreaker, holds: &'r AtomicU32) -> Self {
        // Under the caller's pin, so the writer's reclamation, which waits for that pin,
        // sees the count.
        // Aborts before the count could wrap (references leaked with `mem::forget`), which
        // would let the entry be reused under live references, as `Arc` does.
        if holds.fetch_add(1, Ordering::Relaxed) > u32::MAX / 2 {
            std::process::abort();
        }
        Self { breaker, holds }
    }
}

impl Drop for SendBreakerRef<'_> {
    fn drop(&mut self) {
        // Release: this reference's uses of the breaker happen before its entry's reuse.
        self.holds.fetch_sub(1, Ordering::Release);
    }
}

// SAFETY: the pointee is a `CircuitBreaker` (`Send + Sync`), kept from reuse by a count,
// which may be taken and given back on any thread.
unsafe impl Send for SendBreakerRef<'_> {}
// SAFETY: as above; shared access only hands out `&CircuitBreaker`.
unsafe impl Sync for SendBreakerRef<'_> {}

impl Deref for SendBreakerRef<'_> {
    type Target = CircuitBreaker;

    #[inline]
    fn deref(&self) -> &CircuitBreaker {
        // SAFETY: the breaker is in the registry's arena, and `self.holds` keeps its entry
        // from being reused; the reference is bounded by `&self`.
        unsafe { &*self.breaker }
    }
}

impl fmt::Debug for SendBreakerRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`Permit`] of a breaker of a [`Registry`], which keeps the registry pinned until it
/// is reported or dropped: what [`Registry::acquire`] and [`BreakerRef::acquire`] return. Its methods are those of
/// [`Permit`].
#[must_use = "a permit should be reported with `success()` or `failure()`; dropping it counts as neither"]
pub struct RegistryPermit<'r> {
    // Dropped before the pin: an unreported permit reports to its breaker on drop.
    permit: Permit<'r>,
    _pin: Pin,
}

impl<'r> RegistryPermit<'r> {
    pub(super) fn new(permit: Permit<'r>, pin: Pin) -> Self {
        Self { permit, _pin: pin }
    }
}

impl RegistryPermit<'_> {
    /// See [`Permit::success`].
    // Always inlined, so that the permit stays in registers: out of line, it went through
    // the stack, where a 16-byte store and an 8-byte reload of its second half do not
    // forward (+10 ns a call in the registry bench).
    #[inline(always)]
    pub fn success(self) {
        self.permit.success();
    }

    /// See [`Permit::failure`].
    pub fn failure(self) {
        self.permit.failure();
    }

    /// See [`Permit::report`].
    #[inline(always)] // As `success`: the permit stays in registers.
    pub fn report(self, success: bool) {
        self.permit.report(success);
    }

    /// See [`Permit::record`].
    #[inline(always)] // As `success`: the permit stays in registers.
    pub fn record<T, E>(self, result: &Result<T, E>) {
        self.permit.record(result);
    }

    /// See [`Permit::record_with`].
    #[inline(always)] // As `success`: the permit stays in registers.
    pub fn record_with<T, E>(self, result: &Result<T, E>, failure_if: impl FnOnce(&E) -> bool) {
        self.permit.record_with(result, failure_if);
    }

    /// See [`Permit::ignore`].
    pub fn ignore(self) {
        self.permit.ignore();
    }

    /// See [`Permit::run`].
    pub fn run<R>(&mut self, call: impl FnOnce() -> R) -> R {
        self.permit.run(call)
    }

    /// See [`Permit::run_future`].
    pub fn run_future<F: std::future::Future>(&mut self, future: F) -> RunFuture<'_, F> {
        self.permit.run_future(future)
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
    pub(super) pin: Pin,
}

impl<K: RegistryKey> Pinned<'_, K> {
    /// The breaker of `key`, if there is one (see [`Registry::get`]).
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&CircuitBreaker>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entry = self.registry.lookup(key, &self.pin)?;
        // SAFETY: looked up under `self.pin`; the reference is bounded by `&self`.
        Some(unsafe { &*breaker_of(entry) })
    }

    /// The breaker of `key`, created if there is none (see [`Registry::get_or_insert`]).
    #[inline]
    pub fn get_or_insert<Q>(&self, key: &Q) -> &CircuitBreaker
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entry = self.registry.lookup_or_insert(key, &self.pin);
        // SAFETY: looked up under `self.pin`; the reference is bounded by `&self`.
        unsafe { &*breaker_of(entry) }
    }

    /// The breaker of `key`, created if there is none (see [`Registry::get_or_insert_key`]).
    #[inline]
    pub fn get_or_insert_key(&self, key: K) -> &CircuitBreaker {
        let entry = match self.registry.lookup(&key, &self.pin) {
            Some(entry) => entry,
            None => self.registry.insert(key, &self.pin),
        };
        // SAFETY: looked up under `self.pin`; the reference is bounded by `&self`.
        unsafe { &*breaker_of(entry) }
    }
}

impl<K> fmt::Debug for Pinned<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned").finish_non_exhaustive()
    }
}
