//! The context trait: the table's guards and actions, and the hooks every context may
//! override to observe the machine.

use proc_macro2::TokenStream;
use quote::quote;

use super::check::{Table, guard_idents};
use super::expand::Names;
use crate::doc::doc_attrs;

pub(super) fn context_trait(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        state,
        state_kind,
        event,
        kind,
        context,
        module,
        ..
    } = n;
    let vis = &table.vis;
    // With state data, every method sees the state it works on.
    let state_param = table.has_state_data().then(|| quote!(state: &#state,));
    let returning = |output: TokenStream| {
        if table.is_async {
            quote!(-> impl #p::Future<Output = #output> + #p::Send)
        } else {
            quote!(-> #output)
        }
    };

    let guards = table.guards.iter().map(|guard| {
        let doc = doc_attrs(&format!(
            "Guard of {}: the row fires only when this returns `true`.",
            uses(table, |row| row
                .guard
                .as_ref()
                .is_some_and(|g| guard_idents(&g.expr).contains(&guard)))
        ));
        let output = returning(quote!(bool));
        quote! {
            #doc
            fn #guard(&self, #state_param event: &#event) #output;
        }
    });
    let actions = table.actions.iter().map(|action| {
        let ident = &action.ident;
        let rows = uses(table, |row| row.actions.contains(ident));
        let (doc, output) = match action.returns {
            Some(leaf) => {
                let leaf = &table.states[leaf].ident;
                (
                    format!("Action of {rows}: runs when the row fires, after the exit actions; returns the data of `{leaf}`, the state the row enters."),
                    returning(quote!(#module::state::#leaf)),
                )
            }
            None if table.is_async => (
                format!("Action of {rows}: runs when the row fires, after the exit actions and before the entry actions."),
                returning(quote!(())),
            ),
            None => (
                format!("Action of {rows}: runs when the row fires, after the exit actions and before the entry actions."),
                quote!(),
            ),
        };
        let doc = doc_attrs(&doc);
        quote! {
            #doc
            fn #ident(&mut self, #state_param event: &#event) #output;
        }
    });
    let entry_exit = table.entry_exit.iter().map(|action| {
        let role = |entry: bool| -> Vec<String> {
            table
                .states
                .iter()
                .filter(|s| if entry { &s.entry } else { &s.exit }.contains(action))
                .map(|s| format!("`{}`", s.ident))
                .collect()
        };
        let mut parts = Vec::new();
        let entries = role(true);
        if !entries.is_empty() {
            parts.push(format!("Entry action of {}: runs when a transition enters the state, after the row's actions.", entries.join(", ")));
        }
        let exits = role(false);
        if !exits.is_empty() {
            parts.push(format!("Exit action of {}: runs when a transition leaves the state, before the row's actions.", exits.join(", ")));
        }
        let doc = doc_attrs(&parts.join(" "));
        let output = if table.is_async {
            returning(quote!(()))
        } else {
            quote!()
        };
        let param = table.has_state_data().then(|| quote!(state: &#state));
        quote! {
            #doc
            fn #action(&mut self, #param) #output;
        }
    });

    let hooks = quote! {
        /// Hook: called with every guarded row the machine tries and whether its guard held,
        /// before anything else happens. Does nothing unless overridden.
        #[inline(always)]
        fn on_guard(&mut self, row: &'static #p::Transition<#state_kind, #kind>, held: bool) {
            let _ = (row, held);
        }

        /// Hook: called after every transition (internal ones included), once its last
        /// action has run. Does nothing unless overridden.
        #[inline(always)]
        fn on_transition(&mut self, row: &'static #p::Transition<#state_kind, #kind>) {
            let _ = row;
        }

        /// Hook: called when the machine refuses an event. Does nothing unless overridden.
        #[inline(always)]
        fn on_refusal(&mut self, refusal: &#p::InvalidTransition<#machine>) {
            let _ = refusal;
        }
    };

    if !table.has_methods() {
        let doc = doc_attrs(&format!(
            "The context of [`{machine}`]: its table has no guards or actions, so the context only has hooks, which observe the machine. `()` is a context; implement the trait for a type of yours to override the hooks."
        ));
        return quote! {
            #doc
            #vis trait #context {
                #hooks
            }

            impl #context for () {}
        };
    }
    // The message for a type that is not a context is on `ContextOf`, in the runtime: a tool
    // attribute here would not resolve in a `#![no_implicit_prelude]` module.
    let how = if table.is_async {
        " Its guards and actions are `async`: implement them with `async fn`."
    } else {
        ""
    };
    let doc = doc_attrs(&format!(
        "The guards and actions of [`{machine}`]: implement it for the context given to [`{machine}::machine`].{how} Its hooks (`on_guard`, `on_transition`, `on_refusal`) observe the machine; they do nothing unless overridden."
    ));
    quote! {
        #doc
        #vis trait #context {
            #(#guards)*
            #(#actions)*
            #(#entry_exit)*
            #hooks
        }
    }
}

/// The rows, as written, that use a method, for its doc.
fn uses(table: &Table, used: impl Fn(&super::check::Written) -> bool) -> String {
    let name = |s: Option<usize>| match s {
        Some(s) => table.states[s].ident.to_string(),
        None => "_".to_string(),
    };
    let rows: Vec<String> = table
        .written
        .iter()
        .filter(|row| used(row))
        .map(|row| {
            format!(
                "`{} + {} => {}`",
                name(row.source),
                table.events[row.event].ident,
                name(row.to)
            )
        })
        .collect();
    rows.join(", ")
}
