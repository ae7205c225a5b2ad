//! `#[derive(CircuitBreakers)]`: one breaker per variant, independent, configured by the
//! attributes and overridden by settings read from a file, driven on a manual clock.

use std::time::Duration;

use breaker::BreakerSettings;
use breaker::{BreakerConfig, CircuitBreakers, CircuitState, ManualClock};

#[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
#[breaker(threshold = 3, cooldown = "30s", rename_all = "kebab-case")]
enum Model {
    #[breaker(threshold = 2, name = "gpt-4o")]
    Gpt4o,
    #[breaker(cooldown = "10s")]
    ClaudeSonnet,
    Llama,
}

fn fail(breakers: &ModelBreakers, model: Model, times: usize) {
    for _ in 0..times {
        breakers.get(model).acquire().unwrap().failure();
    }
}

#[test]
fn each_variant_has_its_own_breaker_with_its_own_settings() {
    let breakers = ModelBreakers::new();
    let names: Vec<&str> = breakers.iter().map(|(_, b)| b.name().as_str()).collect();
    assert_eq!(names, ["gpt-4o", "claude-sonnet", "llama"]);
    let models: Vec<Model> = breakers.iter().map(|(model, _)| model).collect();
    assert_eq!(models, [Model::Gpt4o, Model::ClaudeSonnet, Model::Llama]);

    let gpt = breakers.get(Model::Gpt4o).config();
    assert_eq!((gpt.threshold, gpt.cooldown), (2, Duration::from_secs(30)));
    let claude = breakers.get(Model::ClaudeSonnet).config();
    assert_eq!(
        (claude.threshold, claude.cooldown),
        (3, Duration::from_secs(10))
    );
    // `get` takes the key or a reference to it.
    #[allow(clippy::needless_borrows_for_generic_args)]
    let llama = breakers.get(&Model::Llama).config();
    assert_eq!(
        (llama.threshold, llama.cooldown),
        (3, Duration::from_secs(30))
    );
}

#[test]
fn breakers_of_different_models_never_affect_each_other() {
    let clock = ManualClock::new();
    let breakers = ModelBreakers::with_clock(clock.clone());
    fail(&breakers, Model::Gpt4o, 2);
    assert_eq!(breakers.get(Model::Gpt4o).state(), CircuitState::Open);
    assert_eq!(
        breakers.get(Model::ClaudeSonnet).state(),
        CircuitState::Closed
    );
    assert_eq!(breakers.get(Model::Llama).state(), CircuitState::Closed);
    assert!(breakers.get(Model::ClaudeSonnet).acquire().is_ok());

    // Through HalfOpen back to Closed on the manual clock.
    clock.advance(Duration::from_secs(30));
    let probe = breakers
        .get(Model::Gpt4o)
        .acquire()
        .expect("the cooldown has passed");
    assert!(probe.is_probe());
    assert!(
        breakers.get(Model::Gpt4o).acquire().is_err(),
        "one probe at a time"
    );
    probe.success();
    assert_eq!(breakers.get(Model::Gpt4o).state(), CircuitState::Closed);
}

#[test]
fn settings_from_a_file_override_the_attributes_by_name() {
    let settings: BreakerSettings = toml::from_str(
        r#"
        [gpt-4o]
        threshold = 7
        cooldown = "2m"
        "#,
    )
    .unwrap();
    let breakers = ModelBreakers::with_config_and_clock(&settings, ManualClock::new());
    let gpt = breakers.get(Model::Gpt4o).config();
    assert_eq!((gpt.threshold, gpt.cooldown), (7, Duration::from_secs(120)));
    // Models the file does not name keep the attributes' settings.
    assert_eq!(breakers.get(Model::Llama).config().threshold, 3);
    assert_eq!(
        ModelBreakers::with_config(&settings)
            .get(Model::Gpt4o)
            .config()
            .threshold,
        7
    );
}

#[test]
fn the_breakers_are_shared_by_threads_without_a_lock() {
    let breakers = ModelBreakers::with_clock(ManualClock::new());
    std::thread::scope(|scope| {
        for model in [Model::Gpt4o, Model::ClaudeSonnet, Model::Llama] {
            let breakers = &breakers;
            scope.spawn(move || {
                for _ in 0..1_000 {
                    breakers.get(model).acquire().unwrap().success();
                }
            });
        }
    });
    for (_, breaker) in breakers.iter() {
        assert_eq!(breaker.metrics().succeeded, 1_000);
    }
    let debug = format!("{breakers:?}");
    assert!(debug.contains("\"gpt-4o\": Closed"), "{debug}");
}

