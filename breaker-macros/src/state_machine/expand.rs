//! Generates the code of a checked table.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Expr, Fields, Ident};

use super::check::{Guard, Named, Table, Transition};
use super::diagram;
use crate::doc::doc_attrs;

/// The names of everything generated for one table.
pub(super) struct Names<'a> {
    pub(super) table: &'a Table,
    /// `#krate::__private`.
    pub(super) private: TokenStream,
    pub(super) machine: &'a Ident,
    pub(super) state: Ident,
    pub(super) event: Ident,
    /// The fieldless event enum: `event` itself when no event carries data.
    pub(super) kind: Ident,
    pub(super) context: Ident,
    pub(super) module: &'a Ident,
}

pub fn expand(table: &Table) -> TokenStream {
    let krate = &table.krate;
    let machine = &table.name;
    let names = Names {
        table,
        private: quote!(#krate::__private),
        machine,
        state: format_ident!("{}State", machine),
        event: format_ident!("{}Event", machine),
        kind: if table.has_event_data() {
            format_ident!("{}EventKind", machine)
        } else {
            format_ident!("{}Event", machine)
        },
        context: format_ident!("{}Context", machine),
        module: &table.module,
    };

    let machine_type = machine_type(&names);
    let state_enum = state_enum(&names);
    let event_enums = event_enums(&names);
    let context_trait = context_trait(&names);
    let state_machine_impl = state_machine_impl(&names);
    let fire_impl = fire_impl(&names);
    let inherent_impl = inherent_impl(&names);
    let typed = table.typed.then(|| super::typed::typed_module(&names));
    quote! {
        #machine_type
        #state_enum
        #event_enums
        #context_trait
        #state_machine_impl
        #fire_impl
        #inherent_impl
        #typed
    }
}

fn machine_type(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        ..
    } = n;
    let vis = &table.vis;
    let user_docs = &table.docs;
    let separator = (!user_docs.is_empty()).then(|| doc_attrs(""));
    let generated_docs = doc_attrs(&diagram::rustdoc(table));
    quote! {
        #(#user_docs)*
        #separator
        #generated_docs
        #[derive(#p::Debug, #p::Clone, #p::Copy, #p::PartialEq, #p::Eq, #p::Hash, #p::Default)]
        #vis struct #machine;
    }
}

fn state_enum(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        state,
        ..
    } = n;
    let vis = &table.vis;
    let doc = doc_attrs(&format!("The states of [`{machine}`]."));
    let non_exhaustive = table.non_exhaustive.then(|| quote!(#[non_exhaustive]));
    let variants = table.states.iter().map(|s| variant(s, "State", machine));
    let mut out = quote! {
        #doc
        #non_exhaustive
        #[derive(#p::Debug, #p::Clone, #p::Copy, #p::PartialEq, #p::Eq, #p::Hash, #p::PartialOrd, #p::Ord)]
        #vis enum #state {
            #(#variants,)*
        }
    };
    out.extend(impl_name_and_display(
        p,
        state,
        name_fn_body(&table.states, false),
        "The state's name, as declared.",
    ));
    // serde by name, if the runtime's `serde` feature is on (the runtime's macro decides).
    out.extend(quote! {
        #p::serde_state!(#machine, #state);
    });
    out
}

