//! `#[circuit_breaker]` on functions and traits, driven through Closed -> Open -> HalfOpen ->
//! Closed on a manual clock.
//!
//! A guarded function finds its breaker by name in the process-wide registry on its first
//! call; each test registers a breaker on its own manual clock under the function's name
//! first, so tests never share a clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use breaker::{
    BreakerConfig, CircuitBreaker, CircuitOpen, CircuitState, ManualClock, circuit_breaker,
};
use breaker::{BreakerRegistry, BreakerSettings};
use futures::executor::block_on;

#[derive(Debug, Clone, PartialEq)]
pub enum ProviderError {
    RateLimited,
    BadRequest,
    Timeout,
    Open { breaker: String },
}

impl From<CircuitOpen> for ProviderError {
    fn from(open: CircuitOpen) -> Self {
        ProviderError::Open {
            breaker: open.name().to_string(),
        }
    }
}

impl ProviderError {
    fn is_outage(&self) -> bool {
        matches!(self, ProviderError::RateLimited | ProviderError::Timeout)
    }
}

/// Registers a breaker on a fresh manual clock under `name`.
pub(crate) fn manual_breaker(
    name: &'static str,
    threshold: u32,
    cooldown: Duration,
) -> ManualClock {
    let clock = ManualClock::new();
    let config = BreakerConfig::default()
        .with_threshold(threshold)
        .with_cooldown(cooldown);
    BreakerRegistry::global()
        .register(CircuitBreaker::with_clock(name, config, clock.clone()))
        .expect("each test registers its own name");
    clock
}

fn state_of(name: &str) -> CircuitState {
    BreakerRegistry::global()
        .get(name)
        .expect("registered")
        .state()
}

static SYNC_FAILS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "tests::sync", threshold = 2, cooldown = "10s")]
fn sync_call(input: &str) -> Result<String, ProviderError> {
    if SYNC_FAILS.load(Ordering::SeqCst) > 0 {
        SYNC_FAILS.fetch_sub(1, Ordering::SeqCst);
        // `?` and early `return` are recorded like the final expression.
        Err(ProviderError::Timeout)?;
    }
    if input.is_empty() {
        return Err(ProviderError::BadRequest);
    }
    Ok(input.to_uppercase())
}

#[test]
fn sync_function_goes_through_open_half_open_and_closed() {
    let clock = manual_breaker("tests::sync", 2, Duration::from_secs(10));
    assert_eq!(sync_call("hi").unwrap(), "HI");

    SYNC_FAILS.store(2, Ordering::SeqCst);
    assert_eq!(sync_call("hi"), Err(ProviderError::Timeout));
    assert_eq!(state_of("tests::sync"), CircuitState::Closed);
    assert_eq!(sync_call("hi"), Err(ProviderError::Timeout));
    assert_eq!(state_of("tests::sync"), CircuitState::Open);

    // Open: rejected without running the body, with our error converted into the caller's.
    let rejected = sync_call("hi").unwrap_err();
    assert_eq!(
        rejected,
        ProviderError::Open {
            breaker: "tests::sync".into()
        }
    );

    clock.advance(Duration::from_secs(10));
    assert_eq!(sync_call("probe").unwrap(), "PROBE");
    assert_eq!(state_of("tests::sync"), CircuitState::Closed);
    assert_eq!(sync_breaker_accessor_name(), "tests::sync");
}

fn sync_breaker_accessor_name() -> String {
    sync_call_breaker().name().to_string()
}

#[circuit_breaker(name = "tests::async", threshold = 1, cooldown = "5s")]
async fn async_call(fail: bool) -> Result<u32, ProviderError> {
    if fail {
        return Err(ProviderError::RateLimited);
    }
    Ok(7)
}

#[test]
fn async_function_goes_through_open_half_open_and_closed() {
    let clock = manual_breaker("tests::async", 1, Duration::from_secs(5));
    assert_eq!(block_on(async_call(false)), Ok(7));
    assert_eq!(block_on(async_call(true)), Err(ProviderError::RateLimited));
    assert_eq!(state_of("tests::async"), CircuitState::Open);
    assert!(matches!(
        block_on(async_call(false)),
        Err(ProviderError::Open { .. })
    ));

    clock.advance(Duration::from_secs(5));
    // The probe fails: open again, with a fresh cooldown.
    assert_eq!(block_on(async_call(true)), Err(ProviderError::RateLimited));
    assert_eq!(state_of("tests::async"), CircuitState::Open);
    clock.advance(Duration::from_secs(4));
    assert!(matches!(
        block_on(async_call(false)),
        Err(ProviderError::Open { .. })
    ));
    clock.advance(Duration::from_secs(1));
    assert_eq!(block_on(async_call(false)), Ok(7));
    assert_eq!(state_of("tests::async"), CircuitState::Closed);
}

