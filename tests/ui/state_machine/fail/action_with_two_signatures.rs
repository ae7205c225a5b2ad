use breaker::state_machine;

state_machine! {
    pub Upload {
        initial: Idle,
        states: [Idle, Sending { offset: u64 }, Paused],
        Idle + Start / begin => Sending,
        Sending + Pause / begin => Paused,
        Paused + Resume / begin => Sending,
    }
}

fn main() {}
