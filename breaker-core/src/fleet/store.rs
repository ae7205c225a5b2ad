//! The fleet task's store commands: each with a timeout, behind the store's own breaker
//! (while it is open the store is not asked at all, and the breakers decide locally); the
//! polls, the subscription, and the reconciliation when the store is back.

use std::sync::Arc;
use std::time::Instant;

use redis::aio::ConnectionManager;

use super::lock;
use super::members::Action;
use super::record::{Record, encode_cause, keys};
use super::scripts::{Script, Which, millis};
use super::task::Task;
use crate::breaker::CircuitState;

impl Task {
    /// Runs `script` for the breaker `name`: `None` if the store is unreachable (or its
    /// breaker is open), else the script's code and the breaker's record.
    pub(super) async fn eval(
        &mut self,
        script: Which,
        name: &str,
        args: &[String],
    ) -> Option<(i64, Record)> {
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

    pub(super) fn store_down(&mut self) {
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

    pub(super) fn store_up(&mut self) {
        self.shared.stats.set_store_up(true);
    }

    /// The backstop: reads the records of the active breakers (open or half-open here or
    /// in the fleet, or called since the last poll) in one round trip; subscribes if the
    /// subscription was lost.
    pub(super) async fn poll(&mut self) {
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
    pub(super) async fn reconcile_if_back(&mut self) {
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
