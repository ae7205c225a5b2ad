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

/// The return types a guarded function or method may have: `Result<T, E>`, however it is
/// written (`Result<T, E>`, `io::Result<T>`, an alias of any name, `Self` in an impl for a
/// `Result`).
///
/// The macro cannot tell an alias of `Result` from another type by its name, so it leaves
/// the decision to the compiler: a return type that is not a `Result` fails this bound,
/// with one message on the return type.
///
/// ```
/// use breaker::CircuitOpen;
///
/// #[derive(Debug)]
/// struct ApiError;
///
/// impl From<CircuitOpen> for ApiError {
///     fn from(_: CircuitOpen) -> Self {
///         ApiError
///     }
/// }
///
/// type Reply = Result<String, ApiError>;
///
/// fn guarded<R: breaker::__private::GuardedResult>() {}
/// guarded::<Reply>();
/// guarded::<std::io::Result<u8>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result`: a guarded call returns `Result<T, E>`, so that its failures can be told from its successes",
    label = "the return type of a guarded call",
    note = "on a method of a trait under `#[circuit_breaker]`, mark the method `#[breaker(skip)]` to forward it unguarded"
)]
pub trait GuardedResult: Sized {
    /// The `T` of `Result<T, E>`.
    type Ok;
    /// The `E` of `Result<T, E>`.
    type Err;

    /// The value as the `Result` it is, for the permit to record.
    fn as_result(&self) -> &Result<Self::Ok, Self::Err>;

    /// `Err(error)`.
    fn from_err(error: Self::Err) -> Self;
}

impl<T, E> GuardedResult for Result<T, E> {
    type Ok = T;
    type Err = E;

    #[inline(always)]
    fn as_result(&self) -> &Self {
        self
    }

    #[inline(always)]
    fn from_err(error: E) -> Self {
        Err(error)
    }
}

/// The result of a rejected call: `Err(E::from(open))`.
#[cold]
#[inline(never)]
pub fn reject<R: GuardedResult>(open: CircuitOpen) -> R
where
    R::Err: Rejection,
{
    R::from_err(R::Err::from(open))
}

/// A guarded call's result as the `Result` it is, for the permit to record.
#[inline(always)]
pub fn as_result<R: GuardedResult>(result: &R) -> &Result<R::Ok, R::Err> {
    result.as_result()
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
