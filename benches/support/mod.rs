//! What the bench files share: the 2-thread timing loop, the pinning of threads to CPUs,
//! the peers built with settings matching ours (5 consecutive failures, 30 s open), the 8
//! models.
//!
//! Included by the bench files with `#[path = "support/mod.rs"] mod support;`; each uses a
//! part of it, hence `dead_code` is allowed here.

#![allow(dead_code)]

use std::hint;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use breaker::CircuitBreakers;

/// The settings every competitor is given: open after 5 consecutive failures, for 30 s.
pub const THRESHOLD: u32 = 5;
/// See [`THRESHOLD`].
pub const COOLDOWN: Duration = Duration::from_secs(30);
/// The cooldown of the Open-rejection group: longer than the group runs (it runs for more
/// than 30 s with criterion's defaults), so every measured call is a rejection.
pub const LONG_COOLDOWN: Duration = Duration::from_secs(24 * 3600);

/// The name of each group's empty-loop row: [`empty_call`] in the loop the group's other
/// rows run in.
pub const EMPTY_LOOP: &str = "reference: empty loop";

/// The body of an empty-loop row: `subject` made opaque and black-boxed, as every row does
/// with its breaker, and nothing called. What it costs is the loop's own cost, the floor
/// under every row of its group: `benches/report/generate.py` fails the report if a row
/// does not cost clearly more, as a row whose work the compiler folded or hoisted out of
/// the loop would.
#[inline(always)]
pub fn empty_call<T>(subject: &T) {
    hint::black_box(hint::black_box(subject));
}

/// Pins the calling thread to CPU `cpu` (Linux; elsewhere, or if refused, it stays free).
///
/// On a machine with few CPUs an unpinned bench process moves between them, and the same
/// binary measures the same call differently from one process to the next; pinned, the
/// processes agree. Each bench file pins its main thread to
/// CPU 0 before measuring, and [`on_two_threads`] pins its threads to CPUs 0 and 1.
pub fn pin_to_cpu(cpu: usize) {
    set_cpus(&[cpu]);
}

/// Runs `f` with the calling thread free to run on both CPUs, then pins it to CPU 0 again:
/// for a thread `f` starts (threads inherit their parent's CPUs), such as the clock's
/// upkeep, which must not share CPU 0 with the measured calls.
pub fn with_both_cpus<T>(f: impl FnOnce() -> T) -> T {
    set_cpus(&[0, 1]);
    let value = f();
    pin_to_cpu(0);
    value
}

fn set_cpus(cpus: &[usize]) {
    #[cfg(target_os = "linux")]
    // SAFETY: `set` is a plain bit set on the stack, given with its size; the call only
    // reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpus;
}

/// Runs `op(thread, i)` for `i` in `0..iters` on each of two scoped threads at once, and
/// returns the longer of the two threads' times: criterion divides it by `iters`, which makes
/// it the time of one call on a thread while the other thread makes the same calls (so it
/// compares with the 1-thread figure directly: equal when the calls do not contend).
///
/// The threads are started outside the timed part and released together by a spin gate,
/// so neither thread start-up nor a sleeping barrier is measured.
pub fn on_two_threads(iters: u64, op: impl Fn(usize, u64) + Sync) -> Duration {
    on_two_threads_with(iters, |_| (), |(), thread, i| op(thread, i))
}

/// [`on_two_threads`], with state of each thread's own made by `setup(thread)` on that
/// thread before the gate (a view that is not `Send`, held for the whole measurement).
pub fn on_two_threads_with<S>(
    iters: u64,
    setup: impl Fn(usize) -> S + Sync,
    op: impl Fn(&S, usize, u64) + Sync,
) -> Duration {
    let ready = AtomicUsize::new(0);
    thread::scope(|scope| {
        let run = |thread: usize| {
            let (ready, setup, op) = (&ready, &setup, &op);
            move || {
                pin_to_cpu(thread);
                let state = setup(thread);
                ready.fetch_add(1, Ordering::AcqRel);
                while ready.load(Ordering::Acquire) < 2 {
                    hint::spin_loop();
                }
                let start = Instant::now();
                for i in 0..iters {
                    op(&state, thread, i);
                }
                start.elapsed()
            }
        };
        let first = scope.spawn(run(0));
        let second = scope.spawn(run(1));
        let first = first.join().expect("bench thread panicked");
        let second = second.join().expect("bench thread panicked");
        first.max(second)
    })
}

/// Eight models, as an application routing LLM calls would have.
#[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
#[breaker(threshold = 5, cooldown = "30s", rename_all = "kebab-case")]
pub enum Model {
    #[breaker(name = "gpt-4o")]
    Gpt4o,
    #[breaker(name = "gpt-4o-mini")]
    Gpt4oMini,
    ClaudeSonnet,
    ClaudeHaiku,
    #[breaker(name = "llama-3-70b")]
    Llama370b,
    MistralLarge,
    GeminiPro,
    QwenMax,
}

/// The models in round-robin order.
pub const MODELS: [Model; 8] = [
    Model::Gpt4o,
    Model::Gpt4oMini,
    Model::ClaudeSonnet,
    Model::ClaudeHaiku,
    Model::Llama370b,
    Model::MistralLarge,
    Model::GeminiPro,
    Model::QwenMax,
];

/// Their names, in the same order: the keys of the string-keyed competitors.
pub const MODEL_NAMES: [&str; 8] = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-sonnet",
    "claude-haiku",
    "llama-3-70b",
    "mistral-large",
    "gemini-pro",
    "qwen-max",
];

/// The call of round `i` on `thread`: round robin over 8, the second thread half a lap
/// ahead so the two threads are on different models at any moment.
#[inline(always)]
pub fn round_robin(thread: usize, i: u64) -> usize {
    (i as usize).wrapping_add(thread * 4) & 7
}

/// `failsafe` 1.3 with the consecutive-failures policy and a constant backoff.
pub type Failsafe = failsafe::StateMachine<
    failsafe::failure_policy::ConsecutiveFailures<failsafe::backoff::Constant>,
    (),
>;

/// A `failsafe` breaker: open after [`THRESHOLD`] consecutive failures, for `cooldown`.
pub fn failsafe(cooldown: Duration) -> Failsafe {
    let policy = failsafe::failure_policy::consecutive_failures(
        THRESHOLD,
        failsafe::backoff::constant(cooldown),
    );
    failsafe::Config::new().failure_policy(policy).build()
}

/// A `recloser` breaker as close to ours as its ring buffers allow: a failure rate of 100%
/// over the last 5 calls (that is, 5 consecutive failures, once its window has filled) opens
/// it for `cooldown`; one probe in half-open.
pub fn recloser(cooldown: Duration) -> recloser::Recloser {
    recloser::Recloser::custom()
        .error_rate(1.0)
        .closed_len(THRESHOLD as usize)
        .half_open_len(1)
        .open_wait(cooldown)
        .build()
}
