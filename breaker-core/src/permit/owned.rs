//! [`OwnedPermit`]: a permit that holds its breaker by `Arc`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::{Permit, REPORTED, RunFuture, run};
use crate::breaker::CircuitBreaker;
use crate::circuit::CircuitState;
use crate::error::CircuitOpen;

/// A [`Permit`] that holds its breaker by `Arc`, from [`CircuitBreaker::acquire_owned`]: it
/// can live in a future or move to another thread. Reported, run and dropped exactly as a
/// [`Permit`].
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
#[must_use = "a permit should be reported with `success()` or `failure()`; dropping it counts as neither"]
pub struct OwnedPermit {
    breaker: Arc<CircuitBreaker>,
    word: u64,
    at: u64,
}

impl OwnedPermit {
    /// The permit as a borrowed [`Permit`], to report or read through. The borrowed one is
    /// marked reported before it is dropped, so only a report through it counts.
    fn with_borrowed<R>(&self, f: impl FnOnce(&mut Permit<'_>) -> R) -> R {
        let mut permit = Permit {
            breaker: &self.breaker,
            word: self.word,
            at: self.at,
        };
        let value = f(&mut permit);
        permit.word |= REPORTED;
        drop(permit);
        value
    }

    /// This permit's report, made by `report` on the borrowed permit.
    #[inline]
    fn reported(mut self, report: impl FnOnce(Permit<'_>)) {
        let permit = Permit {
            breaker: &self.breaker,
            word: self.word,
            at: self.at,
        };
        self.word |= REPORTED;
        report(permit);
    }

    /// Reports that the call succeeded; see [`Permit::success`].
    #[inline]
    pub fn success(self) {
        self.reported(|permit| permit.success());
    }

    /// Reports that the call failed; see [`Permit::failure`].
    pub fn failure(self) {
        self.reported(|permit| permit.failure());
    }

    /// Reports `success` (true) or failure (false).
    #[inline]
    pub fn report(self, success: bool) {
        self.reported(|permit| permit.report(success));
    }

    /// Reports a call's result: `Ok` is a success, `Err` a failure.
    #[inline]
    pub fn record<T, E>(self, result: &Result<T, E>) {
        self.reported(|permit| permit.record(result));
    }

    /// Reports a call's result, with `failure_if` classifying its error; see
    /// [`Permit::record_with`].
    pub fn record_with<T, E>(self, result: &Result<T, E>, failure_if: impl FnOnce(&E) -> bool) {
        self.reported(|permit| permit.record_with(result, failure_if));
    }

    /// Reports an error the classifier ignores; see [`Permit::ignore`].
    pub fn ignore(self) {
        self.reported(|permit| permit.ignore());
    }

    /// Runs `call`, the guarded code: a panic in it is a failure; see [`Permit::run`].
    pub fn run<R>(&mut self, call: impl FnOnce() -> R) -> R {
        run::run_armed(&mut self.word, call)
    }

    /// Polls `future` as the guarded call: a panic in it is a failure; see
    /// [`Permit::run_future`].
    pub fn run_future<F: Future>(&mut self, future: F) -> RunFuture<'_, F> {
        RunFuture::new(&mut self.word, future)
    }

    /// The generation of the breaker that admitted this permit; see [`Permit::generation`].
    pub fn generation(&self) -> u64 {
        self.with_borrowed(|permit| permit.generation())
    }

    /// The state the breaker was in when it admitted this permit; see [`Permit::state`].
    pub fn state(&self) -> CircuitState {
        self.with_borrowed(|permit| permit.state())
    }

    /// Whether this permit is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.with_borrowed(|permit| permit.is_probe())
    }

    /// Whether a report would be ignored; see [`Permit::is_stale`].
    pub fn is_stale(&self) -> bool {
        self.with_borrowed(|permit| permit.is_stale())
    }

    /// The breaker that admitted this permit.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if self.word & REPORTED == 0 {
            // Dropped unreported: the borrowed permit's drop decides (neither, or a failure
            // if its guarded code panicked).
            drop(Permit {
                breaker: &self.breaker,
                word: self.word,
                at: self.at,
            });
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("breaker", &self.breaker.name())
            .field("state", &self.state())
            .field("generation", &self.generation())
            .field("probe", &self.is_probe())
            .finish()
    }
}

impl CircuitBreaker {
    /// Like [`acquire`](Self::acquire), for a breaker held by `Arc`: the permit owns a
    /// reference to the breaker, so it can live in a future or move to another thread.
    pub fn acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit, CircuitOpen> {
        let (word, at) = self.acquire()?.detach();
        Ok(OwnedPermit {
            breaker: Arc::clone(self),
            word,
            at,
        })
    }
}