#[test]
fn a_cancelled_async_probe_counts_as_neither_and_frees_its_slot() {
    let clock = manual_breaker("tests::async_cancel", 1, Duration::from_secs(5));

    #[circuit_breaker(name = "tests::async_cancel")]
    async fn slow(fail: bool) -> Result<(), ProviderError> {
        if fail {
            return Err(ProviderError::Timeout);
        }
        std::future::pending::<()>().await;
        Ok(())
    }

    assert_eq!(block_on(slow(true)), Err(ProviderError::Timeout));
    clock.advance(Duration::from_secs(5));
    // Poll the probe once (it acquires the only half-open slot), then drop it.
    {
        let mut probe = std::pin::pin!(slow(false));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(probe.as_mut().poll(&mut cx).is_pending());
        assert_eq!(state_of("tests::async_cancel"), CircuitState::HalfOpen);
    }
    // The slot is free at once: the next call is admitted as a probe.
    assert_eq!(block_on(slow(true)), Err(ProviderError::Timeout));
    assert_eq!(state_of("tests::async_cancel"), CircuitState::Open);
    let metrics = BreakerRegistry::global()
        .get("tests::async_cancel")
        .unwrap()
        .metrics();
    assert_eq!(
        metrics.failed, 2,
        "the cancelled probe counted as neither: {metrics:?}"
    );
}

struct Client {
    calls: u32,
    failing: bool,
}

impl Client {
    #[circuit_breaker(name = "tests::method", threshold = 2, cooldown = "1s")]
    fn complete(&mut self, prompt: &str) -> Result<String, ProviderError> {
        self.calls += 1;
        if self.failing {
            return Err(ProviderError::Timeout);
        }
        Ok(format!("{prompt}!"))
    }

    #[circuit_breaker(threshold = 3)]
    fn default_name(&self) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[test]
fn method_with_mut_self_is_guarded() {
    let clock = manual_breaker("tests::method", 2, Duration::from_secs(1));
    let mut client = Client {
        calls: 0,
        failing: true,
    };
    assert!(client.complete("a").is_err());
    assert!(client.complete("a").is_err());
    assert!(matches!(
        client.complete("a"),
        Err(ProviderError::Open { .. })
    ));
    assert_eq!(client.calls, 2, "the rejected call did not run");
    client.failing = false;
    clock.advance(Duration::from_secs(1));
    assert_eq!(client.complete("b").unwrap(), "b!");
    assert_eq!(state_of("tests::method"), CircuitState::Closed);
}

#[test]
fn a_method_is_named_after_its_type_and_takes_the_attribute_config() {
    let client = Client {
        calls: 0,
        failing: false,
    };
    client.default_name().unwrap();
    let name = "macros::circuit_breaker_attribute::Client::default_name";
    let breaker = BreakerRegistry::global()
        .get(name)
        .expect("registered under the method's path");
    assert_eq!(breaker.config().threshold, 3);
    assert_eq!(breaker.config().cooldown, Duration::from_secs(30));
}

#[circuit_breaker(name = "tests::generic", threshold = 1, cooldown = "2s")]
fn parse_all<T: std::str::FromStr>(
    items: impl IntoIterator<Item = &'static str>,
) -> Result<Vec<T>, ProviderError> {
    items
        .into_iter()
        .map(|item| item.parse::<T>().map_err(|_| ProviderError::BadRequest))
        .collect()
}

#[test]
fn generic_function_with_impl_trait_arguments_shares_one_breaker() {
    let clock = manual_breaker("tests::generic", 1, Duration::from_secs(2));
    assert_eq!(parse_all::<u8>(["1", "2"]).unwrap(), [1, 2]);
    assert_eq!(parse_all::<u8>(["x"]), Err(ProviderError::BadRequest));
    // Another instantiation, the same breaker: open.
    assert!(matches!(
        parse_all::<f64>(["1.5"]),
        Err(ProviderError::Open { .. })
    ));
    clock.advance(Duration::from_secs(2));
    assert_eq!(parse_all::<f64>(["1.5"]).unwrap(), [1.5]);
    assert_eq!(state_of("tests::generic"), CircuitState::Closed);
}

#[circuit_breaker(name = "tests::panics", threshold = 1)]
fn panics(really: bool) -> Result<(), ProviderError> {
    assert!(!really, "the guarded body panics");
    Ok(())
}

#[test]
fn a_panic_is_a_failure_and_goes_on() {
    manual_breaker("tests::panics", 1, Duration::from_secs(30));
    let caught = std::panic::catch_unwind(|| panics(true));
    assert!(caught.is_err(), "the panic reached the caller");
    assert_eq!(state_of("tests::panics"), CircuitState::Open);
}

#[circuit_breaker(name = "tests::failure_if", threshold = 1, failure_if = ProviderError::is_outage, fallback = cached)]
fn classified(error: Option<ProviderError>) -> Result<&'static str, ProviderError> {
    match error {
        Some(error) => Err(error),
        None => Ok("fresh"),
    }
}

