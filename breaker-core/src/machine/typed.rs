use core::fmt;

use super::{AsyncFire, Fire, Machine, StateMachine};

/// A state of machine `Machine`, as a type (generated: `<machine>::state::<State>`), holding
/// the state's data if it carries any.
pub trait StateType: Sized + 'static {
    /// The machine the state belongs to.
    type Machine: StateMachine;
    /// The state's kind.
    const STATE: <Self::Machine as StateMachine>::StateKind;

    /// The state as a value of the machine's state enum.
    fn into_state(self) -> <Self::Machine as StateMachine>::State;

    /// This state out of the machine's state enum, if `state` is this state.
    fn from_state(state: <Self::Machine as StateMachine>::State) -> Option<Self>;
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
    state: S,
    context: C,
}

impl<S: StateType, C> Typed<S, C> {
    /// A typed machine in state `S`, a state without data.
    pub fn new(context: C) -> Self
    where
        S: Default,
    {
        Self::with_state(S::default(), context)
    }

    /// A typed machine in state `state`, with its data.
    pub fn with_state(state: S, context: C) -> Self {
        Self { state, context }
    }

    /// The current state, as a value.
    pub fn state(&self) -> <S::Machine as StateMachine>::StateKind {
        S::STATE
    }

    /// The current state's data.
    pub fn data(&self) -> &S {
        &self.state
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
        Machine::with_state(self.state.into_state(), self.context)
    }

    /// Fires `event` along an unguarded edge of the table; runs the row's actions and the
    /// entry and exit actions it crosses.
    pub fn fire<E>(self, event: E) -> Typed<E::To, C>
    where
        E: Edge<S>,
        S::Machine: Fire<C>,
    {
        let event = event.into();
        let mut context = self.context;
        let mut state = self.state.into_state();
        let fired = S::Machine::fire(&mut state, &event, &mut context);
        // The generated `Edge` impls and `fire` come from the same unguarded table row.
        debug_assert!(fired.is_ok_and(|kind| kind == <E::To as StateType>::STATE));
        Typed::with_state(arrived(state), context)
    }

    /// Fires `event` along a (possibly guarded) edge of the table: the machine in the target
    /// state, or in its current state when no guard held.
    pub fn try_fire<E>(self, event: E) -> Result<Typed<E::To, C>, Self>
    where
        E: GuardedEdge<S>,
        S::Machine: Fire<C>,
    {
        let event = event.into();
        let mut context = self.context;
        let mut state = self.state.into_state();
        match S::Machine::fire(&mut state, &event, &mut context) {
            Ok(_) => Ok(Typed::with_state(arrived(state), context)),
            // Refused: the state is unchanged.
            Err(_) => Err(Typed::with_state(arrived::<S>(state), context)),
        }
    }

    /// [`Typed::fire`] for a machine declared `async`. Dropping the future drops the machine.
    pub async fn fire_async<E>(self, event: E) -> Typed<E::To, C>
    where
        E: Edge<S>,
        S::Machine: AsyncFire<C>,
    {
        let event = event.into();
        let mut context = self.context;
        let mut state = self.state.into_state();
        let mut interrupted = None;
        let fired = S::Machine::fire(&mut state, &event, &mut context, &mut interrupted).await;
        debug_assert!(fired.is_ok_and(|kind| kind == <E::To as StateType>::STATE));
        Typed::with_state(arrived(state), context)
    }

    /// [`Typed::try_fire`] for a machine declared `async`. Dropping the future drops the
    /// machine.
    pub async fn try_fire_async<E>(self, event: E) -> Result<Typed<E::To, C>, Self>
    where
        E: GuardedEdge<S>,
        S::Machine: AsyncFire<C>,
    {
        let event = event.into();
        let mut context = self.context;
        let mut state = self.state.into_state();
        let mut interrupted = None;
        match S::Machine::fire(&mut state, &event, &mut context, &mut interrupted).await {
            Ok(_) => Ok(Typed::with_state(arrived(state), context)),
            Err(_) => Err(Typed::with_state(arrived::<S>(state), context)),
        }
    }
}

/// The typed state a transition arrived in. The typed edges and the transition function are
/// generated from the same rows, so the state is always the edge's target.
fn arrived<T: StateType>(state: <T::Machine as StateMachine>::State) -> T {
    match T::from_state(state) {
        Some(state) => state,
        None => unreachable!("a typed edge of the table led to another state"),
    }
}

impl<S: StateType + fmt::Debug, C: fmt::Debug> fmt::Debug for Typed<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(<S::Machine as StateMachine>::NAME)
            .field("state", &self.state)
            .field("context", &self.context)
            .finish()
    }
}
