use breaker::state_machine;

state_machine! {
    pub Door {
        states: [Closed, Opened],
        initial: Ajar,
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
