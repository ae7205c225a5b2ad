//! The `key = value` arguments that configure a breaker, shared by `#[circuit_breaker(...)]`,
//! its per-method `#[breaker(...)]`, and `#[derive(CircuitBreakers)]`.
//!
//! Every argument is parsed, then checked on its own, so one bad argument does not hide the
//! others; each error is spanned on the offending key or value.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::suggest;

mod combination;
mod expand;
mod values;

pub use values::RenameRule;
use values::{
    count, duration, flag, multiplier, non_empty_string, one_of, path, percent, rename_rule,
};

/// Where the arguments are written; decides which keys are allowed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `#[circuit_breaker(...)]` on a function.
    Function,
    /// `#[circuit_breaker(...)]` on a trait.
    Trait,
    /// `#[breaker(...)]` on a method of a trait under `#[circuit_breaker]`.
    TraitMethod,
    /// `#[breaker(...)]` on an enum that derives `CircuitBreakers`.
    Enum,
    /// `#[breaker(...)]` on a variant of that enum.
    Variant,
}

/// Every argument, and the places it is allowed in.
const KEYS: &[(&str, &[Place])] = {
    use Place::*;
    // A setting of the breaker itself: allowed wherever a breaker is configured.
    const SETTING: &[Place] = &[Function, Trait, TraitMethod, Enum, Variant];
    &[
        ("threshold", SETTING),
        ("cooldown", SETTING),
        ("half_open_max", SETTING),
        ("half_open_timeout", SETTING),
        ("backoff", SETTING),
        ("backoff_multiplier", SETTING),
        ("max_cooldown", SETTING),
        ("jitter", SETTING),
        ("success_threshold", SETTING),
        ("ignored_errors", SETTING),
        ("window_size", SETTING),
        ("window", SETTING),
        ("window_buckets", SETTING),
        ("failure_rate", SETTING),
        ("minimum_calls", SETTING),
        ("slow_call_duration", SETTING),
        ("slow_call_rate", SETTING),
        ("name", &[Function, Trait, Variant]),
        ("failure_if", &[Function, Trait, TraitMethod]),
        ("fallback", &[Function, TraitMethod]),
        ("config", &[Function, Trait]),
        ("crate", &[Function, Trait, Enum]),
        ("per_method", &[Trait]),
        ("skip", &[TraitMethod]),
        ("rename_all", &[Enum]),
    ]
};

impl Place {
    fn keys(self) -> impl Iterator<Item = &'static str> + Clone {
        KEYS.iter()
            .filter(move |(_, places)| places.contains(&self))
            .map(|(key, _)| *key)
    }

    fn allows(self, key: &str) -> bool {
        self.keys().any(|k| k == key)
    }

    fn describe(self) -> &'static str {
        match self {
            Place::Function => "`#[circuit_breaker]` on a function",
            Place::Trait => "`#[circuit_breaker]` on a trait",
            Place::TraitMethod => "`#[breaker]` on a trait method",
            Place::Enum => "`#[breaker]` on an enum deriving `CircuitBreakers`",
            Place::Variant => "`#[breaker]` on a variant",
        }
    }
}

/// A value with the span of the tokens it was written as.
#[derive(Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// The checked arguments. `None`: not written.
#[derive(Default, Clone)]
pub struct BreakerArgs {
    pub threshold: Option<Spanned<u32>>,
    pub cooldown: Option<Spanned<Duration>>,
    pub half_open_max: Option<Spanned<u32>>,
    pub half_open_timeout: Option<Spanned<Duration>>,
    pub name: Option<LitStr>,
    pub failure_if: Option<Path>,
    pub fallback: Option<Path>,
    pub config: Option<LitStr>,
    pub krate: Option<Path>,
    pub per_method: Option<Span>,
    pub skip: Option<Span>,
    pub rename_all: Option<Spanned<RenameRule>>,
    /// `"fixed"` or `"exponential"`.
    pub backoff: Option<Spanned<BackoffKind>>,
    pub backoff_multiplier: Option<Spanned<f64>>,
    pub max_cooldown: Option<Spanned<Duration>>,
    /// `"none"`, `"full"` or `"equal"`.
    pub jitter: Option<Spanned<&'static str>>,
    pub success_threshold: Option<Spanned<u32>>,
    /// `"neither"` or `"success"`.
    pub ignored_errors: Option<Spanned<&'static str>>,
    /// A count window: the last `window_size` calls.
    pub window_size: Option<Spanned<u32>>,
    /// A time window: the calls of the last `window`.
    pub window: Option<Spanned<Duration>>,
    pub window_buckets: Option<Spanned<u32>>,
    pub failure_rate: Option<Spanned<u8>>,
    pub minimum_calls: Option<Spanned<u32>>,
    pub slow_call_duration: Option<Spanned<Duration>>,
    pub slow_call_rate: Option<Spanned<u8>>,
    /// The keys written here whose value was wrong (an error already reported), and the keys
    /// an unknown argument is likely a misspelling of: the checks of the combination take
    /// them as written, so that they report no follow-on error for a missing key.
    pub unreadable: Vec<&'static str>,
}

