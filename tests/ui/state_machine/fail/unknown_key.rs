use breaker::state_machine;

state_machine! {
    pub Door {
        intial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closed,
    }
}

fn main() {}
