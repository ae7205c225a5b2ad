//! A hierarchical machine against the reference: superstates three deep, a superstate's row
//! shadowed by a child's, a guarded child row falling through to its parent's, `_` rows (one
//! guarded and internal), self-transitions on leaves and superstates, a child row with its
//! parent's guard (so the parent's never fires from that child), rows from superstates into their
//! own children, internal transitions, entry and exit actions on leaves and superstates, and
//! a final state inside a superstate, which takes neither the superstate's rows nor `_`'s.

use breaker::machine::StateMachine;
use breaker::state_machine;
use proptest::prelude::*;

use crate::driver::{agree, runs, same_flattening, same_hierarchy};
use crate::recorder::{Recorder, recording_hooks};
use crate::reference::{Refused, Table, is, row, state};
use crate::subject::Driven;

state_machine! {
    /// A job that fetches, parses and stores, and may pause, retry or fail.
    pub Job {
        initial: Idle,
        final: [Done],
        states: [
            #[entry(enter_idle)] #[exit(exit_idle)]
            Idle,
            #[initial(Working)] #[entry(enter_run)] #[exit(exit_run)]
            Run [
                #[initial(Fetch)] #[entry(enter_working)] #[exit(exit_working)]
                Working [
                    #[entry(enter_fetch)] #[exit(exit_fetch)]
                    Fetch,
                    #[initial(Parse)] #[entry(enter_process, log_process)] #[exit(exit_process)]
                    Process [
                        #[entry(enter_parse)]
                        Parse,
                        #[exit(exit_store)]
                        Store,
                    ],
                ],
                #[entry(enter_paused)] #[exit(exit_paused)]
                Paused,
                #[entry(enter_done)]
                Done,
            ],
            #[entry(enter_failed)]
            Failed,
        ],
        events: [Start, Next, Pause, Resume, Retry, Fail, Tick, Finish, Reset],
        Idle + Start / begin => Run,
        Fetch + Next [ready] / fetched => Process,
        Parse + Next / parsed => Store,
        Working + Next [!slow || ready] / (skip, note) => Store,
        Store + Finish [ready && !slow] / finish => Done,
        Parse + Retry [slow] / reparse => Parse,
        Process + Retry [slow] / reprocess => Process,
        Working + Retry [retry] / restart_work => Working,
        Run + Pause / pause => Paused,
        Paused + Resume / resume => Working,
        Process + Reset / restart => Parse,
        Store + Tick / flush => _,
        Run + Tick / heartbeat => _,
        Run + Fail [!critical] / recover => Working,
        _ + Fail / give_up => Failed,
        _ + Tick [slow] / idle_tick => _,
        Failed + Reset / reset => Idle,
    }
}

/// `Job`'s table, as the reference reads it.
fn job_table() -> Table {
    Table {
        initial: "Idle",
        finals: &["Done"],
        states: vec![
            state("Idle").entry(&["enter_idle"]).exit(&["exit_idle"]),
            state("Run")
                .initial("Working")
                .entry(&["enter_run"])
                .exit(&["exit_run"]),
            state("Working")
                .under("Run")
                .initial("Fetch")
                .entry(&["enter_working"])
                .exit(&["exit_working"]),
            state("Fetch")
                .under("Working")
                .entry(&["enter_fetch"])
                .exit(&["exit_fetch"]),
            state("Process")
                .under("Working")
                .initial("Parse")
                .entry(&["enter_process", "log_process"])
                .exit(&["exit_process"]),
            state("Parse").under("Process").entry(&["enter_parse"]),
            state("Store").under("Process").exit(&["exit_store"]),
            state("Paused")
                .under("Run")
                .entry(&["enter_paused"])
                .exit(&["exit_paused"]),
            state("Done").under("Run").entry(&["enter_done"]),
            state("Failed").entry(&["enter_failed"]),
        ],
        rows: vec![
            row("Idle", "Start", &["begin"], "Run"),
            row("Fetch", "Next", &["fetched"], "Process").when(is("ready")),
            row("Parse", "Next", &["parsed"], "Store"),
            row("Working", "Next", &["skip", "note"], "Store")
                .when(is("slow").not().or(is("ready"))),
            row("Store", "Finish", &["finish"], "Done").when(is("ready").and(is("slow").not())),
            row("Parse", "Retry", &["reparse"], "Parse").when(is("slow")),
            row("Process", "Retry", &["reprocess"], "Process").when(is("slow")),
            row("Working", "Retry", &["restart_work"], "Working").when(is("retry")),
            row("Run", "Pause", &["pause"], "Paused"),
            row("Paused", "Resume", &["resume"], "Working"),
            row("Process", "Reset", &["restart"], "Parse"),
            row("Store", "Tick", &["flush"], "_"),
            row("Run", "Tick", &["heartbeat"], "_"),
            row("Run", "Fail", &["recover"], "Working").when(is("critical").not()),
            row("_", "Fail", &["give_up"], "Failed"),
            row("_", "Tick", &["idle_tick"], "_").when(is("slow")),
            row("Failed", "Reset", &["reset"], "Idle"),
        ],
    }
}

const GUARDS: &[&str] = &["ready", "slow", "retry", "critical"];

