//! The rows as `fire` tries them: each row written on a superstate or on `_` becomes a row of
//! every leaf it applies to, behind the rows closer to that leaf.
//!
//! For a leaf and an event, the candidates are the leaf's own rows, then its superstate's,
//! then the next superstate's out to the outermost, then the `_` rows, each level in table
//! order. A row is left out for a leaf when a closer row always takes the event first (it
//! has no guard) or has the same guard. Overlaps within one level are errors.

use std::collections::{HashMap, HashSet};

use super::states::Names;
use super::{Guard, Transition, Written, row_error};
use crate::state_machine::ast::Row;

/// Where a resolved row goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum To {
    State(usize),
    /// `=> _`.
    Internal,
    /// The target did not resolve: the row is checked, never expanded.
    Unresolved,
}

pub struct Resolved<'a> {
    pub row: &'a Row,
    /// `None` for `_`.
    pub from: Option<usize>,
    pub event: usize,
    pub to: To,
    pub guard: Option<Guard>,
}

/// The rows flattened onto the leaves, in the order `fire` tries them for each leaf and
/// event, and the rows as written that take part in them.
pub fn flatten(
    resolved: &[Resolved<'_>],
    states: &Names,
    finals: &HashSet<usize>,
    events: &Names,
    errors: &mut Vec<syn::Error>,
) -> (Vec<Transition>, Vec<Written>) {
    let name = |source: Option<usize>| match source {
        Some(s) => states.list[s].ident.to_string(),
        None => "_".to_string(),
    };

    // Overlaps among the rows written on one state (or on `_`) for one event.
    #[derive(Default)]
    struct Group {
        unguarded: bool,
        guards: Vec<String>,
    }
    let mut groups: HashMap<(Option<usize>, usize), Group> = HashMap::new();
    let mut kept = Vec::new();
    for (index, r) in resolved.iter().enumerate() {
        if let Some(from) = r.from
            && finals.contains(&from)
        {
            errors.push(syn::Error::new(
                r.row.from_span,
                format!(
                    "`{}` is a final state, but this row leaves it; a final state has no way out",
                    states.list[from].ident
                ),
            ));
            continue;
        }
        let group = groups.entry((r.from, r.event)).or_default();
        let pair = format!("{} + {}", name(r.from), events.list[r.event].ident);
        if let Some(message) = overlap(group.unguarded, &group.guards, r, &pair) {
            errors.push(row_error(r.row, message));
            continue;
        }
        group.unguarded |= r.guard.is_none();
        group
            .guards
            .extend(r.guard.as_ref().map(|g| g.text.clone()));
        kept.push(index);
    }

    // The leaves each row applies to, and how far the row is from each.
    let leaves: Vec<usize> = (0..states.list.len())
        .filter(|&s| states.list[s].is_leaf() && !finals.contains(&s))
        .collect();
    let level = |leaf: usize, source: Option<usize>| match source {
        None => Some(usize::MAX),
        Some(s) => states.ancestors(Some(leaf)).position(|a| a == s),
    };
    let mut taken: HashSet<(usize, usize)> = HashSet::new();
    for &leaf in &leaves {
        for event in 0..events.list.len() {
            let mut candidates: Vec<(usize, usize)> = kept
                .iter()
                .filter(|&&i| resolved[i].event == event)
                .filter_map(|&i| level(leaf, resolved[i].from).map(|l| (l, i)))
                .collect();
            candidates.sort();
            let mut unguarded = false;
            let mut guards: Vec<&str> = Vec::new();
            for (_, i) in candidates {
                let guard = resolved[i].guard.as_ref().map(|g| g.text.as_str());
                let shadowed = unguarded || guard.is_some_and(|g| guards.contains(&g));
                if shadowed {
                    continue;
                }
                unguarded |= guard.is_none();
                guards.extend(guard);
                taken.insert((i, leaf));
            }
        }
    }

    for &i in &kept {
        let r = &resolved[i];
        let applies = taken.iter().any(|&(row, _)| row == i);
        if applies {
            continue;
        }
        let event = &events.list[r.event].ident;
        match r.from {
            None => errors.push(row_error(
                r.row,
                format!("this `_` row applies to no state: every non-final state already has an unguarded `{event}` row"),
            )),
            Some(s) if !states.list[s].is_leaf() => {
                let superstate = &states.list[s].ident;
                errors.push(row_error(
                    r.row,
                    format!("this row of the superstate `{superstate}` never fires: every state in `{superstate}` takes `{event}` first with an unguarded row of its own"),
                ));
            }
            Some(_) => {}
        }
    }

    // Leaf rows in table order, then superstate rows from the deepest superstates out, then
    // `_` rows: for every leaf and event this is the order of the candidates above.
    let depth = |s: usize| states.ancestors(Some(s)).count();
    let mut order: Vec<usize> = kept
        .iter()
        .copied()
        .filter(|&i| taken.iter().any(|&(row, _)| row == i))
        .collect();
    order.sort_by_key(|&i| match resolved[i].from {
        Some(s) if states.list[s].is_leaf() => (0, 0, i),
        Some(s) => (1, usize::MAX - depth(s), i),
        None => (2, 0, i),
    });

    let mut rows = Vec::new();
    let mut written = Vec::new();
    for &i in &kept {
        let r = &resolved[i];
        let to = match r.to {
            To::State(t) => Some(t),
            To::Internal => None,
            To::Unresolved => continue,
        };
        if taken.iter().any(|&(row, _)| row == i) {
            written.push(Written {
                source: r.from,
                event: r.event,
                guard: r.guard.clone(),
                actions: r.row.actions.clone(),
                to,
            });
        }
    }
    for i in order {
        let r = &resolved[i];
        for &leaf in &leaves {
            if !taken.contains(&(i, leaf)) {
                continue;
            }
            let (to, internal, exits, entries) = match r.to {
                To::Unresolved => continue,
                To::Internal => (leaf, true, Vec::new(), Vec::new()),
                To::State(target) => {
                    let (exits, entries) = crossings(states, leaf, r.from, target);
                    (states.leaf_of(target), false, exits, entries)
                }
            };
            rows.push(Transition {
                from: leaf,
                event: r.event,
                to,
                guard: r.guard.clone(),
                actions: r.row.actions.clone(),
                source: r.from,
                target: match r.to {
                    To::State(t) => Some(t),
                    _ => None,
                },
                internal,
                exits,
                entries,
            });
        }
    }
    (rows, written)
}

/// The states an external row written on `source` (`None`: `_`) leaves from `leaf`, innermost
/// first, and the states it enters on its way to `target`'s leaf, outermost first: up to and
/// down from the innermost state that strictly contains both the source and the target.
fn crossings(
    states: &Names,
    leaf: usize,
    source: Option<usize>,
    target: usize,
) -> (Vec<usize>, Vec<usize>) {
    let domain = source.and_then(|s| {
        let around_source: Vec<usize> = states.ancestors(states.list[s].parent).collect();
        states
            .ancestors(states.list[target].parent)
            .find(|a| around_source.contains(a))
    });
    let up_to_domain = |from: usize| -> Vec<usize> {
        states
            .ancestors(Some(from))
            .take_while(|&s| Some(s) != domain)
            .collect()
    };
    let exits = up_to_domain(leaf);
    let mut entries = up_to_domain(states.leaf_of(target));
    entries.reverse();
    (exits, entries)
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
