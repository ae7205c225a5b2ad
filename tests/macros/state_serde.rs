//! A machine's state through serde (feature `serde`): written as its name, read back by
//! name, so that a machine can be persisted and resumed; an unknown name is an error that
//! names the machine and its states.

use breaker::machine::Machine;
use breaker::state_machine;

state_machine! {
    /// An order, persisted between its steps.
    pub Order {
        initial: Placed,
        final: [Shipped, Cancelled],
        Placed + Pay => Paid,
        Paid + Ship => Shipped,
        Placed + Cancel => Cancelled,
    }
}

#[test]
fn a_state_is_written_as_its_name_and_read_back() {
    let mut order = Order::machine(());
    order.fire(OrderEvent::Pay).unwrap();
    let saved = serde_json::to_string(&order.state()).unwrap();
    assert_eq!(saved, r#""Paid""#);

    // Another process resumes it.
    let state: OrderState = serde_json::from_str(&saved).unwrap();
    let mut resumed: Machine<Order, ()> = Machine::with_state(state, ());
    assert_eq!(resumed.fire(OrderEvent::Ship), Ok(OrderState::Shipped));
    assert_eq!(
        toml::from_str::<toml::Value>(&format!("state = {saved}")).unwrap()["state"].as_str(),
        Some("Paid")
    );
}

#[test]
fn an_unknown_state_is_a_clear_error() {
    let error = serde_json::from_str::<OrderState>(r#""Lost""#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown state `Lost` of the machine `Order`: expected one of `Placed`, `Paid`, \
         `Shipped`, `Cancelled`"
    );
    assert!(serde_json::from_str::<OrderState>("3").is_err());
}
