use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
        Locked + Unlock => Closed,
    }
}

fn main() {}
