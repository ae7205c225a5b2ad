//! The macros and the runtime accept and refuse the same settings: cases generated from the
//! shared table (each limit, just inside and just outside, a value of the wrong type, and a
//! pair that breaks each rule between settings), with the verdict the table gives, run
//! through the attribute's arguments, a TOML file, and a `BreakerConfig` built in code.

use std::time::Duration;

use breaker::backoff::{Backoff, Jitter};
use breaker::{BreakerConfig, FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window};
use breaker_settings::{Given, Input, Kind, SETTINGS, Value, check, conflicts, setting};
use proc_macro2::TokenStream;
use quote::quote;

use super::{BreakerArgs, OTHER_KEYS, Place};

/// A value as both a file and an attribute can write it.
#[derive(Debug, Clone)]
enum Written {
    Whole(i128),
    Number(f64),
    Text(String),
    Bool(bool),
}

use Written::{Bool, Number, Text, Whole};

fn text(s: &str) -> Written {
    Text(s.to_owned())
}

impl Written {
    fn toml(&self) -> String {
        match self {
            Whole(n) => n.to_string(),
            // `Debug` keeps the point of a whole float (`2.0`), which TOML needs.
            Number(x) => format!("{x:?}"),
            Text(s) => format!("{s:?}"),
            Bool(b) => b.to_string(),
        }
    }

