use breaker::state_machine;

state_machine! {
    pub Door {
        states: [Closed, Opened, Locked, Broken],
        initial: Closed,
        Closed + Open => Opend,
        Opened + Close => Closed,
        Opened + Close => Opened,
        Locked + Unlock => Closed,
        Closed + Kick => Broken,
        Closed + Knock [home && ] => Closed,
    }
}

fn main() {}
