use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        final: Broken,
        Closed + Kick => Broken,
        Broken + Repair => Closed,
    }
}

fn main() {}
