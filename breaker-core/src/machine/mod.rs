//! The state-machine framework: what a table declared with `state_machine!` implements.
//!
//! A machine is a zero-sized type that implements [`StateMachine`]: its states, its events,
//! its initial and final states, its superstates and its transition table, all as `'static`
//! data. The transition function itself lives in [`Fire`] (or [`AsyncFire`] for a machine
//! declared `async`), generic over the context that supplies the table's guards and actions.
//!
//! Three ways to drive a machine:
//! - [`Machine`]: the state is a value; [`Machine::fire`] takes any event and returns the next
//!   state or an [`InvalidTransition`].
//! - [`AsyncMachine`]: the same for a machine whose guards and actions are `async`; a
//!   transition cut short by dropping its future is reported by [`AsyncMachine::interrupted`].
//! - [`Typed`]: the state is a type; [`Typed::fire`] compiles only for a transition that the
//!   table declares (see [`Edge`]).
//!
//! # The states that run, and the superstates around them
//!
//! A table may nest states inside superstates. The states a machine is *in* are the leaves
//! (the states without children): [`StateMachine::State`] lists them. A superstate groups
//! them: its rows apply to all of them, and its entry and exit actions run when a transition
//! crosses its border. [`StateMachine::TRANSITIONS`] is the table flattened onto the leaves,
//! one row per leaf, with the states each row exits and enters and every action it runs.

use core::fmt;
use core::hash::Hash;

mod asynchronous;
mod running;
mod serde_state;
mod typed;

pub use asynchronous::{AsyncFire, AsyncMachine, Interrupted, Step};
pub use running::Machine;
#[cfg(feature = "serde")]
pub use serde_state::{deserialize_state, serialize_state};
pub use typed::{Edge, EventType, GuardedEdge, StateType, Typed};

/// A state machine declared as a transition table.
///
/// Implemented by the type that `state_machine!` generates; there is rarely a reason to
/// implement it by hand.
pub trait StateMachine: Sized + 'static {
    /// The state a running machine is in: one of the leaves of the table, with its data.
    type State: fmt::Debug + 'static;
    /// The states without their data, a fieldless enum (the same type as [`Self::State`]
    /// when no state carries data).
    type StateKind: Copy + Eq + Hash + fmt::Debug + fmt::Display + 'static;
    /// The events, an enum whose variants may carry data.
    type Event;
    /// The events without their data, a fieldless enum (the same type as [`Self::Event`]
    /// when no event carries data).
    type EventKind: Copy + Eq + Hash + fmt::Debug + fmt::Display + 'static;

    /// The machine's name, as declared.
    const NAME: &'static str;
    /// The state a new machine starts in (a leaf without data).
    const INITIAL: Self::State;
    /// Every state a machine can be in (the leaves), in declaration order.
    const STATES: &'static [Self::StateKind];
    /// Every event, in declaration order.
    const EVENTS: &'static [Self::EventKind];
    /// The states the machine ends in.
    const FINAL: &'static [Self::StateKind];
    /// The superstates, outermost first in declaration order; empty for a flat table.
    const SUPERSTATES: &'static [Superstate<Self::StateKind>] = &[];
    /// The transition table flattened onto the leaves: for every leaf and event, the rows
    /// that can take it, in the order they are tried (the leaf's own rows, then its
    /// superstates' from the innermost out, then the `_` rows).
    const TRANSITIONS: &'static [Transition<Self::StateKind, Self::EventKind>];
    /// The table as a Mermaid `stateDiagram-v2`.
    const MERMAID: &'static str;

    /// The kind of an event, without its data.
    fn event_kind(event: &Self::Event) -> Self::EventKind;

    /// The kind of a state, without its data.
    fn state_kind(state: &Self::State) -> Self::StateKind;

    /// Whether `state` is one of the final states.
    fn is_final(state: Self::StateKind) -> bool {
        Self::FINAL.contains(&state)
    }

    /// Whether `state` is the state named `name` or lies inside the superstate named `name`.
    fn is_in(state: Self::StateKind, name: &str) -> bool {
        state.to_string() == name
            || Self::SUPERSTATES
                .iter()
                .any(|s| s.name == name && s.states.contains(&state))
    }

    /// The rows of the table that leave `state`.
    fn transitions_from(
        state: Self::StateKind,
    ) -> impl Iterator<Item = &'static Transition<Self::StateKind, Self::EventKind>> {
        Self::TRANSITIONS.iter().filter(move |t| t.from == state)
    }
}

