//! [`CircuitBreaker::call`] and [`CircuitBreaker::call_async`]: acquire, run, report.

use std::future::Future;

use super::CircuitBreaker;
use crate::error::BreakerError;

impl CircuitBreaker {
    /// Runs `f` through the breaker: rejected with [`BreakerError::Open`] if the breaker
    /// does not admit it; otherwise run, and reported: `Ok` is a success, `Err` is a failure
    /// (returned unchanged as [`BreakerError::Inner`]), and a panic is a failure, after
    /// which the panic continues.
    ///
    /// ```
    /// use breaker::{BreakerConfig, BreakerError, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new("gpt-4o", BreakerConfig::default().with_threshold(2));
    ///
    /// let answer = breaker.call(|| Ok::<_, std::io::Error>("42"));
    /// assert_eq!(answer.unwrap(), "42");
    ///
    /// for _ in 0..2 {
    ///     let err = breaker.call(|| Err::<(), _>("timeout")).unwrap_err();
    ///     assert_eq!(err, BreakerError::Inner("timeout"));
    /// }
    ///
    /// let err = breaker.call(|| Ok::<_, &str>(())).unwrap_err();
    /// assert!(err.is_open());
    /// assert!(err.to_string().contains("circuit breaker `gpt-4o`"));
    /// ```
    pub fn call<T, E, F>(&self, f: F) -> Result<T, BreakerError<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        // A panic in `f` unwinds past the armed permit: a failure, and the panic goes on
        // untouched (nothing is caught).
        let mut permit = self.acquire()?;
        let result = permit.run(f);
        permit.record(&result);
        result.map_err(BreakerError::Inner)
    }

    /// Runs `future` through the breaker, like [`call`](Self::call): rejected without
    /// polling it if the breaker does not admit it; otherwise `Ok` is a success, `Err` a
    /// failure and a panic a failure that continues.
    ///
    /// If the returned future is dropped before it finishes (a timeout, a cancelled task),
    /// the call counts as neither success nor failure, and a half-open probe slot it held
    /// is freed at once.
    ///
    /// ```
    /// use breaker::{BreakerConfig, CircuitBreaker};
    ///
    /// async fn complete(prompt: &str) -> Result<String, std::io::Error> {
    ///     Ok(format!("echo: {prompt}"))
    /// }
    ///
    /// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
    /// #     let mut future = std::pin::pin!(future);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop {
    /// #         if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) { return out; }
    /// #     }
    /// # }
    /// let breaker = CircuitBreaker::new("claude-sonnet", BreakerConfig::default());
    /// let reply = block_on(breaker.call_async(complete("hi"))).unwrap();
    /// assert_eq!(reply, "echo: hi");
    /// ```
    pub async fn call_async<T, E, Fut>(&self, future: Fut) -> Result<T, BreakerError<E>>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        // A panic while polling `future` leaves the permit armed: a failure when it drops. The
        // returned future dropped before it finishes drops the permit unreported and
        // disarmed: neither. So does a panic of anything else that drops it.
        let mut permit = self.acquire()?;
        let result = permit.run_future(future).await;
        permit.record(&result);
        result.map_err(BreakerError::Inner)
    }
}
