//! A fleet of instances sharing one breaker: it opens together, probes once per half-open
//! generation for the whole fleet, and closes together.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use breaker::fleet::FleetOptions;
use breaker::{BreakerConfig, CircuitState};

use crate::{Instance, all_in, fleet_on_a_new_server, until};

/// The remote: down or up, counting the calls it receives.
#[derive(Default)]
struct Remote {
    down: AtomicBool,
    calls: AtomicU64,
    /// Calls admitted as probes, and of those, the ones that reached it while another
    /// probe was out.
    probes: AtomicU64,
    probing: AtomicU64,
    overlapping: AtomicU64,
}

/// Every instance calls every 5 ms until `stop`; a call takes 2 ms.
fn traffic(
    fleet: &[Instance],
    remote: &Arc<Remote>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    fleet
        .iter()
        .map(|instance| {
            let (breaker, remote, stop) = (
                Arc::clone(&instance.breaker),
                Arc::clone(remote),
                Arc::clone(stop),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(permit) = breaker.acquire_owned() {
                        remote.calls.fetch_add(1, Ordering::SeqCst);
                        let probe = permit.is_probe();
                        if probe {
                            remote.probes.fetch_add(1, Ordering::SeqCst);
                            if remote.probing.fetch_add(1, Ordering::SeqCst) > 0 {
                                remote.overlapping.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        if probe {
                            remote.probing.fetch_sub(1, Ordering::SeqCst);
                        }
                        permit.report(!remote.down.load(Ordering::SeqCst));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_opens_together_probes_once_per_generation_and_closes_together() {
    const N: usize = 8;
    const THRESHOLD: u32 = 3;
    let config = BreakerConfig::default()
        .with_threshold(THRESHOLD)
        .with_cooldown(Duration::from_millis(300));
    let options = FleetOptions::default().with_hold(Duration::from_millis(300));
    let (server, fleet) = fleet_on_a_new_server(N, "gpt-4o", &config, &options).await;
    let remote = Arc::new(Remote::default());
    remote.down.store(true, Ordering::SeqCst);
    let stop = Arc::new(AtomicBool::new(false));
    let callers = traffic(&fleet, &remote, &stop);

    until("every instance open", Duration::from_secs(5), || {
        all_in(&fleet, CircuitState::Open)
    })
    .await;
    let failures = remote.calls.load(Ordering::SeqCst);
    let opened: Vec<Instant> = fleet
        .iter()
        .map(|i| i.opened.lock().unwrap().unwrap())
        .collect();
    let spread = *opened.iter().max().unwrap() - *opened.iter().min().unwrap();
    // The fleet counts failures together: the threshold, plus at most one call in flight
    // per instance while the opening spreads (each instance calls every few ms).
    assert!(
        failures <= u64::from(THRESHOLD) + N as u64,
        "{failures} failures reached the dead remote before every instance rejected"
    );
    assert!(
        spread < Duration::from_millis(200),
        "open spread over {spread:?}"
    );

    // Half-open generations while the remote is still down: each one sends exactly one
    // probe for the whole fleet, by the lease's winner.
    until("three failed probes", Duration::from_secs(10), || {
        remote.probes.load(Ordering::SeqCst) >= 3
    })
    .await;
    remote.down.store(false, Ordering::SeqCst);
    until("every instance closed", Duration::from_secs(10), || {
        all_in(&fleet, CircuitState::Closed)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for caller in callers {
        caller.await.unwrap();
    }
    let probes = remote.probes.load(Ordering::SeqCst);
    let leases: u64 = fleet.iter().map(|i| i.fleet.stats().leases_won).sum();
    assert_eq!(probes, leases, "one probe per lease, {probes} probes");
    // The fleet's generations: the trip, then one per probe's result (each reopening, and
    // the closing). One probe per half-open generation, fleet-wide.
    let generation = crate::hash_field(&server, "breaker:{gpt-4o}:state", "g");
    assert_eq!(
        probes,
        generation - 1,
        "{probes} probes in {} half-open generations",
        generation - 1
    );
    assert_eq!(
        remote.overlapping.load(Ordering::SeqCst),
        0,
        "two probes were out at once"
    );
    // At least the three failed probes (the probe out when the remote came back may have
    // been the one that closed the circuit).
    assert!(probes >= 3, "{probes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_channel_polls_carry_an_opening_within_a_poll_interval() {
    let config = BreakerConfig::default().with_threshold(1);
    let options = FleetOptions::default()
        .with_pubsub(false)
        .with_poll_interval(Duration::from_millis(300));
    let (_server, fleet) = fleet_on_a_new_server(3, "gpt-4o", &config, &options).await;
    // Called since the last poll: the breakers are active, so polled.
    for instance in &fleet[1..] {
        instance.breaker.acquire().unwrap().success();
    }
    fleet[0].breaker.acquire().unwrap().failure();
    let tripped = Instant::now();
    until("every instance open", Duration::from_secs(3), || {
        all_in(&fleet, CircuitState::Open)
    })
    .await;
    let took = tripped.elapsed();
    assert!(took < Duration::from_millis(300 + 200), "{took:?}");
    assert!(
        fleet.iter().all(|i| i.fleet.stats().received == 0),
        "nothing came by the channel"
    );
}
