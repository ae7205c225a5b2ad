//! The breakers attached to a fleet store, each with what this instance knows of its fleet
//! state, and how a record from the store is adopted by a breaker.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Deref;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::record::{FleetState, Record};
use crate::breaker::{CircuitBreaker, CircuitState};

/// A deadline that moved by less than this is the same deadline, read at another moment.
const SAME_DEADLINE: Duration = Duration::from_millis(50);

/// How the fleet holds a breaker: for ever (a `static`), or as long as its owner keeps it
/// (a keyed registry's breaker, which dies when evicted).
pub enum Held {
    Static(&'static CircuitBreaker),
    Weak(Weak<CircuitBreaker>),
}

/// A breaker of the fleet, alive while this is.
pub(super) enum Alive {
    Static(&'static CircuitBreaker),
    Arc(Arc<CircuitBreaker>),
}

impl Deref for Alive {
    type Target = CircuitBreaker;

    fn deref(&self) -> &CircuitBreaker {
        match self {
            Alive::Static(breaker) => breaker,
            Alive::Arc(breaker) => breaker,
        }
    }
}

impl Held {
    pub(super) fn get(&self) -> Option<Alive> {
        match self {
            Held::Static(breaker) => Some(Alive::Static(breaker)),
            Held::Weak(breaker) => breaker.upgrade().map(Alive::Arc),
        }
    }

    fn is(&self, breaker: &CircuitBreaker) -> bool {
        self.get().is_some_and(|held| std::ptr::eq(&*held, breaker))
    }
}

/// What a breaker is to do to follow the fleet: applied once the members' lock is released,
/// since the breaker's transition listeners (the user's too) run inside the call.
pub(super) enum Action {
    RateLimit(Alive, Duration),
    Open(Alive, Duration, Option<crate::cause::Cause>),
    Close(Alive),
    Reset(Alive),
    ForceOpen(Alive),
    Disable(Alive),
}

impl Action {
    pub(super) fn apply(self) {
        match self {
            Action::RateLimit(breaker, left) => breaker.adopt_rate_limit(left),
            Action::Open(breaker, open_for, cause) => {
                breaker.adopt_open(open_for, cause.as_ref());
            }
            Action::Close(breaker) => {
                breaker.adopt_closed();
            }
            Action::Reset(breaker) => {
                breaker.reset();
            }
            Action::ForceOpen(breaker) => {
                breaker.force_open();
            }
            Action::Disable(breaker) => {
                breaker.disable();
            }
        }
    }
}

/// What this instance knows of one breaker's fleet state.
#[derive(Default)]
pub(super) struct View {
    /// The fleet generation last adopted.
    pub(super) generation: u64,
    pub(super) state: Option<FleetState>,
    /// This instance holds the probe lease of `generation`.
    pub(super) leased: bool,
    /// Until when the breaker was last held open for the fleet.
    pub(super) held_until: Option<Instant>,
    /// When to ask for the probe lease.
    pub(super) lease_at: Option<Instant>,
    /// The breaker's own opening (a local trip or failed probe), to push to the store if it
    /// could not be told at the time.
    pub(super) open_until: Option<Instant>,
    /// The breaker's admitted calls at the last poll: a breaker with none since is idle.
    pub(super) admitted: u64,
    /// Forced open because the store was unreachable (the fail-closed choice).
    pub(super) forced_by_store: bool,
}

pub(super) struct Member {
    pub(super) breaker: Held,
    pub(super) view: View,
}

/// The attached breakers, by name, and the lease requests due, earliest first. Bounded:
/// a breaker that died is dropped at the next poll, and the map is swept whenever it has
/// doubled since the last sweep, so a flood of short-lived keyed breakers cannot grow it
/// past twice the live ones.
#[derive(Default)]
pub(super) struct Members {
    pub(super) map: HashMap<Arc<str>, Member>,
    /// Lease requests: stale entries (rescheduled since) are skipped when popped.
    timers: BinaryHeap<Reverse<(Instant, Arc<str>)>>,
    /// The map's size after the last sweep.
    swept_at: usize,
}

impl Members {
    /// Attaches `breaker`; false if it is attached already.
    pub(super) fn insert(&mut self, name: &str, breaker: Held, target: &CircuitBreaker) -> bool {
        if let Some(member) = self.map.get(name) {
            if member.breaker.is(target) {
                return false;
            }
        }
        if self.map.len() >= 2 * self.swept_at.max(32) {
            self.sweep();
        }
        let member = Member {
            breaker,
            view: View::default(),
        };
        self.map.insert(Arc::from(name), member);
        true
    }

    /// Drops the breakers that died.
    pub(super) fn sweep(&mut self) {
        self.map.retain(|_, member| member.breaker.get().is_some());
        self.swept_at = self.map.len();
        let live = &self.map;
        self.timers
            .retain(|Reverse((_, name))| live.contains_key(name));
    }

