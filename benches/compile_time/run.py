#!/usr/bin/env python3
"""Times the build of a crate with many `state_machine!` tables, against one or more checkouts.

For each checkout given, the script generates (in a temporary directory) a crate that depends
on that checkout's `breaker` by path and declares `--machines` machines of 20 rows each, builds
its dependencies once, then times rebuilds of the generated crate alone (its `lib.rs` touched,
`CARGO_INCREMENTAL=0`) with `cargo build` and with `cargo check`. With several checkouts the
runs alternate between them, so that a change in the machine's load hits all of them alike.

Usage: run.py REPO [REPO ...] [--runs 5] [--release] [--syntax SYNTAX[,SYNTAX...]]
where SYNTAX is flat or hierarchical, one for all checkouts or one per checkout.
See README.md in this folder.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from string import Template

CRATE = "ctime_machines"

# One name per machine: the machines are the same table under different names, as a crate
# with many workflows of the same shape would have.
NAMES = [
    "Order", "Job", "Ticket", "Invoice", "Deploy", "Claim", "Refund", "Shipment",
    "Booking", "Review", "Payout", "Migration", "Backup", "Onboarding", "Upload",
    "Report", "Renewal", "Audit", "Release", "Transfer",
]

# The table: 10 states, 2 of them final, 12 events, 20 rows; guards on 8 rows, actions on
# most, a guarded row with an unguarded fallback, a self-transition, a `_` row that a state's
# own row overrides. Flat, it takes the syntax of every version of the macro; hierarchical,
# the same workflow groups the scheduling states in a superstate with entry and exit actions
# and turns the rows that stay into internal ones (it needs the hierarchical macro).
TABLE = Template("""
state_machine! {
    /// The workflow of a `$name`: review, scheduling, runs.
    pub $name {
        initial: Draft,
        final: [Done, Cancelled],
        states: [$states],
        events: [Submit, Amend, Approve, Reject, Schedule, Start, Pause, Resume, Fail, Retry, Finish, Cancel],
$rows
    }
}
""")

STATES = {
    "flat": "Draft, Submitted, InReview, Approved, Scheduled, Running, Paused, Failed, Done, Cancelled",
    "hierarchical": """
            Draft,
            Submitted,
            InReview,
            #[entry(notify_owner)]
            Approved,
            #[initial(Scheduled)] #[entry(open_ticket)] #[exit(close_ticket)]
            Active [
                Scheduled,
                #[entry(start_clock)] #[exit(stop_clock)]
                Running,
                Paused,
            ],
            Failed,
            Done,
            Cancelled,
        """,
}

# A row, or the pair (flat, hierarchical) where the two differ.
ROWS = [
    "Draft + Submit [complete] / record_submission => Submitted",
    ("Draft + Amend / log => Draft", "Draft + Amend / log => _"),
    "Submitted + Approve [has_quorum && !flagged] / notify => Approved",
    "Submitted + Approve [flagged] => InReview",
    "Submitted + Reject / notify => Draft",
    "InReview + Approve / notify => Approved",
    "InReview + Reject / (notify, log) => Draft",
    ("Approved + Schedule [slot_free] / reserve => Scheduled",
     "Approved + Schedule [slot_free] / reserve => Active"),
    ("Approved + Schedule / log => Approved", "Approved + Schedule / log => _"),
    ("Scheduled + Start / start_clock => Running", "Scheduled + Start => Running"),
    "Scheduled + Amend [slot_free] / reserve => Scheduled",
    "Running + Pause => Paused",
    "Paused + Resume [within_budget] => Running",
    ("Running + Fail / record_failure => Failed", "Active + Fail / record_failure => Failed"),
    ("Failed + Retry [retries_left] / count_retry => Scheduled",
     "Failed + Retry [retries_left] / count_retry => Active"),
    "Failed + Retry => Cancelled",
    "Running + Finish [outputs_valid] / publish => Done",
    "Running + Finish => Failed",
    ("Paused + Cancel / release => Cancelled", "Active + Cancel / release => Cancelled"),
    "_ + Cancel => Cancelled",
]
assert len(ROWS) == 20


def table(name, syntax):
    pick = 0 if syntax == "flat" else 1
    rows = [row if isinstance(row, str) else row[pick] for row in ROWS]
    return TABLE.substitute(
        name=name, states=STATES[syntax], rows="".join(f"        {row},\n" for row in rows).rstrip("\n")
    )


# The context: its guards read its fields, its actions record what they did.
CONTEXT = Template("""
/// What the actions of `$name` did.
#[derive(Debug)]
pub struct ${name}Desk {
    pub filled: bool,
    pub votes: u32,
    pub flagged: bool,
    pub slots: u32,
    pub budget: u32,
    pub retries: u32,
    pub valid: bool,
    pub log: Vec<&'static str>,
}

