use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        states: [#[entry(on_guard)] Closed, Opened],
        Closed + Open / on_transition => Opened,
        Opened + Close [on_refusal] => Closed,
    }
}

fn main() {}
