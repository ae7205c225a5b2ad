//! A circuit breaker as `tower` middleware (feature `tower`).
//!
//! [`CircuitBreakerLayer`] wraps any `tower::Service`. Each call needs the breaker's
//! permit; the call's outcome is judged by a [`Classify`] (every `Err` is a failure by
//! default; for HTTP, [`HttpStatus`] classifies each response as [`crate::http`] does: a 5xx
//! a failure, a 429 a rate limit, a 400 nothing about the remote) and reported. The futures
//! need no runtime of their own.
//!
//! ```
//! use std::sync::Arc;
//! use breaker::tower::{CircuitBreakerLayer, HttpStatus};
//! use breaker::{BreakerConfig, BreakerError, CircuitBreaker};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! let breaker = Arc::new(CircuitBreaker::new("api", BreakerConfig::default().with_threshold(1)));
//! let mut service = ServiceBuilder::new()
//!     .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)).with_classifier(HttpStatus))
//!     .service_fn(|_request: ()| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::builder().status(503).body(()).unwrap())
//!     });
//!
//! let response = futures::executor::block_on(service.clone().oneshot(())).unwrap();
//! assert_eq!(response.status(), 503); // the response is returned as it is...
//! // ...and counted: the circuit is open. The service is ready all the same; the call fails.
//! let ready = futures::executor::block_on(service.ready());
//! assert!(ready.is_ok());
//! let rejected = futures::executor::block_on(service.call(()));
//! assert!(matches!(rejected, Err(BreakerError::Open(_))));
//! ```
//!
//! # Readiness
//!
//! In tower, a service whose `poll_ready` fails is broken for good: callers drop it, and
//! `tower::buffer::Buffer` fails every later request without polling it again. An open
//! circuit is a passing state, not a broken service, so **`poll_ready` never fails because
//! of the breaker**; it fails only when the inner service's does.
//!
//! - `poll_ready` asks the breaker first. Admitted, the service keeps the permit for its
//!   next `call` and polls the inner service. Rejected, it is ready at once, without
//!   polling the inner service (which may be waiting on the very remote that is down), and
//!   the next `call` fails fast with [`BreakerError::Open`], without calling it.
//! - The permit is taken at readiness, not in `call`, so that a half-open probe slot is
//!   reserved by the readiness that precedes the call: a ready service's call is not
//!   refused for a slot another caller took in between, and [`Readiness::BackPressure`]
//!   waits for a slot that is then its own. (Taken in `call`, a rejection would also leave
//!   the inner service's readiness unused, which tower allows; but every waiter woken by a
//!   freed slot would be ready, and all but one would fail.) The price: a service kept
//!   ready holds its permit until it calls or is dropped, and a probe admitted while the
//!   inner service is not ready holds its slot while it waits.
//! - A rejection is decided anew at each `poll_ready`; a permit, once taken, is kept for the
//!   call. A clone starts with neither: readiness is for one call of the service that
//!   polled it.
//!
//! With [`Readiness::BackPressure`] ([`CircuitBreakerLayer::with_readiness`]), readiness is
//! `Pending` while the circuit is half-open with every probe slot taken, and wakes when a
//! slot is given back (a probe reported, dropped, or its service dropped unused) or the
//! state changes (then it is admitted in Closed, or fails fast in Open). So a `Buffer`
//! queues those requests and `load_shed` sheds them, instead of failing them with the
//! breaker's error. Open, forced open and a remote's rate limit in force (even while
//! half-open) still fail fast: their end is a time, not an event, and this layer keeps no
//! timer. Nor does a probe's `half_open_timeout`: a probe
//! that hangs (never finishes, never dropped) keeps its waiters waiting, so put a
//! `tower::timeout` below the breaker. Each look that finds the slots taken counts as a
//! rejection in the breaker's [`Metrics`](crate::Metrics).
//!
//! # Cancellation
//!
//! A response future dropped before it completes (a timeout above, a cancelled task)
//! counts as neither a success nor a failure, and gives a probe's slot back at once; so
//! does a service dropped after its readiness and before its call. A panic in the inner
//! service's future counts as a failure.
//!

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::breaker::permit::OwnedPermit;
use crate::breaker::{CircuitBreaker, Waiter};
use crate::cause::Because;
use crate::circuit::CircuitState;
use crate::error::{BreakerError, CircuitOpen};
pub use crate::verdict::Verdict;

/// Decides what the outcome of a call says about the remote.
pub trait Classify<T, E> {
    /// The verdict on `result`.
    fn classify(&self, result: &Result<T, E>) -> Verdict;

