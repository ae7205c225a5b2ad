//! Checks a parsed table and resolves it into a [`Table`] ready to expand.
//!
//! Every error is collected, not returned early, so one compile shows them all. A row with an
//! error is left out of the table, but its edges still count for the reachability and dead-end
//! checks (through the "did you mean" guess for a misspelt name), so that one typo gives one
//! error and not a follow-on "unreachable" or "no way out" elsewhere.

use std::collections::{HashMap, HashSet, VecDeque};

use proc_macro2::{Punct, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, Expr, Fields, Ident, Visibility};

use super::ast::{Declared, Entry, Input, KeyValue, Options, Row};
use crate::suggest;

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
    pub states: Vec<Named>,
    pub events: Vec<Named>,
    pub initial: usize,
    pub finals: Vec<usize>,
    /// The rows in the order `next` tries them: written rows first, then the expansions of
    /// `_` rows.
    pub rows: Vec<Transition>,
    pub guards: Vec<Ident>,
    pub actions: Vec<Ident>,
}

/// A state or an event.
pub struct Named {
    pub ident: Ident,
    pub docs: Vec<Attribute>,
    /// Always unit for states.
    pub fields: Fields,
}

/// A resolved row.
pub struct Transition {
    pub from: usize,
    pub event: usize,
    pub to: usize,
    pub guard: Option<Guard>,
    pub actions: Vec<Ident>,
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
        self.events
            .iter()
            .any(|e| !matches!(e.fields, Fields::Unit))
    }
}

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

    let mut states = Names::new("state", states_list, &mut errors);
    let mut events = Names::new("event", events_list, &mut errors);

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
    let mut graph = Graph::default();
    let mut resolved = Vec::new();
    let mut guard_names: Vec<Ident> = Vec::new();
    let mut action_names: Vec<Ident> = Vec::new();
    for row in &rows {
        let from = row.from.as_ref().map(|f| states.resolve(f, &mut errors));
        let event = events.resolve(&row.event, &mut errors);
        let to = states.resolve(&row.to, &mut errors);
        let guard = row
            .guard
            .as_ref()
            .map(|expr| check_guard(expr, &mut guard_names, &mut errors));
        for action in &row.actions {
            if !action_names.contains(action) {
                action_names.push(action.clone());
            }
        }

        let guess = |r: &Result<usize, Option<usize>>| match r {
            Ok(i) => Some(*i),
            Err(g) => *g,
        };
        graph.used_events.extend(guess(&event));
        match &from {
            Some(from) => graph.exits.extend(guess(from)),
            None => graph.wildcard_exit = true,
        }
        if let Some(to_guess) = guess(&to) {
            match &from {
                Some(from) => {
                    if let Some(from_guess) = guess(from) {
                        graph.edge(from_guess, to_guess);
                    }
                }
                None => graph.wildcard_targets.push(to_guess),
            }
        }

        let from = match from {
            Some(Ok(i)) => Some(i),
            None => None,
            Some(Err(_)) => continue,
        };
        let Ok(event) = event else { continue };
        // A row whose only fault is its target still takes part in the overlap checks, so
        // that fixing the target reveals no new error.
        let to = to.ok();
        let guard = match guard {
            Some(Ok(g)) => Some(g),
            None => None,
            Some(Err(())) => continue,
        };
        resolved.push(Resolved {
            row,
            from,
            event,
            to,
            guard,
        });
    }

    let mut finals = Vec::new();
    for ident in &final_idents {
        if let Ok(index) = states.resolve(ident, &mut errors) {
            if finals.contains(&index) {
                errors.push(syn::Error::new(
                    ident.span(),
                    format!("`{ident}` is already declared final"),
                ));
            } else {
                finals.push(index);
            }
        }
    }

    let clashes: Vec<Ident> = action_names
        .iter()
        .filter(|a| guard_names.contains(a))
        .cloned()
        .collect();
    for action in &clashes {
        errors.push(syn::Error::new(
            action.span(),
            format!("`{action}` is used both as a guard and as an action; a context method is one or the other"),
        ));
    }
    // Expanded as a guard only, and its action rows left out, so that the context trait
    // does not declare the method twice.
    action_names.retain(|a| !clashes.contains(a));

    let events_declared = events.declared;
    let states_vec = states.into_named();
    let events_vec = events.into_named();
    let finals_set: HashSet<usize> = finals.iter().copied().collect();
    let mut transitions = order_rows(
        &resolved,
        states_vec.len(),
        &finals_set,
        &states_vec,
        &events_vec,
        &mut errors,
    );
    transitions.retain(|t| !t.actions.iter().any(|a| clashes.contains(a)));

    // `_` rows reach their targets from every non-final state.
    for target in std::mem::take(&mut graph.wildcard_targets) {
        for s in (0..states_vec.len()).filter(|s| !finals_set.contains(s)) {
            graph.edge(s, target);
        }
    }

    // The checks of the whole table need all of its rows: a malformed row may be the one
    // that leaves a state, reaches it, or fires an event.
    if let (Some(initial), false) = (initial, parse_failed) {
        check_graph(&graph, initial, &finals_set, &states_vec, &mut errors);
    }
    for (index, event) in events_vec.iter().enumerate() {
        if events_declared && !parse_failed && !graph.used_events.contains(&index) {
            errors.push(syn::Error::new(
                event.ident.span(),
                format!(
                    "event `{}` is declared, but no row fires on it",
                    event.ident
                ),
            ));
        }
    }

    if states_vec.is_empty() || events_vec.is_empty() {
        return (None, errors);
    }
    // With errors, expand what is valid so that code using the machine still compiles and
    // the user sees the table's errors, not a cascade from missing types.
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
        name: input.name,
        states: states_vec,
        events: events_vec,
        initial: initial.unwrap_or(0),
        finals,
        rows: transitions,
        guards: guard_names,
        actions: action_names,
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