impl Default for ${name}Desk {
    fn default() -> Self {
        Self { filled: true, votes: 3, flagged: false, slots: 1, budget: 2, retries: 0, valid: true, log: Vec::new() }
    }
}

impl ${name}Context for ${name}Desk {
    fn complete(&self, _: &${name}Event) -> bool { self.filled }
    fn has_quorum(&self, _: &${name}Event) -> bool { self.votes >= 2 }
    fn flagged(&self, _: &${name}Event) -> bool { self.flagged }
    fn slot_free(&self, _: &${name}Event) -> bool { self.slots > 0 }
    fn within_budget(&self, _: &${name}Event) -> bool { self.budget > 0 }
    fn retries_left(&self, _: &${name}Event) -> bool { self.retries < 3 }
    fn outputs_valid(&self, _: &${name}Event) -> bool { self.valid }
    fn record_submission(&mut self, _: &${name}Event) { self.log.push("submitted") }
    fn log(&mut self, event: &${name}Event) { self.log.push(if matches!(event, ${name}Event::Amend) { "amended" } else { "noted" }) }
    fn notify(&mut self, _: &${name}Event) { self.log.push("notified") }
    fn reserve(&mut self, _: &${name}Event) { self.slots -= 1; self.log.push("reserved") }
    fn record_failure(&mut self, _: &${name}Event) { self.log.push("failed") }
    fn count_retry(&mut self, _: &${name}Event) { self.retries += 1; self.slots += 1 }
    fn publish(&mut self, _: &${name}Event) { self.log.push("published") }
    fn release(&mut self, _: &${name}Event) { self.log.push("released") }
$extra}

/// Takes a `$name` from draft to done through a pause and a failed run; returns its final
/// state and what the actions did.
pub fn run_${snake}() -> (${name}State, ${name}Desk) {
    let mut machine = $name::machine(${name}Desk::default());
    for event in [
        ${name}Event::Submit, ${name}Event::Approve, ${name}Event::Schedule, ${name}Event::Start,
        ${name}Event::Pause, ${name}Event::Resume, ${name}Event::Fail, ${name}Event::Retry,
        ${name}Event::Start, ${name}Event::Finish,
    ] {
        machine.fire(event).expect("the table takes this event here");
    }
    // A final state takes no event.
    assert!(machine.fire(${name}Event::Cancel).is_err());
    (machine.state(), machine.into_context())
}
""")

# The methods that differ: a row action in the flat table, entry and exit actions in the
# hierarchical one.
CONTEXT_EXTRA = {
    "flat": "    fn start_clock(&mut self, _: &${name}Event) { self.log.push(\"started\") }\n",
    "hierarchical": """    fn start_clock(&mut self) { self.log.push("started") }
    fn stop_clock(&mut self) { self.log.push("stopped") }
    fn open_ticket(&mut self) { self.log.push("ticket opened") }
    fn close_ticket(&mut self) { self.log.push("ticket closed") }
    fn notify_owner(&mut self) { self.log.push("owner notified") }
