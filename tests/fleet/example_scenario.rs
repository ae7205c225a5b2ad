//! The fleet example's scenario (`examples/fleet`), smaller and faster: a few instances
//! against a provider over real HTTP that goes down for a second. With the store, every
//! half-open generation sends one probe for the whole fleet; with local breakers, every
//! instance sends its own.
//!
//! The times are real ones: the store's scripts read the Redis server's clock, which no
//! manual clock drives.

#[allow(dead_code)]
#[path = "../../examples/fleet/remote.rs"]
mod remote;
#[allow(dead_code)]
#[path = "../../examples/fleet/scenario.rs"]
mod scenario;

use std::time::Duration;

use breaker::BreakerConfig;
use breaker::fleet::FleetOptions;
use remote::{Log, Request};
use scenario::{Outcome, Round, Scenario, Sharing};

use crate::redis_server::RedisServer;

fn small() -> Scenario {
    Scenario {
        instances: 6,
        config: BreakerConfig::default()
            .with_threshold(5)
            .with_cooldown(Duration::from_millis(300))
            .with_half_open_max(1)
            .with_half_open_timeout(Duration::from_millis(300)),
        call_every: Duration::from_millis(10),
        up_before: Duration::from_millis(200),
        down_for: Duration::from_millis(1_000),
        close_within: Duration::from_secs(2),
        run_after_closing: Duration::from_millis(50),
        client_timeout: Duration::from_millis(250),
    }
}

/// The generations whose probes found the provider down.
fn failed(rounds: &[Round]) -> usize {
    rounds.iter().filter(|round| !round.recovered).count()
}

fn assert_every_instance_closed(outcome: &Outcome) {
    assert!(
        outcome.every_instance_closed_after_recovery().is_some(),
        "closed after the recovery: {:?}",
        outcome.closed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_each_half_open_generation_sends_one_probe_for_the_fleet() {
    let server = RedisServer::start();
    let scenario = small();
    let sharing = Sharing::Store {
        url: server.url(),
        options: FleetOptions::default(),
    };
    let outcome = scenario::run(&scenario, &sharing).await.unwrap();
    let rounds = outcome.rounds();

    assert!(failed(&rounds) >= 2, "{rounds:?}");
    assert!(
        rounds.last().is_some_and(|round| round.recovered),
        "{rounds:?}"
    );
    for round in &rounds {
        assert_eq!(round.probers.len(), 1, "{rounds:?}");
        assert_eq!(round.calls_while_down, u64::from(!round.recovered));
    }
    // Every instance was open, asking for the lease, when the first generation's probe
    // went: the one probe was one among all the instances', not the only one asking.
    let first_probe = outcome.down_at + rounds[0].at;
    let every_open = outcome.every_instance_open().unwrap();
    assert!(every_open < first_probe, "{:?}", outcome.opened);
    // Each probe went under a lease the store granted.
    let probes: u64 = rounds.iter().map(|round| round.probers.len() as u64).sum();
    assert_eq!(outcome.store.unwrap().leases_won, probes);
    // The fleet's failure count: the threshold, and at most one call in flight per instance.
    let threshold = u64::from(scenario.config.threshold);
    let failures = outcome.failures_before_every_instance_rejected();
    assert!(failures >= threshold, "{failures}");
    assert!(
        failures <= threshold + scenario.instances as u64,
        "{failures}"
    );
    assert_every_instance_closed(&outcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_local_breakers_every_instance_probes_and_pays_the_threshold() {
    let scenario = small();
    let outcome = scenario::run(&scenario, &Sharing::Local).await.unwrap();
    let rounds = outcome.rounds();

    assert!(failed(&rounds) >= 2, "{rounds:?}");
    for round in &rounds {
        assert!(round.probers.len() > 1, "{rounds:?}");
    }
    let mut first = rounds[0].probers.clone();
    first.sort_unstable();
    assert_eq!(first, (0..scenario.instances as u32).collect::<Vec<_>>());
    // One call at a time per instance: each pays exactly the threshold.
    assert_eq!(
        outcome.failures_before_every_instance_rejected(),
        u64::from(scenario.config.threshold) * scenario.instances as u64
    );
    assert!(outcome.store.is_none());
    assert_every_instance_closed(&outcome);
}

#[test]
fn the_providers_log_keeps_at_most_its_capacity_and_counts_the_rest() {
    let mut log = Log::new(3);
    let request = Request {
        at: std::time::Instant::now(),
        instance: 0,
        probe: false,
        ok: true,
    };
    for _ in 0..5 {
        log.push(request);
    }
    assert_eq!(log.kept().len(), 3);
    assert_eq!(log.received(), 5);
    assert!(log.truncated());
}