    /// Asks for `name`'s probe lease at `at` (instead of any time asked before).
    pub(super) fn schedule(&mut self, name: &Arc<str>, at: Instant) {
        let Some(member) = self.map.get_mut(name) else {
            return;
        };
        member.view.lease_at = Some(at);
        self.timers.push(Reverse((at, Arc::clone(name))));
        if self.timers.len() > 4 * self.map.len().max(16) {
            let map = &self.map;
            self.timers.retain(|Reverse((at, name))| {
                map.get(name).is_some_and(|m| m.view.lease_at == Some(*at))
            });
        }
    }

    /// The breakers worth a poll: open or half-open here or in the fleet, called since the
    /// last poll, or never read. An idle closed breaker costs the store nothing. Drops the
    /// dead ones.
    pub(super) fn active(&mut self) -> Vec<Arc<str>> {
        let mut active = Vec::new();
        let mut dead = false;
        for (name, member) in &mut self.map {
            let Some(breaker) = member.breaker.get() else {
                dead = true;
                continue;
            };
            let admitted = breaker.metrics().admitted;
            let called = admitted != member.view.admitted;
            member.view.admitted = admitted;
            // Never read (just attached): read once, in case the fleet has it open.
            let fleet_closed = member.view.state == Some(FleetState::Closed);
            if called || !fleet_closed || breaker.state() != CircuitState::Closed {
                active.push(Arc::clone(name));
            }
        }
        if dead {
            self.sweep();
        }
        active
    }

    /// The earliest lease request.
    pub(super) fn next_lease(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// The lease requests due at `now`, with the generation each is for.
    pub(super) fn due(&mut self, now: Instant) -> Vec<(Arc<str>, u64)> {
        let mut due = Vec::new();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, name))) = self.timers.pop() else {
                break;
            };
            if let Some(member) = self.map.get_mut(&name) {
                if member.view.lease_at == Some(at) {
                    member.view.lease_at = None;
                    due.push((name, member.view.generation));
                }
            }
        }
        due
    }

    /// Adopts `record`: the breaker takes the fleet's state, if the record is not older
    /// than what it adopted before. `instance`: this instance's name; `hold`: how much
    /// longer than the fleet's opening a breaker stays open, so that its probe waits for
    /// the lease.
    /// Returns what the breaker is to do, to be applied once the lock is released.
    pub(super) fn adopt(
        &mut self,
        record: &Record,
        instance: &str,
        hold: Duration,
        actions: &mut Vec<Action>,
    ) {
        let now = Instant::now();
        let Some((name, _)) = self.map.get_key_value(record.name.as_str()) else {
            return;
        };
        let name = Arc::clone(name);
        let member = self.map.get_mut(&name).expect("just found");
        let Some(breaker) = member.breaker.get() else {
            return;
        };
        if record.rate_limited_ms > 0 {
            let alive = member.breaker.get().expect("alive above");
            actions.push(Action::RateLimit(alive, record.rate_limited_for()));
        }
        let view = &mut member.view;
        if record.generation < view.generation {
            return;
        }
        let newer = record.generation > view.generation || view.state.is_none();
        if newer {
            view.leased = false;
        }
        view.generation = record.generation;
        view.state = Some(record.state);
        let local = breaker.state();
        match record.state {
            FleetState::Closed => {
                view.lease_at = None;
                view.held_until = None;
                if newer {
                    match local {
                        CircuitState::Open | CircuitState::HalfOpen => {
                            actions.push(Action::Close(breaker));
                        }
                        CircuitState::ForcedOpen | CircuitState::Disabled => {
                            actions.push(Action::Reset(breaker));
                        }
                        _ => {}
                    }
                }
            }
            FleetState::ForcedOpen => {
                if local != CircuitState::ForcedOpen {
                    actions.push(Action::ForceOpen(breaker));
                }
            }
            FleetState::Disabled => {
                if local != CircuitState::Disabled {
                    actions.push(Action::Disable(breaker));
                }
            }
            FleetState::Open => {
                if view.leased && record.by == instance {
                    return; // This instance's probe is out.
                }
                view.leased = false;
                let held = record.open_for().max(record.lease_left());
                if held.is_zero() {
                    // The opening has passed and nobody probes: the breakers it holds open
                    // ask for the lease. (A breaker that closed meanwhile, while the store
                    // was away, stays closed: the later deadline wins.)
                    if newer || matches!(local, CircuitState::Open | CircuitState::HalfOpen) {
                        self.schedule(&name, now);
                    } else {
                        // Nothing to probe here: no need to read it again until it is
                        // called (or the channel says it changed).
                        view.state = Some(FleetState::Closed);
                    }
                    return;
                }
                let until = now + held + hold;
                let moved = view.held_until.is_none_or(|before| {
                    until > before + SAME_DEADLINE || until + SAME_DEADLINE < before
                });
                if newer || local != CircuitState::Open || moved {
                    actions.push(Action::Open(breaker, held + hold, record.cause()));
                    view.held_until = Some(until);
                }
                self.schedule(&name, now + held);
            }
        }
    }
}
