use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open => Opened,
        Closed + Open [is_stuck] => Closed,
        Opened + Close => Closed,
    }
}

fn main() {}
