//! The machines under test, sync or async, behind one interface for the comparison.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use breaker::machine::{
    AsyncFire, AsyncMachine, Fire, InvalidTransition, Machine, StateMachine, Step as At,
};

use crate::recorder::{Observed, Recorder};
use crate::reference::Phase;

/// An interrupted transition in the reference's terms: from, event, to, where, which action.
pub type Cut = (String, String, String, Phase, &'static str);

/// A machine under test, sync or async.
pub trait Subject {
    type M: StateMachine<Event = <Self::M as StateMachine>::EventKind>;
    fn recorder(&self) -> &Recorder;
    fn recorder_mut(&mut self) -> &mut Recorder;
    /// Fires `event`; `None` when the transition's future was dropped at the step's cut.
    #[allow(clippy::type_complexity)]
    fn fire(
        &mut self,
        event: <Self::M as StateMachine>::EventKind,
    ) -> Option<Result<<Self::M as StateMachine>::StateKind, InvalidTransition<Self::M>>>;
    fn observe(&self) -> Observed;
    fn is_in(&self, name: &str) -> bool;
    fn interrupted(&self) -> Option<Cut>;
}

/// The methods of `Subject` that read the same on a sync and an async machine: both have
/// `context`, `context_mut`, `current` and `is_in`.
macro_rules! machine_accessors {
    () => {
        fn recorder(&self) -> &Recorder {
            self.machine.context()
        }

        fn recorder_mut(&mut self) -> &mut Recorder {
            self.machine.context_mut()
        }

        fn observe(&self) -> Observed {
            (self.observe)(self.machine.current())
        }

        fn is_in(&self, name: &str) -> bool {
            self.machine.is_in(name)
        }
    };
}

/// A sync machine, with how to read its state.
pub struct Driven<M: StateMachine> {
    pub machine: Machine<M, Recorder>,
    pub observe: fn(&M::State) -> Observed,
}

impl<M> Subject for Driven<M>
where
    M: StateMachine<Event = <M as StateMachine>::EventKind> + Fire<Recorder>,
{
    type M = M;

    machine_accessors!();

    fn fire(&mut self, event: M::EventKind) -> Option<Result<M::StateKind, InvalidTransition<M>>> {
        Some(self.machine.fire(event))
    }

    fn interrupted(&self) -> Option<Cut> {
        None
    }
}

/// An async machine, with how to read its state.
pub struct DrivenAsync<M: StateMachine> {
    pub machine: AsyncMachine<M, Recorder>,
    pub observe: fn(&M::State) -> Observed,
}

impl<M> Subject for DrivenAsync<M>
where
    M: StateMachine<Event = <M as StateMachine>::EventKind> + AsyncFire<Recorder>,
{
    type M = M;

    machine_accessors!();

    fn fire(&mut self, event: M::EventKind) -> Option<Result<M::StateKind, InvalidTransition<M>>> {
        // The context's calls are ready at once, except the one the step is cut at: one
        // poll completes the transition or leaves it there, and then it is dropped.
        let polled = pin!(self.machine.fire(event)).poll(&mut Context::from_waker(Waker::noop()));
        match polled {
            Poll::Ready(result) => Some(result),
            Poll::Pending => {
                assert!(
                    self.recorder().parked(),
                    "the transition's future is pending, but not at the step's cut"
                );
                None
            }
        }
    }

    fn interrupted(&self) -> Option<Cut> {
        self.machine.interrupted().map(|cut| {
            let (phase, action) = match cut.step {
                At::Exit { state, action } => (Phase::Exit(state), action),
                At::Action { action } => (Phase::Action, action),
                At::Entry { state, action } => (Phase::Entry(state), action),
                other => panic!("an interrupted step the reference does not know: {other:?}"),
            };
            (
                cut.from.to_string(),
                cut.event.to_string(),
                cut.to.to_string(),
                phase,
                action,
            )
        })
    }
}
