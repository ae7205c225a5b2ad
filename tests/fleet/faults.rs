//! Faults: the store killed and restarted, a probe holder that dies, two instances tripping
//! at the same moment.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use breaker::fleet::FleetOptions;
use breaker::{BreakerConfig, CircuitEvent, CircuitState};

use crate::redis_server::RedisServer;
use crate::{Instance, all_in, fleet_on_a_new_server, instances, settled, until};

const WAIT: Duration = Duration::from_secs(10);

/// Options for fault tests: the store is found down after two commands of 100 ms.
pub fn options() -> FleetOptions {
    FleetOptions::default()
        .with_store_timeout(Duration::from_millis(100))
        .with_poll_interval(Duration::from_millis(200))
        .with_hold(Duration::from_millis(200))
}

/// Calls through every instance every 2 ms until `stop`, each one timed: the slowest
/// admission, and the calls refused.
struct Traffic {
    stop: Arc<AtomicBool>,
    refused: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
    slowest_ns: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Traffic {
    /// `fails`: which instances' remote fails.
    fn start(fleet: &[Instance], fails: impl Fn(usize) -> bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicU64::new(0));
        let calls = Arc::new(AtomicU64::new(0));
        let slowest_ns = Arc::new(AtomicU64::new(0));
        let threads = fleet
            .iter()
            .enumerate()
            .map(|(i, instance)| {
                let breaker = Arc::clone(&instance.breaker);
                let failing = fails(i);
                let (stop, refused, calls, slowest) = (
                    Arc::clone(&stop),
                    Arc::clone(&refused),
                    Arc::clone(&calls),
                    Arc::clone(&slowest_ns),
                );
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let start = Instant::now();
                        let permit = breaker.acquire();
                        let took = start.elapsed().as_nanos() as u64;
                        slowest.fetch_max(took, Ordering::SeqCst);
                        calls.fetch_add(1, Ordering::SeqCst);
                        match permit {
                            Ok(permit) => permit.report(!failing),
                            Err(_) => {
                                refused.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        Self {
            stop,
            refused,
            calls,
            slowest_ns,
            threads,
        }
    }

    fn stop(self) -> (u64, u64, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            thread.join().unwrap();
        }
        (
            self.calls.load(Ordering::SeqCst),
            self.refused.load(Ordering::SeqCst),
            Duration::from_nanos(self.slowest_ns.load(Ordering::SeqCst)),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_killed_and_restarted_fails_no_call_and_reconciles() {
    let config = BreakerConfig::default()
        .with_threshold(3)
        .with_cooldown(Duration::from_secs(60));
    let (mut server, fleet) = fleet_on_a_new_server(3, "gpt-4o", &config, &options()).await;

    // A healthy remote behind instances 1 and 2, for the whole run.
    let traffic = Traffic::start(&fleet[1..], |_| false);
    server.stop();
    until("every instance found the store down", WAIT, || {
        fleet.iter().all(|i| !i.fleet.stats().store_up)
    })
    .await;
    // While the store is away, instance 0 meets a dead remote: it opens, locally.
    for _ in 0..3 {
        fleet[0].breaker.acquire().unwrap().failure();
    }
    assert_eq!(fleet[0].breaker.state(), CircuitState::Open);
    assert_eq!(fleet[1].breaker.state(), CircuitState::Closed);
    let (calls, refused, slowest) = traffic.stop();
    assert!(calls > 50, "{calls}");
    assert_eq!(refused, 0, "calls refused while the store was down");
    assert!(
        slowest < Duration::from_millis(5),
        "an admission took {slowest:?}"
    );

    // Back: instance 0 tells its opening, the later deadline wins, and every instance
    // adopts it.
    server.restart();
    until("the opening shared after the store came back", WAIT, || {
        all_in(&fleet, CircuitState::Open)
    })
    .await;
    let left = fleet[2]
        .breaker
        .acquire()
        .unwrap_err()
        .retry_after()
        .unwrap();
    assert!(left > Duration::from_secs(50), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_holder_that_dies_leaves_the_probe_to_another_instance() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(Duration::from_millis(200))
        .with_half_open_timeout(Duration::from_millis(300));
    let (_server, mut fleet) = fleet_on_a_new_server(3, "gpt-4o", &config, &options()).await;
    fleet[0].breaker.acquire().unwrap().failure();
    until("every instance open", WAIT, || {
        all_in(&fleet, CircuitState::Open)
    })
    .await;

    // Nobody calls: at the end of the opening one instance wins the lease, then dies
    // before probing.
    until("a lease won", WAIT, || {
        fleet.iter().any(|i| i.fleet.stats().leases_won == 1)
    })
    .await;
    let holder = fleet
        .iter()
        .position(|i| i.fleet.stats().leases_won == 1)
        .unwrap();
    let dead = fleet.remove(holder);
    drop(dead);

    // The lease expires; another instance wins it, and its call is the probe that closes
    // the circuit for the fleet.
    until("another lease won", WAIT, || {
        fleet.iter().any(|i| i.fleet.stats().leases_won == 1)
    })
    .await;
    let prober = fleet
        .iter()
        .find(|i| i.fleet.stats().leases_won == 1)
        .unwrap();
    let probe = prober.breaker.acquire().unwrap();
    assert!(probe.is_probe());
    probe.success();
    until("the survivors closed", WAIT, || {
        all_in(&fleet, CircuitState::Closed)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_tripping_at_once_make_one_generation_and_one_deadline() {
    let server = RedisServer::start();
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(Duration::from_secs(30));
    // Trials where both instances tripped on their own before either heard of the other
    // (the racers met): the rest were decided by one trip, the other instance adopting it.
    // Trials go on until the racers met 10 times (most trials on an idle machine, fewer on
    // a loaded one), every trial checked.
    let mut met = 0;
    let mut trials = 0;
    for trial in 0..200 {
        if met == 10 {
            break;
        }
        trials += 1;
        let name = format!("race-{trial}");
        let fleet = instances(&server.url(), 2, &name, &config, &FleetOptions::default());
        settled(&fleet).await;
        let trips = Arc::new(AtomicU64::new(0));
        for instance in &fleet {
            let trips = Arc::clone(&trips);
            instance.breaker.on_transition(move |change| {
                if change.event == CircuitEvent::Trip {
                    trips.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = fleet
            .iter()
            .map(|instance| {
                let (breaker, barrier) = (Arc::clone(&instance.breaker), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let permit = breaker.acquire().unwrap();
                    barrier.wait();
                    permit.failure();
                })
            })
            .collect();
        for racer in racers {
            racer.join().unwrap();
        }
        if trips.load(Ordering::SeqCst) == 2 {
            met += 1;
        }
        until("both adopted the fleet's opening", WAIT, || {
            fleet.iter().all(|i| i.fleet.stats().adopted >= 2)
        })
        .await;
        let generation = crate::hash_field(&server, &format!("breaker:{{{name}}}:state"), "g");
        assert_eq!(generation, 1, "trial {trial}: one opening, one generation");
        let left: Vec<Duration> = fleet
            .iter()
            .map(|i| i.breaker.acquire().unwrap_err().retry_after().unwrap())
            .collect();
        let apart = left[0].abs_diff(left[1]);
        assert!(
            apart < Duration::from_millis(100),
            "trial {trial}: deadlines {left:?}"
        );
    }
    assert_eq!(met, 10, "the racers met in {met} trials of {trials}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_closed_keeps_the_breakers_open_while_the_store_is_away() {
    let (mut server, fleet) = fleet_on_a_new_server(
        2,
        "gpt-4o",
        &BreakerConfig::default(),
        &options().with_fail_closed(true),
    )
    .await;
    server.stop();
    until("every breaker held open", WAIT, || {
        all_in(&fleet, CircuitState::ForcedOpen)
    })
    .await;
    server.restart();
    until("every breaker back to the fleet's state", WAIT, || {
        all_in(&fleet, CircuitState::Closed)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_unused_until_its_end_is_asked_for_again() {
    let config = BreakerConfig::default()
        .with_threshold(1)
        .with_cooldown(Duration::from_millis(100))
        .with_half_open_timeout(Duration::from_millis(200));
    let (server, fleet) = fleet_on_a_new_server(1, "gpt-4o", &config, &options()).await;
    fleet[0].breaker.acquire().unwrap().failure();
    // No call comes: the lease ends unused, and is taken again, with a probe allowed anew.
    until("the lease taken twice", WAIT, || {
        fleet[0].fleet.stats().leases_won >= 2
    })
    .await;
    let probe = fleet[0].breaker.acquire().unwrap();
    assert!(probe.is_probe());
    probe.success();
    until("the fleet closed", WAIT, || {
        server
            .reply(&["HGET", "breaker:{gpt-4o}:state", "s"])
            .as_text()
            == Some("closed")
    })
    .await;
}
