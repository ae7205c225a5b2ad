//! The `order_workflow` example's orders against its services over real HTTP on loopback:
//! the journal its actions and hooks keep must show every guard, action and transition in
//! the order the table says (exit actions innermost first, the row's actions, entry actions
//! outermost first), the refusals, and the shipment dropped in the middle of its booking.

#[allow(dead_code)]
#[path = "../../examples/order_workflow/services.rs"]
mod services;

#[allow(dead_code)]
#[path = "../../examples/order_workflow/shop.rs"]
mod shop;

use breaker::machine::StateMachine;
use services::Services;
#[cfg(feature = "serde")]
use shop::{Journal, OrderEvent, OrderState, OrderStateKind, Shop};
use shop::{Order, run_orders};

#[tokio::test]
async fn the_orders_journal_every_guard_action_and_transition_in_table_order() {
    let services = Services::start().await.unwrap();
    let journal = run_orders(&services, false).await.unwrap();

    let expected = [
        "order 1: delivered",
        // Into a superstate two levels deep: the guard, the row's action, then the entry
        // actions of `Active` and `Fulfilment`, outermost first.
        "[card_accepted] held",
        "capture_payment: 42.50 captured",
        "open_ticket: ticket for order 1",
        "assign_bay: a packing bay is held",
        "Placed --Pay--> Paid",
        // Internal, on the superstate: no exit, no entry.
        "answer_customer: \"your order is Paid\"",
        "Paid --Ask--> Paid (internal), the row of Active",
        // Within `Fulfilment`: only `Packing`'s entry runs; its data comes from the action.
        "open_parcel: parcel 1",
        "print_label: label on parcel 1",
        "Paid --Pack--> Packing",
        // Internal: the parcel is kept, no label printed.
        "scan_item: item 17 into parcel 1",
        "Packing --Scan--> Packing (internal)",
        // Self-transition: exit with the old data, the action, entry with the new data.
        "seal_parcel: parcel 1 sealed",
        "open_parcel: parcel 2",
        "print_label: label on parcel 2",
        "Packing --Repack--> Packing",
        // Out of `Packing` and `Fulfilment`, innermost first; into `Shipped`.
        "seal_parcel: parcel 2 sealed",
        "free_bay: the packing bay is free",
        "book_carrier: booking parcel 2",
        "book_carrier: parcel 2 booked as TRK-0002",
        "email_tracking: TRK-0002 sent to the customer",
        "Packing --Ship--> Shipped",
        "answer_customer: \"your order is Shipped\"",
        "Shipped --Ask--> Shipped (internal), the row of Active",
        // `Cancel` is a row of `Fulfilment`, which `Shipped` is not in.
        "refused: state machine `Order` has no transition from `Shipped` on `Cancel`",
        "close_ticket: ticket for order 1 closed",
        "Shipped --Deliver--> Delivered",
        "order 2: declined, cancelled",
        "[card_accepted] failed",
        "refused: state machine `Order` refused `Pay` in `Placed`: no guard held",
        "Placed --Cancel--> Cancelled",
        "order 3: cancelled in the warehouse",
        "[card_accepted] held",
        "capture_payment: 19.99 captured",
        "open_ticket: ticket for order 3",
        "assign_bay: a packing bay is held",
        "Placed --Pay--> Paid",
        "open_parcel: parcel 3",
        "print_label: label on parcel 3",
        "Paid --Pack--> Packing",
        // A row of `Fulfilment` to a state outside `Active`: every level exits.
        "seal_parcel: parcel 3 sealed",
        "free_bay: the packing bay is free",
        "close_ticket: ticket for order 3 closed",
        "refund: 19.99 refunded",
        "Packing --Cancel--> Cancelled, the row of Fulfilment",
        "order 4: a shipment cut short, then retried",
        "[card_accepted] held",
        "capture_payment: 120.00 captured",
        "open_ticket: ticket for order 4",
        "assign_bay: a packing bay is held",
        "Placed --Pay--> Paid",
        "open_parcel: parcel 4",
        "print_label: label on parcel 4",
        "Paid --Pack--> Packing",
        // Dropped while the carrier hangs: the exits ran, the booking began, no transition
        // completed, and the machine is still in `Packing` with its parcel.
        "seal_parcel: parcel 4 sealed",
        "free_bay: the packing bay is free",
        "book_carrier: booking parcel 4",
        "dropped: `Order`: `Packing + Ship => Shipped` was dropped in its action `book_carrier`; the machine is still in `Packing`",
        "still in Packing { parcel: 4 }",
        // Fired again: the exits run again (what ran is not undone), and it completes.
        "seal_parcel: parcel 4 sealed",
        "free_bay: the packing bay is free",
        "book_carrier: booking parcel 4",
        "book_carrier: parcel 4 booked as TRK-0004",
        "email_tracking: TRK-0004 sent to the customer",
        "Packing --Ship--> Shipped",
        "close_ticket: ticket for order 4 closed",
        "Shipped --Deliver--> Delivered",
    ];
    assert_eq!(journal, expected);

    // What reached the services. The dropped booking reached the carrier: the drop came in
    // the middle of the action, not before it.
    assert_eq!(services.captured_cents(), 4_250 + 1_999 + 12_000);
    assert_eq!(services.refunded_cents(), 1_999);
    assert_eq!(services.parcels(), 4);
    assert_eq!(services.bookings_received(), 3);
}

#[test]
fn the_diagram_draws_the_superstates_as_composite_states() {
    let diagram = Order::mermaid();
    assert_eq!(diagram, Order::MERMAID);
    for line in [
        "state Active {",
        "state Fulfilment {",
        "[*] --> Placed",
        "Delivered --> [*]",
        "Cancelled --> [*]",
    ] {
        assert!(
            diagram.lines().any(|l| l.trim() == line),
            "no `{line}` in\n{diagram}"
        );
    }
}

/// An order saved while packed (its state as JSON, the parcel included) and resumed by a
/// new machine: the shipment seals the restored parcel and books it.
#[cfg(feature = "serde")]
#[tokio::test]
async fn an_order_saved_while_packed_resumes_with_its_parcel() {
    use breaker::machine::AsyncMachine;

    let services = Services::start().await.unwrap();
    let shop = || Shop::new(7, services.base_url(), Journal::new(false));
    let mut order = Order::machine(shop());
    order.fire(OrderEvent::Pay { cents: 500 }).await.unwrap();
    order.fire(OrderEvent::Pack).await.unwrap();
    let saved = serde_json::to_string(order.current()).unwrap();
    assert_eq!(saved, r#"{"Packing":{"parcel":1}}"#);

    let restored: OrderState = serde_json::from_str(&saved).unwrap();
    let mut resumed = AsyncMachine::<Order, Shop>::with_state(restored, shop());
    assert_eq!(
        resumed.fire(OrderEvent::Ship).await.unwrap(),
        OrderStateKind::Shipped
    );
    assert_eq!(
        format!("{:?}", resumed.current()),
        r#"Shipped { tracking: "TRK-0001" }"#
    );
    assert_eq!(
        resumed.into_context().into_journal()[..3],
        [
            "seal_parcel: parcel 1 sealed",
            "free_bay: the packing bay is free",
            "book_carrier: booking parcel 1",
        ]
    );
    assert_eq!(
        serde_json::to_string(&OrderState::Placed).unwrap(),
        r#""Placed""#
    );

    let unknown = serde_json::from_str::<OrderState>(r#"{"Lost":{"parcel":1}}"#).unwrap_err();
    assert!(
        unknown.to_string().contains("unknown variant `Lost`"),
        "{unknown}"
    );
}
