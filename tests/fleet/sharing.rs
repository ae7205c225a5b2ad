//! A fleet of instances sharing one breaker.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breaker::fleet::{FleetOptions, FleetStore};
use breaker::{BreakerConfig, CircuitBreaker, CircuitState};

use crate::tmp_redis::RedisServer;

/// One instance: its own connection to the store, its own breaker.
struct Instance {
    fleet: FleetStore,
    breaker: Arc<CircuitBreaker>,
    /// When its breaker last went Open.
    opened: Arc<Mutex<Option<Instant>>>,
}

fn instances(url: &str, n: usize, config: &BreakerConfig, options: &FleetOptions) -> Vec<Instance> {
    (0..n)
        .map(|i| {
            let fleet =
                FleetStore::connect(url, options.clone().with_instance(format!("i{i}"))).unwrap();
            let breaker = Arc::new(CircuitBreaker::new("gpt-4o", config.clone()));
            let opened = Arc::new(Mutex::new(None));
            let sink = Arc::clone(&opened);
            breaker.on_transition(move |change| {
                if change.to == CircuitState::Open && change.from != CircuitState::Open {
                    sink.lock().unwrap().get_or_insert(Instant::now());
                }
            });
            fleet.attach(&breaker);
            Instance {
                fleet,
                breaker,
                opened,
            }
        })
        .collect()
}

/// The remote: down or up, counting the calls it receives.
#[derive(Default)]
struct Remote {
    down: AtomicBool,
    calls: AtomicU64,
    probes: AtomicU64,
}

/// Waits until `done` holds, or panics after `limit` naming `what`.
async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "waited {limit:?} for: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_opens_together_probes_once_and_closes_together() {
    let server = RedisServer::start();
    let config = BreakerConfig::default()
        .with_threshold(3)
        .with_cooldown(Duration::from_millis(400));
    let options = FleetOptions::default().with_hold(Duration::from_millis(300));
    let fleet = instances(&server.url(), 8, &config, &options);
    let remote = Arc::new(Remote::default());
    remote.down.store(true, Ordering::SeqCst);
    // Let every instance read the store once (its first poll).
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Traffic: every instance calls every 5 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = Vec::new();
    for instance in &fleet {
        let (breaker, remote, stop) = (
            Arc::clone(&instance.breaker),
            Arc::clone(&remote),
            Arc::clone(&stop),
        );
        callers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(permit) = breaker.acquire() {
                    remote.calls.fetch_add(1, Ordering::SeqCst);
                    if permit.is_probe() {
                        remote.probes.fetch_add(1, Ordering::SeqCst);
                    }
                    permit.report(!remote.down.load(Ordering::SeqCst));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }

    until("every instance open", Duration::from_secs(5), || {
        fleet
            .iter()
            .all(|i| i.breaker.state() == CircuitState::Open)
    })
    .await;
    let failures_to_open = remote.calls.load(Ordering::SeqCst);
    let opened: Vec<Instant> = fleet
        .iter()
        .map(|i| i.opened.lock().unwrap().unwrap())
        .collect();
    let first = *opened.iter().min().unwrap();
    let last = *opened.iter().max().unwrap();
    eprintln!(
        "failures before every instance rejected: {failures_to_open}; spread {:?}",
        last - first
    );
    assert!(failures_to_open <= 3 + 8, "{failures_to_open}");

    // Three half-open generations while the remote is down: one probe each, fleet-wide.
    let probes_before = remote.probes.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let probes = remote.probes.load(Ordering::SeqCst) - probes_before;
    let leases: u64 = fleet.iter().map(|i| i.fleet.stats().leases_won).sum();
    eprintln!("probes {probes}, leases {leases}");

    remote.down.store(false, Ordering::SeqCst);
    until("every instance closed", Duration::from_secs(10), || {
        fleet
            .iter()
            .all(|i| i.breaker.state() == CircuitState::Closed)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for caller in callers {
        caller.await.unwrap();
    }
    assert!(probes >= 1);
    assert_eq!(
        remote.probes.load(Ordering::SeqCst),
        fleet
            .iter()
            .map(|i| i.fleet.stats().leases_won)
            .sum::<u64>()
    );
}
