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
//! | `breaker_calls_rate_limited_total` | counter: calls the remote rate-limited | `name` |
//! | `breaker_calls_rejected_rate_limited_total` | counter: of the rejected, by the rate-limit gate | `name` |
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
//! [`BreakerRegistry::export_metrics`]: crate::BreakerRegistry::export_metrics

use crate::breaker::CircuitBreaker;
use crate::events::{Metrics, state_gauge_value};

/// Publishes `metrics` (one breaker's) to the installed recorder.
pub(crate) fn publish(metrics: &Metrics) {
    let name = metrics.name.to_string();
    metrics::gauge!("breaker_state", "name" => name.clone()).set(state_gauge_value(metrics.state));
    let counters = [
        ("breaker_calls_admitted_total", metrics.admitted),
        ("breaker_calls_rejected_total", metrics.rejected),
        ("breaker_calls_succeeded_total", metrics.succeeded),
        ("breaker_calls_failed_total", metrics.failed),
        ("breaker_calls_abandoned_total", metrics.abandoned),
        ("breaker_calls_slow_total", metrics.slow),
        ("breaker_calls_ignored_total", metrics.ignored),
        ("breaker_calls_rate_limited_total", metrics.rate_limited),
        (
            "breaker_calls_rejected_rate_limited_total",
            metrics.rejected_rate_limited,
        ),
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
