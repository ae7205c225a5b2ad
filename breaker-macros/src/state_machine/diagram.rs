//! The table rendered for people: a Mermaid state diagram and a Markdown table.

use std::fmt::Write;

use super::check::{Table, Transition};

/// The table as a Mermaid `stateDiagram-v2`.
pub fn mermaid(table: &Table) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let _ = writeln!(out, "    [*] --> {}", table.states[table.initial].ident);
    for row in &table.rows {
        let _ = writeln!(
            out,
            "    {} --> {} : {}",
            table.states[row.from].ident,
            table.states[row.to].ident,
            label(table, row)
        );
    }
    for &state in &table.finals {
        let _ = writeln!(out, "    {} --> [*]", table.states[state].ident);
    }
    out
}

/// The rustdoc of the machine type: the user's docs come first, then this.
pub fn rustdoc(table: &Table) -> String {
    let mut out = String::from("# Transition table\n\n");
    let _ = write!(
        out,
        "Initial state: `{}`.",
        table.states[table.initial].ident
    );
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
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} | `{}` |",
            table.states[row.from].ident,
            table.events[row.event].ident,
            guard.replace('|', "\\|"),
            actions.join(", "),
            table.states[row.to].ident
        );
    }
    let _ = write!(out, "\n```mermaid\n{}```", mermaid(table));
    out
}

/// `Event [guard] / action, action`.
fn label(table: &Table, row: &Transition) -> String {
    let mut label = table.events[row.event].ident.to_string();
    if let Some(guard) = &row.guard {
        let _ = write!(label, " [{}]", guard.text);
    }
    if !row.actions.is_empty() {
        let actions: Vec<String> = row.actions.iter().map(ToString::to_string).collect();
        let _ = write!(label, " / {}", actions.join(", "));
    }
    label
}
