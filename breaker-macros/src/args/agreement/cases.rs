//! The cases of the agreement test, generated from the shared table, and how each side
//! writes them: attribute arguments, a TOML file, a `BreakerConfig` built in code.

use std::time::Duration;

use breaker::{Backoff, Jitter};
use breaker::{
    BreakerConfig, CredentialErrors, FailureRate, IgnoredErrors, SlowCalls, TripPolicy, Window,
};
use breaker_settings::{Given, Input, Kind, SETTINGS, Value, check, conflicts, setting};
use proc_macro2::TokenStream;
use quote::quote;

/// A value as both a file and an attribute can write it.
#[derive(Debug, Clone)]
pub(super) enum Written {
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
pub(super) struct Case(Vec<(&'static str, Written)>);

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
    pub(super) fn verdict(&self) -> (Vec<&'static str>, bool) {
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

    pub(super) fn toml(&self) -> String {
        self.0
            .iter()
            .map(|(key, value)| format!("{key} = {}\n", value.toml()))
            .collect()
    }

    pub(super) fn tokens(&self) -> TokenStream {
        let args = self.0.iter().map(|(key, value)| {
            let key = syn::Ident::new(key, proc_macro2::Span::call_site());
            let value = value.tokens();
            quote!(#key = #value)
        });
        quote!(#(#args),*)
    }

    /// The configuration built in code with the builder, if the values fit its types.
    pub(super) fn in_code(&self) -> Option<BreakerConfig> {
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
        if let Some(delay) = duration("rate_limit_delay")? {
            config = config.with_rate_limit_delay(delay);
        }
        if let Some(max) = duration("max_retry_after")? {
            config = config.with_max_retry_after(max);
        }
        match choice("credential_errors")? {
            Some("force_open") => {
                config = config.with_credential_errors(CredentialErrors::ForceOpen)
            }
            Some("failure") | None => {}
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
pub(super) fn cases() -> Vec<Case> {
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
