//! Reading each kind of argument value, with an error spanned on the value when it is wrong.

use breaker_settings::{Input, Kind, Problem, Refusal, Setting, Value};
use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitStr, Path, UnOp};

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

/// A breaker's setting, read as its kind in the shared table says and checked against the
/// same limits as a configuration file; an error is spanned on the value.
pub(super) fn setting_value(arg: &Arg, setting: &'static Setting) -> syn::Result<Spanned<Value>> {
    let expr = value(arg, setting.example)?;
    let (number, span, written) = match literal(expr) {
        Some(literal) => literal,
        None => (
            Some(Input::Other("an expression")),
            expr.span(),
            String::new(),
        ),
    };
    let input = number.unwrap_or(Input::Text(&written));
    breaker_settings::check(setting, input)
        .map(|value| Spanned { value, span })
        .map_err(|refusal| match refusal.problem {
            Problem::WrongType { .. } => syn::Error::new_spanned(expr, wrong_type(setting)),
            _ => syn::Error::new(span, refused(&refusal, &written)),
        })
}

/// A literal as the shared checks take it (`None`: a string, which they take as written),
/// its span, and how it is written (a string without its quotes); a negative number too.
fn literal(expr: &Expr) -> Option<(Option<Input<'static>>, Span, String)> {
    let (negative, lit) = match expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return None,
        },
        _ => return None,
    };
    let sign = if negative { "-" } else { "" };
    let (input, written) = match lit {
        Lit::Int(int) => {
            // Beyond the largest `i128`: too large for any setting, whatever its limit.
            let n = int.base10_parse::<i128>().unwrap_or(i128::MAX);
            let n = if negative { -n } else { n };
            (
                Some(Input::Whole(n)),
                format!("{sign}{}", int.base10_digits()),
            )
        }
        Lit::Float(float) => {
            let x = float.base10_parse::<f64>().ok()?;
            let x = if negative { -x } else { x };
            (
                Some(Input::Number(x)),
                format!("{sign}{}", float.base10_digits()),
            )
        }
        Lit::Str(text) if !negative => (None, text.value()),
        _ => return None,
    };
    Some((input, lit.span(), written))
}

/// What a setting takes, for a value of the wrong type.
fn wrong_type(setting: &Setting) -> String {
    let key = setting.key;
    match setting.kind {
        Kind::Choice(names) => {
            let expected: Vec<String> = names.iter().map(|c| format!("`\"{c}\"`")).collect();
            format!("`{key}` takes one of {}", expected.join(", "))
        }
        Kind::Duration { .. } => {
            format!("`{key}` takes a duration string, such as `\"30s\"` or `\"1m 30s\"`")
        }
        Kind::Multiplier => format!("`{key}` takes a number, such as `{}`", setting.example),
        Kind::Count { .. } | Kind::Percent | Kind::Seed => {
            format!(
                "`{key}` takes a whole number, such as `{}`",
                setting.example
            )
        }
    }
}

/// The message of a value the shared checks refuse; `written` is the value as written.
fn refused(refusal: &Refusal, written: &str) -> String {
    let key = refusal.field();
    match (&refusal.problem, refusal.setting.kind) {
        (Problem::BelowOne, Kind::Count { zero, .. }) => {
            format!("`{key} = {written}` {zero}: it must be at least 1")
        }
        (Problem::AboveMax(max), _) => {
            format!("`{key} = {written}` is too large: it must be at most {max}")
        }
        (Problem::NotPercent, _) => {
            format!("`{key} = {written}` is not a percentage: it must be from 1 to 100")
        }
        (Problem::MultiplierBelowOne, _) => {
            format!("`{key} = {written}` would shorten each opening: it must be at least 1")
        }
        (Problem::NotDuration(_), _) if written.trim().is_empty() => {
            format!("`{key}` is empty: write a duration, such as `\"30s\"`")
        }
        (Problem::NotDuration(reason), _) => format!(
            "`{key} = \"{written}\"` is not a duration ({reason}); write one such as `\"30s\"`, `\"500ms\"` or `\"1m 30s\"`"
        ),
        (Problem::Zero, _) => format!("`{key}` must be more than zero"),
        (Problem::TooLong, Kind::Duration { max_text, .. }) => {
            format!("`{key} = \"{written}\"` is too long: it must be at most {max_text}")
        }
        (Problem::NotChoice, Kind::Choice(names)) => {
            let hint = suggest::did_you_mean(written, names.iter().copied());
            let expected: Vec<String> = names.iter().map(|c| format!("`\"{c}\"`")).collect();
            format!(
                "unknown `{key}` \"{written}\"{hint}: expected one of {}",
                expected.join(", ")
            )
        }
        (problem, _) => format!(
            "`{key} = {written}`: {}",
            Refusal {
                setting: refusal.setting,
                problem: problem.clone(),
            }
        ),
    }
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

/// `key = model`: the name of one of the function's arguments.
pub(super) fn argument_name(arg: &Arg) -> syn::Result<syn::Ident> {
    let expr = value(arg, "argument")?;
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => match p.path.get_ident() {
            Some(ident) => Ok(ident.clone()),
            None => Err(syn::Error::new_spanned(
                &p.path,
                "`key` takes the name of one of the function's arguments, not a path",
            )),
        },
        other => Err(syn::Error::new_spanned(
            other,
            "`key` takes the name of one of the function's arguments (`key = model`)",
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
