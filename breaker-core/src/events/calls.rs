//! [`CallEvent`]: what happened to one call, for the listeners registered with
//! [`CircuitBreaker::on_call`](crate::CircuitBreaker::on_call).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use crate::error::CircuitOpen;
use crate::name::BreakerName;

/// What happened to one call through a breaker.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use breaker::{BreakerConfig, CallOutcome, CircuitBreaker};
///
/// let breaker = CircuitBreaker::new("gpt-4o", BreakerConfig::default().with_threshold(1));
/// let seen: Arc<Mutex<Vec<String>>> = Arc::default();
/// let sink = Arc::clone(&seen);
/// breaker.on_call(move |event| sink.lock().unwrap().push(format!("{:?}", event.outcome)));
///
/// breaker.acquire().unwrap().success();
/// breaker.acquire().unwrap().failure();
/// let _ = breaker.acquire(); // open: rejected
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen[..2], ["Succeeded", "Failed"]);
/// assert!(seen[2].starts_with("Rejected"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallEvent {
    /// The breaker's name.
    pub name: BreakerName,
    /// What happened.
    pub outcome: CallOutcome,
}

impl CallEvent {
    pub(crate) fn new(name: BreakerName, outcome: CallOutcome) -> Self {
        Self { name, outcome }
    }
}

/// What happened to one call: how it was reported, or that it was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// Reported a success.
    Succeeded,
    /// Reported a failure.
    Failed,
    /// Reported an error the classifier ignores.
    Ignored,
    /// The remote rate-limited it; the gate holds calls back for this long.
    RateLimited {
        /// How long, from the report.
        retry_after: Duration,
    },
    /// Dropped without a report (a cancelled future, a panic outside the guarded code).
    Abandoned,
    /// Slower than the policy's slow-call duration (told besides its report).
    Slow,
    /// Rejected without running.
    Rejected(CircuitOpen),
}

/// A remote's rate limit that moved a breaker's rate-limit gate later, for the listeners
/// registered with [`CircuitBreaker::on_rate_limit`](crate::CircuitBreaker::on_rate_limit).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// The breaker's name.
    pub name: BreakerName,
    /// How long the gate now holds calls back, from the report.
    pub retry_after: Duration,
}

/// A listener of events `E`.
pub(crate) type ListenerOf<E> = Arc<dyn Fn(&E) + Send + Sync>;
pub(crate) type CallListener = ListenerOf<CallEvent>;
pub(crate) type RateLimitListener = ListenerOf<RateLimit>;

/// Tells each listener `event` in registration order. A listener that panics is reported (a
/// tracing ERROR event) and does not stop the others or the call.
pub(super) fn tell<E: ?Sized>(listeners: &[ListenerOf<E>], event: &E, name: &BreakerName) {
    for listener in listeners {
        if catch_unwind(AssertUnwindSafe(|| listener(event))).is_err() {
            tracing::error!(
                target: "breaker",
                name = %name,
                "a circuit breaker call listener panicked"
            );
        }
    }
}
