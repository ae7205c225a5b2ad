//! What a permit holds its breaker by: a [`BreakerHandle`]. A borrow gives [`Permit`](super::Permit), an
//! `Arc` gives [`OwnedPermit`]; the keyed registry's `BreakerRef` is a handle too, in its
//! own module, for `KeyedPermit`.

use std::sync::Arc;

use super::{Permit, PermitOf};
use crate::breaker::CircuitBreaker;
use crate::error::CircuitOpen;

/// What a [`PermitOf`] holds its breaker by: `&CircuitBreaker` ([`Permit`](super::Permit)),
/// `Arc<CircuitBreaker>` ([`OwnedPermit`]), or a keyed registry's
/// [`BreakerRef`](crate::BreakerRef)
/// ([`KeyedPermit`](crate::KeyedPermit)).
///
/// Sealed: the crate implements it for these three, so that every permit reports to a
/// breaker it keeps alive.
pub trait BreakerHandle: Sealed {}

/// The handle's part that only this crate sees.
pub trait Sealed {
    /// The name of the permits holding this handle, for `Debug`.
    const PERMIT_NAME: &'static str;

    /// The breaker the handle stands for.
    fn breaker(&self) -> &CircuitBreaker;

    /// Reports a success of `permit`, then drops it: [`PermitOf::success`].
    #[inline]
    fn report_success(permit: PermitOf<Self>)
    where
        Self: BreakerHandle + Sized,
    {
        permit.report_success_and_drop();
    }
}

impl Sealed for &CircuitBreaker {
    const PERMIT_NAME: &'static str = "Permit";

    #[inline]
    fn breaker(&self) -> &CircuitBreaker {
        self
    }

    #[inline(always)]
    fn report_success(permit: Permit<'_>) {
        permit.report_success_and_forget();
    }
}

impl BreakerHandle for &CircuitBreaker {}

impl Sealed for Arc<CircuitBreaker> {
    const PERMIT_NAME: &'static str = "OwnedPermit";

    #[inline]
    fn breaker(&self) -> &CircuitBreaker {
        self
    }
}

impl BreakerHandle for Arc<CircuitBreaker> {}

/// A permit that holds its breaker by `Arc`, from [`CircuitBreaker::acquire_owned`]: it
/// can live in a future or move to another thread. Reported, run and dropped exactly as a
/// [`Permit`](super::Permit): its methods are those of [`PermitOf`].
///
/// ```
/// use std::sync::Arc;
/// use breaker::{BreakerConfig, CircuitBreaker};
///
/// let breaker = Arc::new(CircuitBreaker::new("embeddings", BreakerConfig::default()));
/// let permit = breaker.acquire_owned().unwrap();
/// std::thread::spawn(move || permit.record(&Ok::<_, ()>(42))).join().unwrap();
/// assert_eq!(breaker.metrics().succeeded, 1);
/// ```
pub type OwnedPermit = PermitOf<Arc<CircuitBreaker>>;

impl OwnedPermit {
    /// The breaker that admitted this permit.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.handle
    }
}

impl CircuitBreaker {
    /// Like [`acquire`](Self::acquire), for a breaker held by `Arc`: the permit owns a
    /// reference to the breaker, so it can live in a future or move to another thread.
    pub fn acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit, CircuitOpen> {
        Ok(self.acquire()?.held_by(Arc::clone(self)))
    }
}