/// `backoff = "..."`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BackoffKind {
    Fixed,
    Exponential,
}

/// One argument as written: `key = value` or a bare `key`.
struct Arg {
    key: Ident,
    value: Option<Expr>,
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = if input.peek(Token![crate]) {
            let token: Token![crate] = input.parse()?;
            Ident::new("crate", token.span)
        } else {
            input.call(syn::ext::IdentExt::parse_any)?
        };
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Arg { key, value })
    }
}

impl BreakerArgs {
    /// Parses and checks the arguments written at `place`; every error is pushed.
    pub fn parse(tokens: TokenStream, place: Place, errors: &mut Vec<syn::Error>) -> BreakerArgs {
        let parsed =
            syn::parse::Parser::parse2(Punctuated::<Arg, Token![,]>::parse_terminated, tokens);
        let list = match parsed {
            Ok(list) => list,
            Err(err) => {
                errors.push(err);
                return BreakerArgs::default();
            }
        };
        let mut args = BreakerArgs::default();
        let mut seen: Vec<String> = Vec::new();
        for arg in list {
            let key = arg.key.to_string();
            if !place.allows(&key) {
                let meant = suggest::closest(&key, place.keys());
                if let Some(meant) = place.keys().find(|k| meant.as_deref() == Some(*k)) {
                    args.unreadable.push(meant);
                }
                errors.push(unknown_key(&arg.key, place));
                continue;
            }
            if seen.contains(&key) {
                errors.push(syn::Error::new(
                    arg.key.span(),
                    format!("duplicate argument `{key}`: give it once"),
                ));
                continue;
            }
            seen.push(key.clone());
            if let Err(err) = args.set(&key, &arg) {
                if let Some((known, _)) = KEYS.iter().find(|(k, _)| *k == key) {
                    args.unreadable.push(known);
                }
                errors.push(err);
            }
        }
        args
    }

