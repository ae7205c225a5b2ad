use breaker::state_machine;

state_machine! {
    pub Door {
        states: [Closed, Opened, Locked],
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
        Closed + Lock => Lcked,
        Locked + Unlock => Closed,
    }
}

fn main() {}
