//! An order's life as an async `state_machine!` table with superstates, and the shop that
//! runs it: the context whose guards and actions call the payment provider, the warehouse
//! and the carrier over HTTP, and whose hooks keep a journal of every guard, action and
//! transition.
//!
//! Shared by the `order_workflow` example and its test, which reads the journal.

use breaker::machine::{InvalidTransition, StateMachine, Transition};
use breaker::state_machine;
use serde_json::{Value, json};

use super::services::Services;

state_machine! {
    /// An order, from the checkout to the customer's door.
    #[state_machine(async)]
    pub Order {
        initial: Placed,
        final: [Delivered, Cancelled],
        states: [
            Placed,
            /// Paid for and not yet delivered: customer service has a ticket open.
            #[initial(Fulfilment)] #[entry(open_ticket)] #[exit(close_ticket)]
            Active [
                /// In the warehouse: the order holds a packing bay.
                #[initial(Paid)] #[entry(assign_bay)] #[exit(free_bay)]
                Fulfilment [
                    Paid,
                    /// Being packed into parcel number `parcel`.
                    #[entry(print_label)] #[exit(seal_parcel)]
                    Packing { parcel: u32 },
                ],
                /// On its way, followed by `tracking`.
                #[entry(email_tracking)]
                Shipped { tracking: String },
            ],
            Delivered,
            Cancelled,
        ],
        events: [Pay { cents: u32 }, Ask, Pack, Scan { sku: u32 }, Repack, Ship, Deliver, Cancel],
        Placed + Pay [card_accepted] / capture_payment => Active,
        Placed + Cancel => Cancelled,
        // Internal, on a superstate: any state of an active order answers, and stays.
        Active + Ask / answer_customer => _,
        Paid + Pack / open_parcel => Packing,
        // Internal: the parcel stays open, no label is printed again.
        Packing + Scan / scan_item => _,
        // A self-transition: the parcel is sealed and a new one opened and labelled.
        Packing + Repack / open_parcel => Packing,
        Packing + Ship / book_carrier => Shipped,
        // On a superstate: an order still in the warehouse can be cancelled, not one shipped.
        Fulfilment + Cancel / refund => Cancelled,
        Shipped + Deliver => Delivered,
    }
}

impl OrderState {
    /// The parcel of an order being packed.
    fn parcel(&self) -> Option<u32> {
        match self {
            OrderState::Packing { parcel } => Some(*parcel),
            _ => None,
        }
    }
}

/// What an order did, line by line; printed as it goes when `echo` is set.
#[derive(Debug, Default)]
pub struct Journal {
    lines: Vec<String>,
    echo: bool,
}

impl Journal {
    /// A journal that prints its lines as they come when `echo` is set.
    pub fn new(echo: bool) -> Self {
        Journal {
            lines: Vec::new(),
            echo,
        }
    }

    /// Adds a heading line.
    pub fn heading(&mut self, heading: impl Into<String>) {
        let heading = heading.into();
        if self.echo {
            println!("\n{heading}");
        }
        self.lines.push(heading);
    }

    /// Adds a line.
    pub fn note(&mut self, line: impl Into<String>) {
        let line = line.into();
        if self.echo {
            println!("  {line}");
        }
        self.lines.push(line);
    }

    /// The lines, in order.
    pub fn into_lines(self) -> Vec<String> {
        self.lines
    }
}

/// The context of one order: the HTTP client of the shop's services, and the journal.
#[derive(Debug)]
pub struct Shop {
    http: reqwest::Client,
    base_url: String,
    /// The order's number, on its ticket.
    number: u32,
    paid_cents: u32,
    journal: Journal,
}

impl Shop {
    /// The context of order `number`, calling the services at `base_url`.
    pub fn new(number: u32, base_url: String, journal: Journal) -> Self {
        Shop {
            http: reqwest::Client::new(),
            base_url,
            number,
            paid_cents: 0,
            journal,
        }
    }

    /// The journal's lines, giving up the context.
    pub fn into_journal(self) -> Vec<String> {
        self.journal.into_lines()
    }

    /// Posts `body` to the service at `path`; its JSON answer.
    async fn post(&self, path: &str, body: Value) -> reqwest::Result<Value> {
        self.http
            .post(format!("{}{path}", self.base_url))
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }

    /// Posts to a service from an action. An action cannot fail (a call that may fail
    /// belongs in a guard, as `card_accepted`); the services here are the example's own
    /// server on loopback.
    async fn call(&self, path: &str, body: Value) -> Value {
        self.post(path, body)
            .await
            .unwrap_or_else(|error| panic!("the shop's own service {path} failed: {error}"))
    }
}

/// An amount in cents, as `42.50`.
fn money(cents: u32) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

impl OrderContext for Shop {
    async fn card_accepted(&self, _: &OrderState, event: &OrderEvent) -> bool {
        let OrderEvent::Pay { cents } = *event else {
            return false;
        };
        // A payment provider that cannot be reached declines: the order stays placed.
        match self
            .post("/payments/authorize", json!({ "cents": cents }))
            .await
        {
            Ok(answer) => answer["approved"].as_bool() == Some(true),
            Err(_) => false,
        }
    }

    async fn capture_payment(&mut self, _: &OrderState, event: &OrderEvent) {
        if let OrderEvent::Pay { cents } = *event {
            self.call("/payments/capture", json!({ "cents": cents }))
                .await;
            self.paid_cents = cents;
            self.journal
                .note(format!("capture_payment: {} captured", money(cents)));
        }
    }

    async fn open_ticket(&mut self, _: &OrderState) {
        let number = self.number;
        self.journal
            .note(format!("open_ticket: ticket for order {number}"));
    }

    async fn close_ticket(&mut self, _: &OrderState) {
        let number = self.number;
        self.journal
            .note(format!("close_ticket: ticket for order {number} closed"));
    }

    async fn assign_bay(&mut self, _: &OrderState) {
        self.journal.note("assign_bay: a packing bay is held");
    }

    async fn free_bay(&mut self, _: &OrderState) {
        self.journal.note("free_bay: the packing bay is free");
    }

    async fn answer_customer(&mut self, state: &OrderState, _: &OrderEvent) {
        let kind = Order::state_kind(state);
        self.journal
            .note(format!("answer_customer: \"your order is {kind}\""));
    }

    async fn open_parcel(&mut self, _: &OrderState, _: &OrderEvent) -> order::state::Packing {
        let answer = self.call("/warehouse/parcels", json!({})).await;
        let parcel = answer["parcel"]
            .as_u64()
            .and_then(|parcel| u32::try_from(parcel).ok())
            .unwrap_or_default();
        self.journal.note(format!("open_parcel: parcel {parcel}"));
        order::state::Packing { parcel }
    }

    async fn print_label(&mut self, entered: &OrderState) {
        if let Some(parcel) = entered.parcel() {
            self.journal
                .note(format!("print_label: label on parcel {parcel}"));
        }
    }

    async fn scan_item(&mut self, state: &OrderState, event: &OrderEvent) {
        if let (Some(parcel), OrderEvent::Scan { sku }) = (state.parcel(), event) {
            self.journal
                .note(format!("scan_item: item {sku} into parcel {parcel}"));
        }
    }

    async fn seal_parcel(&mut self, left: &OrderState) {
        if let Some(parcel) = left.parcel() {
            self.journal
                .note(format!("seal_parcel: parcel {parcel} sealed"));
        }
    }

    async fn book_carrier(&mut self, state: &OrderState, _: &OrderEvent) -> order::state::Shipped {
        let parcel = state.parcel().unwrap_or_default();
        self.journal
            .note(format!("book_carrier: booking parcel {parcel}"));
        let answer = self
            .call("/carrier/bookings", json!({ "parcel": parcel }))
            .await;
        let tracking = answer["tracking"].as_str().unwrap_or_default().to_owned();
        self.journal.note(format!(
            "book_carrier: parcel {parcel} booked as {tracking}"
        ));
        order::state::Shipped { tracking }
    }

    async fn email_tracking(&mut self, entered: &OrderState) {
        if let OrderState::Shipped { tracking } = entered {
            self.journal
                .note(format!("email_tracking: {tracking} sent to the customer"));
        }
    }

    async fn refund(&mut self, _: &OrderState, _: &OrderEvent) {
        let cents = self.paid_cents;
        self.call("/payments/refund", json!({ "cents": cents }))
            .await;
        self.journal
            .note(format!("refund: {} refunded", money(cents)));
    }

