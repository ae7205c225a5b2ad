//! `key = argument`: the argument of a guarded call chooses its breaker, among the
//! per-variant breakers of an enum that derives `CircuitBreakers`, or in a bounded registry
//! for a string or another hashable key.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use breaker::__private::KEYED_CALL_CAPACITY;
use breaker::{
    CircuitBreakers, CircuitOpen, CircuitState, KeyedRegistry, ManualClock, circuit_breaker,
};
use futures::executor::block_on;

#[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
#[breaker(threshold = 3, cooldown = "30s", rename_all = "kebab-case")]
pub enum Model {
    #[breaker(threshold = 2, cooldown = "10s")]
    Gpt4o,
    ClaudeSonnet,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProviderError {
    Down,
    Open { breaker: String },
}

impl From<CircuitOpen> for ProviderError {
    fn from(open: CircuitOpen) -> Self {
        ProviderError::Open {
            breaker: open.name().to_string(),
        }
    }
}

fn answer(model: impl std::fmt::Debug, fail: bool) -> Result<String, ProviderError> {
    if fail {
        Err(ProviderError::Down)
    } else {
        Ok(format!("{model:?}"))
    }
}

// The attribute's `threshold = 9` does not apply to the derived breakers: each variant
// keeps the settings of its own `#[breaker]`.
#[circuit_breaker(key = model, threshold = 9)]
fn complete(model: Model, fail: bool) -> Result<String, ProviderError> {
    answer(model, fail)
}

#[test]
fn a_derived_key_opens_each_models_breaker_on_its_own_settings() {
    for _ in 0..2 {
        assert_eq!(complete(Model::Gpt4o, true), Err(ProviderError::Down));
    }
    let breakers = complete_breakers();
    let gpt = breakers.get(&Model::Gpt4o).expect("created on first use");
    assert_eq!(gpt.name(), "gpt4o");
    assert_eq!(gpt.config().threshold, 2, "the variant's own setting");
    assert_eq!(gpt.state(), CircuitState::Open);
    assert_eq!(
        complete(Model::Gpt4o, false),
        Err(ProviderError::Open {
            breaker: "gpt4o".into()
        }),
        "rejected without running the body"
    );

    let claude = breakers.get(&Model::ClaudeSonnet).unwrap();
    assert_eq!(claude.config().threshold, 3, "the enum's setting");
    for _ in 0..2 {
        assert_eq!(
            complete(Model::ClaudeSonnet, true),
            Err(ProviderError::Down)
        );
    }
    assert_eq!(
        claude.state(),
        CircuitState::Closed,
        "two of three failures"
    );
    assert_eq!(
        complete(Model::ClaudeSonnet, false),
        Ok("ClaudeSonnet".into())
    );
    assert_eq!(
        gpt.state(),
        CircuitState::Open,
        "untouched by the other model"
    );
}

#[circuit_breaker(key = model, threshold = 1, cooldown = "60s")]
fn ask(model: &str, fail: bool) -> Result<String, ProviderError> {
    answer(model, fail)
}

#[test]
fn a_str_key_gets_a_breaker_per_value_with_the_attributes_settings() {
    assert_eq!(ask("ask-a", true), Err(ProviderError::Down));
    let name = format!("{}::ask[ask-a]", module_path!());
    assert_eq!(
        ask("ask-a", false),
        Err(ProviderError::Open { breaker: name })
    );
    assert_eq!(ask("ask-b", false), Ok("\"ask-b\"".into()), "another key");

    let registry: &KeyedRegistry<String> = ask_breakers().registry().expect("created");
    let a = registry.get("ask-a").unwrap();
    assert_eq!(
        (a.config().threshold, a.config().cooldown),
        (1, Duration::from_secs(60))
    );
    assert_eq!(registry.get("ask-b").unwrap().state(), CircuitState::Closed);
}

#[circuit_breaker(key = tenant, threshold = 1)]
fn for_tenant(tenant: String, fail: bool) -> Result<String, ProviderError> {
    answer(&tenant, fail)
}

#[test]
fn a_flood_of_distinct_string_keys_stays_bounded() {
    // Failing calls: every breaker holds evidence of an outage, the worst case for eviction.
    for i in 0..KEYED_CALL_CAPACITY * 5 {
        let _ = for_tenant(format!("tenant-{i}"), true);
    }
    let registry: &KeyedRegistry<String> = for_tenant_breakers().registry().unwrap();
    assert!(
        registry.len() <= 2 * KEYED_CALL_CAPACITY,
        "{} breakers for a capacity of {KEYED_CALL_CAPACITY}",
        registry.len()
    );
    assert!(
        registry.len() >= KEYED_CALL_CAPACITY,
        "the registry is in use"
    );
}

#[circuit_breaker(key = model, threshold = 1)]
async fn stream(model: Model, hang: bool) -> Result<String, ProviderError> {
    if hang {
        futures::future::pending::<()>().await;
    }
    answer(model, false)
}

#[test]
fn an_async_keyed_call_dropped_mid_await_counts_as_neither() {
    {
        let mut call = pin!(stream(Model::ClaudeSonnet, true));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            call.as_mut().poll(&mut cx).is_pending(),
            "the call is in flight"
        );
    }
    let claude = stream_breakers().get(&Model::ClaudeSonnet).unwrap();
    let metrics = claude.metrics();
    assert_eq!((metrics.failed, metrics.succeeded), (0, 0));
    assert_eq!(claude.state(), CircuitState::Closed);
    assert_eq!(
        block_on(stream(Model::ClaudeSonnet, false)),
        Ok("ClaudeSonnet".into())
    );
    assert_eq!(claude.metrics().succeeded, 1);
}

