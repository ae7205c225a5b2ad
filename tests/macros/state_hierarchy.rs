//! Superstates, entry and exit actions, internal and self transitions, state data and hooks,
//! on one order workflow: the actions are recorded in order and compared with what the
//! table says must run.

use breaker::machine::{Refusal, StateMachine, Transition};
use breaker::state_machine;

state_machine! {
    /// An order.
    pub Order {
        initial: Placed,
        final: [Delivered, Cancelled],
        states: [
            #[entry(greet)]
            Placed,
            #[initial(Paid)] #[entry(open_ticket)] #[exit(close_ticket)]
            Active [
                Paid,
                #[initial(Weighing)] #[exit(seal)]
                Packing [
                    #[entry(weigh)]
                    Weighing { grams: u32 },
                    Boxed,
                ],
                Shipped(String),
            ],
            Delivered,
            Cancelled { reason: String },
        ],
        events: [Pay, Pack, Weigh, Box, Repack, Ship, Deliver, Cancel, Ping],
        Placed + Pay / take_payment => Active,
        Paid + Pack / start_packing => Packing,
        Weighing + Weigh / note_weight => _,
        Weighing + Box => Boxed,
        Packing + Repack / start_packing => Packing,
        Boxed + Ship [labelled] / label => Shipped,
        Shipped + Deliver => Delivered,
        Shipped + Cancel [!refundable] / refuse_refund => _,
        Active + Cancel / refund => Cancelled,
        _ + Ping / pong => _,
    }
}

#[derive(Default)]
struct Shop {
    log: Vec<String>,
    labelled: bool,
    refundable: bool,
    grams: u32,
    transitions: Vec<(String, String, String)>,
    guards: Vec<(String, bool)>,
    refusals: Vec<String>,
}

impl Shop {
    fn record(&mut self, what: &str) {
        self.log.push(what.to_string());
    }
}

impl OrderContext for Shop {
    fn labelled(&self, _state: &OrderState, _event: &OrderEvent) -> bool {
        self.labelled
    }
    fn refundable(&self, _state: &OrderState, _event: &OrderEvent) -> bool {
        self.refundable
    }
    fn take_payment(&mut self, _state: &OrderState, _event: &OrderEvent) {
        self.record("take_payment");
    }
    fn start_packing(
        &mut self,
        _state: &OrderState,
        _event: &OrderEvent,
    ) -> order::state::Weighing {
        self.record("start_packing");
        self.grams += 100;
        order::state::Weighing { grams: self.grams }
    }
    fn note_weight(&mut self, state: &OrderState, _event: &OrderEvent) {
        let OrderState::Weighing { grams } = state else {
            panic!("note_weight runs in Weighing, not {state:?}");
        };
        self.log.push(format!("note_weight {grams}"));
    }
    fn label(&mut self, _state: &OrderState, _event: &OrderEvent) -> order::state::Shipped {
        self.record("label");
        order::state::Shipped("TRACK-1".to_string())
    }
    fn refund(&mut self, _state: &OrderState, _event: &OrderEvent) -> order::state::Cancelled {
        self.record("refund");
        order::state::Cancelled {
            reason: "customer".to_string(),
        }
    }
    fn refuse_refund(&mut self, _state: &OrderState, _event: &OrderEvent) {
        self.record("refuse_refund");
    }
    fn pong(&mut self, _state: &OrderState, _event: &OrderEvent) {
        self.record("pong");
    }
    fn greet(&mut self, _state: &OrderState) {
        self.record("greet");
    }
    fn open_ticket(&mut self, _state: &OrderState) {
        self.record("open_ticket");
    }
    fn close_ticket(&mut self, _state: &OrderState) {
        self.record("close_ticket");
    }
    fn seal(&mut self, _state: &OrderState) {
        self.record("seal");
    }
    fn weigh(&mut self, state: &OrderState) {
        let OrderState::Weighing { grams } = state else {
            panic!("weigh is the entry of Weighing, not {state:?}");
        };
        self.log.push(format!("weigh {grams}"));
    }

    fn on_guard(&mut self, row: &'static Transition<OrderStateKind, OrderEvent>, held: bool) {
        self.guards
            .push((row.guard.unwrap_or_default().to_string(), held));
    }
    fn on_transition(&mut self, row: &'static Transition<OrderStateKind, OrderEvent>) {
        self.transitions.push((
            row.from.to_string(),
            row.event.to_string(),
            row.to.to_string(),
        ));
    }
    fn on_refusal(&mut self, refusal: &breaker::machine::InvalidTransition<Order>) {
        self.refusals.push(refusal.to_string());
    }
}

