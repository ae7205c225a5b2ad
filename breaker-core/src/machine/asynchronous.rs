//! Machines whose guards and actions are `async`, and what a dropped transition leaves (see
//! [`AsyncMachine`]'s section on cancellation).

use core::fmt;
use core::future::Future;

use super::{InvalidTransition, StateMachine};

/// The transition function of a machine declared `async`, for a context type `C` whose
/// guards and actions are `async`.
///
/// Rows are chosen and effects run in the same order as [`Fire`](super::Fire); before each
/// awaited action, `interrupted` is set to say where the transition is, and it is reset to
/// `None` once the transition is complete or refused.
pub trait AsyncFire<C: ?Sized>: StateMachine {
    /// Fires `event` in `state`: on success `state` is the next state and its kind is
    /// returned; on refusal `state` is unchanged.
    fn fire<'a>(
        state: &'a mut Self::State,
        event: &'a Self::Event,
        context: &'a mut C,
        interrupted: &'a mut Option<Interrupted<Self>>,
    ) -> impl Future<Output = Result<Self::StateKind, InvalidTransition<Self>>> + Send + 'a;
}

/// A transition whose future was dropped before it completed.
pub struct Interrupted<M: StateMachine> {
    /// The state the transition left.
    pub from: M::StateKind,
    /// The event that fired it.
    pub event: M::EventKind,
    /// The state it was going to.
    pub to: M::StateKind,
    /// The action it was running when it was dropped.
    pub step: Step,
}

/// Where in a transition an action runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// An exit action of `state`: the machine is still in the source state.
    Exit {
        /// The state being left (a leaf or a superstate, by name).
        state: &'static str,
        /// The action.
        action: &'static str,
    },
    /// One of the row's actions: the machine is still in the source state.
    Action {
        /// The action.
        action: &'static str,
    },
    /// An entry action of `state`: the machine is already in the target state.
    Entry {
        /// The state being entered (a leaf or a superstate, by name).
        state: &'static str,
        /// The action.
        action: &'static str,
    },
}

impl<M: StateMachine> Clone for Interrupted<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: StateMachine> Copy for Interrupted<M> {}

impl<M: StateMachine> PartialEq for Interrupted<M> {
    fn eq(&self, other: &Self) -> bool {
        self.from == other.from
            && self.event == other.event
            && self.to == other.to
            && self.step == other.step
    }
}

impl<M: StateMachine> Eq for Interrupted<M> {}

impl<M: StateMachine> fmt::Debug for Interrupted<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interrupted")
            .field("machine", &M::NAME)
            .field("from", &self.from)
            .field("event", &self.event)
            .field("to", &self.to)
            .field("step", &self.step)
            .finish()
    }
}

impl<M: StateMachine> fmt::Display for Interrupted<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (from, event, to) = (self.from, self.event, self.to);
        let name = M::NAME;
        match self.step {
            Step::Exit { state, action } => write!(
                f,
                "`{name}`: `{from} + {event} => {to}` was dropped in the exit action `{action}` of `{state}`; the machine is still in `{from}`"
            ),
            Step::Action { action } => write!(
                f,
                "`{name}`: `{from} + {event} => {to}` was dropped in its action `{action}`; the machine is still in `{from}`"
            ),
            Step::Entry { state, action } => write!(
                f,
                "`{name}`: `{from} + {event} => {to}` was dropped in the entry action `{action}` of `{state}`; the machine is in `{to}`"
            ),
        }
    }
}

/// A running machine declared `async`: its current state, the context that provides its
/// `async` guards and actions, and the transition a dropped `fire` cut short, if any.
///
/// # Cancellation
///
/// A transition of an async machine is a future, and a future may be dropped at any await:
/// by a timeout, a `select!`, a cancelled task. The generated transition function records,
/// before each action it awaits, which action it is in; the state itself changes at one
/// point only, after the row's actions and before the entry actions. So a transition cut
/// short leaves the machine in a state that says what happened:
///
/// | dropped during | the machine's state | [`AsyncMachine::interrupted`] |
/// |---|---|---|
/// | a guard | unchanged: nothing was done | `None` |
/// | an exit action or a row action | the source state, its data intact | the transition, at that action |
/// | an entry action | the target state | the transition, at that entry action |
///
/// Actions already run are not undone: the record says which ran, so the caller can decide.
///
/// ```
/// use breaker::state_machine;
///
/// state_machine! {
///     #[state_machine(async)]
///     pub Job {
///         initial: Queued,
///         final: Done,
///         Queued + Start / fetch => Running,
///         Running + Finish => Done,
///     }
/// }
///
/// struct Worker { fetched: u32 }
///
/// impl JobContext for Worker {
///     async fn fetch(&mut self, _event: &JobEvent) {
///         self.fetched += 1;
///     }
/// }
///
/// # futures_lite_block_on(async {
/// let mut job = Job::machine(Worker { fetched: 0 });
/// assert_eq!(job.fire(JobEvent::Start).await, Ok(JobState::Running));
/// assert_eq!(job.context().fetched, 1);
/// assert!(job.interrupted().is_none());
/// # });
/// # fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     let mut future = std::pin::pin!(future);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) { return out; }
/// #     }
/// # }
/// ```
pub struct AsyncMachine<M: StateMachine, C> {
    state: M::State,
    context: C,
    interrupted: Option<Interrupted<M>>,
}

impl<M: StateMachine, C> AsyncMachine<M, C> {
    /// A machine in its initial state.
    pub fn new(context: C) -> Self {
        Self::with_state(M::INITIAL, context)
    }

    /// A machine resumed in `state` (for example one read back from storage).
    pub fn with_state(state: M::State, context: C) -> Self {
        Self {
            state,
            context,
            interrupted: None,
        }
    }

    super::running::accessors!();

    /// The transition the last `fire` was running when its future was dropped, if it was
    /// dropped after its first action began (see [cancellation](Self#cancellation) for the
    /// state it leaves). Cleared by the next `fire`.
    pub fn interrupted(&self) -> Option<&Interrupted<M>> {
        self.interrupted.as_ref()
    }

    /// Fires `event`: on success the machine moves to the returned state; on refusal it
    /// stays where it is. Dropping the future before it completes leaves the machine as
    /// [cancellation](Self#cancellation) describes.
    pub async fn fire(&mut self, event: M::Event) -> Result<M::StateKind, InvalidTransition<M>>
    where
        M: AsyncFire<C>,
    {
        self.interrupted = None;
        M::fire(
            &mut self.state,
            &event,
            &mut self.context,
            &mut self.interrupted,
        )
        .await
    }
}

impl<M: StateMachine, C: fmt::Debug> fmt::Debug for AsyncMachine<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(M::NAME)
            .field("state", &self.state)
            .field("context", &self.context)
            .field("interrupted", &self.interrupted)
            .finish()
    }
}
