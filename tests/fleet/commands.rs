//! What the fleet shares besides trips: operators' commands, rate limits, the quorum, and
//! the breakers of a keyed registry (bounded whatever keys arrive).

use std::sync::Arc;
use std::time::Duration;

use breaker::fleet::{FleetOptions, FleetStore};
use breaker::{BreakerConfig, CircuitState, KeyedRegistry};
use futures::FutureExt;

use crate::redis_server::RedisServer;
use crate::{all_in, fleet_on_a_new_server, instances, settled, until};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_forces_disables_and_resets_the_whole_fleet() {
    let (_server, fleet) = fleet_on_a_new_server(
        3,
        "gpt-4o",
        &BreakerConfig::default(),
        &FleetOptions::default(),
    )
    .await;

    fleet[0].fleet.force_open("gpt-4o").await.unwrap();
    until("every instance forced open", WAIT, || {
        all_in(&fleet, CircuitState::ForcedOpen)
    })
    .await;
    assert!(fleet[2].breaker.acquire().unwrap_err().is_forced_open());

    fleet[1].fleet.disable("gpt-4o").await.unwrap();
    until("every instance disabled", WAIT, || {
        all_in(&fleet, CircuitState::Disabled)
    })
    .await;

    fleet[2].fleet.reset("gpt-4o").await.unwrap();
    until("every instance closed", WAIT, || {
        all_in(&fleet, CircuitState::Closed)
    })
    .await;
    // A trip after the reset opens the fleet again: the reset's generation is the one seen.
    for _ in 0..5 {
        fleet[0].breaker.acquire().unwrap().failure();
    }
    until("every instance open", WAIT, || {
        all_in(&fleet, CircuitState::Open)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_seen_by_one_instance_holds_back_the_others() {
    let (_server, fleet) = fleet_on_a_new_server(
        3,
        "gpt-4o",
        &BreakerConfig::default(),
        &FleetOptions::default(),
    )
    .await;

    fleet[0]
        .breaker
        .acquire()
        .unwrap()
        .rate_limited(Some(Duration::from_secs(30)));
    until("the others rate limited", WAIT, || {
        fleet[1..].iter().all(|i| {
            i.breaker
                .acquire()
                .is_err_and(|open| open.is_rate_limited())
        })
    })
    .await;
    let held = fleet[2]
        .breaker
        .acquire()
        .unwrap_err()
        .retry_after()
        .unwrap();
    assert!(
        held > Duration::from_secs(29) && held <= Duration::from_secs(30),
        "{held:?}"
    );
    // A rate limit is not an outage: the circuits stay closed.
    assert!(all_in(&fleet, CircuitState::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_quorum_one_sick_instance_stays_open_alone() {
    let config = BreakerConfig::default().with_threshold(2);
    let options = FleetOptions::default().with_quorum(2, Duration::from_secs(60));
    let (_server, fleet) = fleet_on_a_new_server(3, "gpt-4o", &config, &options).await;

    for _ in 0..2 {
        fleet[0].breaker.acquire().unwrap().failure();
    }
    assert_eq!(fleet[0].breaker.state(), CircuitState::Open);
    // The store answered (the trip was counted toward the quorum): the others stay closed.
    until("the trip reached the store", WAIT, || {
        fleet[0].fleet.stats().adopted >= 2
    })
    .await;
    tokio::task::yield_now().await;
    assert_eq!(fleet[1].breaker.state(), CircuitState::Closed);
    assert_eq!(fleet[2].breaker.state(), CircuitState::Closed);

    // A second instance trips within the window: the quorum is met, the fleet opens. The
    // fleet's failure count may trip it after its first failure (the news of the count can
    // arrive between the two calls), so a rejected second call is a trip too.
    for _ in 0..2 {
        if let Ok(permit) = fleet[1].breaker.acquire() {
            permit.failure();
        }
    }
    assert_eq!(fleet[1].breaker.state(), CircuitState::Open);
    until("the whole fleet open", WAIT, || {
        all_in(&fleet, CircuitState::Open)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_registry_attached_stays_bounded_under_a_flood_of_keys() {
    let server = RedisServer::start();
    let fleet = FleetStore::connect(&server.url(), FleetOptions::default()).unwrap();
    let registry: KeyedRegistry<Arc<str>> = KeyedRegistry::new(64, BreakerConfig::default());
    registry.get_or_insert("before");
    fleet.attach_registry(&registry);
    assert_eq!(
        fleet.stats().attached,
        1,
        "the breakers it held are attached"
    );
    for key in 0..5_000 {
        registry.get_or_insert(format!("tenant-{key}").as_str());
    }
    // Evicted breakers die with the registry's references; the store forgets them.
    let attached = fleet.stats().attached;
    assert!(
        attached <= 2 * 64 + 64,
        "{attached} breakers attached for 64 live ones"
    );
    // A key's breaker attached through the registry is shared: a command reaches it.
    fleet.force_open("tenant-4999").await.unwrap();
    until("the registry's breaker forced open", WAIT, || {
        registry.get("tenant-4999").unwrap().state() == CircuitState::ForcedOpen
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_dropped_mid_await_leaves_the_fleet_working() {
    let (_server, fleet) = fleet_on_a_new_server(
        2,
        "gpt-4o",
        &BreakerConfig::default(),
        &FleetOptions::default(),
    )
    .await;
    // Polled once, then dropped: queued or not, answered or not (the task may run it on the
    // other thread meanwhile), nothing is left half done.
    let _ = fleet[0].fleet.force_open("gpt-4o").now_or_never();
    fleet[0].fleet.reset("gpt-4o").await.unwrap();
    until("both closed", WAIT, || all_in(&fleet, CircuitState::Closed)).await;
    fleet[1].fleet.force_open("gpt-4o").await.unwrap();
    until("both forced open", WAIT, || {
        all_in(&fleet, CircuitState::ForcedOpen)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_may_use_the_fleet_store_while_a_decision_is_adopted() {
    let config = BreakerConfig::default().with_threshold(1);
    let (_server, fleet) =
        fleet_on_a_new_server(2, "gpt-4o", &config, &FleetOptions::default()).await;
    // The listener runs inside the adoption, on the store's task.
    let store = fleet[1].fleet.clone();
    let heard = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sink = Arc::clone(&heard);
    fleet[1].breaker.on_transition(move |_| {
        sink.fetch_add(store.stats().attached, std::sync::atomic::Ordering::SeqCst);
    });
    fleet[0].breaker.acquire().unwrap().failure();
    until("the listener heard the adopted opening", WAIT, || {
        heard.load(std::sync::atomic::Ordering::SeqCst) >= 1
    })
    .await;
    assert_eq!(fleet[1].breaker.state(), CircuitState::Open);
}

#[derive(breaker::CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
#[breaker(threshold = 2, cooldown = "30s", rename_all = "kebab-case")]
enum Model {
    #[breaker(name = "gpt-4o")]
    Gpt4o,
    ClaudeSonnet,
}

static MODELS: std::sync::LazyLock<ModelBreakers> = std::sync::LazyLock::new(ModelBreakers::new);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_enums_breakers_attach_in_one_line() {
    let server = RedisServer::start();
    let fleet = FleetStore::connect(&server.url(), FleetOptions::default()).unwrap();
    fleet.attach_all(MODELS.iter().map(|(_, breaker)| breaker));
    assert_eq!(fleet.stats().attached, 2);
    // Another instance, holding its breaker by `Arc`, trips gpt-4o for the fleet.
    let other = instances(
        &server.url(),
        1,
        "gpt-4o",
        &BreakerConfig::default().with_threshold(1),
        &FleetOptions::default(),
    );
    settled(&other).await;
    other[0].breaker.acquire().unwrap().failure();
    until("the derived breaker adopted the opening", WAIT, || {
        MODELS.get(Model::Gpt4o).state() == CircuitState::Open
    })
    .await;
    assert_eq!(
        MODELS.get(Model::ClaudeSonnet).state(),
        CircuitState::Closed
    );
}
