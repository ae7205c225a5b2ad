//! Breakers' metrics through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`), to Prometheus or any other backend with a `metrics` recorder.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `breaker_state` | gauge: 0 Closed, 1 Open, 2 HalfOpen, 3 ForcedOpen, 4 Disabled, 5 MetricsOnly | `name` |
//! | `breaker_calls_admitted_total` | counter | `name` |
//! | `breaker_calls_rejected_total` | counter | `name` |
//! | `breaker_calls_succeeded_total` | counter | `name` |
//! | `breaker_calls_failed_total` | counter | `name` |
//! | `breaker_calls_abandoned_total` | counter | `name` |
//! | `breaker_calls_slow_total` | counter | `name` |
//! | `breaker_calls_ignored_total` | counter | `name` |
//!
//! The state gauge is set at every transition. The call counters are published as absolute
//! values by [`CircuitBreaker::export_metrics`] (or [`BreakerRegistry::export_metrics`] for
//! every breaker of a registry): call it from a scrape handler or a periodic task. A call
//! itself pays nothing for the export: it counts in the breaker's own per-thread counters,
//! as without the feature.
//!
//! ```
//! use breaker::{BreakerConfig, CircuitBreaker};
//!
//! let breaker = CircuitBreaker::new("rerank", BreakerConfig::default());
//! breaker.acquire().unwrap().success();
//! // With a recorder installed (`metrics_exporter_prometheus`, say), this publishes
//! // breaker_calls_succeeded_total{name="rerank"} 1 and the others.
//! breaker.export_metrics();
//! ```
//!
//! [`BreakerRegistry::export_metrics`]: crate::registry::BreakerRegistry::export_metrics

use crate::breaker::{CircuitBreaker, CircuitState};
use crate::events::{Metrics, StateChange};
use crate::registry::BreakerRegistry;

/// The gauge value of a state: its position in the breaker's table.
fn state_value(state: CircuitState) -> f64 {
    f64::from(state as u8)
}

/// Sets the state gauge of the breaker that changed state.
pub(crate) fn state_changed(change: &StateChange) {
    metrics::gauge!("breaker_state", "name" => change.name.to_string()).set(state_value(change.to));
}

/// Publishes `metrics` (one breaker's) to the installed recorder.
fn publish(metrics: &Metrics) {
    let name = metrics.name.to_string();
    metrics::gauge!("breaker_state", "name" => name.clone()).set(state_value(metrics.state));
    let counters = [
        ("breaker_calls_admitted_total", metrics.admitted),
        ("breaker_calls_rejected_total", metrics.rejected),
        ("breaker_calls_succeeded_total", metrics.succeeded),
        ("breaker_calls_failed_total", metrics.failed),
        ("breaker_calls_abandoned_total", metrics.abandoned),
        ("breaker_calls_slow_total", metrics.slow),
        ("breaker_calls_ignored_total", metrics.ignored),
    ];
    for (key, value) in counters {
        metrics::counter!(key, "name" => name.clone()).absolute(value);
    }
}

impl CircuitBreaker {
    /// Publishes this breaker's state and call counts through the `metrics` facade
    /// (feature `metrics`; see [`export`](crate::export) for the metric names).
    pub fn export_metrics(&self) {
        publish(&self.metrics());
    }
}

impl BreakerRegistry {
    /// Publishes the state and call counts of every breaker of the registry through the
    /// `metrics` facade (feature `metrics`).
    pub fn export_metrics(&self) {
        for metrics in self.metrics() {
            publish(&metrics);
        }
    }
}
