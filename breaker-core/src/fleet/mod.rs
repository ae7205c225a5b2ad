//! [`FleetStore`]: breakers shared by the instances of a fleet through a Redis server, with
//! the store off the call path.
//!
//! # How it works
//!
//! Every instance keeps its own breakers, and every call is admitted and reported locally,
//! exactly as without a store. A background task (on tokio) carries the breakers'
//! *decisions* between the instances:
//!
//! - **A trip** here runs a Lua script on the server that opens the breaker for the fleet
//!   (one hash per breaker, its keys under one hash tag, each with a TTL). The script reads
//!   the server's `TIME`, so the instances' clocks never meet; it checks the generation the
//!   trip was decided on; and it `PUBLISH`es the new record. Two instances tripping at once:
//!   one script wins, the other instance adopts its deadline.
//! - **Every instance adopts** a published record at once (a breaker takes it through the
//!   `FleetOpened` / `FleetClosed` rows of its table), and polls the records of its active
//!   breakers every `poll_interval` as a backstop. Records carry times left, not dates.
//! - **One probe for the fleet.** A breaker is held open a little longer (`hold`) than the
//!   fleet's opening; when the opening ends, each instance asks for the breaker's probe
//!   lease (`SET NX PX`, tagged with the generation), and only the winner lets a call through
//!   as the probe; the others stay open until the lease's end. The probe's result closes or
//!   reopens the breaker for everyone, and counts only from the lease's holder. A lease
//!   whose holder died expires, and another instance probes.
//! - **Rate limits** are shared: a call's rate limit here holds back the fleet until the
//!   remote's deadline.
//! - **A quorum** (`quorum` instances tripping within `quorum_window`) may be required before
//!   a trip opens the fleet: a sick instance alone stays open locally.
//! - **The store failing is not the remote failing.** Every store command has a timeout
//!   and goes through a breaker of its own; while the store is unreachable, each instance
//!   behaves as a local breaker (or, with `fail_closed`, keeps every breaker open), and when
//!   it is back, the instance tells its openings (the later deadline wins) and adopts the
//!   fleet's state.
//!
//! Operators force a breaker open, disable it or reset it for the whole fleet with
//! [`FleetStore::force_open`], [`disable`](FleetStore::disable) and
//! [`reset`](FleetStore::reset).
//!
//! ```no_run
//! use std::sync::Arc;
//! use breaker::fleet::{FleetOptions, FleetStore};
//! use breaker::{BreakerConfig, CircuitBreaker};
//!
//! # async fn run() -> Result<(), breaker::fleet::FleetError> {
//! let fleet = FleetStore::connect("redis://127.0.0.1:6379/", FleetOptions::default())?;
//! let gpt = Arc::new(CircuitBreaker::new("gpt-4o", BreakerConfig::default()));
//! fleet.attach(&gpt); // one line: the breaker is now shared by the fleet
//! # Ok(())
//! # }
//! ```

mod members;
mod options;
mod record;
mod scripts;
mod store;
mod task;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use redis::{IntoConnectionInfo, ProtocolVersion};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::breaker::{CircuitBreaker, CircuitEvent};
use crate::keyed::{KeyedRegistry, RegistryKey};
use members::Members;
use record::FleetState;
use task::{Command, Local, News, Task};

pub use options::FleetOptions;

/// How many breaker decisions may wait for the task; more are dropped (the next poll
/// catches up), so that a flood of them cannot grow memory.
const QUEUE: usize = 1_024;

/// A connection of this instance to the fleet's store: attach breakers to it, and they are
/// shared by every instance attached to the same store (and `prefix`). Cheap to clone; the
/// background task stops when the last clone is dropped.
///
/// See the [module docs](self) for how it works and what it guarantees.
#[derive(Clone)]
pub struct FleetStore {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    _task: Arc<StopOnDrop>,
}

/// What the task and the handles share.
struct Shared {
    instance: Arc<str>,
    options: FleetOptions,
    members: Mutex<Members>,
    locals: mpsc::Sender<Local>,
    leases_changed: Notify,
    stats: Stats,
}

struct StopOnDrop(tokio::task::AbortHandle);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a fleet store could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetError {
    /// The store's URL is not one redis-rs reads.
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An option out of its range.
    Options {
        /// The option's name.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// [`FleetStore::connect`] was called outside a tokio runtime.
    NoRuntime,
    /// The store did not take an operator's command (unreachable, or its breaker open).
    StoreUnavailable,
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FleetError::Url { url, reason } => write!(f, "fleet store url `{url}`: {reason}"),
            FleetError::Options {
                field,
                value,
                expected,
            } => write!(f, "fleet option `{field}` = {value}: {expected}"),
            FleetError::NoRuntime => f.write_str(
                "FleetStore::connect must be called within a tokio runtime (its task runs there)",
            ),
            FleetError::StoreUnavailable => {
                f.write_str("the fleet store is unreachable: the command was not applied")
            }
        }
    }
}

impl std::error::Error for FleetError {}

