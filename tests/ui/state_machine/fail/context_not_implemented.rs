use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Lock [has_key] / log_lock => Locked,
        Locked + Unlock [has_key] => Closed,
    }
}

struct Stranger;

fn main() {
    let _door = Door::machine(Stranger);
}
