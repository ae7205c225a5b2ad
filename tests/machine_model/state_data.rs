//! A hierarchical machine whose leaves carry data, against the reference: every action that
//! makes a state puts the step's number in it, so the data after each step says which step
//! last entered the leaf. It must survive internal transitions and be replaced by external
//! ones, self-transitions included; and every action must be given the state it leaves, or
//! for an entry action the state it enters.
//!
//! The same table is also declared `async`, and its runs drop a transition's future at a
//! random awaited guard or action: the machine must then be where the runtime documents
//! (unchanged in a guard, in the source state with its data in an exit or row action, in the
//! target state in an entry action) and say where it was cut.

use breaker::machine::StateMachine;
use proptest::prelude::*;

use crate::driver::{agree, runs, same_flattening, same_hierarchy};
use crate::recorder::{Observed, Recorder, recording_hooks};
use crate::reference::{Table, is, row, state};
use crate::subject::{Driven, DrivenAsync};

/// The courier's table, declared as `$name` with the attributes `$attrs`: once sync, once
/// async.
macro_rules! courier {
    ($(#[$($attrs:tt)*])* $name:ident) => {
        state_machine! {
            $(#[$($attrs)*])*
            pub $name {
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
                Returned + Dispatch / (check, load) => Route,
                Loading + Go / drive => Moving,
                Driving + Go [fast] / drive => Driving,
                Moving + Go / (unjam, drive) => Driving,
                Driving + Honk / honk => _,
                Route + Honk [loud] / complain => _,
                Driving + Jam / jam => Stuck,
                Route + Reload / reload => Loading,
                Route + Recall [far && !loud] / call_back => Depot,
                _ + Recall / recall => Returned,
                Driving + Hand [ready || (fast && !far)] / hand => Delivered,
            }
        }
    };
}

/// The two machines. Unused generated functions (`typed`, `mermaid`) of a table that comes
/// through a `macro_rules!` count as this crate's dead code, as they do not for a table
/// written out.
#[allow(dead_code)]
mod machines {
    use breaker::state_machine;

    courier! {
        /// A courier's round; a leaf's data is the step that entered it.
        Courier
    }

    courier! {
        /// `Courier`, async.
        #[state_machine(async)]
        AsyncCourier
    }
}

use machines::*;

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
            row("Route", "Recall", &["call_back"], "Depot").when(is("far").and(is("loud").not())),
            row("_", "Recall", &["recall"], "Returned"),
            row("Driving", "Hand", &["hand"], "Delivered")
                .when(is("ready").or(is("fast").and(is("far").not()))),
        ],
    }
}

const GUARDS: &[&str] = &["fast", "loud", "far", "ready"];

/// A state's name and data, as the reference writes them; for both machines.
macro_rules! name_and_data {
    ($state_type:ident, $state:expr) => {{
        let (name, data) = match $state {
            $state_type::Depot => ("Depot", None),
            $state_type::Loading { since } => ("Loading", Some(*since)),
            $state_type::Driving(since) => ("Driving", Some(*since)),
            $state_type::Stuck { since } => ("Stuck", Some(*since)),
            $state_type::Returned { since } => ("Returned", Some(*since)),
            $state_type::Delivered => ("Delivered", None),
        };
        (name.to_owned(), data)
    }};
}

fn courier_state(state: &CourierState) -> Observed {
    name_and_data!(CourierState, state)
}

fn async_courier_state(state: &AsyncCourierState) -> Observed {
    name_and_data!(AsyncCourierState, state)
}

