//! Model test of the trip policies: random sequences of successes, failures, ignored errors,
//! slow calls and clock advances, run against the breaker and against a small reference
//! model written here, for each policy. They must agree on every admission and every state.

use std::collections::VecDeque;
use std::time::Duration;

use breaker::{
    BreakerConfig, CircuitBreaker, CircuitState, Clock, FailureRate, ManualClock, SlowCalls,
    TripPolicy, Window,
};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    Ignored,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// A call that takes `took` and ends with `outcome`.
    Call { outcome: Outcome, took: Duration },
    /// Time passes between calls.
    Advance(Duration),
}

/// A call as a window holds it: when it was recorded, whether it failed, whether it was slow.
#[derive(Debug, Clone, Copy)]
struct Record {
    at: Duration,
    failed: bool,
    slow: bool,
}

/// The reference: the breaker's documented behaviour, one call at a time, written plainly.
struct Model {
    config: BreakerConfig,
    state: CircuitState,
    /// Open: when the next call becomes a probe.
    deadline: Duration,
    consecutive: u32,
    window: VecDeque<Record>,
    successes: u32,
}

impl Model {
    fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: CircuitState::Closed,
            deadline: Duration::ZERO,
            consecutive: 0,
            window: VecDeque::new(),
            successes: 0,
        }
    }

    /// Whether a call at `now` is admitted, and whether as a probe.
    fn acquire(&mut self, now: Duration) -> Option<bool> {
        match self.state {
            CircuitState::Closed => Some(false),
            CircuitState::Open if now >= self.deadline => {
                self.state = CircuitState::HalfOpen;
                self.successes = 0;
                Some(true)
            }
            CircuitState::HalfOpen => Some(true),
            _ => None,
        }
    }

    fn open(&mut self, now: Duration) {
        self.state = CircuitState::Open;
        self.deadline = now + self.config.cooldown;
    }

    fn close(&mut self) {
        self.state = CircuitState::Closed;
        self.consecutive = 0;
        self.window.clear();
    }

    /// The report of a call admitted at `started`, made at `now`.
    fn report(&mut self, outcome: Outcome, started: Duration, now: Duration) {
        if outcome == Outcome::Ignored {
            return; // neither: the default
        }
        let failed = outcome == Outcome::Failure;
        let slow = self
            .config
            .slow_calls()
            .is_some_and(|slow| now - started > slow.duration);
        match self.state {
            CircuitState::Closed => match self.config.policy {
                TripPolicy::ConsecutiveFailures => {
                    self.consecutive = if failed { self.consecutive + 1 } else { 0 };
                    if self.consecutive >= self.config.threshold {
                        self.open(now);
                    }
                }
                TripPolicy::FailureRate(rate) => {
                    self.window.push_back(Record {
                        at: now,
                        failed,
                        slow,
                    });
                    if self.trips(&rate, now) {
                        self.open(now);
                    }
                }
                other => panic!("the model knows no trip policy {other:?}"),
            },
            CircuitState::HalfOpen => {
                if failed || slow {
                    self.open(now);
                } else {
                    self.successes += 1;
                    if self.successes >= self.config.success_threshold {
                        self.close();
                    }
                }
            }
            _ => unreachable!("no call is admitted in {:?}", self.state),
        }
    }

    fn trips(&mut self, rate: &FailureRate, now: Duration) -> bool {
        match rate.window {
            Window::Count { size } => {
                while self.window.len() > size as usize {
                    self.window.pop_front();
                }
            }
            Window::Time { length, buckets } => {
                let bucket = length.as_nanos() / u128::from(buckets);
                let newest = now.as_nanos() / bucket;
                let oldest = (newest + 1).saturating_sub(u128::from(buckets));
                self.window
                    .retain(|record| record.at.as_nanos() / bucket >= oldest);
            }
            other => panic!("the model knows no window {other:?}"),
        }
        let calls = self.window.len() as u64;
        let failures = self.window.iter().filter(|r| r.failed).count() as u64;
        let slow = self.window.iter().filter(|r| r.slow).count() as u64;
        let reached = |count: u64, percent: u8| count * 100 >= u64::from(percent) * calls;
        calls >= u64::from(rate.minimum_calls)
            && (reached(failures, rate.failure_rate)
                || rate.slow_calls.is_some_and(|s| reached(slow, s.rate)))
    }
}

