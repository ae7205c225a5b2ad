//! What the model tests share: the context that records what a machine does, the random
//! steps, and the comparison of a generated machine with the reference, step by step.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use breaker::machine::{
    AsyncFire, AsyncMachine, Fire, InvalidTransition, Machine, Refusal, StateMachine, Step as At,
    Transition,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::reference::{Flat, Phase, Refused, SuperstateRow, Table};

/// One step of a run: an event (its index in the machine's `EVENTS`), the value of every
/// guard while it is fired, and for an async machine the awaited call (guard or action,
/// counted from 0) at which the transition's future is dropped, if it is.
#[derive(Debug, Clone)]
pub struct Step {
    pub event: usize,
    pub guards: Vec<bool>,
    pub cut: Option<usize>,
}

/// Runs of up to 40 steps over `events` events and `guards` guards; with `cuts`, about one
/// step in four is dropped at one of its first few awaited calls.
pub fn runs(events: usize, guards: usize, cuts: bool) -> impl Strategy<Value = Vec<Step>> {
    let cut = if cuts {
        prop_oneof![3 => Just(None), 1 => (0..10usize).prop_map(Some)].boxed()
    } else {
        Just(None).boxed()
    };
    let step = (0..events, prop::collection::vec(any::<bool>(), guards), cut)
        .prop_map(|(event, guards, cut)| Step { event, guards, cut });
    prop::collection::vec(step, 0..=40)
}

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
    pub states_seen: Vec<(String, Option<u32>)>,
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

    fn begin_step(
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

/// The machine's superstates, leaves, initial and final leaves against the reference's.
pub fn same_hierarchy<M: StateMachine>(table: &Table) {
    let superstates: Vec<SuperstateRow> = M::SUPERSTATES
        .iter()
        .map(|s| {
            (
                s.name,
                s.parent,
                s.initial.to_string(),
                s.states.iter().map(ToString::to_string).collect(),
                s.entry.to_vec(),
                s.exit.to_vec(),
            )
        })
        .collect();
    assert_eq!(superstates, table.superstates());
    let names = |states: &[M::StateKind]| -> Vec<String> {
        states.iter().map(ToString::to_string).collect()
    };
    let leaves: Vec<String> = table.leaves().map(str::to_owned).collect();
    assert_eq!(names(M::STATES), leaves);
    let finals: Vec<String> = table.finals.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(names(M::FINAL), finals);
}

/// A state as the tests compare it: its name and its data, if it has some.
pub type Observed = (String, Option<u32>);

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
/// `context`, `context_mut` and `current`.
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
                    self.recorder().parked.load(Ordering::Relaxed),
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

fn refused(reason: Refusal) -> Option<Refused> {
    match reason {
        Refusal::Undeclared => Some(Refused::Undeclared),
        Refusal::GuardsFailed => Some(Refused::GuardsFailed),
        _ => None,
    }
}

/// Fires `run` on `subject` and on the reference, comparing after each step the state
/// (name and data), the actions run in order and the states they were given, the refusal,
/// what the hooks saw and, for a step cut short, where the machine says it was cut.
/// `guard_names` gives the names of `Step::guards`, in order.
pub fn agree<S: Subject>(
    table: &Table,
    guard_names: &[&'static str],
    run: &[Step],
    mut subject: S,
) -> Result<(), TestCaseError> {
    let has_data = table.states.iter().any(|s| s.data);
    let mut leaf = table.initial_leaf();
    let mut data: Option<u32> = None;
    prop_assert_eq!(subject.observe(), (leaf.to_owned(), data));
    for (index, step) in run.iter().enumerate() {
        let valuation: BTreeMap<&'static str, bool> = guard_names
            .iter()
            .copied()
            .zip(step.guards.iter().copied())
            .collect();
        let number = u32::try_from(index).expect("a run is short") + 1;
        subject
            .recorder_mut()
            .begin_step(number, valuation.clone(), step.cut);
        let event = <S::M as StateMachine>::EVENTS[step.event];
        let event_name = event.to_string();
        let fired = subject.fire(event);

        let guards_called = RefCell::new(Vec::new());
        let (expected, evaluated) = table.step(leaf, &event_name, &|g| {
            guards_called.borrow_mut().push(g.to_owned());
            valuation[g]
        });
        let guards_called = guards_called.into_inner();
        let guard_calls = guards_called.len();
        let at = format!(
            "step {number}: `{leaf}` + `{event_name}` with {valuation:?}, cut at {:?}",
            step.cut
        );
        let seen = subject.recorder();
        let before = (leaf.to_owned(), data);
        let (effects, after, phases) = match &expected {
            Ok((_, flat)) => {
                let to = if flat.internal {
                    before.clone()
                } else {
                    let to = table
                        .leaves()
                        .find(|l| *l == flat.to)
                        .expect("the reference's target is one of its leaves");
                    (to.to_owned(), table.has_data(to).then_some(number))
                };
                (flat.effects.clone(), to, table.phases(flat))
            }
            Err(_) => (Vec::new(), before.clone(), Vec::new()),
        };
        // The guards called (an async guard is cut before it reads its value), and the
        // actions begun.
        let called = step.cut.unwrap_or(usize::MAX).min(guard_calls);
        let seen_guards: Vec<String> = seen
            .guards_called
            .lock()
            .expect("no guard panicked")
            .iter()
            .map(|g| (*g).to_owned())
            .collect();
        prop_assert_eq!(
            &seen_guards,
            &guards_called[..called].to_vec(),
            "guards called, {}",
            at
        );
        if has_data {
            let given = seen.guard_states.lock().expect("no guard panicked").clone();
            prop_assert_eq!(
                given,
                vec![before.clone(); called],
                "states given to guards, {}",
                at
            );
        }
        let ran = match step.cut {
            Some(k) if k < guard_calls => 0,
            Some(k) if k < guard_calls + effects.len() => k - guard_calls + 1,
            _ => effects.len(),
        };
        prop_assert_eq!(&seen.log, &effects[..ran].to_vec(), "actions run, {}", at);
        if has_data {
            // The exit and row actions are given the state left; the entry actions the
            // state entered.
            let given: Vec<Observed> = phases[..ran]
                .iter()
                .map(|phase| match phase {
                    Phase::Entry(_) => after.clone(),
                    Phase::Exit(_) | Phase::Action => before.clone(),
                })
                .collect();
            prop_assert_eq!(&seen.states_seen, &given, "states given to actions, {}", at);
        }
        // The state the machine is in afterwards.
        let now = match step.cut {
            Some(k) if k < guard_calls => {
                prop_assert!(fired.is_none(), "not cut in a guard, {}", at);
                prop_assert_eq!(subject.interrupted(), None, "cut in a guard, {}", at);
                before.clone()
            }
            Some(k) if k < guard_calls + effects.len() => {
                let e = k - guard_calls;
                prop_assert!(fired.is_none(), "not cut in an action, {}", at);
                let Ok((_, flat)) = &expected else {
                    unreachable!("a refusal runs no action")
                };
                let now = match phases[e] {
                    Phase::Entry(_) => after.clone(),
                    Phase::Exit(_) | Phase::Action => before.clone(),
                };
                let expected_cut = (
                    leaf.to_owned(),
                    event_name.clone(),
                    flat.to.clone(),
                    phases[e],
                    effects[e],
                );
                prop_assert_eq!(subject.interrupted(), Some(expected_cut), "cut, {}", at);
                now
            }
            _ => {
                let Some(fired) = fired else {
                    return Err(TestCaseError::fail(format!(
                        "{at}: cut, but the reference says the step has no call there"
                    )));
                };
                prop_assert_eq!(subject.interrupted(), None, "interrupted, {}", at);
                prop_assert_eq!(&seen.hook_guards, &evaluated, "guards evaluated, {}", at);
                match (fired, &expected) {
                    (Ok(kind), Ok((_, flat))) => {
                        prop_assert_eq!(&kind.to_string(), &after.0, "fired into, {}", at);
                        prop_assert_eq!(
                            &seen.hook_transitions,
                            &vec![flat.clone()],
                            "on_transition, {}",
                            at
                        );
                        prop_assert!(seen.hook_refusals.is_empty(), "on_refusal called, {}", at);
                    }
                    (Err(refusal), Err(reason)) => {
                        prop_assert_eq!(refused(refusal.reason), Some(*reason), "refusal, {}", at);
                        prop_assert_eq!(refusal.from.to_string(), leaf, "refused in, {}", at);
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
                            Ok(kind) => format!("a transition to `{kind}`"),
                            Err(refusal) => format!("{refusal}"),
                        };
                        return Err(TestCaseError::fail(format!(
                            "{at}: the machine gave {fired}, the reference {expected:?}"
                        )));
                    }
                }
                after.clone()
            }
        };
        (leaf, data) = (
            table
                .leaves()
                .find(|l| *l == now.0)
                .expect("the reference's state is one of its leaves"),
            now.1,
        );
        prop_assert_eq!(subject.observe(), now, "state after {}", at);
        for state in &table.states {
            prop_assert_eq!(
                subject.is_in(state.name),
                table.path_up(leaf).contains(&state.name),
                "is_in({:?}) after {}",
                state.name,
                at
            );
        }
    }
    Ok(())
}
