use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        initial: Opened,
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
