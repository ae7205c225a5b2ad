//! The states and events of a table: declared in lists (states possibly nested inside
//! superstates, with entry and exit actions), or taken from the rows in order of first use.

use syn::punctuated::Punctuated;
use syn::{Attribute, Fields, Ident, Token};

use super::super::ast::Declared;
use crate::suggest;

/// A state or an event.
pub struct Named {
    pub ident: Ident,
    pub docs: Vec<Attribute>,
    /// The data a state or event carries.
    pub fields: Fields,
    /// The superstate a state is declared in.
    pub parent: Option<usize>,
    /// A superstate's states, in declaration order. Empty for a leaf and for events.
    pub children: Vec<usize>,
    /// A superstate's `#[initial(..)]` child.
    pub initial_child: Option<usize>,
    pub entry: Vec<Ident>,
    pub exit: Vec<Ident>,
}

impl Named {
    fn new(ident: Ident) -> Named {
        Named {
            ident,
            docs: Vec::new(),
            fields: Fields::Unit,
            parent: None,
            children: Vec::new(),
            initial_child: None,
            entry: Vec::new(),
            exit: Vec::new(),
        }
    }

    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    pub fn has_data(&self) -> bool {
        !matches!(self.fields, Fields::Unit)
    }

    /// The state a transition into this superstate enters: its `#[initial(..)]` state, or
    /// its first when that is missing (an error already). `None` for a leaf.
    pub fn initial_state(&self) -> Option<usize> {
        let first = *self.children.first()?;
        Some(self.initial_child.unwrap_or(first))
    }
}

/// `state` and its superstates, innermost first.
pub fn ancestors(states: &[Named], state: Option<usize>) -> impl Iterator<Item = usize> + '_ {
    std::iter::successors(state, |&s| states[s].parent)
}

/// The leaf a transition into `state` enters: `state` itself, or its initial state's leaf.
pub fn leaf_of(states: &[Named], state: usize) -> usize {
    let mut state = state;
    while let Some(initial) = states[state].initial_state() {
        state = initial;
    }
    state
}

/// The states or the events of a table.
pub struct Names {
    kind: &'static str,
    pub declared: bool,
    pub list: Vec<Named>,
}

/// `#[initial(Child)]` as written, resolved once every state is known.
struct InitialAttr {
    superstate: usize,
    child: Ident,
}

impl Names {
    pub fn events(declared: Option<Vec<Declared>>, errors: &mut Vec<syn::Error>) -> Names {
        let mut names = Names {
            kind: "event",
            declared: declared.is_some(),
            list: Vec::new(),
        };
        for d in declared.into_iter().flatten() {
            if names.position(&d.ident).is_some() {
                errors.push(syn::Error::new(
                    d.ident.span(),
                    format!("event `{}` is declared twice", d.ident),
                ));
                continue;
            }
            let mut named = Named::new(d.ident);
            named.docs = d.attrs;
            named.fields = d.fields;
            names.list.push(named);
        }
        names
    }

    pub fn states(declared: Option<Vec<Declared>>, errors: &mut Vec<syn::Error>) -> Names {
        let mut names = Names {
            kind: "state",
            declared: declared.is_some(),
            list: Vec::new(),
        };
        let mut initials = Vec::new();
        for d in declared.into_iter().flatten() {
            names.declare_state(d, None, &mut initials, errors);
        }
        // A superstate whose `#[initial(..)]` names no state of it has that error only.
        let mut unresolved = Vec::new();
        for InitialAttr { superstate, child } in initials {
            let children = &names.list[superstate].children;
            if children.is_empty() {
                continue;
            }
            match children.iter().find(|&&c| names.list[c].ident == child) {
                Some(&c) => names.list[superstate].initial_child = Some(c),
                None => {
                    unresolved.push(superstate);
                    let parent = &names.list[superstate].ident;
                    let hint = suggest::did_you_mean(
                        &child.to_string(),
                        children.iter().map(|&c| names.list[c].ident.to_string()),
                    );
                    errors.push(syn::Error::new(
                        child.span(),
                        format!("`{child}` is not a state of `{parent}`{hint}: the initial state of a superstate is one of its own states"),
                    ));
                }
            }
        }
        for (index, state) in names.list.iter().enumerate() {
            if !state.is_leaf() && state.initial_child.is_none() {
                let ident = &state.ident;
                if !unresolved.contains(&index) {
                    errors.push(syn::Error::new(
                        ident.span(),
                        format!("superstate `{ident}` has no initial state: add `#[initial(State)]` before it, naming the state a transition into `{ident}` enters"),
                    ));
                }
            }
        }
        names
    }

