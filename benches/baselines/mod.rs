//! The baselines the benches measure `breaker` against: the two breakers this crate
//! replaces, written fresh in their shape (same state, same atomics or lock, same clock reads
//! and allocations per call), without their logging and metrics side effects. Their rows
//! keep the names that the report has always used for them.
//!
//! - [`atomics::AtomicsBreaker`]: the breaker of oxios-kernel 0.3.0, one breaker in three
//!   atomics and a half-open probe flag, the system clock read in Open.
//! - [`rwlock_map::MapBreakers`]: the breakers of awaken-runtime 0.4.0, per-model breakers in a
//!   `parking_lot::RwLock<HashMap<String, State>>`, a write lock and a `String` key per check.
//!
//! Included by every bench file with `#[path = "baselines/mod.rs"] mod baselines;`; each bench
//! uses a part of it, hence `dead_code` is allowed here.

#![allow(dead_code)]

pub mod atomics;
pub mod rwlock_map;