#[circuit_breaker(threshold = 5)]
trait Provider {
    #[breaker(key = model)]
    async fn complete(&self, model: Model, prompt: &str) -> Result<String, ProviderError>;

    #[breaker(key = tenant, threshold = 1, cooldown = "5s")]
    fn quota(&self, tenant: &str) -> Result<u32, ProviderError>;
}

struct Flaky {
    down: bool,
}

impl Provider for Flaky {
    async fn complete(&self, model: Model, prompt: &str) -> Result<String, ProviderError> {
        answer((model, prompt), self.down)
    }

    fn quota(&self, _tenant: &str) -> Result<u32, ProviderError> {
        if self.down {
            Err(ProviderError::Down)
        } else {
            Ok(3)
        }
    }
}

#[test]
fn a_trait_method_keyed_by_a_derived_enum_opens_and_recovers_per_model() {
    let clock = ManualClock::new();
    let mut provider = ProviderBreaker::with_clock(Flaky { down: true }, clock.clone());
    for _ in 0..2 {
        assert_eq!(
            block_on(provider.complete(Model::Gpt4o, "hi")),
            Err(ProviderError::Down)
        );
    }
    assert!(matches!(
        block_on(provider.complete(Model::Gpt4o, "hi")),
        Err(ProviderError::Open { .. })
    ));
    provider.inner_mut().down = false;
    assert!(
        block_on(provider.complete(Model::ClaudeSonnet, "hi")).is_ok(),
        "its own breaker"
    );

    clock.advance(Duration::from_secs(10));
    assert!(
        block_on(provider.complete(Model::Gpt4o, "hi")).is_ok(),
        "the probe"
    );
    let gpt = provider.complete_breakers().get(&Model::Gpt4o).unwrap();
    assert_eq!(gpt.state(), CircuitState::Closed);
}

#[test]
fn each_wrapper_owns_its_keyed_breakers() {
    let clock = ManualClock::new();
    let first = ProviderBreaker::with_clock(Flaky { down: true }, clock.clone());
    let second = ProviderBreaker::with_clock(Flaky { down: false }, clock.clone());
    assert_eq!(first.quota("acme"), Err(ProviderError::Down));
    assert!(
        matches!(first.quota("acme"), Err(ProviderError::Open { breaker }) if breaker == "Provider::quota[acme]")
    );
    assert_eq!(
        second.quota("acme"),
        Ok(3),
        "another wrapper, other breakers"
    );

    clock.advance(Duration::from_secs(5));
    let registry: &KeyedRegistry<String> = first.quota_breakers().registry().unwrap();
    let acme = registry.get("acme").unwrap();
    assert!(acme.acquire().expect("the cooldown has passed").is_probe());
}
