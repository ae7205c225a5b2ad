//! Baseline in the shape of awaken-runtime 0.4.0's breakers: the breakers of every model in
//! one `parking_lot::RwLock<HashMap<String, ModelState>>`, looked up by the model's name.
//!
//! What it costs per call, as those breakers do:
//! - a check: the write lock, the name hashed and copied into a new `String` (the map's
//!   `entry` API takes the key by value, so every check allocates, even for a model already
//!   in the map);
//! - a success: the write lock again and the name hashed again;
//! - Open, rejected: the check's costs, a read of the monotonic clock (`Instant::elapsed`)
//!   and a `format!` of the error message naming the model (another allocation).
//!
//! The map keeps every name it has ever been asked about. Config names and defaults
//! (`failure_threshold` 5, `cooldown` 30 s, `half_open_max` 1) are the original's.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

/// The original's configuration.
#[derive(Debug, Clone)]
pub struct MapConfig {
    /// Consecutive failures that open a model's circuit.
    pub failure_threshold: u32,
    /// How long a model's circuit stays open.
    pub cooldown: Duration,
    /// Probes admitted in HalfOpen.
    pub half_open_max: u32,
}

impl Default for MapConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cooldown: Duration::from_secs(30),
            half_open_max: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
struct ModelState {
    consecutive_failures: u32,
    last_failure: Instant,
    status: Status,
    half_open_attempts: u32,
}

impl ModelState {
    fn new() -> Self {
        Self {
            consecutive_failures: 0,
            last_failure: Instant::now(),
            status: Status::Closed,
            half_open_attempts: 0,
        }
    }
}

/// A rejection, as the original's: a message naming the model and saying "circuit breaker".
#[derive(Debug)]
pub struct ModelOpen(pub String);

impl fmt::Display for ModelOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Per-model breakers behind one lock.
#[derive(Default)]
pub struct MapBreakers {
    states: RwLock<HashMap<String, ModelState>>,
    config: MapConfig,
}

impl MapBreakers {
    /// No models yet: each is added on its first check.
    pub fn new(config: MapConfig) -> Self {
        Self {
            states: RwLock::new(HashMap::new()),
            config,
        }
    }

    /// May a call to `model` go ahead? Takes the write lock and a `String` copy of `model`.
    pub fn check(&self, model: &str) -> Result<(), ModelOpen> {
        let mut states = self.states.write();
        let state = states
            .entry(model.to_string())
            .or_insert_with(ModelState::new);
        match state.status {
            Status::Closed => Ok(()),
            Status::Open if state.last_failure.elapsed() >= self.config.cooldown => {
                state.status = Status::HalfOpen;
                state.half_open_attempts = 1;
                Ok(())
            }
            Status::HalfOpen if state.half_open_attempts < self.config.half_open_max => {
                state.half_open_attempts += 1;
                Ok(())
            }
            Status::Open | Status::HalfOpen => {
                Err(ModelOpen(format!("circuit breaker open for model {model}")))
            }
        }
    }

    /// A success for `model`: closes its circuit and resets its count.
    pub fn record_success(&self, model: &str) {
        let mut states = self.states.write();
        if let Some(state) = states.get_mut(model) {
            state.consecutive_failures = 0;
            state.half_open_attempts = 0;
            state.status = Status::Closed;
        }
    }

    /// A failure for `model`: counts it; at the threshold, or as a probe, the circuit opens.
    pub fn record_failure(&self, model: &str) {
        let mut states = self.states.write();
        let state = states
            .entry(model.to_string())
            .or_insert_with(ModelState::new);
        state.consecutive_failures += 1;
        state.last_failure = Instant::now();
        if state.status == Status::HalfOpen
            || state.consecutive_failures >= self.config.failure_threshold
        {
            state.status = Status::Open;
        }
    }

    /// How many models the map holds.
    pub fn len(&self) -> usize {
        self.states.read().len()
    }

    /// Whether the map holds no model.
    pub fn is_empty(&self) -> bool {
        self.states.read().is_empty()
    }
}
