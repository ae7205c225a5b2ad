//! The fleet store's background task: it tells the store what the attached breakers
//! decided, adopts what the store publishes, polls as a backstop, asks for probe leases,
//! and keeps the store behind a small breaker of its own. Nothing here is on a call's path:
//! the breakers' listeners only queue their news (dropped if the queue is full: the next
//! poll catches up).

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{mpsc, oneshot};

use super::members::{Action, Alive};
use super::record::{FleetState, Record, encode_cause, keys};
use super::scripts::{self, Script};
use super::{Shared, lock};
use crate::breaker::{CircuitBreaker, CircuitState};
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

struct Scripts {
    read: Script,
    trip: Script,
    lease: Script,
    settle: Script,
    rate_limit: Script,
    command: Script,
    failures: Script,
}

pub(super) struct Task {
    shared: Arc<Shared>,
    conn: ConnectionManager,
    scripts: Scripts,
    /// The store's own breaker: while it is open, the store is not asked at all and the
    /// breakers behave as local ones.
    store: CircuitBreaker,
    store_was_down: bool,
    subscribed: bool,
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
            scripts: Scripts {
                read: Script::new(scripts::READ),
                trip: Script::new(scripts::TRIP),
                lease: Script::new(scripts::LEASE),
                settle: Script::new(scripts::SETTLE),
                rate_limit: Script::new(scripts::RATE_LIMIT),
                command: Script::new(scripts::COMMAND),
                failures: Script::new(scripts::FAILURES),
            },
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

    /// Runs `script` for the breaker `name`: `None` if the store is unreachable (or its
    /// breaker is open), else the script's code and the breaker's record.
    async fn eval(&mut self, script: Which, name: &str, args: &[String]) -> Option<(i64, Record)> {
        let permit = self.store.acquire().ok()?;
        let script = self.scripts.get(script);
        let options = &self.shared.options;
        let keys = keys(&options.prefix, name);
        let mut head = vec![
            name.to_owned(),
            options.channel(),
            millis(options.retention),
        ];
        head.extend_from_slice(args);
        let run = eval(&mut self.conn, script, &keys, &head);
        let reply = tokio::time::timeout(options.store_timeout, run).await;
        self.shared.stats.command();
        match reply {
            Ok(Ok((code, text))) => {
                permit.success();
                self.store_up();
                Some((code, Record::parse(&text)?))
            }
            Ok(Err(error)) => {
                permit.failure_because(&error);
                self.store_down();
                None
            }
            Err(_elapsed) => {
                permit.failure_because("the store did not answer in time");
                self.store_down();
                None
            }
        }
    }

    fn store_down(&mut self) {
        if self.store.state() == CircuitState::Closed || self.store_was_down {
            return;
        }
        self.store_was_down = true;
        self.subscribed = false;
        self.shared.stats.set_store_up(false);
        tracing::warn!(
            target: "breaker",
            prefix = %self.shared.options.prefix,
            "fleet store unreachable: the breakers decide locally until it is back"
        );
        if self.shared.options.fail_closed {
            let mut held = Vec::new();
            {
                let mut members = lock(&self.shared.members);
                for member in members.map.values_mut() {
                    if let Some(breaker) = member.breaker.get() {
                        member.view.forced_by_store = true;
                        held.push(breaker);
                    }
                }
            }
            for breaker in held {
                breaker.force_open();
            }
        }
    }

