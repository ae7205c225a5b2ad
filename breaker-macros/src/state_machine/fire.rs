//! The transition function: `Fire::fire`, or `AsyncFire::fire` for a machine declared
//! `async`, one match arm per state and event, its rows in the order they are tried.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Expr;

use super::check::{Guard, Transition};
use super::data::{Effect, effects};
use super::expand::{Names, rest_pattern};

pub(super) fn fire_impl(n: &Names<'_>) -> TokenStream {
    let Names {
        table,
        private: p,
        machine,
        state,
        state_kind,
        event,
        context,
        ..
    } = n;

    // One arm per (state, event), its rows (with their index in the table) in table order.
    type Rows<'t> = Vec<(usize, &'t Transition)>;
    let mut groups: Vec<(usize, usize, Rows<'_>)> = Vec::new();
    for (index, row) in table.rows.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|(s, e, _)| *s == row.from && *e == row.event)
        {
            Some((_, _, rows)) => rows.push((index, row)),
            None => groups.push((row.from, row.event, vec![(index, row)])),
        }
    }
    let arms = groups.iter().map(|(from, ev, rows)| {
        let from_ident = &table.states[*from].ident;
        let event_ident = &table.events[*ev].ident;
        let pattern = rest_pattern(&table.events[*ev].fields);
        let steps = rows.iter().map(|&(index, row)| {
            let fire = transition(n, index, row);
            match &row.guard {
                Some(guard) => {
                    let condition = guard_call(n, guard);
                    quote! {
                        if guarded(#condition, #index, context) {
                            #fire
                        }
                    }
                }
                None => fire,
            }
        });
        let all_guarded = rows.iter().all(|(_, row)| row.guard.is_some());
        let refusal = all_guarded.then(|| quote!(#p::Refusal::GuardsFailed));
        let single = rows.len() == 1 && rows[0].1.guard.is_none();
        if single {
            quote! {
                (#state_kind::#from_ident, #event::#event_ident #pattern) => { #(#steps)* }
            }
        } else {
            quote! {
                (#state_kind::#from_ident, #event::#event_ident #pattern) => {
                    #(#steps)*
                    #refusal
                }
            }
        }
    });
    let from = if table.has_state_data() {
        quote!(<Self as #p::StateMachine>::state_kind(state))
    } else {
        quote!(*state)
    };
    // Reports a guard's result to the hook, and passes it on.
    let guarded = table.rows.iter().any(|row| row.guard.is_some()).then(|| {
        quote! {
            let guarded = |held: bool, row: usize, context: &mut C| -> bool {
                #context::on_guard(context, &<Self as #p::StateMachine>::TRANSITIONS[row], held);
                held
            };
        }
    });
    // Without data, the state is its kind: set once, after the row's actions.
    let set_state = (!table.has_state_data()).then(|| quote!(*state = to;));
    let clear = table.is_async.then(|| quote!(*interrupted = #p::None;));
    // A table whose every row has an error still expands, with no row to fire: the code
    // after the match is then unreachable, and the table's errors are what the user sees.
    let no_rows = table
        .rows
        .is_empty()
        .then(|| quote!(#[allow(unreachable_code)]));
    let body = quote! {
        let from = #from;
        #guarded
        // Every arm that fires breaks out with its target and its row in the table.
        let (to, row): (#state_kind, usize) = 'fired: {
            let reason = match (from, event) {
                #(#arms,)*
                _ => #p::Refusal::Undeclared,
            };
            let refusal = #p::InvalidTransition {
                from,
                event: <Self as #p::StateMachine>::event_kind(event),
                reason,
            };
            #context::on_refusal(context, &refusal);
            return #p::Err(refusal);
        };
        #set_state
        #clear
        #context::on_transition(context, &<Self as #p::StateMachine>::TRANSITIONS[row]);
        #p::Ok(to)
    };
    if table.is_async {
        quote! {
            #[automatically_derived]
            impl<C: #context + #p::Send + ?#p::Sized> #p::AsyncFire<C> for #machine {
                #no_rows
                fn fire<'a>(
                    state: &'a mut #state,
                    event: &'a #event,
                    context: &'a mut C,
                    interrupted: &'a mut #p::Option<#p::Interrupted<Self>>,
                ) -> impl #p::Future<Output = #p::Result<#state_kind, #p::InvalidTransition<Self>>> + #p::Send + 'a {
                    async move {
                        #body
                    }
                }
            }
        }
    } else {
        quote! {
            #[automatically_derived]
            impl<C: #context + ?#p::Sized> #p::Fire<C> for #machine {
                // The hooks' calls make the function look bigger to the optimizer than it
                // is once they are gone (they do nothing unless overridden): without the
                // hint, a small table's transition function stays a call.
                #[inline]
                #no_rows
                fn fire(
                    state: &mut #state,
                    event: &#event,
                    context: &mut C,
                ) -> #p::Result<#state_kind, #p::InvalidTransition<Self>> {
                    #body
                }
            }
        }
    }
}

/// The effects of a row that fires: exit actions, the row's actions, the new state, entry
/// actions, and the break out of the match with the target and the row. In an async machine, each awaited action is first
/// recorded in `interrupted`, so that a dropped future leaves a record of where it stopped.
fn transition(n: &Names<'_>, index: usize, row: &Transition) -> TokenStream {
    let Names {
        table,
        private: p,
        state,
        state_kind,
        context,
        ..
    } = n;
    let to = &table.states[row.to].ident;
    let state_arg = table.has_state_data().then(|| quote!(&*state,));
    let await_ = table.is_async.then(|| quote!(.await));
    let mark = |step: TokenStream| {
        table.is_async.then(|| {
            quote! {
                *interrupted = #p::Some(#p::Interrupted {
                    from,
                    event: <Self as #p::StateMachine>::event_kind(event),
                    to: #state_kind::#to,
                    step: #step,
                });
            }
        })
    };
    let data_target = !row.internal && table.states[row.to].has_data();
    let mut out = TokenStream::new();
    let mut set_state = false;
    for (effect, action) in effects(table, row) {
        let name = action.to_string();
        if let Effect::Entry(_) = effect
            && !set_state
        {
            out.extend(new_state(n, row, false));
            set_state = true;
        }
        match effect {
            Effect::Exit(s) => {
                let of = table.states[s].ident.to_string();
                out.extend(mark(quote!(#p::Step::Exit { state: #of, action: #name })));
                out.extend(quote!(#context::#action(context, #state_arg) #await_;));
            }
            Effect::Row(last) => {
                out.extend(mark(quote!(#p::Step::Action { action: #name })));
                if last && data_target {
                    out.extend(quote! {
                        let data = #context::#action(context, #state_arg event) #await_;
                        *state = <#state as #p::From<_>>::from(data);
                    });
                    set_state = true;
                } else {
                    out.extend(quote!(#context::#action(context, #state_arg event) #await_;));
                }
            }
            Effect::Entry(s) => {
                let of = table.states[s].ident.to_string();
                out.extend(mark(quote!(#p::Step::Entry { state: #of, action: #name })));
                out.extend(quote!(#context::#action(context, #state_arg) #await_;));
            }
        }
    }
    if !set_state {
        out.extend(new_state(n, row, data_target));
    }
    quote! {
        #out
        break 'fired (#state_kind::#to, #index);
    }
}

/// The assignment of a row's target, a state without data (an internal row keeps its
/// state). A machine without state data sets its state once a row has fired, unless it is
/// async: there the state changes before the entry actions, so that a transition dropped in
/// one leaves the machine in its target state.
fn new_state(n: &Names<'_>, row: &Transition, data_target: bool) -> TokenStream {
    let Names { table, state, .. } = n;
    let has_entries = effects(table, row)
        .iter()
        .any(|(effect, _)| matches!(effect, Effect::Entry(_)));
    let needed = table.has_state_data() || (table.is_async && has_entries);
    if row.internal || data_target || !needed {
        return TokenStream::new();
    }
    let to = &table.states[row.to].ident;
    quote!(*state = #state::#to;)
}

/// The guard expression with each guard name turned into a call on the context.
fn guard_call(n: &Names<'_>, guard: &Guard) -> TokenStream {
    let Names { table, context, .. } = n;
    let state_arg = table.has_state_data().then(|| quote!(&*state,));
    let await_ = table.is_async.then(|| quote!(.await));
    let walk = |expr: &Expr| -> TokenStream {
        fn go(expr: &Expr, call: &dyn Fn(&syn::Ident) -> TokenStream) -> TokenStream {
            match expr {
                Expr::Path(p) => match p.path.get_ident() {
                    Some(ident) => call(ident),
                    None => quote!(#p),
                },
                Expr::Unary(u) => {
                    let inner = go(&u.expr, call);
                    quote!(!#inner)
                }
                Expr::Binary(b) => {
                    let left = go(&b.left, call);
                    let right = go(&b.right, call);
                    let op = &b.op;
                    quote!(#left #op #right)
                }
                Expr::Paren(p) => {
                    let inner = go(&p.expr, call);
                    quote!((#inner))
                }
                // `check` accepts nothing else.
                other => quote!(#other),
            }
        }
        go(
            expr,
            &|ident| quote!(#context::#ident(context, #state_arg event) #await_),
        )
    };
    walk(&guard.expr)
}
