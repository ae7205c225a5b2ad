use breaker::state_machine;

state_machine! {
    #[state_machine(async = true)]
    pub Door {
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
