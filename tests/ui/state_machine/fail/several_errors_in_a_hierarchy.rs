use breaker::state_machine;

// Every error at once, each on its token, and no follow-on error for the states the
// broken declarations name.
state_machine! {
    pub Order {
        initial: Placed,
        states: [
            #[entry(greet)] #[exitt(bye)]
            Placed,
            Active [Paid, Shipped { tracking: String }],
        ],
        Placed + Pay => Active,
        Paid + Ship => Shipped,
        Shipped + Deliver => Placed,
    }
}

fn main() {}