struct Resolved<'a> {
    row: &'a Row,
    /// `None` for `_`.
    from: Option<usize>,
    event: usize,
    /// `None` when the target did not resolve: checked, never expanded.
    to: Option<usize>,
    guard: Option<Guard>,
}

/// Orders the rows as `next` tries them and rejects overlaps: for one state and event, no
/// row may follow an unguarded one, and no guard may repeat. `_` rows come after the written
/// rows of each state and give way to them silently: that is what `_` means.
fn order_rows(
    resolved: &[Resolved<'_>],
    state_count: usize,
    finals: &HashSet<usize>,
    states: &[Named],
    events: &[Named],
    errors: &mut Vec<syn::Error>,
) -> Vec<Transition> {
    #[derive(Default)]
    struct Group {
        unguarded: bool,
        guards: Vec<String>,
    }
    let mut groups: HashMap<(usize, usize), Group> = HashMap::new();
    let mut wildcard_groups: HashMap<usize, Group> = HashMap::new();
    let mut out = Vec::new();

    let transition = |r: &Resolved<'_>, from| {
        r.to.map(|to| Transition {
            from,
            event: r.event,
            to,
            guard: r.guard.clone(),
            actions: r.row.actions.clone(),
        })
    };

    for r in resolved {
        let Some(from) = r.from else { continue };
        if finals.contains(&from) {
            errors.push(syn::Error::new(
                r.row.from_span,
                format!(
                    "`{}` is a final state, but this row leaves it; a final state has no way out",
                    states[from].ident
                ),
            ));
            continue;
        }
        let group = groups.entry((from, r.event)).or_default();
        if let Some(message) = overlap(
            group.unguarded,
            &group.guards,
            r,
            &format!("{} + {}", states[from].ident, events[r.event].ident),
        ) {
            errors.push(row_error(r.row, message));
            continue;
        }
        group.unguarded |= r.guard.is_none();
        group
            .guards
            .extend(r.guard.as_ref().map(|g| g.text.clone()));
        out.extend(transition(r, from));
    }

    for r in resolved.iter().filter(|r| r.from.is_none()) {
        let group = wildcard_groups.entry(r.event).or_default();
        if let Some(message) = overlap(
            group.unguarded,
            &group.guards,
            r,
            &format!("_ + {}", events[r.event].ident),
        ) {
            errors.push(row_error(r.row, message));
            continue;
        }
        group.unguarded |= r.guard.is_none();
        group
            .guards
            .extend(r.guard.as_ref().map(|g| g.text.clone()));

        let mut applied = false;
        for from in (0..state_count).filter(|s| !finals.contains(s)) {
            let group = groups.entry((from, r.event)).or_default();
            let shadowed = group.unguarded
                || r.guard
                    .as_ref()
                    .is_some_and(|g| group.guards.contains(&g.text));
            if shadowed {
                continue;
            }
            group.unguarded |= r.guard.is_none();
            group
                .guards
                .extend(r.guard.as_ref().map(|g| g.text.clone()));
            out.extend(transition(r, from));
            applied = true;
        }
        if !applied {
            errors.push(row_error(
                r.row,
                format!(
                    "this `_` row applies to no state: every non-final state already has an unguarded `{}` row",
                    events[r.event].ident
                ),
            ));
        }
    }
    out
}

