//! Procedural macros of the [`breaker`](https://docs.rs/breaker) crate. Use them through
//! `breaker`, which re-exports them and the runtime their code calls.

mod args;
mod circuit_breaker;
mod circuit_breakers;
mod diagnostics;
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
/// | `From + Event / action => _` | an internal transition: the state (and its data) stays, no exit or entry action runs |
///
/// Without `states` and `events` lists, the states and events are those the rows name. Doc
/// comments may stand before the machine, before declared states and events, and before rows.
/// `#[state_machine(crate = path)]` names the `breaker` crate when it is re-exported under
/// another name; `#[state_machine(module = name)]` renames the module of typed states;
/// `#[state_machine(typed = false)]` leaves the typed API out (for a machine driven only by
/// value, such as the circuit breaker's own); `#[state_machine(non_exhaustive)]` makes the
/// state and event enums `#[non_exhaustive]`, for a table that a library publishes and may
/// grow (the circuit breaker's own is); `#[state_machine(async)]` makes the guards and
/// actions `async` (below).
///
/// # Superstates, entry and exit actions, state data
///
/// In the `states` list, a state may hold others in brackets: a superstate. Attributes on a
/// state give its entry and exit actions; a superstate names the state a transition into it
/// enters:
///
/// ```
/// use breaker::state_machine;
///
/// state_machine! {
///     pub Order {
///         initial: Placed,
///         final: [Delivered, Cancelled],
///         states: [
///             Placed,
///             #[initial(Paid)] #[entry(open_ticket)] #[exit(close_ticket)]
///             Active [
///                 Paid,
///                 Packing { parcel: u32 },
///             ],
///             Delivered,
///             Cancelled,
///         ],
///         Placed + Pay => Active,
///         Paid + Pack / pack => Packing,
///         Packing + Weigh / weigh => _,
///         Packing + Deliver => Delivered,
///         Active + Cancel => Cancelled,
///     }
/// }
///
/// #[derive(Default)]
/// struct Shop { log: Vec<String> }
///
/// impl OrderContext for Shop {
///     fn pack(&mut self, _: &OrderState, _: &OrderEvent) -> order::state::Packing {
///         self.log.push("pack".into());
///         order::state::Packing { parcel: 7 }
///     }
///     fn weigh(&mut self, state: &OrderState, _: &OrderEvent) {
///         if let OrderState::Packing { parcel } = state {
///             self.log.push(format!("weigh {parcel}"));
///         }
///     }
///     fn open_ticket(&mut self, _: &OrderState) { self.log.push("open".into()) }
///     fn close_ticket(&mut self, _: &OrderState) { self.log.push("close".into()) }
/// }
///
/// let mut order = Order::machine(Shop::default());
/// assert_eq!(order.fire(OrderEvent::Pay), Ok(OrderStateKind::Paid)); // enters Active, then Paid
/// order.fire(OrderEvent::Pack).unwrap();
/// order.fire(OrderEvent::Weigh).unwrap(); // internal: no exit, no entry
/// assert!(order.is_in("Active"));
/// order.fire(OrderEvent::Cancel).unwrap(); // the superstate's row, from Packing
/// assert_eq!(order.context().log, ["open", "pack", "weigh 7", "close"]);
/// ```
///
/// - **The states a machine is in are the leaves.** `initial: X` and `=> X` with `X` a
///   superstate mean its `#[initial(..)]` state, followed down to a leaf.
/// - **Which row fires.** For the current state and an event, the rows tried are the
///   state's own, then its superstate's, out to the outermost, then the `_` rows, each
///   level in table order; the first whose guard holds fires. A guard that fails falls
///   through to the next row, the superstates' included. A row behind a closer row with
///   the same guard, as written, is not tried again: guards are read as questions without
///   side effects, and that one has already said no.
/// - **The order of effects.** A transition runs the exit actions of the states it leaves,
///   innermost first, up to the innermost superstate that holds both the row's state and
///   its target; then the row's actions; then the entry actions of the states it enters,
///   outermost first, down to the target's leaf. A row whose target is its own state (or a
///   superstate's row into the superstate itself, or into one of its states) leaves and
///   re-enters that state: a self-transition. `=> _` is an internal transition: only the
///   row's actions run.
/// - **State data.** A leaf may carry fields, like an event. The last action of a row into
///   it returns them, as the struct `<module>::state::<State>` (fields public). When any
///   state carries data, every guard and action also receives the current state:
///   `fn guard(&self, state: &OrderState, event: &OrderEvent) -> bool`, and entry and exit
///   actions `fn(&mut self, state: &OrderState)`. The initial state carries no data.
///
/// # Async machines
///
/// With `#[state_machine(async)]`, every guard and action of the context returns
/// `impl Future<Output = ..> + Send` (write them as `async fn`), `Order::machine(context)`
/// is an [`AsyncMachine`] and `fire(event).await` is a future. A `fire` whose future is
/// dropped leaves the machine in a defined state, and [`AsyncMachine::interrupted`] says
/// where it stopped: see [`AsyncMachine`]'s section on cancellation. The runtime needs no
/// executor of its own.
///
/// # Hooks
///
/// The context trait has three provided methods that do nothing unless overridden:
/// `on_guard(row, held)` after every guarded row is tried, `on_transition(row)` after every
/// transition, and `on_refusal(refusal)`, each with the row of [`StateMachine::TRANSITIONS`]
/// concerned: for tracing and metrics, without touching the actions.
///
/// # What the compiler checks
///
/// Each of these is a compile error pointing at the offending token, all reported at once:
/// an unknown state or event (when declared; with "did you mean"), a state or event declared
/// twice, an event declared but never used, no initial state or two, the same state and event
/// in two rows that can both fire (no guard, or the same guard, or a row after an unguarded
/// one), a state unreachable from the initial state, a state that is not final and has no way
/// out, a final state with a way out, an empty table, a malformed row, a guard that is not
/// made of names, `!`, `&&`, `||`, and a name used as both guard and action. For
/// superstates: one without `#[initial(..)]` or naming a state not its own, `#[initial]` on
/// a leaf, a superstate declared inside itself, one with no states or with data, a final
/// superstate, and a superstate's row that every state inside takes first with a row of its
/// own. For data: a row into a state with data that no action sets, an initial state with
/// data, an action used with two signatures. Reachability and dead ends are computed on the
/// leaves, with every superstate row applied. An unknown state attribute, a second
/// `#[entry]`, and a guard or action named like a hook are errors too.
///
/// # What it generates
///
/// For `pub Door`:
/// - `struct Door`, implementing [`StateMachine`] (the table as data, flattened onto the
///   leaves, with every row's exits, entries and effects; the superstates; the Mermaid
///   diagram, superstates drawn as composite states) and [`Fire`] (the transition function,
///   or [`AsyncFire`]); its rustdoc shows the table and the diagram.
///   `Door::next(state, &event, &mut context)` (for a machine without state data),
///   `Door::machine(context)`, `Door::typed(context)`, `Door::mermaid()`,
///   `Door::transitions()`.
/// - `enum DoorState`, `enum DoorEvent` (and `enum DoorStateKind`, `enum DoorEventKind`,
///   without the data, when states or events carry data), each with `name()` and `Display`.
/// - `trait DoorContext`: one method per guard (`fn(&self, &DoorEvent) -> bool`) and per
///   action (`fn(&mut self, &DoorEvent)`), entry and exit actions (`fn(&mut self)`), and the
///   hooks. Without guards and actions `()` implements it. A type that does not implement
///   it gets a message naming the methods.
/// - `mod door { mod state { struct Closed; ... } mod event { struct Open; ... } }`: the
///   states (with their data) and events as types. [`Typed`] fires a transition only if the
///   table declares it: `Door::typed(ctx).fire(door::event::Open)` compiles,
///   `.fire(door::event::Kick)` from `Closed` does not.
/// - With the `serde` feature, `Serialize` and `Deserialize` for `DoorState`: a state
///   without data as its name, a state with data as `{"Name": data}`; an unknown name is an
///   error that lists the states.
///
/// [`StateMachine`]: ../breaker/machine/trait.StateMachine.html
/// [`Fire`]: ../breaker/machine/trait.Fire.html
/// [`Typed`]: ../breaker/machine/struct.Typed.html
/// [`AsyncMachine`]: ../breaker/machine/struct.AsyncMachine.html
/// [`AsyncMachine::interrupted`]: ../breaker/machine/struct.AsyncMachine.html#method.interrupted
/// [`AsyncFire`]: ../breaker/machine/trait.AsyncFire.html
/// [`StateMachine::TRANSITIONS`]: ../breaker/machine/trait.StateMachine.html#associatedconstant.TRANSITIONS
#[proc_macro]
pub fn state_machine(input: TokenStream) -> TokenStream {
    state_machine::expand(input.into()).into()
}

