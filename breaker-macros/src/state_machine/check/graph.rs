//! Reachability and dead ends, on the leaves: every leaf must be reachable from the initial
//! state, and every non-final leaf must have a way out (a row of its own, of a superstate
//! around it, or `_`). Rows that failed to resolve take part through their best guesses.

use std::collections::{HashSet, VecDeque};

use super::states::Names;

#[derive(Default)]
pub struct Graph {
    rows: Vec<GraphRow>,
    used_events: HashSet<usize>,
}

struct GraphRow {
    /// `None` for `_`; `Some(None)` when the source did not resolve and has no guess.
    from: Option<Option<usize>>,
    /// `None` for an internal row; `Some(None)` when the target has no guess.
    to: Option<Option<usize>>,
}

impl Graph {
    pub fn add_row(
        &mut self,
        from: Option<Option<usize>>,
        event: Option<usize>,
        to: Option<Option<usize>>,
    ) {
        self.used_events.extend(event);
        self.rows.push(GraphRow { from, to });
    }

    /// Whether some row, valid or not, fires on `event`.
    pub fn fires(&self, event: usize) -> bool {
        self.used_events.contains(&event)
    }

    /// A leaf gets one error at most: unreachable says enough.
    pub fn check(
        &self,
        initial: usize,
        finals: &HashSet<usize>,
        states: &Names,
        errors: &mut Vec<syn::Error>,
    ) {
        let count = states.list.len();
        let leaves_under = |state: Option<usize>| -> Vec<usize> {
            (0..count)
                .filter(|&s| states.list[s].is_leaf() && !finals.contains(&s))
                .filter(|&s| {
                    state.is_none_or(|above| states.ancestors(Some(s)).any(|a| a == above))
                })
                .collect()
        };
        let mut edges: Vec<(usize, usize)> = Vec::new();
        let mut exits: HashSet<usize> = HashSet::new();
        for row in &self.rows {
            let sources = match row.from {
                Some(None) => continue,
                Some(Some(state)) => leaves_under(Some(state)),
                None => leaves_under(None),
            };
            let Some(to) = row.to else { continue };
            exits.extend(sources.iter().copied());
            if let Some(target) = to {
                let target = states.leaf_of(target);
                edges.extend(sources.iter().map(|&s| (s, target)));
            }
        }

        let mut reached = vec![false; count];
        let mut queue = VecDeque::from([initial]);
        reached[initial] = true;
        while let Some(state) = queue.pop_front() {
            for &(from, to) in &edges {
                if from == state && !reached[to] {
                    reached[to] = true;
                    queue.push_back(to);
                }
            }
        }
        let initial_name = &states.list[initial].ident;
        for (index, state) in states.list.iter().enumerate() {
            if !state.is_leaf() {
                continue;
            }
            let name = &state.ident;
            if !reached[index] {
                errors.push(syn::Error::new(
                    name.span(),
                    format!(
                        "state `{name}` is unreachable: no path of rows leads to it from the initial state `{initial_name}`"
                    ),
                ));
            } else if !finals.contains(&index) && !exits.contains(&index) {
                errors.push(syn::Error::new(
                    name.span(),
                    format!("state `{name}` has no way out: add a row that leaves it, or declare it with `final: {name}`"),
                ));
            }
        }
    }
}