/// The transition function of a machine, for a context type `C` that provides the table's
/// guards, actions and hooks.
///
/// The generated implementation tries the rows that can take the event in the current
/// state, in the order of [`StateMachine::TRANSITIONS`]: the first row whose guard holds (or
/// that has no guard) fires. It runs the exit actions of the states it leaves (innermost
/// first), the row's actions, then the entry actions of the states it enters (outermost
/// first); an internal row runs its actions only.
pub trait Fire<C: ?Sized>: StateMachine {
    /// Fires `event` in `state`: on success `state` is the next state and its kind is
    /// returned; on refusal `state` is unchanged.
    fn fire(
        state: &mut Self::State,
        event: &Self::Event,
        context: &mut C,
    ) -> Result<Self::StateKind, InvalidTransition<Self>>;
}

/// A type that provides the guards and actions of machine `M`: every type that implements
/// the context trait `state_machine!` generates for `M`.
///
/// It exists for its message: a type that is not a context is told so in these words.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a context of state machine `{M}`",
    label = "this type does not implement `{M}Context`",
    note = "implement `{M}Context` for it: its methods are the guards and actions of the table"
)]
pub trait ContextOf<M: StateMachine> {}

impl<M: Fire<C>, C: ?Sized> ContextOf<M> for C {}

/// One row of a transition table, flattened onto a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition<S: 'static, E: 'static> {
    /// The state the row leaves (a leaf).
    pub from: S,
    /// The event that fires it.
    pub event: E,
    /// The state the row enters (a leaf: a superstate target is resolved to its initial
    /// leaf; `from` itself for an internal row).
    pub to: S,
    /// The guard expression, as written, if the row has one.
    pub guard: Option<&'static str>,
    /// The actions the row runs, as written, in order.
    pub actions: &'static [&'static str],
    /// The state the row is written on: `from`, one of its superstates, or `"_"`.
    pub source: &'static str,
    /// Whether the row is internal (`=> _`): no state is exited or entered.
    pub internal: bool,
    /// The states the row leaves, innermost first (leaves and superstates, by name).
    pub exits: &'static [&'static str],
    /// The states the row enters, outermost first.
    pub entries: &'static [&'static str],
    /// Every action the transition runs, in order: exit actions, the row's actions, entry
    /// actions.
    pub effects: &'static [&'static str],
}

/// A superstate of a table: a state that groups others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Superstate<S: 'static> {
    /// Its name, as declared.
    pub name: &'static str,
    /// The superstate it is declared in, if any.
    pub parent: Option<&'static str>,
    /// The leaf a transition into it enters (following the initial children down).
    pub initial: S,
    /// The leaves inside it, at any depth, in declaration order.
    pub states: &'static [S],
    /// Its entry actions, in order.
    pub entry: &'static [&'static str],
    /// Its exit actions, in order.
    pub exit: &'static [&'static str],
}

/// Why an event was refused: the table has no row for it, or no row's guard held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// The table declares no transition from this state on this event.
    Undeclared,
    /// The table declares transitions from this state on this event, and every one of them
    /// is guarded by a guard that did not hold.
    GuardsFailed,
}

/// An event that the current state does not accept.
pub struct InvalidTransition<M: StateMachine> {
    /// The state the machine was (and still is) in.
    pub from: M::StateKind,
    /// The event that was refused.
    pub event: M::EventKind,
    /// Why it was refused.
    pub reason: Refusal,
}

impl<M: StateMachine> Clone for InvalidTransition<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: StateMachine> Copy for InvalidTransition<M> {}

impl<M: StateMachine> PartialEq for InvalidTransition<M> {
    fn eq(&self, other: &Self) -> bool {
        self.from == other.from && self.event == other.event && self.reason == other.reason
    }
}

impl<M: StateMachine> Eq for InvalidTransition<M> {}

impl<M: StateMachine> fmt::Debug for InvalidTransition<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvalidTransition")
            .field("machine", &M::NAME)
            .field("from", &self.from)
            .field("event", &self.event)
            .field("reason", &self.reason)
            .finish()
    }
}

impl<M: StateMachine> fmt::Display for InvalidTransition<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            Refusal::Undeclared => write!(
                f,
                "state machine `{}` has no transition from `{}` on `{}`",
                M::NAME,
                self.from,
                self.event
            ),
            Refusal::GuardsFailed => write!(
                f,
                "state machine `{}` refused `{}` in `{}`: no guard held",
                M::NAME,
                self.event,
                self.from
            ),
        }
    }
}

impl<M: StateMachine> std::error::Error for InvalidTransition<M> {}
