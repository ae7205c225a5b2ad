//! What a breaker tells the world: a [`StateChange`] for every transition, and
//! [`Metrics`] on demand.
//!
//! Every transition is emitted exactly once, by the caller whose compare-and-swap installed
//! it:
//! - as a `tracing` event with target `breaker`, message "circuit breaker state changed",
//!   level WARN when the circuit opens (INFO otherwise) and the fields `name`, `from`, `to`,
//!   `event` and `generation`;
//! - to every listener registered with
//!   [`CircuitBreaker::on_transition`](crate::CircuitBreaker::on_transition), called on the
//!   thread that made the transition, after it was installed.
//!
//! Two transitions made at nearly the same moment on two threads may reach a listener in
//! either order; their [`generation`](StateChange::generation)s tell the true order.

mod counters;
mod metrics;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::{Serialize, Serializer};

use crate::breaker::{BreakerName, CircuitEvent, CircuitState};

pub(crate) use counters::CallCounters;
pub(crate) use metrics::unix_millis_ago;
pub use metrics::{Metrics, WindowCounts};

/// One transition of a breaker's state machine.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use breaker::{BreakerConfig, CircuitBreaker, CircuitState, StateChange};
///
/// let breaker = CircuitBreaker::new("gpt-4o", BreakerConfig::default().with_threshold(1));
/// let seen: Arc<Mutex<Vec<StateChange>>> = Arc::default();
/// let sink = Arc::clone(&seen);
/// breaker.on_transition(move |change| sink.lock().unwrap().push(change.clone()));
///
/// breaker.acquire().unwrap().failure();
///
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen.len(), 1);
/// assert_eq!((seen[0].from, seen[0].to), (CircuitState::Closed, CircuitState::Open));
/// assert_eq!(seen[0].generation, 1);
/// assert_eq!(seen[0].name, "gpt-4o");
/// ```
///
/// It serializes (for a listener that ships transitions as JSON) with the states and the
/// event by name and `at` in milliseconds, as `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateChange {
    /// The breaker's name.
    pub name: BreakerName,
    /// The state it left.
    #[serde(serialize_with = "display")]
    pub from: CircuitState,
    /// The state it entered.
    #[serde(serialize_with = "display")]
    pub to: CircuitState,
    /// The event of the [`Circuit`](crate::Circuit) table that moved it.
    #[serde(serialize_with = "display")]
    pub event: CircuitEvent,
    /// The generation it entered (the generation it left plus one).
    pub generation: u64,
    /// When, by the breaker's clock (see [`Clock`](crate::Clock)).
    #[serde(rename = "at_ms", serialize_with = "millis")]
    pub at: Duration,
}

fn display<T: std::fmt::Display, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

type Listener = Arc<dyn Fn(&StateChange) + Send + Sync>;

/// A breaker's registered listeners. Registration copies the list (rare); emission reads it
/// without a lock.
pub(crate) struct Listeners {
    list: ArcSwap<Vec<Listener>>,
}

impl Listeners {
    pub(crate) fn new() -> Self {
        Self {
            list: ArcSwap::from_pointee(Vec::new()),
        }
    }

    pub(crate) fn add(&self, listener: Listener) {
        self.list.rcu(|list| {
            let mut list = Vec::clone(list);
            list.push(Arc::clone(&listener));
            list
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.list.load().len()
    }

    /// Emits `change`: the tracing event, then each listener in registration order. A
    /// listener that panics is reported (a tracing ERROR event) and does not stop the others
    /// or the caller: the transition it was told about has already happened.
    pub(crate) fn emit(&self, change: &StateChange) {
        trace(change);
        #[cfg(feature = "metrics")]
        crate::export::state_changed(change);
        let list = self.list.load();
        for listener in list.iter() {
            if catch_unwind(AssertUnwindSafe(|| listener(change))).is_err() {
                tracing::error!(
                    target: "breaker",
                    name = %change.name,
                    generation = change.generation,
                    "a circuit breaker transition listener panicked"
                );
            }
        }
    }
}

fn trace(change: &StateChange) {
    let opened = matches!(change.to, CircuitState::Open | CircuitState::ForcedOpen);
    if opened {
        tracing::warn!(
            target: "breaker",
            name = %change.name,
            from = %change.from,
            to = %change.to,
            event = %change.event,
            generation = change.generation,
            "circuit breaker state changed"
        );
    } else {
        tracing::info!(
            target: "breaker",
            name = %change.name,
            from = %change.from,
            to = %change.to,
            event = %change.event,
            generation = change.generation,
            "circuit breaker state changed"
        );
    }
}
