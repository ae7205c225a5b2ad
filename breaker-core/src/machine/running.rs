use core::fmt;

use super::{Fire, InvalidTransition, StateMachine};

/// The accessors a running machine has, sync or async: its state, with and without data,
/// and its context.
macro_rules! accessors {
    () => {
        /// The current state, without its data.
        pub fn state(&self) -> M::StateKind {
            M::state_kind(&self.state)
        }

        /// The current state, with its data.
        pub fn current(&self) -> &M::State {
            &self.state
        }

        /// Whether the current state is the state named `name` or lies inside the superstate
        /// named `name`.
        pub fn is_in(&self, name: &str) -> bool {
            M::is_in(self.state(), name)
        }

        /// Whether the current state is final.
        pub fn is_final(&self) -> bool {
            M::is_final(self.state())
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

        /// The state and the context, giving up the machine.
        pub fn into_parts(self) -> (M::State, C) {
            (self.state, self.context)
        }
    };
}

pub(super) use accessors;

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

    accessors!();

    /// Fires `event`: on success the machine moves to the returned state; on failure it stays
    /// where it is.
    pub fn fire(&mut self, event: M::Event) -> Result<M::StateKind, InvalidTransition<M>>
    where
        M: Fire<C>,
    {
        M::fire(&mut self.state, &event, &mut self.context)
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
