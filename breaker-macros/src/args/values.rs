//! Reading each kind of argument value, with an error spanned on the value when it is wrong.

use std::time::Duration;

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Lit, LitStr, Path};

use super::{Arg, Spanned};
use crate::suggest;

/// A string argument that must be one of `choices`.
pub(super) fn one_of(arg: &Arg, choices: &[&'static str]) -> syn::Result<Spanned<&'static str>> {
    let expected: Vec<String> = choices.iter().map(|c| format!("`\"{c}\"`")).collect();
    let lit = string_literal(arg, choices[0], || {
        format!("`{}` takes one of {}", arg.key, expected.join(", "))
    })?;
    let text = lit.value();
    match choices.iter().find(|c| **c == text) {
        Some(choice) => Ok(Spanned {
            value: choice,
            span: lit.span(),
        }),
        None => {
            let hint = suggest::did_you_mean(&text, choices.iter().copied());
            Err(syn::Error::new(
                lit.span(),
                format!(
                    "unknown `{}` \"{text}\"{hint}: expected one of {}",
                    arg.key,
                    expected.join(", ")
                ),
            ))
        }
    }
}

pub(super) fn multiplier(arg: &Arg) -> syn::Result<Spanned<f64>> {
    let expr = value(arg, "2.0")?;
    let (value, span) = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => (f.base10_parse::<f64>()?, f.span()),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => (i.base10_parse::<f64>()?, i.span()),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "`backoff_multiplier` takes a number, such as `2.0`",
            ));
        }
    };
    if !(value.is_finite() && value >= 1.0) {
        return Err(syn::Error::new(
            span,
            format!(
                "`backoff_multiplier = {value}` would shorten each opening: it must be at least 1"
            ),
        ));
    }
    Ok(Spanned { value, span })
}

pub(super) fn value<'a>(arg: &'a Arg, what: &str) -> syn::Result<&'a Expr> {
    arg.value.as_ref().ok_or_else(|| {
        syn::Error::new(
            arg.key.span(),
            format!("`{}` takes a value: `{} = {what}`", arg.key, arg.key),
        )
    })
}

/// The value of `arg` if it is a string literal; else an error on it, saying what `arg`
/// `takes`.
fn string_literal<'a>(
    arg: &'a Arg,
    example: &str,
    takes: impl FnOnce() -> String,
) -> syn::Result<&'a LitStr> {
    match value(arg, example)? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit),
        other => Err(syn::Error::new_spanned(other, takes())),
    }
}

/// A whole number from 1 to `max`; `zero` says what 0 would do, for its message.
pub(super) fn count(arg: &Arg, max: u32, zero: &str) -> syn::Result<Spanned<u32>> {
    let example = match arg.key.to_string().as_str() {
        "window_size" => "100",
        "window_buckets" | "minimum_calls" => "10",
        "threshold" => "5",
        _ => "1",
    };
    let (value, span) = whole_number(arg, example)?;
    if value == 0 {
        return Err(syn::Error::new(
            span,
            format!("`{} = 0` {zero}: it must be at least 1", arg.key),
        ));
    }
    match u32::try_from(value) {
        Ok(value) if value <= max => Ok(Spanned { value, span }),
        _ => Err(syn::Error::new(
            span,
            format!(
                "`{} = {value}` is too large: it must be at most {max}",
                arg.key
            ),
        )),
    }
}

/// A rate in percent: a whole number from 1 to 100.
pub(super) fn percent(arg: &Arg) -> syn::Result<Spanned<u8>> {
    let (value, span) = whole_number(arg, "50")?;
    match u8::try_from(value) {
        Ok(value @ 1..=100) => Ok(Spanned { value, span }),
        _ => Err(syn::Error::new(
            span,
            format!(
                "`{} = {value}` is not a percentage: it must be from 1 to 100",
                arg.key
            ),
        )),
    }
}

/// An integer literal, of any size (so that a value too large gets the message of the range
/// it is outside).
fn whole_number(arg: &Arg, example: &str) -> syn::Result<(u128, Span)> {
    let expr = value(arg, example)?;
    let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = expr
    else {
        return Err(syn::Error::new_spanned(
            expr,
            format!("`{}` takes a whole number, such as `{example}`", arg.key),
        ));
    };
    let value = int.base10_parse().map_err(|_| {
        syn::Error::new(
            int.span(),
            format!("`{}` takes a whole number, such as `{example}`", arg.key),
        )
    })?;
    Ok((value, int.span()))
}

