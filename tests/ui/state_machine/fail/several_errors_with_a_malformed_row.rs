use breaker::state_machine;

// A malformed row could be the one that reaches or leaves a state, so the checks of the
// whole table (unreachable, no way out) wait until it parses; the other errors show now.
state_machine! {
    pub Door {
        states: [Closed, Opened, Locked],
        initial: Closed,
        Closed + Open => Opened,
        Opened + Close => Closd,
        Opened + Open => Opened,
        Opened + Open => Closed,
        Closed => Locked,
    }
}

fn main() {}
