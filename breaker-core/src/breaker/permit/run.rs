//! Running a permit's guarded code, so that its own panic, and only its own, is a failure.
//!
//! While the guarded code runs (a closure called, a future polled), the permit's word is
//! armed; it is disarmed as soon as the code returns. The permit's owner cannot drop the
//! permit from inside the code (it lends it out for the call), so a permit dropped while
//! armed was dropped by the unwinding of a panic that left the guarded code, or after it
//! (a task runtime that catches a panicking task's panic and drops the task later): a
//! failed call either way, whatever `std::thread::panicking` says by then. A permit dropped
//! disarmed, by a panic elsewhere (a sibling in `join!`, the caller's own code) or by a
//! cancellation, counts as neither. A permit armed by its owner
//! ([`fail_on_panic`](super::PermitOf::fail_on_panic)) stays armed after the code returns.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::word::ARMED;

/// Calls `call` with `word` armed, then puts the armed bit back as it was.
#[inline]
pub(super) fn run_armed<R>(word: &mut u64, call: impl FnOnce() -> R) -> R {
    let armed_before = *word & ARMED;
    *word |= ARMED;
    let value = call();
    *word = (*word & !ARMED) | armed_before;
    value
}

pin_project! {
    /// The future of [`run_future`](super::PermitOf::run_future), on every permit: it polls the guarded
    /// future with its permit armed, so that a panic in a poll is a failure, and gives its
    /// output back unchanged (the permit is not reported: the caller reports the output).
    #[must_use = "futures do nothing unless polled"]
    pub struct RunFuture<'p, F> {
        word: &'p mut u64,
        #[pin]
        future: F,
    }
}

impl<'p, F> RunFuture<'p, F> {
    pub(super) fn new(word: &'p mut u64, future: F) -> Self {
        Self { word, future }
    }
}

impl<F: Future> Future for RunFuture<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        run_armed(this.word, || future.poll(cx))
    }
}

impl<F> std::fmt::Debug for RunFuture<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunFuture").finish_non_exhaustive()
    }
}
