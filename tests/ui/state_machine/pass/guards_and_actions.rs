//! Guards combine context methods; actions run in order when their row fires; a guarded row
//! may be followed by an unguarded fallback for the same state and event.
use breaker::machine::Refusal;
use breaker::state_machine;

state_machine! {
    /// A vending machine.
    pub Vending {
        initial: Idle,
        Idle + Coin [enough_credit && !empty] / (take_coin, dispense) => Serving,
        Idle + Coin [empty] / refund => Idle,
        Idle + Coin / take_coin => Idle,
        Serving + Taken => Idle,
    }
}

#[derive(Default)]
struct Till {
    credit: u32,
    stock: u32,
    log: Vec<&'static str>,
}

impl VendingContext for Till {
    fn enough_credit(&self, _: &VendingEvent) -> bool {
        self.credit >= 1
    }
    fn empty(&self, _: &VendingEvent) -> bool {
        self.stock == 0
    }
    fn take_coin(&mut self, _: &VendingEvent) {
        self.credit += 1;
        self.log.push("take_coin");
    }
    fn dispense(&mut self, _: &VendingEvent) {
        self.stock -= 1;
        self.log.push("dispense");
    }
    fn refund(&mut self, _: &VendingEvent) {
        self.log.push("refund");
    }
}

fn main() {
    let mut vending = Vending::machine(Till { stock: 1, ..Till::default() });
    // No credit yet: the first guarded row fails, the second too, the fallback takes the coin.
    assert_eq!(vending.fire(VendingEvent::Coin), Ok(VendingState::Idle));
    assert_eq!(vending.fire(VendingEvent::Coin), Ok(VendingState::Serving));
    assert_eq!(vending.context().log, ["take_coin", "take_coin", "dispense"]);
    assert_eq!(vending.fire(VendingEvent::Taken), Ok(VendingState::Idle));
    // Out of stock: refund.
    assert_eq!(vending.fire(VendingEvent::Coin), Ok(VendingState::Idle));
    assert_eq!(vending.context().log.last(), Some(&"refund"));

    // An event the state does not take is refused and the state is kept.
    let refused = vending.fire(VendingEvent::Taken).unwrap_err();
    assert_eq!(refused.from, VendingState::Idle);
    assert_eq!(refused.event, VendingEvent::Taken);
    assert_eq!(refused.reason, Refusal::Undeclared);
    assert_eq!(
        refused.to_string(),
        "state machine `Vending` has no transition from `Idle` on `Taken`"
    );
    assert_eq!(vending.state(), VendingState::Idle);

    // The pure transition function, the table as data, and the diagram.
    let mut till = Till { credit: 5, stock: 3, ..Till::default() };
    assert_eq!(Vending::next(VendingState::Idle, &VendingEvent::Coin, &mut till), Ok(VendingState::Serving));
    assert_eq!(Vending::transitions().len(), 4);
    assert_eq!(Vending::transitions()[0].guard, Some("enough_credit && !empty"));
    assert_eq!(Vending::transitions()[0].actions, ["take_coin", "dispense"]);
    assert!(Vending::mermaid().starts_with("stateDiagram-v2\n    [*] --> Idle\n"));
}
