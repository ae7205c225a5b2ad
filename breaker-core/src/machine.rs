//! The state-machine framework: what a table declared with `state_machine!` implements.
//!
//! A machine is a zero-sized type that implements [`StateMachine`]: its states, its events,
//! its initial and final states and its transition table, all as `'static` data. The
//! transition function itself lives in [`Fire`], generic over the context that supplies the
//! table's guards and actions.
//!
//! Two ways to drive a machine:
//! - [`Machine`]: the state is a value; [`Machine::fire`] takes any event and returns the next
//!   state or an [`InvalidTransition`].
//! - [`Typed`]: the state is a type; [`Typed::fire`] compiles only for a transition that the
//!   table declares (see [`Edge`]).

use core::fmt;
use core::hash::Hash;
use core::marker::PhantomData;

/// A state machine declared as a transition table.
///
/// Implemented by the type that `state_machine!` generates; there is rarely a reason to
/// implement it by hand.
pub trait StateMachine: Sized + 'static {
    /// The states, a fieldless enum.
    type State: Copy + Eq + Hash + fmt::Debug + fmt::Display + 'static;
    /// The events, an enum whose variants may carry data.
    type Event;
    /// The events without their data, a fieldless enum (the same type as [`Self::Event`]
    /// when no event carries data).
    type EventKind: Copy + Eq + Hash + fmt::Debug + fmt::Display + 'static;

    /// The machine's name, as declared.
    const NAME: &'static str;
    /// The state a new machine starts in.
    const INITIAL: Self::State;
    /// Every state, in declaration order.
    const STATES: &'static [Self::State];
    /// Every event, in declaration order.
    const EVENTS: &'static [Self::EventKind];
    /// The states the machine ends in.
    const FINAL: &'static [Self::State];
    /// The transition table, one row per declared transition (a `_` row is expanded into one
    /// row per state it applies to), in the order rows are tried.
    const TRANSITIONS: &'static [Transition<Self::State, Self::EventKind>];
    /// The table as a Mermaid `stateDiagram-v2`.
    const MERMAID: &'static str;

    /// The kind of an event, without its data.
    fn event_kind(event: &Self::Event) -> Self::EventKind;

    /// Whether `state` is one of the final states.
    fn is_final(state: Self::State) -> bool {
        Self::FINAL.contains(&state)
    }

    /// The rows of the table that leave `state`.
    fn transitions_from(
        state: Self::State,
    ) -> impl Iterator<Item = &'static Transition<Self::State, Self::EventKind>> {
        Self::TRANSITIONS.iter().filter(move |t| t.from == state)
    }
}

/// The transition function of a machine, for a context type `C` that provides the table's
/// guards and actions.
///
/// The generated implementation tries the rows for the current state and the event in table
/// order: the first row whose guard holds (or that has no guard) runs its action and gives
/// the next state.
pub trait Fire<C: ?Sized>: StateMachine {
    /// Fires `event` in state `from`: the next state, or why there is none.
    fn next(
        from: Self::State,
        event: &Self::Event,
        context: &mut C,
    ) -> Result<Self::State, InvalidTransition<Self>>;
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

/// One row of a transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition<S: 'static, E: 'static> {
    /// The state the row leaves.
    pub from: S,
    /// The event that fires it.
    pub event: E,
    /// The state the row enters.
    pub to: S,
    /// The guard expression, as written, if the row has one.
    pub guard: Option<&'static str>,
    /// The actions the row runs, as written, in order.
    pub actions: &'static [&'static str],
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
    pub from: M::State,
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

/// A running machine: its current state and the context that provides its guards and
/// actions.
///
/// ```
/// use breaker::state_machine;
///
/// state_machine! {
///     /// A turnstile.
///     pub Turnstile {
///         initial: Locked,
///         Locked + Coin => Unlocked,
///         Unlocked + Push => Locked,
///     }
/// }
///
/// let mut gate = Turnstile::machine(());
/// assert_eq!(gate.state(), TurnstileState::Locked);
/// assert_eq!(gate.fire(TurnstileEvent::Coin), Ok(TurnstileState::Unlocked));
/// let refused = gate.fire(TurnstileEvent::Coin).unwrap_err();
/// assert_eq!(refused.from, TurnstileState::Unlocked);
/// assert_eq!(gate.state(), TurnstileState::Unlocked);
/// ```
pub struct Machine<M: StateMachine, C> {
    state: M::State,
    context: C,
}