""",
}

# What the run's actions record, in order: the machines must do what the table says.
EXPECTED_LOG = {
    "flat": ["submitted", "notified", "reserved", "started", "failed", "started", "published"],
    "hierarchical": [
        "submitted", "notified", "owner notified", "reserved", "ticket opened", "started",
        "stopped", "started", "stopped", "ticket closed", "failed", "ticket opened", "started",
        "stopped", "ticket closed", "published",
    ],
}

TEST = Template("""
    #[test]
    fn ${snake}_runs_to_done() {
        let (state, desk) = super::run_${snake}();
        assert_eq!(state, super::${name}State::Done);
        assert_eq!(desk.log, [$log]);
    }
""")


def snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def generate_lib(machines, syntax):
    parts = [
        "//! Generated by benches/compile_time/run.py: state machines to time the macro's build.\n",
        "use breaker::state_machine;\n",
    ]
    tests = []
    for name in names(machines):
        parts.append(table(name, syntax))
        parts.append(
            CONTEXT.substitute(name=name, snake=snake(name), extra=Template(CONTEXT_EXTRA[syntax]).substitute(name=name))
        )
        log = ", ".join(f'"{entry}"' for entry in EXPECTED_LOG[syntax])
        tests.append(TEST.substitute(name=name, snake=snake(name), log=log))
    parts.append("\n#[cfg(test)]\nmod tests {" + "".join(tests) + "}\n")
    return "".join(parts)


def names(machines):
    if machines <= len(NAMES):
        return NAMES[:machines]
    return [f"{NAMES[i % len(NAMES)]}{i // len(NAMES)}" for i in range(machines)]


class Checkout:
    """A checkout of the repository and the crate generated against it."""

    def __init__(self, repo, work, index, syntax, args):
        self.repo = Path(repo).resolve()
        if not (self.repo / "Cargo.toml").is_file():
            sys.exit(f"error: REPO `{repo}` has no Cargo.toml")
        self.label = f"#{index + 1} {self.repo} ({commit_of(self.repo)}, {syntax})"
        self.crate = work / f"crate{index}"
        self.target = work / f"target{index}"
        self.release = args.release
        (self.crate / "src").mkdir(parents=True)
        (self.crate / "Cargo.toml").write_text(
            f'[package]\nname = "{CRATE}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
            f'[dependencies]\nbreaker = {{ path = {json.dumps(str(self.repo))} }}\n\n'
            # A workspace of its own, wherever the temporary directory is.
            "[workspace]\n"
        )
        # The checkout's lock file, so that its dependencies resolve to the versions it tests.
        if (self.repo / "Cargo.lock").is_file():
            shutil.copy(self.repo / "Cargo.lock", self.crate / "Cargo.lock")
        self.lib = self.crate / "src" / "lib.rs"
        self.lib.write_text(generate_lib(args.machines, syntax))
        self.times = {"build": [], "check": []}

    def cargo(self, command, *extra, env=None):
        argv = ["cargo", command, "-v" if command in ("build", "check") else "--quiet"]
        if self.release:
            argv.append("--release")
        argv.extend(extra)
        env = dict(os.environ, CARGO_INCREMENTAL="0", CARGO_TARGET_DIR=str(self.target), **(env or {}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=self.crate, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            sys.exit(f"error: `{' '.join(argv)}` failed in {self.crate}:\n{done.stderr}{done.stdout}")
        return wall, cpu, done.stderr, done.stdout

    def expansion(self):
        """The size of the crate with its macros expanded: what the compiler has to check and
        compile, free of the machine's load. `-Zunpretty` is unstable, hence the bootstrap
        variable (as cargo-expand sets it)."""
        _, _, _, expanded = self.cargo("rustc", "--", "-Zunpretty=expanded", env={"RUSTC_BOOTSTRAP": "1"})
        return expanded.count("\n"), len(expanded.encode())

    def rebuild(self, command):
        """Times `cargo <command>` of the generated crate alone, after touching its source."""
        os.utime(self.lib)
        wall, cpu, log, _ = self.cargo(command)
        # `-v` prints the rustc command line of every crate compiled: only ours may appear,
        # and it must (a rebuild that compiled nothing would time nothing).
        compiled = [line for line in log.splitlines() if line.strip().startswith("Running `")]
        if len(compiled) != 1 or f"--crate-name {CRATE}" not in compiled[0]:
            sys.exit(f"error: `cargo {command}` in {self.crate} did not rebuild only {CRATE}:\n{log}")
        self.times[command].append((wall, cpu))


def commit_of(repo):
    done = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%h"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        return "not a git checkout"
    return done.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def summary(samples):
    walls = [w for w, _ in samples]
    cpus = [c for _, c in samples]
    return statistics.median(walls), min(walls), max(walls), statistics.median(cpus)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="+", metavar="REPO", help="checkouts of the repository")
    parser.add_argument("--runs", type=int, default=5, help="timed rebuilds per checkout and command")
    parser.add_argument("--machines", type=int, default=20, help="machines in the crate (20 rows each)")
    parser.add_argument("--release", action="store_true", help="time release builds")
    parser.add_argument(
        "--syntax", default="flat",
        help="flat (tables every version takes) or hierarchical (superstates, entry and exit actions:"
        " needs the hierarchical macro); one for all checkouts or a comma-separated one per checkout",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-verify", action="store_true", help="skip running the crate's tests")
    args = parser.parse_args()
    if args.runs < 1 or args.machines < 1:
        parser.error(f"--runs ({args.runs}) and --machines ({args.machines}) must be at least 1")
    syntaxes = args.syntax.split(",")
    if len(syntaxes) == 1:
        syntaxes *= len(args.repos)
    if len(syntaxes) != len(args.repos) or any(s not in STATES for s in syntaxes):
        parser.error(
            f"--syntax `{args.syntax}`: expected flat or hierarchical, once or once per REPO ({len(args.repos)})"
        )

    work = Path(tempfile.mkdtemp(prefix="breaker-compile-time-"))
    try:
        checkouts = [
            Checkout(repo, work, i, syntax, args) for i, (repo, syntax) in enumerate(zip(args.repos, syntaxes))
        ]
        print(f"{subprocess.run(['rustc', '-V'], capture_output=True, text=True).stdout.strip()}; "
              f"{os.cpu_count()} CPUs; {args.machines} machines of 20 rows, "
              f"{'release' if args.release else 'debug'}, {args.runs} runs; in {work}")
        for c in checkouts:
            wall, _, _, _ = c.cargo("build")
            c.cargo("check")
            print(f"dependencies built for {c.label} in {wall:.1f} s", flush=True)
        for run in range(args.runs):
            # The order flips every run (A B, B A, ...) so that neither checkout always runs
            # right after the other's build.
            order = checkouts if run % 2 == 0 else checkouts[::-1]
            for command in ("build", "check"):
                for c in order:
                    c.rebuild(command)
                    print(f"  run {run + 1} {command:5} {c.label}: {c.times[command][-1][0]:.2f} s", flush=True)
        for c in checkouts:
            lines, size = c.expansion()
            print(f"expanded: {lines} lines, {size / 1024:.0f} KiB for {c.label}")
        if not args.no_verify:
            for c in checkouts:
                c.cargo("test")
            print("the generated crate's tests pass against every checkout")
        print(f"\n{'command':7} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}  checkout")
        for command in ("build", "check"):
            summaries = [summary(c.times[command]) for c in checkouts]
            for c, (median, low, high, cpu) in zip(checkouts, summaries):
                print(f"{command:7} {median:9.2f} {low:7.2f} {high:7.2f} {cpu:7.2f}  {c.label}")
            for c, other in zip(checkouts[1:], summaries[1:]):
                growth = [100 * (o / f - 1) for o, f in zip(other, summaries[0])]
                # The runs of one round are next to each other in time: their ratio is the
                # figure that a load changing over the sitting disturbs least.
                paired = statistics.median(
                    b / a for (a, _), (b, _) in zip(checkouts[0].times[command], c.times[command])
                )
                print(f"{'':7} #{checkouts.index(c) + 1} against #1: paired runs {100 * (paired - 1):+.1f}% "
                      f"(median of the ratios), median {growth[0]:+.1f}%, min {growth[1]:+.1f}%, CPU {growth[3]:+.1f}%")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
