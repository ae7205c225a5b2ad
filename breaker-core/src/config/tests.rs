use super::*;
use crate::policy::{FailureRate, Window};

fn from_toml(text: &str) -> Result<BreakerConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

fn from_json(text: &str) -> Result<BreakerConfig, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[test]
fn defaults_match_the_reference_designs() {
    let config = BreakerConfig::default();
    assert_eq!(config.threshold, 5);
    assert_eq!(config.cooldown, Duration::from_secs(30));
    assert_eq!(config.half_open_max, 1);
    assert_eq!(config.half_open_timeout, Duration::from_secs(60));
    assert_eq!(config, BreakerConfig::new());
    assert!(config.validate().is_ok());
}

#[test]
fn empty_document_gives_the_defaults() {
    assert_eq!(from_toml("").unwrap(), BreakerConfig::default());
    assert_eq!(from_json("{}").unwrap(), BreakerConfig::default());
}

#[test]
fn durations_are_humantime_strings() {
    let config = from_toml(
        r#"
        threshold = 3
        cooldown = "1m 30s"
        half_open_max = 2
        half_open_timeout = "250ms"
        "#,
    )
    .unwrap();
    assert_eq!(
        config,
        BreakerConfig {
            threshold: 3,
            cooldown: Duration::from_secs(90),
            half_open_max: 2,
            half_open_timeout: Duration::from_millis(250),
            ..BreakerConfig::default()
        }
    );
}

#[test]
fn round_trips_through_toml_and_json() {
    let config = BreakerConfig::default()
        .with_threshold(7)
        .with_cooldown(Duration::from_millis(1500))
        .with_half_open_max(3)
        .with_half_open_timeout(Duration::from_secs(120));
    let text = toml::to_string(&config).unwrap();
    assert!(text.contains("cooldown = \"1s 500ms\""), "{text}");
    assert!(text.contains("half_open_timeout = \"2m\""), "{text}");
    assert_eq!(from_toml(&text).unwrap(), config);
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(
        json,
        r#"{"threshold":7,"cooldown":"1s 500ms","half_open_max":3,"half_open_timeout":"2m"}"#
    );
    assert_eq!(from_json(&json).unwrap(), config);
}

