//! The reference interpreter: a hierarchical table as plain data, flattened and run here by
//! the documented rules, written without the macro so that it can judge it.
//!
//! It favours plainness over speed: every step walks the table from scratch.

/// A state of the table: a leaf, or a superstate when some state names it as its parent.
#[derive(Debug, Clone)]
pub struct StateSpec {
    pub name: &'static str,
    pub parent: Option<&'static str>,
    /// A superstate's initial child.
    pub initial: Option<&'static str>,
    pub entry: &'static [&'static str],
    pub exit: &'static [&'static str],
    /// Whether the leaf carries data.
    pub data: bool,
}

/// A state named `name` at the top, without actions.
pub fn state(name: &'static str) -> StateSpec {
    StateSpec {
        name,
        parent: None,
        initial: None,
        entry: &[],
        exit: &[],
        data: false,
    }
}

impl StateSpec {
    pub fn under(self, parent: &'static str) -> Self {
        Self {
            parent: Some(parent),
            ..self
        }
    }

    pub fn initial(self, child: &'static str) -> Self {
        Self {
            initial: Some(child),
            ..self
        }
    }

    pub fn entry(self, entry: &'static [&'static str]) -> Self {
        Self { entry, ..self }
    }

    pub fn exit(self, exit: &'static [&'static str]) -> Self {
        Self { exit, ..self }
    }

    pub fn with_data(self) -> Self {
        Self { data: true, ..self }
    }
}

/// A guard expression over named guards.
#[derive(Debug, Clone)]
pub enum Guard {
    Is(&'static str),
    Not(Box<Guard>),
    And(Box<Guard>, Box<Guard>),
    Or(Box<Guard>, Box<Guard>),
}

impl Guard {
    pub fn holds(&self, valuation: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Guard::Is(name) => valuation(name),
            Guard::Not(g) => !g.holds(valuation),
            Guard::And(a, b) => a.holds(valuation) && b.holds(valuation),
            Guard::Or(a, b) => a.holds(valuation) || b.holds(valuation),
        }
    }

    pub fn not(self) -> Guard {
        Guard::Not(Box::new(self))
    }

    pub fn and(self, other: Guard) -> Guard {
        Guard::And(Box::new(self), Box::new(other))
    }

    pub fn or(self, other: Guard) -> Guard {
        Guard::Or(Box::new(self), Box::new(other))
    }
}

/// The guard named `name`.
pub fn is(name: &'static str) -> Guard {
    Guard::Is(name)
}

/// A row as written.
#[derive(Debug, Clone)]
pub struct RowSpec {
    /// The state the row is written on; `None` for `_`.
    pub source: Option<&'static str>,
    pub event: &'static str,
    pub guard: Option<Guard>,
    pub actions: &'static [&'static str],
    /// The written target; `None` for an internal transition (`=> _`).
    pub target: Option<&'static str>,
}

/// `source + event / actions => target`, unguarded; `source` `"_"` is the wildcard and
/// `target` `"_"` an internal transition.
pub fn row(
    source: &'static str,
    event: &'static str,
    actions: &'static [&'static str],
    target: &'static str,
) -> RowSpec {
    RowSpec {
        source: (source != "_").then_some(source),
        event,
        guard: None,
        actions,
        target: (target != "_").then_some(target),
    }
}

impl RowSpec {
    pub fn when(self, guard: Guard) -> Self {
        Self {
            guard: Some(guard),
            ..self
        }
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub initial: &'static str,
    pub finals: &'static [&'static str],
    pub states: Vec<StateSpec>,
    pub rows: Vec<RowSpec>,
}

/// Why an event was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No candidate row at all.
    Undeclared,
    /// Every candidate is guarded, and no guard held.
    GuardsFailed,
}

/// What a row does from one leaf: the flattened row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flat {
    pub from: String,
    pub event: String,
    /// The state the row is written on, or `"_"`.
    pub source: &'static str,
    pub to: String,
    pub internal: bool,
    pub exits: Vec<&'static str>,
    pub entries: Vec<&'static str>,
    pub effects: Vec<&'static str>,
}

