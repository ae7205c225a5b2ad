//! An async machine: guards and actions are `async fn`s of the context, `fire` is a future,
//! and a future dropped at any await leaves the machine in the state the documentation
//! gives, with `interrupted()` saying where it stopped.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use breaker::machine::{AsyncMachine, Step};
use breaker::state_machine;

state_machine! {
    /// A job around a remote call.
    #[state_machine(async)]
    pub Job {
        initial: Queued,
        final: Done,
        states: [
            Queued,
            #[initial(Fetching)] #[entry(lease)] #[exit(release)]
            Running [
                Fetching,
                Parsing { bytes: usize },
            ],
            Done,
        ],
        Queued + Start [has_capacity] / plan => Running,
        Fetching + Fetched / download => Parsing,
        Parsing + Parsed => Done,
        Running + Tick / heartbeat => _,
    }
}

/// Where the context stops forever (a remote that never answers), if anywhere.
#[derive(Default)]
struct Worker {
    stall_in: Option<&'static str>,
    log: Vec<&'static str>,
}

impl Worker {
    async fn step(&mut self, name: &'static str) {
        if self.stall_in == Some(name) {
            std::future::pending::<()>().await;
        }
        // A real await point in every action.
        yield_now().await;
        self.log.push(name);
    }
}

impl JobContext for Worker {
    async fn has_capacity(&self, _state: &JobState, _event: &JobEvent) -> bool {
        if self.stall_in == Some("has_capacity") {
            std::future::pending::<()>().await;
        }
        true
    }
    async fn plan(&mut self, _state: &JobState, _event: &JobEvent) {
        self.step("plan").await;
    }
    async fn download(&mut self, _state: &JobState, _event: &JobEvent) -> job::state::Parsing {
        self.step("download").await;
        job::state::Parsing { bytes: 42 }
    }
    async fn heartbeat(&mut self, _state: &JobState, _event: &JobEvent) {
        self.step("heartbeat").await;
    }
    async fn lease(&mut self, _state: &JobState) {
        self.step("lease").await;
    }
    async fn release(&mut self, _state: &JobState) {
        self.step("release").await;
    }
}

/// Yields once, so that every action really suspends.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

/// Polls `future` to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Polls `future` `polls` times (fewer if it completes), then drops it.
fn poll_then_drop<F: Future>(future: F, polls: usize) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
    }
    None
}

fn running(stall_in: Option<&'static str>) -> AsyncMachine<Job, Worker> {
    let mut job = Job::machine(Worker::default());
    block_on(job.fire(JobEvent::Start)).unwrap();
    job.context_mut().log.clear();
    job.context_mut().stall_in = stall_in;
    job
}

#[test]
fn an_async_machine_runs_its_actions_in_order() {
    let mut job = Job::machine(Worker::default());
    assert_eq!(
        block_on(job.fire(JobEvent::Start)),
        Ok(JobStateKind::Fetching)
    );
    assert_eq!(
        block_on(job.fire(JobEvent::Tick)),
        Ok(JobStateKind::Fetching)
    );
    assert_eq!(
        block_on(job.fire(JobEvent::Fetched)),
        Ok(JobStateKind::Parsing)
    );
    assert!(matches!(job.current(), JobState::Parsing { bytes: 42 }));
    assert_eq!(block_on(job.fire(JobEvent::Parsed)), Ok(JobStateKind::Done));
    assert_eq!(
        job.context().log,
        ["plan", "lease", "heartbeat", "download", "release"]
    );
    assert!(job.interrupted().is_none());
    assert!(block_on(job.fire(JobEvent::Start)).is_err());
}

#[test]
fn dropped_in_a_guard_nothing_happened() {
    let mut job = Job::machine(Worker {
        stall_in: Some("has_capacity"),
        ..Worker::default()
    });
    assert!(poll_then_drop(job.fire(JobEvent::Start), 5).is_none());
    assert_eq!(job.state(), JobStateKind::Queued);
    assert!(job.interrupted().is_none());
    assert!(job.context().log.is_empty());
}

#[test]
fn dropped_in_a_row_action_the_machine_is_still_in_its_source_state() {
    let mut job = Job::machine(Worker {
        stall_in: Some("plan"),
        ..Worker::default()
    });
    assert!(poll_then_drop(job.fire(JobEvent::Start), 5).is_none());
    assert_eq!(job.state(), JobStateKind::Queued);
    let cut = job.interrupted().copied().unwrap();
    assert_eq!(cut.step, Step::Action { action: "plan" });
    assert_eq!(
        (cut.from, cut.to),
        (JobStateKind::Queued, JobStateKind::Fetching)
    );
    assert!(cut.to_string().contains("still in `Queued`"), "{cut}");
}

#[test]
fn dropped_in_an_exit_action_the_source_state_keeps_its_data() {
    let mut job = running(None);
    block_on(job.fire(JobEvent::Fetched)).unwrap();
    job.context_mut().stall_in = Some("release");
    assert!(poll_then_drop(job.fire(JobEvent::Parsed), 5).is_none());
    assert!(matches!(job.current(), JobState::Parsing { bytes: 42 }));
    assert_eq!(
        job.interrupted().unwrap().step,
        Step::Exit {
            state: "Running",
            action: "release"
        }
    );
}

#[test]
fn dropped_in_an_entry_action_the_machine_is_in_its_target_state() {
    let mut job = Job::machine(Worker {
        stall_in: Some("lease"),
        ..Worker::default()
    });
    assert!(poll_then_drop(job.fire(JobEvent::Start), 5).is_none());
    assert_eq!(job.state(), JobStateKind::Fetching);
    let cut = job.interrupted().copied().unwrap();
    assert_eq!(
        cut.step,
        Step::Entry {
            state: "Running",
            action: "lease"
        }
    );
    assert!(
        cut.to_string().contains("the machine is in `Fetching`"),
        "{cut}"
    );
    assert_eq!(job.context().log, ["plan"]);

    // The next fire clears the record.
    job.context_mut().stall_in = None;
    assert_eq!(
        block_on(job.fire(JobEvent::Tick)),
        Ok(JobStateKind::Fetching)
    );
    assert!(job.interrupted().is_none());
}

#[test]
fn a_dropped_internal_transition_is_recorded_too() {
    let mut job = running(Some("heartbeat"));
    assert!(poll_then_drop(job.fire(JobEvent::Tick), 5).is_none());
    assert_eq!(job.state(), JobStateKind::Fetching);
    assert_eq!(
        job.interrupted().unwrap().step,
        Step::Action {
            action: "heartbeat"
        }
    );
}

#[test]
fn the_typed_api_fires_async_edges() {
    let job = Job::typed(Worker::default());
    let job = block_on(job.try_fire_async(job::event::Start))
        .ok()
        .unwrap();
    let job = block_on(job.fire_async(job::event::Fetched));
    assert_eq!(job.data().bytes, 42);
    let job = block_on(job.fire_async(job::event::Parsed));
    assert_eq!(job.state(), JobStateKind::Done);
}

#[test]
fn an_async_machine_can_run_on_a_multi_threaded_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    let mut job = Job::machine(Worker::default());
    let fire = job.fire(JobEvent::Start);
    assert_send(&fire);
    drop(fire);
}
