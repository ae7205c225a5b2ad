//! Checks a parsed table and resolves it into a [`Table`] ready to expand.
//!
//! Every error is collected, not returned early, so one compile shows them all. A row with an
//! error is left out of the table, but its edges still count for the reachability and dead-end
//! checks (through the "did you mean" guess for a misspelt name), so that one typo gives one
//! error and not a follow-on "unreachable" or "no way out" elsewhere.
//!
//! The states a machine is in are the leaves of the state tree; `flatten` turns the rows
//! written on superstates and on `_` into rows of each leaf, and the reachability and
//! dead-end checks run on those.

mod flatten;
mod graph;
mod methods;
mod states;

use std::collections::HashSet;

use proc_macro2::{Punct, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, Expr, Ident, Visibility};

use super::ast::{Declared, Entry, Input, KeyValue, Options, Row, Target};
pub use methods::Action;
pub use states::{Named, ancestors, leaf_of};

/// A checked table.
pub struct Table {
    pub docs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub krate: syn::Path,
    pub module: Ident,
    /// Whether to generate the typed API.
    pub typed: bool,
    /// Whether the state and event enums are `#[non_exhaustive]`.
    pub non_exhaustive: bool,
    /// Whether guards and actions are `async`.
    pub is_async: bool,
    /// Every state, superstates included, in declaration order (a superstate before its
    /// states).
    pub states: Vec<Named>,
    pub events: Vec<Named>,
    /// The leaf a new machine starts in.
    pub initial: usize,
    /// The initial state as written (a superstate or a leaf).
    pub initial_written: usize,
    pub finals: Vec<usize>,
    /// The rows flattened onto the leaves, in the order `fire` tries them for each leaf and
    /// event.
    pub rows: Vec<Transition>,
    /// The rows as written (the valid ones), for the diagram.
    pub written: Vec<Written>,
    pub guards: Vec<Ident>,
    /// The rows' actions.
    pub actions: Vec<Action>,
    /// The entry and exit actions.
    pub entry_exit: Vec<Ident>,
}

/// A row flattened onto one leaf.
pub struct Transition {
    /// A leaf.
    pub from: usize,
    pub event: usize,
    /// A leaf: `from` for an internal row.
    pub to: usize,
    pub guard: Option<Guard>,
    pub actions: Vec<Ident>,
    /// The state the row is written on; `None` for `_`.
    pub source: Option<usize>,
    /// The target as written (a superstate or a leaf); `None` for an internal row.
    pub target: Option<usize>,
    pub internal: bool,
    /// The states left, innermost first.
    pub exits: Vec<usize>,
    /// The states entered, outermost first.
    pub entries: Vec<usize>,
}

impl Transition {
    /// The leaf whose data the row's last action returns, if it returns any.
    fn returns(&self, states: &states::Names) -> Option<usize> {
        (!self.internal && states.list[self.to].has_data()).then_some(self.to)
    }
}

/// A row as written.
pub struct Written {
    /// `None` for `_`.
    pub source: Option<usize>,
    pub event: usize,
    pub guard: Option<Guard>,
    pub actions: Vec<Ident>,
    /// `None` for an internal row.
    pub to: Option<usize>,
}

/// A guard expression: names of guard methods combined with `!`, `&&`, `||`.
#[derive(Clone)]
pub struct Guard {
    pub expr: Expr,
    /// The expression as written, normalised; for the table data and duplicate checks.
    pub text: String,
}

impl Table {
    /// Whether any event carries data.
    pub fn has_event_data(&self) -> bool {
        self.events.iter().any(Named::has_data)
    }

    /// Whether any state carries data.
    pub fn has_state_data(&self) -> bool {
        self.states.iter().any(Named::has_data)
    }

    /// Whether some state is declared inside another.
    pub fn is_hierarchical(&self) -> bool {
        self.states.iter().any(|s| !s.is_leaf())
    }

