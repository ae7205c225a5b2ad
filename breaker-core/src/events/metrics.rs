//! Per-call counters and the [`Metrics`] snapshot built from them.
//!
//! Every call bumps a counter or two (admitted, then succeeded or failed; or rejected), so the
//! counters must be neither a contended cache line nor an atomic read-modify-write (about
//! 5 ns each, more than a whole call through the seed's design). Each breaker has a shard of
//! counters per thread slot, each on its own cache line; a live thread owns its slot
//! exclusively (slots are handed out by a global allocator and given back when the thread
//! exits), so it counts with a plain load and store. Threads beyond the breaker's shards
//! share one more shard and count with `fetch_add`. [`Metrics`] sums the shards when asked.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::breaker::{BreakerName, CircuitState};

/// A point-in-time view of a breaker: its state and what it has counted since it was built.
///
/// Serializable (for a metrics endpoint or a log line); durations are in milliseconds.
///
/// ```
/// use breaker::{BreakerConfig, CircuitBreaker, CircuitState};
///
/// let breaker = CircuitBreaker::new("embeddings", BreakerConfig::default());
/// breaker.acquire().unwrap().success();
/// breaker.acquire().unwrap().failure();
///
/// let metrics = breaker.metrics();
/// assert_eq!(metrics.state, CircuitState::Closed);
/// assert_eq!((metrics.admitted, metrics.succeeded, metrics.failed), (2, 1, 1));
/// assert_eq!(metrics.consecutive_failures, 1);
///
/// let json = serde_json::to_value(&metrics).unwrap();
/// assert_eq!(json["state"], "Closed");
/// assert_eq!(json["name"], "embeddings");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// The breaker's name.
    pub name: BreakerName,
    /// Its state.
    #[serde(serialize_with = "state_name")]
    pub state: CircuitState,
    /// Its generation: how many state changes it has gone through.
    pub generation: u64,
    /// Consecutive failures counted in the current Closed generation (0 in other states).
    pub consecutive_failures: u32,
    /// Probes in flight in the current HalfOpen generation (0 in other states).
    pub probes_in_flight: u32,
    /// Calls admitted (permits handed out).
    pub admitted: u64,
    /// Calls rejected with [`CircuitOpen`](crate::CircuitOpen).
    pub rejected: u64,
    /// Calls reported as successes (including stale reports).
    pub succeeded: u64,
    /// Calls reported as failures (including stale reports).
    pub failed: u64,
    /// Permits dropped without a report (cancelled or panicking callers).
    pub abandoned: u64,
    /// Reports that came from an older generation and were ignored by the state machine.
    pub stale_reports: u64,
    /// Calls that took longer than the slow-call duration (counted whatever their outcome;
    /// 0 unless the breaker's policy watches for slow calls).
    pub slow: u64,
    /// Calls whose error the classifier ignores (`failure_if` returned false).
    pub ignored: u64,
    /// Closed under a sliding-window policy: what the window holds now.
    pub window: Option<WindowCounts>,
    /// Time since the last state change; `None` if the breaker never changed state.
    #[serde(rename = "since_last_transition_ms", serialize_with = "millis")]
    pub since_last_transition: Option<Duration>,
    /// Wall-clock time of the last state change in milliseconds since the Unix epoch
    /// (derived from [`since_last_transition`](Self::since_last_transition) and the system
    /// clock when the metrics were taken); `None` if the breaker never changed state.
    pub last_transition_unix_ms: Option<u64>,
}

/// What a sliding window holds: the calls the trip policy's rates are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct WindowCounts {
    /// Calls in the window.
    pub calls: u64,
    /// Of them, failures.
    pub failures: u64,
    /// Of them, slow calls.
    pub slow: u64,
}

fn state_name<S: Serializer>(state: &CircuitState, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(state.name())
}

fn millis<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_some(&(duration.as_millis() as u64)),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn unix_millis_ago(ago: Duration) -> Option<u64> {
    let at = SystemTime::now().checked_sub(ago)?;
    let since_epoch = at.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since_epoch.as_millis()).ok()
}

/// The per-call counters of one breaker: a shard per thread slot, and one shared shard,
/// all on the heap (the breaker stays small).
pub(crate) struct CallCounters {
    /// Shard `i < owned` is written only by the thread that holds slot `i`; the last shard
    /// is written with `fetch_add` by threads whose slot has no shard here.
    shards: Box<[Shard]>,
    owned: usize,
}

/// One thread's counters, alone on its cache line(s).
#[repr(align(128))]
#[derive(Default)]
struct Shard {
    admitted: AtomicU64,
    rejected: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    abandoned: AtomicU64,
    stale: AtomicU64,
    slow: AtomicU64,
    ignored: AtomicU64,
}

/// What the shards add up to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) admitted: u64,
    pub(crate) rejected: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) abandoned: u64,
    pub(crate) stale: u64,
    pub(crate) slow: u64,
    pub(crate) ignored: u64,
}

/// Owned shards per breaker: four per core, at least 16, at most 256 (128 bytes each).
fn owned_shards() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cores * 4).clamp(16, 256)
    })
}

/// The thread slots given back by threads that exited, for reuse by new threads.
static FREE_SLOTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// The next slot never handed out.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// A thread's slot: held for the thread's life, given back when it exits.
struct Slot(usize);