    fn declare_state(
        &mut self,
        d: Declared,
        parent: Option<usize>,
        initials: &mut Vec<InitialAttr>,
        errors: &mut Vec<syn::Error>,
    ) {
        if let Some(first) = self.position(&d.ident) {
            let inside_itself = self.ancestors(parent).any(|a| a == first);
            let message = if inside_itself {
                format!(
                    "`{}` is declared inside itself: a superstate cannot contain itself (a cycle in the hierarchy)",
                    d.ident
                )
            } else {
                format!("state `{}` is declared twice", d.ident)
            };
            errors.push(syn::Error::new(d.ident.span(), message));
            return;
        }
        let index = self.list.len();
        let mut named = Named::new(d.ident);
        named.parent = parent;
        named.fields = d.fields;
        let mut initial = None;
        for attr in d.attrs {
            let path = attr.path();
            if path.is_ident("doc") {
                named.docs.push(attr);
            } else if path.is_ident("entry") || path.is_ident("exit") {
                let is_entry = path.is_ident("entry");
                let list = if is_entry {
                    &mut named.entry
                } else {
                    &mut named.exit
                };
                let key = if is_entry { "entry" } else { "exit" };
                if !list.is_empty() {
                    errors.push(syn::Error::new_spanned(
                        &attr,
                        format!("a second `#[{key}(..)]` on `{}`: list its actions in one, as in `#[{key}(a, b)]`", named.ident),
                    ));
                    continue;
                }
                match attr.parse_args_with(Punctuated::<Ident, Token![,]>::parse_terminated) {
                    Ok(actions) if !actions.is_empty() => list.extend(actions),
                    Ok(_) => errors.push(syn::Error::new_spanned(
                        &attr,
                        format!("`#[{key}(..)]` names at least one action of the context"),
                    )),
                    Err(err) => errors.push(syn::Error::new(
                        err.span(),
                        format!("`#[{key}(..)]` takes the names of actions of the context, as in `#[{key}(a, b)]`"),
                    )),
                }
            } else if path.is_ident("initial") {
                if initial.is_some() {
                    errors.push(syn::Error::new_spanned(
                        &attr,
                        "a second `#[initial(..)]`: a superstate has one initial state",
                    ));
                    continue;
                }
                match attr.parse_args::<Ident>() {
                    Ok(child) => initial = Some((child, attr)),
                    Err(_) => errors.push(syn::Error::new_spanned(
                        &attr,
                        "`#[initial(..)]` names one state of the superstate, as in `#[initial(Paid)]`",
                    )),
                }
            } else {
                let name = path.get_ident().map(Ident::to_string).unwrap_or_default();
                let hint = suggest::did_you_mean(&name, ["doc", "entry", "exit", "initial"]);
                errors.push(syn::Error::new_spanned(
                    path,
                    format!("unknown attribute `{name}`{hint}: a state takes doc comments, `#[entry(..)]`, `#[exit(..)]` and, on a superstate, `#[initial(..)]`"),
                ));
            }
        }
        let has_children = d.children.as_ref().is_some_and(|c| !c.list.is_empty());
        if let Some(children) = &d.children
            && children.list.is_empty()
        {
            errors.push(syn::Error::new(
                children.bracket,
                format!(
                    "superstate `{}` declares no states: list them in the brackets, or remove the brackets",
                    named.ident
                ),
            ));
        }
        if has_children && named.has_data() {
            errors.push(syn::Error::new_spanned(
                &named.fields,
                format!("superstate `{}` carries data, but a machine is only ever in one of its states: put the data on them", named.ident),
            ));
            named.fields = Fields::Unit;
        }
        match initial {
            Some((child, _)) if has_children => initials.push(InitialAttr {
                superstate: index,
                child,
            }),
            Some((_, attr)) => errors.push(syn::Error::new_spanned(
                attr,
                format!(
                    "`{}` has no states of its own, so it takes no `#[initial(..)]`; that is for a superstate, as in `{} [A, B]`",
                    named.ident, named.ident
                ),
            )),
            None => {}
        }
        self.list.push(named);
        if let Some(p) = parent {
            self.list[p].children.push(index);
        }
        for child in d.children.into_iter().flat_map(|c| c.list) {
            self.declare_state(child, Some(index), initials, errors);
        }
    }

    pub fn position(&self, ident: &Ident) -> Option<usize> {
        self.list.iter().position(|n| n.ident == *ident)
    }

    /// `state` and its superstates, innermost first.
    pub fn ancestors(&self, state: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        ancestors(&self.list, state)
    }

    /// The leaf a transition into `state` enters.
    pub fn leaf_of(&self, state: usize) -> usize {
        leaf_of(&self.list, state)
    }

    /// The index of `ident`. Undeclared (when there is a list): an error, and the index of
    /// the closest name, if one is close, as the likely intent. Without a list, a new name is
    /// added.
    pub fn resolve(
        &mut self,
        ident: &Ident,
        errors: &mut Vec<syn::Error>,
    ) -> Result<usize, Option<usize>> {
        if let Some(index) = self.position(ident) {
            return Ok(index);
        }
        if !self.declared {
            self.list.push(Named::new(ident.clone()));
            return Ok(self.list.len() - 1);
        }
        let names = self.list.iter().map(|n| n.ident.to_string());
        let guess = suggest::closest(&ident.to_string(), names);
        let kind = self.kind;
        let message = match &guess {
            Some(best) => format!("unknown {kind} `{ident}` (did you mean `{best}`?)"),
            None => {
                let all: Vec<String> = self.list.iter().map(|n| format!("`{}`", n.ident)).collect();
                format!(
                    "unknown {kind} `{ident}`: the declared {kind}s are {}",
                    all.join(", ")
                )
            }
        };
        errors.push(syn::Error::new(ident.span(), message));
        Err(guess.and_then(|best| self.list.iter().position(|n| n.ident == best)))
    }
}
