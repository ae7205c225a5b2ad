use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
        Closed + Reset => Closed,
        Opened + Reset => Closed,
        _ + Reset => Closed,
    }
}

fn main() {}
