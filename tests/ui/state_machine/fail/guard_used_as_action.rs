use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open [check] => Opened,
        Opened + Close / check => Closed,
    }
}

fn main() {}
