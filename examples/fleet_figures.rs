//! The fleet's figures, measured on a `redis-server` it starts on a free loopback port (or
//! `REDIS_URL`), with 20 instances in this process (each its own store connection and its
//! own breaker), and printed as markdown tables for BENCHMARKS.md:
//!
//! - propagation: from the tripping instance's transition to the last instance open,
//!   p50/p99, with the channel and by polling alone;
//! - store load: commands per second per instance per breaker, while calls flow and idle;
//! - the store down for 10 s while calls flow: calls refused or failed, slowest admission.
//!
//! ```text
//! cargo run --release --example fleet_figures --features redis
//! ```

#[allow(dead_code, unused_imports)]
#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use breaker::fleet::{FleetOptions, FleetStore};
use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
use redis_server::RedisServer;

const INSTANCES: usize = 20;
const NAME: &str = "gpt-4o";

/// One instance: its store connection, its breaker, when the breaker last opened, and
/// whether its remote fails.
struct Instance {
    store: FleetStore,
    breaker: Arc<CircuitBreaker>,
    opened: Arc<Mutex<Option<Instant>>>,
    failing: Arc<AtomicBool>,
}

fn fleet(url: &str, options: &FleetOptions) -> Vec<Instance> {
    let config = BreakerConfig::default()
        .with_threshold(5)
        .with_cooldown(Duration::from_secs(60));
    (0..INSTANCES)
        .map(|i| {
            let store = FleetStore::connect(url, options.clone().with_instance(format!("i{i}")))
                .expect("a store");
            let breaker = Arc::new(CircuitBreaker::new(NAME, config.clone()));
            let opened = Arc::new(Mutex::new(None));
            let sink = Arc::clone(&opened);
            breaker.on_transition(move |change| {
                if change.to == CircuitState::Open && change.from != CircuitState::Open {
                    sink.lock().unwrap().get_or_insert(Instant::now());
                }
            });
            store.attach(&breaker);
            Instance {
                store,
                breaker,
                opened,
                failing: Arc::new(AtomicBool::new(false)),
            }
        })
        .collect()
}

/// Calls through every instance every 10 ms, on threads of their own, until stopped:
/// counting the calls, the ones refused, the ones failed, and the slowest admission.
struct Traffic {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    slowest_ns: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Traffic {
    fn start(fleet: &[Instance]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let slowest_ns = Arc::new(AtomicU64::new(0));
        let threads = fleet
            .iter()
            .map(|instance| {
                let breaker = Arc::clone(&instance.breaker);
                let failing = Arc::clone(&instance.failing);
                let (stop, calls, refused, failed, slowest) = (
                    Arc::clone(&stop),
                    Arc::clone(&calls),
                    Arc::clone(&refused),
                    Arc::clone(&failed),
                    Arc::clone(&slowest_ns),
                );
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let start = Instant::now();
                        let permit = breaker.acquire();
                        slowest.fetch_max(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        calls.fetch_add(1, Ordering::Relaxed);
                        match permit {
                            Ok(permit) => {
                                let fails = failing.load(Ordering::Relaxed);
                                if fails {
                                    failed.fetch_add(1, Ordering::Relaxed);
                                }
                                permit.report(!fails);
                            }
                            Err(_) => {
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                })
            })
            .collect();
        Self {
            stop,
            calls,
            refused,
            failed,
            slowest_ns,
            threads,
        }
    }

    /// Calls, refused, failed, slowest admission.
    fn stop(self) -> (u64, u64, u64, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        (
            self.calls.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            Duration::from_nanos(self.slowest_ns.load(Ordering::Relaxed)),
        )
    }
}

async fn until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "waited {limit:?} for: {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn all_in(fleet: &[Instance], state: CircuitState) -> bool {
    fleet.iter().all(|i| i.breaker.state() == state)
}

/// `trials` trips, each by one instance whose remote fails while every instance's calls
/// flow: the times from its opening to the last instance's, in milliseconds. Each trip
/// waits a different part of `spread` first (spread evenly over the trials), so that trips
/// fall at every point of a poll cycle.
async fn propagation(fleet: &[Instance], trials: usize, spread: Duration) -> Vec<f64> {
    let traffic = Traffic::start(fleet);
    let mut times = Vec::with_capacity(trials);
    for trial in 0..trials {
        fleet[0]
            .store
            .reset(NAME)
            .await
            .expect("the store takes a reset");
        until("every instance closed", Duration::from_secs(10), || {
            all_in(fleet, CircuitState::Closed)
        })
        .await;
        // Calls meanwhile, so that each breaker is active when the trip comes.
        let offset = spread.mul_f64((trial * 7 % trials) as f64 / trials as f64);
        tokio::time::sleep(Duration::from_millis(50) + offset).await;
        for instance in fleet {
            *instance.opened.lock().unwrap() = None;
        }
        let tripper = &fleet[trial % fleet.len()];
        tripper.failing.store(true, Ordering::Relaxed);
        until("every instance open", Duration::from_secs(10), || {
            all_in(fleet, CircuitState::Open)
        })
        .await;
        tripper.failing.store(false, Ordering::Relaxed);
        let opened: Vec<Instant> = fleet
            .iter()
            .map(|i| i.opened.lock().unwrap().expect("opened"))
            .collect();
        let tripped = tripper.opened.lock().unwrap().expect("opened");
        let last = *opened.iter().max().unwrap();
        times.push(last.saturating_duration_since(tripped).as_secs_f64() * 1e3);
    }
    traffic.stop();
    fleet[0]
        .store
        .reset(NAME)
        .await
        .expect("the store takes a reset");
    times
}

fn percentile(times: &[f64], p: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank]
}

