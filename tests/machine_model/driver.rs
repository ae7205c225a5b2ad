//! The random runs, and the comparison of a generated machine with the reference: its
//! tables, and its runs step by step.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Display;

use breaker::machine::{Refusal, StateMachine, Transition};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::recorder::{Observed, flat_of};
use crate::reference::{Flat, Phase, Refused, SuperstateRow, Table};
use crate::subject::Subject;

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
            .guards_called()
            .into_iter()
            .map(str::to_owned)
            .collect();
        prop_assert_eq!(
            &seen_guards,
            &guards_called[..called].to_vec(),
            "guards called, {}",
            at
        );
        if has_data {
            let given = seen.guard_states();
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
