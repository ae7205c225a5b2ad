use breaker::state_machine;

state_machine! {
    pub Door {
        states: [Closed, Opened],
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
        Opened + Slam => Shattered,
    }
}

fn main() {}
