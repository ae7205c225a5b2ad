//! Breakers shared by a fleet through a real Redis server: each test starts its own
//! `redis-server` on a free loopback port (`tests/support/redis_server.rs`), and the tests
//! that cut one instance off put a TCP proxy between it and the server
//! (`tests/support/tcp_proxy.rs`); `support_checks` tests those two.
//!
//! The breakers run on the real clock: the store's time is the server's `TIME`, which no
//! test can move, so the tests use short cooldowns and wait for states with a deadline
//! (`until`), never for a fixed time to pass.

#[allow(dead_code)]
#[path = "../support/redis_server.rs"]
mod redis_server;

#[allow(dead_code)]
#[path = "../support/tcp_proxy.rs"]
mod tcp_proxy;

mod commands;
mod example_scenario;
mod faults;
mod partition;
mod sharing;
mod support_checks;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breaker::fleet::{FleetOptions, FleetStore};
use breaker::{BreakerConfig, CircuitBreaker, CircuitState};

/// One instance of the fleet: its own connection to the store, its own breaker.
pub struct Instance {
    pub fleet: FleetStore,
    pub breaker: Arc<CircuitBreaker>,
    /// When its breaker last went Open from another state.
    pub opened: Arc<Mutex<Option<Instant>>>,
}

/// `n` instances named `i0`, `i1`... of the breaker `name`, on the store at `url`.
pub fn instances(
    url: &str,
    n: usize,
    name: &str,
    config: &BreakerConfig,
    options: &FleetOptions,
) -> Vec<Instance> {
    (0..n)
        .map(|i| instance(url, &format!("i{i}"), name, config, options))
        .collect()
}

pub fn instance(
    url: &str,
    id: &str,
    name: &str,
    config: &BreakerConfig,
    options: &FleetOptions,
) -> Instance {
    let fleet = FleetStore::connect(url, options.clone().with_instance(id)).unwrap();
    let breaker = Arc::new(CircuitBreaker::new(name.to_owned(), config.clone()));
    let opened = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&opened);
    breaker.on_transition(move |change| {
        if change.to == CircuitState::Open && change.from != CircuitState::Open {
            *sink.lock().unwrap() = Some(Instant::now());
        }
    });
    fleet.attach(&breaker);
    Instance {
        fleet,
        breaker,
        opened,
    }
}

/// Waits until `done` holds; panics after `limit`, naming `what`.
pub async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "waited {limit:?} for: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A number in the breaker hash `key` of the store (its generation `g`...).
pub fn hash_field(server: &redis_server::RedisServer, key: &str, field: &str) -> u64 {
    let reply = server.reply(&["HGET", key, field]);
    reply
        .as_text()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("HGET {key} {field}: {reply:?}"))
}

/// Every instance's breaker is in `state`.
pub fn all_in(fleet: &[Instance], state: CircuitState) -> bool {
    fleet.iter().all(|i| i.breaker.state() == state)
}

/// A server started for the test and `n` instances of the breaker `name` on it, each having
/// read the store once.
pub async fn fleet_on_a_new_server(
    n: usize,
    name: &str,
    config: &BreakerConfig,
    options: &FleetOptions,
) -> (redis_server::RedisServer, Vec<Instance>) {
    let server = redis_server::RedisServer::start();
    let fleet = instances(&server.url(), n, name, config, options);
    settled(&fleet).await;
    (server, fleet)
}

/// Waits until every instance has read the store once (attached breakers are read at the
/// first poll).
pub async fn settled(fleet: &[Instance]) {
    until(
        "every instance read the store",
        Duration::from_secs(5),
        || fleet.iter().all(|i| i.fleet.stats().adopted > 0),
    )
    .await;
}
