//! The `key = value` arguments that configure a breaker, shared by `#[circuit_breaker(...)]`,
//! its per-method `#[breaker(...)]`, and `#[derive(CircuitBreakers)]`.
//!
//! Every argument is parsed, then checked on its own, so one bad argument does not hide the
//! others; each error is spanned on the offending key or value.

use breaker_settings::{Given, SETTINGS, Value};
use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::suggest;

#[cfg(test)]
mod agreement;
mod combination;
mod expand;
mod values;

pub use values::RenameRule;
use values::{argument_name, flag, non_empty_string, path, rename_rule, setting_value};

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

/// Every argument but the breaker's settings (which come from the shared table and are
/// allowed wherever a breaker is configured), and the places it is allowed in.
const OTHER_KEYS: &[(&str, &[Place])] = {
    use Place::*;
    &[
        ("name", &[Function, Trait, Variant]),
        ("failure_if", &[Function, Trait, TraitMethod]),
        ("classify", &[Function, Trait, TraitMethod]),
        ("fallback", &[Function, TraitMethod]),
        ("config", &[Function, Trait]),
        ("crate", &[Function, Trait, Enum]),
        ("per_method", &[Trait]),
        ("skip", &[TraitMethod]),
        ("rename_all", &[Enum]),
        ("key", &[Function, TraitMethod]),
    ]
};

/// The settings of the shared table that the attributes take.
fn setting_keys() -> impl Iterator<Item = &'static str> + Clone {
    SETTINGS
        .iter()
        .filter(|setting| setting.attribute)
        .map(|setting| setting.key)
}

/// Every argument's key, whatever its place.
fn is_key(key: &str) -> bool {
    setting_keys()
        .chain(OTHER_KEYS.iter().map(|(k, _)| *k))
        .any(|k| k == key)
}

impl Place {
    fn keys(self) -> impl Iterator<Item = &'static str> + Clone {
        let others = OTHER_KEYS
            .iter()
            .filter(move |(_, places)| places.contains(&self))
            .map(|(key, _)| *key);
        setting_keys().chain(others)
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
#[derive(Clone, Copy)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// The checked arguments. `None`: not written.
#[derive(Default, Clone)]
pub struct BreakerArgs {
    /// The breaker's settings: a slot per setting of the shared table, in its order.
    settings: [Option<Spanned<Value>>; SETTINGS.len()],
    pub name: Option<LitStr>,
    pub failure_if: Option<Path>,
    pub classify: Option<Path>,
    pub fallback: Option<Path>,
    pub config: Option<LitStr>,
    pub krate: Option<Path>,
    pub per_method: Option<Span>,
    pub skip: Option<Span>,
    pub rename_all: Option<Spanned<RenameRule>>,
    /// `key = argument`: the argument that chooses the breaker.
    pub key: Option<Ident>,
    /// The keys written here whose value was wrong (an error already reported), and the keys
    /// an unknown argument is likely a misspelling of: the checks of the combination take
    /// them as written, so that they report no follow-on error for a missing key.
    pub unreadable: Vec<&'static str>,
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
            if let Some(err) = judged_twice(&arg.key, &seen) {
                errors.push(err);
                continue;
            }
            seen.push(key.clone());
            if let Err(err) = args.set(&key, &arg) {
                if let Some(known) = place.keys().find(|k| *k == key) {
                    args.unreadable.push(known);
                }
                errors.push(err);
            }
        }
        args
    }

    fn set(&mut self, key: &str, arg: &Arg) -> syn::Result<()> {
        if let Some(index) = breaker_settings::index(key) {
            self.settings[index] = Some(setting_value(arg, &SETTINGS[index])?);
            return Ok(());
        }
        match key {
            "name" => self.name = Some(non_empty_string(arg)?),
            "config" => self.config = Some(non_empty_string(arg)?),
            "failure_if" => self.failure_if = Some(path(arg, "a function `fn(&E) -> bool`")?),
            "classify" => {
                self.classify = Some(path(arg, "a function `fn(&E) -> impl Into<Verdict>`")?)
            }
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
            "key" => self.key = Some(argument_name(arg)?),
            _ => unreachable!("every allowed key is handled"),
        }
        Ok(())
    }

    /// The setting `key` of the shared table, if written and read.
    pub fn setting(&self, key: &str) -> Option<Spanned<Value>> {
        self.settings[breaker_settings::index(key)?]
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
        // A method's own judge of the errors replaces the trait's, whichever of the two
        // (`classify`, `failure_if`) each writes.
        let judged_here = JUDGES.iter().any(|key| own(key))
            || self.classify.is_some()
            || self.failure_if.is_some();
        let outer_judge = |judge: &Option<Path>| if judged_here { None } else { judge.clone() };
        let mut settings = self.settings;
        for ((slot, outer), setting) in settings.iter_mut().zip(&outer.settings).zip(SETTINGS) {
            *slot = if own(setting.key) {
                None
            } else {
                slot.or(*outer)
            };
        }
        BreakerArgs {
            settings,
            name: pick(&self.name, &outer.name, own("name")),
            failure_if: pick(
                &self.failure_if,
                &outer_judge(&outer.failure_if),
                own("failure_if"),
            ),
            classify: pick(
                &self.classify,
                &outer_judge(&outer.classify),
                own("classify"),
            ),
            fallback: pick(&self.fallback, &outer.fallback, own("fallback")),
            config: pick(&self.config, &outer.config, own("config")),
            krate: pick(&self.krate, &outer.krate, own("crate")),
            per_method: self.per_method.or(outer.per_method),
            // `skip` is the method's own: a trait cannot skip its methods.
            skip: self.skip,
            rename_all: pick(&self.rename_all, &outer.rename_all, own("rename_all")),
            // `key` is the method's own: it names one of its arguments.
            key: self.key.clone(),
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
        self.settings.iter().any(Option::is_some)
    }

    /// The path generated code names the runtime by: `crate = ...`, else `::breaker`.
    pub fn krate(&self) -> Path {
        self.krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::breaker))
    }
}

/// The settings as the shared rules between them read them: a setting written with a wrong
/// value (its error already reported) counts as written, without a value.
impl Given for BreakerArgs {
    fn value(&self, key: &str) -> Option<Value> {
        self.setting(key).map(|setting| setting.value)
    }

    fn written(&self, key: &str) -> bool {
        self.value(key).is_some() || self.unreadable.contains(&key)
    }
}

/// The arguments that judge a call's errors: one at a place.
const JUDGES: [&str; 2] = ["classify", "failure_if"];

/// The error for `key` if it judges the errors and another judge was `seen` before it.
fn judged_twice(ident: &Ident, seen: &[String]) -> Option<syn::Error> {
    let key = ident.to_string();
    let other = JUDGES
        .iter()
        .find(|judge| **judge != key && seen.iter().any(|s| s == *judge))?;
    JUDGES.contains(&key.as_str()).then(|| {
        syn::Error::new(
            ident.span(),
            format!(
                "`{key}` and `{other}` both judge the errors: give one (`classify` answers a `Verdict`, which says all that `failure_if` says)"
            ),
        )
    })
}

fn unknown_key(key: &Ident, place: Place) -> syn::Error {
    let name = key.to_string();
    let message = if is_key(&name) {
        let belongs = match name.as_str() {
            "failure_if" | "classify" | "fallback" | "config" | "per_method" | "skip"
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
            "key" if place == Place::Trait => {
                ": give each method its own, as `#[breaker(key = argument)]`"
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
