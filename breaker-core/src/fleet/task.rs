//! The fleet store's background task: it tells the store what the attached breakers
//! decided, adopts what the store publishes, polls as a backstop (`store.rs`), asks for
//! probe leases, and keeps the store behind a small breaker of its own. Nothing here is on a call's path:
//! the breakers' listeners only queue their news (dropped if the queue is full: the next
//! poll catches up).

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{mpsc, oneshot};

use super::members::{Action, Alive};
use super::record::{FleetState, Record, encode_cause};
use super::scripts::{Scripts, Which, millis};
use super::{Shared, lock};
use crate::breaker::CircuitBreaker;
use crate::cause::Cause;
use crate::config::BreakerConfig;

/// What a breaker decided by itself, queued by its listeners for the task.
pub(super) struct Local {
    pub(super) name: Arc<str>,
    pub(super) news: News,
}

pub(super) enum News {
    /// Closed -> Open.
    Tripped {
        open_for: Duration,
        cause: Option<Cause>,
    },
    /// HalfOpen -> Open.
    ProbeFailed {
        open_for: Duration,
        cause: Option<Cause>,
    },
    /// HalfOpen -> Closed.
    ProbeSucceeded,
    /// A call's rate limit moved the gate.
    RateLimited(Duration),
    /// The consecutive failures counted in Closed moved to this (0: a success forgot them).
    Failures(u32),
}

/// An operator's command for the fleet, answered with whether the store took it.
pub(super) struct Command {
    pub(super) name: String,
    pub(super) state: FleetState,
    pub(super) done: oneshot::Sender<bool>,
}

pub(super) struct Task {
    pub(super) shared: Arc<Shared>,
    pub(super) conn: ConnectionManager,
    pub(super) scripts: Scripts,
    /// The store's own breaker: while it is open, the store is not asked at all and the
    /// breakers behave as local ones.
    pub(super) store: CircuitBreaker,
    pub(super) store_was_down: bool,
    pub(super) subscribed: bool,
    locals: mpsc::Receiver<Local>,
    pushes: mpsc::Receiver<PushInfo>,
    commands: mpsc::Receiver<Command>,
}

impl Task {
    pub(super) fn new(
        shared: Arc<Shared>,
        conn: ConnectionManager,
        locals: mpsc::Receiver<Local>,
        pushes: mpsc::Receiver<PushInfo>,
        commands: mpsc::Receiver<Command>,
    ) -> Self {
        let options = &shared.options;
        let store = CircuitBreaker::new(
            format!("fleet store ({})", options.prefix),
            BreakerConfig::default()
                .with_threshold(options.store_failures)
                .with_cooldown(options.poll_interval),
        );
        Self {
            conn,
            scripts: Scripts::new(),
            store,
            store_was_down: false,
            subscribed: false,
            locals,
            pushes,
            commands,
            shared,
        }
    }

