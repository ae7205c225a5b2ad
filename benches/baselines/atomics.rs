//! Baseline in the shape of oxios-kernel 0.3.0's breaker: one breaker held in three atomics
//! (state, consecutive failures, time of the last failure in milliseconds since the Unix
//! epoch) and a flag for the single half-open probe.
//!
//! What it costs per call, as that breaker does:
//! - Closed, admitted: one load of the state word;
//! - a success: three stores (failures = 0, state = Closed, probe flag = false), every call,
//!   to the cache line all callers share;
//! - Open, rejected: a load of the last-failure time and a read of the system clock
//!   (`SystemTime::now()`) to compare it with the cooldown.
//!
//! Its known weaknesses (a lost probe wedges it in HalfOpen, two callers racing the
//! Open -> HalfOpen moment can both be admitted, a late report counts against the next state)
//! are kept: this is what is measured against, not a fixed version. That breaker's metrics gauge
//! and `tracing` warning are left out (they are not the breaker's own cost).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CLOSED: u32 = 0;
const OPEN: u32 = 1;
const HALF_OPEN: u32 = 2;

/// Three atomics and a probe flag; defaults 5 failures / 30 s like the original.
pub struct AtomicsBreaker {
    state: AtomicU32,
    failures: AtomicU32,
    last_failure_ms: AtomicU64,
    probe_taken: AtomicBool,
    threshold: u32,
    cooldown: Duration,
}

impl Default for AtomicsBreaker {
    fn default() -> Self {
        Self::new(5, Duration::from_secs(30))
    }
}

impl AtomicsBreaker {
    /// A closed breaker that opens after `threshold` consecutive failures and stays open for
    /// `cooldown`.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            state: AtomicU32::new(CLOSED),
            failures: AtomicU32::new(0),
            last_failure_ms: AtomicU64::new(0),
            probe_taken: AtomicBool::new(false),
            threshold,
            cooldown,
        }
    }

    /// May a call go ahead? Closed: yes. Open: once the cooldown has passed (read from the
    /// system clock), the caller that moves it to HalfOpen is the probe. HalfOpen: the caller
    /// that claims the probe flag.
    #[inline]
    pub fn is_allowed(&self) -> bool {
        match self.state.load(Ordering::Acquire) {
            CLOSED => true,
            OPEN => {
                if !self.cooldown_elapsed() {
                    return false;
                }
                match self.state.compare_exchange(
                    OPEN,
                    HALF_OPEN,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        self.probe_taken.store(true, Ordering::Release);
                        true
                    }
                    Err(_) => self.claim_probe(),
                }
            }
            HALF_OPEN => self.claim_probe(),
            _ => false,
        }
    }

    fn claim_probe(&self) -> bool {
        self.probe_taken
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn cooldown_elapsed(&self) -> bool {
        let last = self.last_failure_ms.load(Ordering::Acquire);
        if last == 0 {
            return true;
        }
        let elapsed = now_since_epoch().saturating_sub(Duration::from_millis(last));
        elapsed >= self.cooldown
    }

    /// A success: closes the circuit and resets the count, unconditionally (three stores).
    #[inline]
    pub fn record_success(&self) {
        self.failures.store(0, Ordering::Release);
        self.state.store(CLOSED, Ordering::Release);
        self.probe_taken.store(false, Ordering::Release);
    }

    /// A failure: counts it, stamps the time; at `threshold` the circuit opens.
    pub fn record_failure(&self) {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        let now_ms = u64::try_from(now_since_epoch().as_millis()).unwrap_or(u64::MAX);
        self.last_failure_ms.store(now_ms, Ordering::Release);
        if failures >= self.threshold {
            self.state.store(OPEN, Ordering::Release);
            self.probe_taken.store(false, Ordering::Release);
        }
    }

    /// Whether the circuit is open (for the benches' set-up checks).
    pub fn is_open(&self) -> bool {
        self.state.load(Ordering::Acquire) == OPEN
    }
}

fn now_since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
