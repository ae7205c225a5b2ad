//! The syntax of a `state_machine!` table, as written.
//!
//! The body is split at its top-level commas and every entry is parsed on its own, so one
//! malformed row does not hide the errors of the others.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Fields, Ident, Token, Visibility, braced, bracketed, parenthesized};

/// The whole invocation.
pub struct Input {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub entries: Vec<Entry>,
    /// Entries that did not parse; the rest of the table is still checked.
    pub errors: Option<syn::Error>,
}

/// One comma-separated entry of the table.
pub enum Entry {
    Initial(KeyValue<Ident>),
    Final(KeyValue<Vec<Ident>>),
    States(KeyValue<Vec<Declared>>),
    Events(KeyValue<Vec<Declared>>),
    Row(Box<Row>),
}

/// `key: value`, with the key kept for spans.
pub struct KeyValue<T> {
    pub key: Ident,
    pub value: T,
}

/// A state or an event in a `states: [...]` or `events: [...]` list.
pub struct Declared {
    /// Doc comments, and for states `#[entry(..)]`, `#[exit(..)]`, `#[initial(..)]`:
    /// checked by `check`, which knows which list they are in.
    pub attrs: Vec<Attribute>,
    pub ident: Ident,
    /// The data: `Lock(KeyId)` or `Feed { grams: u32 }`.
    pub fields: Fields,
    /// A superstate's children: `Active [Paid, Shipped]`. Always `None` for events.
    pub children: Option<Children>,
}

/// The states declared inside a superstate.
pub struct Children {
    pub bracket: Span,
    pub list: Vec<Declared>,
}

/// Where a row goes.
pub enum Target {
    State(Ident),
    /// `=> _`: an internal transition, which stays in the state it fires in.
    Internal(Span),
}

impl Target {
    pub fn span(&self) -> Span {
        match self {
            Target::State(ident) => ident.span(),
            Target::Internal(span) => *span,
        }
    }
}

/// `From + Event [guard] / action => To`.
pub struct Row {
    /// `None` for the wildcard `_`.
    pub from: Option<Ident>,
    /// The `_` token or the state, for spans.
    pub from_span: Span,
    pub event: Ident,
    pub guard: Option<Expr>,
    pub actions: Vec<Ident>,
    pub to: Target,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the machine's name, as in `pub Door { ... }`",
            )
        })?;
        let content;
        braced!(content in input);
        let body: TokenStream = content.parse()?;
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens after the table: one `state_machine!` declares one machine",
            ));
        }

        let mut entries = Vec::new();
        let mut errors: Option<syn::Error> = None;
        for chunk in split_at_commas(body) {
            match parse_entry.parse2(chunk.tokens.clone()) {
                Ok(entry) => entries.push(entry),
                Err(err) => {
                    let err = refine_end_of_input(err, &chunk);
                    match &mut errors {
                        Some(all) => all.combine(err),
                        None => errors = Some(err),
                    }
                }
            }
        }
        Ok(Input {
            attrs,
            vis,
            name,
            entries,
            errors,
        })
    }
}

/// The tokens of one entry, and the span of its last token for "expected more" errors.
struct Chunk {
    tokens: TokenStream,
    last: Span,
}

fn split_at_commas(body: TokenStream) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    for tt in body {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                if !current.is_empty() {
                    chunks.push(chunk_of(std::mem::take(&mut current)));
                }
            }
            _ => current.push(tt),
        }
    }
    if !current.is_empty() {
        chunks.push(chunk_of(current));
    }
    chunks
}

fn chunk_of(tokens: Vec<TokenTree>) -> Chunk {
    let last = tokens
        .last()
        .map(TokenTree::span)
        .unwrap_or_else(Span::call_site);
    Chunk {
        tokens: tokens.into_iter().collect(),
        last,
    }
}

/// syn reports "unexpected end of input" at the call site; point at the entry's last token
/// instead, where the user has to add something.
fn refine_end_of_input(err: syn::Error, chunk: &Chunk) -> syn::Error {
    let message = err.to_string();
    if message.starts_with("unexpected end of input") {
        let what = message
            .trim_start_matches("unexpected end of input")
            .trim_start_matches(", ");
        let what = if what.is_empty() {
            "more tokens".to_string()
        } else {
            what.to_string()
        };
        syn::Error::new(
            chunk.last,
            format!("this entry is incomplete: {what} after this"),
        )
    } else {
        err
    }
}

