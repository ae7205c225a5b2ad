//! The runtime's integration tests, one module per area, in one test binary so that the
//! crate is linked once for all of them: backoff, configuration files, permits, the trip
//! policies (with a model test against a reference), the behaviours of the breakers this
//! crate replaces, and the `metrics` export.
//!
//! proptest keeps `policy_model`'s regressions in `tests/proptest-regressions/`: next to the
//! directory that holds this `main.rs`, where its default file persistence looks.
//!
//! Three runtime tests are test binaries of their own, each for a reason of its process:
//! `breaker_alloc` (a counting global allocator), `breaker_events` (a global `tracing`
//! subscriber) and `breaker_races` (races that want both cores).

mod adopt;
mod backoff;
mod call_events;
mod causes;
mod config;
mod metrics_export;
mod permit_handles;
mod permits;
mod policies;
mod policy_model;
mod rate_limits;
mod reference;