/// What a fleet store's task did, since it started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetStats {
    /// This instance's name in the store.
    pub instance: Arc<str>,
    /// Whether the last store command succeeded.
    pub store_up: bool,
    /// Commands sent to the store (each script of a pipelined poll counts one).
    pub commands: u64,
    /// Changes received on the channel.
    pub received: u64,
    /// Records adopted (from replies, the channel and polls).
    pub adopted: u64,
    /// Probe leases this instance won.
    pub leases_won: u64,
    /// Breakers attached now.
    pub attached: usize,
}

#[derive(Default)]
struct Stats {
    store_up: AtomicBool,
    commands: AtomicU64,
    received: AtomicU64,
    adopted: AtomicU64,
    leases_won: AtomicU64,
}

impl Stats {
    fn command(&self) {
        self.commands(1);
    }
    fn commands(&self, n: u64) {
        self.commands.fetch_add(n, Ordering::Relaxed);
    }
    fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
    fn adopted(&self) {
        self.adopted.fetch_add(1, Ordering::Relaxed);
    }
    fn lease_won(&self) {
        self.leases_won.fetch_add(1, Ordering::Relaxed);
    }
    fn set_store_up(&self, up: bool) {
        self.store_up.store(up, Ordering::Relaxed);
    }
}

/// What [`FleetStore::attach`] takes: a breaker that outlives the store's use of it.
pub trait Attach: attach::Sealed {}

mod attach {
    use std::sync::Arc;

    use super::members::Held;
    use crate::breaker::CircuitBreaker;

    pub trait Sealed {
        fn held(self) -> Held;
    }

    impl Sealed for &'static CircuitBreaker {
        fn held(self) -> Held {
            Held::Static(self)
        }
    }

    impl Sealed for &Arc<CircuitBreaker> {
        fn held(self) -> Held {
            Held::Weak(Arc::downgrade(self))
        }
    }
}

impl Attach for &'static CircuitBreaker {}
impl Attach for &Arc<CircuitBreaker> {}

impl FleetStore {
    /// Connects this instance to the store at `url` (`redis://host:port/db`, with a user and
    /// password if it needs them) and starts the background task on the current tokio
    /// runtime. The connection is made lazily and remade whenever it breaks: a store that is
    /// down now is not an error, and the breakers behave as local ones until it is up.
    ///
    /// # Errors
    ///
    /// [`FleetError::Url`] for a URL redis-rs cannot read; [`FleetError::Options`] for an
    /// option out of its range; [`FleetError::NoRuntime`] outside a tokio runtime.
    pub fn connect(url: &str, options: FleetOptions) -> Result<Self, FleetError> {
        options.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| FleetError::NoRuntime)?;
        let bad_url = |error: redis::RedisError| FleetError::Url {
            url: url.to_owned(),
            reason: error.to_string(),
        };
        let info = url.into_connection_info().map_err(bad_url)?;
        // RESP3: the changes arrive on the connection the commands use.
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings)).map_err(bad_url)?;
        let (push_tx, pushes) = mpsc::channel(QUEUE);
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.store_timeout))
            .set_response_timeout(Some(options.store_timeout))
            .set_number_of_retries(1)
            .set_max_delay(options.poll_interval)
            .set_automatic_resubscription()
            .set_push_sender(move |push| push_tx.try_send(push));
        let _entered = runtime.enter();
        let conn =
            redis::aio::ConnectionManager::new_lazy_with_config(client, config).map_err(bad_url)?;
        let (locals_tx, locals) = mpsc::channel(QUEUE);
        let (commands, commands_rx) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            instance: Arc::from(options.instance_name()),
            options,
            members: Mutex::new(Members::default()),
            locals: locals_tx,
            leases_changed: Notify::new(),
            stats: Stats::default(),
        });
        let task = Task::new(Arc::clone(&shared), conn, locals, pushes, commands_rx);
        let handle = runtime.spawn(task.run());
        Ok(Self {
            shared,
            commands,
            _task: Arc::new(StopOnDrop(handle.abort_handle())),
        })
    }

    /// Shares `breaker` with the fleet: a `&'static CircuitBreaker` (a `static`, a derived
    /// enum's breakers in a `static`, an attribute's breaker) or a `&Arc<CircuitBreaker>`
    /// (held weakly: the store forgets the breaker when its last `Arc` is dropped). Attaching a breaker twice does
    /// nothing. Its calls cost what they did before: it only gains listeners of its
    /// transitions and rate limits.
    pub fn attach(&self, breaker: impl Attach) {
        let held = attach::Sealed::held(breaker);
        let Some(alive) = held.get() else { return };
        let name = alive.name().clone();
        let inserted = lock(&self.shared.members).insert(&name, held, &alive);
        if inserted {
            listen(&alive, &self.shared);
            self.shared.leases_changed.notify_one();
        }
    }

    /// Shares each of `breakers` (see [`attach`](Self::attach)): a derived enum's breakers
    /// in one line, `fleet.attach_all(MODELS.iter().map(|(_, breaker)| breaker))`.
    pub fn attach_all<B: Attach>(&self, breakers: impl IntoIterator<Item = B>) {
        for breaker in breakers {
            self.attach(breaker);
        }
    }

    /// Shares every breaker of `registry`, those it holds and those it will create; an
    /// evicted breaker is forgotten with it, so the store's memory stays bounded by the
    /// registry's.
    pub fn attach_registry<K: RegistryKey>(&self, registry: &KeyedRegistry<K>) {
        let fleet = self.clone_weak();
        registry.on_breaker(move |breaker| {
            if let Some(fleet) = fleet.upgrade() {
                fleet.attach(breaker);
            }
        });
    }

    /// Opens the breaker `name` for the whole fleet until a [`reset`](Self::reset).
    ///
    /// # Errors
    ///
    /// [`FleetError::StoreUnavailable`] if the store did not take the command.
    pub async fn force_open(&self, name: &str) -> Result<(), FleetError> {
        self.command(name, FleetState::ForcedOpen).await
    }

    /// Disables the breaker `name` for the whole fleet until a [`reset`](Self::reset).
    ///
    /// # Errors
    ///
    /// [`FleetError::StoreUnavailable`] if the store did not take the command.
    pub async fn disable(&self, name: &str) -> Result<(), FleetError> {
        self.command(name, FleetState::Disabled).await
    }

    /// Closes the breaker `name` for the whole fleet, with a new generation.
    ///
    /// # Errors
    ///
    /// [`FleetError::StoreUnavailable`] if the store did not take the command.
    pub async fn reset(&self, name: &str) -> Result<(), FleetError> {
        self.command(name, FleetState::Closed).await
    }

    async fn command(&self, name: &str, state: FleetState) -> Result<(), FleetError> {
        let (done, answer) = oneshot::channel();
        let command = Command {
            name: name.to_owned(),
            state,
            done,
        };
        if self.commands.send(command).await.is_err() {
            return Err(FleetError::StoreUnavailable);
        }
        match answer.await {
            Ok(true) => Ok(()),
            _ => Err(FleetError::StoreUnavailable),
        }
    }

    /// This instance's name in the store (see [`FleetOptions::instance`]).
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }

    /// What the task did so far.
    pub fn stats(&self) -> FleetStats {
        let stats = &self.shared.stats;
        FleetStats {
            instance: Arc::clone(&self.shared.instance),
            store_up: stats.store_up.load(Ordering::Relaxed),
            commands: stats.commands.load(Ordering::Relaxed),
            received: stats.received.load(Ordering::Relaxed),
            adopted: stats.adopted.load(Ordering::Relaxed),
            leases_won: stats.leases_won.load(Ordering::Relaxed),
            attached: lock(&self.shared.members).map.len(),
        }
    }

    fn clone_weak(&self) -> WeakFleet {
        WeakFleet {
            shared: Arc::downgrade(&self.shared),
            commands: self.commands.clone(),
            task: Arc::downgrade(&self._task),
        }
    }
}

