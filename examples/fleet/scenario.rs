//! The fleet example's scenario, run by the example at full size and by its integration test
//! (`tests/fleet`) in a smaller one: a fleet of instances, each with its own breaker (and,
//! when shared, its own connection to the store), calls a remote at a steady rate over real
//! HTTP while the remote goes down for a while and recovers. The [`Outcome`] holds what
//! reached the remote and when each instance opened and closed; its methods read from it
//! the figures the example prints.

use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breaker::fleet::{FleetOptions, FleetStore};
use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
use serde_json::json;
use tokio::time::MissedTickBehavior;

use super::remote::{FlakyRemote, INSTANCE_HEADER, PROBE_HEADER, Request};

/// The breaker every instance has, under the same name: the name is what the store shares.
pub const BREAKER: &str = "gpt-4o";

/// How long a store may take to answer its first command before the run gives up on it.
const STORE_READY_WITHIN: Duration = Duration::from_secs(5);

/// How many transitions an instance keeps: a run has a few per half-open generation.
const TRANSITIONS_KEPT: usize = 1_024;

/// What to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// How many instances.
    pub instances: usize,
    /// Every instance's breaker.
    pub config: BreakerConfig,
    /// How often each instance calls the remote.
    pub call_every: Duration,
    /// How long the remote is up before it goes down (every instance calls it meanwhile).
    pub up_before: Duration,
    /// How long the remote is down.
    pub down_for: Duration,
    /// How long after the remote recovers every instance may take to close.
    pub close_within: Duration,
    /// How long the calls keep going once every instance closed.
    pub run_after_closing: Duration,
    /// How long a client waits for an answer.
    pub client_timeout: Duration,
}

/// Whether the instances share their breakers.
#[derive(Debug, Clone)]
pub enum Sharing {
    /// Each instance connects to the store at `url` with `options` (its own name added) and
    /// attaches its breaker.
    Store {
        /// The store's URL.
        url: String,
        /// The options every instance connects with.
        options: FleetOptions,
    },
    /// Every breaker on its own.
    Local,
}

/// What a store's instances did, added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreTally {
    /// Commands sent to the store.
    pub commands: u64,
    /// Probe leases won.
    pub leases_won: u64,
}

/// What happened in a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The instances' breaker settings.
    pub config: BreakerConfig,
    /// How many instances ran.
    pub instances: usize,
    /// When the remote went down.
    pub down_at: Instant,
    /// When it recovered.
    pub up_at: Instant,
    /// Every request the remote received, in order.
    pub requests: Vec<Request>,
    /// Whether the remote's log left requests out (so the figures are short).
    pub log_truncated: bool,
    /// Each instance's first opening once the remote was down.
    pub opened: Vec<Option<Instant>>,
    /// Each instance's first closing once the remote was up again.
    pub closed: Vec<Option<Instant>>,
    /// Calls the breakers rejected, all instances together.
    pub rejected: u64,
    /// What the store's side did, when the breakers were shared.
    pub store: Option<StoreTally>,
    /// How long the instances ran.
    pub ran_for: Duration,
}

/// A half-open generation, as the remote saw it: probes close together in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// When its first probe arrived, since the remote went down.
    pub at: Duration,
    /// The instances that probed, in the order their probes arrived.
    pub probers: Vec<u32>,
    /// Whether a probe found the remote up.
    pub recovered: bool,
    /// Calls that reached the dead remote from this round's first probe until the next
    /// round's.
    pub calls_while_down: u64,
}

/// One instance of the fleet.
struct Instance {
    breaker: Arc<CircuitBreaker>,
    fleet: Option<FleetStore>,
    transitions: Arc<Mutex<Vec<(Instant, CircuitState)>>>,
}