impl<M: StateMachine, C> Machine<M, C> {
    /// A machine in its initial state.
    pub fn new(context: C) -> Self {
        Self::with_state(M::INITIAL, context)
    }

    /// A machine resumed in `state` (for example one read back from storage).
    pub fn with_state(state: M::State, context: C) -> Self {
        Self { state, context }
    }

    /// The current state.
    pub fn state(&self) -> M::State {
        self.state
    }

    /// Whether the current state is final.
    pub fn is_final(&self) -> bool {
        M::is_final(self.state)
    }

    /// The context.
    pub fn context(&self) -> &C {
        &self.context
    }

    /// The context, mutably.
    pub fn context_mut(&mut self) -> &mut C {
        &mut self.context
    }

    /// The context, giving up the machine.
    pub fn into_context(self) -> C {
        self.context
    }

    /// Fires `event`: on success the machine moves to the returned state; on failure it stays
    /// where it is.
    pub fn fire(&mut self, event: M::Event) -> Result<M::State, InvalidTransition<M>>
    where
        M: Fire<C>,
    {
        let next = M::next(self.state, &event, &mut self.context)?;
        self.state = next;
        Ok(next)
    }
}

impl<M: StateMachine, C: fmt::Debug> fmt::Debug for Machine<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(M::NAME)
            .field("state", &self.state)
            .field("context", &self.context)
            .finish()
    }
}

/// A state of machine `Machine`, as a type (generated: `<machine>::state::<State>`).
pub trait StateType: 'static {
    /// The machine the state belongs to.
    type Machine: StateMachine;
    /// The state as a value.
    const STATE: <Self::Machine as StateMachine>::State;
}

/// An event of a machine, as a type (generated: `<machine>::event::<Event>`).
pub trait EventType: Into<<Self::Machine as StateMachine>::Event> {
    /// The machine the event belongs to.
    type Machine: StateMachine;
}

/// This event leaves state `S` along a row of the table with one target state and no guard:
/// [`Typed::fire`] takes it and cannot fail.
///
/// Implemented on the event rather than the state: the compiler then learns the event from
/// the argument of `fire`, never from the table, and a wrong event gets this message.
#[diagnostic::on_unimplemented(
    message = "the table declares no unguarded transition from `{S}` on `{Self}`",
    label = "no unguarded row of the table leaves `{S}` on this event",
    note = "a typed transition must be a row of the `state_machine!` table; a guarded row is fired with `try_fire`"
)]
pub trait Edge<S: StateType>: EventType<Machine = S::Machine> {
    /// The state the transition enters.
    type To: StateType<Machine = S::Machine>;
}

/// This event leaves state `S` along rows of the table with one target state, guarded or
/// not: [`Typed::try_fire`] takes it and fails when no guard holds.
#[diagnostic::on_unimplemented(
    message = "the table declares no transition from `{S}` on `{Self}` with a single target state",
    label = "no row of the table leaves `{S}` on this event",
    note = "a typed transition must be a row of the `state_machine!` table"
)]
pub trait GuardedEdge<S: StateType>: EventType<Machine = S::Machine> {
    /// The state the transition enters when a guard holds.
    type To: StateType<Machine = S::Machine>;
}

/// A running machine whose state is a type: only the transitions the table declares
/// compile.
///
/// ```
/// use breaker::state_machine;
///
/// state_machine! {
///     pub Turnstile {
///         initial: Locked,
///         Locked + Coin => Unlocked,
///         Unlocked + Push => Locked,
///     }
/// }
///
/// let gate = Turnstile::typed(());
/// let gate = gate.fire(turnstile::event::Coin);
/// let gate = gate.fire(turnstile::event::Push);
/// assert_eq!(gate.state(), TurnstileState::Locked);
/// ```
///
/// A transition that is not in the table is a compile error:
///
/// ```compile_fail
/// # use breaker::state_machine;
/// # state_machine! { pub Turnstile { initial: Locked, Locked + Coin => Unlocked, Unlocked + Push => Locked } }
/// let gate = Turnstile::typed(());
/// let gate = gate.fire(turnstile::event::Push); // Locked + Push is not declared
/// ```
pub struct Typed<S: StateType, C> {
    context: C,
    state: PhantomData<fn() -> S>,
}