fn cached(_: Option<ProviderError>) -> Result<&'static str, ProviderError> {
    Ok("cached")
}

#[test]
fn failure_if_decides_what_counts_and_fallback_answers_when_open() {
    manual_breaker("tests::failure_if", 1, Duration::from_secs(30));
    // A bad request is the caller's fault: returned unchanged, not a failure.
    assert_eq!(
        classified(Some(ProviderError::BadRequest)),
        Err(ProviderError::BadRequest)
    );
    assert_eq!(state_of("tests::failure_if"), CircuitState::Closed);
    // A rate limit is an outage: the circuit opens.
    assert_eq!(
        classified(Some(ProviderError::RateLimited)),
        Err(ProviderError::RateLimited)
    );
    assert_eq!(state_of("tests::failure_if"), CircuitState::Open);
    // Open: the fallback answers.
    assert_eq!(classified(None), Ok("cached"));
}

#[circuit_breaker(name = "tests::shared")]
fn shared_a() -> Result<(), ProviderError> {
    Err(ProviderError::Timeout)
}

#[circuit_breaker(name = "tests::shared")]
fn shared_b() -> Result<(), ProviderError> {
    Ok(())
}

#[test]
fn functions_with_the_same_name_share_one_breaker() {
    manual_breaker("tests::shared", 1, Duration::from_secs(30));
    assert!(shared_a().is_err());
    assert!(matches!(shared_b(), Err(ProviderError::Open { .. })));
    assert!(std::ptr::eq(shared_a_breaker(), shared_b_breaker()));
}

#[circuit_breaker(name = "tests::from_file", threshold = 5, config = "slow-provider")]
fn from_file() -> Result<(), ProviderError> {
    Ok(())
}

#[test]
fn settings_loaded_from_a_file_replace_the_attribute() {
    let settings: BreakerSettings = toml::from_str(
        r#"
        [slow-provider]
        threshold = 2
        cooldown = "1m 30s"
        "#,
    )
    .unwrap();
    BreakerRegistry::global()
        .load(settings)
        .expect("settings read with serde are valid");
    from_file().unwrap();
    let config = from_file_breaker().config();
    assert_eq!(config.threshold, 2);
    assert_eq!(config.cooldown, Duration::from_secs(90));
}

#[circuit_breaker(threshold = 2, cooldown = "10s")]
trait Provider {
    async fn complete(&self, prompt: &str) -> Result<String, ProviderError>;
    #[breaker(threshold = 1, failure_if = ProviderError::is_outage)]
    fn embed(&mut self, text: &str) -> Result<Vec<f32>, ProviderError>;
    #[breaker(skip)]
    fn health(&self) -> Result<(), ProviderError>;
    fn model(&self) -> &str;
}

struct Flaky {
    down: bool,
    embeds: u32,
}

impl Provider for Flaky {
    async fn complete(&self, prompt: &str) -> Result<String, ProviderError> {
        if self.down {
            Err(ProviderError::Timeout)
        } else {
            Ok(format!("re: {prompt}"))
        }
    }

    fn embed(&mut self, text: &str) -> Result<Vec<f32>, ProviderError> {
        self.embeds += 1;
        if text.is_empty() {
            return Err(ProviderError::BadRequest);
        }
        if self.down {
            return Err(ProviderError::RateLimited);
        }
        Ok(vec![text.len() as f32])
    }