impl Instance {
    fn new(index: usize, config: &BreakerConfig, sharing: &Sharing) -> Result<Self, BoxError> {
        let breaker = Arc::new(CircuitBreaker::try_new(BREAKER, config.clone())?);
        let transitions: Arc<Mutex<Vec<_>>> = Arc::default();
        let sink = Arc::clone(&transitions);
        breaker.on_transition(move |change| {
            let mut transitions = sink.lock().unwrap();
            if transitions.len() < TRANSITIONS_KEPT {
                transitions.push((Instant::now(), change.to));
            }
        });
        let fleet = match sharing {
            Sharing::Store { url, options } => {
                let options = options.clone().with_instance(format!("i{index}"));
                let fleet = FleetStore::connect(url, options)?;
                fleet.attach(&breaker);
                Some(fleet)
            }
            Sharing::Local => None,
        };
        Ok(Self {
            breaker,
            fleet,
            transitions,
        })
    }

    /// The first time the breaker went to `state` at or after `since`.
    fn first(&self, state: CircuitState, since: Instant) -> Option<Instant> {
        let transitions = self.transitions.lock().unwrap();
        transitions
            .iter()
            .find(|(at, to)| *at >= since && *to == state)
            .map(|(at, _)| *at)
    }
}

type BoxError = Box<dyn Error + Send + Sync>;

/// Runs `scenario` against a new remote, the breakers shared as `sharing` says.
///
/// # Errors
///
/// A breaker setting or store option out of range, a store URL that cannot be read or a
/// store that does not answer, the remote's server failing to start.
pub async fn run(scenario: &Scenario, sharing: &Sharing) -> Result<Outcome, BoxError> {
    let remote = FlakyRemote::start().await?;
    let fleet = (0..scenario.instances)
        .map(|index| Instance::new(index, &scenario.config, sharing))
        .collect::<Result<Vec<_>, _>>()?;
    wait_for_the_store(&fleet, sharing).await?;

    let start = Instant::now();
    let down_at = start + scenario.up_before;
    let up_at = down_at + scenario.down_for;
    remote.go_down(down_at, up_at);
    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = Vec::new();
    for (index, instance) in fleet.iter().enumerate() {
        let http = reqwest::Client::builder()
            .timeout(scenario.client_timeout)
            .build()?;
        // The instances' calls spread over the period, as independent services' would.
        let offset = scenario.call_every * index as u32 / scenario.instances as u32;
        callers.push(tokio::spawn(call_steadily(Caller {
            index: index as u32,
            breaker: Arc::clone(&instance.breaker),
            http,
            url: remote.url(),
            first: start + offset,
            every: scenario.call_every,
            stop: Arc::clone(&stop),
        })));
    }

    tokio::time::sleep_until(up_at.into()).await;
    let close_by = up_at + scenario.close_within;
    while Instant::now() < close_by
        && fleet
            .iter()
            .any(|instance| instance.first(CircuitState::Closed, up_at).is_none())
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(scenario.run_after_closing).await;
    stop.store(true, Ordering::Relaxed);
    let mut rejected = 0;
    for caller in callers {
        rejected += caller.await?;
    }

    let store = matches!(sharing, Sharing::Store { .. }).then(|| {
        fleet
            .iter()
            .filter_map(|instance| instance.fleet.as_ref())
            .map(FleetStore::stats)
            .fold(StoreTally::default(), |tally, stats| StoreTally {
                commands: tally.commands + stats.commands,
                leases_won: tally.leases_won + stats.leases_won,
            })
    });
    let (requests, log_truncated) = remote.requests();
    Ok(Outcome {
        config: scenario.config.clone(),
        instances: scenario.instances,
        down_at,
        up_at,
        requests,
        log_truncated,
        opened: fleet
            .iter()
            .map(|instance| instance.first(CircuitState::Open, down_at))
            .collect(),
        closed: fleet
            .iter()
            .map(|instance| instance.first(CircuitState::Closed, up_at))
            .collect(),
        rejected,
        store,
        ran_for: start.elapsed(),
    })
}

