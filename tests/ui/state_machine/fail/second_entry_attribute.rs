use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        states: [Closed, #[entry(light)] #[entry(log)] Opened],
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
