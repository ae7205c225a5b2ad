use breaker::state_machine;

state_machine! {
    pub Door {
        initial: Closed,
        Closed + Open [keys > 1] => Opened,
        Opened + Close [self.ok] => Closed,
        Opened + Slam [ajar && x::y] => Closed,
    }
}

fn main() {}
