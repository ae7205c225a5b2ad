//! What the model tests share: the context that records what a machine does, the random
//! steps, and the comparison of a generated machine with the reference, step by step.

use std::collections::BTreeMap;
use std::fmt::Display;

use breaker::machine::{Fire, InvalidTransition, Machine, Refusal, StateMachine, Transition};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::reference::{Flat, Refused, Table};

/// One step of a run: an event (its index in the machine's `EVENTS`) and the value of every
/// guard while it is fired.
#[derive(Debug, Clone)]
pub struct Step {
    pub event: usize,
    pub guards: Vec<bool>,
}

/// Runs of up to 40 steps over `events` events and `guards` guards.
pub fn runs(events: usize, guards: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = (0..events, prop::collection::vec(any::<bool>(), guards))
        .prop_map(|(event, guards)| Step { event, guards });
    prop::collection::vec(step, 0..=40)
}

/// The context of the machines under test: its guards answer from the step's valuation, and
/// its actions and hooks write down what ran.
#[derive(Debug, Default)]
pub struct Recorder {
    guards: BTreeMap<&'static str, bool>,
    /// The step being fired: the data that the actions put in a state.
    pub step: u32,
    /// Exit, row and entry actions, in the order they ran.
    pub log: Vec<&'static str>,
    /// For each action logged by a machine whose states carry data: the state it was given
    /// (name and data).
    pub states_seen: Vec<(String, Option<u32>)>,
    /// `on_guard`: where each evaluated row is written, and whether its guard held.
    pub hook_guards: Vec<(&'static str, bool)>,
    /// `on_transition`'s row.
    pub hook_transitions: Vec<Flat>,
    /// `on_refusal`'s reason.
    pub hook_refusals: Vec<Refusal>,
}

impl Recorder {
    pub fn guard(&self, name: &str) -> bool {
        *self
            .guards
            .get(name)
            .unwrap_or_else(|| panic!("the test gives no value to the guard `{name}`"))
    }

    fn begin_step(&mut self, step: u32, guards: BTreeMap<&'static str, bool>) {
        *self = Recorder {
            guards,
            step,
            ..Recorder::default()
        };
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

/// The machine's flattened rows against the reference's: the same rows, tried in the same
/// order, for every leaf and event.
pub fn same_flattening<S: Display, E: Display>(table: &Table, generated: &[Transition<S, E>]) {
    let by_leaf_and_event = |rows: &mut Vec<Flat>| {
        // Stable: the order in which one leaf tries its rows for one event is kept.
        rows.sort_by(|a, b| (&a.from, &a.event).cmp(&(&b.from, &b.event)));
    };
    let mut expected = table.flatten();
    by_leaf_and_event(&mut expected);
    let mut actual: Vec<Flat> = generated.iter().map(flat_of).collect();
    by_leaf_and_event(&mut actual);
    for (e, a) in expected.iter().zip(&actual) {
        assert_eq!(
            a, e,
            "flattened rows differ (left: generated, right: reference)"
        );
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "the generated and reference flattenings have different lengths"
    );
}

fn refused(reason: Refusal) -> Option<Refused> {
    match reason {
        Refusal::Undeclared => Some(Refused::Undeclared),
        Refusal::GuardsFailed => Some(Refused::GuardsFailed),
        _ => None,
    }
}

/// Fires `run` on a new machine and on the reference, comparing after each step the state
/// (name and data, as `observe` reads them), the actions run in order, the refusal, and what
/// the hooks saw. `guard_names` gives the names of `Step::guards`, in order.
pub fn agree<M>(
    table: &Table,
    guard_names: &[&'static str],
    run: &[Step],
    observe: impl Fn(&Machine<M, Recorder>) -> (String, Option<u32>),
) -> Result<(), TestCaseError>
where
    M: StateMachine<Event = <M as StateMachine>::EventKind> + Fire<Recorder>,
{
    let mut machine = Machine::<M, Recorder>::new(Recorder::default());
    let mut leaf = table.initial_leaf();
    let mut data: Option<u32> = None;
    prop_assert_eq!(observe(&machine), (leaf.to_owned(), data));
    for (index, step) in run.iter().enumerate() {
        let valuation: BTreeMap<&'static str, bool> = guard_names
            .iter()
            .copied()
            .zip(step.guards.iter().copied())
            .collect();
        let number = u32::try_from(index).expect("a run is short") + 1;
        machine.context_mut().begin_step(number, valuation.clone());
        let event = M::EVENTS[step.event];
        let event_name = event.to_string();
        let fired = machine.fire(event);

        let (expected, evaluated) = table.step(leaf, &event_name, &|g| valuation[g]);
        let at = format!("step {number}: `{leaf}` + `{event_name}` with {valuation:?}");
        let seen = machine.context();
        prop_assert_eq!(&seen.hook_guards, &evaluated, "guards evaluated, {}", at);
        match (fired, expected) {
            (Ok(_), Ok((_, flat))) => {
                prop_assert_eq!(&seen.log, &flat.effects, "actions run, {}", at);
                prop_assert_eq!(
                    &seen.hook_transitions,
                    &vec![flat.clone()],
                    "on_transition, {}",
                    at
                );
                prop_assert!(seen.hook_refusals.is_empty(), "on_refusal called, {}", at);
                let before = (leaf.to_owned(), data);
                if !flat.internal {
                    leaf = table
                        .leaves()
                        .find(|l| *l == flat.to)
                        .expect("the reference's target is one of its leaves");
                    data = table.has_data(leaf).then_some(number);
                }
                if table.states.iter().any(|s| s.data) {
                    // The exit and row actions are given the state left; the entry actions
                    // the state entered.
                    let after = (leaf.to_owned(), data);
                    let entries_from = table.entry_actions_start(&flat);
                    let expected_seen: Vec<(String, Option<u32>)> = (0..flat.effects.len())
                        .map(|i| {
                            if i < entries_from {
                                before.clone()
                            } else {
                                after.clone()
                            }
                        })
                        .collect();
                    prop_assert_eq!(
                        &seen.states_seen,
                        &expected_seen,
                        "states given to actions, {}",
                        at
                    );
                }
            }
            (Err(refusal), Err(reason)) => {
                prop_assert_eq!(refused(refusal.reason), Some(reason), "refusal, {}", at);
                prop_assert_eq!(refusal.from.to_string(), leaf, "refused in, {}", at);
                prop_assert!(
                    seen.log.is_empty(),
                    "actions run on a refusal, {}: {:?}",
                    at,
                    seen.log
                );
                prop_assert_eq!(
                    &seen.hook_refusals,
                    &vec![refusal.reason],
                    "on_refusal, {}",
                    at
                );
                prop_assert!(
                    seen.hook_transitions.is_empty(),
                    "on_transition on a refusal, {}",
                    at
                );
            }
            (fired, expected) => {
                let fired = match fired {
                    Ok(_) => format!("a transition to `{}`", machine.state()),
                    Err(refusal) => format!("{refusal}"),
                };
                return Err(TestCaseError::fail(format!(
                    "{at}: the machine gave {fired}, the reference {expected:?}"
                )));
            }
        }
        prop_assert_eq!(
            observe(&machine),
            (leaf.to_owned(), data),
            "state after {}",
            at
        );
    }
    Ok(())
}
