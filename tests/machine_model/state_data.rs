//! A hierarchical machine whose leaves carry data, against the reference: every action that
//! makes a state puts the step's number in it, so the data after each step says which step
//! last entered the leaf. It must survive internal transitions and be replaced by external
//! ones, self-transitions included; and every action must be given the state it leaves, or
//! for an entry action the state it enters.

use breaker::machine::StateMachine;
use breaker::state_machine;
use proptest::prelude::*;

use crate::driver::{Recorder, agree, recording_hooks, runs, same_flattening};
use crate::reference::{Table, is, row, state};

state_machine! {
    /// A courier's round; a leaf's data is the step that entered it.
    pub Courier {
        initial: Depot,
        final: [Delivered],
        states: [
            #[exit(leave_depot)]
            Depot,
            #[initial(Loading)] #[entry(board)] #[exit(alight)]
            Route [
                #[entry(open_doors)] #[exit(close_doors)]
                Loading { since: u32 },
                #[initial(Driving)] #[entry(start_engine)] #[exit(stop_engine)]
                Moving [
                    Driving(u32),
                    #[entry(hazard_lights)]
                    Stuck { since: u32 },
                ],
            ],
            #[entry(unload)]
            Returned { since: u32 },
            Delivered,
        ],
        events: [Dispatch, Go, Honk, Jam, Reload, Recall, Hand],
        Depot + Dispatch / load => Route,
        Returned + Dispatch / check, load => Route,
        Loading + Go / drive => Moving,
        Driving + Go [fast] / drive => Driving,
        Moving + Go / unjam, drive => Driving,
        Driving + Honk / honk => _,
        Route + Honk [loud] / complain => _,
        Driving + Jam / jam => Stuck,
        Route + Reload / reload => Loading,
        Route + Recall [far] / call_back => Depot,
        _ + Recall / recall => Returned,
        Driving + Hand [ready] / hand => Delivered,
    }
}

/// `Courier`'s table, as the reference reads it.
fn courier_table() -> Table {
    Table {
        initial: "Depot",
        finals: &["Delivered"],
        states: vec![
            state("Depot").exit(&["leave_depot"]),
            state("Route")
                .initial("Loading")
                .entry(&["board"])
                .exit(&["alight"]),
            state("Loading")
                .under("Route")
                .entry(&["open_doors"])
                .exit(&["close_doors"])
                .with_data(),
            state("Moving")
                .under("Route")
                .initial("Driving")
                .entry(&["start_engine"])
                .exit(&["stop_engine"]),
            state("Driving").under("Moving").with_data(),
            state("Stuck")
                .under("Moving")
                .entry(&["hazard_lights"])
                .with_data(),
            state("Returned").entry(&["unload"]).with_data(),
            state("Delivered"),
        ],
        rows: vec![
            row("Depot", "Dispatch", &["load"], "Route"),
            row("Returned", "Dispatch", &["check", "load"], "Route"),
            row("Loading", "Go", &["drive"], "Moving"),
            row("Driving", "Go", &["drive"], "Driving").when(is("fast")),
            row("Moving", "Go", &["unjam", "drive"], "Driving"),
            row("Driving", "Honk", &["honk"], "_"),
            row("Route", "Honk", &["complain"], "_").when(is("loud")),
            row("Driving", "Jam", &["jam"], "Stuck"),
            row("Route", "Reload", &["reload"], "Loading"),
            row("Route", "Recall", &["call_back"], "Depot").when(is("far")),
            row("_", "Recall", &["recall"], "Returned"),
            row("Driving", "Hand", &["hand"], "Delivered").when(is("ready")),
        ],
    }
}

const GUARDS: &[&str] = &["fast", "loud", "far", "ready"];

/// A state's name and data, as the reference writes them.
fn name_and_data(state: &CourierState) -> (String, Option<u32>) {
    let (name, data) = match state {
        CourierState::Depot => ("Depot", None),
        CourierState::Loading { since } => ("Loading", Some(*since)),
        CourierState::Driving(since) => ("Driving", Some(*since)),
        CourierState::Stuck { since } => ("Stuck", Some(*since)),
        CourierState::Returned { since } => ("Returned", Some(*since)),
        CourierState::Delivered => ("Delivered", None),
    };
    (name.to_owned(), data)
}

impl Recorder {
    fn ran(&mut self, action: &'static str, state: &CourierState) {
        self.log.push(action);
        self.states_seen.push(name_and_data(state));
    }
}

/// The context's methods that make no state: guards read the step's valuation, actions
/// write down their names and the state they were given.
macro_rules! courier_context {
    (
        guards: [$($guard:ident),*],
        actions: [$($action:ident),*],
        state_actions: [$($state_action:ident),*],
        $($making:tt)*
    ) => {
        impl CourierContext for Recorder {
            $(fn $guard(&self, _: &CourierState, _: &CourierEvent) -> bool {
                self.guard(stringify!($guard))
            })*
            $(fn $action(&mut self, state: &CourierState, _: &CourierEvent) {
                self.ran(stringify!($action), state);
            })*
            $(fn $state_action(&mut self, state: &CourierState) {
                self.ran(stringify!($state_action), state);
            })*

            $($making)*

            recording_hooks!(Courier, CourierStateKind, CourierEvent);
        }
    };
}

courier_context! {
    guards: [fast, loud, far, ready],
    actions: [check, unjam, honk, complain, call_back, hand],
    state_actions: [leave_depot, board, alight, open_doors, close_doors, start_engine,
        stop_engine, hazard_lights, unload],

    fn load(&mut self, state: &CourierState, _: &CourierEvent) -> courier::state::Loading {
        self.ran("load", state);
        courier::state::Loading { since: self.step }
    }

    fn drive(&mut self, state: &CourierState, _: &CourierEvent) -> courier::state::Driving {
        self.ran("drive", state);
        courier::state::Driving(self.step)
    }

    fn jam(&mut self, state: &CourierState, _: &CourierEvent) -> courier::state::Stuck {
        self.ran("jam", state);
        courier::state::Stuck { since: self.step }
    }

    fn reload(&mut self, state: &CourierState, _: &CourierEvent) -> courier::state::Loading {
        self.ran("reload", state);
        courier::state::Loading { since: self.step }
    }

    fn recall(&mut self, state: &CourierState, _: &CourierEvent) -> courier::state::Returned {
        self.ran("recall", state);
        courier::state::Returned { since: self.step }
    }
}

#[test]
fn the_flattened_rows_are_the_references() {
    same_flattening(&courier_table(), Courier::transitions());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn courier_agrees_with_the_reference(
        run in runs(<Courier as StateMachine>::EVENTS.len(), GUARDS.len())
    ) {
        agree::<Courier>(&courier_table(), GUARDS, &run, |machine| name_and_data(machine.current()))?;
    }
}
