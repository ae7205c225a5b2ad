use breaker::state_machine;

state_machine! {
    pub Order {
        initial: Placed,
        final: Closed,
        states: [Placed, #[initial(Delivered)] Closed [Delivered, Cancelled]],
        Placed + Deliver => Delivered,
        Placed + Cancel => Cancelled,
    }
}

fn main() {}
