use breaker::state_machine;

state_machine! {
    #[state_machine(async)]
    pub Job {
        initial: Queued,
        Queued + Start / fetch => Running,
        Running + Stop => Queued,
    }
}

struct Worker;

// An async machine's actions are futures: a plain `fn` does not implement them.
impl JobContext for Worker {
    fn fetch(&mut self, _event: &JobEvent) {}
}

fn main() {
    let _ = Job::machine(Worker);
}
