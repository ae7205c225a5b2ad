use breaker::state_machine;

state_machine! {
    pub Order {
        initial: Placed,
        states: [Placed, #[initial(Pad)] Active [Paid, Shipped], Refunded],
        Placed + Pay => Active,
        Paid + Ship => Shipped,
        Active + Refund => Refunded,
        Refunded + Reopen => Placed,
    }
}

fn main() {}
