//! Delivering [`StateChange`]s to listeners without re-entering them: a transition made
//! while a listener runs on this thread (a listener that resets its breaker, or forces
//! another one open) is queued, and delivered once the event being delivered has reached
//! all its listeners. The stack never holds more than one listener, however the listeners
//! answer each other.
//!
//! Commands made by listeners in answer to each other form a chain: the transition a
//! listener's command makes is one link further than the transition the listener was told
//! about. A command that would make the chain longer than [`MAX_LISTENER_CHAIN`] is refused,
//! so that listeners that answer every transition with a command (a reset on every
//! transition, two breakers that toggle each other) stop.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::{Listener, StateChange};
use crate::circuit::CircuitEvent;
use crate::name::BreakerName;

/// The longest chain of transitions made by listeners' commands in answer to each other:
/// a listener told of a transition made outside any listener may command a breaker, the
/// listeners told of that transition may command again, and so on, `MAX_LISTENER_CHAIN`
/// times in all; a command one further is refused (it returns false, and a `tracing` ERROR
/// event says so).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use breaker::MAX_LISTENER_CHAIN;
/// use breaker::{BreakerConfig, CircuitBreaker};
///
/// // A listener that answers every transition with a reset: it stops.
/// let breaker = Arc::new(CircuitBreaker::new("m", BreakerConfig::default()));
/// let seen = Arc::new(Mutex::new(0));
/// let (sink, weak) = (Arc::clone(&seen), Arc::downgrade(&breaker));
/// breaker.on_transition(move |_| {
///     *sink.lock().unwrap() += 1;
///     weak.upgrade().unwrap().reset();
/// });
/// breaker.force_open();
/// assert_eq!(*seen.lock().unwrap(), 1 + MAX_LISTENER_CHAIN);
/// ```
pub const MAX_LISTENER_CHAIN: u32 = 8;

/// A transition waiting for the listener that made it to return.
struct Pending {
    listeners: Arc<Vec<Listener>>,
    change: StateChange,
    link: u32,
}

/// This thread's delivery: the link of the transition being delivered, and the queue.
struct Delivery {
    /// `Some(link)` while a listener runs on this thread; 0 for a transition made outside
    /// any listener.
    delivering: Cell<Option<u32>>,
    queue: RefCell<VecDeque<Pending>>,
}

thread_local! {
    static DELIVERY: Delivery = const {
        Delivery {
            delivering: Cell::new(None),
            queue: RefCell::new(VecDeque::new()),
        }
    };
}

/// Delivers `change` to `listeners`: now, or, if a listener is running on this thread,
/// after the transition it is being told about has reached all its listeners.
pub(super) fn deliver(listeners: Arc<Vec<Listener>>, change: &StateChange) {
    let queued = DELIVERY.try_with(|delivery| match delivery.delivering.get() {
        Some(link) => {
            delivery.queue.borrow_mut().push_back(Pending {
                listeners: Arc::clone(&listeners),
                change: change.clone(),
                link: link + 1,
            });
            true
        }
        None => false,
    });
    match queued {
        Ok(true) => {}
        Ok(false) => DELIVERY.with(|delivery| delivery.run(&listeners, change)),
        // The thread's locals are being destroyed (a breaker dropped by another thread
        // local's destructor, say): nothing can be queued, and nothing is being delivered.
        Err(_) => call_each(&listeners, change),
    }
}

impl Delivery {
    /// Delivers `change`, then every transition its listeners make, in order.
    fn run(&self, listeners: &[Listener], change: &StateChange) {
        // Leaves the thread idle however the loop ends (a listener's panic is caught, but
        // a panic in the queue itself would not be).
        struct Idle<'a>(&'a Delivery);
        impl Drop for Idle<'_> {
            fn drop(&mut self) {
                self.0.delivering.set(None);
                self.0.queue.borrow_mut().clear();
            }
        }
        let _idle = Idle(self);
        self.delivering.set(Some(0));
        call_each(listeners, change);
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(pending) = next else { break };
            self.delivering.set(Some(pending.link));
            call_each(&pending.listeners, &pending.change);
        }
    }
}

/// Calls each listener in registration order. A listener that panics is reported (a tracing
/// ERROR event) and does not stop the others or the caller: the transition it was told
/// about has already happened.
fn call_each(listeners: &[Listener], change: &StateChange) {
    for listener in listeners {
        if catch_unwind(AssertUnwindSafe(|| listener(change))).is_err() {
            tracing::error!(
                target: "breaker",
                name = %change.name,
                generation = change.generation,
                "a circuit breaker transition listener panicked"
            );
        }
    }
}

/// Whether the command `event` on `name` may be made now: always outside listeners; from a
/// listener, if the transition it makes is at most [`MAX_LISTENER_CHAIN`] links from one
/// made outside any listener. A refusal is reported (a tracing ERROR event).
pub(crate) fn command_allowed(name: &BreakerName, event: CircuitEvent) -> bool {
    let link = DELIVERY
        .try_with(|delivery| delivery.delivering.get())
        .ok()
        .flatten();
    match link {
        Some(link) if link >= MAX_LISTENER_CHAIN => {
            tracing::error!(
                target: "breaker",
                name = %name,
                event = %event,
                chain = link + 1,
                "a circuit breaker command from a transition listener was refused: listeners \
                 answered each other's transitions with commands too many times in a row"
            );
            false
        }
        _ => true,
    }
}
