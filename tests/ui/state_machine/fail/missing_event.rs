use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
