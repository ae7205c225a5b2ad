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
//!
//! # A tour of the API
//!
//! **State machines.** [`state_machine!`] declares a machine as a table, checked when it
//! compiles (above); the framework it implements is in [`machine`]: [`machine::Machine`]
//! holds a state as a value, [`machine::Typed`] as a type, so that an undeclared transition
//! does not compile.
//!
//! **A circuit breaker** is a [`CircuitBreaker`], configured by a [`BreakerConfig`] and
//! moving along the [`Circuit`] table through the [`CircuitState`]s. A call asks it for a
//! [`Permit`] (or an [`OwnedPermit`], which holds the breaker) and reports its outcome on
//! it; a rejected call gets a [`CircuitOpen`], which says when to come back.
//! [`CircuitBreaker::call`] and [`call_async`](CircuitBreaker::call_async) do both, and
//! return a [`BreakerError`] that keeps the call's own error apart from the rejection.
//!
//! ```
//! use std::time::Duration;
//! use breaker::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock};
//!
//! let clock = ManualClock::new();
//! let config = BreakerConfig::default().with_threshold(2).with_cooldown(Duration::from_secs(30));
//! let breaker = CircuitBreaker::with_clock("openai", config, clock.clone());
//!
//! for _ in 0..2 {
//!     breaker.acquire().expect("closed").failure();
//! }
//! let open = breaker.acquire().unwrap_err();
//! assert_eq!(open.retry_after(), Some(Duration::from_secs(30)));
//! clock.advance(Duration::from_secs(30));
//! let probe = breaker.acquire().expect("the cooldown has passed: a probe");
//! probe.success();
//! assert_eq!(breaker.state(), CircuitState::Closed);
//! ```
//!
//! **When it trips and for how long**: the [`TripPolicy`] (consecutive failures, or a
//! [`FailureRate`] over a [`Window`], with [`SlowCalls`]), which errors count
//! ([`IgnoredErrors`]), and the cooldown's [`Backoff`] and [`Jitter`]. Time comes from a
//! [`Clock`]: [`RealClock`] by default, [`ManualClock`] in tests.
//!
//! **Without glue**: [`#[circuit_breaker]`](circuit_breaker) on a function or a trait
//! generates the guarded call; [`#[derive(CircuitBreakers)]`](CircuitBreakers) on an enum of
//! models gives one breaker per variant.
//!
//! **Many breakers**: [`BreakerRegistry`] holds breakers by name (the process-wide one,
//! [`BreakerRegistry::global`], is where the macros' breakers live, and where
//! [`BreakerSettings`] read from a file apply); [`KeyedRegistry`] holds breakers by a key known
//! only at run time (a model id, a tenant), bounded whatever keys arrive, handing out
//! [`BreakerRef`]s, [`Pinned`] views and [`KeyedPermit`]s.
//!
//! **Watching**: every transition is a [`StateChange`], sent to `tracing` and to listeners
//! ([`CircuitBreaker::on_transition`]); [`CircuitBreaker::metrics`] gives [`Metrics`].
//!
//! **Features**: `tower` adds [`tower`]'s `CircuitBreakerLayer` (and turns on `http`);
//! `metrics` adds [`export`] to the `metrics` facade; `http` adds [`http`](mod@http), the
//! [`Verdict`] of an LLM provider's HTTP response (a 429 is a rate limit, a 5xx a failure, a
//! 400 says nothing of the remote), and [`retry_hints`], which read when a remote says to
//! come back from its HTTP headers. Items that need a feature say so in these docs.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use breaker_core::export;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use breaker_core::fleet;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use breaker_core::http;
pub use breaker_core::machine;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use breaker_core::retry_hints;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use breaker_core::tower;
pub use breaker_core::{
    Backoff, Because, BreakerConfig, BreakerError, BreakerHandle, BreakerName, BreakerRef,
    BreakerRegistry, BreakerSettings, CallEvent, CallOutcome, Cause, Circuit, CircuitBreaker,
    CircuitEvent, CircuitOpen, CircuitState, Clock, ConfigError, CredentialErrors, FailureRate,
    IgnoredErrors, Jitter, KeyedPermit, KeyedRegistry, MAX_LISTENER_CHAIN, ManualClock, Metrics,
    OwnedPermit, Permit, PermitOf, Pinned, RateLimit, RealClock, RegistryKey, RunFuture, SlowCalls,
    StateChange, TripPolicy, Upkeep, UpkeepError, Verdict, Window, WindowCounts,
};
pub use breaker_macros::{CircuitBreakers, circuit_breaker, state_machine};

/// What generated code names, by absolute path. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use breaker_core::__private::*;
}