/// Guards a function, or every method of a trait, with a circuit breaker.
///
/// ```
/// use breaker::{CircuitOpen, circuit_breaker};
///
/// #[derive(Debug)]
/// enum ProviderError {
///     RateLimited,
///     BadRequest,
///     Unavailable(CircuitOpen),
/// }
///
/// impl From<CircuitOpen> for ProviderError {
///     fn from(open: CircuitOpen) -> Self {
///         ProviderError::Unavailable(open)
///     }
/// }
///
/// impl ProviderError {
///     fn is_outage(&self) -> bool {
///         matches!(self, ProviderError::RateLimited)
///     }
/// }
///
/// #[circuit_breaker(threshold = 2, cooldown = "30s", failure_if = ProviderError::is_outage)]
/// fn complete(prompt: &str) -> Result<String, ProviderError> {
///     if prompt.is_empty() {
///         return Err(ProviderError::BadRequest); // returned as it is; not a failure
///     }
///     Err(ProviderError::RateLimited)
/// }
///
/// assert!(matches!(complete(""), Err(ProviderError::BadRequest)));
/// assert!(matches!(complete("hi"), Err(ProviderError::RateLimited)));
/// assert!(matches!(complete("hi"), Err(ProviderError::RateLimited)));
/// // Two outages in a row: the circuit is open, and calls are rejected without running.
/// assert!(matches!(complete("hi"), Err(ProviderError::Unavailable(_))));
/// assert_eq!(complete_breaker().state(), breaker::CircuitState::Open);
/// ```
///
/// # Arguments
///
/// | argument | meaning | default |
/// |---|---|---|
/// | `threshold = 5` | consecutive failures that open the circuit (at least 1) | 5 |
/// | `cooldown = "30s"` | how long the circuit stays open before a probe; a duration string, checked at compile time | `"30s"` |
/// | `half_open_max = 1` | probes in flight at once when half-open (1 to 1,000) | 1 |
/// | `half_open_timeout = "60s"` | how long a probe may be out, from its own admission, before it is given up as lost and its slot goes to the next caller | `"60s"` |
/// | `backoff = "exponential"` | each opening in a row lasts `backoff_multiplier` times longer, up to `max_cooldown`; `"fixed"`: the cooldown every time | `"fixed"` |
/// | `backoff_multiplier = 2.0` | the exponential backoff's growth (at least 1) | 2 |
/// | `max_cooldown = "10m"` | the exponential backoff's cap (at least the cooldown) | `"10m"` |
/// | `jitter = "full"` | randomise each opening: `"full"` anywhere in `[0, d]`, `"equal"` in `[d/2, d]`, `"none"` | `"none"` |
/// | `window_size = 100` | trip on rates over the last 100 calls instead of consecutive failures (1 to 100,000) | none |
/// | `window = "60s"` | or over the calls of the last 60 s (more than zero) | none |
/// | `window_buckets = 10` | time window only: how many buckets it moves by (1 to 1,000) | 10 |
/// | `failure_rate = 50` | with a window: the failure rate that trips, in percent (1 to 100) | 50 |
/// | `minimum_calls = 10` | with a window: calls it must hold before a rate trips (at most `window_size`) | the window size; 10 for a time window |
/// | `slow_call_duration = "2s"` | with a window: a call slower than this is slow (more than zero) | none |
/// | `slow_call_rate = 100` | with `slow_call_duration`: the slow-call rate that trips, in percent (1 to 100) | 100 |
/// | `success_threshold = 1` | successful probes in HalfOpen that close the circuit (at least 1) | 1 |
/// | `ignored_errors = "success"` | what an error `failure_if` ignores counts as: `"neither"` or `"success"` | `"neither"` |
/// | `name = "openai"` | the breaker's name; functions with the same name share one breaker | the function's path |
/// | `failure_if = path` | a `fn(&E) -> bool`: which errors count as failures; the others count as `ignored_errors` says, and are returned unchanged | every `Err` |
/// | `classify = path` | a `fn(&E) -> impl Into<Verdict>`: what each error says of the remote (a `Verdict`: a failure, a rate limit, down for a while, ignored...; `breaker::http::classify_status` for HTTP statuses); the errors are returned unchanged. Instead of `failure_if`: both is a compile error | every `Err` a failure |
/// | `fallback = path` | called with the function's arguments (same signature; `.await`ed for an `async fn`) when the circuit is open | return `Err(E::from(CircuitOpen))` |
/// | `config = "openai"` | take the settings loaded under this key into [`BreakerRegistry::global`] (from a file) when there are some | the attribute's settings |
/// | `crate = path` | the path of the `breaker` crate, when it is re-exported under another name | `::breaker` |
/// | `per_method` | on a trait: one breaker per method instead of one per wrapper | off |
/// | `key = model` | on a function, or on a trait's method as `#[breaker(key = model)]`: the argument `model` chooses the breaker (see below) | one breaker |
///
/// The settings mean what the keys of the same names mean in a configuration file
/// (`BreakerConfig`), with the same defaults and the same rules, checked at compile time: a
/// window (`window_size` or `window`, not both) selects the failure-rate policy, which
/// `threshold` does not apply to, and the other window settings need one.
///
/// # On a function
///
/// Sync or `async`, free function or method (`&self`, `&mut self`, `self`), generic, with
/// `impl Trait` arguments. The function returns `Result<T, E>`, written so or through an
/// alias of any name (the compiler decides, not the name: a return type that is not a
/// `Result` is an error on it), and `E: From<CircuitOpen>`, so that a rejected call returns
/// `Err(CircuitOpen.into())`. Every way out of the body is recorded: an `Ok` is a success,
/// an `Err` a failure (see `failure_if`), a `?` or an early `return` likewise, a panic a
/// failure after which the panic goes on. An `async` call that is cancelled (its future
/// dropped) counts as neither.
///
/// The breaker is created on the first call, in the process-wide [`BreakerRegistry::global`] under
/// its name, and kept by the function: a call costs one atomic load to find it. A free
/// function `f` gets an accessor `f_breaker()` beside it; a method's breaker is found by
/// name in the registry (its default name is the type's path and the method's name).
/// Registering a breaker under that name before the first call (one on a manual clock, in
/// tests) makes the function use it.
///
/// # On a trait
///
/// `#[circuit_breaker(...)] trait Provider { ... }` keeps the trait and generates
/// `ProviderBreaker<P: Provider>`, which implements `Provider`: each method goes through a
/// breaker, except a method marked `#[breaker(skip)]` and one whose return type cannot be a
/// `Result` by its syntax (none, `()`, a reference, a tuple, an array or slice, `impl Trait`,
/// `dyn Trait`, a primitive such as `bool`, `u32` or `str`, `!`), which are forwarded as they
/// are, and so are the trait's types and constants. Any other return type is guarded, so an
/// alias of `Result` (`type Reply = Result<String, ApiError>`) is too; one that turns out not
/// to be a `Result` (`String`, a struct) is a compile error on it, telling to mark the
/// method `skip`. `ProviderBreaker::new(inner)` builds it on the real clock,
/// `ProviderBreaker::with_clock(inner, clock)` on another; `breaker()`, `breaker_of("method")`,
/// `inner()`, `into_inner()` reach inside. By default the methods share one breaker per
/// wrapper (the provider fails as a whole); `per_method` gives each its own, and so does a
/// method with settings of its own. On a method, `#[breaker(...)]` takes the settings
/// (`threshold`, `cooldown`, ..., `window_size`, ...: the trait's, overridden), `failure_if`
/// or `classify` (either replaces the trait's), `fallback` (called with the inner value and the arguments), or `skip` (forwarded
/// unguarded). A method's setting that conflicts with one it inherits from the trait is
/// reported on the method's. Native `async fn` works;
/// so does a trait under `#[async_trait]`, written below `#[circuit_breaker]`. An `unsafe
/// trait` is refused: the wrapper's `unsafe impl` would promise the trait's safety contract
/// for you. With an error in the arguments, the wrapper is still generated (unguarded, never
/// run), so that the error is the only one reported, however the wrapper is used.
///
/// ```
/// use breaker::{CircuitOpen, ManualClock, circuit_breaker};
///
/// #[derive(Debug)]
/// pub struct ProviderError(String);
///
/// impl From<CircuitOpen> for ProviderError {
///     fn from(open: CircuitOpen) -> Self {
///         ProviderError(open.to_string())
///     }
/// }
///
/// #[circuit_breaker(threshold = 1, cooldown = "10s")]
/// pub trait Provider {
///     fn complete(&self, prompt: &str) -> Result<String, ProviderError>;
///     fn name(&self) -> &str;
/// }
///
/// struct Down;
///
/// impl Provider for Down {
///     fn complete(&self, _: &str) -> Result<String, ProviderError> {
///         Err(ProviderError("503".into()))
///     }
///     fn name(&self) -> &str {
///         "down"
///     }
/// }
///
/// let provider = ProviderBreaker::with_clock(Down, ManualClock::new());
/// assert_eq!(provider.complete("hi").unwrap_err().0, "503");
/// let rejected = provider.complete("hi").unwrap_err();
/// assert!(rejected.0.contains("circuit breaker `Provider` is open"), "{}", rejected.0);
/// assert_eq!(provider.name(), "down"); // returns a reference, not a `Result`: forwarded
/// ```
///
/// # Keyed by an argument
///
/// `key = model` names an argument whose value chooses the breaker, one per value:
///
/// - If the argument's type derives `CircuitBreakers`, the derived per-variant breakers are
///   used: an array indexed by the variant, no lock, no hashing. Each variant keeps the
///   settings of its own `#[breaker]` attributes; the settings written beside `key` do not
///   apply to them (the macro cannot see the argument's type, so writing both is allowed,
///   and the derive's settings win).
/// - If it is a string (`&str`, `String`) or another `Hash + Eq + Display` key, a bounded
///   `KeyedRegistry` holds the breakers, each created on the first call with its value, with
///   the attribute's settings, named `function[value]` (the function's path, or the trait's
///   name and the method's). The registry holds up to 1,024 breakers before it evicts,
///   whatever the keys (see `KeyedRegistry` for when it holds up to twice as many).
/// - Any other type is a compile error on the argument's name in `key = ...`; so is a name
///   that is no argument (with the closest one suggested), a type that mentions the
///   function's own type parameters (the breakers are created once, for one key type), and
///   `key` on a method marked `skip`.
///
/// A free function `f` gets an accessor `f_breakers()` to its breakers (a `KeyBreakers`:
/// `.get(&variant)` for a derived key, `.registry::<String>()` for a string key), which live
/// in a static; a trait's wrapper owns those of method `m` (`wrapper.m_breakers()`), built on
/// the wrapper's clock. The call's own error, the rejection and cancellation behave as
/// without `key`.
///
/// ```
/// use breaker::{CircuitBreakers, CircuitOpen, CircuitState, circuit_breaker};
///
/// #[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
/// #[breaker(threshold = 3, rename_all = "kebab-case")]
/// pub enum Model {
///     #[breaker(threshold = 1)]
///     Gpt4o,
///     ClaudeSonnet,
/// }
///
/// #[derive(Debug)]
/// pub enum ProviderError {
///     Down,
///     Unavailable(CircuitOpen),
/// }
///
/// impl From<CircuitOpen> for ProviderError {
///     fn from(open: CircuitOpen) -> Self {
///         ProviderError::Unavailable(open)
///     }
/// }
///
/// #[circuit_breaker(key = model)]
/// fn complete(model: Model, prompt: &str) -> Result<String, ProviderError> {
///     match model {
///         Model::Gpt4o => Err(ProviderError::Down),
///         Model::ClaudeSonnet => Ok(format!("claude: {prompt}")),
///     }
/// }
///
/// assert!(matches!(complete(Model::Gpt4o, "hi"), Err(ProviderError::Down)));
/// // gpt-4o's breaker (threshold 1) is open; claude's is not touched.
/// assert!(matches!(complete(Model::Gpt4o, "hi"), Err(ProviderError::Unavailable(_))));
/// assert_eq!(complete(Model::ClaudeSonnet, "hi").unwrap(), "claude: hi");
/// let breakers = complete_breakers();
/// assert_eq!(breakers.get(&Model::Gpt4o).unwrap().state(), CircuitState::Open);
/// assert_eq!(breakers.get(&Model::ClaudeSonnet).unwrap().state(), CircuitState::Closed);
///
/// // A string key: a breaker per value, with the attribute's settings.
/// #[circuit_breaker(key = tenant, threshold = 1)]
/// fn quota(tenant: &str) -> Result<u32, ProviderError> {
///     if tenant == "acme" { Err(ProviderError::Down) } else { Ok(10) }
/// }
///
/// assert!(quota("acme").is_err());
/// assert!(matches!(quota("acme"), Err(ProviderError::Unavailable(_))));
/// assert_eq!(quota("globex").unwrap(), 10);
/// ```
///
/// [`BreakerRegistry::global`]: ../breaker/struct.BreakerRegistry.html#method.global
#[proc_macro_attribute]
pub fn circuit_breaker(attr: TokenStream, item: TokenStream) -> TokenStream {
    circuit_breaker::expand(attr.into(), item.into()).into()
}

