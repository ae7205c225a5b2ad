//! Procedural macros of the [`breaker`](https://docs.rs/breaker) crate. Use them through
//! `breaker`, which re-exports them and the runtime their code calls.

mod doc;
mod state_machine;
mod suggest;

use proc_macro::TokenStream;

/// Declares a state machine as a transition table that the compiler checks.
///
/// ```
/// use breaker::state_machine;
///
/// state_machine! {
///     /// A door.
///     pub Door {
///         initial: Closed,
///         final: Broken,
///         Closed + Open => Opened,
///         Opened + Close => Closed,
///         Closed + Lock [has_key] / log_lock => Locked,
///         Locked + Unlock [has_key] => Closed,
///         Locked + Kick => Broken,
///     }
/// }
///
/// struct Hand { key: bool, locks: u32 }
///
/// impl DoorContext for Hand {
///     fn has_key(&self, _: &DoorEvent) -> bool { self.key }
///     fn log_lock(&mut self, _: &DoorEvent) { self.locks += 1 }
/// }
///
/// let mut door = Door::machine(Hand { key: false, locks: 0 });
/// assert!(door.fire(DoorEvent::Lock).is_err()); // no key: the guard refuses
/// door.context_mut().key = true;
/// assert_eq!(door.fire(DoorEvent::Lock), Ok(DoorState::Locked));
/// assert_eq!(door.context().locks, 1);
/// assert!(Door::mermaid().contains("Closed --> Locked : Lock [has_key] / log_lock"));
/// ```
///
/// # The table
///
/// Entries are separated by commas, in any order:
///
/// | entry | meaning |
/// |---|---|
/// | `initial: State` | the state a new machine starts in; exactly one |
/// | `final: State` or `final: [A, B]` | states the machine ends in: they have no way out |
/// | `states: [A, B, ...]` | optional: declares the states; then a state not in the list is an error |
/// | `events: [E, F(u32), G { n: u8 }, ...]` | optional: declares the events, which may carry data |
/// | `From + Event => To` | a transition |
/// | `From + Event [guard] => To` | fires only when the guard holds; `guard` combines context methods with `!`, `&&`, `\|\|` and parentheses |
/// | `From + Event / action => To`, `/ (a, b)` | runs context methods when it fires |
/// | `_ + Event => To` | a row for every non-final state that has no unguarded row of its own for `Event` |
///
/// Without `states` and `events` lists, the states and events are those the rows name. Doc
/// comments may stand before the machine, before declared states and events, and before rows.
/// `#[state_machine(crate = path)]` names the `breaker` crate when it is re-exported under
/// another name; `#[state_machine(module = name)]` renames the module of typed states;
/// `#[state_machine(typed = false)]` leaves the typed API out (for a machine driven only by
/// value, such as the circuit breaker's own).
///
/// Rows are tried in the order written (`_` rows after the others): the first whose guard
/// holds runs its actions and gives the next state.
///
/// # What the compiler checks
///
/// Each of these is a compile error pointing at the offending token, all reported at once:
/// an unknown state or event (when declared; with "did you mean"), a state or event declared
/// twice, an event declared but never used, no initial state or two, the same state and event
/// in two rows that can both fire (no guard, or the same guard, or a row after an unguarded
/// one), a state unreachable from the initial state, a state that is not final and has no way
/// out, a final state with a way out, an empty table, a malformed row, a guard that is not
/// made of names, `!`, `&&`, `||`, and a name used as both guard and action.
///
/// # What it generates
///
/// For `pub Door`:
/// - `struct Door`, implementing [`StateMachine`] (the table as data, the Mermaid diagram)
///   and [`Fire`] (the transition function); its rustdoc shows the table and the diagram.
///   `Door::next(state, &event, &mut context)`, `Door::machine(context)`,
///   `Door::typed(context)`, `Door::mermaid()`, `Door::transitions()`.
/// - `enum DoorState`, `enum DoorEvent` (and `enum DoorEventKind`, without the data, when
///   events carry data), each with `name()` and `Display`.
/// - `trait DoorContext`: one method per guard (`fn(&self, &DoorEvent) -> bool`) and per
///   action (`fn(&mut self, &DoorEvent)`). Without guards and actions every type implements
///   it, `()` included. A type that does not implement it gets a message naming the methods.
/// - `mod door { mod state { struct Closed; ... } mod event { struct Open; ... } }`: the
///   states and events as types. [`Typed`] fires a transition only if the table declares it:
///   `Door::typed(ctx).fire(door::event::Open)` compiles, `.fire(door::event::Kick)` from
///   `Closed` does not.
///
/// [`StateMachine`]: ../breaker/machine/trait.StateMachine.html
/// [`Fire`]: ../breaker/machine/trait.Fire.html
/// [`Typed`]: ../breaker/machine/struct.Typed.html
#[proc_macro]
pub fn state_machine(input: TokenStream) -> TokenStream {
    state_machine::expand(input.into()).into()
}
