use breaker::state_machine;

state_machine! {
    pub Door {
        events: [Open, Close],
        initial: Closed,
        Closed + Open => Opened,
        Opened + Clsoe => Closed,
    }
}

fn main() {}