fn parse_entry(input: ParseStream) -> syn::Result<Entry> {
    // Doc comments are allowed on rows for readability; they are not kept.
    let attrs = input.call(Attribute::parse_outer)?;
    if let Some(attr) = attrs.iter().find(|a| !a.path().is_ident("doc")) {
        return Err(syn::Error::new_spanned(
            attr,
            "only doc comments may stand before a row",
        ));
    }

    if input.peek(Token![final]) && input.peek2(Token![:]) {
        let key_token: Token![final] = input.parse()?;
        input.parse::<Token![:]>()?;
        let value = one_or_list(input, "a final state")?;
        return Ok(Entry::Final(KeyValue {
            key: Ident::new("final", key_token.span),
            value,
        }));
    }
    if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
        let key: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        return match key.to_string().as_str() {
            "initial" => {
                let value: Ident = input.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "expected the initial state, as in `initial: Closed`",
                    )
                })?;
                expect_end(input, "`initial` takes one state")?;
                Ok(Entry::Initial(KeyValue { key, value }))
            }
            "states" => {
                let value = declared_list(input, false)?;
                Ok(Entry::States(KeyValue { key, value }))
            }
            "events" => {
                let value = declared_list(input, true)?;
                Ok(Entry::Events(KeyValue { key, value }))
            }
            other => {
                let hint =
                    crate::suggest::did_you_mean(other, ["initial", "final", "states", "events"]);
                Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown key `{other}`{hint}: a table takes `initial`, `final`, `states`, `events` and rows `State + Event => State`"
                    ),
                ))
            }
        };
    }
    parse_row(input).map(|row| Entry::Row(Box::new(row)))
}

fn parse_row(input: ParseStream) -> syn::Result<Row> {
    let (from, from_span) = if input.peek(Token![_]) {
        let underscore: Token![_] = input.parse()?;
        (None, underscore.span)
    } else {
        let state: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a row `State + Event => State` or a key (`initial`, `final`, `states`, `events`)")
        })?;
        let span = state.span();
        (Some(state), span)
    };
    if !input.peek(Token![+]) {
        let what = if input.peek(Token![=>]) {
            "this row has no event: expected `+ Event` before `=>`"
        } else {
            "expected `+ Event` after the state"
        };
        return Err(if input.is_empty() {
            syn::Error::new(from_span, format!("this row is incomplete: {what}"))
        } else {
            input.error(what)
        });
    }
    input.parse::<Token![+]>()?;
    let event: Ident = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), "expected the event after `+`"))?;

    let guard = if input.peek(syn::token::Bracket) {
        let content;
        let brackets = bracketed!(content in input);
        if content.is_empty() {
            return Err(syn::Error::new(
                brackets.span.join(),
                "empty guard: name a guard of the context, as in `[has_key]`",
            ));
        }
        let expr: Expr = content.parse().map_err(|err| {
            if err.to_string().starts_with("unexpected end of input") {
                syn::Error::new(
                    brackets.span.close(),
                    "this guard is incomplete: expected a guard name",
                )
            } else {
                err
            }
        })?;
        if !content.is_empty() {
            return Err(content.error("unexpected tokens in the guard"));
        }
        Some(expr)
    } else {
        None
    };

    let mut actions = Vec::new();
    if input.peek(Token![/]) {
        input.parse::<Token![/]>()?;
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let list = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
            if list.is_empty() {
                return Err(content.error("expected at least one action"));
            }
            actions.extend(list);
        } else {
            actions.push(input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected an action after `/`, as in `/ log` or `/ (log, notify)`",
                )
            })?);
        }
    }

    if !input.peek(Token![=>]) {
        let last = actions
            .last()
            .map(Ident::span)
            .or_else(|| guard.as_ref().map(Spanned::span))
            .unwrap_or_else(|| event.span());
        return Err(if input.is_empty() {
            syn::Error::new(
                last,
                "this row is incomplete: expected `=> State` after this",
            )
        } else {
            input.error("expected `=>` and the target state")
        });
    }
    let arrow: Token![=>] = input.parse()?;
    let to = if input.is_empty() {
        return Err(syn::Error::new(
            arrow.spans[1],
            "expected the target state after `=>`, or `_` for an internal transition",
        ));
    } else if input.peek(Token![_]) {
        let underscore: Token![_] = input.parse()?;
        Target::Internal(underscore.span)
    } else {
        Target::State(input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the target state after `=>`, or `_` for an internal transition",
            )
        })?)
    };
    expect_end(
        input,
        "a row ends after its target state; separate rows with `,`",
    )?;
    Ok(Row {
        from,
        from_span,
        event,
        guard,
        actions,
        to,
    })
}

fn one_or_list(input: ParseStream, what: &str) -> syn::Result<Vec<Ident>> {
    let list = if input.peek(syn::token::Bracket) {
        let content;
        bracketed!(content in input);
        Punctuated::<Ident, Token![,]>::parse_terminated(&content)?
            .into_iter()
            .collect()
    } else {
        vec![input.parse().map_err(|e| {
            syn::Error::new(e.span(), format!("expected {what} or a list `[A, B]`"))
        })?]
    };
    expect_end(input, "unexpected tokens: separate entries with `,`")?;
    Ok(list)
}

