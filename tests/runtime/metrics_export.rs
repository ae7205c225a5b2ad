//! The `metrics` feature: a breaker's state gauge follows its transitions, and
//! `export_metrics` publishes its call counts, checked with a recording backend.
#![cfg(feature = "metrics")]

use std::time::Duration;

use breaker::BreakerRegistry;
use breaker::{
    BreakerConfig, CircuitBreaker, FailureRate, ManualClock, SlowCalls, TripPolicy, Window,
};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// The recorder's values at one moment (a snapshot drains the counters, so take one and
/// read every value from it).
struct Values(Vec<(MetricKind, String, String, DebugValue)>);

impl Values {
    fn take(snapshotter: &Snapshotter) -> Self {
        let values = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let name = key
                    .key()
                    .labels()
                    .find(|label| label.key() == "name")
                    .map(|label| label.value().to_string())
                    .unwrap_or_default();
                (key.kind(), key.key().name().to_string(), name, value)
            })
            .collect();
        Values(values)
    }

    fn find(&self, kind: MetricKind, metric: &str, name: &str) -> Option<&DebugValue> {
        self.0
            .iter()
            .find(|(k, m, n, _)| *k == kind && m == metric && n == name)
            .map(|(_, _, _, value)| value)
    }

    fn gauge(&self, name: &str) -> f64 {
        match self.find(MetricKind::Gauge, "breaker_state", name) {
            Some(DebugValue::Gauge(value)) => value.into_inner(),
            other => panic!("no state gauge for {name}: {other:?}"),
        }
    }

    fn counter(&self, metric: &str, name: &str) -> u64 {
        match self.find(MetricKind::Counter, metric, name) {
            Some(DebugValue::Counter(value)) => *value,
            other => panic!("no {metric} for {name}: {other:?}"),
        }
    }
}

#[test]
fn the_state_gauge_follows_transitions_and_export_publishes_the_counts() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let clock = ManualClock::new();
        let config = BreakerConfig::default()
            .with_threshold(2)
            .with_cooldown(Duration::from_secs(5));
        let breaker = CircuitBreaker::with_clock("llm", config, clock.clone());

        breaker.acquire().unwrap().success();
        breaker.acquire().unwrap().failure();
        breaker.acquire().unwrap().failure();
        assert_eq!(Values::take(&snapshotter).gauge("llm"), 1.0, "Open");
        assert!(breaker.acquire().is_err());
        assert!(breaker.acquire().is_err());

        clock.advance(Duration::from_secs(5));
        let probe = breaker.acquire().unwrap();
        assert_eq!(Values::take(&snapshotter).gauge("llm"), 2.0, "HalfOpen");
        drop(breaker.acquire().unwrap_err());
        probe.success();
        assert_eq!(Values::take(&snapshotter).gauge("llm"), 0.0, "Closed");

        breaker.export_metrics();
        let values = Values::take(&snapshotter);
        assert_eq!(values.counter("breaker_calls_admitted_total", "llm"), 4);
        assert_eq!(values.counter("breaker_calls_rejected_total", "llm"), 3);
        assert_eq!(values.counter("breaker_calls_succeeded_total", "llm"), 2);
        assert_eq!(values.counter("breaker_calls_failed_total", "llm"), 2);
        assert_eq!(values.counter("breaker_calls_abandoned_total", "llm"), 0);

        // Published again: absolute values, not added twice.
        breaker.acquire().unwrap().success();
        breaker.export_metrics();
        let values = Values::take(&snapshotter);
        assert_eq!(values.counter("breaker_calls_succeeded_total", "llm"), 3);
        assert_eq!(values.counter("breaker_calls_admitted_total", "llm"), 5);
    });
}

#[test]
fn slow_calls_and_ignored_errors_are_exported() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let clock = ManualClock::new();
        let policy = FailureRate::new(Window::Count { size: 10 }, 50)
            .with_slow_calls(SlowCalls::new(Duration::from_secs(1)));
        let config = BreakerConfig::default().with_policy(TripPolicy::FailureRate(policy));
        let breaker = CircuitBreaker::with_clock("rerank", config, clock.clone());
        for took in [0, 2, 3] {
            let permit = breaker.acquire().unwrap();
            clock.advance(Duration::from_secs(took));
            permit.success();
        }
        breaker.acquire().unwrap().ignore();
        breaker.metrics_only();
        breaker.export_metrics();
        let values = Values::take(&snapshotter);
        assert_eq!(values.counter("breaker_calls_slow_total", "rerank"), 2);
        assert_eq!(values.counter("breaker_calls_ignored_total", "rerank"), 1);
        assert_eq!(values.counter("breaker_calls_succeeded_total", "rerank"), 3);
        assert_eq!(values.gauge("rerank"), 5.0, "MetricsOnly");
    });
}

#[test]
fn rate_limits_are_exported_on_their_own() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let breaker =
            CircuitBreaker::with_clock("gpt-4o", BreakerConfig::default(), ManualClock::new());
        breaker
            .acquire()
            .unwrap()
            .rate_limited(Some(Duration::from_secs(5)));
        assert!(breaker.acquire().unwrap_err().is_rate_limited());
        breaker.export_metrics();
        let values = Values::take(&snapshotter);
        assert_eq!(
            values.counter("breaker_calls_rate_limited_total", "gpt-4o"),
            1
        );
        assert_eq!(
            values.counter("breaker_calls_rejected_rate_limited_total", "gpt-4o"),
            1
        );
        assert_eq!(values.counter("breaker_calls_rejected_total", "gpt-4o"), 1);
        assert_eq!(values.counter("breaker_calls_failed_total", "gpt-4o"), 0);
    });
}

#[test]
fn a_registry_exports_every_breaker_by_name() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let registry = BreakerRegistry::new();
        let gpt = registry.get_or_create("gpt-4o", BreakerConfig::default(), None);
        let claude = registry.get_or_create("claude-sonnet", BreakerConfig::default(), None);
        gpt.acquire().unwrap().success();
        claude.acquire().unwrap().failure();
        claude.acquire().unwrap().failure();
        registry.export_metrics();
        let values = Values::take(&snapshotter);
        assert_eq!(values.counter("breaker_calls_succeeded_total", "gpt-4o"), 1);
        assert_eq!(
            values.counter("breaker_calls_failed_total", "claude-sonnet"),
            2
        );
        assert_eq!(values.gauge("gpt-4o"), 0.0);
    });
}
