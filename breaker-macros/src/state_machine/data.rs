//! The table as data: the `StateMachine` impl (states, events, the rows flattened onto the
//! leaves with their exits, entries and effects, the superstates, the diagram), and the
//! order in which a transition runs its actions.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use super::check::{Table, Transition, ancestors, leaf_of};
use super::diagram;
use super::expand::{Names, rest_pattern};

pub(super) fn state_machine_impl(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        state,
        state_kind,
        event,
        kind,
        ..
    } = n;
    let name = machine.to_string();
    let state_path = |i: usize| {
        let ident = &table.states[i].ident;
        quote!(#state_kind::#ident)
    };
    let kind_path = |i: usize| {
        let ident = &table.events[i].ident;
        quote!(#kind::#ident)
    };
    let initial_ident = &table.states[table.initial].ident;
    let states = table.leaves().map(|(i, _)| state_path(i));
    let events = (0..table.events.len()).map(kind_path);
    let finals = table.finals.iter().map(|&s| state_path(s));
    let names = |list: &[usize]| -> Vec<String> {
        list.iter()
            .map(|&s| table.states[s].ident.to_string())
            .collect()
    };
    let rows = table.rows.iter().map(|row| {
        let from = state_path(row.from);
        let event = kind_path(row.event);
        let to = state_path(row.to);
        let guard = match &row.guard {
            Some(g) => {
                let text = &g.text;
                quote!(#p::Some(#text))
            }
            None => quote!(#p::None),
        };
        let actions = row.actions.iter().map(ToString::to_string);
        let source = match row.source {
            Some(s) => table.states[s].ident.to_string(),
            None => "_".to_string(),
        };
        let internal = row.internal;
        let exits = names(&row.exits);
        let entries = names(&row.entries);
        let effects = effects(table, row)
            .into_iter()
            .map(|(_, action)| action.to_string());
        quote! {
            #p::Transition {
                from: #from,
                event: #event,
                to: #to,
                guard: #guard,
                actions: &[#(#actions),*],
                source: #source,
                internal: #internal,
                exits: &[#(#exits),*],
                entries: &[#(#entries),*],
                effects: &[#(#effects),*],
            }
        }
    });
    let superstates = table.is_hierarchical().then(|| {
        let list = table
            .states
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_leaf())
            .map(|(index, s)| {
                let name = s.ident.to_string();
                let parent = match s.parent {
                    Some(parent) => {
                        let parent = table.states[parent].ident.to_string();
                        quote!(#p::Some(#parent))
                    }
                    None => quote!(#p::None),
                };
                let initial = state_path(leaf_of(&table.states, index));
                let leaves = table
                    .leaves()
                    .filter(|&(leaf, _)| ancestors(&table.states, Some(leaf)).any(|s| s == index))
                    .map(|(leaf, _)| state_path(leaf));
                let entry = s.entry.iter().map(ToString::to_string);
                let exit = s.exit.iter().map(ToString::to_string);
                quote! {
                    #p::Superstate {
                        name: #name,
                        parent: #parent,
                        initial: #initial,
                        states: &[#(#leaves),*],
                        entry: &[#(#entry),*],
                        exit: &[#(#exit),*],
                    }
                }
            });
        quote! {
            const SUPERSTATES: &'static [#p::Superstate<#state_kind>] = &[#(#list,)*];
        }
    });
    let mermaid = diagram::mermaid(table);
    let event_kind = if table.has_event_data() {
        let arms = table.events.iter().map(|e| {
            let ident = &e.ident;
            let pattern = rest_pattern(&e.fields);
            quote!(#event::#ident #pattern => #kind::#ident)
        });
        quote! {
            match event {
                #(#arms,)*
            }
        }
    } else {
        quote!(*event)
    };
    let state_kind_body = if table.has_state_data() {
        let arms = table.leaves().map(|(_, s)| {
            let ident = &s.ident;
            let pattern = rest_pattern(&s.fields);
            quote!(#state::#ident #pattern => #state_kind::#ident)
        });
        quote! {
            match state {
                #(#arms,)*
            }
        }
    } else {
        quote!(*state)
    };
    quote! {
        #[automatically_derived]
        impl #p::StateMachine for #machine {
            type State = #state;
            type StateKind = #state_kind;
            type Event = #event;
            type EventKind = #kind;

            const NAME: &'static str = #name;
            const INITIAL: #state = #state::#initial_ident;
            const STATES: &'static [#state_kind] = &[#(#states),*];
            const EVENTS: &'static [#kind] = &[#(#events),*];
            const FINAL: &'static [#state_kind] = &[#(#finals),*];
            #superstates
            const TRANSITIONS: &'static [#p::Transition<#state_kind, #kind>] = &[
                #(#rows,)*
            ];
            const MERMAID: &'static str = #mermaid;

            fn event_kind(event: &#event) -> #kind {
                #event_kind
            }

            fn state_kind(state: &#state) -> #state_kind {
                #state_kind_body
            }
        }
    }
}

/// Where an action of a transition comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    /// An exit action of this state.
    Exit(usize),
    /// One of the row's actions; `true` for the last one.
    Row(bool),
    /// An entry action of this state.
    Entry(usize),
}

/// Every action a transition runs, in order: exit actions (innermost state first), the row's
/// actions, entry actions (outermost state first).
pub(super) fn effects<'t>(table: &'t Table, row: &'t Transition) -> Vec<(Effect, &'t Ident)> {
    let mut out = Vec::new();
    for &s in &row.exits {
        out.extend(table.states[s].exit.iter().map(|a| (Effect::Exit(s), a)));
    }
    let last = row.actions.len().saturating_sub(1);
    out.extend(
        row.actions
            .iter()
            .enumerate()
            .map(|(k, a)| (Effect::Row(k == last), a)),
    );
    for &s in &row.entries {
        out.extend(table.states[s].entry.iter().map(|a| (Effect::Entry(s), a)));
    }
    out
}
