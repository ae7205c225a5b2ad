use breaker::state_machine;

state_machine! {
    pub Order {
        initial: Placed,
        states: [Placed, #[initial(Paid)] Active { id: u64 } [Paid, Shipped]],
        Placed + Pay => Active,
        Paid + Ship => Shipped,
        Active + Reset => Placed,
    }
}

fn main() {}
