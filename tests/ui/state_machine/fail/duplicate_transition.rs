use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
        Closed + Open => Closed,
    }
}

fn main() {}
