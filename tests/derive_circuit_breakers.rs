//! `#[derive(CircuitBreakers)]`: one breaker per variant, independent, configured by the
//! attributes and overridden by settings read from a file, driven on a manual clock.

use std::time::Duration;

use breaker::registry::BreakerSettings;
use breaker::{CircuitBreakers, CircuitState, ManualClock};

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
