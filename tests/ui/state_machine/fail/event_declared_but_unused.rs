use breaker::state_machine;

state_machine! {
    pub Door {
        events: [Open, Close, Knock],
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