/// An order paid, packed, boxed and shipped.
fn shipped(shop: Shop) -> breaker::machine::Machine<Order, Shop> {
    let mut order = Order::machine(shop);
    for event in [
        OrderEvent::Pay,
        OrderEvent::Pack,
        OrderEvent::Box,
        OrderEvent::Ship,
    ] {
        order.fire(event).unwrap();
    }
    order
}

fn take_log(order: &mut breaker::machine::Machine<Order, Shop>) -> Vec<String> {
    std::mem::take(&mut order.context_mut().log)
}

#[test]
fn entering_a_superstate_enters_its_initial_state_outermost_first() {
    let mut order = Order::machine(Shop::default());
    assert_eq!(order.state(), OrderStateKind::Placed);
    assert_eq!(order.fire(OrderEvent::Pay), Ok(OrderStateKind::Paid));
    assert_eq!(take_log(&mut order), ["take_payment", "open_ticket"]);
    assert!(order.is_in("Active"));
    assert!(order.is_in("Paid"));
    assert!(!order.is_in("Packing"));

    // Into a nested superstate: its initial leaf, with the data the action returned.
    assert_eq!(order.fire(OrderEvent::Pack), Ok(OrderStateKind::Weighing));
    assert_eq!(take_log(&mut order), ["start_packing", "weigh 100"]);
    assert!(matches!(
        order.current(),
        OrderState::Weighing { grams: 100 }
    ));
    assert!(order.is_in("Packing") && order.is_in("Active"));
}

#[test]
fn an_internal_transition_runs_no_exit_or_entry_and_keeps_the_data() {
    let mut order = Order::machine(Shop::default());
    order.fire(OrderEvent::Pay).unwrap();
    order.fire(OrderEvent::Pack).unwrap();
    take_log(&mut order);
    assert_eq!(order.fire(OrderEvent::Weigh), Ok(OrderStateKind::Weighing));
    assert_eq!(take_log(&mut order), ["note_weight 100"]);
    assert!(matches!(
        order.current(),
        OrderState::Weighing { grams: 100 }
    ));
    // `_ + Ping` is internal too, in every state.
    assert_eq!(order.fire(OrderEvent::Ping), Ok(OrderStateKind::Weighing));
    assert_eq!(take_log(&mut order), ["pong"]);
}

#[test]
fn a_self_transition_on_a_superstate_exits_and_reenters_it() {
    let mut order = Order::machine(Shop::default());
    order.fire(OrderEvent::Pay).unwrap();
    order.fire(OrderEvent::Pack).unwrap();
    order.fire(OrderEvent::Box).unwrap();
    take_log(&mut order);
    // `Packing + Repack => Packing` from Boxed: leaves Boxed and Packing (seal), runs the
    // action, enters Packing and its initial state Weighing, with new data. Active stays.
    assert_eq!(order.fire(OrderEvent::Repack), Ok(OrderStateKind::Weighing));
    assert_eq!(take_log(&mut order), ["seal", "start_packing", "weigh 200"]);
    assert!(matches!(
        order.current(),
        OrderState::Weighing { grams: 200 }
    ));
}

#[test]
fn a_superstate_row_applies_to_its_states_and_exits_innermost_first() {
    let mut order = Order::machine(Shop::default());
    order.fire(OrderEvent::Pay).unwrap();
    order.fire(OrderEvent::Pack).unwrap();
    take_log(&mut order);
    assert_eq!(
        order.fire(OrderEvent::Cancel),
        Ok(OrderStateKind::Cancelled)
    );
    assert_eq!(take_log(&mut order), ["seal", "close_ticket", "refund"]);
    let OrderState::Cancelled { reason } = order.current() else {
        panic!("{:?}", order.current());
    };
    assert_eq!(reason, "customer");
    assert!(order.is_final());
}

#[test]
fn a_childs_guarded_row_falls_through_to_its_superstates_row() {
    let mut order = shipped(Shop {
        labelled: true,
        refundable: true,
        ..Shop::default()
    });
    assert!(matches!(order.current(), OrderState::Shipped(t) if t == "TRACK-1"));
    take_log(&mut order);
    // `Shipped + Cancel [!refundable]` does not hold: `Active + Cancel` takes the event.
    assert_eq!(
        order.fire(OrderEvent::Cancel),
        Ok(OrderStateKind::Cancelled)
    );
    assert_eq!(take_log(&mut order), ["close_ticket", "refund"]);
    let guards = &order.context().guards;
    assert_eq!(
        guards.last(),
        Some(&("!refundable".to_string(), false)),
        "{guards:?}"
    );
}

