use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        states: [#[enter(log)] Closed, Opened],
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
