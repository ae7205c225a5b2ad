//! Runtime of the [`breaker`](https://docs.rs/breaker) crate.
//!
//! Users depend on `breaker`, which re-exports this crate's public items and the macros,
//! and whose root documentation is the tour of the API. This crate holds everything that
//! runs: the state-machine framework ([`machine`]) and the circuit breaker built on it.
//!
//! # Module map
//!
//! The modules form layers: a module uses only modules of the layers below its own (and
//! leaf modules of its own layer that come before it in this list). A test
//! (`layers::modules_use_only_the_layers_below`) reads the sources and fails on an import
//! that goes up or sideways, so the map stays true.
//!
//! | layer | modules | what they hold |
//! | --- | --- | --- |
//! | 0: leaves | `clock`, `machine`, `name`, `backoff`, `policy`, `retry_hints`, `verdict`, `cause` | time ([`Clock`], [`ManualClock`]), the state-machine framework, [`BreakerName`], the cooldown's [`Backoff`], the [`TripPolicy`], the readers of `Retry-After` and its kin (feature `http`), a call's [`Verdict`] (rate limits and announced outages included), the [`Cause`] of an opening |
//! | 1: vocabulary | `circuit`, `config`, `error`, `events`, `http` | the [`Circuit`] table and its [`CircuitState`]s, [`BreakerConfig`] and its limits, [`CircuitOpen`] and [`BreakerError`], [`StateChange`], [`CallEvent`] and [`Metrics`] with listener delivery, the [`Verdict`] of an HTTP response (feature `http`) |
//! | 2: the breaker | `breaker` (with its permits, hot word, probe slots, rate-limit gate, counters) | [`CircuitBreaker`], [`Permit`], [`OwnedPermit`] |
//! | 3: on top | `export`, `guard`, `registry`, `keyed`, `key_choice`, `tower`, `fleet` | the `metrics` export, the plumbing of generated code, [`BreakerRegistry`] (by name, for the macros), [`KeyedRegistry`] (bounded, by run-time key), the breakers of a call keyed by an argument (`key = model`), the tower layer, breakers shared by a fleet through Redis (feature `redis`) |
//!
//! Nothing below calls up: a breaker emits its [`StateChange`]s to listeners and to the
//! `tracing` and `metrics` facades without knowing who listens; the registries and the
//! export read breakers; the macros' generated code reaches the runtime only through the
//! hidden `__private` module.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Layer 0: leaves.
mod backoff;
mod cause;
mod clock;
pub mod machine;
mod name;
mod policy;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod retry_hints;
mod verdict;

// Layer 1: what the breaker is described with.
mod circuit;
mod config;
mod error;
mod events;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;

// Layer 2: the breaker, with its permits.
mod breaker;

// Layer 3: what is built on breakers.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod export;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod fleet;
mod guard;
mod key_choice;
mod keyed;
mod registry;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

#[cfg(test)]
mod layers;

pub use breaker_macros::state_machine;

pub use backoff::{Backoff, Jitter};
pub use breaker::CircuitBreaker;
pub use breaker::permit::{BreakerHandle, OwnedPermit, Permit, PermitOf, RunFuture};
pub use cause::{Because, Cause};
pub use circuit::{Circuit, CircuitEvent, CircuitState};
pub use clock::{Clock, ManualClock, RealClock, Upkeep, UpkeepError};
pub use config::{BreakerConfig, BreakerSettings, ConfigError};
pub use error::{BreakerError, CircuitOpen};
pub use events::{
    CallEvent, CallOutcome, MAX_LISTENER_CHAIN, Metrics, RateLimit, StateChange, WindowCounts,
};
pub use keyed::{BreakerRef, KeyedPermit, KeyedRegistry, Pinned, RegistryKey};
pub use name::BreakerName;
pub use policy::{CredentialErrors, FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window};
pub use registry::BreakerRegistry;
pub use verdict::Verdict;

/// What generated code names, by absolute path. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::__serde_data_state as serde_data_state;
    pub use crate::__serde_state as serde_state;
    pub use crate::machine::{
        AsyncFire, AsyncMachine, ContextOf, Edge, EventType, Fire, GuardedEdge, Interrupted,
        InvalidTransition, Machine, Refusal, StateMachine, StateType, Step, Superstate, Transition,
        Typed,
    };
    #[cfg(feature = "serde")]
    pub use crate::machine::{deserialize_state, serialize_state};
    pub use ::core::clone::Clone;
    pub use ::core::cmp::{Eq, Ord, PartialEq, PartialOrd};
    pub use ::core::convert::From;
    pub use ::core::convert::Into;
    pub use ::core::default::Default;
    pub use ::core::fmt;
    pub use ::core::fmt::Debug;
    pub use ::core::future::Future;
    pub use ::core::hash::Hash;
    pub use ::core::marker::Send;
    pub use ::core::marker::{Copy, Sized};
    pub use ::core::ops::{Fn, FnMut};
    pub use ::core::option::Option::{self, None, Some};
    pub use ::core::result::Result::{self, Err, Ok};
    pub use ::core::time::Duration;
    pub use ::core::{concat, module_path, panic};
    #[cfg(feature = "serde")]
    pub use ::serde;
    pub use ::std::boxed::Box;
    pub use ::std::string::String;

    pub use crate::backoff::{Backoff, Jitter};
    pub use crate::breaker::CircuitBreaker;
    pub use crate::clock::{Clock, RealClock};
    pub use crate::config::{BreakerConfig, BreakerSettings, ConfigError};
    pub use crate::guard::{GuardedResult, LazyBreaker, Rejection, as_result, method_name, reject};
    pub use crate::key_choice::{
        ChoosesABreaker, DerivedKey, DerivedKind, DerivedKindOf, HashedKey, HashedKind,
        HashedKindOf, KEYED_CALL_CAPACITY, KeyBreakers, KeyTag, NeitherKind, NeitherKindOf,
    };
    pub use crate::policy::{
        CredentialErrors, FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window,
    };
    pub use crate::registry::{configured, named};
    pub use ::core::borrow::Borrow;
    pub use ::core::iter::{IntoIterator, Iterator};
}
