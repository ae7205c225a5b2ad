use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        states: [Closed, #[entry(log)] Opened],
        Closed + Open => Opened,
        Opened + Close / log => Closed,
    }
}

fn main() {}