    fn tokens(&self) -> TokenStream {
        match self {
            Whole(n) => {
                let lit = proc_macro2::Literal::u128_unsuffixed(n.unsigned_abs());
                if *n < 0 { quote!(-#lit) } else { quote!(#lit) }
            }
            Number(x) => {
                let lit = proc_macro2::Literal::f64_unsuffixed(x.abs());
                if *x < 0.0 {
                    quote!(-#lit)
                } else {
                    quote!(#lit)
                }
            }
            Text(s) => quote!(#s),
            Bool(b) => quote!(#b),
        }
    }

    fn input(&self) -> Input<'_> {
        match self {
            Whole(n) => Input::Whole(*n),
            Number(x) => Input::Number(*x),
            Text(s) => Input::Text(s),
            Bool(_) => Input::Other("a boolean"),
        }
    }
}

/// Settings written together: the one under test last.
#[derive(Debug, Clone)]
struct Case(Vec<(&'static str, Written)>);

/// Checked values, for the table's rules between settings.
struct Checked(Vec<(&'static str, Value)>);

impl Given for Checked {
    fn value(&self, key: &str) -> Option<Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl Case {
    /// The table's verdict: the settings it refuses (each value on its own, then the rules
    /// between them), and whether a rule refused is about which settings go together.
    fn verdict(&self) -> (Vec<&'static str>, bool) {
        let mut refused = Vec::new();
        let mut checked = Vec::new();
        for (key, written) in &self.0 {
            match check(setting(key).unwrap(), written.input()) {
                Ok(value) => checked.push((*key, value)),
                Err(refusal) => refused.push(refusal.field()),
            }
        }
        let mut layout = false;
        if refused.is_empty() {
            for conflict in conflicts(&Checked(checked)) {
                refused.push(conflict.field);
                layout |= conflict.rule.is_layout();
            }
        }
        (refused, layout)
    }

    fn toml(&self) -> String {
        self.0
            .iter()
            .map(|(key, value)| format!("{key} = {}\n", value.toml()))
            .collect()
    }

    fn tokens(&self) -> TokenStream {
        let args = self.0.iter().map(|(key, value)| {
            let key = syn::Ident::new(key, proc_macro2::Span::call_site());
            let value = value.tokens();
            quote!(#key = #value)
        });
        quote!(#(#args),*)
    }

    /// The configuration built in code with the builder, if the values fit its types.
    fn in_code(&self) -> Option<BreakerConfig> {
        let get = |key: &str| self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
        let whole = |key: &str| match get(key) {
            Some(Whole(n)) => u32::try_from(*n).ok().map(Some),
            Some(_) => None,
            None => Some(None),
        };
        let percent = |key: &str| match whole(key)? {
            Some(n) => u8::try_from(n).ok().map(Some),
            None => Some(None),
        };
        let duration = |key: &str| match get(key) {
            Some(Text(s)) => breaker_settings::parse_duration(s).ok().map(Some),
            Some(_) => None,
            None => Some(None),
        };
        let choice = |key: &str| match get(key) {
            Some(Text(s)) => Some(Some(s.as_str())),
            Some(_) => None,
            None => Some(None),
        };
        let mut config = BreakerConfig::new();
        if let Some(threshold) = whole("threshold")? {
            config = config.with_threshold(threshold);
        }
        if let Some(cooldown) = duration("cooldown")? {
            config = config.with_cooldown(cooldown);
        }
        if let Some(max) = whole("half_open_max")? {
            config = config.with_half_open_max(max);
        }
        if let Some(timeout) = duration("half_open_timeout")? {
            config = config.with_half_open_timeout(timeout);
        }
        match choice("backoff")? {
            Some("exponential") => {
                let multiplier = match get("backoff_multiplier") {
                    Some(Whole(n)) => *n as f64,
                    Some(Number(x)) => *x,
                    Some(_) => return None,
                    None => Backoff::DEFAULT_MULTIPLIER,
                };
                let max = duration("max_cooldown")?.unwrap_or(Backoff::DEFAULT_MAX);
                config = config.with_backoff(Backoff::Exponential { multiplier, max });
            }
            Some("fixed") | None => {}
            Some(_) => return None,
        }
        match choice("jitter")? {
            Some("full") => config = config.with_jitter(Jitter::Full),
            Some("equal") => config = config.with_jitter(Jitter::Equal),
            Some("none") | None => {}
            Some(_) => return None,
        }
        if let Some(success) = whole("success_threshold")? {
            config = config.with_success_threshold(success);
        }
        match choice("ignored_errors")? {
            Some("success") => config = config.with_ignored_errors(IgnoredErrors::Success),
            Some("neither") | None => {}
            Some(_) => return None,
        }
        let window = match (whole("window_size")?, duration("window")?) {
            (Some(size), None) => Some(Window::Count { size }),
            (None, Some(length)) => Some(Window::Time {
                length,
                buckets: whole("window_buckets")?.unwrap_or(Window::DEFAULT_BUCKETS),
            }),
            _ => None,
        };
        if let Some(window) = window {
            let failure_rate = percent("failure_rate")?;
            let failure_rate = failure_rate.unwrap_or(FailureRate::DEFAULT_FAILURE_RATE);
            let mut rate = FailureRate::new(window, failure_rate);
            if let Some(minimum) = whole("minimum_calls")? {
                rate = rate.with_minimum_calls(minimum);
            }
            if let Some(slow) = duration("slow_call_duration")? {
                let slow_rate = percent("slow_call_rate")?.unwrap_or(SlowCalls::DEFAULT_RATE);
                rate = rate.with_slow_calls(SlowCalls::new(slow).with_rate(slow_rate));
            }
            config = config.with_policy(TripPolicy::FailureRate(rate));
        }
        Some(config)
    }
}

/// What a value of `kind` is tried with: each limit, just inside and just outside, and
/// values of the wrong type.
fn values(kind: Kind) -> Vec<Written> {
    let shown = |d: Duration| Text(humantime::format_duration(d).to_string());
    let mut values = match kind {
        Kind::Count { max, .. } => vec![
            Whole(-1),
            Whole(0),
            Whole(1),
            Whole(max.into()),
            Whole(i128::from(max) + 1),
            Number(1.5),
            // A whole number written as a float is still a float.
            Number(3.0),
            text("3"),
        ],
        Kind::Percent => vec![
            Whole(-1),
            Whole(0),
            Whole(1),
            Whole(100),
            Whole(101),
            Whole(256),
            Number(50.5),
            Number(50.0),
            text("50"),
        ],
        Kind::Duration { max, .. } => vec![
            text("0s"),
            text("1ns"),
            shown(max),
            shown(max + Duration::from_nanos(1)),
            text("soon"),
            text(""),
            text("30"),
            Whole(30),
        ],
        Kind::Multiplier => vec![
            Number(0.99),
            Whole(0),
            Whole(1),
            Number(1.0),
            Number(1e300),
            Number(-2.0),
            text("2"),
        ],
        Kind::Choice(names) => {
            let mut values: Vec<Written> = names.iter().map(|name| text(name)).collect();
            values.extend([text("nope"), text(""), Whole(1)]);
            values
        }
        Kind::Seed => vec![Whole(-1), Whole(0), Whole(u64::MAX.into())],
    };
    values.push(Bool(true));
    values
}

/// What a setting needs beside it to mean something on its own (so that only its own
/// value decides).
fn context(key: &str) -> Vec<(&'static str, Written)> {
    match key {
        "backoff_multiplier" => vec![("backoff", text("exponential"))],
        // A zero cooldown, so that no cap is below it.
        "max_cooldown" => vec![("backoff", text("exponential")), ("cooldown", text("0s"))],
        // A cap of a year, so that no cooldown is above it.
        "cooldown" => vec![
            ("backoff", text("exponential")),
            ("max_cooldown", text("1year")),
        ],
        // One bucket, so that a nanosecond is long enough.
        "window" => vec![("window_buckets", Whole(1))],
        "window_buckets" | "minimum_calls" => vec![("window", text("1h"))],
        "failure_rate" | "slow_call_duration" => vec![("window_size", Whole(10))],
        "slow_call_rate" => vec![
            ("window_size", Whole(10)),
            ("slow_call_duration", text("2s")),
        ],
        _ => vec![],
    }
}

/// A pair (or three) of settings for each rule between settings, breaking it or just not.
fn combinations() -> Vec<Case> {
    let case = |pairs: &[(&'static str, Written)]| Case(pairs.to_vec());
    let exp = ("backoff", text("exponential"));
    let mut cases = vec![
        case(&[("window_size", Whole(10)), ("window", text("1m"))]),
        case(&[("window_size", Whole(10)), ("window_buckets", Whole(5))]),
        case(&[("window_size", Whole(10)), ("slow_call_rate", Whole(50))]),
        case(&[("backoff_multiplier", Number(2.0))]),
        case(&[("backoff", text("fixed")), ("max_cooldown", text("5m"))]),
        case(&[("threshold", Whole(3)), ("window_size", Whole(10))]),
        case(&[("window", text("1m")), ("threshold", Whole(3))]),
        case(&[
            exp.clone(),
            ("cooldown", text("1m")),
            ("max_cooldown", text("30s")),
        ]),
        case(&[
            exp.clone(),
            ("cooldown", text("1m")),
            ("max_cooldown", text("1m")),
        ]),
        // The default cap (10 minutes) below the cooldown.
        case(&[exp.clone(), ("cooldown", text("1h"))]),
        case(&[exp, ("cooldown", text("10m"))]),
        // The default buckets (10) longer than the window.
        case(&[("window", text("9ns"))]),
        case(&[("window", text("10ns"))]),
        case(&[("window", text("5ns")), ("window_buckets", Whole(6))]),
        case(&[("window", text("5ns")), ("window_buckets", Whole(5))]),
        case(&[("window_size", Whole(10)), ("minimum_calls", Whole(11))]),
        case(&[("window_size", Whole(10)), ("minimum_calls", Whole(10))]),
    ];
    for key in [
        "window_buckets",
        "failure_rate",
        "minimum_calls",
        "slow_call_duration",
        "slow_call_rate",
    ] {
        let value = values(setting(key).unwrap().kind).swap_remove(2);
        cases.push(Case(vec![(key, value)]));
    }
    cases
}

/// Every case: each setting's values in its context, then the rules between settings.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for setting in SETTINGS.iter().filter(|s| s.attribute) {
        for value in values(setting.kind) {
            let mut pairs = context(setting.key);
            pairs.push((setting.key, value));
            cases.push(Case(pairs));
        }
    }
    cases.extend(combinations());
    cases
}

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
            .with_ignored_errors(IgnoredErrors::Success),
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
