//! One instance cut off from the store (a partition, through a TCP proxy that stops
//! forwarding): it decides locally, its calls never wait for the store, and it rejoins.

use std::time::{Duration, Instant};

use breaker::{BreakerConfig, CircuitState};

use crate::faults::options;
use crate::redis_server::RedisServer;
use crate::tcp_proxy::TcpProxy;
use crate::{all_in, instance, instances, settled, until};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_cut_off_decides_locally_and_rejoins() {
    let server = RedisServer::start();
    let proxy = TcpProxy::start(server.addr()).await;
    let config = BreakerConfig::default()
        .with_threshold(2)
        .with_cooldown(Duration::from_secs(60));
    let cut = instance(&proxy.url(), "cut", "gpt-4o", &config, &options());
    let others = instances(&server.url(), 2, "gpt-4o", &config, &options());
    settled(std::slice::from_ref(&cut)).await;
    settled(&others).await;

    proxy.partition();
    // Its calls go on (so its breaker is active, and polled): the polls time out.
    until("the cut instance found the store down", WAIT, || {
        cut.breaker.acquire().unwrap().success();
        !cut.fleet.stats().store_up
    })
    .await;
    // The others open the fleet; the cut instance cannot hear it, and its calls go on,
    // never waiting for the store.
    for _ in 0..2 {
        others[0].breaker.acquire().unwrap().failure();
    }
    until("the others open", WAIT, || {
        all_in(&others, CircuitState::Open)
    })
    .await;
    let start = Instant::now();
    cut.breaker.acquire().unwrap().success();
    assert!(start.elapsed() < Duration::from_millis(5));
    assert_eq!(cut.breaker.state(), CircuitState::Closed);

    proxy.heal();
    until("the cut instance adopted the fleet's opening", WAIT, || {
        cut.breaker.state() == CircuitState::Open
    })
    .await;
}
