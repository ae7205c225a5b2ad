//! The context of the machines under test, which records what they do.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use breaker::machine::{InvalidTransition, Refusal, StateMachine, Transition};

use crate::reference::Flat;

/// A state as the tests compare it: its name and its data, if it has some.
pub type Observed = (String, Option<u32>);

/// The context of the machines under test: its guards answer from the step's valuation, and
/// its actions and hooks write down what ran.
#[derive(Debug, Default)]
pub struct Recorder {
    guards: BTreeMap<&'static str, bool>,
    /// The step being fired: the data that the actions put in a state.
    pub step: u32,
    /// Exit, row and entry actions, in the order they began.
    pub log: Vec<&'static str>,
    /// For each action logged by a machine whose states carry data: the state it was given
    /// (name and data).
    pub states_seen: Vec<Observed>,
    /// `on_guard`: where each evaluated row is written, and whether its guard held.
    pub hook_guards: Vec<(&'static str, bool)>,
    /// `on_transition`'s row.
    pub hook_transitions: Vec<Flat>,
    /// `on_refusal`'s reason.
    pub hook_refusals: Vec<Refusal>,
    /// The guards called, in order.
    guards_called: Mutex<Vec<&'static str>>,
    /// For each guard of a machine whose states carry data: the state it was given.
    guard_states: Mutex<Vec<Observed>>,
    /// Async: the awaited calls begun in this step.
    calls: AtomicUsize,
    /// Async: the call that never completes, so that the step's future is dropped in it.
    cut_at: Option<usize>,
    /// Async: whether the step reached `cut_at`.
    parked: AtomicBool,
}

impl Recorder {
    /// The guard `name`: its value in this step.
    pub fn guard(&self, name: &'static str) -> bool {
        self.guards_called
            .lock()
            .expect("no guard panics while holding the lock")
            .push(name);
        *self
            .guards
            .get(name)
            .unwrap_or_else(|| panic!("the test gives no value to the guard `{name}`"))
    }

    /// Ready for a new step: nothing recorded, the step's guard values and cut.
    pub fn begin_step(
        &mut self,
        step: u32,
        guards: BTreeMap<&'static str, bool>,
        cut_at: Option<usize>,
    ) {
        *self = Recorder {
            guards,
            step,
            cut_at,
            ..Recorder::default()
        };
    }

    /// The guards called in this step, in order.
    pub fn guards_called(&self) -> Vec<&'static str> {
        self.guards_called
            .lock()
            .expect("no guard panicked")
            .clone()
    }

    /// The states given to the guards in this step, in order.
    pub fn guard_states(&self) -> Vec<Observed> {
        self.guard_states.lock().expect("no guard panicked").clone()
    }

    /// Whether this step reached its cut.
    pub fn parked(&self) -> bool {
        self.parked.load(Ordering::Relaxed)
    }

    /// A guard of a machine whose states carry data was given `state`.
    pub fn guard_given(&self, state: Observed) {
        self.guard_states
            .lock()
            .expect("no guard panics while holding the lock")
            .push(state);
    }

    /// An awaited call of an async context: the one the step is cut at never completes.
    pub async fn reach(&self) {
        if Some(self.calls.fetch_add(1, Ordering::Relaxed)) == self.cut_at {
            self.parked.store(true, Ordering::Relaxed);
            std::future::pending::<()>().await;
        }
    }

    pub fn saw_guard<S, E>(&mut self, row: &'static Transition<S, E>, held: bool) {
        self.hook_guards.push((row.source, held));
    }

    pub fn saw_transition<S: Display, E: Display>(&mut self, row: &'static Transition<S, E>) {
        self.hook_transitions.push(flat_of(row));
    }

    pub fn saw_refusal<M: StateMachine>(&mut self, refusal: &InvalidTransition<M>) {
        self.hook_refusals.push(refusal.reason);
    }
}

/// The hooks of a context trait, recording into the `Recorder`: written inside `impl
/// <Machine>Context for Recorder`, given the machine and its state and event kinds.
macro_rules! recording_hooks {
    ($machine:ty, $state_kind:ty, $event_kind:ty) => {
        fn on_guard(
            &mut self,
            row: &'static breaker::machine::Transition<$state_kind, $event_kind>,
            held: bool,
        ) {
            self.saw_guard(row, held);
        }

        fn on_transition(
            &mut self,
            row: &'static breaker::machine::Transition<$state_kind, $event_kind>,
        ) {
            self.saw_transition(row);
        }

        fn on_refusal(&mut self, refusal: &breaker::machine::InvalidTransition<$machine>) {
            self.saw_refusal(refusal);
        }
    };
}
pub(crate) use recording_hooks;

/// A generated row in the reference's terms.
pub fn flat_of<S: Display, E: Display>(row: &Transition<S, E>) -> Flat {
    Flat {
        from: row.from.to_string(),
        event: row.event.to_string(),
        source: row.source,
        to: row.to.to_string(),
        internal: row.internal,
        exits: row.exits.to_vec(),
        entries: row.entries.to_vec(),
        effects: row.effects.to_vec(),
    }
}