/// One circuit breaker per variant of a fieldless enum, in an array indexed by the variant.
///
/// ```
/// use breaker::{CircuitBreakers, CircuitState, ManualClock};
///
/// #[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
/// #[breaker(threshold = 5, cooldown = "30s", rename_all = "kebab-case")] // for every variant
/// enum Model {
///     #[breaker(threshold = 2, name = "gpt-4o")]
///     Gpt4o,
///     #[breaker(cooldown = "10s")]
///     ClaudeSonnet, // named "claude-sonnet"
///     Llama,
/// }
///
/// let breakers = ModelBreakers::with_clock(ManualClock::new());
/// for _ in 0..2 {
///     breakers.get(Model::Gpt4o).acquire().unwrap().failure();
/// }
/// assert_eq!(breakers.get(Model::Gpt4o).state(), CircuitState::Open);
/// assert_eq!(breakers.get(Model::ClaudeSonnet).name().as_str(), "claude-sonnet");
/// assert_eq!(breakers.get(Model::Llama).config().threshold, 5);
///
/// for (model, breaker) in breakers.iter() {
///     println!("{model:?}: {}", breaker.state()); // for dashboards
/// }
/// ```
///
/// `#[breaker(...)]` on the enum sets the settings of `#[circuit_breaker]` (`threshold`,
/// `cooldown`, `half_open_max`, `half_open_timeout`, `backoff`, `backoff_multiplier`,
/// `max_cooldown`, `jitter`, `success_threshold`, `ignored_errors`, and the window's
/// `window_size`, `window`, `window_buckets`, `failure_rate`, `minimum_calls`,
/// `slow_call_duration`, `slow_call_rate`) for every variant, `rename_all` (as serde: `"kebab-case"`,
/// `"snake_case"`, `"lowercase"`, ...) and `crate`; on a variant it sets the same settings and
/// `name`; a variant's setting that conflicts with one it inherits (`threshold` under the
/// enum's window, `window` under its `window_size`) is an error on the variant's.
/// `ModelBreakers::new()` builds the breakers on the real clock,
/// `with_config(&settings)` takes the settings of a configuration file (keyed by breaker
/// name) over the attributes' (`try_with_config` returns the error of an invalid config
/// built in code, where `with_config` panics), `with_clock(clock)` and
/// `with_config_and_clock` run them on another clock. `get(model)` is a `match` and an array index: no lock, no hashing.
///
/// The enum must be fieldless, not generic, with a distinct name per variant: anything else
/// is a compile error on the offending token.
#[proc_macro_derive(CircuitBreakers, attributes(breaker))]
pub fn derive_circuit_breakers(input: TokenStream) -> TokenStream {
    circuit_breakers::derive(input.into()).into()
}