    /// The states a machine can be in, in declaration order.
    pub fn leaves(&self) -> impl Iterator<Item = (usize, &Named)> {
        self.states.iter().enumerate().filter(|(_, s)| s.is_leaf())
    }

    /// Whether the context has any method besides the hooks.
    pub fn has_methods(&self) -> bool {
        !(self.guards.is_empty() && self.actions.is_empty() && self.entry_exit.is_empty())
    }
}

/// The hooks every context has; no guard or action may take their names.
pub const HOOKS: [&str; 3] = ["on_guard", "on_transition", "on_refusal"];

/// Checks `input`: the table to expand (`None` when there is not even a state to expand) and
/// every error found.
pub fn check(input: Input) -> (Option<Table>, Vec<syn::Error>) {
    let mut errors = Vec::new();
    let parse_failed = input.errors.is_some();
    if let Some(err) = input.errors {
        errors.push(err);
    }
    let mut attrs = input.attrs;
    let options = Options::extract(&mut attrs, &mut errors);

    let mut states_list: Option<Vec<Declared>> = None;
    let mut events_list: Option<Vec<Declared>> = None;
    let mut initials = Vec::new();
    let mut final_idents = Vec::new();
    let mut rows = Vec::new();
    for entry in input.entries {
        match entry {
            Entry::States(kv) => declare_once(&mut states_list, kv, &mut errors),
            Entry::Events(kv) => declare_once(&mut events_list, kv, &mut errors),
            Entry::Initial(kv) => initials.push(kv),
            Entry::Final(kv) => final_idents.extend(kv.value),
            Entry::Row(row) => rows.push(*row),
        }
    }

    let mut states = states::Names::states(states_list, &mut errors);
    let mut events = states::Names::events(events_list, &mut errors);

    // Initial state: exactly one, and a state.
    let mut initial = None;
    match initials.as_slice() {
        [] => {
            // A malformed entry may be the initial state, misspelt.
            if !rows.is_empty() && !parse_failed {
                errors.push(syn::Error::new(
                    input.name.span(),
                    format!("state machine `{}` has no initial state: add `initial: State` to the table", input.name),
                ));
            }
        }
        [first, rest @ ..] => {
            for extra in rest {
                errors.push(syn::Error::new(
                    extra.key.span(),
                    format!(
                        "a second initial state: a state machine has one, and it is `{}`",
                        first.value
                    ),
                ));
            }
            initial = states.resolve(&first.value, &mut errors).ok();
        }
    }

    if rows.is_empty() && !parse_failed {
        errors.push(syn::Error::new(
            input.name.span(),
            format!("state machine `{}` has an empty transition table: add rows `State + Event => State`", input.name),
        ));
    }

    // Resolve every row; a row that fails is dropped, its best-guess edges kept for the graph.
    let mut graph = graph::Graph::default();
    let mut resolved = Vec::new();
    let mut guard_names: Vec<Ident> = Vec::new();
    for row in &rows {
        let from = row.from.as_ref().map(|f| states.resolve(f, &mut errors));
        let event = events.resolve(&row.event, &mut errors);
        let to = match &row.to {
            Target::State(ident) => Some(states.resolve(ident, &mut errors)),
            Target::Internal(_) => None,
        };
        let guard = row
            .guard
            .as_ref()
            .map(|expr| check_guard(expr, &mut guard_names, &mut errors));

        let guess = |r: &Result<usize, Option<usize>>| match r {
            Ok(i) => Some(*i),
            Err(g) => *g,
        };
        graph.add_row(
            from.as_ref().map(guess),
            guess(&event),
            to.as_ref().map(guess),
        );

        let from = match from {
            Some(Ok(i)) => Some(i),
            None => None,
            Some(Err(_)) => continue,
        };
        let Ok(event) = event else { continue };
        // A row whose only fault is its target still takes part in the overlap checks, so
        // that fixing the target reveals no new error.
        let to = match to {
            None => flatten::To::Internal,
            Some(Ok(t)) => flatten::To::State(t),
            Some(Err(_)) => flatten::To::Unresolved,
        };
        let guard = match guard {
            Some(Ok(g)) => Some(g),
            None => None,
            Some(Err(())) => continue,
        };
        resolved.push(flatten::Resolved {
            row,
            from,
            event,
            to,
            guard,
        });
    }

    let mut finals = Vec::new();
    // The states of a superstate declared final: not final (that is an error), but not
    // dead ends either, so that the one mistake gives one error.
    let mut excused = Vec::new();
    for ident in &final_idents {
        if let Ok(index) = states.resolve(ident, &mut errors) {
            if finals.contains(&index) {
                errors.push(syn::Error::new(
                    ident.span(),
                    format!("`{ident}` is already declared final"),
                ));
            } else if !states.list[index].is_leaf() {
                excused.extend(
                    (0..states.list.len())
                        .filter(|&s| states.ancestors(Some(s)).any(|a| a == index)),
                );
                errors.push(syn::Error::new(
                    ident.span(),
                    format!("`{ident}` is a superstate; a final state is one a machine can be in: name the states inside it"),
                ));
            } else {
                finals.push(index);
            }
        }
    }
    let finals_set: HashSet<usize> = finals.iter().copied().collect();

    let initial_leaf = initial.map(|i| states.leaf_of(i));
    if let (Some(leaf), Some(first)) = (initial_leaf, initials.first())
        && states.list[leaf].has_data()
    {
        let via = if Some(leaf) == initial {
            String::new()
        } else {
            format!(" (the initial state of `{}`)", first.value)
        };
        errors.push(syn::Error::new(
            first.value.span(),
            format!(
                "a machine starts in `{}`{via}, which carries data that nothing sets: start in a state without data",
                states.list[leaf].ident
            ),
        ));
    }

    let (mut transitions, written) =
        flatten::flatten(&resolved, &states, &finals_set, &events, &mut errors);
    let methods = methods::check(&resolved, &mut states, &guard_names, &mut errors);
    transitions.retain(|t| methods.keeps(t.actions.iter(), t.guard.as_ref(), t.returns(&states)));
    let written = written
        .into_iter()
        .filter(|w| {
            let returns =
                w.to.map(|t| states.leaf_of(t))
                    .filter(|&l| states.list[l].has_data());
            methods.keeps(w.actions.iter(), w.guard.as_ref(), returns)
        })
        .collect();

    // The checks of the whole table need all of its rows: a malformed row may be the one
    // that leaves a state, reaches it, or fires an event.
    if let (Some(initial), false) = (initial_leaf, parse_failed) {
        let ends: HashSet<usize> = finals_set.iter().chain(&excused).copied().collect();
        graph.check(initial, &ends, &states, &mut errors);
    }
    for (index, event) in events.list.iter().enumerate() {
        if events.declared && !parse_failed && !graph.fires(index) {
            errors.push(syn::Error::new(
                event.ident.span(),
                format!(
                    "event `{}` is declared, but no row fires on it",
                    event.ident
                ),
            ));
        }
    }

    if !states.list.iter().any(Named::is_leaf) || events.list.is_empty() {
        return (None, errors);
    }
    // With errors, expand what is valid so that code using the machine still compiles and
    // the user sees the table's errors, not a cascade from missing types.
    let fallback_initial = states
        .list
        .iter()
        .position(|s| s.is_leaf() && !s.has_data())
        .unwrap_or_else(|| states.leaf_of(0));
    let table = Table {
        docs: attrs,
        vis: input.vis,
        module: options
            .module
            .unwrap_or_else(|| Ident::new(&snake_case(&input.name.to_string()), input.name.span())),
        krate: options
            .krate
            .unwrap_or_else(|| syn::parse_quote!(::breaker)),
        typed: options.typed.is_none_or(|typed| typed.value),
        non_exhaustive: options.non_exhaustive.is_some(),
        is_async: options.is_async.is_some(),
        name: input.name,
        initial: initial_leaf
            .filter(|&l| !states.list[l].has_data())
            .unwrap_or(fallback_initial),
        initial_written: initial.unwrap_or(fallback_initial),
        states: states.list,
        events: events.list,
        finals,
        rows: transitions,
        written,
        guards: methods.guards,
        actions: methods.actions,
        entry_exit: methods.entry_exit,
    };
    (Some(table), errors)
}

