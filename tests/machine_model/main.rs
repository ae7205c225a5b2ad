//! Model tests of `state_machine!`'s hierarchical machines: random runs of events, with
//! random guard values at each step, fired on generated machines and on a reference
//! interpreter of the same tables (`reference`), which flattens the hierarchy itself. After
//! every step they must agree on the state (with its data), the guards called, the actions
//! run and their order, the states the actions were given, the refusal, and what the hooks
//! saw; an async machine's steps are also dropped at random awaits, and it must say where.
//! The generated flattened rows and superstates must be the reference's.
//!
//! proptest keeps the regressions in `tests/proptest-regressions/`, next to this directory.

mod driver;
mod hierarchy;
mod recorder;
mod reference;
mod state_data;
mod subject;
