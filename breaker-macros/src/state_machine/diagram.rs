//! The table rendered for people: a Mermaid state diagram and a Markdown table.
//!
//! The diagram draws rows as written: a row on a superstate starts at the superstate's
//! border, a superstate is a composite state with its initial state marked, and entry, exit
//! and internal rows are written inside their state. A `_` row is drawn from every outermost
//! state it applies to. Mermaid places both ends of an edge in the composite state the edge
//! is written in, so an edge is written inside a composite only between two of its direct
//! states, and at the top level otherwise.

use std::fmt::Write;

use super::check::{Table, Transition, Written, ancestors};

/// The table as a Mermaid `stateDiagram-v2`.
pub fn mermaid(table: &Table) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let _ = writeln!(
        out,
        "    [*] --> {}",
        table.states[table.initial_written].ident
    );
    draw_inside(table, None, 1, &mut out);
    for &state in &table.finals {
        let _ = writeln!(out, "    {} --> [*]", table.states[state].ident);
    }
    out
}

/// The superstates, descriptions and rows whose innermost enclosing superstate is `within`.
fn draw_inside(table: &Table, within: Option<usize>, depth: usize, out: &mut String) {
    let indent = "    ".repeat(depth);
    for (index, state) in table.states.iter().enumerate() {
        if state.parent != within {
            continue;
        }
        // A state inside a composite is declared there, so that the edges written at the
        // top level cannot place it outside.
        if state.is_leaf() && within.is_some() {
            let _ = writeln!(out, "{indent}{}", state.ident);
        }
        if !state.is_leaf() {
            let _ = writeln!(out, "{indent}state {} {{", state.ident);
            let initial = state.initial_state().unwrap_or(index);
            let _ = writeln!(out, "{indent}    [*] --> {}", table.states[initial].ident);
            draw_inside(table, Some(index), depth + 1, out);
            let _ = writeln!(out, "{indent}}}");
        }
    }
    for (index, state) in table.states.iter().enumerate() {
        if state.parent != within {
            continue;
        }
        let name = &state.ident;
        for action in &state.entry {
            let _ = writeln!(out, "{indent}{name} : entry / {action}");
        }
        for action in &state.exit {
            let _ = writeln!(out, "{indent}{name} : exit / {action}");
        }
        for row in table
            .written
            .iter()
            .filter(|r| r.source == Some(index) && r.to.is_none())
        {
            let _ = writeln!(out, "{indent}{name} : {} (internal)", label(table, row));
        }
    }
    for row in &table.written {
        let (Some(source), Some(to)) = (row.source, row.to) else {
            continue;
        };
        if edge_block(table, source, to) == within {
            let _ = writeln!(
                out,
                "{indent}{} --> {} : {}",
                table.states[source].ident,
                table.states[to].ident,
                label(table, row)
            );
        }
    }
    if within.is_none() {
        draw_wildcards(table, &indent, out);
    }
}

/// `_` rows, from each outermost state they apply to; internal ones as descriptions.
fn draw_wildcards(table: &Table, indent: &str, out: &mut String) {
    let mut drawn: Vec<(usize, String, Option<usize>)> = Vec::new();
    for row in table.rows.iter().filter(|r| r.source.is_none()) {
        let outermost = ancestors(&table.states, Some(row.from))
            .last()
            .unwrap_or(row.from);
        let written_to = row.target;
        let text = flat_label(table, row);
        let key = (outermost, text.clone(), written_to);
        if drawn.contains(&key) {
            continue;
        }
        drawn.push(key);
        let from = &table.states[outermost].ident;
        match written_to {
            Some(to) => {
                let _ = writeln!(
                    out,
                    "{indent}{from} --> {} : {text}",
                    table.states[to].ident
                );
            }
            None => {
                let _ = writeln!(out, "{indent}{from} : {text} (internal)");
            }
        }
    }
}

/// Where Mermaid wants the edge between `a` and `b` written: inside a composite state only
/// when both are its direct states (Mermaid moves both ends of an edge into the composite it
/// is written in), at the top level otherwise.
fn edge_block(table: &Table, a: usize, b: usize) -> Option<usize> {
    let parent = table.states[a].parent;
    if parent == table.states[b].parent {
        parent
    } else {
        None
    }
}

/// The rustdoc of the machine type: the user's docs come first, then this.
pub fn rustdoc(table: &Table) -> String {
    let mut out = String::from("# Transition table\n\n");
    let initial = &table.states[table.initial].ident;
    let written_initial = &table.states[table.initial_written].ident;
    if table.initial == table.initial_written {
        let _ = write!(out, "Initial state: `{initial}`.");
    } else {
        let _ = write!(
            out,
            "Initial state: `{written_initial}`, that is `{initial}`."
        );
    }
    if !table.finals.is_empty() {
        let finals: Vec<String> = table
            .finals
            .iter()
            .map(|&s| format!("`{}`", table.states[s].ident))
            .collect();
        let _ = write!(out, " Final: {}.", finals.join(", "));
    }
    out.push_str(" Rows are tried in this order; the first whose guard holds fires.\n\n");
    out.push_str("| From | Event | Guard | Actions | To |\n|---|---|---|---|---|\n");
    for row in &table.rows {
        let guard = row
            .guard
            .as_ref()
            .map(|g| format!("`{}`", g.text))
            .unwrap_or_default();
        let actions: Vec<String> = row.actions.iter().map(|a| format!("`{a}`")).collect();
        let to = if row.internal {
            format!("`{}` (internal)", table.states[row.to].ident)
        } else {
            format!("`{}`", table.states[row.to].ident)
        };
        let from = match row.source {
            Some(s) if s != row.from => format!(
                "`{}` (row of `{}`)",
                table.states[row.from].ident, table.states[s].ident
            ),
            _ => format!("`{}`", table.states[row.from].ident),
        };
        let _ = writeln!(
            out,
            "| {from} | `{}` | {} | {} | {to} |",
            table.events[row.event].ident,
            guard.replace('|', "\\|"),
            actions.join(", "),
        );
    }
    if table.is_hierarchical()
        || table
            .states
            .iter()
            .any(|s| !s.entry.is_empty() || !s.exit.is_empty())
    {
        out.push_str("\n| State | In | Entry | Exit |\n|---|---|---|---|\n");
        for state in &table.states {
            let inside = state
                .parent
                .map(|p| format!("`{}`", table.states[p].ident))
                .unwrap_or_default();
            let list = |actions: &[syn::Ident]| {
                actions
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "| `{}` | {inside} | {} | {} |",
                state.ident,
                list(&state.entry),
                list(&state.exit)
            );
        }
    }
    let _ = write!(out, "\n```mermaid\n{}```", mermaid(table));
    out
}

/// `Event [guard] / action, action`.
fn label(table: &Table, row: &Written) -> String {
    text(table, row.event, row.guard.as_ref(), &row.actions)
}

fn flat_label(table: &Table, row: &Transition) -> String {
    text(table, row.event, row.guard.as_ref(), &row.actions)
}

fn text(
    table: &Table,
    event: usize,
    guard: Option<&super::check::Guard>,
    actions: &[syn::Ident],
) -> String {
    let mut label = table.events[event].ident.to_string();
    if let Some(guard) = guard {
        let _ = write!(label, " [{}]", guard.text);
    }
    if !actions.is_empty() {
        let actions: Vec<String> = actions.iter().map(ToString::to_string).collect();
        let _ = write!(label, " / {}", actions.join(", "));
    }
    label
}