/// A fleet store held by a registry's listener: it must not keep the task running.
struct WeakFleet {
    shared: std::sync::Weak<Shared>,
    commands: mpsc::Sender<Command>,
    task: std::sync::Weak<StopOnDrop>,
}

impl WeakFleet {
    fn upgrade(&self) -> Option<FleetStore> {
        Some(FleetStore {
            shared: self.shared.upgrade()?,
            commands: self.commands.clone(),
            _task: self.task.upgrade()?,
        })
    }
}

impl fmt::Debug for FleetStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetStore")
            .field("instance", &self.shared.instance)
            .field("prefix", &self.shared.options.prefix)
            .finish_non_exhaustive()
    }
}

/// Registers the listeners that queue `breaker`'s decisions for the task.
fn listen(breaker: &CircuitBreaker, shared: &Arc<Shared>) {
    let locals = shared.locals.clone();
    breaker.on_transition(move |change| {
        let news = match change.event {
            CircuitEvent::Trip => News::Tripped {
                open_for: change.open_for.unwrap_or_default(),
                cause: change.cause.clone(),
            },
            CircuitEvent::ProbeFailed => News::ProbeFailed {
                open_for: change.open_for.unwrap_or_default(),
                cause: change.cause.clone(),
            },
            CircuitEvent::ProbeSucceeded => News::ProbeSucceeded,
            // The fleet's own decisions, and commands given here, are not news.
            _ => return,
        };
        let _ = locals.try_send(Local {
            name: Arc::from(change.name.as_str()),
            news,
        });
    });
    let (locals, name) = (
        shared.locals.clone(),
        Arc::<str>::from(breaker.name().as_str()),
    );
    breaker.on_failure_count(move |failures| {
        let _ = locals.try_send(Local {
            name: Arc::clone(&name),
            news: News::Failures(failures),
        });
    });
    let locals = shared.locals.clone();
    breaker.on_rate_limit(move |limit| {
        let _ = locals.try_send(Local {
            name: Arc::from(limit.name.as_str()),
            news: News::RateLimited(limit.retry_after),
        });
    });
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The members' state is a cache of the store's: a panic leaves nothing wrong in it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