/// A duration in `range` milliseconds, often exactly 1 s or 2 s: durations, cooldowns and
/// advances drawn from the same round values land exactly on the boundaries (a call exactly
/// as long as the slow-call duration, a call exactly at the end of the cooldown).
fn millis(range: std::ops::Range<u64>) -> impl Strategy<Value = Duration> {
    prop_oneof![
        1 => Just(Duration::from_secs(1)),
        1 => Just(Duration::from_secs(2)),
        2 => range.prop_map(Duration::from_millis),
    ]
}

fn slow_calls() -> impl Strategy<Value = Option<SlowCalls>> {
    proptest::option::of(
        (millis(1..3_000), 1u8..=100).prop_map(|(d, rate)| SlowCalls::new(d).with_rate(rate)),
    )
}

fn policy() -> impl Strategy<Value = TripPolicy> {
    let consecutive = Just(TripPolicy::ConsecutiveFailures);
    let count = (1u32..12, 1u8..=100, slow_calls())
        .prop_flat_map(|(size, rate, slow)| (Just((size, rate, slow)), 1..=size))
        .prop_map(|((size, rate, slow), minimum)| {
            let mut policy =
                FailureRate::new(Window::Count { size }, rate).with_minimum_calls(minimum);
            policy.slow_calls = slow;
            TripPolicy::FailureRate(policy)
        });
    let time = (
        millis(1_000..20_000),
        1u32..6,
        1u8..=100,
        1u32..8,
        slow_calls(),
    )
        .prop_map(|(length, buckets, rate, minimum, slow)| {
            let mut policy = FailureRate::new(Window::Time { length, buckets }, rate)
                .with_minimum_calls(minimum);
            policy.slow_calls = slow;
            TripPolicy::FailureRate(policy)
        });
    prop_oneof![consecutive, count, time]
}

fn config() -> impl Strategy<Value = BreakerConfig> {
    (policy(), 1u32..5, millis(500..10_000), 1u32..4).prop_map(
        |(policy, threshold, cooldown, success_threshold)| {
            BreakerConfig::default()
                .with_policy(policy)
                .with_threshold(threshold)
                .with_cooldown(cooldown)
                .with_success_threshold(success_threshold)
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    let outcome = prop_oneof![
        4 => Just(Outcome::Success),
        4 => Just(Outcome::Failure),
        1 => Just(Outcome::Ignored),
    ];
    prop_oneof![
        4 => (outcome, millis(0..3_000)).prop_map(|(outcome, took)| Op::Call { outcome, took }),
        1 => millis(0..6_000).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_breaker_agrees_with_the_model(config in config(), ops in prop::collection::vec(op(), 1..80)) {
        let clock = ManualClock::new();
        let breaker = CircuitBreaker::with_clock("model", config.clone(), clock.clone());
        let mut model = Model::new(config);
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Advance(by) => clock.advance(by),
                Op::Call { outcome, took } => {
                    let started = clock.now();
                    let expected = model.acquire(started);
                    let admitted = breaker.acquire();
                    prop_assert_eq!(
                        admitted.as_ref().ok().map(|permit| permit.is_probe()),
                        expected,
                        "step {}: admission", step
                    );
                    if let Ok(permit) = admitted {
                        clock.advance(took);
                        match outcome {
                            Outcome::Success => permit.success(),
                            Outcome::Failure => permit.failure(),
                            Outcome::Ignored => permit.ignore(),
                        }
                        model.report(outcome, started, clock.now());
                    }
                }
            }
            prop_assert_eq!(breaker.state(), model.state, "step {}: state", step);
        }
    }
}