fn event_enums(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        event,
        kind,
        ..
    } = n;
    let vis = &table.vis;
    let doc = doc_attrs(&format!("The events of [`{machine}`]."));
    let non_exhaustive = table.non_exhaustive.then(|| quote!(#[non_exhaustive]));
    let variants = table.events.iter().map(|e| {
        let fields = &e.fields;
        let head = variant(e, "Event", machine);
        quote!(#head #fields)
    });
    let mut out = if table.has_event_data() {
        let kind_doc = doc_attrs(&format!("The events of [`{machine}`], without their data."));
        let kinds = table.events.iter().map(|e| variant(e, "Event", machine));
        quote! {
            #doc
            #non_exhaustive
            #[derive(#p::Debug)]
            #vis enum #event {
                #(#variants,)*
            }

            #kind_doc
            #non_exhaustive
            #[derive(#p::Debug, #p::Clone, #p::Copy, #p::PartialEq, #p::Eq, #p::Hash, #p::PartialOrd, #p::Ord)]
            #vis enum #kind {
                #(#kinds,)*
            }
        }
    } else {
        quote! {
            #doc
            #non_exhaustive
            #[derive(#p::Debug, #p::Clone, #p::Copy, #p::PartialEq, #p::Eq, #p::Hash, #p::PartialOrd, #p::Ord)]
            #vis enum #event {
                #(#variants,)*
            }
        }
    };
    out.extend(impl_name_and_display(
        p,
        event,
        name_fn_body(&table.events, true),
        "The event's name, as declared.",
    ));
    if table.has_event_data() {
        out.extend(impl_name_and_display(
            p,
            kind,
            name_fn_body(&table.events, false),
            "The event's name, as declared.",
        ));
    }
    out
}

/// A variant with its docs, or a line saying what it is.
fn variant(named: &Named, what: &str, machine: &Ident) -> TokenStream {
    let ident = &named.ident;
    if named.docs.is_empty() {
        let doc = doc_attrs(&format!("{what} `{ident}` of `{machine}`."));
        quote!(#doc #ident)
    } else {
        let docs = &named.docs;
        quote!(#(#docs)* #ident)
    }
}

/// The match arms of `name()`: every variant to its name, whatever data it carries.
fn name_fn_body(list: &[Named], with_data: bool) -> TokenStream {
    let arms = list.iter().map(|named| {
        let ident = &named.ident;
        let name = ident.to_string();
        let pattern = if with_data {
            rest_pattern(&named.fields)
        } else {
            quote!()
        };
        quote!(Self::#ident #pattern => #name)
    });
    quote! {
        match self {
            #(#arms,)*
        }
    }
}

fn impl_name_and_display(
    p: &TokenStream,
    ty: &Ident,
    body: TokenStream,
    text: &str,
) -> TokenStream {
    let doc = doc_attrs(text);
    quote! {
        impl #ty {
            #doc
            pub const fn name(&self) -> &'static str {
                #body
            }
        }

        #[automatically_derived]
        impl #p::fmt::Display for #ty {
            fn fmt(&self, f: &mut #p::fmt::Formatter<'_>) -> #p::fmt::Result {
                f.pad(self.name())
            }
        }
    }
}

/// `(..)`, `{ .. }` or nothing, to match a variant whatever its data.
pub(super) fn rest_pattern(fields: &Fields) -> TokenStream {
    match fields {
        Fields::Unit => quote!(),
        Fields::Unnamed(_) => quote!((..)),
        Fields::Named(_) => quote!({ .. }),
    }
}

fn context_trait(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        event,
        context,
        ..
    } = n;
    let vis = &table.vis;
    let uses = |ident: &Ident, is_guard: bool| -> String {
        let rows: Vec<String> = table
            .rows
            .iter()
            .filter(|row| {
                if is_guard {
                    row.guard
                        .as_ref()
                        .is_some_and(|g| guard_names(&g.expr).contains(&ident))
                } else {
                    row.actions.contains(ident)
                }
            })
            .map(|row| {
                format!(
                    "`{} + {} => {}`",
                    table.states[row.from].ident,
                    table.events[row.event].ident,
                    table.states[row.to].ident
                )
            })
            .collect();
        rows.join(", ")
    };
    let guards = table.guards.iter().map(|guard| {
        let doc = doc_attrs(&format!(
            "Guard of {}: the row fires only when this returns `true`.",
            uses(guard, true)
        ));
        quote! {
            #doc
            fn #guard(&self, event: &#event) -> bool;
        }
    });
    let actions = table.actions.iter().map(|action| {
        let doc = doc_attrs(&format!(
            "Action of {}: runs when the row fires, before the state changes.",
            uses(action, false)
        ));
        quote! {
            #doc
            fn #action(&mut self, event: &#event);
        }
    });

    if table.guards.is_empty() && table.actions.is_empty() {
        let doc = doc_attrs(&format!(
            "The context of [`{machine}`]. Its table has no guards or actions, so every type is a context, `()` included."
        ));
        return quote! {
            #doc
            #vis trait #context {}

            impl<T: ?#p::Sized> #context for T {}
        };
    }
    // The message for a type that is not a context is on `Fire`, in the runtime: a tool
    // attribute here would not resolve in a `#![no_implicit_prelude]` module.
    let doc = doc_attrs(&format!(
        "The guards and actions of [`{machine}`]: implement it for the context given to [`{machine}::machine`]."
    ));
    quote! {
        #doc
        #vis trait #context {
            #(#guards)*
            #(#actions)*
        }
    }
}