#[test]
fn a_childs_row_shadows_its_superstates_row_when_it_fires() {
    let mut order = shipped(Shop {
        labelled: true,
        refundable: false,
        ..Shop::default()
    });
    take_log(&mut order);
    // The guard holds: the child's internal row takes the event; the superstate's row
    // does not run.
    assert_eq!(order.fire(OrderEvent::Cancel), Ok(OrderStateKind::Shipped));
    assert_eq!(take_log(&mut order), ["refuse_refund"]);
    assert!(matches!(order.current(), OrderState::Shipped(t) if t == "TRACK-1"));
}

#[test]
fn refusals_say_whether_a_guard_failed_and_hooks_see_everything() {
    let mut order = Order::machine(Shop::default());
    let refused = order.fire(OrderEvent::Ship).unwrap_err();
    assert_eq!(refused.reason, Refusal::Undeclared);
    assert_eq!(refused.from, OrderStateKind::Placed);
    for event in [OrderEvent::Pay, OrderEvent::Pack, OrderEvent::Box] {
        order.fire(event).unwrap();
    }
    let refused = order.fire(OrderEvent::Ship).unwrap_err();
    assert_eq!(refused.reason, Refusal::GuardsFailed);
    assert_eq!(order.state(), OrderStateKind::Boxed);
    let shop = order.context();
    assert_eq!(shop.refusals.len(), 2, "{:?}", shop.refusals);
    assert_eq!(
        shop.transitions,
        [
            ("Placed".into(), "Pay".into(), "Paid".into()),
            ("Paid".into(), "Pack".into(), "Weighing".into()),
            ("Weighing".into(), "Box".into(), "Boxed".into()),
        ]
    );
    assert_eq!(shop.guards, [("labelled".to_string(), false)]);
}

#[test]
fn the_table_data_lists_the_flattened_rows_with_their_effects() {
    let cancel_from_weighing = Order::transitions()
        .iter()
        .find(|t| t.from == OrderStateKind::Weighing && t.event == OrderEvent::Cancel)
        .unwrap();
    assert_eq!(cancel_from_weighing.source, "Active");
    assert_eq!(
        cancel_from_weighing.exits,
        ["Weighing", "Packing", "Active"]
    );
    assert_eq!(cancel_from_weighing.entries, ["Cancelled"]);
    assert_eq!(
        cancel_from_weighing.effects,
        ["seal", "close_ticket", "refund"]
    );

    let pay = &Order::transitions()[0];
    assert_eq!(pay.entries, ["Active", "Paid"]);
    assert_eq!(pay.effects, ["take_payment", "open_ticket"]);

    // Rows from Shipped on Cancel: its own guarded row first, then the superstate's.
    let from_shipped: Vec<&str> = Order::transitions()
        .iter()
        .filter(|t| t.from == OrderStateKind::Shipped && t.event == OrderEvent::Cancel)
        .map(|t| t.source)
        .collect();
    assert_eq!(from_shipped, ["Shipped", "Active"]);

    let superstates: Vec<&str> = Order::SUPERSTATES.iter().map(|s| s.name).collect();
    assert_eq!(superstates, ["Active", "Packing"]);
    assert_eq!(Order::SUPERSTATES[1].parent, Some("Active"));
    assert_eq!(Order::SUPERSTATES[1].initial, OrderStateKind::Weighing);
    assert_eq!(Order::STATES.len(), 7);
}

#[test]
fn the_diagram_draws_the_hierarchy() {
    let mermaid = Order::mermaid();
    assert!(mermaid.contains("state Active {"), "{mermaid}");
    assert!(mermaid.contains("        state Packing {"), "{mermaid}");
    assert!(
        mermaid.contains("Active : entry / open_ticket"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("Weighing : Weigh / note_weight (internal)"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("    Active --> Cancelled : Cancel / refund"),
        "{mermaid}"
    );
    println!("{mermaid}");
}

#[test]
fn the_typed_api_takes_superstate_rows_internal_rows_and_data() {
    let order = Order::typed(Shop::default());
    let order = order.fire(order::event::Pay);
    assert_eq!(order.state(), OrderStateKind::Paid);
    let order = order.fire(order::event::Pack);
    assert_eq!(order.data().grams, 100);
    // An internal row: the same typed state, its data kept.
    let order = order.fire(order::event::Weigh);
    assert_eq!(order.data().grams, 100);
    // The superstate's row, typed from a leaf inside it.
    let order = order.fire(order::event::Cancel);
    assert_eq!(order.data().reason, "customer");
    assert_eq!(
        order.context().log,
        [
            "take_payment",
            "open_ticket",
            "start_packing",
            "weigh 100",
            "note_weight 100",
            "seal",
            "close_ticket",
            "refund"
        ]
    );
    let order = order.into_machine();
    assert!(order.is_final());
}
