use breaker::state_machine;

state_machine! {
    pub Door {
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