    pub(super) async fn run(mut self) {
        let poll = self.shared.options.poll_interval;
        let mut next_poll = Instant::now();
        loop {
            let next_lease = lock(&self.shared.members).next_lease();
            let wake = next_lease.map_or(next_poll, |lease| lease.min(next_poll));
            tokio::select! {
                local = self.locals.recv() => match local {
                    Some(local) => self.on_local(local).await,
                    None => return,
                },
                Some(push) = self.pushes.recv() => self.on_push(push),
                Some(command) = self.commands.recv() => self.on_command(command).await,
                () = self.shared.leases_changed.notified() => {}
                () = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if now >= next_poll {
                        self.poll().await;
                        next_poll = Instant::now() + poll;
                    }
                    self.ask_leases(now).await;
                }
            }
        }
    }

    /// A breaker's own decision, told to the fleet.
    async fn on_local(&mut self, local: Local) {
        let instance = self.shared.instance.to_string();
        let (generation, leased, config) = {
            let mut members = lock(&self.shared.members);
            let Some(member) = members.map.get_mut(&local.name) else {
                return;
            };
            let Some(breaker) = member.breaker.get() else {
                return;
            };
            let config = breaker.config();
            if let News::Tripped { open_for, .. } | News::ProbeFailed { open_for, .. } = &local.news
            {
                member.view.open_until = Some(Instant::now() + *open_for);
            }
            (member.view.generation, member.view.leased, config)
        };
        let options = &self.shared.options;
        let reply = match local.news {
            News::Tripped { open_for, cause } => {
                let args = [
                    generation.to_string(),
                    instance,
                    millis(open_for),
                    encode_cause(cause.as_ref()),
                    options.quorum.to_string(),
                    millis(options.quorum_window),
                    "0".to_owned(),
                ];
                self.eval(Which::Trip, &local.name, &args).await
            }
            News::ProbeFailed { open_for, cause } if leased => {
                let args = [
                    generation.to_string(),
                    instance,
                    "open".to_owned(),
                    millis(open_for),
                    encode_cause(cause.as_ref()),
                ];
                self.eval(Which::Settle, &local.name, &args).await
            }
            // A probe without the lease (the store was away): its opening is pushed as a
            // trip; the later deadline wins.
            News::ProbeFailed { open_for, cause } => {
                let args = [
                    generation.to_string(),
                    instance,
                    millis(open_for),
                    encode_cause(cause.as_ref()),
                    "1".to_owned(),
                    millis(options.quorum_window),
                    "1".to_owned(),
                ];
                self.eval(Which::Trip, &local.name, &args).await
            }
            News::ProbeSucceeded if leased => {
                let args = [
                    generation.to_string(),
                    instance,
                    "closed".to_owned(),
                    "0".to_owned(),
                    String::new(),
                ];
                self.eval(Which::Settle, &local.name, &args).await
            }
            News::ProbeSucceeded => self.eval(Which::Read, &local.name, &[]).await,
            News::Failures(failures) => {
                let args = [
                    generation.to_string(),
                    instance,
                    millis(config.cooldown),
                    config.threshold.to_string(),
                    options.quorum.to_string(),
                    millis(options.quorum_window),
                    if failures == 0 { "forgot" } else { "failed" }.to_owned(),
                ];
                self.eval(Which::Failures, &local.name, &args).await
            }
            News::RateLimited(retry_after) => {
                let args = [millis(retry_after)];
                self.eval(Which::RateLimit, &local.name, &args).await
            }
        };
        if let Some((_, record)) = reply {
            self.adopt(&record);
        }
        self.reconcile_if_back().await;
    }

    pub(super) fn adopt(&self, record: &Record) {
        let options = &self.shared.options;
        let mut actions = Vec::new();
        lock(&self.shared.members).adopt(record, &self.shared.instance, options.hold, &mut actions);
        for action in actions {
            action.apply();
        }
        self.shared.stats.adopted();
        self.shared.leases_changed.notify_one();
    }

    /// A message from the channel: a change another instance (or this one) published.
    fn on_push(&mut self, push: PushInfo) {
        match push.kind {
            PushKind::Message => {
                let [_, Value::BulkString(payload)] = push.data.as_slice() else {
                    return;
                };
                let Some(record) = std::str::from_utf8(payload).ok().and_then(Record::parse) else {
                    return;
                };
                self.shared.stats.received();
                self.adopt(&record);
            }
            // The connection dropped: the subscription goes with it until the manager
            // reconnects (and subscribes again); polls cover the gap.
            PushKind::Disconnection => self.subscribed = false,
            PushKind::Subscribe => self.subscribed = true,
            _ => {}
        }
    }

    async fn on_command(&mut self, command: Command) {
        let args = [
            command.state.as_str().to_owned(),
            self.shared.instance.to_string(),
        ];
        let reply = self.eval(Which::Command, &command.name, &args).await;
        let done = reply.is_some();
        if let Some((_, record)) = reply {
            self.adopt(&record);
        }
        let _ = command.done.send(done);
    }

    /// Asks for the probe leases due.
    async fn ask_leases(&mut self, now: Instant) {
        let due = lock(&self.shared.members).due(now);
        for (name, generation) in due {
            let lease = {
                let members = lock(&self.shared.members);
                members
                    .map
                    .get(&name)
                    .and_then(|member| member.breaker.get())
                    .map(|breaker| lease_for(&breaker))
            };
            let Some(lease) = lease else { continue };
            let args = [
                generation.to_string(),
                self.shared.instance.to_string(),
                millis(lease),
            ];
            match self.eval(Which::Lease, &name, &args).await {
                Some((1, record)) => {
                    self.shared.stats.lease_won();
                    let breaker = {
                        let mut members = lock(&self.shared.members);
                        let Some(member) = members.map.get_mut(&name) else {
                            continue;
                        };
                        member.view.leased = true;
                        member.view.generation = record.generation;
                        member.view.held_until = None;
                        let breaker = member.breaker.get();
                        // No probe by the lease's end: ask again (the fleet must not wait
                        // for a call that does not come, nor probe without a lease).
                        members.schedule(&name, Instant::now() + lease);
                        breaker
                    };
                    if let Some(breaker) = breaker {
                        // The next call is the fleet's probe.
                        Action::Open(breaker, Duration::ZERO, record.cause()).apply();
                    }
                }
                Some((_, record)) => self.adopt(&record),
                None => {}
            }
        }
    }
}

/// How long this instance holds the probe lease: the breaker's own probe timeout.
fn lease_for(breaker: &Alive) -> Duration {
    breaker
        .config()
        .half_open_timeout
        .max(Duration::from_millis(1))
}
