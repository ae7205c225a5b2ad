//! What a breaker tells the world: a [`StateChange`] for every transition (to `tracing`,
//! to the `metrics` gauge with feature `metrics`, and to the listeners registered with
//! [`CircuitBreaker::on_transition`](crate::CircuitBreaker::on_transition), whose docs say
//! how listeners are called), and [`Metrics`] on demand.

mod calls;
mod counters;
mod delivery;
#[cfg(feature = "metrics")]
mod gauge;
mod metrics;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::{Serialize, Serializer};

use crate::cause::Cause;
use crate::circuit::{CircuitEvent, CircuitState};
use crate::name::BreakerName;

pub use calls::{CallEvent, CallOutcome, RateLimit};
pub(crate) use counters::CallCounters;
pub use delivery::MAX_LISTENER_CHAIN;
pub(crate) use delivery::command_allowed;
#[cfg(feature = "metrics")]
pub(crate) use gauge::state_gauge_value;
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
#[non_exhaustive]
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
    /// Into Open or HalfOpen: what opened the circuit (the outcome of the call that tripped
    /// it; a HalfOpen generation keeps its opening's). `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// Into Open: how long it opens for (the backoff's duration, or longer if the remote
    /// announced a longer outage). `None` otherwise.
    #[serde(
        rename = "open_for_ms",
        serialize_with = "maybe_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_for: Option<Duration>,
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

fn maybe_millis<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => millis(duration, serializer),
        None => serializer.serialize_none(),
    }
}

type Listener = Arc<dyn Fn(&StateChange) + Send + Sync>;

/// A breaker's registered listeners: of transitions, and of calls. Registration copies
/// the lists (rare); emission reads them without a lock.
pub(crate) struct Listeners {
    lists: ArcSwap<Lists>,
}

#[derive(Clone, Default)]
struct Lists {
    transitions: Arc<Vec<Listener>>,
    calls: Vec<calls::CallListener>,
    rate_limits: Vec<calls::RateLimitListener>,
    /// Told the consecutive failures counted in Closed, whenever the count moves.
    failures: Vec<FailuresListener>,
}

pub(crate) type FailuresListener = Arc<dyn Fn(u32) + Send + Sync>;

impl Listeners {
    pub(crate) fn new() -> Self {
        Self {
            lists: ArcSwap::from_pointee(Lists::default()),
        }
    }

    pub(crate) fn add(&self, listener: Listener) {
        self.lists.rcu(|lists| {
            let mut transitions = Vec::clone(&lists.transitions);
            transitions.push(Arc::clone(&listener));
            Lists {
                transitions: Arc::new(transitions),
                ..Lists::clone(lists)
            }
        });
    }

    pub(crate) fn add_call(&self, listener: calls::CallListener) {
        self.lists.rcu(|lists| {
            let mut lists = Lists::clone(lists);
            lists.calls.push(Arc::clone(&listener));
            lists
        });
    }

    pub(crate) fn add_rate_limit(&self, listener: calls::RateLimitListener) {
        self.lists.rcu(|lists| {
            let mut lists = Lists::clone(lists);
            lists.rate_limits.push(Arc::clone(&listener));
            lists
        });
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn add_failures(&self, listener: FailuresListener) {
        self.lists.rcu(|lists| {
            let mut lists = Lists::clone(lists);
            lists.failures.push(Arc::clone(&listener));
            lists
        });
    }

    /// Tells the listeners of the failure count that it is `failures` now.
    pub(crate) fn tell_failures(&self, failures: u32) {
        let lists = self.lists.load();
        for listener in &lists.failures {
            listener(failures);
        }
    }

    /// Tells the call listeners `event`, built only if there are some.
    pub(crate) fn tell(&self, event: impl FnOnce() -> CallEvent) {
        let lists = self.lists.load();
        if !lists.calls.is_empty() {
            let event = event();
            calls::tell(&lists.calls, &event, &event.name);
        }
    }

    /// Tells the rate-limit listeners `limit`, built only if there are some.
    pub(crate) fn tell_rate_limit(&self, limit: impl FnOnce() -> RateLimit) {
        let lists = self.lists.load();
        if !lists.rate_limits.is_empty() {
            let limit = limit();
            calls::tell(&lists.rate_limits, &limit, &limit.name);
        }
    }

    pub(crate) fn len(&self) -> usize {
        let lists = self.lists.load();
        lists.transitions.len() + lists.calls.len() + lists.rate_limits.len() + lists.failures.len()
    }

    /// Emits `change`: the tracing event, then each listener in registration order (at once,
    /// or after the listener running on this thread, if one is: see the module's docs). A
    /// listener that panics is reported (a tracing ERROR event) and does not stop the others
    /// or the caller: the transition it was told about has already happened.
    pub(crate) fn emit(&self, change: &StateChange) {
        trace(change);
        #[cfg(feature = "metrics")]
        gauge::state_changed(change);
        let list = Arc::clone(&self.lists.load().transitions);
        if !list.is_empty() {
            delivery::deliver(list, change);
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
            cause = change.cause.as_ref().map(tracing::field::display),
            open_for_ms = change.open_for.map(|d| d.as_millis() as u64),
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