/// The context's methods: guards read the step's valuation, actions write their names down.
macro_rules! job_context {
    (guards: [$($guard:ident),*], actions: [$($action:ident),*], state_actions: [$($state_action:ident),*]) => {
        impl JobContext for Recorder {
            $(fn $guard(&self, _: &JobEvent) -> bool {
                self.guard(stringify!($guard))
            })*
            $(fn $action(&mut self, _: &JobEvent) {
                self.log.push(stringify!($action));
            })*
            $(fn $state_action(&mut self) {
                self.log.push(stringify!($state_action));
            })*

            recording_hooks!(Job, JobState, JobEvent);
        }
    };
}

job_context! {
    guards: [ready, slow, retry, critical],
    actions: [begin, fetched, parsed, skip, note, finish, reparse, reprocess, restart_work, pause, resume,
        restart, flush, heartbeat, recover, give_up, idle_tick, reset],
    state_actions: [enter_idle, exit_idle, enter_run, exit_run, enter_working, exit_working,
        enter_fetch, exit_fetch, enter_process, log_process, exit_process, enter_parse,
        exit_store, enter_paused, exit_paused, enter_failed, enter_done]
}

/// The reference on rows worked out by hand from the rules, so that the oracle is checked
/// on its own too.
#[test]
fn the_reference_follows_the_rules_on_worked_rows() {
    let table = job_table();
    let from = |leaf: &'static str, event: &str, guards: &[&str]| {
        let (outcome, _) = table.step(leaf, event, &|g| guards.contains(&g));
        outcome.map(|(_, flat)| (flat.exits, flat.effects, flat.to))
    };
    // Into a superstate: down to its initial leaf, outermost first.
    assert_eq!(
        from("Idle", "Start", &[]),
        Ok((
            vec!["Idle"],
            vec![
                "exit_idle",
                "begin",
                "enter_run",
                "enter_working",
                "enter_fetch"
            ],
            "Fetch".to_owned()
        ))
    );
    // The domain of `Paused -> Working` is `Run`: it is neither left nor entered.
    assert_eq!(
        from("Paused", "Resume", &[]),
        Ok((
            vec!["Paused"],
            vec!["exit_paused", "resume", "enter_working", "enter_fetch"],
            "Fetch".to_owned()
        ))
    );
    // From a superstate into its own child: the superstate is left and entered again.
    assert_eq!(
        from("Store", "Pause", &[]),
        Ok((
            vec!["Store", "Process", "Working", "Run"],
            vec![
                "exit_store",
                "exit_process",
                "exit_working",
                "exit_run",
                "pause",
                "enter_run",
                "enter_paused",
            ],
            "Paused".to_owned()
        ))
    );
    // A self-transition on a superstate, reached by falling through a failed guard.
    assert_eq!(
        from("Parse", "Retry", &["retry"]),
        Ok((
            vec!["Parse", "Process", "Working"],
            vec![
                "exit_process",
                "exit_working",
                "restart_work",
                "enter_working",
                "enter_fetch"
            ],
            "Fetch".to_owned()
        ))
    );
    // A leaf's internal row shadows its superstate's; neither leaves the leaf.
    assert_eq!(
        from("Store", "Tick", &[]),
        Ok((vec![], vec!["flush"], "Store".to_owned()))
    );
    // A guarded superstate row that fails falls through to `_`.
    assert_eq!(
        from("Fetch", "Fail", &["critical"]),
        Ok((
            vec!["Fetch", "Working", "Run"],
            vec![
                "exit_fetch",
                "exit_working",
                "exit_run",
                "give_up",
                "enter_failed"
            ],
            "Failed".to_owned()
        ))
    );
    assert_eq!(from("Idle", "Next", &[]), Err(Refused::Undeclared));
    assert_eq!(
        from("Store", "Finish", &["slow"]),
        Err(Refused::GuardsFailed)
    );
    // `Process + Retry [slow]` has the guard that failed on `Parse + Retry [slow]`: from
    // `Parse` it is not tried again.
    assert_eq!(
        table.step("Parse", "Retry", &|_| false).1,
        vec![("Parse", false), ("Working", false)]
    );
    // A final state takes no row, neither its superstate's nor `_`'s.
    assert_eq!(from("Done", "Fail", &[]), Err(Refused::Undeclared));
    assert_eq!(from("Done", "Tick", &["slow"]), Err(Refused::Undeclared));
    assert_eq!(from("Idle", "Tick", &[]), Err(Refused::GuardsFailed));
    // Into a final state inside the superstate: its domain is that superstate.
    assert_eq!(
        from("Store", "Finish", &["ready"]),
        Ok((
            vec!["Store", "Process", "Working"],
            vec![
                "exit_store",
                "exit_process",
                "exit_working",
                "finish",
                "enter_done"
            ],
            "Done".to_owned()
        ))
    );
}

#[test]
fn the_hierarchy_is_the_references() {
    same_hierarchy::<Job>(&job_table());
}

#[test]
fn the_flattened_rows_are_the_references() {
    same_flattening(&job_table(), Job::transitions());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn job_agrees_with_the_reference(
        run in runs(<Job as StateMachine>::EVENTS.len(), GUARDS.len(), false)
    ) {
        let job = Driven {
            machine: Job::machine(Recorder::default()),
            observe: |state: &JobState| (state.to_string(), None),
        };
        agree(&job_table(), GUARDS, &run, job)?;
    }
}