    fn on_guard(&mut self, row: &'static Transition<OrderStateKind, OrderEventKind>, held: bool) {
        let guard = row.guard.unwrap_or_default();
        let verdict = if held { "held" } else { "failed" };
        self.journal.note(format!("[{guard}] {verdict}"));
    }

    fn on_transition(&mut self, row: &'static Transition<OrderStateKind, OrderEventKind>) {
        let (from, event, to) = (row.from, row.event, row.to);
        let mut line = if row.internal {
            format!("{from} --{event}--> {from} (internal)")
        } else {
            format!("{from} --{event}--> {to}")
        };
        if row.source != from.to_string() {
            line.push_str(&format!(", the row of {}", row.source));
        }
        self.journal.note(line);
    }

    fn on_refusal(&mut self, refusal: &InvalidTransition<Order>) {
        self.journal.note(format!("refused: {refusal}"));
    }
}

/// The orders the example runs, each through a machine of its own; every line of their
/// journals, in order. Fails if an order does not go where the scenario expects.
pub async fn run_orders(
    services: &Services,
    echo: bool,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let start = |number: u32, what: &str| {
        let mut journal = Journal::new(echo);
        journal.heading(format!("order {number}: {what}"));
        Order::machine(Shop::new(number, services.base_url(), journal))
    };
    let mut lines = Vec::new();

    // Paid, asked about, packed twice over, shipped, delivered; cancelling it once shipped
    // is refused.
    let mut order = start(1, "delivered");
    order.fire(OrderEvent::Pay { cents: 4_250 }).await?;
    order.fire(OrderEvent::Ask).await?;
    order.fire(OrderEvent::Pack).await?;
    order.fire(OrderEvent::Scan { sku: 17 }).await?;
    order.fire(OrderEvent::Repack).await?;
    order.fire(OrderEvent::Ship).await?;
    order.fire(OrderEvent::Ask).await?;
    expect_refusal(order.fire(OrderEvent::Cancel).await)?;
    order.fire(OrderEvent::Deliver).await?;
    lines.extend(order.into_context().into_journal());

    // The card is declined: the order stays placed, and is cancelled.
    let mut order = start(2, "declined, cancelled");
    expect_refusal(order.fire(OrderEvent::Pay { cents: 250_000 }).await)?;
    order.fire(OrderEvent::Cancel).await?;
    lines.extend(order.into_context().into_journal());

    // Cancelled while packed: leaving the warehouse's states, then refunded.
    let mut order = start(3, "cancelled in the warehouse");
    order.fire(OrderEvent::Pay { cents: 1_999 }).await?;
    order.fire(OrderEvent::Pack).await?;
    order.fire(OrderEvent::Cancel).await?;
    lines.extend(order.into_context().into_journal());

    // The carrier hangs: the shipment's future is dropped in the middle of the booking
    // (a `tokio::time::timeout` would do the same), and the machine says where it stopped.
    let mut order = start(4, "a shipment cut short, then retried");
    order.fire(OrderEvent::Pay { cents: 12_000 }).await?;
    order.fire(OrderEvent::Pack).await?;
    services.set_carrier_hangs(true);
    let shipped = tokio::select! {
        shipped = order.fire(OrderEvent::Ship) => Some(shipped),
        () = services.hanging_booking() => None,
    };
    if let Some(shipped) = shipped {
        return Err(format!("the carrier hangs, yet the shipment ended: {shipped:?}").into());
    }
    let Some(cut) = order.interrupted().copied() else {
        return Err("a shipment dropped in its action is not reported as interrupted".into());
    };
    let now = format!("still in {:?}", order.current());
    let journal = &mut order.context_mut().journal;
    journal.note(format!("dropped: {cut}"));
    journal.note(now);
    services.set_carrier_hangs(false);
    order.fire(OrderEvent::Ship).await?;
    order.fire(OrderEvent::Deliver).await?;
    lines.extend(order.into_context().into_journal());

    Ok(lines)
}

/// `Ok` when the machine refused the event (its hook wrote why), an error when it took it.
fn expect_refusal(
    fired: Result<OrderStateKind, InvalidTransition<Order>>,
) -> Result<(), Box<dyn std::error::Error>> {
    match fired {
        Err(_) => Ok(()),
        Ok(to) => Err(format!("the event was expected to be refused, yet went to {to}").into()),
    }
}
