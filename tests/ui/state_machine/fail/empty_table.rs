use breaker::state_machine;

state_machine! {
    pub Door {}
}

fn main() {}
