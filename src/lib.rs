//! # breaker
//!
//! State machines declared as transition tables that the compiler checks, and circuit
//! breakers built on them.
//!
//! ```
//! use breaker::state_machine;
//!
//! state_machine! {
//!     /// A door that can be locked with a key.
//!     pub Door {
//!         initial: Closed,
//!         final: Broken,
//!         Closed + Open => Opened,
//!         Opened + Close => Closed,
//!         Closed + Lock [has_key] / log_lock => Locked,
//!         Locked + Unlock [has_key] => Closed,
//!         Locked + Kick => Broken,
//!     }
//! }
//!
//! struct Keyholder { has_key: bool, log: Vec<String> }
//!
//! impl DoorContext for Keyholder {
//!     fn has_key(&self, _event: &DoorEvent) -> bool { self.has_key }
//!     fn log_lock(&mut self, event: &DoorEvent) { self.log.push(format!("{event}")) }
//! }
//!
//! let mut door = Door::machine(Keyholder { has_key: true, log: Vec::new() });
//! door.fire(DoorEvent::Lock).unwrap();
//! assert_eq!(door.state(), DoorState::Locked);
//! assert!(door.fire(DoorEvent::Open).is_err()); // not in the table: refused, state kept
//! door.fire(DoorEvent::Kick).unwrap();
//! assert!(door.is_final());
//! assert_eq!(door.context().log, ["Lock"]);
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use breaker_core::export;
pub use breaker_core::machine;
pub use breaker_core::machine::{InvalidTransition, Machine, StateMachine, Transition, Typed};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use breaker_core::tower;
pub use breaker_core::{
    BreakerConfig, BreakerError, BreakerName, Circuit, CircuitBreaker, CircuitEvent, CircuitOpen,
    CircuitState, Clock, ConfigError, FailureRate, IgnoredErrors, ManualClock, Metrics,
    OwnedPermit, Permit, RealClock, SlowCalls, StateChange, TripPolicy, Window,
};
pub use breaker_core::{backoff, clock, config, error, events, guard, permit, policy, registry};
pub use breaker_macros::{CircuitBreakers, circuit_breaker, state_machine};

/// What generated code names, by absolute path. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use breaker_core::__private::*;
}
