//! Final states end the machine; `_` rows apply to every non-final state that has no
//! unguarded row of its own for the event.
use breaker::machine::StateMachine;
use breaker::state_machine;

state_machine! {
    pub Job {
        initial: Queued,
        final: [Done, Cancelled],
        Queued + Start => Running,
        Running + Finish => Done,
        Running + Cancel => Running,
        _ + Cancel => Cancelled,
        Running + Fail => Failed,
        Failed + Retry => Queued,
    }
}

fn main() {
    let mut job = Job::machine(());
    assert_eq!(job.fire(JobEvent::Cancel), Ok(JobState::Cancelled));
    assert!(job.is_final());
    assert!(job.fire(JobEvent::Start).is_err());

    // Running has its own Cancel row, which wins over the `_` row.
    let mut job = Job::machine(());
    job.fire(JobEvent::Start).unwrap();
    assert_eq!(job.fire(JobEvent::Cancel), Ok(JobState::Running));
    job.fire(JobEvent::Fail).unwrap();
    assert_eq!(job.fire(JobEvent::Cancel), Ok(JobState::Cancelled));

    assert_eq!(Job::FINAL, [JobState::Done, JobState::Cancelled]);
    assert_eq!(Job::INITIAL, JobState::Queued);
    assert_eq!(Job::NAME, "Job");
    // Queued, Running (own row wins) and Failed each get a Cancel row: the `_` row expands
    // to the two states without one.
    let cancels = Job::TRANSITIONS.iter().filter(|t| t.event == JobEvent::Cancel).count();
    assert_eq!(cancels, 3);
    assert!(Job::mermaid().contains("Done --> [*]"));
    assert!(Job::mermaid().contains("Failed --> Cancelled : Cancel"));
}