/// A duration string: more than zero if `must_be_positive`, and at most a year, as the
/// runtime's `BreakerConfig::validate` requires.
pub(super) fn duration(arg: &Arg, must_be_positive: bool) -> syn::Result<Spanned<Duration>> {
    let lit = string_literal(arg, "\"30s\"", || {
        format!(
            "`{}` takes a duration string, such as `\"30s\"` or `\"1m 30s\"`",
            arg.key
        )
    })?;
    let text = lit.value();
    if text.trim().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{}` is empty: write a duration, such as `\"30s\"`",
                arg.key
            ),
        ));
    }
    let duration = humantime::parse_duration(&text).map_err(|err| {
        syn::Error::new(
            lit.span(),
            format!("`{} = \"{text}\"` is not a duration ({err}); write one such as `\"30s\"`, `\"500ms\"` or `\"1m 30s\"`", arg.key),
        )
    })?;
    if must_be_positive && duration.is_zero() {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{}` must be more than zero", arg.key),
        ));
    }
    if duration > super::MAX_DURATION {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{} = \"{text}\"` is too long: it must be at most a year (\"1year\")",
                arg.key
            ),
        ));
    }
    Ok(Spanned {
        value: duration,
        span: lit.span(),
    })
}

pub(super) fn non_empty_string(arg: &Arg) -> syn::Result<LitStr> {
    let expr = value(arg, "\"openai\"")?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if !lit.value().is_empty() => Ok(lit.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Err(syn::Error::new(
            lit.span(),
            format!("`{}` must not be empty", arg.key),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{}` takes a string, such as `\"openai\"`", arg.key),
        )),
    }
}

pub(super) fn path(arg: &Arg, what: &str) -> syn::Result<Path> {
    let expr = value(arg, "path::to::item")?;
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Ok(p.path.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Err(syn::Error::new(
            lit.span(),
            format!(
                "`{}` takes a path, not a string: write `{} = {}`",
                arg.key,
                arg.key,
                lit.value()
            ),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{}` takes a path to {what}", arg.key),
        )),
    }
}

pub(super) fn flag(arg: &Arg) -> syn::Result<Span> {
    match &arg.value {
        None => Ok(arg.key.span()),
        Some(value) => Err(syn::Error::new(
            value.span(),
            format!("`{}` takes no value: write `{}` alone", arg.key, arg.key),
        )),
    }
}

/// How `rename_all` turns a variant's name into its breaker's name, as serde does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    const ALL: [(&'static str, RenameRule); 8] = [
        ("lowercase", RenameRule::Lower),
        ("UPPERCASE", RenameRule::Upper),
        ("PascalCase", RenameRule::Pascal),
        ("camelCase", RenameRule::Camel),
        ("snake_case", RenameRule::Snake),
        ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
        ("kebab-case", RenameRule::Kebab),
        ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
    ];

    /// `variant` (written in PascalCase) renamed by this rule.
    pub fn apply(self, variant: &str) -> String {
        let snake = crate::state_machine::snake_case(variant);
        match self {
            RenameRule::Lower => variant.to_lowercase(),
            RenameRule::Upper => variant.to_uppercase(),
            RenameRule::Pascal => variant.to_string(),
            RenameRule::Camel => {
                let mut chars = variant.chars();
                chars
                    .next()
                    .map(|first| first.to_lowercase().chain(chars).collect())
                    .unwrap_or_default()
            }
            RenameRule::Snake => snake,
            RenameRule::ScreamingSnake => snake.to_uppercase(),
            RenameRule::Kebab => snake.replace('_', "-"),
            RenameRule::ScreamingKebab => snake.replace('_', "-").to_uppercase(),
        }
    }
}

pub(super) fn rename_rule(arg: &Arg) -> syn::Result<Spanned<RenameRule>> {
    let names = RenameRule::ALL.map(|(name, _)| name);
    let chosen = one_of(arg, &names)?;
    let (_, rule) = RenameRule::ALL
        .into_iter()
        .find(|(name, _)| *name == chosen.value)
        .expect("`one_of` returns one of the names");
    Ok(Spanned {
        value: rule,
        span: chosen.span,
    })
}
