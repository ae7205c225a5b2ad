//! The views of a [`KeyedRegistry`]'s breakers: [`BreakerRef`], [`KeyedPermit`] (a [`PermitOf`] holding a [`BreakerRef`]) and
//! [`Pinned`].

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use super::{KeyedRegistry, MapGuard, RegistryKey};
use crate::breaker::CircuitBreaker;
use crate::breaker::permit::{BreakerHandle, PermitOf, Sealed};
use crate::error::CircuitOpen;

/// A breaker of a [`KeyedRegistry`]: it derefs to [`CircuitBreaker`] (`call`, `call_async`,
/// `state`, `metrics`...). It holds the breaker by a reference count, so the breaker stays
/// valid (and its calls report to it) even if it is evicted or removed meanwhile. `Send`
/// and `Sync`: it can be held across an `.await` in a `Send` future.
pub struct BreakerRef<'r> {
    breaker: Arc<CircuitBreaker>,
    /// Borrows the registry, as the views of its breakers always did.
    _registry: PhantomData<&'r ()>,
}

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
    pub fn acquire(&self) -> Result<KeyedPermit<'r>, CircuitOpen> {
        Self::acquire_from(&self.breaker)
    }

    /// A permit of `breaker` that holds it (its reference count taken only if admitted).
    #[inline]
    pub(super) fn acquire_from(
        breaker: &Arc<CircuitBreaker>,
    ) -> Result<KeyedPermit<'r>, CircuitOpen> {
        Ok(breaker.acquire()?.held_by(Self::new(breaker)))
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

/// A permit of a breaker of a [`KeyedRegistry`], from [`KeyedRegistry::acquire`] and
/// [`BreakerRef::acquire`]: it holds its breaker (by the [`BreakerRef`]'s reference count),
/// so it stays valid if the breaker is evicted meanwhile, and reports to that breaker. Its
/// methods are those of [`PermitOf`].
///
/// ```
/// use std::sync::Arc;
/// use breaker::KeyedRegistry;
/// use breaker::BreakerConfig;
///
/// let models: KeyedRegistry<Arc<str>> = KeyedRegistry::new(100, BreakerConfig::default());
/// let permit = models.acquire("gpt-4o").unwrap();
/// assert!(models.remove("gpt-4o")); // evicted or removed: the permit still reports
/// assert_eq!(permit.breaker().name(), "gpt-4o");
/// permit.failure();
/// ```
pub type KeyedPermit<'r> = PermitOf<BreakerRef<'r>>;

impl Sealed for BreakerRef<'_> {
    const PERMIT_NAME: &'static str = "RegistryPermit";

    #[inline]
    fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

impl BreakerHandle for BreakerRef<'_> {}

impl KeyedPermit<'_> {
    /// The breaker that admitted this permit.
    pub fn breaker(&self) -> &CircuitBreaker {
        Sealed::breaker(self.handle())
    }
}

/// A [`KeyedRegistry`] pinned for many lookups (see [`KeyedRegistry::pin`]): its breakers are plain
/// `&CircuitBreaker`s, and their permits plain [`Permit`](crate::Permit)s, borrowing the
/// view. Not `Send`.
pub struct Pinned<'r, K> {
    pub(super) registry: &'r KeyedRegistry<K>,
    pub(super) guard: MapGuard<'r>,
}

impl<K: RegistryKey> Pinned<'_, K> {
    /// The breaker of `key`, if there is one (see [`KeyedRegistry::get`]).
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&CircuitBreaker>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        Some(&self.registry.lookup(key, &self.guard)?.breaker)
    }

    /// The breaker of `key`, created if there is none (see [`KeyedRegistry::get_or_insert`]).
    #[inline]
    pub fn get_or_insert<Q>(&self, key: &Q) -> &CircuitBreaker
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        &self.registry.lookup_or_insert(key, &self.guard).breaker
    }

    /// The breaker of `key`, created if there is none (see [`KeyedRegistry::get_or_insert_key`]).
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
