//! Guarding a call: what the code that `#[circuit_breaker]` generates calls into.
//!
//! A guarded call acquires a [`Permit`](crate::Permit), runs the call through it (so that
//! the call's own panic is a failure: [`Permit::run`](crate::Permit::run),
//! [`Permit::run_future`](crate::Permit::run_future)), and records its result:
//! `Ok` is a success, an `Err` a failure (or, with `failure_if`, whatever the predicate
//! says); a call dropped before it finishes (a cancelled future) counts as neither.

use std::sync::{Arc, OnceLock};

use crate::breaker::CircuitBreaker;
use crate::error::CircuitOpen;

/// The error types a guarded function may return: those that a rejection converts into.
///
/// Implemented for every `E: From<CircuitOpen>`; the trait exists to say so clearly when
/// the conversion is missing.
///
/// ```
/// use breaker::CircuitOpen;
///
/// #[derive(Debug)]
/// enum ProviderError {
///     Unavailable(CircuitOpen),
///     Timeout,
/// }
///
/// impl From<CircuitOpen> for ProviderError {
///     fn from(open: CircuitOpen) -> Self {
///         ProviderError::Unavailable(open)
///     }
/// }
///
/// fn accepts<E: breaker::__private::Rejection>() {}
/// accepts::<ProviderError>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry the rejection of a circuit breaker",
    label = "the error type of a guarded function",
    note = "implement `From<breaker::CircuitOpen>` for `{Self}`, so that a rejected call returns it, or give `#[circuit_breaker]` a `fallback`"
)]
pub trait Rejection: From<CircuitOpen> {}

impl<E: From<CircuitOpen>> Rejection for E {}

/// The result of a rejected call: `Err(E::from(open))`.
#[cold]
#[inline(never)]
pub fn reject<T, E: Rejection>(open: CircuitOpen) -> Result<T, E> {
    Err(E::from(open))
}

/// The breaker of one guarded function, looked up by name on its first call and kept for
/// the following ones, so that a call costs one atomic load to find its breaker.
pub struct LazyBreaker {
    breaker: OnceLock<Arc<CircuitBreaker>>,
}

impl LazyBreaker {
    /// A breaker not looked up yet.
    pub const fn new() -> Self {
        Self {
            breaker: OnceLock::new(),
        }
    }

    /// The breaker, looked up with `init` the first time.
    #[inline]
    pub fn get(
        &'static self,
        init: impl FnOnce() -> Arc<CircuitBreaker>,
    ) -> &'static CircuitBreaker {
        self.breaker.get_or_init(init)
    }
}

impl Default for LazyBreaker {
    fn default() -> Self {
        Self::new()
    }
}

/// The default name of a guarded method: the type's path without its generic arguments,
/// and the method's name (`my_crate::client::OpenAi::complete`).
pub fn method_name<S: ?Sized>(method: &str) -> String {
    let type_name = std::any::type_name::<S>();
    let without_generics = type_name.split('<').next().unwrap_or(type_name);
    format!("{without_generics}::{method}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BreakerConfig, CircuitState, ManualClock};
    use std::time::Duration;

    fn breaker(threshold: u32) -> CircuitBreaker {
        let config = BreakerConfig::default()
            .with_threshold(threshold)
            .with_cooldown(Duration::from_secs(10));
        CircuitBreaker::with_clock("guarded", config, ManualClock::new())
    }

    #[test]
    fn record_reports_ok_as_success_and_err_as_failure() {
        let breaker = breaker(2);
        breaker.acquire().unwrap().record(&Err::<(), _>("boom"));
        breaker.acquire().unwrap().record(&Ok::<_, ()>(1));
        breaker.acquire().unwrap().record(&Err::<(), _>("boom"));
        assert_eq!(
            breaker.state(),
            CircuitState::Closed,
            "the success reset the count"
        );
        breaker.acquire().unwrap().record(&Err::<(), _>("boom"));
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[test]
    fn record_with_counts_only_the_errors_the_predicate_names() {
        let breaker = breaker(1);
        let is_server_error = |status: &u16| *status >= 500;
        breaker
            .acquire()
            .unwrap()
            .record_with(&Err::<(), _>(404), is_server_error);
        assert_eq!(breaker.state(), CircuitState::Closed);
        assert_eq!(breaker.metrics().failed, 0);
        breaker
            .acquire()
            .unwrap()
            .record_with(&Err::<(), _>(503), is_server_error);
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[test]
    fn a_panic_in_run_is_a_failure_and_a_cancellation_is_neither() {
        let breaker = breaker(1);
        let mut permit = breaker.acquire().unwrap();
        permit.run(|| ());
        drop(permit);
        assert_eq!(breaker.state(), CircuitState::Closed);
        assert_eq!(breaker.metrics().failed, 0);

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut permit = breaker.acquire().unwrap();
            permit.run(|| panic!("the guarded body panics"))
        }));
        assert!(panicked.is_err());
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[test]
    fn method_names_drop_generic_arguments() {
        struct Client<T>(T);
        let name = method_name::<Client<Vec<u8>>>("complete");
        assert!(name.ends_with("::Client::complete"), "{name}");
        assert!(!name.contains('<'), "{name}");
    }
}
