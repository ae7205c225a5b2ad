//! An upstream service for the tower layer's tests: it counts its readiness polls and its
//! calls, and answers each request as the request says.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::channel::oneshot;
use tower::Service;

/// The upstream's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down;

impl fmt::Display for Down {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("upstream down")
    }
}

impl std::error::Error for Down {}

/// What a request asks the upstream to answer.
#[derive(Debug)]
pub enum Reply {
    Ok,
    Fail,
    /// What the sender sends, when it does (dropped unsent: a failure).
    Later(oneshot::Receiver<Result<(), Down>>),
}

/// A request answered when the returned sender says.
pub fn later() -> (oneshot::Sender<Result<(), Down>>, Reply) {
    let (answer, reply) = oneshot::channel();
    (answer, Reply::Later(reply))
}

/// The upstream: clones share their counts.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    polls: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

impl Upstream {
    /// How many times its `poll_ready` was called.
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// How many times it was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Service<Reply> for Upstream {
    type Response = ();
    type Error = Down;
    type Future = Pin<Box<dyn Future<Output = Result<(), Down>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Down>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, reply: Reply) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match reply {
            Reply::Ok => Box::pin(async { Ok(()) }),
            Reply::Fail => Box::pin(async { Err(Down) }),
            Reply::Later(answer) => Box::pin(async { answer.await.unwrap_or(Err(Down)) }),
        }
    }
}
