//! The `key = value` arguments that configure a breaker, shared by `#[circuit_breaker(...)]`,
//! its per-method `#[breaker(...)]`, and `#[derive(CircuitBreakers)]`.
//!
//! Every argument is parsed, then checked on its own, so one bad argument does not hide the
//! others; each error is spanned on the offending key or value.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitInt, LitStr, Path, Token};

use crate::suggest;

mod values;

pub use values::RenameRule;
use values::{
    at_least_one, duration, flag, multiplier, non_empty_string, one_of, path, rename_rule,
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
                errors.push(err);
            }
        }
        args
    }

    fn set(&mut self, key: &str, arg: &Arg) -> syn::Result<()> {
        match key {
            "threshold" => self.threshold = Some(at_least_one(arg)?),
            "half_open_max" => self.half_open_max = Some(at_least_one(arg)?),
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
            _ => unreachable!("every allowed key is handled"),
        }
        Ok(())
    }

    /// The arguments of `self`, with those of `outer` where `self` has none (a trait's
    /// arguments under a method's overrides).
    pub fn or(&self, outer: &BreakerArgs) -> BreakerArgs {
        fn pick<T: Clone>(own: &Option<T>, outer: &Option<T>) -> Option<T> {
            own.as_ref().or(outer.as_ref()).cloned()
        }
        BreakerArgs {
            threshold: pick(&self.threshold, &outer.threshold),
            cooldown: pick(&self.cooldown, &outer.cooldown),
            half_open_max: pick(&self.half_open_max, &outer.half_open_max),
            half_open_timeout: pick(&self.half_open_timeout, &outer.half_open_timeout),
            name: pick(&self.name, &outer.name),
            failure_if: pick(&self.failure_if, &outer.failure_if),
            fallback: pick(&self.fallback, &outer.fallback),
            config: pick(&self.config, &outer.config),
            krate: pick(&self.krate, &outer.krate),
            per_method: self.per_method.or(outer.per_method),
            // `skip` is the method's own: a trait cannot skip its methods.
            skip: self.skip,
            rename_all: pick(&self.rename_all, &outer.rename_all),
            backoff: pick(&self.backoff, &outer.backoff),
            backoff_multiplier: pick(&self.backoff_multiplier, &outer.backoff_multiplier),
            max_cooldown: pick(&self.max_cooldown, &outer.max_cooldown),
            jitter: pick(&self.jitter, &outer.jitter),
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
    }

    /// Checks the settings that depend on each other, for the breaker that these (merged)
    /// arguments configure: the exponential backoff's own settings need
    /// `backoff = "exponential"`, and its cap must be at least the cooldown. `own` are the
    /// arguments written at this place (a method's, a variant's), to point at the one that
    /// introduces a conflict with an inherited setting.
    pub fn check_combination(&self, own: &BreakerArgs, errors: &mut Vec<syn::Error>) {
        let exponential = self
            .backoff
            .as_ref()
            .is_some_and(|b| b.value == BackoffKind::Exponential);
        if !exponential {
            if let Some(multiplier) = &self.backoff_multiplier {
                errors.push(exponential_only("backoff_multiplier", multiplier.span));
            }
            if let Some(max) = &self.max_cooldown {
                errors.push(exponential_only("max_cooldown", max.span));
            }
            return;
        }
        let cooldown = self.cooldown.as_ref().map_or(DEFAULT_COOLDOWN, |c| c.value);
        let Some(max) = self
            .max_cooldown
            .as_ref()
            .filter(|max| max.value < cooldown)
        else {
            return;
        };
        let (max_text, cooldown_text) = (
            humantime::format_duration(max.value),
            humantime::format_duration(cooldown),
        );
        errors.push(match (&own.cooldown, &own.max_cooldown) {
            (Some(own_cooldown), None) => syn::Error::new(
                own_cooldown.span,
                format!(
                    "`cooldown = \"{cooldown_text}\"` is above the `max_cooldown` it inherits ({max_text}): the cap must be at least the cooldown; give this one its own `max_cooldown`"
                ),
            ),
            _ => syn::Error::new(
                max.span,
                format!(
                    "`max_cooldown = \"{max_text}\"` is below the cooldown ({cooldown_text}): it caps how long the circuit stays open, so it must be at least the cooldown"
                ),
            ),
        });
    }

    /// The path generated code names the runtime by: `crate = ...`, else `::breaker`.
    pub fn krate(&self) -> Path {
        self.krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::breaker))
    }

    /// A constant expression of the configuration: the defaults with the settings given.
    pub fn config_expr(&self, private: &TokenStream) -> TokenStream {
        let mut expr = quote!(#private::BreakerConfig::new());
        if let Some(threshold) = &self.threshold {
            let value = LitInt::new(&threshold.value.to_string(), threshold.span);
            expr = quote!(#expr.with_threshold(#value));
        }
        if let Some(cooldown) = &self.cooldown {
            let value = duration_expr(private, cooldown.value);
            expr = quote!(#expr.with_cooldown(#value));
        }
        if let Some(max) = &self.half_open_max {
            let value = LitInt::new(&max.value.to_string(), max.span);
            expr = quote!(#expr.with_half_open_max(#value));
        }
        if let Some(timeout) = &self.half_open_timeout {
            let value = duration_expr(private, timeout.value);
            expr = quote!(#expr.with_half_open_timeout(#value));
        }
        if self
            .backoff
            .as_ref()
            .is_some_and(|b| b.value == BackoffKind::Exponential)
        {
            let multiplier = self.backoff_multiplier.as_ref().map_or(2.0, |m| m.value);
            let multiplier = proc_macro2::Literal::f64_unsuffixed(multiplier);
            let max = self
                .max_cooldown
                .as_ref()
                .map_or(DEFAULT_MAX_COOLDOWN, |m| m.value);
            let max = duration_expr(private, max);
            expr = quote! {
                #expr.with_backoff(#private::Backoff::Exponential { multiplier: #multiplier, max: #max })
            };
        }
        if let Some(jitter) = &self.jitter {
            let variant = match jitter.value {
                "full" => quote!(Full),
                "equal" => quote!(Equal),
                _ => quote!(None),
            };
            expr = quote!(#expr.with_jitter(#private::Jitter::#variant));
        }
        expr
    }
}

/// The runtime's defaults, for the checks that compare with them.
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
const DEFAULT_MAX_COOLDOWN: Duration = Duration::from_secs(600);

fn exponential_only(key: &str, span: Span) -> syn::Error {
    syn::Error::new(
        span,
        format!("`{key}` only applies to an exponential backoff: add `backoff = \"exponential\"`"),
    )
}

/// `Duration::from_secs(30)`, in the coarsest unit that is exact.
fn duration_expr(private: &TokenStream, duration: Duration) -> TokenStream {
    let nanos = duration.as_nanos();
    let (constructor, value) = if nanos % 1_000_000_000 == 0 {
        ("from_secs", nanos / 1_000_000_000)
    } else if nanos % 1_000_000 == 0 {
        ("from_millis", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        ("from_micros", nanos / 1_000)
    } else {
        ("from_nanos", nanos)
    };
    let constructor = Ident::new(constructor, Span::call_site());
    let value = LitInt::new(&format!("{value}"), Span::call_site());
    quote!(#private::Duration::#constructor(#value))
}

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