impl<S: StateType, C> Typed<S, C> {
    /// A typed machine in state `S`.
    pub fn new(context: C) -> Self {
        Self {
            context,
            state: PhantomData,
        }
    }

    /// The current state, as a value.
    pub fn state(&self) -> <S::Machine as StateMachine>::State {
        S::STATE
    }

    /// The context.
    pub fn context(&self) -> &C {
        &self.context
    }

    /// The context, mutably.
    pub fn context_mut(&mut self) -> &mut C {
        &mut self.context
    }

    /// The context, giving up the machine.
    pub fn into_context(self) -> C {
        self.context
    }

    /// The same machine with its state as a value.
    pub fn into_machine(self) -> Machine<S::Machine, C> {
        Machine::with_state(S::STATE, self.context)
    }

    /// Fires `event` along an unguarded edge of the table; runs the row's actions.
    pub fn fire<E>(mut self, event: E) -> Typed<E::To, C>
    where
        E: Edge<S>,
        S::Machine: Fire<C>,
    {
        let event = event.into();
        let next = S::Machine::next(S::STATE, &event, &mut self.context);
        // The generated `Edge` impls and `next` come from the same table row.
        debug_assert!(next == Ok(<E::To as StateType>::STATE));
        Typed::new(self.context)
    }

    /// Fires `event` along a (possibly guarded) edge of the table: the machine in the target
    /// state, or in its current state when no guard held.
    pub fn try_fire<E>(mut self, event: E) -> Result<Typed<E::To, C>, Self>
    where
        E: GuardedEdge<S>,
        S::Machine: Fire<C>,
    {
        let event = event.into();
        match S::Machine::next(S::STATE, &event, &mut self.context) {
            Ok(_) => Ok(Typed::new(self.context)),
            Err(_) => Err(self),
        }
    }
}

impl<S: StateType, C: fmt::Debug> fmt::Debug for Typed<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(<S::Machine as StateMachine>::NAME)
            .field("state", &S::STATE)
            .field("context", &self.context)
            .finish()
    }
}

/// A machine's state as serde writes it: its name, as declared. What the `Serialize` impl
/// that `state_machine!` generates (with the `serde` feature) calls.
#[cfg(feature = "serde")]
pub fn serialize_state<M: StateMachine, S: serde::Serializer>(
    state: &M::State,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(state)
}

/// A machine's state read back from its name; an unknown name is an error that names the
/// machine and lists its states. What the `Deserialize` impl that `state_machine!` generates
/// (with the `serde` feature) calls.
#[cfg(feature = "serde")]
pub fn deserialize_state<'de, M: StateMachine, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<M::State, D::Error> {
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
    M::STATES
        .iter()
        .copied()
        .find(|state| state.to_string() == *name)
        .ok_or_else(|| {
            let known: Vec<String> = M::STATES.iter().map(|s| format!("`{s}`")).collect();
            D::Error::custom(format!(
                "unknown state `{name}` of the machine `{}`: expected one of {}",
                M::NAME,
                known.join(", ")
            ))
        })
}

/// The serde impls of a machine's state type, emitted by `state_machine!` through this
/// macro so that the crate's `serde` feature decides whether they exist.
#[doc(hidden)]
#[cfg(feature = "serde")]
#[macro_export]
macro_rules! __serde_state {
    ($machine:ty, $state:ty) => {
        #[automatically_derived]
        impl $crate::__private::serde::Serialize for $state {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> $crate::__private::Result<S::Ok, S::Error> {
                $crate::__private::serialize_state::<$machine, S>(self, serializer)
            }
        }

        #[automatically_derived]
        impl<'de> $crate::__private::serde::Deserialize<'de> for $state {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> $crate::__private::Result<Self, D::Error> {
                $crate::__private::deserialize_state::<$machine, D>(deserializer)
            }
        }
    };
}

/// Without the `serde` feature: nothing.
#[doc(hidden)]
#[cfg(not(feature = "serde"))]
#[macro_export]
macro_rules! __serde_state {
    ($machine:ty, $state:ty) => {};
}
