use breaker::state_machine;

state_machine! {
    pub Order {
        initial: Placed,
        states: [Placed, #[initial(Paid)] Active [Paid, Shipped, Returned]],
        Placed + Pay => Active,
        Paid + Ship => Shipped,
        // `Returned` is in `Active`, and `Active`'s row leaves it, but nothing enters it.
        Active + Cancel => Placed,
    }
}

fn main() {}
