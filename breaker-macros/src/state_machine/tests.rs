//! Expansion snapshots: the generated code of representative tables, pretty-printed, so that
//! every change to it shows up in review.

use quote::quote;

fn expand_pretty(tokens: proc_macro2::TokenStream) -> String {
    let out = super::expand(tokens);
    let file: syn::File = syn::parse2(out).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

#[test]
fn door_with_guards_actions_and_a_final_state() {
    insta::assert_snapshot!(expand_pretty(quote! {
        /// A door.
        pub Door {
            initial: Closed,
            final: Broken,
            Closed + Open => Opened,
            Opened + Close => Closed,
            Closed + Lock [has_key] / log_lock => Locked,
            Locked + Unlock [has_key && !jammed] => Closed,
            Locked + Kick => Broken,
        }
    }));
}

#[test]
fn declared_states_data_events_and_a_wildcard() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[state_machine(crate = crate)]
        pub(crate) Feeder {
            states: [Idle, Feeding],
            events: [
                /// Food was put in.
                Feed { grams: u32 },
                Done,
                Reset,
            ],
            initial: Idle,
            Idle + Feed [has_room] / (weigh, log) => Feeding,
            Feeding + Done => Idle,
            _ + Reset => Idle,
        }
    }));
}

#[test]
fn errors_are_all_reported_and_the_machine_still_expands() {
    let out = super::expand(quote! {
        Door {
            states: [Closed, Opened, Locked],
            initial: Closed,
            Closed + Open => Opend,
            Opened + Close => Closed,
            Closed + Open => Locked,
            Opened + Lock => Locked,
        }
    })
    .to_string();
    assert!(
        out.contains("unknown state `Opend` (did you mean `Opened`?)"),
        "{out}"
    );
    assert!(
        out.contains("duplicate transition: an earlier row already takes `Closed + Open`"),
        "{out}"
    );
    assert!(out.contains("state `Locked` has no way out"), "{out}");
    assert!(
        !out.contains("is unreachable"),
        "a typo must not cascade: {out}"
    );
    assert!(
        out.contains("enum DoorState"),
        "the machine is still generated: {out}"
    );
}

#[test]
fn typed_false_leaves_out_the_typed_api() {
    let out = super::expand(quote! {
        #[state_machine(typed = false)]
        pub Valve {
            initial: Shut,
            Shut + Open => Opened,
            Opened + Shut => Shut,
        }
    })
    .to_string();
    assert!(!out.contains("mod valve"), "{out}");
    assert!(!out.contains("fn typed"), "{out}");
    assert!(out.contains("fn machine"), "{out}");
}

#[test]
fn a_published_table_that_may_grow() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[state_machine(typed = false, non_exhaustive)]
        pub Valve {
            initial: Shut,
            Shut + Open => Flowing,
            Flowing + Shut => Shut,
        }
    }));
}

#[test]
fn superstates_entry_and_exit_actions_state_data_and_an_internal_row() {
    insta::assert_snapshot!(expand_pretty(quote! {
        /// An order.
        pub Order {
            initial: Placed,
            final: Cancelled,
            states: [
                Placed,
                #[initial(Paid)] #[entry(open_ticket)] #[exit(close_ticket)]
                Active [
                    Paid,
                    #[exit(seal)]
                    Packing { parcel: u32 },
                ],
                Cancelled(String),
            ],
            Placed + Pay => Active,
            Paid + Pack [in_stock] / pack => Packing,
            Packing + Weigh / note => _,
            Active + Cancel / refund => Cancelled,
        }
    }));
}

#[test]
fn an_async_machine() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[state_machine(async, typed = false)]
        pub Job {
            initial: Queued,
            final: Done,
            states: [Queued, #[entry(lease)] Running, Done],
            Queued + Start [has_capacity] / fetch => Running,
            Running + Finish => Done,
        }
    }));
}

#[test]
fn a_flat_table_flattens_to_itself_and_a_superstate_row_comes_after_the_states_own() {
    let out = super::expand(quote! {
        Order {
            initial: Placed,
            states: [Placed, #[initial(Paid)] Active [Paid, Shipped]],
            Active + Cancel => Placed,
            Paid + Cancel [fraud] => Placed,
            Placed + Pay => Active,
            Paid + Ship => Shipped,
        }
    })
    .to_string();
    assert!(!out.contains("compile_error"), "{out}");
    // The rows of `Paid` on `Cancel`: its own (guarded) first, then the superstate's.
    let own = out
        .find("guard : :: breaker :: __private :: Some (\"fraud\")")
        .unwrap();
    let inherited = out.find("source : \"Active\"").unwrap();
    assert!(own < inherited, "{out}");
}