    fn set(&mut self, key: &str, arg: &Arg) -> syn::Result<()> {
        match key {
            "threshold" => {
                self.threshold = Some(count(arg, MAX_THRESHOLD, "would never admit a call")?)
            }
            "half_open_max" => {
                self.half_open_max = Some(count(arg, MAX_HALF_OPEN, "would never admit a call")?)
            }
            "cooldown" => self.cooldown = Some(duration(arg, false)?),
            "half_open_timeout" => self.half_open_timeout = Some(duration(arg, true)?),
            "name" => self.name = Some(non_empty_string(arg)?),
            "config" => self.config = Some(non_empty_string(arg)?),
            "failure_if" => self.failure_if = Some(path(arg, "a function `fn(&E) -> bool`")?),
            "fallback" => {
                self.fallback = Some(path(
                    arg,
                    "a function with the guarded function's signature",
                )?)
            }
            "crate" => self.krate = Some(path(arg, "the path of the `breaker` crate")?),
            "per_method" => self.per_method = Some(flag(arg)?),
            "skip" => self.skip = Some(flag(arg)?),
            "rename_all" => self.rename_all = Some(rename_rule(arg)?),
            "backoff" => {
                let kind = one_of(arg, &["fixed", "exponential"])?;
                let value = match kind.value {
                    "exponential" => BackoffKind::Exponential,
                    _ => BackoffKind::Fixed,
                };
                self.backoff = Some(Spanned {
                    value,
                    span: kind.span,
                });
            }
            "backoff_multiplier" => self.backoff_multiplier = Some(multiplier(arg)?),
            "max_cooldown" => self.max_cooldown = Some(duration(arg, true)?),
            "jitter" => self.jitter = Some(one_of(arg, &["none", "full", "equal"])?),
            "success_threshold" => {
                self.success_threshold = Some(count(
                    arg,
                    u32::MAX,
                    "would close the circuit without a successful probe",
                )?)
            }
            "ignored_errors" => self.ignored_errors = Some(one_of(arg, &["neither", "success"])?),
            "window_size" => {
                self.window_size = Some(count(arg, MAX_WINDOW_SIZE, "is a window of no calls")?)
            }
            "window" => self.window = Some(duration(arg, true)?),
            "window_buckets" => {
                self.window_buckets = Some(count(
                    arg,
                    MAX_WINDOW_BUCKETS,
                    "cuts the window in no buckets",
                )?)
            }
            "failure_rate" => self.failure_rate = Some(percent(arg)?),
            "minimum_calls" => {
                self.minimum_calls = Some(count(
                    arg,
                    u32::MAX,
                    "would let the rates of an empty window count",
                )?)
            }
            "slow_call_duration" => {
                let slow = duration(arg, true)?;
                if slow.value > MAX_SLOW_CALL_DURATION {
                    return Err(syn::Error::new(
                        slow.span,
                        "`slow_call_duration` must be at most an hour (\"1h\"): calls are timed to the microsecond in a 33-bit count",
                    ));
                }
                self.slow_call_duration = Some(slow);
            }
            "slow_call_rate" => self.slow_call_rate = Some(percent(arg)?),
            _ => unreachable!("every allowed key is handled"),
        }
        Ok(())
    }

    /// The arguments of `self`, with those of `outer` where `self` has none (a trait's
    /// arguments under a method's overrides). A key `self` writes with a wrong value takes
    /// nothing from `outer`: its error is reported, and the outer value would only make more.
    pub fn or(&self, outer: &BreakerArgs) -> BreakerArgs {
        fn pick<T: Clone>(own: &Option<T>, outer: &Option<T>, unreadable: bool) -> Option<T> {
            if unreadable {
                return None;
            }
            own.as_ref().or(outer.as_ref()).cloned()
        }
        let own = |key: &str| self.unreadable.contains(&key);
        BreakerArgs {
            threshold: pick(&self.threshold, &outer.threshold, own("threshold")),
            cooldown: pick(&self.cooldown, &outer.cooldown, own("cooldown")),
            half_open_max: pick(
                &self.half_open_max,
                &outer.half_open_max,
                own("half_open_max"),
            ),
            half_open_timeout: pick(
                &self.half_open_timeout,
                &outer.half_open_timeout,
                own("half_open_timeout"),
            ),
            name: pick(&self.name, &outer.name, own("name")),
            failure_if: pick(&self.failure_if, &outer.failure_if, own("failure_if")),
            fallback: pick(&self.fallback, &outer.fallback, own("fallback")),
            config: pick(&self.config, &outer.config, own("config")),
            krate: pick(&self.krate, &outer.krate, own("crate")),
            per_method: self.per_method.or(outer.per_method),
            // `skip` is the method's own: a trait cannot skip its methods.
            skip: self.skip,
            rename_all: pick(&self.rename_all, &outer.rename_all, own("rename_all")),
            backoff: pick(&self.backoff, &outer.backoff, own("backoff")),
            backoff_multiplier: pick(
                &self.backoff_multiplier,
                &outer.backoff_multiplier,
                own("backoff_multiplier"),
            ),
            max_cooldown: pick(&self.max_cooldown, &outer.max_cooldown, own("max_cooldown")),
            jitter: pick(&self.jitter, &outer.jitter, own("jitter")),
            success_threshold: pick(
                &self.success_threshold,
                &outer.success_threshold,
                own("success_threshold"),
            ),
            ignored_errors: pick(
                &self.ignored_errors,
                &outer.ignored_errors,
                own("ignored_errors"),
            ),
            window_size: pick(&self.window_size, &outer.window_size, own("window_size")),
            window: pick(&self.window, &outer.window, own("window")),
            window_buckets: pick(
                &self.window_buckets,
                &outer.window_buckets,
                own("window_buckets"),
            ),
            failure_rate: pick(&self.failure_rate, &outer.failure_rate, own("failure_rate")),
            minimum_calls: pick(
                &self.minimum_calls,
                &outer.minimum_calls,
                own("minimum_calls"),
            ),
            slow_call_duration: pick(
                &self.slow_call_duration,
                &outer.slow_call_duration,
                own("slow_call_duration"),
            ),
            slow_call_rate: pick(
                &self.slow_call_rate,
                &outer.slow_call_rate,
                own("slow_call_rate"),
            ),
            unreadable: self
                .unreadable
                .iter()
                .chain(&outer.unreadable)
                .copied()
                .collect(),
        }
    }