    /// The HTTP status of `result`, if it has one: the [`Cause`](crate::Cause) an opening
    /// it trips carries. None by default.
    fn status(&self, result: &Result<T, E>) -> Option<u16> {
        let _ = result;
        None
    }
}

/// Every `Err` is a failure, every `Ok` a success (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorsAreFailures;

impl<T, E> Classify<T, E> for ErrorsAreFailures {
    fn classify(&self, result: &Result<T, E>) -> Verdict {
        result.is_err().into()
    }
}

/// For `http::Response`s: a response is judged by
/// [`classify_response`](crate::http::classify_response) (a 5xx, a 529 or a 408 is a
/// failure, down for its `Retry-After` if it gives one; a 429 a rate limit, for the delay its
/// headers give; a 401 or 403 refused credentials; any other 4xx, the request's fault, says
/// nothing about the remote; see [the table](crate::http)). An `Err`, the inner service
/// giving no response (connection refused, a timeout), is a failure.
///
/// ```
/// use std::time::Duration;
/// use breaker::Verdict;
/// use breaker::tower::{Classify, HttpStatus};
///
/// let rate_limited = http::Response::builder().status(429).header("retry-after", "6").body(()).unwrap();
/// let verdict = HttpStatus.classify(&Ok::<_, std::io::Error>(rate_limited));
/// assert_eq!(verdict, Verdict::RateLimited(Some(Duration::from_secs(6))));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpStatus;

impl<B, E> Classify<::http::Response<B>, E> for HttpStatus {
    fn classify(&self, result: &Result<::http::Response<B>, E>) -> Verdict {
        match result {
            Ok(response) => crate::http::classify_response(response),
            Err(_) => Verdict::Failure,
        }
    }

    fn status(&self, result: &Result<::http::Response<B>, E>) -> Option<u16> {
        result
            .as_ref()
            .ok()
            .map(|response| response.status().as_u16())
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

/// How a [`CircuitBreakerService`]'s `poll_ready` answers while the breaker would reject a
/// call (see [the module documentation](self#readiness)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Readiness {
    /// Ready at once; the call fails fast with [`BreakerError::Open`], without polling or
    /// calling the inner service. The default.
    #[default]
    FailFast,
    /// Like `FailFast` while the circuit is open or forced open; but while it is half-open
    /// with every probe slot taken, `Pending` until a slot is given back or the state
    /// changes. For stacks that prefer to queue (a `Buffer`) or shed (`load_shed`) over
    /// failing those calls.
    BackPressure,
}

impl Readiness {
    /// Whether readiness waits rather than fail fast on `open`: back-pressure, and the
    /// circuit is half-open with every probe slot taken.
    fn waits_on(self, open: &CircuitOpen) -> bool {
        self == Readiness::BackPressure
            && open.state() == CircuitState::HalfOpen
            && !open.is_rate_limited()
    }
}

/// A `tower::Layer` that puts a [`CircuitBreaker`] in front of a service.
#[derive(Debug, Clone)]
pub struct CircuitBreakerLayer<C = ErrorsAreFailures> {
    breaker: Arc<CircuitBreaker>,
    classifier: C,
    readiness: Readiness,
}

impl CircuitBreakerLayer {
    /// A layer guarding its services with `breaker`; every `Err` is a failure, and an open
    /// circuit fails calls fast ([`Readiness::FailFast`]).
    pub fn new(breaker: Arc<CircuitBreaker>) -> Self {
        Self {
            breaker,
            classifier: ErrorsAreFailures,
            readiness: Readiness::FailFast,
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// The layer with `classifier` to decide what is a failure.
    pub fn with_classifier<D>(self, classifier: D) -> CircuitBreakerLayer<D> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classifier,
            readiness: self.readiness,
        }
    }

    /// The layer with `readiness` to say how its services' `poll_ready` answers while the
    /// breaker would reject a call.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Duration;
    /// use breaker::tower::{CircuitBreakerLayer, Readiness};
    /// use breaker::{BreakerConfig, CircuitBreaker, ManualClock};
    /// use tower::{Service, ServiceBuilder, service_fn};
    ///
    /// let clock = ManualClock::new();
    /// let config = BreakerConfig::default()
    ///     .with_threshold(1)
    ///     .with_cooldown(Duration::from_secs(5));
    /// let breaker = Arc::new(CircuitBreaker::with_clock("api", config, clock.clone()));
    /// breaker.acquire().unwrap().failure(); // open
    /// clock.advance(Duration::from_secs(5));
    ///
    /// let layer = CircuitBreakerLayer::new(breaker).with_readiness(Readiness::BackPressure);
    /// let service = ServiceBuilder::new()
    ///     .layer(layer)
    ///     .service_fn(|_: ()| async { Ok::<_, std::convert::Infallible>(()) });
    /// let (mut probe, mut other) = (service.clone(), service);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(probe.poll_ready(&mut cx).is_ready()); // the one probe slot
    /// assert!(other.poll_ready(&mut cx).is_pending()); // waits for it
    /// drop(probe); // ready but never called: the slot is given back
    /// assert!(other.poll_ready(&mut cx).is_ready());
    /// ```
    pub fn with_readiness(self, readiness: Readiness) -> Self {
        Self { readiness, ..self }
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
            readiness: self.readiness,
            admission: None,
            waiter: None,
        }
    }
}

