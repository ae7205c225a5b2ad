use breaker::state_machine;

state_machine! {
    pub Door {
        states: [Closed, Opened(u8)],
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
