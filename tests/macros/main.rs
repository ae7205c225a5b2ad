//! The macros' integration tests, in one test binary: `#[circuit_breaker]` on functions and
//! trait methods (whose breakers live in the process-wide registry, each test under names of
//! its own), `#[derive(CircuitBreakers)]`, and the `order_workflow` example's
//! `state_machine!`. Their compile-time diagnostics are the trybuild cases of `tests/ui.rs`.

mod circuit_breaker_attribute;
// `classify = ...` with the classification of HTTP responses.
#[cfg(feature = "http")]
mod classify_attribute;
mod derive_circuit_breakers;
mod key_argument;
// The `order_workflow` example's scenario, over HTTP on loopback.
mod order_workflow;
mod state_async;
mod state_hierarchy;
#[cfg(feature = "serde")]
mod state_serde;
