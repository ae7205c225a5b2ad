use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        states: [#[initial(Opened)] Closed, Opened],
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