    fn store_up(&mut self) {
        self.shared.stats.set_store_up(true);
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

    fn adopt(&self, record: &Record) {
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

    /// The backstop: reads the records of the active breakers (open or half-open here or
    /// in the fleet, or called since the last poll) in one round trip; subscribes if the
    /// subscription was lost.
    async fn poll(&mut self) {
        if self.shared.options.pubsub && !self.subscribed {
            self.subscribe().await;
        }
        let active = lock(&self.shared.members).active();
        if active.is_empty() {
            if self.store_was_down || (self.shared.options.pubsub && !self.subscribed) {
                self.ping().await;
            }
            return;
        }
        // In batches, each a round trip of its own within the store's timeout.
        for batch in active.chunks(POLL_BATCH) {
            if !self.read_batch(batch).await {
                break;
            }
        }
        self.reconcile_if_back().await;
    }

    /// Reads the records of `names` in one pipeline, and adopts them; false if the store
    /// did not answer.
    async fn read_batch(&mut self, names: &[Arc<str>]) -> bool {
        let Ok(permit) = self.store.acquire() else {
            return false;
        };
        let options = &self.shared.options;
        let script = &self.scripts.read;
        let mut pipe = redis::pipe();
        for name in names {
            let keys = keys(&options.prefix, name);
            pipe.cmd("EVALSHA")
                .arg(&script.sha)
                .arg(3)
                .arg(&keys)
                .arg(&**name)
                .arg(options.channel())
                .arg(millis(options.retention));
        }
        let read = async {
            match pipe.query_async::<Vec<(i64, String)>>(&mut self.conn).await {
                // A new or restarted server: the script is loaded, and the reads made again.
                Err(error) if error.code() == Some("NOSCRIPT") => {
                    redis::cmd("SCRIPT")
                        .arg("LOAD")
                        .arg(&script.text)
                        .query_async::<String>(&mut self.conn)
                        .await?;
                    pipe.query_async::<Vec<(i64, String)>>(&mut self.conn).await
                }
                other => other,
            }
        };
        let reply = tokio::time::timeout(options.store_timeout, read).await;
        self.shared.stats.commands(names.len() as u64);
        match reply {
            Ok(Ok(replies)) => {
                permit.success();
                self.store_up();
                for (_, text) in replies {
                    if let Some(record) = Record::parse(&text) {
                        self.adopt(&record);
                    }
                }
                true
            }
            Ok(Err(error)) => {
                permit.failure_because(&error);
                self.store_down();
                false
            }
            Err(_elapsed) => {
                permit.failure_because("the store did not answer in time");
                self.store_down();
                false
            }
        }
    }

    async fn subscribe(&mut self) {
        let Ok(permit) = self.store.acquire() else {
            return;
        };
        let channel = self.shared.options.channel();
        let subscribe = self.conn.subscribe(&channel);
        let reply = tokio::time::timeout(self.shared.options.store_timeout, subscribe).await;
        self.shared.stats.command();
        match reply {
            Ok(Ok(())) => {
                permit.success();
                self.subscribed = true;
                self.store_up();
            }
            _ => {
                permit.failure();
                self.store_down();
            }
        }
    }

    async fn ping(&mut self) {
        let Ok(permit) = self.store.acquire() else {
            return;
        };
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut self.conn);
        let reply = tokio::time::timeout(self.shared.options.store_timeout, ping).await;
        self.shared.stats.command();
        if matches!(reply, Ok(Ok(_))) {
            permit.success();
            self.store_up();
            self.reconcile_if_back().await;
        } else {
            permit.failure();
            self.store_down();
        }
    }

    /// Back from an outage of the store: each breaker open here tells its opening (the
    /// later deadline wins), the breakers forced open by the outage are reset, then every
    /// breaker adopts the fleet's state.
    async fn reconcile_if_back(&mut self) {
        if !self.store_was_down || self.store.state() != CircuitState::Closed {
            return;
        }
        self.store_was_down = false;
        tracing::info!(
            target: "breaker",
            prefix = %self.shared.options.prefix,
            "fleet store reachable again: reconciling"
        );
        let now = Instant::now();
        let mut pushes = Vec::new();
        let mut all = Vec::new();
        let mut released = Vec::new();
        {
            let mut members = lock(&self.shared.members);
            for (name, member) in &mut members.map {
                let Some(breaker) = member.breaker.get() else {
                    continue;
                };
                all.push(Arc::clone(name));
                if member.view.forced_by_store {
                    member.view.forced_by_store = false;
                    released.push(Action::Reset(breaker));
                    continue;
                }
                let open_left = member
                    .view
                    .open_until
                    .and_then(|until| until.checked_duration_since(now));
                if let (CircuitState::Open, Some(left)) = (breaker.state(), open_left) {
                    pushes.push((Arc::clone(name), member.view.generation, left));
                }
            }
        }
        for action in released {
            action.apply();
        }
        let instance = self.shared.instance.to_string();
        for (name, generation, left) in pushes {
            let args = [
                generation.to_string(),
                instance.clone(),
                millis(left),
                encode_cause(None),
                "1".to_owned(),
                millis(self.shared.options.quorum_window),
                "1".to_owned(),
            ];
            if let Some((_, record)) = self.eval(Which::Trip, &name, &args).await {
                self.adopt(&record);
            }
        }
        for name in all {
            if let Some((_, record)) = self.eval(Which::Read, &name, &[]).await {
                self.adopt(&record);
            }
        }
    }
}

/// How many records a poll reads in one round trip.
const POLL_BATCH: usize = 256;

/// Which script.
#[derive(Clone, Copy)]
enum Which {
    Read,
    Trip,
    Lease,
    Settle,
    RateLimit,
    Command,
    Failures,
}

impl Scripts {
    fn get(&self, which: Which) -> &Script {
        match which {
            Which::Read => &self.read,
            Which::Trip => &self.trip,
            Which::Lease => &self.lease,
            Which::Settle => &self.settle,
            Which::RateLimit => &self.rate_limit,
            Which::Command => &self.command,
            Which::Failures => &self.failures,
        }
    }
}

/// Runs `script` by its SHA-1, loading it first if the server does not have it (a new or
/// restarted server).
async fn eval(
    conn: &mut ConnectionManager,
    script: &Script,
    keys: &[String; 3],
    args: &[String],
) -> redis::RedisResult<(i64, String)> {
    let mut by_sha = redis::cmd("EVALSHA");
    by_sha.arg(&script.sha).arg(3).arg(keys).arg(args);
    match by_sha.query_async(conn).await {
        Err(error) if error.code() == Some("NOSCRIPT") => {
            let mut by_text = redis::cmd("EVAL");
            by_text.arg(&script.text).arg(3).arg(keys).arg(args);
            by_text.query_async(conn).await
        }
        other => other,
    }
}

/// How long this instance holds the probe lease: the breaker's own probe timeout.
fn lease_for(breaker: &Alive) -> Duration {
    breaker
        .config()
        .half_open_timeout
        .max(Duration::from_millis(1))
}

fn millis(duration: Duration) -> String {
    duration.as_millis().max(1).to_string()
}
