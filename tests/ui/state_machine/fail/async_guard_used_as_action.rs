use breaker::state_machine;

// An async table whose rows all have errors still expands without follow-on errors.
state_machine! {
    #[state_machine(async)]
    pub Door {
        initial: Closed,
        Closed + Open [check] => Opened,
        Opened + Close / check => Closed,
    }
}

fn main() {}
