use breaker::state_machine;

state_machine! {
    pub Order {
        initial: Placed,
        states: [Placed, Active [Paid, Shipped], Done],
        Placed + Pay => Active,
        Paid + Ship => Shipped,
        Active + Finish => Done,
        Done + Reopen => Placed,
    }
}

fn main() {}
