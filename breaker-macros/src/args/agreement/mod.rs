//! The macros and the runtime accept and refuse the same settings: cases generated from the
//! shared table (each limit, just inside and just outside, a value of the wrong type, and a
//! pair that breaks each rule between settings), with the verdict the table gives, run
//! through the attribute's arguments, a TOML file, and a `BreakerConfig` built in code.

use std::time::Duration;

use breaker::{Backoff, Jitter};
use breaker::{
    BreakerConfig, CredentialErrors, FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window,
};
use breaker_settings::SETTINGS;
use quote::quote;

use super::{BreakerArgs, OTHER_KEYS, Place};
use cases::cases;

mod cases;

/// Whether `message` names `field` (`` `field` `` or `` `field = ``).
fn names(message: &str, field: &str) -> bool {
    message.contains(&format!("`{field}`")) || message.contains(&format!("`{field} "))
}

#[test]
fn the_macros_and_the_runtime_accept_and_refuse_the_same_settings() {
    let cases = cases();
    let mut failures = Vec::new();
    let (mut refused, mut in_code) = (0, 0);
    for case in &cases {
        let (expected, layout) = case.verdict();
        assert!(
            expected.len() <= 1,
            "{case:?} breaks more than one rule: {expected:?}"
        );
        let expected = expected.first().copied();
        refused += usize::from(expected.is_some());

        let mut errors = Vec::new();
        let args = BreakerArgs::parse(case.tokens(), Place::Function, &mut errors);
        args.check_combination(&args, &mut errors);
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let macro_agrees = match expected {
            None => messages.is_empty(),
            Some(field) => messages.len() == 1 && names(&messages[0], field),
        };
        if !macro_agrees {
            failures.push(format!(
                "attribute ({}): {messages:?}, expected {expected:?}",
                case.tokens()
            ));
        }

        let file = toml::from_str::<BreakerConfig>(&case.toml()).map_err(|e| e.to_string());
        let file_agrees = match (&file, expected) {
            (Ok(_), None) => true,
            (Err(err), Some(field)) => err.contains(&format!("`{field}` = ")),
            _ => false,
        };
        if !file_agrees {
            failures.push(format!(
                "file {:?}: {file:?}, expected {expected:?}",
                case.toml()
            ));
        }

        // A configuration built in code always has a threshold and a backoff: the rules
        // about which settings are written together are the file's and the attribute's.
        if let (false, Some(config)) = (layout, case.in_code()) {
            in_code += 1;
            let validated = config.validate();
            let code_agrees = match (&validated, expected) {
                (Ok(()), None) => true,
                (Err(err), Some(field)) => err.field() == field,
                _ => false,
            };
            if !code_agrees {
                failures.push(format!(
                    "in code {case:?}: {validated:?}, expected {expected:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The cases exercise both verdicts and the configuration built in code.
    assert!(
        refused > 100 && cases.len() - refused > 30,
        "{refused} of {}",
        cases.len()
    );
    assert!(in_code > 60, "{in_code} in code");
}

#[test]
fn the_macros_take_the_tables_settings_and_the_runtime_writes_them() {
    let table: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
    // The attribute's settings: every key of a function's attribute but its own arguments.
    let attribute: Vec<&str> = Place::Function
        .keys()
        .filter(|key| !OTHER_KEYS.iter().any(|(k, _)| k == key))
        .collect();
    let in_attributes: Vec<&str> = SETTINGS
        .iter()
        .filter(|s| s.attribute)
        .map(|s| s.key)
        .collect();
    assert_eq!(attribute, in_attributes);
    // Only the jitter's seed, for repeatable tests, is left to configuration files.
    let file_only: Vec<&str> = table
        .iter()
        .copied()
        .filter(|k| !attribute.contains(k))
        .collect();
    assert_eq!(file_only, ["jitter_seed"]);

    // The fields `BreakerConfig` writes, over configurations that between them set every one.
    let time_window = FailureRate::new(
        Window::Time {
            length: Duration::from_secs(60),
            buckets: 6,
        },
        40,
    )
    .with_slow_calls(SlowCalls::new(Duration::from_secs(2)));
    let configs = [
        BreakerConfig::new()
            .with_backoff(Backoff::exponential())
            .with_jitter(Jitter::Full)
            .with_jitter_seed(7)
            .with_success_threshold(2)
            .with_ignored_errors(IgnoredErrors::Success)
            .with_rate_limit_delay(Duration::from_secs(2))
            .with_max_retry_after(Duration::from_secs(60))
            .with_credential_errors(CredentialErrors::ForceOpen),
        BreakerConfig::new().with_policy(TripPolicy::FailureRate(time_window)),
        BreakerConfig::new().with_policy(TripPolicy::FailureRate(FailureRate::new(
            Window::Count { size: 10 },
            50,
        ))),
    ];
    let mut written: Vec<String> = Vec::new();
    for config in &configs {
        let json = serde_json::to_value(config).unwrap();
        for key in json.as_object().unwrap().keys() {
            if !written.contains(key) {
                written.push(key.clone());
            }
        }
    }
    written.sort();
    let mut table: Vec<String> = table.iter().map(|k| k.to_string()).collect();
    table.sort();
    assert_eq!(written, table);
}

/// An exponential backoff's default cap (10 minutes) below the cooldown is refused, as a
/// configuration file refuses it, instead of compiling into a breaker that panics when its
/// function is first called.
#[test]
fn a_cooldown_above_the_default_cap_of_an_exponential_backoff_is_refused() {
    let mut errors = Vec::new();
    let args = BreakerArgs::parse(
        quote!(backoff = "exponential", cooldown = "1h"),
        Place::Function,
        &mut errors,
    );
    args.check_combination(&args, &mut errors);
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(names(&messages[0], "max_cooldown"), "{messages:?}");
    let file = toml::from_str::<BreakerConfig>("backoff = \"exponential\"\ncooldown = \"1h\"");
    assert!(
        file.unwrap_err()
            .to_string()
            .contains("`max_cooldown` = \"10m\"")
    );
}
