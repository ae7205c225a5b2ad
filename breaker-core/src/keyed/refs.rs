//! The views of a [`Registry`]'s breakers: [`BreakerRef`] (and its former name
//! [`SendBreakerRef`]), [`RegistryPermit`] and [`Pinned`].

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use super::{MapGuard, Registry, RegistryKey};
use crate::breaker::CircuitBreaker;
use crate::circuit::CircuitState;
use crate::error::CircuitOpen;
use crate::permit::{OwnedPermit, RunFuture};

/// A breaker of a [`Registry`]: it derefs to [`CircuitBreaker`] (`call`, `call_async`,
/// `state`, `metrics`...). It holds the breaker by a reference count, so the breaker stays
/// valid (and its calls report to it) even if it is evicted or removed meanwhile. `Send`
/// and `Sync`: it can be held across an `.await` in a `Send` future.
pub struct BreakerRef<'r> {
    breaker: Arc<CircuitBreaker>,
    /// Borrows the registry, as the views of its breakers always did.
    _registry: PhantomData<&'r ()>,
}

/// The name a [`BreakerRef`] had when it was the only view that was `Send`: every
/// `BreakerRef` is now.
pub type SendBreakerRef<'r> = BreakerRef<'r>;

impl<'r> BreakerRef<'r> {
    pub(super) fn new(breaker: &Arc<CircuitBreaker>) -> Self {
        Self {
            breaker: Arc::clone(breaker),
            _registry: PhantomData,
        }
    }

    /// Asks to make one call (see [`CircuitBreaker::acquire`]). The permit holds the
    /// breaker by itself, so it can outlive this reference:
    /// `let permit = registry.get_or_insert("gpt-4o").acquire()?;` works.
    #[inline]
    pub fn acquire(&self) -> Result<RegistryPermit<'r>, CircuitOpen> {
        Ok(RegistryPermit::new(self.breaker.acquire_owned()?))
    }
}

impl Deref for BreakerRef<'_> {
    type Target = CircuitBreaker;

    #[inline]
    fn deref(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

impl fmt::Debug for BreakerRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.breaker, f)
    }
}

/// A permit of a breaker of a [`Registry`], from [`Registry::acquire`] and
/// [`BreakerRef::acquire`]: it holds its breaker (an [`OwnedPermit`]), so it stays valid if
/// the breaker is evicted meanwhile, and reports to that breaker. Its methods are those of
/// [`Permit`](crate::Permit).
#[must_use = "a permit should be reported with `success()` or `failure()`; dropping it counts as neither"]
pub struct RegistryPermit<'r> {
    permit: OwnedPermit,
    _registry: PhantomData<&'r ()>,
}

impl RegistryPermit<'_> {
    pub(super) fn new(permit: OwnedPermit) -> Self {
        Self {
            permit,
            _registry: PhantomData,
        }
    }

    /// See [`Permit::success`](crate::Permit::success).
    #[inline]
    pub fn success(self) {
        self.permit.success();
    }

    /// See [`Permit::failure`](crate::Permit::failure).
    pub fn failure(self) {
        self.permit.failure();
    }

    /// See [`Permit::ignore`](crate::Permit::ignore).
    pub fn ignore(self) {
        self.permit.ignore();
    }

    /// See [`Permit::report`](crate::Permit::report).
    #[inline]
    pub fn report(self, success: bool) {
        self.permit.report(success);
    }

    /// See [`Permit::record`](crate::Permit::record).
    #[inline]
    pub fn record<T, E>(self, result: &Result<T, E>) {
        self.permit.record(result);
    }

    /// See [`Permit::record_with`](crate::Permit::record_with).
    #[inline]
    pub fn record_with<T, E>(self, result: &Result<T, E>, failure_if: impl FnOnce(&E) -> bool) {
        self.permit.record_with(result, failure_if);
    }

    /// See [`Permit::run`](crate::Permit::run).
    pub fn run<R>(&mut self, call: impl FnOnce() -> R) -> R {
        self.permit.run(call)
    }

    /// See [`Permit::run_future`](crate::Permit::run_future).
    pub fn run_future<F: std::future::Future>(&mut self, future: F) -> RunFuture<'_, F> {
        self.permit.run_future(future)
    }

    /// See [`Permit::generation`](crate::Permit::generation).
    pub fn generation(&self) -> u64 {
        self.permit.generation()
    }

    /// See [`Permit::state`](crate::Permit::state).
    pub fn state(&self) -> CircuitState {
        self.permit.state()
    }

    /// See [`Permit::is_probe`](crate::Permit::is_probe).
    pub fn is_probe(&self) -> bool {
        self.permit.is_probe()
    }

    /// See [`Permit::is_stale`](crate::Permit::is_stale).
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
/// `&CircuitBreaker`s, and their permits plain [`Permit`](crate::Permit)s, borrowing the
/// view. Not `Send`.
pub struct Pinned<'r, K> {
    pub(super) registry: &'r Registry<K>,
    pub(super) guard: MapGuard<'r>,
}

impl<K: RegistryKey> Pinned<'_, K> {
    /// The breaker of `key`, if there is one (see [`Registry::get`]).
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&CircuitBreaker>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        Some(&self.registry.lookup(key, &self.guard)?.breaker)
    }

    /// The breaker of `key`, created if there is none (see [`Registry::get_or_insert`]).
    #[inline]
    pub fn get_or_insert<Q>(&self, key: &Q) -> &CircuitBreaker
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        &self.registry.lookup_or_insert(key, &self.guard).breaker
    }

    /// The breaker of `key`, created if there is none (see [`Registry::get_or_insert_key`]).
    #[inline]
    pub fn get_or_insert_key(&self, key: K) -> &CircuitBreaker {
        &self.registry.lookup_or_insert_key(key, &self.guard).breaker
    }
}

impl<K> fmt::Debug for Pinned<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned").finish_non_exhaustive()
    }
}
