//! The macros' integration tests, in one test binary: `#[circuit_breaker]` on functions and
//! trait methods (whose breakers live in the process-wide registry, each test under names of
//! its own) and `#[derive(CircuitBreakers)]`. Their compile-time diagnostics are the
//! trybuild cases of `tests/ui.rs`.

mod circuit_breaker_attribute;
// `classify = ...` with the classification of HTTP responses.
#[cfg(feature = "http")]
mod classify_attribute;
mod derive_circuit_breakers;
mod key_argument;
mod state_async;
mod state_hierarchy;
#[cfg(feature = "serde")]
mod state_serde;