fn guard_names(expr: &Expr) -> Vec<&Ident> {
    match expr {
        Expr::Path(p) => p.path.get_ident().into_iter().collect(),
        Expr::Unary(u) => guard_names(&u.expr),
        Expr::Binary(b) => {
            let mut names = guard_names(&b.left);
            names.extend(guard_names(&b.right));
            names
        }
        Expr::Paren(p) => guard_names(&p.expr),
        _ => Vec::new(),
    }
}

fn state_machine_impl(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        state,
        event,
        kind,
        ..
    } = n;
    let name = machine.to_string();
    let state_path = |i: usize| {
        let ident = &table.states[i].ident;
        quote!(#state::#ident)
    };
    let kind_path = |i: usize| {
        let ident = &table.events[i].ident;
        quote!(#kind::#ident)
    };
    let initial = state_path(table.initial);
    let states = (0..table.states.len()).map(state_path);
    let events = (0..table.events.len()).map(kind_path);
    let finals = table.finals.iter().map(|&s| state_path(s));
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
        quote! {
            #p::Transition { from: #from, event: #event, to: #to, guard: #guard, actions: &[#(#actions),*] }
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
    quote! {
        #[automatically_derived]
        impl #p::StateMachine for #machine {
            type State = #state;
            type Event = #event;
            type EventKind = #kind;

            const NAME: &'static str = #name;
            const INITIAL: #state = #initial;
            const STATES: &'static [#state] = &[#(#states),*];
            const EVENTS: &'static [#kind] = &[#(#events),*];
            const FINAL: &'static [#state] = &[#(#finals),*];
            const TRANSITIONS: &'static [#p::Transition<#state, #kind>] = &[
                #(#rows,)*
            ];
            const MERMAID: &'static str = #mermaid;

            fn event_kind(event: &#event) -> #kind {
                #event_kind
            }
        }
    }
}