fn declared_list(input: ParseStream, events: bool) -> syn::Result<Vec<Declared>> {
    let content;
    bracketed!(content in input);
    let list = Punctuated::<Declared, Token![,]>::parse_terminated(&content)?;
    expect_end(input, "unexpected tokens: separate entries with `,`")?;
    let mut out = Vec::new();
    for declared in list {
        if events {
            if let Some(attr) = declared.attrs.iter().find(|a| !a.path().is_ident("doc")) {
                return Err(syn::Error::new_spanned(
                    attr,
                    "only doc comments are allowed on an event",
                ));
            }
            if let Some(children) = &declared.children {
                return Err(syn::Error::new(
                    children.bracket,
                    "events do not nest; only states do, inside a superstate",
                ));
            }
        }
        out.push(declared);
    }
    Ok(out)
}

impl Parse for Declared {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let ident: Ident = input.parse()?;
        let fields = if input.peek(syn::token::Paren) {
            Fields::Unnamed(input.parse()?)
        } else if input.peek(syn::token::Brace) {
            Fields::Named(input.parse()?)
        } else {
            Fields::Unit
        };
        let children = if input.peek(syn::token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let list = Punctuated::<Declared, Token![,]>::parse_terminated(&content)?;
            Some(Children {
                bracket: bracket.span.join(),
                list: list.into_iter().collect(),
            })
        } else {
            None
        };
        Ok(Declared {
            attrs,
            ident,
            fields,
            children,
        })
    }
}

fn expect_end(input: ParseStream, message: &str) -> syn::Result<()> {
    if input.is_empty() {
        Ok(())
    } else {
        Err(input.error(message))
    }
}

/// `#[state_machine(crate = path, module = name)]` among the outer attributes.
pub struct Options {
    pub krate: Option<syn::Path>,
    pub module: Option<Ident>,
    /// `typed = false`: no typed states and events (`<module>::state`, `<module>::event`).
    pub typed: Option<syn::LitBool>,
    /// `non_exhaustive`: the state and event enums are `#[non_exhaustive]`, so that a table
    /// published by a library can gain states and events without breaking its users.
    pub non_exhaustive: Option<Span>,
    /// `async`: guards and actions are `async`, and firing is a future.
    pub is_async: Option<Span>,
}

impl Options {
    /// Takes the `#[state_machine(...)]` attributes out of `attrs`; keeps the doc comments;
    /// rejects any other attribute.
    pub fn extract(attrs: &mut Vec<Attribute>, errors: &mut Vec<syn::Error>) -> Options {
        let mut options = Options {
            krate: None,
            module: None,
            typed: None,
            non_exhaustive: None,
            is_async: None,
        };
        attrs.retain(|attr| {
            if attr.path().is_ident("doc") {
                return true;
            }
            if !attr.path().is_ident("state_machine") {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "a state machine takes doc comments and `#[state_machine(crate = ..., module = ..., typed = ..., non_exhaustive, async)]`",
                ));
                return false;
            }
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("crate") {
                    if options.krate.is_some() {
                        return Err(meta.error("duplicate `crate` option"));
                    }
                    let value = meta.value()?;
                    options.krate = Some(value.call(syn::Path::parse_mod_style)?);
                    Ok(())
                } else if meta.path.is_ident("module") {
                    if options.module.is_some() {
                        return Err(meta.error("duplicate `module` option"));
                    }
                    options.module = Some(meta.value()?.parse()?);
                    Ok(())
                } else if meta.path.is_ident("typed") {
                    if options.typed.is_some() {
                        return Err(meta.error("duplicate `typed` option"));
                    }
                    options.typed = Some(meta.value()?.parse()?);
                    Ok(())
                } else if meta.path.is_ident("non_exhaustive") {
                    if options.non_exhaustive.is_some() {
                        return Err(meta.error("duplicate `non_exhaustive` option"));
                    }
                    options.non_exhaustive = Some(meta.path.span());
                    Ok(())
                } else if meta.path.is_ident("async") {
                    if options.is_async.is_some() {
                        return Err(meta.error("duplicate `async` option"));
                    }
                    if meta.input.peek(Token![=]) {
                        return Err(meta.error("`async` takes no value: write `#[state_machine(async)]`"));
                    }
                    options.is_async = Some(meta.path.span());
                    Ok(())
                } else {
                    let name = meta.path.get_ident().map(Ident::to_string).unwrap_or_default();
                    let hint = crate::suggest::did_you_mean(&name, ["crate", "module", "typed", "non_exhaustive", "async"]);
                    Err(meta.error(format!("unknown option `{name}`{hint}: expected `crate = path`, `module = name`, `typed = false`, `non_exhaustive` or `async`")))
                }
            });
            if let Err(err) = result {
                errors.push(err);
            }
            false
        });
        options
    }
}
