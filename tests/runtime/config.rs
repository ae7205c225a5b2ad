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
    assert!(
        err.contains("`failure_threshold` = 3: unknown field"),
        "{err}"
    );
    assert!(err.contains("expected one of `threshold`"), "{err}");
}

#[test]
fn settings_by_key_name_the_key_in_their_errors() {
    use breaker::BreakerSettings;
    let err =
        toml::from_str::<BreakerSettings>("[openai]\nthreshold = 1\n[anthropic]\nthreshold = -1\n")
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("under `anthropic`: `threshold` = -1: must be at least 1"),
        "{err}"
    );
    let err = serde_json::from_str::<BreakerSettings>(r#"{"openai": {"cooldown": 30}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("under `openai`: `cooldown` = 30"), "{err}");
    let err = serde_json::from_str::<BreakerSettings>(r#"{"openai": {}, "openai": {}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`openai` is given twice"), "{err}");
    let err = serde_json::from_str::<BreakerSettings>(r#"{"openai": 3}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("integer `3`, expected the settings under `openai`"),
        "{err}"
    );
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

/// A bad value for one setting: the context it needs (other settings, as `(key, value)`
/// pairs in TOML syntax), the value in TOML and in JSON, and how the error shows it.
struct BadValue {
    field: &'static str,
    context: &'static [(&'static str, &'static str)],
    toml: &'static str,
    json: &'static str,
    shown: &'static str,
}

const fn bad(field: &'static str, toml: &'static str, shown: &'static str) -> BadValue {
    BadValue {
        field,
        context: &[],
        toml,
        json: toml,
        shown,
    }
}

const WINDOW: &[(&str, &str)] = &[("window_size", "10")];
const TIME_WINDOW: &[(&str, &str)] = &[("window", "\"1m\"")];
const SLOW: &[(&str, &str)] = &[("window_size", "10"), ("slow_call_duration", "\"2s\"")];
const EXPONENTIAL: &[(&str, &str)] = &[("backoff", "\"exponential\"")];

/// Bad values of every kind, for every key.
fn bad_values() -> Vec<BadValue> {
    let mut cases = Vec::new();
    // Whole numbers.
    for (field, context) in [
        ("threshold", &[][..]),
        ("half_open_max", &[][..]),
        ("success_threshold", &[][..]),
        ("window_size", &[][..]),
        ("window_buckets", TIME_WINDOW),
        ("minimum_calls", WINDOW),
    ] {
        for (value, shown) in [
            ("-1", "-1"),
            ("0", "0"),
            ("4294967296", "4294967296"),
            ("3.5", "3.5"),
            ("1e300", "1e300"),
            ("\"3\"", "\"3\""),
            ("true", "true"),
            ("\"30s\"", "\"30s\""),
        ] {
            cases.push(BadValue {
                context,
                ..bad(field, value, shown)
            });
        }
        cases.push(BadValue {
            context,
            json: "[1,2]",
            ..bad(field, "[1, 2]", "[1, 2]")
        });
        cases.push(BadValue {
            context,
            json: r#"{"value":3}"#,
            ..bad(field, "{ value = 3 }", r#"{"value": 3}"#)
        });
    }
    cases.push(bad("threshold", "4194301", "4194301"));
    cases.push(bad("half_open_max", "1001", "1001"));
    cases.push(bad("window_size", "100001", "100001"));
    cases.push(BadValue {
        context: TIME_WINDOW,
        ..bad("window_buckets", "1001", "1001")
    });
    cases.push(BadValue {
        context: WINDOW,
        ..bad("minimum_calls", "11", "11")
    });
    // Percentages.
    for (field, context) in [("failure_rate", WINDOW), ("slow_call_rate", SLOW)] {
        for (value, shown) in [
            ("-1", "-1"),
            ("0", "0"),
            ("101", "101"),
            ("4294967296", "4294967296"),
            ("50.5", "50.5"),
            ("\"50\"", "\"50\""),
            ("\"50%\"", "\"50%\""),
            ("false", "false"),
            ("[50]", "[50]"),
        ] {
            cases.push(BadValue {
                context,
                ..bad(field, value, shown)
            });
        }
    }
    // The jitter's seed: any whole number from 0.
    for (value, shown) in [
        ("-1", "-1"),
        ("1.5", "1.5"),
        ("\"7\"", "\"7\""),
        ("true", "true"),
        ("[7]", "[7]"),
    ] {
        cases.push(bad("jitter_seed", value, shown));
    }
    // The multiplier: a number of at least 1.
    for (value, shown) in [
        ("0.5", "0.5"),
        ("-2", "-2"),
        ("0", "0"),
        ("\"2\"", "\"2\""),
        ("true", "true"),
        ("[2]", "[2]"),
    ] {
        cases.push(BadValue {
            context: EXPONENTIAL,
            ..bad("backoff_multiplier", value, shown)
        });
    }
    cases.push(bad("backoff_multiplier", "2.0", "2.0")); // without an exponential backoff
    // Durations.
    for (field, context) in [
        ("cooldown", &[][..]),
        ("half_open_timeout", &[][..]),
        ("max_cooldown", EXPONENTIAL),
        ("window", &[][..]),
        ("slow_call_duration", WINDOW),
    ] {
        for (value, shown) in [
            ("30", "30"),
            ("-1", "-1"),
            ("1.5", "1.5"),
            ("true", "true"),
            ("\"\"", "\"\""),
            ("\"30 parsecs\"", "\"30 parsecs\""),
            ("\"-1s\"", "\"-1s\""),
            ("\"1000 years\"", "\"1000 years\""),
            ("\"30\"", "\"30\""),
            ("[\"30s\"]", "[\"30s\"]"),
        ] {
            cases.push(BadValue {
                context,
                ..bad(field, value, shown)
            });
        }
        cases.push(BadValue {
            context,
            json: r#"{"secs":30}"#,
            ..bad(field, "{ secs = 30 }", r#"{"secs": 30}"#)
        });
    }
    for (field, context) in [
        ("half_open_timeout", &[][..]),
        ("window", &[][..]),
        ("slow_call_duration", WINDOW),
        ("max_cooldown", EXPONENTIAL),
    ] {
        cases.push(BadValue {
            context,
            ..bad(field, "\"0s\"", "\"0s\"")
        });
    }
    cases.push(BadValue {
        context: WINDOW,
        ..bad("slow_call_duration", "\"2h\"", "\"2h\"")
    });
    cases.push(bad("max_cooldown", "\"5m\"", "\"5m\"")); // without an exponential backoff
    // Names.
    for (field, value, shown) in [
        ("backoff", "\"exp\"", "\"exp\""),
        ("backoff", "\"Exponential\"", "\"Exponential\""),
        ("backoff", "\"\"", "\"\""),
        ("backoff", "2", "2"),
        ("backoff", "true", "true"),
        ("backoff", "[\"fixed\"]", "[\"fixed\"]"),
        ("jitter", "\"half\"", "\"half\""),
        ("jitter", "1", "1"),
        ("jitter", "false", "false"),
        ("ignored_errors", "\"maybe\"", "\"maybe\""),
        ("ignored_errors", "true", "true"),
        ("ignored_errors", "0", "0"),
    ] {
        cases.push(bad(field, value, shown));
    }
    // Unknown keys name themselves and their value.
    cases.push(bad("treshold", "3", "3"));
    cases.push(bad("colldown", "\"1s\"", "\"1s\""));
    cases.push(bad("failure_threshold", "[1]", "[1]"));
    cases
}

/// `(key, value)` pairs as a TOML document and as a JSON object.
fn documents(pairs: &[(&str, &str)], json_last: &str) -> (String, String) {
    let toml: String = pairs.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    let mut members: Vec<String> = pairs[..pairs.len() - 1]
        .iter()
        .map(|(k, v)| format!("{k:?}: {v}"))
        .collect();
    members.push(format!("{:?}: {json_last}", pairs[pairs.len() - 1].0));
    (toml, format!("{{{}}}", members.join(", ")))
}

#[test]
fn every_bad_value_names_its_field_and_the_value_in_toml_and_json() {
    let cases = bad_values();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &cases {
        let mut pairs = case.context.to_vec();
        pairs.push((case.field, case.toml));
        let (toml_text, json_text) = documents(&pairs, case.json);
        let expected = format!("`{}` = {}", case.field, case.shown);
        let errors = [
            (
                "TOML",
                &toml_text,
                toml::from_str::<BreakerConfig>(&toml_text).map_err(|e| e.to_string()),
            ),
            (
                "JSON",
                &json_text,
                serde_json::from_str::<BreakerConfig>(&json_text).map_err(|e| e.to_string()),
            ),
        ];
        for (format, text, result) in errors {
            checked += 1;
            match result {
                Ok(config) => failures.push(format!("{format} {text:?}: accepted as {config:?}")),
                Err(err) if !err.contains(&expected) => {
                    failures.push(format!("{format} {text:?}: {err}"))
                }
                Err(_) => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} bad values without `field` = value:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 300, "{checked}");
}