/// Where an action of a transition runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// An exit action of the state.
    Exit(&'static str),
    /// One of the row's actions.
    Action,
    /// An entry action of the state.
    Entry(&'static str),
}

/// A superstate: `(name, parent, initial leaf, leaves inside, entry, exit)`.
pub type SuperstateRow = (
    &'static str,
    Option<&'static str>,
    String,
    Vec<String>,
    Vec<&'static str>,
    Vec<&'static str>,
);

/// One step: the row that fired (its index in the table and its flattened form), or the
/// refusal.
pub type Outcome = Result<(usize, Flat), Refused>;

impl Table {
    fn spec(&self, name: &str) -> &StateSpec {
        self.states
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("the reference table has no state `{name}`"))
    }

    pub fn is_leaf(&self, name: &str) -> bool {
        !self.states.iter().any(|s| s.parent == Some(name))
    }

    pub fn has_data(&self, leaf: &str) -> bool {
        self.spec(leaf).data
    }

    pub fn leaves(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.states
            .iter()
            .map(|s| s.name)
            .filter(|s| self.is_leaf(s))
    }

    pub fn events(&self) -> Vec<&'static str> {
        let mut events: Vec<&'static str> = Vec::new();
        for r in &self.rows {
            if !events.contains(&r.event) {
                events.push(r.event);
            }
        }
        events
    }

    /// `name`, its parent, ... up to the outermost state.
    pub fn path_up(&self, name: &'static str) -> Vec<&'static str> {
        let mut path = vec![name];
        while let Some(parent) = self.spec(path[path.len() - 1]).parent {
            path.push(parent);
        }
        path
    }

    /// Every superstate as `(name, parent, initial leaf, leaves inside, entry, exit)`, in
    /// declaration order.
    pub fn superstates(&self) -> Vec<SuperstateRow> {
        self.states
            .iter()
            .filter(|s| !self.is_leaf(s.name))
            .map(|s| {
                let inside: Vec<String> = self
                    .leaves()
                    .filter(|leaf| self.path_up(leaf)[1..].contains(&s.name))
                    .map(str::to_owned)
                    .collect();
                (
                    s.name,
                    s.parent,
                    self.resolve(s.name).to_owned(),
                    inside,
                    s.entry.to_vec(),
                    s.exit.to_vec(),
                )
            })
            .collect()
    }

    /// The leaf that entering `name` ends in.
    pub fn resolve(&self, name: &'static str) -> &'static str {
        let mut at = name;
        while !self.is_leaf(at) {
            at = self
                .spec(at)
                .initial
                .unwrap_or_else(|| panic!("the reference superstate `{at}` has no initial child"));
        }
        at
    }

    pub fn initial_leaf(&self) -> &'static str {
        self.resolve(self.initial)
    }

    /// The rows that may take `event` in `leaf`, in the order they are tried: the leaf's,
    /// its ancestors' innermost first, then `_`'s; none in a final state. A row that can
    /// never fire is left out: one after an unguarded row, or one whose guard (as written)
    /// a row before it already has, since a guard that failed there fails again.
    fn candidates(&self, leaf: &'static str, event: &str) -> Vec<usize> {
        if self.finals.contains(&leaf) {
            return Vec::new();
        }
        let written_on = |source: Option<&'static str>| -> Vec<usize> {
            (0..self.rows.len())
                .filter(|&i| self.rows[i].source == source && self.rows[i].event == event)
                .collect()
        };
        let mut in_order: Vec<usize> = Vec::new();
        for state in self.path_up(leaf) {
            in_order.extend(written_on(Some(state)));
        }
        in_order.extend(written_on(None));

        let mut out = Vec::new();
        let mut guards: Vec<String> = Vec::new();
        for i in in_order {
            let Some(guard) = &self.rows[i].guard else {
                out.push(i);
                break;
            };
            let guard = format!("{guard:?}");
            if !guards.contains(&guard) {
                guards.push(guard);
                out.push(i);
            }
        }
        out
    }

    /// Row `index` fired from `leaf`.
    pub fn flat(&self, leaf: &'static str, index: usize) -> Flat {
        let r = &self.rows[index];
        let source = r.source.unwrap_or("_");
        let Some(target) = r.target else {
            return Flat {
                from: leaf.to_owned(),
                event: r.event.to_owned(),
                source,
                to: leaf.to_owned(),
                internal: true,
                exits: Vec::new(),
                entries: Vec::new(),
                effects: r.actions.to_vec(),
            };
        };
        let to = self.resolve(target);
        // The domain: the innermost proper ancestor of both the source and the target;
        // `None` is the root.
        let proper = |s: Option<&'static str>| match s {
            Some(s) => self.path_up(s)[1..].to_vec(),
            None => Vec::new(),
        };
        let target_above = proper(Some(target));
        let domain = proper(r.source)
            .into_iter()
            .find(|s| target_above.contains(s));
        let below_domain = |from: &'static str| -> Vec<&'static str> {
            self.path_up(from)
                .into_iter()
                .take_while(|s| Some(*s) != domain)
                .collect()
        };
        let exits = below_domain(leaf);
        let mut entries = below_domain(to);
        entries.reverse();
        let mut effects: Vec<&'static str> = Vec::new();
        for s in &exits {
            effects.extend(self.spec(s).exit);
        }
        effects.extend(r.actions);
        for s in &entries {
            effects.extend(self.spec(s).entry);
        }
        Flat {
            from: leaf.to_owned(),
            event: r.event.to_owned(),
            source,
            to: to.to_owned(),
            internal: false,
            exits,
            entries,
            effects,
        }
    }

    /// Fires `event` in `leaf` with the guards valued by `valuation`: the outcome, and the
    /// guarded rows evaluated on the way (where each is written, and whether it held).
    pub fn step(
        &self,
        leaf: &'static str,
        event: &str,
        valuation: &dyn Fn(&str) -> bool,
    ) -> (Outcome, Vec<(&'static str, bool)>) {
        let candidates = self.candidates(leaf, event);
        if candidates.is_empty() {
            return (Err(Refused::Undeclared), Vec::new());
        }
        let mut evaluated = Vec::new();
        for i in candidates {
            let r = &self.rows[i];
            let held = match &r.guard {
                None => true,
                Some(g) => {
                    let held = g.holds(valuation);
                    evaluated.push((r.source.unwrap_or("_"), held));
                    held
                }
            };
            if held {
                return (Ok((i, self.flat(leaf, i))), evaluated);
            }
        }
        (Err(Refused::GuardsFailed), evaluated)
    }

    /// Where each of `flat.effects` runs: an exit action of a state, a row action, or an
    /// entry action of a state.
    pub fn phases(&self, flat: &Flat) -> Vec<Phase> {
        let mut phases: Vec<Phase> = Vec::new();
        for s in &flat.exits {
            phases.extend(self.spec(s).exit.iter().map(|_| Phase::Exit(s)));
        }
        let mut entering: Vec<Phase> = Vec::new();
        for s in &flat.entries {
            entering.extend(self.spec(s).entry.iter().map(|_| Phase::Entry(s)));
        }
        let row_actions = flat.effects.len() - phases.len() - entering.len();
        phases.extend((0..row_actions).map(|_| Phase::Action));
        phases.extend(entering);
        phases
    }

    /// The flattened table: for every leaf and event, the rows that can fire, in the order
    /// they are tried.
    pub fn flatten(&self) -> Vec<Flat> {
        let mut out = Vec::new();
        for leaf in self.leaves() {
            for event in self.events() {
                out.extend(
                    self.candidates(leaf, event)
                        .into_iter()
                        .map(|i| self.flat(leaf, i)),
                );
            }
        }
        out
    }
}
