//! How long a circuit stays open: the same cooldown every time, or a cooldown that grows
//! with each opening in a row, with jitter so that many clients do not all probe at once.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the open duration grows when a circuit opens again and again without closing.
///
/// ```
/// use std::time::Duration;
/// use breaker::Backoff;
///
/// let backoff = Backoff::Exponential { multiplier: 2.0, max: Duration::from_secs(60) };
/// let base = Duration::from_secs(10);
/// assert_eq!(backoff.open_for(base, 1), Duration::from_secs(10));
/// assert_eq!(backoff.open_for(base, 2), Duration::from_secs(20));
/// assert_eq!(backoff.open_for(base, 3), Duration::from_secs(40));
/// assert_eq!(backoff.open_for(base, 4), Duration::from_secs(60)); // the cap
/// assert_eq!(Backoff::Fixed.open_for(base, 9), base);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub enum Backoff {
    /// The cooldown every time (the default).
    #[default]
    Fixed,
    /// The cooldown times `multiplier` for each opening in a row after the first, at most
    /// `max`. The count starts again once the circuit closes.
    Exponential {
        /// How much longer each opening in a row lasts; at least 1.
        multiplier: f64,
        /// The longest an opening lasts; at least the cooldown.
        max: Duration,
    },
}

impl Backoff {
    /// The default multiplier of an exponential backoff: 2.
    pub const DEFAULT_MULTIPLIER: f64 = breaker_settings::DEFAULT_BACKOFF_MULTIPLIER;
    /// The default cap of an exponential backoff: 10 minutes.
    pub const DEFAULT_MAX: Duration = breaker_settings::DEFAULT_MAX_COOLDOWN;

    /// An exponential backoff with the default multiplier and cap.
    pub const fn exponential() -> Self {
        Backoff::Exponential {
            multiplier: Self::DEFAULT_MULTIPLIER,
            max: Self::DEFAULT_MAX,
        }
    }

    /// How long the `opens`-th opening in a row lasts (counting from 1), before jitter.
    pub fn open_for(&self, cooldown: Duration, opens: u32) -> Duration {
        match *self {
            Backoff::Fixed => cooldown,
            Backoff::Exponential { multiplier, max } => {
                let exponent = opens.saturating_sub(1).min(i32::MAX as u32) as i32;
                let grown = cooldown.as_secs_f64() * multiplier.powi(exponent);
                // `try_from_secs_f64` fails on an overflow, which is past the cap anyway.
                Duration::try_from_secs_f64(grown).map_or(max, |grown| grown.min(max))
            }
        }
    }
}

// Multipliers compare by value: the configuration is compared and hashed (to spot a
// changed file), and a multiplier is never NaN once validated.
impl PartialEq for Backoff {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Backoff::Fixed, Backoff::Fixed) => true,
            (
                Backoff::Exponential {
                    multiplier: a,
                    max: x,
                },
                Backoff::Exponential {
                    multiplier: b,
                    max: y,
                },
            ) => a.to_bits() == b.to_bits() && x == y,
            _ => false,
        }
    }
}

impl Eq for Backoff {}

impl Hash for Backoff {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Backoff::Fixed => 0u8.hash(state),
            Backoff::Exponential { multiplier, max } => {
                1u8.hash(state);
                multiplier.to_bits().hash(state);
                max.hash(state);
            }
        }
    }
}

/// How an open duration is randomised, so that the clients of one remote, opened by the
/// same outage, do not all probe it at the same moment.
///
/// ```
/// use std::time::Duration;
/// use breaker::Jitter;
///
/// let d = Duration::from_secs(10);
/// assert_eq!(Jitter::None.apply(d, 0.73), d);
/// assert_eq!(Jitter::Full.apply(d, 0.25), Duration::from_millis(2500)); // anywhere in [0, d]
/// assert_eq!(Jitter::Equal.apply(d, 0.5), Duration::from_millis(7500)); // in [d/2, d]
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Jitter {
    /// The duration as it is (the default).
    #[default]
    None,
    /// Anywhere between zero and the duration.
    Full,
    /// Half the duration, plus anywhere up to the other half.
    Equal,
}

impl Jitter {
    /// Whether this is no jitter at all.
    pub fn is_none(&self) -> bool {
        *self == Jitter::None
    }

    /// `duration` randomised by `unit`, a number in `[0, 1)`.
    pub fn apply(self, duration: Duration, unit: f64) -> Duration {
        match self {
            Jitter::None => duration,
            Jitter::Full => duration.mul_f64(unit),
            Jitter::Equal => duration / 2 + (duration / 2).mul_f64(unit),
        }
    }
}

/// The random numbers of one breaker's jitter: a SplitMix64 sequence, drawn lock-free,
/// deterministic from its seed (so that a test on a manual clock sees the same durations
/// every run).
pub(crate) struct JitterSource {
    state: AtomicU64,
}

impl JitterSource {
    /// A sequence from `seed`, or from a seed of the process's own when there is none.
    pub(crate) fn new(seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| {
            // `RandomState` is seeded randomly per process: a seed without a dependency.
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(&hasher as *const _ as usize);
            hasher.finish()
        });
        Self {
            state: AtomicU64::new(seed),
        }
    }

    /// The next number in `[0, 1)`.
    pub(crate) fn next_unit(&self) -> f64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits, as a fraction of 2^53.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_grows_by_the_multiplier_up_to_the_cap() {
        let backoff = Backoff::Exponential {
            multiplier: 1.5,
            max: Duration::from_secs(30),
        };
        let base = Duration::from_secs(8);
        let sequence: Vec<Duration> = (1..=6).map(|n| backoff.open_for(base, n)).collect();
        assert_eq!(
            sequence,
            [8.0, 12.0, 18.0, 27.0, 30.0, 30.0].map(Duration::from_secs_f64)
        );
        // However many openings in a row, the cap holds (no overflow).
        assert_eq!(backoff.open_for(base, u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let source = JitterSource::new(Some(7));
        let d = Duration::from_secs(10);
        for _ in 0..10_000 {
            let unit = source.next_unit();
            assert!((0.0..1.0).contains(&unit));
            let full = Jitter::Full.apply(d, unit);
            assert!(full <= d);
            let equal = Jitter::Equal.apply(d, unit);
            assert!(equal >= d / 2 && equal <= d);
        }
    }

    #[test]
    fn a_seeded_source_repeats_itself_and_spreads_out() {
        let a = JitterSource::new(Some(42));
        let b = JitterSource::new(Some(42));
        let first: Vec<f64> = (0..100).map(|_| a.next_unit()).collect();
        let second: Vec<f64> = (0..100).map(|_| b.next_unit()).collect();
        assert_eq!(first, second);
        let mean = first.iter().sum::<f64>() / first.len() as f64;
        assert!((0.35..0.65).contains(&mean), "roughly uniform: mean {mean}");
        let below_half = first.iter().filter(|u| **u < 0.5).count();
        assert!((30..70).contains(&below_half));
    }
}