/// The enum's window is every variant's; a variant changes the rate and the minimum.
#[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
#[breaker(window_size = 10, minimum_calls = 5, cooldown = "10s")]
enum Backend {
    Primary,
    #[breaker(failure_rate = 80, minimum_calls = 10)]
    Replica,
}

/// Drives `outcomes` (true: a success) through `breaker`, checking that it opens on the
/// last call and not before.
fn opens_on_the_last(breaker: &breaker::CircuitBreaker, outcomes: &[bool]) {
    for (call, &success) in outcomes.iter().enumerate() {
        breaker.acquire().unwrap().report(success);
        let expected = if call + 1 < outcomes.len() {
            CircuitState::Closed
        } else {
            CircuitState::Open
        };
        assert_eq!(breaker.state(), expected, "after call {}", call + 1);
    }
}

#[test]
fn a_count_window_from_the_enum_trips_each_variant_at_its_own_rate() {
    let breakers = BackendBreakers::with_clock(ManualClock::new());
    let file = |toml: &str| toml::from_str::<breaker::BreakerConfig>(toml).unwrap();
    assert_eq!(
        breakers.get(Backend::Primary).config(),
        file("window_size = 10\nminimum_calls = 5\ncooldown = \"10s\"")
    );
    assert_eq!(
        breakers.get(Backend::Replica).config(),
        file("window_size = 10\nminimum_calls = 10\nfailure_rate = 80\ncooldown = \"10s\"")
    );
    // S F S F S F: 50% of 6.
    opens_on_the_last(
        breakers.get(Backend::Primary),
        &[true, false, true, false, true, false],
    );
    // 8 failures, then 2 successes: 80% of 10, the minimum.
    let mut outcomes = vec![false; 8];
    outcomes.extend([true, true]);
    opens_on_the_last(breakers.get(Backend::Replica), &outcomes);
}

#[derive(CircuitBreakers, Clone, Copy, PartialEq, Eq, Debug)]
#[breaker(window = "10s", window_buckets = 5, minimum_calls = 4)]
enum Region {
    EuWest,
    #[breaker(failure_rate = 75, success_threshold = 2)]
    UsEast,
}

#[test]
fn a_time_window_forgets_old_calls_on_the_manual_clock() {
    let clock = ManualClock::new();
    let breakers = RegionBreakers::with_clock(clock.clone());
    let eu = breakers.get(Region::EuWest);
    eu.acquire().unwrap().failure();
    eu.acquire().unwrap().failure();
    // The two failures leave the 10-second window; S S F F is then 50% of 4 (had they
    // stayed, F F S S would have opened the circuit on the fourth call).
    clock.advance(Duration::from_secs(11));
    opens_on_the_last(eu, &[true, true, false, false]);
}

#[test]
fn a_variant_trips_at_its_own_rate_and_closes_after_its_success_threshold() {
    let clock = ManualClock::new();
    let breakers = RegionBreakers::with_clock(clock.clone());
    let us = breakers.get(Region::UsEast);
    opens_on_the_last(us, &[false, false, true, false]); // 75% of 4
    clock.advance(Duration::from_secs(30));
    us.acquire().expect("the cooldown has passed").success();
    assert_eq!(us.state(), CircuitState::HalfOpen, "one success of two");
    us.acquire().expect("the next probe").success();
    assert_eq!(us.state(), CircuitState::Closed);
}

#[test]
fn invalid_settings_built_in_code_are_refused_naming_key_and_field() {
    let mut settings = BreakerSettings::new();
    settings.insert("gpt-4o", BreakerConfig::default().with_success_threshold(0));
    let err = ModelBreakers::try_with_config(&settings).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid circuit breaker config under `gpt-4o`: `success_threshold` = 0: must be at least 1"
    );
    let panic = std::panic::catch_unwind(|| ModelBreakers::with_config(&settings)).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("under `gpt-4o`: `success_threshold` = 0"),
        "{message}"
    );
}