    fn health(&self) -> Result<(), ProviderError> {
        if self.down {
            Err(ProviderError::Timeout)
        } else {
            Ok(())
        }
    }

    fn model(&self) -> &str {
        "flaky-1"
    }
}

#[test]
fn trait_wrapper_goes_through_open_half_open_and_closed() {
    let clock = ManualClock::new();
    let mut provider = ProviderBreaker::with_clock(
        Flaky {
            down: true,
            embeds: 0,
        },
        clock.clone(),
    );
    assert!(block_on(provider.complete("a")).is_err());
    assert!(block_on(provider.complete("a")).is_err());
    assert_eq!(provider.breaker().state(), CircuitState::Open);
    let rejected = block_on(provider.complete("a")).unwrap_err();
    assert_eq!(
        rejected,
        ProviderError::Open {
            breaker: "Provider".into()
        }
    );

    // Unguarded methods are forwarded whatever the state.
    assert_eq!(provider.model(), "flaky-1");
    assert_eq!(provider.health(), Err(ProviderError::Timeout));

    provider.inner_mut().down = false;
    clock.advance(Duration::from_secs(10));
    assert_eq!(block_on(provider.complete("b")).unwrap(), "re: b");
    assert_eq!(provider.breaker().state(), CircuitState::Closed);
}

#[test]
fn a_method_with_settings_of_its_own_has_its_own_breaker() {
    let clock = ManualClock::new();
    let mut provider = ProviderBreaker::with_clock(
        Flaky {
            down: true,
            embeds: 0,
        },
        clock,
    );
    let embed_breaker = provider.breaker_of("embed").unwrap();
    assert_eq!(embed_breaker.name().as_str(), "Provider::embed");
    assert_eq!(embed_breaker.config().threshold, 1);
    assert_eq!(
        embed_breaker.config().cooldown,
        Duration::from_secs(10),
        "inherited from the trait"
    );
    assert!(provider.breaker_of("model").is_none());

    // A bad request is not an outage.
    assert_eq!(provider.embed(""), Err(ProviderError::BadRequest));
    assert_eq!(
        provider.breaker_of("embed").unwrap().state(),
        CircuitState::Closed
    );
    assert_eq!(provider.embed("x"), Err(ProviderError::RateLimited));
    assert_eq!(
        provider.breaker_of("embed").unwrap().state(),
        CircuitState::Open
    );
    assert!(matches!(
        provider.embed("x"),
        Err(ProviderError::Open { .. })
    ));
    assert_eq!(provider.inner().embeds, 2);
    // `complete` has the shared breaker, still closed.
    assert_eq!(provider.breaker().state(), CircuitState::Closed);
    assert!(provider.into_inner().down);
}

#[circuit_breaker(
    name = "tests::backoff",
    cooldown = "10s",
    backoff = "exponential",
    backoff_multiplier = 3,
    max_cooldown = "2m",
    jitter = "equal"
)]
fn with_backoff() -> Result<(), ProviderError> {
    Ok(())
}

#[test]
fn backoff_and_jitter_arguments_reach_the_config() {
    with_backoff().unwrap();
    let config = with_backoff_breaker().config();
    assert_eq!(
        config.backoff,
        breaker::Backoff::Exponential {
            multiplier: 3.0,
            max: Duration::from_secs(120)
        }
    );
    assert_eq!(config.jitter, breaker::Jitter::Equal);
}

/// The attribute's settings, as a configuration file would write them.
fn file_config(toml: &str) -> BreakerConfig {
    toml::from_str(toml).expect("a valid configuration")
}

#[circuit_breaker(name = "tests::count_window", window_size = 10, minimum_calls = 5)]
fn count_window(fail: bool) -> Result<(), ProviderError> {
    if fail {
        Err(ProviderError::Timeout)
    } else {
        Ok(())
    }
}

#[test]
fn a_count_window_trips_on_the_failure_rate_at_the_right_call() {
    // The same keys, the same defaults (a 50% failure rate), as in a file.
    assert_eq!(
        count_window_breaker().config(),
        file_config("window_size = 10\nminimum_calls = 5")
    );
    // S F S F S F: 2 of 5 is 40%, 3 of 6 is 50%. A count window needs no clock.
    for call in 1..=6 {
        let _ = count_window(call % 2 == 0);
        let expected = if call < 6 {
            CircuitState::Closed
        } else {
            CircuitState::Open
        };
        assert_eq!(
            state_of("tests::count_window"),
            expected,
            "after call {call}"
        );
    }
    assert!(matches!(
        count_window(false),
        Err(ProviderError::Open { .. })
    ));
}

