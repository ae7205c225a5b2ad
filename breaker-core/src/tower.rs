//! A circuit breaker as `tower` middleware (feature `tower`).
//!
//! [`CircuitBreakerLayer`] wraps any `tower::Service`: `poll_ready` asks the breaker for a
//! permit and reports an open circuit as [`BreakerError::Open`]; the call's outcome is
//! judged by a [`Classify`] (every `Err` by default; for HTTP, [`HttpStatus`] also counts a
//! 5xx or a 429 response) and reported. The futures need no runtime of their own.
//!
//! ```
//! use std::sync::Arc;
//! use breaker::tower::{CircuitBreakerLayer, HttpStatus};
//! use breaker::{BreakerConfig, BreakerError, CircuitBreaker};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! let breaker = Arc::new(CircuitBreaker::new("api", BreakerConfig::default().with_threshold(1)));
//! let service = ServiceBuilder::new()
//!     .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)).with_classifier(HttpStatus))
//!     .service_fn(|_request: ()| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::builder().status(503).body(()).unwrap())
//!     });
//!
//! let response = futures::executor::block_on(service.clone().oneshot(())).unwrap();
//! assert_eq!(response.status(), 503); // the response is returned as it is...
//! let rejected = futures::executor::block_on(service.oneshot(()));
//! assert!(matches!(rejected, Err(BreakerError::Open(_)))); // ...and counted: the circuit is open
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::breaker::CircuitBreaker;
use crate::error::{BreakerError, CircuitOpen};
use crate::permit::OwnedPermit;

/// What a call's outcome says about the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The remote did its job.
    Success,
    /// The remote failed: counts towards the trip policy.
    Failure,
    /// Says nothing about the remote (a request it rightly refused): counted as the
    /// breaker's [`ignored_errors`](crate::BreakerConfig::ignored_errors) says.
    Ignored,
}

/// `true` is a failure, `false` a success: a classifier may answer with a `bool`.
impl From<bool> for Verdict {
    fn from(failed: bool) -> Self {
        if failed {
            Verdict::Failure
        } else {
            Verdict::Success
        }
    }
}

/// Decides what the outcome of a call says about the remote.
pub trait Classify<T, E> {
    /// The verdict on `result`.
    fn classify(&self, result: &Result<T, E>) -> Verdict;
}

/// Every `Err` is a failure, every `Ok` a success (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorsAreFailures;

impl<T, E> Classify<T, E> for ErrorsAreFailures {
    fn classify(&self, result: &Result<T, E>) -> Verdict {
        result.is_err().into()
    }
}

/// For `http::Response`s: an `Err`, a 5xx or a 429 (too many requests) is a failure; any
/// other response, a 4xx included (the request's fault, not the remote's), a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpStatus;

impl<B, E> Classify<http::Response<B>, E> for HttpStatus {
    fn classify(&self, result: &Result<http::Response<B>, E>) -> Verdict {
        match result {
            Ok(response) => {
                let status = response.status();
                (status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS).into()
            }
            Err(_) => Verdict::Failure,
        }
    }
}

/// A classifier from a function `Fn(&Result<T, E>) -> V`, where `V` is a [`Verdict`] or a
/// `bool` (true: a failure).
///
/// ```
/// use breaker::tower::{Classify, ClassifyFn, Verdict};
///
/// // Timeouts are failures; a rejected request says nothing about the remote.
/// let classifier = ClassifyFn(|result: &Result<u32, &str>| match result {
///     Ok(_) => Verdict::Success,
///     Err("timeout") => Verdict::Failure,
///     Err(_) => Verdict::Ignored,
/// });
/// assert_eq!(classifier.classify(&Err("bad request")), Verdict::Ignored);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ClassifyFn<F>(pub F);

impl<T, E, V: Into<Verdict>, F: Fn(&Result<T, E>) -> V> Classify<T, E> for ClassifyFn<F> {
    fn classify(&self, result: &Result<T, E>) -> Verdict {
        (self.0)(result).into()
    }
}

/// A `tower::Layer` that puts a [`CircuitBreaker`] in front of a service.
#[derive(Debug, Clone)]
pub struct CircuitBreakerLayer<C = ErrorsAreFailures> {
    breaker: Arc<CircuitBreaker>,
    classifier: C,
}

