//! Runtime of the [`breaker`](https://docs.rs/breaker) crate.
//!
//! Users depend on `breaker`, which re-exports this crate and the macros; this crate holds
//! everything that runs: the state-machine framework ([`machine`]) and the circuit breaker
//! built on it.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod machine;

pub use breaker_macros::state_machine;

/// What generated code names, by absolute path. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::machine::{
        ContextOf, Edge, EventType, Fire, GuardedEdge, InvalidTransition, Machine, Refusal,
        StateMachine, StateType, Transition, Typed,
    };
    pub use ::core::clone::Clone;
    pub use ::core::cmp::{Eq, Ord, PartialEq, PartialOrd};
    pub use ::core::convert::From;
    pub use ::core::default::Default;
    pub use ::core::fmt;
    pub use ::core::fmt::Debug;
    pub use ::core::hash::Hash;
    pub use ::core::marker::{Copy, Sized};
    pub use ::core::ops::FnMut;
    pub use ::core::option::Option::{self, None, Some};
    pub use ::core::result::Result::{self, Err, Ok};
    pub use ::core::time::Duration;
    pub use ::core::{concat, module_path, panic};

    pub use crate::backoff::{Backoff, Jitter};
    pub use crate::breaker::CircuitBreaker;
    pub use crate::clock::{Clock, RealClock};
    pub use crate::config::{BreakerConfig, ConfigError};
    pub use crate::guard::{GuardedResult, LazyBreaker, as_result, method_name, reject};
    pub use crate::policy::{FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window};
    pub use crate::registry::{BreakerSettings, configured, named};
    pub use ::core::borrow::Borrow;
    pub use ::core::iter::{IntoIterator, Iterator};
}

pub mod backoff;
pub mod breaker;
pub mod clock;
pub mod config;
pub mod error;
pub mod events;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod export;
pub mod guard;
pub mod permit;
pub mod policy;
pub mod registry;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

pub use breaker::{BreakerName, Circuit, CircuitBreaker, CircuitEvent, CircuitState};
pub use clock::{Clock, ManualClock, RealClock};
pub use config::{BreakerConfig, ConfigError};
pub use error::{BreakerError, CircuitOpen};
pub use events::{Metrics, StateChange};
pub use permit::{OwnedPermit, Permit};
pub use policy::{FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window};