/// Per second over `window`: the commands the server ran (a script's own commands
/// included, less the `INFO` reads that measure them), and the scripts (`EVALSHA`, `EVAL`:
/// one round trip each, or one entry of a pipelined poll).
async fn commands_per_second(server: &RedisServer, window: Duration) -> (f64, f64) {
    let scripts = |stats: &std::collections::BTreeMap<String, u64>| {
        stats.get("evalsha").copied().unwrap_or(0) + stats.get("eval").copied().unwrap_or(0)
    };
    let before = server.total_commands();
    let scripts_before = scripts(&server.info_commandstats());
    tokio::time::sleep(window).await;
    let scripts_after = scripts(&server.info_commandstats());
    let after = server.total_commands();
    let seconds = window.as_secs_f64();
    (
        after.saturating_sub(before + 3) as f64 / seconds,
        scripts_after.saturating_sub(scripts_before) as f64 / seconds,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = RedisServer::start();
    let url = server.url();
    println!("redis-server at {url}; {INSTANCES} instances, one breaker `{NAME}` each\n");

    // Propagation, with the channel, then by polling alone.
    let with_channel = fleet(&url, &FleetOptions::default().with_prefix("pubsub"));
    let channel = propagation(&with_channel, 60, Duration::ZERO).await;
    drop(with_channel);
    let polling_options = FleetOptions::default()
        .with_prefix("polling")
        .with_pubsub(false)
        .with_poll_interval(Duration::from_secs(1));
    let polling_fleet = fleet(&url, &polling_options);
    let polling = propagation(&polling_fleet, 10, Duration::from_secs(1)).await;
    drop(polling_fleet);

    println!(
        "| propagation: tripping instance's opening to the last of {INSTANCES} open | trips | p50 | p99 | max |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (what, times) in [
        ("channel (pub/sub), polls every 1 s", &channel),
        ("polling alone, every 1 s", &polling),
    ] {
        println!(
            "| {what} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
            times.len(),
            percentile(times, 50.0),
            percentile(times, 99.0),
            percentile(times, 100.0),
        );
    }

    // Store load: calls flowing (every breaker closed and active), then idle.
    let load_fleet = fleet(&url, &FleetOptions::default().with_prefix("load"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let traffic = Traffic::start(&load_fleet);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let active = commands_per_second(&server, Duration::from_secs(5)).await;
    let (calls, ..) = traffic.stop();
    // One poll reads the breakers called since the last one; then they are idle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = commands_per_second(&server, Duration::from_secs(5)).await;
    let per = |total: f64| total / INSTANCES as f64;
    println!();
    println!(
        "| store load, {INSTANCES} instances x 1 breaker | scripts/s | per instance per breaker | server commands/s (the scripts' own included) | per instance per breaker |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (what, (commands, scripts)) in [
        (
            format!("calls flowing ({calls} calls in 7 s), all closed"),
            active,
        ),
        ("idle (no call)".to_owned(), idle),
    ] {
        println!(
            "| {what} | {scripts:.1} | {:.2} | {commands:.1} | {:.2} |",
            per(scripts),
            per(commands)
        );
    }

    // The same calls for 10 s with the store up: the slowest admission that the machine's
    // scheduling alone gives (20 calling threads on 2 cores).
    let traffic = Traffic::start(&load_fleet);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (_, up_refused, up_failed, up_slowest) = traffic.stop();
    assert_eq!((up_refused, up_failed), (0, 0));

    // The store down for 10 s while calls flow.
    let mut server = server;
    let traffic = Traffic::start(&load_fleet);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopped = Instant::now();
    server.stop();
    until(
        "every instance found the store down",
        Duration::from_secs(10),
        || load_fleet.iter().all(|i| !i.store.stats().store_up),
    )
    .await;
    let noticed = stopped.elapsed();
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(noticed)).await;
    server.restart();
    let restarted = Instant::now();
    until(
        "every instance found the store back",
        Duration::from_secs(10),
        || load_fleet.iter().all(|i| i.store.stats().store_up),
    )
    .await;
    let back = restarted.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (calls, refused, failed, slowest) = traffic.stop();
    println!();
    println!("| the store down 10 s, {INSTANCES} instances calling every 10 ms | |");
    println!("| --- | ---: |");
    println!("| calls (2 s before, 10 s down, ~2 s after) | {calls} |");
    println!("| calls refused | {refused} |");
    println!("| calls failed | {failed} |");
    println!(
        "| slowest admission (the same calls for 10 s with the store up: {:.1} µs) | {:.1} µs |",
        up_slowest.as_secs_f64() * 1e6,
        slowest.as_secs_f64() * 1e6
    );
    println!(
        "| every instance knew the store was down after | {:.0} ms |",
        noticed.as_secs_f64() * 1e3
    );
    println!(
        "| every instance back on the store after its restart | {:.0} ms |",
        back.as_secs_f64() * 1e3
    );
}