#[circuit_breaker(
    name = "tests::every_rate_key",
    window = "30s",
    window_buckets = 6,
    failure_rate = 25,
    minimum_calls = 40,
    slow_call_duration = "1500ms",
    slow_call_rate = 60,
    success_threshold = 2,
    ignored_errors = "success",
    half_open_max = 2
)]
fn every_rate_key() -> Result<(), ProviderError> {
    Ok(())
}

#[circuit_breaker(
    name = "tests::time_window_defaults",
    window = "1m",
    slow_call_duration = "2s"
)]
fn time_window_defaults() -> Result<(), ProviderError> {
    Ok(())
}

#[test]
fn rate_settings_mean_what_they_mean_in_a_configuration_file() {
    assert_eq!(
        every_rate_key_breaker().config(),
        file_config(
            r#"
            window = "30s"
            window_buckets = 6
            failure_rate = 25
            minimum_calls = 40
            slow_call_duration = "1500ms"
            slow_call_rate = 60
            success_threshold = 2
            ignored_errors = "success"
            half_open_max = 2
            "#
        )
    );
    // 10 buckets, a 50% failure rate, 10 calls at least, 100% of slow calls: as in a file.
    assert_eq!(
        time_window_defaults_breaker().config(),
        file_config("window = \"1m\"\nslow_call_duration = \"2s\"")
    );
}

#[circuit_breaker(
    window = "10s",
    minimum_calls = 3,
    failure_rate = 100,
    slow_call_duration = "1s",
    slow_call_rate = 50
)]
trait Search {
    fn search(&self, query: &str) -> Result<usize, ProviderError>;
}

/// A search that takes two seconds of the manual clock for a query that says "slow".
struct Backend {
    clock: ManualClock,
}

impl Search for Backend {
    fn search(&self, query: &str) -> Result<usize, ProviderError> {
        if query == "slow" {
            self.clock.advance(Duration::from_secs(2));
        }
        Ok(query.len())
    }
}

#[test]
fn a_trait_with_a_time_window_trips_on_slow_calls_at_the_right_call() {
    let clock = ManualClock::new();
    let search = SearchBreaker::with_clock(
        Backend {
            clock: clock.clone(),
        },
        clock.clone(),
    );
    // Every call succeeds; half of them slow trips the circuit, once there are 3.
    let calls = [
        ("fast", CircuitState::Closed), // 0 of 1 slow
        ("slow", CircuitState::Closed), // 1 of 2, below the minimum
        ("fast", CircuitState::Closed), // 1 of 3: 33%
        ("slow", CircuitState::Open),   // 2 of 4: 50%
    ];
    for (query, expected) in calls {
        assert_eq!(search.search(query), Ok(query.len()));
        assert_eq!(search.breaker().state(), expected, "after {query}");
    }
    assert!(matches!(
        search.search("fast"),
        Err(ProviderError::Open { .. })
    ));
}

#[circuit_breaker(name = "tests::sibling_panic", threshold = 1)]
async fn hangs() -> Result<(), ProviderError> {
    futures::future::pending::<()>().await;
    Ok(())
}

#[test]
fn a_panic_beside_a_guarded_call_is_not_its_failure() {
    manual_breaker("tests::sibling_panic", 1, Duration::from_secs(30));
    let caught = std::panic::catch_unwind(|| {
        block_on(futures::future::join(hangs(), async {
            panic!("a sibling in the join panics");
        }))
    });
    assert!(caught.is_err());
    assert_eq!(state_of("tests::sibling_panic"), CircuitState::Closed);
    let metrics = BreakerRegistry::global()
        .get("tests::sibling_panic")
        .unwrap()
        .metrics();
    assert_eq!((metrics.failed, metrics.abandoned), (0, 1));
}

#[circuit_breaker(name = "tests::async_panics", threshold = 1)]
async fn async_panics() -> Result<(), ProviderError> {
    panic!("the guarded async body panics");
}

#[test]
fn a_panic_of_a_guarded_async_body_is_a_failure() {
    manual_breaker("tests::async_panics", 1, Duration::from_secs(30));
    let caught = std::panic::catch_unwind(|| block_on(async_panics()));
    assert!(caught.is_err());
    assert_eq!(state_of("tests::async_panics"), CircuitState::Open);
}