impl CircuitBreakerLayer {
    /// A layer guarding its services with `breaker`; every `Err` is a failure.
    pub fn new(breaker: Arc<CircuitBreaker>) -> Self {
        Self {
            breaker,
            classifier: ErrorsAreFailures,
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// The layer with `classifier` to decide what is a failure.
    pub fn with_classifier<D>(self, classifier: D) -> CircuitBreakerLayer<D> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classifier,
        }
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}

impl<S, C: Clone> Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreakerService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService {
            inner,
            breaker: Arc::clone(&self.breaker),
            classifier: self.classifier.clone(),
            permit: None,
        }
    }
}

/// A service behind a [`CircuitBreaker`], from [`CircuitBreakerLayer`].
#[derive(Debug)]
pub struct CircuitBreakerService<S, C = ErrorsAreFailures> {
    inner: S,
    breaker: Arc<CircuitBreaker>,
    classifier: C,
    /// Taken by `poll_ready` for the next `call`.
    permit: Option<OwnedPermit>,
}

impl<S: Clone, C: Clone> Clone for CircuitBreakerService<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            breaker: Arc::clone(&self.breaker),
            classifier: self.classifier.clone(),
            // A permit is for one call of the service that took it.
            permit: None,
        }
    }
}

impl<S, C> CircuitBreakerService<S, C> {
    /// The breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}

impl<S, C, Request> Service<Request> for CircuitBreakerService<S, C>
where
    S: Service<Request>,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BreakerError<S::Error>;
    type Future = ResponseFuture<S::Future, C>;

    /// Ready once the breaker admits a call (an open circuit is `Err(BreakerError::Open)`)
    /// and the inner service is ready.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.permit.is_none() {
            match self.breaker.acquire_owned() {
                Ok(permit) => self.permit = Some(permit),
                Err(open) => return Poll::Ready(Err(BreakerError::Open(open))),
            }
        }
        match self.inner.poll_ready(cx) {
            Poll::Ready(Err(error)) => {
                // Not a call: the permit goes back unreported.
                self.permit = None;
                Poll::Ready(Err(BreakerError::Inner(error)))
            }
            other => other.map_err(BreakerError::Inner),
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // `poll_ready` took the permit; a caller that skipped it gets one now, or the
        // rejection.
        let permit = match self.permit.take() {
            Some(permit) => permit,
            None => match self.breaker.acquire_owned() {
                Ok(permit) => permit,
                Err(open) => return ResponseFuture::rejected(open, self.classifier.clone()),
            },
        };
        ResponseFuture {
            inner: Some(self.inner.call(request)),
            permit: Some(permit),
            rejected: None,
            classifier: self.classifier.clone(),
        }
    }
}

pin_project! {
    /// The future of a call through a [`CircuitBreakerService`]: the inner service's
    /// response, its outcome reported to the breaker.
    pub struct ResponseFuture<F, C> {
        #[pin]
        inner: Option<F>,
        permit: Option<OwnedPermit>,
        rejected: Option<CircuitOpen>,
        classifier: C,
    }
}

impl<F, C> ResponseFuture<F, C> {
    fn rejected(open: CircuitOpen, classifier: C) -> Self {
        Self {
            inner: None,
            permit: None,
            rejected: Some(open),
            classifier,
        }
    }
}

impl<F, C, T, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
{
    type Output = Result<T, BreakerError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(open) = this.rejected.take() {
            return Poll::Ready(Err(BreakerError::Open(open)));
        }
        let Some(inner) = this.inner.as_pin_mut() else {
            panic!("`ResponseFuture` polled after it completed");
        };
        // Polled with the permit armed: a panic of the inner future is a failed call.
        let result = match this.permit.as_mut() {
            Some(permit) => std::task::ready!(permit.run(|| inner.poll(cx))),
            None => std::task::ready!(inner.poll(cx)),
        };
        if let Some(permit) = this.permit.take() {
            match this.classifier.classify(&result) {
                Verdict::Success => permit.success(),
                Verdict::Failure => permit.failure(),
                Verdict::Ignored => permit.ignore(),
            }
        }
        Poll::Ready(result.map_err(BreakerError::Inner))
    }
}