fn fire_impl(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        state,
        event,
        context,
        ..
    } = n;
    let context_param = if table.guards.is_empty() && table.actions.is_empty() {
        quote!(_context)
    } else {
        quote!(context)
    };

    // One arm per (state, event), its rows in table order.
    let mut groups: Vec<(usize, usize, Vec<&Transition>)> = Vec::new();
    for row in &table.rows {
        match groups
            .iter_mut()
            .find(|(s, e, _)| *s == row.from && *e == row.event)
        {
            Some((_, _, rows)) => rows.push(row),
            None => groups.push((row.from, row.event, vec![row])),
        }
    }
    let arms = groups.iter().map(|(from, ev, rows)| {
        let from_ident = &table.states[*from].ident;
        let event_ident = &table.events[*ev].ident;
        let pattern = rest_pattern(&table.events[*ev].fields);
        let steps = rows.iter().map(|row| {
            let to = &table.states[row.to].ident;
            let actions = row.actions.iter().map(|a| quote!(#context::#a(context, event);));
            let fire = quote! {
                #(#actions)*
                return #p::Ok(#state::#to);
            };
            match &row.guard {
                Some(guard) => {
                    let condition = guard_call(context, guard);
                    quote!(if #condition { #fire })
                }
                None => fire,
            }
        });
        let all_guarded = rows.iter().all(|row| row.guard.is_some());
        let refusal = all_guarded.then(|| quote!(#p::Refusal::GuardsFailed));
        if rows.len() == 1 && rows[0].guard.is_none() && rows[0].actions.is_empty() {
            let to = &table.states[rows[0].to].ident;
            quote!((#state::#from_ident, #event::#event_ident #pattern) => return #p::Ok(#state::#to))
        } else {
            quote! {
                (#state::#from_ident, #event::#event_ident #pattern) => {
                    #(#steps)*
                    #refusal
                }
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl<C: #context + ?#p::Sized> #p::Fire<C> for #machine {
            fn next(
                from: #state,
                event: &#event,
                #context_param: &mut C,
            ) -> #p::Result<#state, #p::InvalidTransition<Self>> {
                let reason = match (from, event) {
                    #(#arms,)*
                    _ => #p::Refusal::Undeclared,
                };
                #p::Err(#p::InvalidTransition {
                    from,
                    event: <Self as #p::StateMachine>::event_kind(event),
                    reason,
                })
            }
        }
    }
}

/// The guard expression with each guard name turned into a call on the context.
fn guard_call(context: &Ident, guard: &Guard) -> TokenStream {
    fn walk(context: &Ident, expr: &Expr) -> TokenStream {
        match expr {
            Expr::Path(p) => {
                let ident = p.path.get_ident();
                quote!(#context::#ident(context, event))
            }
            Expr::Unary(u) => {
                let inner = walk(context, &u.expr);
                quote!(!#inner)
            }
            Expr::Binary(b) => {
                let left = walk(context, &b.left);
                let right = walk(context, &b.right);
                let op = &b.op;
                quote!(#left #op #right)
            }
            Expr::Paren(p) => {
                let inner = walk(context, &p.expr);
                quote!((#inner))
            }
            // `check` accepts nothing else.
            other => quote!(#other),
        }
    }
    walk(context, &guard.expr)
}

fn inherent_impl(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        state,
        event,
        kind,
        context,
        module,
        ..
    } = n;
    let vis = &table.vis;
    let initial = &table.states[table.initial].ident;
    let machine_doc = doc_attrs(&format!(
        "A running `{machine}` in its initial state `{initial}`, with `context` for its guards and actions."
    ));
    let typed_doc = doc_attrs(&format!(
        "A running `{machine}` whose state is a type, starting in `{initial}`: only the transitions of the table compile."
    ));
    let typed_fn = table.typed.then(|| {
        quote! {
            #typed_doc
            #vis fn typed<C>(context: C) -> #p::Typed<#module::state::#initial, C>
            where
                C: #p::ContextOf<#machine>,
            {
                #p::Typed::new(context)
            }
        }
    });
    quote! {
        impl #machine {
            #machine_doc
            #vis fn machine<C>(context: C) -> #p::Machine<#machine, C>
            where
                C: #p::ContextOf<#machine>,
            {
                #p::Machine::new(context)
            }

            #typed_fn

            /// Fires `event` in state `from`: runs the guards and actions of the first row that
            /// takes it and returns its target, or says why no row does.
            #vis fn next<C: #context + ?#p::Sized>(
                from: #state,
                event: &#event,
                context: &mut C,
            ) -> #p::Result<#state, #p::InvalidTransition<#machine>> {
                <#machine as #p::Fire<C>>::next(from, event, context)
            }

            /// The transition table as a Mermaid `stateDiagram-v2`.
            #vis const fn mermaid() -> &'static str {
                <#machine as #p::StateMachine>::MERMAID
            }

            /// The transition table, one row per transition, in the order rows are tried.
            #vis const fn transitions() -> &'static [#p::Transition<#state, #kind>] {
                <#machine as #p::StateMachine>::TRANSITIONS
            }
        }
    }
}