/// The context of one of the machines: guards read the step's valuation; actions write down
/// their names and the state they were given, and the ones that make a state put the step's
/// number in it. An async context awaits `Recorder::reach` in each guard and action, where
/// the step may be cut.
macro_rules! courier_context {
    (
        $context:ident for $machine:ident, $state:ident, $kind:ident, $event:ident, $module:ident,
        $observe:ident, $mode:tt
    ) => {
        impl $context for Recorder {
            courier_context!(@guards $state, $event, $observe, $mode, fast, loud, far, ready);
            courier_context!(@actions $state, $event, $observe, $mode,
                check, unjam, honk, complain, call_back, hand);
            courier_context!(@state_actions $state, $observe, $mode,
                leave_depot, board, alight, open_doors, close_doors, start_engine, stop_engine,
                hazard_lights, unload);
            courier_context!(@making $state, $event, $module, $observe, $mode, since;
                load => Loading { since },
                drive => Driving(since),
                jam => Stuck { since },
                reload => Loading { since },
                recall => Returned { since });
            recording_hooks!($machine, $kind, $event);
        }
    };
    (@guards $state:ident, $event:ident, $observe:ident, $mode:tt, $($guard:ident),*) => {
        $(courier_context!(@fn $mode fn $guard(&self, state: &$state, _: &$event) -> bool {
            courier_context!(@reach self, $mode);
            self.guard_given($observe(state));
            self.guard(stringify!($guard))
        });)*
    };
    (@actions $state:ident, $event:ident, $observe:ident, $mode:tt, $($action:ident),*) => {
        $(courier_context!(@fn $mode fn $action(&mut self, state: &$state, _: &$event) {
            self.ran(stringify!($action), $observe(state));
            courier_context!(@reach self, $mode);
        });)*
    };
    (@state_actions $state:ident, $observe:ident, $mode:tt, $($action:ident),*) => {
        $(courier_context!(@fn $mode fn $action(&mut self, state: &$state) {
            self.ran(stringify!($action), $observe(state));
            courier_context!(@reach self, $mode);
        });)*
    };
    (
        @making $state:ident, $event:ident, $module:ident, $observe:ident, $mode:tt, $since:ident;
        $($action:ident => $leaf:ident $fields:tt),*
    ) => {
        $(courier_context!(@fn $mode fn $action(&mut self, state: &$state, _: &$event) -> $module::state::$leaf {
            self.ran(stringify!($action), $observe(state));
            courier_context!(@reach self, $mode);
            let $since = self.step;
            $module::state::$leaf $fields
        });)*
    };
    (@fn [] $($item:tt)*) => { $($item)* };
    (@fn [async] $($item:tt)*) => { async $($item)* };
    (@reach $self:ident, []) => {};
    (@reach $self:ident, [async]) => {
        $self.reach().await
    };
}

courier_context!(CourierContext for Courier, CourierState, CourierStateKind, CourierEvent, courier, courier_state, []);
courier_context!(
    AsyncCourierContext for AsyncCourier, AsyncCourierState, AsyncCourierStateKind,
    AsyncCourierEvent, async_courier, async_courier_state, [async]
);

impl Recorder {
    fn ran(&mut self, action: &'static str, state: Observed) {
        self.log.push(action);
        self.states_seen.push(state);
    }
}

#[test]
fn the_hierarchy_is_the_references() {
    same_hierarchy::<Courier>(&courier_table());
    same_hierarchy::<AsyncCourier>(&courier_table());
}

#[test]
fn the_flattened_rows_are_the_references() {
    same_flattening(&courier_table(), Courier::transitions());
    same_flattening(&courier_table(), AsyncCourier::transitions());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn courier_agrees_with_the_reference(
        run in runs(<Courier as StateMachine>::EVENTS.len(), GUARDS.len(), false)
    ) {
        let courier = Driven {
            machine: Courier::machine(Recorder::default()),
            observe: courier_state,
        };
        agree(&courier_table(), GUARDS, &run, courier)?;
    }

    #[test]
    fn async_courier_agrees_with_the_reference_when_cut(
        run in runs(<AsyncCourier as StateMachine>::EVENTS.len(), GUARDS.len(), true)
    ) {
        let courier = DrivenAsync {
            machine: AsyncCourier::machine(Recorder::default()),
            observe: async_courier_state,
        };
        agree(&courier_table(), GUARDS, &run, courier)?;
    }
}