/// Waits until every instance's store answered a command (its first poll), so that the
/// outage starts with the fleet connected.
async fn wait_for_the_store(fleet: &[Instance], sharing: &Sharing) -> Result<(), BoxError> {
    let Sharing::Store { url, .. } = sharing else {
        return Ok(());
    };
    let give_up = Instant::now() + STORE_READY_WITHIN;
    let up = || {
        fleet
            .iter()
            .filter_map(|instance| instance.fleet.as_ref())
            .all(|fleet| fleet.stats().store_up)
    };
    while !up() {
        if Instant::now() >= give_up {
            return Err(
                format!("the store at {url} did not answer within {STORE_READY_WITHIN:?}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// One instance's traffic.
struct Caller {
    index: u32,
    breaker: Arc<CircuitBreaker>,
    http: reqwest::Client,
    url: String,
    first: Instant,
    every: Duration,
    stop: Arc<AtomicBool>,
}

/// Calls the remote through the breaker every `every` until told to stop, one call at a
/// time; returns how many calls the breaker rejected.
async fn call_steadily(caller: Caller) -> u64 {
    let mut ticks = tokio::time::interval_at(caller.first.into(), caller.every);
    // A late call is not made up for by a burst: the rate stays steady.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut rejected = 0;
    let mut n = 0_u64;
    while !caller.stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        let Ok(permit) = caller.breaker.acquire() else {
            rejected += 1;
            continue;
        };
        n += 1;
        let body = json!({
            "model": BREAKER,
            "messages": [{ "role": "user", "content": format!("request {n}") }],
        });
        let mut request = caller
            .http
            .post(&caller.url)
            .header(INSTANCE_HEADER, caller.index)
            .json(&body);
        if permit.is_probe() {
            request = request.header(PROBE_HEADER, "1");
        }
        let answered = request.send().await;
        permit.report(answered.is_ok_and(|response| response.status().is_success()));
    }
    rejected
}

impl Outcome {
    /// Calls that reached the remote while it was down.
    pub fn calls_while_down(&self) -> u64 {
        self.requests.iter().filter(|request| !request.ok).count() as u64
    }

    /// Calls that reached the dead remote other than probes: the failures the fleet paid
    /// before every instance rejected.
    pub fn failures_before_every_instance_rejected(&self) -> u64 {
        let failures = self.requests.iter().filter(|r| !r.ok && !r.probe);
        failures.count() as u64
    }

    /// The half-open generations, from the probes the remote received once it was down.
    /// The probes of one generation arrive within the spread of the instances' openings; the
    /// next generation's come a cooldown later: a gap of half a cooldown tells them apart.
    pub fn rounds(&self) -> Vec<Round> {
        let gap = self.config.cooldown / 2;
        let mut rounds: Vec<(Instant, Round)> = Vec::new();
        let probes = self
            .requests
            .iter()
            .filter(|r| r.probe && r.at >= self.down_at);
        let mut last: Option<Instant> = None;
        for probe in probes {
            if last.is_none_or(|last| probe.at.duration_since(last) > gap) {
                let round = Round {
                    at: probe.at - self.down_at,
                    probers: Vec::new(),
                    recovered: false,
                    calls_while_down: 0,
                };
                rounds.push((probe.at, round));
            }
            let (_, round) = rounds.last_mut().expect("pushed above");
            round.probers.push(probe.instance);
            round.recovered |= probe.ok;
            last = Some(probe.at);
        }
        for i in 0..rounds.len() {
            let from = rounds[i].0;
            let until = rounds.get(i + 1).map(|(at, _)| *at);
            rounds[i].1.calls_while_down = self
                .requests
                .iter()
                .filter(|r| !r.ok && r.at >= from && until.is_none_or(|until| r.at < until))
                .count() as u64;
        }
        rounds.into_iter().map(|(_, round)| round).collect()
    }

    /// When the last instance opened, if every instance did.
    pub fn every_instance_open(&self) -> Option<Instant> {
        self.opened
            .iter()
            .copied()
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }

    /// How long after the first instance opened each instance opened, shortest first (the
    /// instances that opened).
    pub fn opened_after_the_first(&self) -> Vec<Duration> {
        let opened: Vec<Instant> = self.opened.iter().flatten().copied().collect();
        let Some(first) = opened.iter().min().copied() else {
            return Vec::new();
        };
        let mut after: Vec<Duration> = opened.iter().map(|at| *at - first).collect();
        after.sort();
        after
    }

    /// How long after the remote recovered the last instance closed, if every instance did.
    pub fn every_instance_closed_after_recovery(&self) -> Option<Duration> {
        let closed = self.closed.iter().copied().collect::<Option<Vec<_>>>()?;
        Some(closed.into_iter().max()? - self.up_at)
    }
}
