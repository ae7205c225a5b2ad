use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open [has_key] => Opened,
        Closed + Open [has_key] => Closed,
        Opened + Close => Closed,
    }
}

fn main() {}