/// What `poll_ready` decided for the next `call`.
#[derive(Debug)]
enum Admission {
    /// Admitted: the call goes to the inner service (once it is ready) with this permit.
    Admitted(OwnedPermit),
    /// Rejected: the call fails fast with this.
    Rejected(CircuitOpen),
}

impl From<Result<OwnedPermit, CircuitOpen>> for Admission {
    fn from(decided: Result<OwnedPermit, CircuitOpen>) -> Self {
        match decided {
            Ok(permit) => Admission::Admitted(permit),
            Err(open) => Admission::Rejected(open),
        }
    }
}

/// A service behind a [`CircuitBreaker`], from [`CircuitBreakerLayer`].
#[derive(Debug)]
pub struct CircuitBreakerService<S, C = ErrorsAreFailures> {
    inner: S,
    breaker: Arc<CircuitBreaker>,
    classifier: C,
    readiness: Readiness,
    /// Decided by `poll_ready` for the next `call`.
    admission: Option<Admission>,
    /// Back-pressure: registered while `poll_ready` waits for a probe slot.
    waiter: Option<Waiter>,
}

impl<S: Clone, C: Clone> Clone for CircuitBreakerService<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            breaker: Arc::clone(&self.breaker),
            classifier: self.classifier.clone(),
            readiness: self.readiness,
            // Readiness is for one call of the service that polled it: a clone polls its own.
            admission: None,
            waiter: None,
        }
    }
}

impl<S, C> CircuitBreakerService<S, C> {
    /// The breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }

    /// Asks the breaker for the next call: a permit, a rejection, or (back-pressure, every
    /// probe slot taken) `Pending` until a slot is given back or the state changes.
    fn admit(&mut self, cx: &mut Context<'_>) -> Poll<Admission> {
        let (breaker, readiness) = (&self.breaker, self.readiness);
        Waiter::poll_look(&mut self.waiter, breaker, cx, || {
            match breaker.acquire_owned() {
                Err(open) if readiness.waits_on(&open) => None,
                decided => Some(decided.into()),
            }
        })
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

    /// Ready once the breaker admits a call and the inner service is ready; ready at once,
    /// without polling the inner service, when the breaker rejects the call (the call then
    /// fails fast with [`BreakerError::Open`]). An error only from the inner service.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // A permit taken by an earlier poll is kept; a rejection is decided anew.
        if !matches!(self.admission, Some(Admission::Admitted(_))) {
            match std::task::ready!(self.admit(cx)) {
                rejected @ Admission::Rejected(_) => {
                    // Ready without asking the inner service, which may be waiting on the
                    // very remote that is down: the call fails fast.
                    self.admission = Some(rejected);
                    return Poll::Ready(Ok(()));
                }
                admitted => self.admission = Some(admitted),
            }
        }
        match self.inner.poll_ready(cx) {
            Poll::Ready(Err(error)) => {
                // Not a call: the permit goes back unreported.
                self.admission = None;
                Poll::Ready(Err(BreakerError::Inner(error)))
            }
            other => other.map_err(BreakerError::Inner),
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // `poll_ready` decided; a caller that skipped it is admitted or rejected now.
        let admission = match self.admission.take() {
            Some(decided) => decided,
            None => self.breaker.acquire_owned().into(),
        };
        match admission {
            Admission::Admitted(mut permit) => ResponseFuture {
                // Run through the permit, here and in each poll: a panic of the inner
                // service's `call` or future is a failed call.
                inner: Some(permit.run(|| self.inner.call(request))),
                permit: Some(permit),
                rejected: None,
                classifier: self.classifier.clone(),
            },
            Admission::Rejected(open) => ResponseFuture::rejected(open, self.classifier.clone()),
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
            let verdict = this.classifier.classify(&result);
            match this.classifier.status(&result) {
                Some(status) => permit.verdict_because(verdict, Because::Status(status)),
                None => permit.verdict(verdict),
            }
        }
        Poll::Ready(result.map_err(BreakerError::Inner))
    }
}