/// Why `r` cannot follow the rows already in its group, if it cannot.
fn overlap(unguarded: bool, guards: &[String], r: &Resolved<'_>, pair: &str) -> Option<String> {
    match (&r.guard, unguarded) {
        (None, true) => Some(format!(
            "duplicate transition: an earlier row already takes `{pair}`"
        )),
        (Some(_), true) => Some(format!(
            "this row can never fire: the earlier unguarded `{pair}` row always takes the event first"
        )),
        (Some(g), false) if guards.contains(&g.text) => Some(format!(
            "duplicate transition: an earlier `{pair}` row has the same guard `[{}]`",
            g.text
        )),
        _ => None,
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

#[derive(Default)]
struct Graph {
    edges: Vec<(usize, usize)>,
    /// Targets of `_` rows, expanded once every state is known.
    wildcard_targets: Vec<usize>,
    used_events: HashSet<usize>,
    /// States that some row leaves, valid or not.
    exits: HashSet<usize>,
    /// Whether a `_` row (valid or not) leaves every non-final state.
    wildcard_exit: bool,
}

impl Graph {
    fn edge(&mut self, from: usize, to: usize) {
        self.edges.push((from, to));
    }
}

/// Every state must be reachable from the initial state, and every non-final state must have
/// a way out. A state gets one error at most: unreachable says enough.
fn check_graph(
    graph: &Graph,
    initial: usize,
    finals: &HashSet<usize>,
    states: &[Named],
    errors: &mut Vec<syn::Error>,
) {
    let mut reached = vec![false; states.len()];
    let mut queue = VecDeque::from([initial]);
    reached[initial] = true;
    while let Some(state) = queue.pop_front() {
        for &(from, to) in &graph.edges {
            if from == state && !reached[to] {
                reached[to] = true;
                queue.push_back(to);
            }
        }
    }
    for (index, state) in states.iter().enumerate() {
        let name = &state.ident;
        if !reached[index] {
            errors.push(syn::Error::new(
                name.span(),
                format!(
                    "state `{name}` is unreachable: no path of rows leads to it from the initial state `{}`",
                    states[initial].ident
                ),
            ));
        } else if !finals.contains(&index) && !graph.wildcard_exit && !graph.exits.contains(&index)
        {
            errors.push(syn::Error::new(
                name.span(),
                format!("state `{name}` has no way out: add a row that leaves it, or declare it with `final: {name}`"),
            ));
        }
    }
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

/// The states or the events of a table: declared in a list, or taken from the rows in order
/// of first use.
struct Names {
    kind: &'static str,
    declared: bool,
    list: Vec<Named>,
}

impl Names {
    fn new(
        kind: &'static str,
        declared: Option<Vec<Declared>>,
        errors: &mut Vec<syn::Error>,
    ) -> Names {
        let mut names = Names {
            kind,
            declared: declared.is_some(),
            list: Vec::new(),
        };
        for d in declared.into_iter().flatten() {
            if names.position(&d.ident).is_some() {
                errors.push(syn::Error::new(
                    d.ident.span(),
                    format!("{kind} `{}` is declared twice", d.ident),
                ));
                continue;
            }
            names.list.push(Named {
                ident: d.ident,
                docs: d.attrs,
                fields: d.fields,
            });
        }
        names
    }

    fn position(&self, ident: &Ident) -> Option<usize> {
        self.list.iter().position(|n| n.ident == *ident)
    }

    /// The index of `ident`. Undeclared (when there is a list): an error, and the index of
    /// the closest name, if one is close, as the likely intent. Without a list, a new name is
    /// added.
    fn resolve(
        &mut self,
        ident: &Ident,
        errors: &mut Vec<syn::Error>,
    ) -> Result<usize, Option<usize>> {
        if let Some(index) = self.position(ident) {
            return Ok(index);
        }
        if !self.declared {
            self.list.push(Named {
                ident: ident.clone(),
                docs: Vec::new(),
                fields: Fields::Unit,
            });
            return Ok(self.list.len() - 1);
        }
        let names = self.list.iter().map(|n| n.ident.to_string());
        let guess = suggest::closest(&ident.to_string(), names);
        let kind = self.kind;
        let message = match &guess {
            Some(best) => format!("unknown {kind} `{ident}` (did you mean `{best}`?)"),
            None => {
                let all: Vec<String> = self.list.iter().map(|n| format!("`{}`", n.ident)).collect();
                format!(
                    "unknown {kind} `{ident}`: the declared {kind}s are {}",
                    all.join(", ")
                )
            }
        };
        errors.push(syn::Error::new(ident.span(), message));
        Err(guess.and_then(|best| self.list.iter().position(|n| n.ident == best)))
    }

    fn into_named(self) -> Vec<Named> {
        self.list
    }
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