impl Slot {
    fn take() -> Self {
        let reused = FREE_SLOTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        Slot(reused.unwrap_or_else(|| NEXT_SLOT.fetch_add(1, Ordering::Relaxed)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The mutex orders this thread's last counts before the next owner's first.
        FREE_SLOTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(self.0);
    }
}

thread_local! {
    static SLOT: Slot = Slot::take();
}

/// This thread's slot; `None` while the thread is being torn down.
#[cfg(test)]
fn slot() -> Option<usize> {
    SLOT.try_with(|slot| slot.0).ok()
}

/// This thread's shard in every breaker: its slot, or the shared shard (index `owned`) if
/// its slot is beyond the owned shards or it is being torn down.
#[inline]
fn shard_index(owned: usize) -> usize {
    match SLOT.try_with(|slot| slot.0) {
        Ok(slot) if slot < owned => slot,
        _ => owned,
    }
}

macro_rules! bump {
    ($(#[$doc:meta] $name:ident => $field:ident;)*) => {
        $(
            #[$doc]
            #[inline]
            pub(crate) fn $name(&self) {
                let index = shard_index(self.owned);
                let counter = &self.shards[index].$field;
                if index < self.owned {
                    // Only this thread writes this shard: no read-modify-write needed.
                    counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
                } else {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        )*
    };
}

impl CallCounters {
    pub(crate) fn new() -> Self {
        let owned = owned_shards();
        Self {
            shards: (0..=owned).map(|_| Shard::default()).collect(),
            owned,
        }
    }

    #[cfg(test)]
    fn shared(&self) -> &Shard {
        &self.shards[self.owned]
    }

    bump! {
        /// A permit was handed out.
        admitted => admitted;
        /// A call was rejected.
        rejected => rejected;
        /// A call reported success.
        succeeded => succeeded;
        /// A call reported failure.
        failed => failed;
        /// A permit was dropped unreported.
        abandoned => abandoned;
        /// A report was ignored as stale.
        stale => stale;
        /// A call took longer than the slow-call duration.
        slow => slow;
        /// A call's error was one the classifier ignores.
        ignored => ignored;
    }

    pub(crate) fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for shard in self.shards.iter() {
            totals.admitted += shard.admitted.load(Ordering::Relaxed);
            totals.rejected += shard.rejected.load(Ordering::Relaxed);
            totals.succeeded += shard.succeeded.load(Ordering::Relaxed);
            totals.failed += shard.failed.load(Ordering::Relaxed);
            totals.abandoned += shard.abandoned.load(Ordering::Relaxed);
            totals.stale += shard.stale.load(Ordering::Relaxed);
            totals.slow += shard.slow.load(Ordering::Relaxed);
            totals.ignored += shard.ignored.load(Ordering::Relaxed);
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn shards_are_cache_line_aligned() {
        let counters = CallCounters::new();
        assert!(counters.owned >= 16);
        assert_eq!(counters.shards.len(), counters.owned + 1);
        assert_eq!(std::mem::align_of::<Shard>(), 128);
        let first = &counters.shards[0] as *const Shard as usize;
        assert_eq!(first % 128, 0);
    }

    #[test]
    fn live_threads_hold_distinct_slots_and_exited_threads_give_them_back() {
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let slots: Vec<usize> = (0..8)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let mine = slot().unwrap();
                    barrier.wait(); // all eight alive at once
                    mine
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect();
        let mut distinct = slots.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 8, "{slots:?}");
        // A new thread reuses a slot given back (slots stay dense).
        let reused = std::thread::spawn(|| slot().unwrap()).join().unwrap();
        assert!(reused < NEXT_SLOT.load(Ordering::Relaxed));
    }

    #[test]
    fn threads_beyond_the_owned_shards_count_in_the_shared_one() {
        let counters = Arc::new(CallCounters::new());
        let threads = owned_shards() + 8;
        let barrier = Arc::new(std::sync::Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (counters, barrier) = (Arc::clone(&counters), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let _ = slot();
                    barrier.wait(); // all alive with a slot: some have no owned shard
                    for _ in 0..100 {
                        counters.admitted();
                    }
                    barrier.wait(); // nobody gives a slot back before all have counted
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(counters.totals().admitted, 100 * threads as u64);
        assert!(counters.shared().admitted.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn totals_add_up_across_threads() {
        let counters = Arc::new(CallCounters::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let counters = Arc::clone(&counters);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        counters.admitted();
                        counters.succeeded();
                    }
                    counters.rejected();
                    counters.failed();
                    counters.abandoned();
                    counters.stale();
                    counters.slow();
                    counters.ignored();
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(
            counters.totals(),
            Totals {
                admitted: 4000,
                rejected: 4,
                succeeded: 4000,
                failed: 4,
                abandoned: 4,
                stale: 4,
                slow: 4,
                ignored: 4,
            }
        );
    }

    #[test]
    fn unix_millis_ago_is_in_the_past() {
        let now = unix_millis_ago(Duration::ZERO).unwrap();
        let earlier = unix_millis_ago(Duration::from_secs(10)).unwrap();
        assert!(now >= earlier + 10_000 - 5);
    }
}