/// Keeps the first `states` (or `events`) list; a second one is an error.
fn declare_once(
    list: &mut Option<Vec<Declared>>,
    kv: KeyValue<Vec<Declared>>,
    errors: &mut Vec<syn::Error>,
) {
    if list.is_some() {
        errors.push(syn::Error::new(
            kv.key.span(),
            format!("a second `{}` list: declare them once", kv.key),
        ));
    } else {
        *list = Some(kv.value);
    }
}

fn row_error(row: &Row, message: String) -> syn::Error {
    syn::Error::new_spanned(span_range(row.from_span, row.to.span()), message)
}

/// Tokens that span from `first` to `last`, for an error that underlines a whole row.
fn span_range(first: Span, last: Span) -> TokenStream {
    let mut a = Punct::new('<', Spacing::Alone);
    a.set_span(first);
    let mut b = Punct::new('>', Spacing::Alone);
    b.set_span(last);
    [TokenTree::Punct(a), TokenTree::Punct(b)]
        .into_iter()
        .collect()
}
/// Validates a guard expression and records the guard names it uses.
fn check_guard(
    expr: &Expr,
    names: &mut Vec<Ident>,
    errors: &mut Vec<syn::Error>,
) -> Result<Guard, ()> {
    fn walk(expr: &Expr, names: &mut Vec<Ident>, errors: &mut Vec<syn::Error>) -> bool {
        match expr {
            Expr::Path(p) if p.attrs.is_empty() && p.qself.is_none() => match p.path.get_ident() {
                Some(ident) => {
                    if !names.contains(ident) {
                        names.push(ident.clone());
                    }
                    true
                }
                None => {
                    errors.push(syn::Error::new_spanned(
                        p,
                        "a guard is the name of a context method, not a path",
                    ));
                    false
                }
            },
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => walk(&u.expr, names, errors),
            Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) => {
                let left = walk(&b.left, names, errors);
                walk(&b.right, names, errors) && left
            }
            Expr::Paren(p) => walk(&p.expr, names, errors),
            other => {
                errors.push(syn::Error::new_spanned(
                    other,
                    "a guard combines guard names with `!`, `&&`, `||` and parentheses, as in `[has_key && !jammed]`",
                ));
                false
            }
        }
    }
    if walk(expr, names, errors) {
        Ok(Guard {
            expr: expr.clone(),
            text: normalise(expr),
        })
    } else {
        Err(())
    }
}

/// An expression's tokens as a string with single spaces, the same however it was written.
fn normalise(expr: &Expr) -> String {
    let text = expr.to_token_stream().to_string();
    text.replace("! ", "!")
        .replace("( ", "(")
        .replace(" )", ")")
}

/// `CircuitBreaker` -> `circuit_breaker`, `HTTPClient` -> `http_client`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let before_lower = i > 0
                && chars[i - 1].is_uppercase()
                && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if after_lower || before_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The guard names a guard expression uses, in order.
pub fn guard_idents(expr: &Expr) -> Vec<&Ident> {
    match expr {
        Expr::Path(p) => p.path.get_ident().into_iter().collect(),
        Expr::Unary(u) => guard_idents(&u.expr),
        Expr::Binary(b) => {
            let mut names = guard_idents(&b.left);
            names.extend(guard_idents(&b.right));
            names
        }
        Expr::Paren(p) => guard_idents(&p.expr),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_of_machine_names() {
        assert_eq!(snake_case("Door"), "door");
        assert_eq!(snake_case("CircuitBreaker"), "circuit_breaker");
        assert_eq!(snake_case("HTTPClient"), "http_client");
        assert_eq!(snake_case("Light2Way"), "light2_way");
    }
}