    /// Whether the arguments change a setting of the breaker itself (so that a method with
    /// them needs a breaker of its own).
    pub fn has_settings(&self) -> bool {
        self.threshold.is_some()
            || self.cooldown.is_some()
            || self.half_open_max.is_some()
            || self.half_open_timeout.is_some()
            || self.backoff.is_some()
            || self.backoff_multiplier.is_some()
            || self.max_cooldown.is_some()
            || self.jitter.is_some()
            || self.success_threshold.is_some()
            || self.ignored_errors.is_some()
            || self.window_size.is_some()
            || self.window.is_some()
            || self.window_buckets.is_some()
            || self.failure_rate.is_some()
            || self.minimum_calls.is_some()
            || self.slow_call_duration.is_some()
            || self.slow_call_rate.is_some()
    }

    /// Whether `key` was written: with a value that was read, or with one whose error is
    /// already reported.
    fn written(&self, key: &str, value: bool) -> bool {
        value || self.unreadable.contains(&key)
    }

    /// The path generated code names the runtime by: `crate = ...`, else `::breaker`.
    pub fn krate(&self) -> Path {
        self.krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::breaker))
    }
}

/// The runtime's defaults and limits, for the checks that compare with them and the
/// settings a window needs: as a configuration file has them.
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
const DEFAULT_MAX_COOLDOWN: Duration = Duration::from_secs(600);
const DEFAULT_BUCKETS: u32 = 10;
const DEFAULT_FAILURE_RATE: u8 = 50;
const MAX_THRESHOLD: u32 = 16_777_212;
const MAX_HALF_OPEN: u32 = 1_000;
const MAX_WINDOW_SIZE: u32 = 100_000;
const MAX_WINDOW_BUCKETS: u32 = 1_000;
const MAX_SLOW_CALL_DURATION: Duration = Duration::from_secs(3600);
/// `BreakerConfig::MAX_DURATION`: humantime's year.
const MAX_DURATION: Duration = Duration::from_secs(31_557_600);

fn unknown_key(key: &Ident, place: Place) -> syn::Error {
    let name = key.to_string();
    let message = if KEYS.iter().any(|(key, _)| *key == name) {
        let belongs = match name.as_str() {
            "failure_if" | "fallback" | "config" | "per_method" | "skip"
                if matches!(place, Place::Enum | Place::Variant) =>
            {
                ": the derive builds breakers; classify errors where the calls are made"
            }
            "skip" => {
                ": it goes on a method of a trait under `#[circuit_breaker]`, as `#[breaker(skip)]`"
            }
            "per_method" => ": it goes on `#[circuit_breaker]` on a trait",
            "fallback" if place == Place::Trait => {
                ": give each method its own, as `#[breaker(fallback = ...)]`"
            }
            "name" | "config" | "crate" if place == Place::TraitMethod => {
                ": it goes on `#[circuit_breaker]` on the trait"
            }
            "name" if place == Place::Enum => {
                ": give each variant its own, as `#[breaker(name = \"...\")]`"
            }
            "rename_all" | "crate" if place == Place::Variant => ": it goes on the enum",
            _ => "",
        };
        format!(
            "`{name}` is not an argument of {}{belongs}",
            place.describe()
        )
    } else {
        let hint = suggest::did_you_mean(&name, place.keys());
        let expected: Vec<String> = place.keys().map(|k| format!("`{k}`")).collect();
        format!(
            "unknown argument `{name}`{hint}: expected one of {}",
            expected.join(", ")
        )
    };
    syn::Error::new(key.span(), message)
}