#[test]
fn zero_threshold_is_an_error_naming_field_and_value() {
    let err = from_toml("threshold = 0").unwrap_err();
    assert!(err.contains("`threshold` = 0"), "{err}");
    assert!(err.contains("at least 1"), "{err}");
    let err = from_json(r#"{"threshold": 0}"#).unwrap_err();
    assert!(err.contains("`threshold` = 0"), "{err}");
}

#[test]
fn a_huge_threshold_is_an_error() {
    let err = from_toml("threshold = 20000000").unwrap_err();
    assert!(
        err.contains("`threshold` = 20000000: must be at most 4194300"),
        "{err}"
    );
    assert!(
        BreakerConfig::default()
            .with_threshold(BreakerConfig::MAX_THRESHOLD)
            .validate()
            .is_ok()
    );
}

#[test]
fn zero_half_open_max_is_an_error_naming_field_and_value() {
    let err = from_toml("half_open_max = 0").unwrap_err();
    assert!(err.contains("`half_open_max` = 0"), "{err}");
}

#[test]
fn zero_half_open_timeout_is_an_error() {
    let err = from_toml("half_open_timeout = \"0s\"").unwrap_err();
    assert!(err.contains("`half_open_timeout` = \"0s\""), "{err}");
}

#[test]
fn malformed_duration_is_an_error_naming_field_and_value() {
    let err = from_toml(r#"cooldown = "30 parsecs""#).unwrap_err();
    assert!(err.contains("`cooldown` = \"30 parsecs\""), "{err}");
    assert!(err.contains("not a duration"), "{err}");
    let err = from_json(r#"{"half_open_timeout": "soon"}"#).unwrap_err();
    assert!(err.contains("`half_open_timeout` = \"soon\""), "{err}");
}

#[test]
fn a_number_is_not_a_duration() {
    let err = from_json(r#"{"cooldown": 30}"#).unwrap_err();
    assert!(
        err.contains("`cooldown` = 30: must be a duration written as a string, such as \"30s\""),
        "{err}"
    );
    assert!(err.contains("not a whole number"), "{err}");
}

#[test]
fn unknown_field_is_an_error_naming_it() {
    let err = from_toml("treshold = 3").unwrap_err();
    assert!(
        err.contains("`treshold` = 3: unknown field, expected one of `threshold`, `cooldown`"),
        "{err}"
    );
    let err = from_json(r#"{"threshold": 3, "colldown": "1s"}"#).unwrap_err();
    assert!(err.contains("`colldown` = \"1s\": unknown field"), "{err}");
}

#[test]
fn validate_reports_the_first_problem() {
    let config = BreakerConfig::default()
        .with_threshold(0)
        .with_half_open_max(0);
    let err = config.validate().unwrap_err();
    assert_eq!(err.field(), "threshold");
    assert_eq!(err.value(), "0");
    assert_eq!(
        err.to_string(),
        "invalid circuit breaker config: `threshold` = 0: must be at least 1"
    );
    let err = BreakerConfig::default()
        .with_half_open_max(0)
        .validate()
        .unwrap_err();
    assert_eq!(err.field(), "half_open_max");
    let err = BreakerConfig::default()
        .with_half_open_timeout(Duration::ZERO)
        .validate()
        .unwrap_err();
    assert_eq!(err.field(), "half_open_timeout");
}

#[test]
fn backoff_and_jitter_are_read_flat() {
    let config = from_toml(
        r#"
        cooldown = "10s"
        backoff = "exponential"
        backoff_multiplier = 1.5
        max_cooldown = "5m"
        jitter = "equal"
        jitter_seed = 7
        "#,
    )
    .unwrap();
    assert_eq!(
        config.backoff,
        Backoff::Exponential {
            multiplier: 1.5,
            max: Duration::from_secs(300)
        }
    );
    assert_eq!(config.jitter, Jitter::Equal);
    assert_eq!(config.jitter_seed, Some(7));
    let again = from_toml(&toml::to_string(&config).unwrap()).unwrap();
    assert_eq!(again, config);

    let defaults = from_toml("backoff = \"exponential\"").unwrap();
    assert_eq!(defaults.backoff, Backoff::exponential());
}

#[test]
fn bad_backoff_settings_name_the_field_and_the_value() {
    let err = from_toml("backoff = \"exponential\"\nbackoff_multiplier = 0.5").unwrap_err();
    assert!(
        err.contains("`backoff_multiplier` = 0.5") && err.contains("at least 1"),
        "{err}"
    );
    let err = from_toml("cooldown = \"1m\"\nbackoff = \"exponential\"\nmax_cooldown = \"30s\"")
        .unwrap_err();
    assert!(
        err.contains("`max_cooldown` = \"30s\"") && err.contains("at least the cooldown"),
        "{err}"
    );
    let err = from_toml("max_cooldown = \"5m\"").unwrap_err();
    assert!(
        err.contains("`max_cooldown`") && err.contains("only applies to"),
        "{err}"
    );
    let err = from_toml("backoff = \"linear\"").unwrap_err();
    assert!(
        err.contains("linear") && err.contains("exponential"),
        "{err}"
    );
    let err = from_toml("jitter = \"half\"").unwrap_err();
    assert!(err.contains("half") && err.contains("equal"), "{err}");
}

#[test]
fn policy_settings_name_the_field_and_the_value() {
    let cases = [
        ("window_size = 0", "`window_size` = 0"),
        (
            "window_size = 10\nfailure_rate = 150",
            "`failure_rate` = 150",
        ),
        (
            "window_size = 10\nminimum_calls = 11",
            "`minimum_calls` = 11",
        ),
        ("window_size = 10\nthreshold = 3", "`threshold` = 3"),
        ("failure_rate = 40", "`failure_rate` = 40"),
        ("window_size = 5\nwindow = \"1m\"", "`window` = \"1m\""),
        (
            "window = \"1m\"\nwindow_buckets = 0",
            "`window_buckets` = 0",
        ),
        (
            "window_size = 10\nslow_call_rate = 50",
            "`slow_call_rate` = 50",
        ),
        (
            "window_size = 10\nslow_call_duration = \"2h\"",
            "`slow_call_duration` = \"2h\"",
        ),
        ("success_threshold = 0", "`success_threshold` = 0"),
        ("ignored_errors = \"maybe\"", "maybe"),
    ];
    for (text, expected) in cases {
        let err = from_toml(text).unwrap_err();
        assert!(err.contains(expected), "{text:?}: {err}");
    }
}

#[test]
fn a_zero_cooldown_is_allowed_and_durations_are_capped_at_a_year() {
    let config = from_toml("cooldown = \"0s\"").unwrap();
    assert_eq!(config.cooldown, Duration::ZERO);
    let config = from_toml("cooldown = \"1year\"\nhalf_open_timeout = \"365d\"").unwrap();
    assert_eq!(config.cooldown, BreakerConfig::MAX_DURATION);
    let err = from_toml("cooldown = \"1year 1s\"").unwrap_err();
    assert!(
        err.contains("`cooldown` = \"1year 1s\": must be at most a year (\"1year\")"),
        "{err}"
    );
    // The same limits for a config built in code.
    let forever = Duration::from_secs(u64::MAX);
    for (config, field) in [
        (BreakerConfig::default().with_cooldown(forever), "cooldown"),
        (
            BreakerConfig::default().with_half_open_timeout(forever),
            "half_open_timeout",
        ),
        (
            BreakerConfig::default().with_backoff(Backoff::Exponential {
                multiplier: 2.0,
                max: forever,
            }),
            "max_cooldown",
        ),
        (
            BreakerConfig::default().with_policy(TripPolicy::FailureRate(FailureRate::new(
                Window::Time {
                    length: forever,
                    buckets: 10,
                },
                50,
            ))),
            "window",
        ),
    ] {
        let err = config.validate().unwrap_err();
        assert_eq!(err.field(), field);
        assert!(err.to_string().contains("must be at most a year"), "{err}");
    }
    assert!(
        BreakerConfig::default()
            .with_cooldown(Duration::ZERO)
            .validate()
            .is_ok()
    );
}

#[test]
fn an_exponential_backoff_needs_a_cap_of_more_than_zero() {
    let config = BreakerConfig::default()
        .with_cooldown(Duration::ZERO)
        .with_backoff(Backoff::Exponential {
            multiplier: 2.0,
            max: Duration::ZERO,
        });
    let err = config.validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid circuit breaker config: `max_cooldown` = \"0s\": must be more than zero"
    );
}

#[test]
fn null_is_as_if_the_field_were_absent() {
    let config = from_json(r#"{"cooldown": null, "threshold": null, "backoff": null}"#).unwrap();
    assert_eq!(config, BreakerConfig::default());
}

#[test]
fn a_field_given_twice_is_an_error() {
    let err = from_json(r#"{"threshold": 3, "threshold": 4}"#).unwrap_err();
    assert!(err.contains("`threshold` = 4: is given twice"), "{err}");
}

/// `1000000` as the docs write it: `1,000,000`.
fn with_commas(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[test]
fn the_docs_list_every_setting_of_the_table_with_its_limit() {
    let docs = include_str!("mod.rs");
    for setting in breaker_settings::SETTINGS {
        let row = docs
            .lines()
            .find(|line| line.starts_with(&format!("/// | `{}` |", setting.key)))
            .unwrap_or_else(|| panic!("`{}` is not in the docs' table", setting.key));
        if let breaker_settings::Kind::Count { max, .. } = setting.kind {
            if max != u32::MAX {
                assert!(row.contains(&with_commas(max)), "{row}");
            }
        }
    }
}
