//! The `tower` feature's integration tests, in one test binary (built only with that
//! feature, see `Cargo.toml`): `CircuitBreakerLayer` in front of a service (`layer`), its
//! readiness contract (`readiness`) and its back-pressure mode (`back_pressure`).

#[path = "../support/upstream.rs"]
mod upstream;

mod back_pressure;
mod layer;
mod readiness;
