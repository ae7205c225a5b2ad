//! `BreakerConfig` read from configuration files: humantime durations, validation errors
//! that name the field and the value, and breakers built from it.

use std::collections::BTreeMap;
use std::time::Duration;

use breaker::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Settings {
    models: BTreeMap<String, BreakerConfig>,
}

const SETTINGS: &str = r#"
[models.gpt-4o]
threshold = 2
cooldown = "1m 30s"

[models.claude-sonnet]
half_open_max = 3
half_open_timeout = "2m"

[models.llama]
"#;

#[test]
fn a_breaker_per_model_from_a_toml_file() {
    let settings: Settings = toml::from_str(SETTINGS).unwrap();
    let clock = ManualClock::new();
    let breakers: BTreeMap<&str, CircuitBreaker> = settings
        .models
        .iter()
        .map(|(model, config)| {
            let name = model.clone();
            (
                model.as_str(),
                CircuitBreaker::with_clock(name, config.clone(), clock.clone()),
            )
        })
        .collect();

    let gpt = &breakers["gpt-4o"];
    assert_eq!(gpt.config().threshold, 2);
    assert_eq!(gpt.config().cooldown, Duration::from_secs(90));
    gpt.acquire().unwrap().failure();
    gpt.acquire().unwrap().failure();
    assert_eq!(gpt.state(), CircuitState::Open);
    let open = gpt.acquire().unwrap_err();
    assert_eq!(open.retry_after(), Some(Duration::from_secs(90)));
    assert!(open.to_string().contains("`gpt-4o`"));

    let claude = breakers["claude-sonnet"].config();
    assert_eq!((claude.threshold, claude.half_open_max), (5, 3));
    assert_eq!(claude.half_open_timeout, Duration::from_secs(120));
    assert_eq!(breakers["llama"].config(), BreakerConfig::default());
    assert_eq!(breakers["llama"].state(), CircuitState::Closed);
}

fn error(text: &str) -> String {
    toml::from_str::<Settings>(text).unwrap_err().to_string()
}

#[test]
fn a_zero_threshold_is_rejected_naming_field_and_value() {
    let err = error("[models.gpt-4o]\nthreshold = 0\n");
    assert!(err.contains("`threshold` = 0"), "{err}");
    assert!(err.contains("must be at least 1"), "{err}");
}

#[test]
fn a_zero_half_open_max_is_rejected_naming_field_and_value() {
    let err = error("[models.gpt-4o]\nhalf_open_max = 0\n");
    assert!(err.contains("`half_open_max` = 0"), "{err}");
}

#[test]
fn a_malformed_duration_is_rejected_naming_field_and_value() {
    let err = error("[models.gpt-4o]\ncooldown = \"thirty seconds\"\n");
    assert!(err.contains("`cooldown` = \"thirty seconds\""), "{err}");
    let err = error("[models.gpt-4o]\nhalf_open_timeout = \"5 fortnights\"\n");
    assert!(
        err.contains("`half_open_timeout` = \"5 fortnights\""),
        "{err}"
    );
}

#[test]
fn an_unknown_field_is_rejected_naming_it() {
    let err = error("[models.gpt-4o]\nfailure_threshold = 3\n");
    assert!(err.contains("unknown field `failure_threshold`"), "{err}");
    assert!(err.contains("expected one of"), "{err}");
}

#[test]
fn json_works_the_same() {
    let config: BreakerConfig =
        serde_json::from_str(r#"{"threshold": 4, "cooldown": "250ms"}"#).unwrap();
    assert_eq!(config.threshold, 4);
    assert_eq!(config.cooldown, Duration::from_millis(250));
    let err = serde_json::from_str::<BreakerConfig>(r#"{"cooldown": "-1s"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`cooldown` = \"-1s\""), "{err}");
}

#[test]
fn an_invalid_config_in_code_is_refused_by_the_breaker() {
    let err =
        CircuitBreaker::try_new("m", BreakerConfig::default().with_half_open_max(0)).unwrap_err();
    assert_eq!(err.field(), "half_open_max");
    assert_eq!(err.value(), "0");
    assert!(err.to_string().contains("`half_open_max` = 0"));
}
