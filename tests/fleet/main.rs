//! Breakers shared across a fleet through Redis. Each test starts its own `redis-server` on a
//! free loopback port (`tests/support/redis_server.rs`), and the fault tests put a TCP proxy
//! between the instances and the server (`tests/support/tcp_proxy.rs`).

#[allow(dead_code)]
#[path = "../support/redis_server.rs"]
mod redis_server;

#[allow(dead_code)]
#[path = "../support/tcp_proxy.rs"]
mod tcp_proxy;

mod support_checks;
