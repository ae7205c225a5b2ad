//! Breakers shared by a fleet through a real Redis server, started by each test on a free
//! loopback port.

mod example_scenario;
mod sharing;
mod tmp_redis;
