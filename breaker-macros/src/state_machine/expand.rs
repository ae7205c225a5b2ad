//! Generates the code of a checked table.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Fields, Ident};

use super::check::{Named, Table};
use super::diagram;
use crate::doc::doc_attrs;

/// The names of everything generated for one table.
pub(super) struct Names<'a> {
    pub(super) table: &'a Table,
    /// `#krate::__private`.
    pub(super) private: TokenStream,
    pub(super) machine: &'a Ident,
    pub(super) state: Ident,
    /// The fieldless state enum: `state` itself when no state carries data.
    pub(super) state_kind: Ident,
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
        state_kind: if table.has_state_data() {
            format_ident!("{}StateKind", machine)
        } else {
            format_ident!("{}State", machine)
        },
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
    let context_trait = super::context::context_trait(&names);
    let state_machine_impl = super::data::state_machine_impl(&names);
    let fire_impl = super::fire::fire_impl(&names);
    let inherent_impl = inherent_impl(&names);
    let typed = (table.typed || table.has_state_data()).then(|| super::typed::typed_module(&names));
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
        state_kind,
        ..
    } = n;
    let vis = &table.vis;
    let doc = doc_attrs(&format!("The states of [`{machine}`]."));
    let non_exhaustive = table.non_exhaustive.then(|| quote!(#[non_exhaustive]));
    let leaves: Vec<&Named> = table.leaves().map(|(_, s)| s).collect();
    let kinds = leaves.iter().map(|s| state_variant(table, s, machine));
    let kind_derives = quote!(#[derive(#p::Debug, #p::Clone, #p::Copy, #p::PartialEq, #p::Eq, #p::Hash, #p::PartialOrd, #p::Ord)]);
    if !table.has_state_data() {
        let mut out = quote! {
            #doc
            #non_exhaustive
            #kind_derives
            #vis enum #state {
                #(#kinds,)*
            }
        };
        out.extend(impl_name_and_display(
            p,
            state,
            name_fn_body(leaves.iter().copied(), false),
            "The state's name, as declared.",
        ));
        // serde by name, if the runtime's `serde` feature is on (the runtime's macro decides).
        out.extend(quote! {
            #p::serde_state!(#machine, #state);
        });
        return out;
    }
    let variants = leaves.iter().map(|s| {
        let fields = &s.fields;
        let head = state_variant(table, s, machine);
        quote!(#head #fields)
    });
    let kind_doc = doc_attrs(&format!("The states of [`{machine}`], without their data."));
    let serde_path = {
        let krate = &table.krate;
        let text = quote!(#krate::__private::serde)
            .to_string()
            .replace(' ', "");
        syn::LitStr::new(&text, proc_macro2::Span::call_site())
    };
    let mut out = quote! {
        #p::serde_data_state!(#serde_path,
            #doc
            #non_exhaustive
            #[derive(#p::Debug)]
            #vis enum #state {
                #(#variants,)*
            }
        );

        #kind_doc
        #non_exhaustive
        #kind_derives
        #vis enum #state_kind {
            #(#kinds,)*
        }
    };
    out.extend(impl_name_and_display(
        p,
        state,
        name_fn_body(leaves.iter().copied(), true),
        "The state's name, as declared.",
    ));
    out.extend(impl_name_and_display(
        p,
        state_kind,
        name_fn_body(leaves.iter().copied(), false),
        "The state's name, as declared.",
    ));
    out
}

/// A leaf's variant: its docs, or a line saying what it is and where.
fn state_variant(table: &Table, named: &Named, machine: &Ident) -> TokenStream {
    if !named.docs.is_empty() {
        return variant(named, "State", machine);
    }
    let ident = &named.ident;
    let inside = match named.parent {
        Some(parent) => format!(", inside `{}`", table.states[parent].ident),
        None => String::new(),
    };
    let doc = doc_attrs(&format!("State `{ident}` of `{machine}`{inside}."));
    quote!(#doc #ident)
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
        name_fn_body(table.events.iter(), true),
        "The event's name, as declared.",
    ));
    if table.has_event_data() {
        out.extend(impl_name_and_display(
            p,
            kind,
            name_fn_body(table.events.iter(), false),
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
fn name_fn_body<'a>(list: impl Iterator<Item = &'a Named>, with_data: bool) -> TokenStream {
    let arms = list.map(|named| {
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

fn inherent_impl(n: &Names<'_>) -> TokenStream {
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
    let initial = &table.states[table.initial].ident;
    let machine_doc = doc_attrs(&format!(
        "A running `{machine}` in its initial state `{initial}`, with `context` for its guards and actions."
    ));
    let typed_doc = doc_attrs(&format!(
        "A running `{machine}` whose state is a type, starting in `{initial}`: only the transitions of the table compile."
    ));
    // The runtime's `ContextOf` names the context trait in its message; an async machine
    // has no `Fire`, so its functions name the context trait itself.
    let bound = if table.is_async {
        quote!(C: #context)
    } else {
        quote!(C: #p::ContextOf<#machine>)
    };
    let typed_fn = table.typed.then(|| {
        quote! {
            #typed_doc
            #vis fn typed<C>(context: C) -> #p::Typed<#module::state::#initial, C>
            where
                #bound,
            {
                #p::Typed::new(context)
            }
        }
    });
    let machine_fn = if table.is_async {
        quote! {
            #machine_doc
            #vis fn machine<C>(context: C) -> #p::AsyncMachine<#machine, C>
            where
                #bound,
            {
                #p::AsyncMachine::new(context)
            }
        }
    } else {
        quote! {
            #machine_doc
            #vis fn machine<C>(context: C) -> #p::Machine<#machine, C>
            where
                #bound,
            {
                #p::Machine::new(context)
            }
        }
    };
    // A state that is a plain value is fired by value, as the breaker's own circuit does.
    let next_fn = (!table.is_async && !table.has_state_data()).then(|| {
        quote! {
            /// Fires `event` in state `from`: runs the guards and actions of the first row that
            /// takes it and returns its target, or says why no row does.
            #[inline]
            #vis fn next<C: #context + ?#p::Sized>(
                from: #state,
                event: &#event,
                context: &mut C,
            ) -> #p::Result<#state, #p::InvalidTransition<#machine>> {
                let mut state = from;
                <#machine as #p::Fire<C>>::fire(&mut state, event, context)?;
                #p::Ok(state)
            }
        }
    });
    quote! {
        impl #machine {
            #machine_fn

            #typed_fn

            #next_fn

            /// The transition table as a Mermaid `stateDiagram-v2`.
            #vis const fn mermaid() -> &'static str {
                <#machine as #p::StateMachine>::MERMAID
            }

            /// The transition table flattened onto the states a machine can be in, one row
            /// per state and transition, in the order rows are tried.
            #vis const fn transitions() -> &'static [#p::Transition<#state_kind, #kind>] {
                <#machine as #p::StateMachine>::TRANSITIONS
            }
        }
    }
}
