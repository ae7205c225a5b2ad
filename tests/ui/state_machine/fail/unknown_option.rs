use breaker::state_machine;

state_machine! {
    #[state_machine(crat = ::breaker)]
    pub Door {
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
