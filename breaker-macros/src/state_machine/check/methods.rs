//! The context's methods: every guard and action takes one signature, and none takes a
//! hook's name.
//!
//! A row action returns nothing, except the last action of a row into a state with data,
//! which returns that data; entry and exit actions take no event. A name used with two
//! signatures is an error, and the rows that use it the second way are left out, so that
//! the context trait declares each method once.

use std::collections::{HashMap, HashSet};

use syn::Ident;

use super::flatten::{Resolved, To};
use super::states::Names;
use super::{Guard, HOOKS};

/// A row action and what it returns.
pub struct Action {
    pub ident: Ident,
    /// The leaf whose data it returns.
    pub returns: Option<usize>,
}

pub struct Methods {
    pub guards: Vec<Ident>,
    pub actions: Vec<Action>,
    pub entry_exit: Vec<Ident>,
    /// Names whose uses in rows are left out.
    dropped: HashSet<String>,
}

impl Methods {
    /// Whether a row with these actions and guard, into a state whose data it returns (if
    /// any), keeps the signatures chosen.
    pub fn keeps<'a>(
        &self,
        mut actions: impl ExactSizeIterator<Item = &'a Ident>,
        guard: Option<&Guard>,
        returns: Option<usize>,
    ) -> bool {
        let last = actions.len().saturating_sub(1);
        let actions_fit = actions.by_ref().enumerate().all(|(k, a)| {
            let expected = if k == last { returns } else { None };
            !self.dropped.contains(&a.to_string())
                && self
                    .actions
                    .iter()
                    .any(|known| known.ident == *a && known.returns == expected)
        });
        let guard_fits = guard.is_none_or(|g| {
            super::guard_idents(&g.expr)
                .iter()
                .all(|name| !self.dropped.contains(&name.to_string()))
        });
        actions_fit && guard_fits
    }
}

pub fn check(
    resolved: &[Resolved<'_>],
    states: &mut Names,
    guards: &[Ident],
    errors: &mut Vec<syn::Error>,
) -> Methods {
    let mut dropped: HashSet<String> = HashSet::new();
    let is_hook = |name: &Ident| HOOKS.contains(&name.to_string().as_str());
    let hook_error = |name: &Ident, what: &str| {
        syn::Error::new(
            name.span(),
            format!(
                "`{name}` is the name of a hook every context has (`on_guard`, `on_transition`, `on_refusal`): name this {what} otherwise"
            ),
        )
    };

    let mut kept_guards = Vec::new();
    for guard in guards {
        if is_hook(guard) {
            errors.push(hook_error(guard, "guard"));
            dropped.insert(guard.to_string());
        } else {
            kept_guards.push(guard.clone());
        }
    }

    // Entry and exit actions; a name that is also a guard, or a hook, is left out.
    let mut entry_exit: Vec<Ident> = Vec::new();
    for state in &mut states.list {
        for list in [&mut state.entry, &mut state.exit] {
            list.retain(|action| {
                if is_hook(action) {
                    errors.push(hook_error(action, "action"));
                    return false;
                }
                if guards.contains(action) {
                    errors.push(both_guard_and_action(action));
                    return false;
                }
                if !entry_exit.contains(action) {
                    entry_exit.push(action.clone());
                }
                true
            });
        }
    }

    let mut actions: Vec<Action> = Vec::new();
    let mut returns_of: HashMap<String, Option<usize>> = HashMap::new();
    for r in resolved {
        let returns = match r.to {
            To::State(target) => {
                let leaf = states.leaf_of(target);
                states.list[leaf].has_data().then_some(leaf)
            }
            To::Internal | To::Unresolved => None,
        };
        if let Some(leaf) = returns
            && r.row.actions.is_empty()
        {
            let name = &states.list[leaf].ident;
            let snake = super::snake_case(&name.to_string());
            errors.push(syn::Error::new(
                r.row.to.span(),
                format!("`{name}` carries data, and a row into it sets it: end this row with an action that returns it, as in `/ make_{snake}`"),
            ));
        }
        let last = r.row.actions.len().saturating_sub(1);
        for (k, action) in r.row.actions.iter().enumerate() {
            let name = action.to_string();
            if dropped.contains(&name) {
                continue;
            }
            if is_hook(action) {
                errors.push(hook_error(action, "action"));
                dropped.insert(name);
                continue;
            }
            if guards.contains(action) {
                errors.push(both_guard_and_action(action));
                dropped.insert(name);
                continue;
            }
            if entry_exit.contains(action) {
                errors.push(syn::Error::new(
                    action.span(),
                    format!("`{action}` is both a row's action and an entry or exit action; they take different arguments: give them different names"),
                ));
                dropped.insert(name);
                continue;
            }
            let expected = if k == last { returns } else { None };
            match returns_of.get(&name) {
                None => {
                    returns_of.insert(name, expected);
                    actions.push(Action {
                        ident: action.clone(),
                        returns: expected,
                    });
                }
                Some(&known) if known == expected => {}
                Some(&known) => {
                    let data = |leaf: Option<usize>| match leaf {
                        Some(l) => format!("returns the data of `{}`", states.list[l].ident),
                        None => "returns nothing".to_string(),
                    };
                    let here = match expected {
                        Some(l) => format!(
                            "here it ends a row into `{}` and must return its data",
                            states.list[l].ident
                        ),
                        None => "here it must return nothing".to_string(),
                    };
                    errors.push(syn::Error::new(
                        action.span(),
                        format!(
                            "action `{action}` {} on an earlier row, but {here}: a context method has one signature, so use another action",
                            data(known)
                        ),
                    ));
                }
            }
        }
    }

    Methods {
        guards: kept_guards,
        actions,
        entry_exit,
        dropped,
    }
}

fn both_guard_and_action(action: &Ident) -> syn::Error {
    syn::Error::new(
        action.span(),
        format!(
            "`{action}` is used both as a guard and as an action; a context method is one or the other"
        ),
    )
}
