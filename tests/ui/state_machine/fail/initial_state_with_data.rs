use breaker::state_machine;

state_machine! {
    pub Order {
        initial: Active,
        states: [#[initial(Paid)] Active [Paid { amount: u64 }, Shipped], Done],
        Paid + Ship => Shipped,
        Active + Finish => Done,
        Done + Reopen / reopen => Paid,
    }
}

fn main() {}
