#!/usr/bin/env python3
"""Writes BENCHMARKS.md and benches/report/chart.svg from criterion's output.

Reads every `<criterion dir>/**/new/benchmark.json` (the names) and `estimates.json` (the
median per call, in ns) and `sample.json` (how long was measured) left by the last
`cargo bench`, and writes: the machine, the command, a table of medians and ratios per
group, the targets with met / not met, a chart (log scale) of every group, and the
hand-written analysis in benches/report/notes.md (included as it is, if there is one).

The floor check: every group has an empty-loop row (`reference: empty loop`, the group's
own loop with nothing called), and every other row must cost at least FLOOR_RATIO times
it. A row that does not is marked "measures nothing" in the tables, a target that rests on
it is not judged, and the generator exits with status 1 once the report is written; so
does a group without an empty loop.

Python 3 standard library only. From the workspace root:

    python3 benches/report/generate.py                      # $CARGO_TARGET_DIR/criterion
    python3 benches/report/generate.py --criterion target/criterion --draft "smoke run"

Competitors are told apart by the prefix of their criterion function name: `ours:`,
`baseline:`, `peer:`, `reference:` (see the bench files).
"""

import argparse
import datetime
import html
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DEFAULT_COMMAND = "cargo bench --workspace --all-features --bench '*'"

# Each group's floor: its loop, an opaque trivial subject, nothing called.
EMPTY_LOOP = "reference: empty loop"
# How much more than the empty loop a row must cost. A row whose work the compiler folded
# or hoisted out of the loop costs what the empty loop costs, give or take the noise
# between two rows of one run; the cheapest honest row (one load and three stores) costs
# about twice it. A ratio, not a margin in ns, because a change of clock speed scales the
# loop and the row alike.
FLOOR_RATIO = 1.5
# Rows that do next to nothing by design (what a call costs with no breaker at all): shown,
# not held to the floor.
NEAR_EMPTY_BY_DESIGN = {"reference: unguarded"}

# The groups in report order: (criterion group id, title, the row the ratios are taken to).
GROUPS = [
    ("closed call, 1 thread", "Closed call (acquire + success), 1 thread",
     "ours: acquire + success"),
    ("closed call, 2 threads", "Closed call (acquire + success), 2 threads on one breaker",
     "ours: acquire + success"),
    ("open rejection", "Open rejection, 1 thread", "ours: acquire + success"),
    ("per model (8, round robin), 1 thread", "Per model, 8 models round robin, 1 thread",
     "ours: #[derive(CircuitBreakers)]"),
    ("per model (8, round robin), 2 threads", "Per model, 8 models round robin, 2 threads",
     "ours: #[derive(CircuitBreakers)]"),
    ("registry", "Registry by string key (8 / 1,000 / 10,000 keys) vs the enum path, 1 thread",
     "ours: enum path (8 variants)"),
    ("registry, 2 threads", "Registry by string key (8 / 10,000 keys), 2 threads",
     "reference: std HashMap read by 2 threads"),
    ("closed call: attribute vs by hand", "`#[circuit_breaker]` function vs guarded by hand",
     "ours: by hand (acquire + success)"),
]

GROUP_NOTES = {
    "closed call, 2 threads": "Time per call on one thread while the other thread makes the "
    "same calls on the same breaker (two scoped threads released together, N calls each, "
    "the slower thread's time / N): equal to the 1-thread time when calls do not contend.",
    "per model (8, round robin), 2 threads": "As for the closed call on 2 threads; the "
    "threads are half a lap apart, on different models at any moment.",
    "registry": "Keys `tenant-NNNNN/model-N`, called round robin; `get_or_insert(key)"
    ".acquire()` pins the map and takes two references to the breaker (the reference's and "
    "the permit's, which may outlive it), `acquire(key)` pins once and takes the permit's, "
    "`pinned` holds one `pin()` for the whole measurement and takes none. The "
    "RwLock-HashMap baseline at the same sizes, and the floor of any hashed lookup: a plain "
    "`std` HashMap with the same hasher, one thread, no pin, no recency, no eviction.",
    "registry, 2 threads": "As the registry group, on two threads at once half a lap apart "
    "(time per call on a thread, as for the closed call on 2 threads); each thread holds a "
    "`pin()` of its own in the pinned row. The floor: the same `std` HashMap read by both "
    "threads.",
    "open rejection": "Every competitor opened by 5 failures beforehand, with a cooldown of a "
    "day; every measured call is a rejection.",
}

CATEGORIES = [
    # prefix, legend, colour
    ("ours", "ours (breaker)", "#1f6fb4"),
    ("baseline", "baselines (seed-shaped)", "#e07b1a"),
    ("peer", "peer crates", "#2e9a4a"),
    ("reference", "reference (no breaker)", "#8c8c8c"),
]


def category(function_id):
    # "ours: call", and variants of ours named "ours, upkeep 1 ms: ...".
    prefix = function_id.split(":", 1)[0].split(",", 1)[0].strip()
    for name, _, _ in CATEGORIES:
        if prefix == name:
            return name
    return "reference"


def colour(cat):
    return next(c for name, _, c in CATEGORIES if name == cat)


class Result:
    def __init__(self, meta, estimates, sample, mtime):
        self.group = meta["group_id"]
        self.function = meta["function_id"] or ""
        self.value = meta.get("value_str")
        self.full_id = meta["full_id"]
        median = estimates["median"]
        self.median = median["point_estimate"]
        self.lower = median["confidence_interval"]["lower_bound"]
        self.upper = median["confidence_interval"]["upper_bound"]
        self.measured_s = sum(sample.get("times", [])) / 1e9
        self.mtime = mtime
        self.category = category(self.function)

    @property
    def label(self):
        if self.value:
            return f"{self.function}, {format_count(self.value)} keys"
        return self.function


def format_count(value):
    try:
        return f"{int(value):,}"
    except ValueError:
        return value


def load(criterion_dir):
    results = []
    for meta_path in sorted(criterion_dir.glob("**/new/benchmark.json")):
        new = meta_path.parent
        try:
            meta = json.loads(meta_path.read_text())
            estimates = json.loads((new / "estimates.json").read_text())
            sample_path = new / "sample.json"
            sample = json.loads(sample_path.read_text()) if sample_path.exists() else {}
        except (OSError, json.JSONDecodeError) as e:
            print(f"skipping {new}: {e}", file=sys.stderr)
            continue
        mtime = (new / "estimates.json").stat().st_mtime
        results.append(Result(meta, estimates, sample, mtime))
    return results


def fmt_ns(ns):
    if ns is None:
        return "n/a"
    if ns >= 1000:
        return f"{ns / 1000:.2f} µs"
    if ns >= 100:
        return f"{ns:.0f} ns"
    if ns >= 10:
        return f"{ns:.1f} ns"
    return f"{ns:.2f} ns"


def fmt_ratio(r):
    if r is None:
        return "n/a"
    if r >= 100:
        return f"{r:.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


# ---------------------------------------------------------------------------------------
# The machine


def machine():
    lines = []
    model, mhz, cache, hypervisor, cpus = None, None, None, False, 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "processor":
                cpus += 1
            elif key == "model name" and model is None:
                model = value
            elif key == "cpu MHz" and mhz is None:
                mhz = value
            elif key == "cache size" and cache is None:
                cache = value
            elif key == "flags" and "hypervisor" in value.split():
                hypervisor = True
    except OSError:
        pass
    nproc = run(["nproc"]) or str(os.cpu_count())
    lines.append(f"- CPU: {model or 'unknown'}"
                 + (f", {float(mhz):.0f} MHz" if mhz else "")
                 + (f", {cache} cache per core (as /proc/cpuinfo reports it)" if cache else ""))
    lines.append(f"- CPUs: {cpus} in /proc/cpuinfo, `nproc` = {nproc}"
                 + ("; a virtual machine (the `hypervisor` flag)" if hypervisor else ""))
    lines.append(f"- OS: {platform.system()} {platform.release()} ({platform.machine()})")
    rustc = run(["rustc", "--version"])
    if rustc:
        lines.append(f"- Compiler: `{rustc}`, the `bench` profile (release)")
    return "\n".join(lines)


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# ---------------------------------------------------------------------------------------
# Targets


class Index:
    def __init__(self, results, failing=()):
        self.by_id = {r.full_id: r for r in results}
        self.failing = set(failing)
        self.used = set()

    def median(self, group, function, value=None):
        full_id = f"{group}/{function}" + (f"/{value}" if value is not None else "")
        self.used.add(full_id)
        r = self.by_id.get(full_id)
        return r.median if r else None

    def take_floor_failures(self):
        """Whether a row looked up since the last call failed the floor check."""
        failed = bool(self.used & self.failing)
        self.used = set()
        return failed


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def targets(ix):
    """(target, measured, met) rows; met is True, False, None (not in this run), "floor" (a
    row it compares failed the floor check), "test" or "info"."""
    rows = []

    def judged(value, met):
        if ix.take_floor_failures():
            return "floor"
        return None if value is None else met

    def at_most(name, value, limit, shown):
        rows.append((name, shown(value), judged(value, value is not None and value <= limit)))

    def at_least(name, value, limit, shown):
        rows.append((name, shown(value), judged(value, value is not None and value >= limit)))

    ours = "ours: acquire + success"
    for group, threads in [("closed call, 1 thread", "1 thread"),
                           ("closed call, 2 threads", "2 threads")]:
        at_most(f"Closed call, {threads}: ours ≤ 1.0x the atomics baseline",
                ratio(ix.median(group, ours), ix.median(group, "baseline: atomics (seed 000)")),
                1.0, lambda r: f"ours ÷ atomics = {fmt_ratio(r)}")
        at_most(f"Closed call, {threads}: ours ≤ 0.4x failsafe",
                ratio(ix.median(group, ours), ix.median(group, "peer: failsafe 1.3")), 0.4,
                lambda r: f"ours ÷ failsafe = {fmt_ratio(r)}")
    g = "open rejection"
    at_most("Open rejection: ours ≤ 0.3x failsafe",
            ratio(ix.median(g, ours), ix.median(g, "peer: failsafe 1.3")), 0.3,
            lambda r: f"ours ÷ failsafe = {fmt_ratio(r)}")
    at_most("Open rejection with the opt-in clock upkeep (`start_upkeep`): ≤ 0.3x failsafe",
            ratio(ix.median(g, "ours, upkeep 1 ms: acquire + success"),
                  ix.median(g, "peer: failsafe 1.3")), 0.3,
            lambda r: f"ours (upkeep) ÷ failsafe = {fmt_ratio(r)}")
    for group, threads in [("per model (8, round robin), 1 thread", "1 thread"),
                           ("per model (8, round robin), 2 threads", "2 threads")]:
        at_least(f"Per model, {threads}: enum ≥ 15x faster than RwLock-HashMap",
                 ratio(ix.median(group, "baseline: RwLock<HashMap> (seed 001)"),
                       ix.median(group, "ours: #[derive(CircuitBreakers)]")), 15.0,
                 lambda r: f"RwLock-HashMap ÷ enum = {fmt_ratio(r)}")
    g = "registry"
    enum = ix.median(g, "ours: enum path (8 variants)")
    at_most("Registry at 10,000 keys: ≤ 3x the enum path (`get_or_insert` per call)",
            ratio(ix.median(g, "ours: Registry get_or_insert", "10000"), enum), 3.0,
            lambda r: f"registry ÷ enum = {fmt_ratio(r)}")
    for label, name in [("`acquire(key)`, one pin", "ours: Registry acquire"),
                        ("a held `pin()`", "ours: Registry pinned"),
                        ("the floor: `std` HashMap, 1 thread, no pin or eviction",
                         "reference: std HashMap, 1 thread, no pin or eviction")]:
        r = ratio(ix.median(g, name, "10000"), enum)
        if r is not None:
            rows.append((f"(for information) at 10,000 keys, {label}",
                         f"÷ enum = {fmt_ratio(r)}", "info"))
    floor_1 = "reference: std HashMap, 1 thread, no pin or eviction"
    for size, label in [("8", "8"), ("10000", "10,000")]:
        floor = ix.median(g, floor_1, size)
        at_most(f"Registry (a held `pin()`) at {label} keys, 1 thread: ≤ 1.5x the 1-thread "
                "`std` HashMap floor",
                ratio(ix.median(g, "ours: Registry pinned", size), floor), 1.5,
                lambda r: f"registry ÷ floor = {fmt_ratio(r)}")
        at_most(f"Registry (a held `pin()`) at {label} keys, 2 threads: ≤ 1.5x the 1-thread "
                "`std` HashMap floor",
                ratio(ix.median("registry, 2 threads", "ours: Registry pinned", size), floor),
                1.5, lambda r: f"registry ÷ floor = {fmt_ratio(r)}")
        for threads, group in [("1 thread", g), ("2 threads", "registry, 2 threads")]:
            r = ratio(ix.median(group, "ours: Registry acquire", size), floor)
            if r is not None:
                rows.append((f"(for information) `acquire(key)` at {label} keys, {threads}",
                             f"÷ 1-thread floor = {fmt_ratio(r)}", "info"))
        r = ratio(ix.median("registry, 2 threads", "ours: Registry pinned", size),
                  ix.median("registry, 2 threads", "reference: std HashMap read by 2 threads",
                            size))
        if r is not None:
            rows.append((f"(for information) a held `pin()` at {label} keys, 2 threads",
                         f"÷ 2-thread floor = {fmt_ratio(r)}", "info"))
    flat = ratio(ix.median(g, "ours: Registry get_or_insert", "10000"),
                 ix.median(g, "ours: Registry get_or_insert", "8"))
    floor = ratio(ix.median(g, "reference: std HashMap, 1 thread, no pin or eviction", "10000"),
                  ix.median(g, "reference: std HashMap, 1 thread, no pin or eviction", "8"))
    if flat is not None:
        rows.append(("(for information) flatness, 10,000 keys ÷ 8 keys",
                     f"registry {fmt_ratio(flat)}, std HashMap floor {fmt_ratio(floor)}",
                     "info"))
    ix.take_floor_failures()  # the information rows above are not judged
    g = "closed call: attribute vs by hand"
    a = ix.median(g, "ours: #[circuit_breaker]")
    h = ix.median(g, "ours: by hand (acquire + success)")
    diff = None if a is None or h is None else a - h
    at_most("Annotated function within 1 ns of the hand-guarded one", diff, 1.0,
            lambda d: "n/a" if d is None else f"annotated − by hand = {d:+.2f} ns")
    rows.append(("Zero allocations per call in Closed and in Open",
                 "not a bench: `tests/breaker_alloc.rs` (counting global allocator), "
                 "run by `cargo test`", "test"))
    return rows


def status(met):
    return {True: "**met**", False: "**not met**", None: "not in this run",
            "test": "see the test", "info": "(no target)",
            "floor": "**not judged**: a row it compares **measures nothing**"}[met]


# ---------------------------------------------------------------------------------------
# The floor check


class Floor:
    """Every row of every group against its group's empty loop."""

    def __init__(self, groups):
        self.empty = {}      # group -> its empty-loop row
        self.over = {}       # full_id -> the row's median ÷ its group's empty loop
        self.failing = []    # rows under FLOOR_RATIO times their group's empty loop
        self.no_empty = []   # groups without an empty-loop row
        for group, rows in groups:
            empty = next((r for r in rows if r.function == EMPTY_LOOP and not r.value), None)
            if empty is None or empty.median <= 0:
                self.no_empty.append(group)
                continue
            self.empty[group] = empty
            for r in rows:
                if r is empty:
                    continue
                self.over[r.full_id] = r.median / empty.median
                if (r.function not in NEAR_EMPTY_BY_DESIGN
                        and r.median < FLOOR_RATIO * empty.median):
                    self.failing.append(r)

    def failed(self, r):
        return any(f is r for f in self.failing)

    @property
    def ok(self):
        return not self.failing and not self.no_empty

    def section(self):
        out = ["## Floor check: every row against its group's empty loop", "",
               f"Each group measures `{EMPTY_LOOP}`: the group's own loop, with the subject "
               "made opaque (`black_box`) as every row does with its breaker, and nothing "
               f"called. Every other row must cost at least {FLOOR_RATIO:g}x it; a row that "
               "does not measures nothing but the loop (its work folded or hoisted away by "
               "the compiler, or hidden in the loop's own cost), and a target that rests on "
               "it is not judged. `generate.py` exits non-zero when a row fails."
               f" Exempt, as doing next to nothing by design: "
               + ", ".join(f"`{n}`" for n in sorted(NEAR_EMPTY_BY_DESIGN)) + ".", ""]
        if self.ok:
            out += [f"Every row costs at least {FLOOR_RATIO:g}x its group's empty loop.", ""]
        for r in self.failing:
            out.append(f"- **measures nothing**: {group_meta(r.group)[0]}: `{r.label}`, "
                       f"{fmt_ns(r.median)}, {fmt_ratio(self.over[r.full_id])} the empty "
                       f"loop's {fmt_ns(self.empty[r.group].median)}")
        for g in self.no_empty:
            out.append(f"- **no empty loop** in the group {group_meta(g)[0]}: its rows are "
                       "not checked")
        if not self.ok:
            out.append("")
        return "\n".join(out)


# ---------------------------------------------------------------------------------------
# Tables


def ordered_groups(results):
    present = {}
    for r in results:
        present.setdefault(r.group, []).append(r)
    known = [g for g, _, _ in GROUPS if g in present]
    extra = sorted(g for g in present if g not in dict((g, 0) for g, _, _ in GROUPS))
    return [(g, present[g]) for g in known + extra]


def sort_rows(rows):
    order = {name: i for i, (name, _, _) in enumerate(CATEGORIES)}
    def key(r):
        count = int(r.value) if r.value and r.value.isdigit() else 0
        return (order.get(r.category, 9), r.function.lower(), count)
    return sorted(rows, key=key)


def group_meta(group):
    for g, title, ref in GROUPS:
        if g == group:
            return title, ref
    return group, None


def table(group, rows, floor):
    title, ref_name = group_meta(group)
    ref = next((r for r in rows if r.function == ref_name and not r.value), None)
    out = [f"### {title}", ""]
    if group in GROUP_NOTES:
        out += [GROUP_NOTES[group], ""]
    if ref:
        out.append(f"Ratios against `{ref.function}` ({fmt_ns(ref.median)}).")
        out.append("")
    out.append("| competitor | median per call | 95% CI of the median | this ÷ ours | ours ÷ this "
               "| this ÷ empty loop |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for r in sort_rows(rows):
        this_over = ratio(r.median, ref.median) if ref else None
        ours_over = ratio(ref.median, r.median) if ref else None
        name = md_escape(r.label)
        if r is ref:
            name = f"**{name}**"
        if floor.failed(r):
            name += " — **measures nothing**"
        over_empty = floor.over.get(r.full_id)
        out.append(f"| {name} | {fmt_ns(r.median)} | {fmt_ns(r.lower)} – "
                   f"{fmt_ns(r.upper)} | {fmt_ratio(this_over)} | {fmt_ratio(ours_over)} "
                   f"| {fmt_ratio(over_empty) if over_empty is not None else '–'} |")
    out.append("")
    return "\n".join(out)


def md_escape(text):
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------------------------------
# The chart


def tick(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:g} µs"
    return f"{ns:g} ns"


def chart(groups, path):
    width, label_w, right_pad = 1000, 360, 90
    bar_h, gap, group_gap, header = 16, 4, 34, 70
    plot_w = width - label_w - right_pad
    values = [r.median for _, rows in groups for r in rows if r.median > 0]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    span = math.log10(hi) - math.log10(lo)

    def x(ns):
        return label_w + (math.log10(ns) - math.log10(lo)) / span * plot_w

    height = header + sum(group_gap + len(rows) * (bar_h + gap) for _, rows in groups) + 40
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
           f'font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="16" '
           f'font-weight="bold">breaker: median time per call (log scale, lower is faster)</text>']
    lx = label_w
    for name, legend, col in CATEGORIES:
        svg.append(f'<rect x="{lx}" y="34" width="12" height="12" fill="{col}"/>')
        svg.append(f'<text x="{lx + 16}" y="44">{html.escape(legend)}</text>')
        lx += 30 + 7 * len(legend)
    y = header
    top = y
    for group, rows in groups:
        title, _ = group_meta(group)
        y += group_gap
        svg.append(f'<text x="8" y="{y - 10}" font-weight="bold">'
                   f'{html.escape(title.replace("`", ""))}</text>')
        for r in sort_rows(rows):
            w = max(x(r.median) - label_w, 1)
            svg.append(f'<text x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end">'
                       f'{html.escape(r.label)}</text>')
            svg.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                       f'fill="{colour(r.category)}"/>')
            svg.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}">'
                       f'{html.escape(fmt_ns(r.median))}</text>')
            y += bar_h + gap
    bottom = y + 6
    decade = lo
    while decade <= hi * 1.0001:
        gx = x(decade)
        svg.append(f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{bottom}" '
                   f'stroke="#bbbbbb" stroke-dasharray="3,3"/>')
        svg.append(f'<text x="{gx:.1f}" y="{bottom + 16}" text-anchor="middle">'
                   f'{tick(decade)}</text>')
        decade *= 10
    svg.append("</svg>")
    path.write_text("\n".join(svg) + "\n")


# ---------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target_dir = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    parser.add_argument("--criterion", type=Path, default=Path(target_dir) / "criterion",
                        help="criterion's output (default: $CARGO_TARGET_DIR/criterion)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--svg", type=Path, default=ROOT / "benches" / "report" / "chart.svg")
    parser.add_argument("--command", default=DEFAULT_COMMAND,
                        help="the command the figures come from, as printed in the report")
    parser.add_argument("--max-age-hours", type=float, default=6.0,
                        help="leave out results older than the newest by more than this")
    parser.add_argument("--draft", default=None,
                        help="mark the report a draft, with this reason")
    args = parser.parse_args()

    results = load(args.criterion)
    if not results:
        sys.exit(f"no criterion results under {args.criterion}: run `cargo bench` first")
    # Results of benchmarks since renamed or no longer run stay in criterion's directory:
    # keep those of the last run only.
    newest = max(r.mtime for r in results)
    stale = [r for r in results if newest - r.mtime > args.max_age_hours * 3600]
    results = [r for r in results if newest - r.mtime <= args.max_age_hours * 3600]
    for r in stale:
        print(f"left out (older than the last run by more than {args.max_age_hours} h): "
              f"{r.full_id}", file=sys.stderr)
    groups = ordered_groups(results)
    floor = Floor(groups)
    ix = Index(results, failing=(r.full_id for r in floor.failing))

    first = min(r.mtime for r in results)
    last = max(r.mtime for r in results)
    measured = sorted(r.measured_s for r in results)
    when = datetime.datetime.fromtimestamp(last, datetime.timezone.utc)

    md = ["# Benchmarks", ""]
    if args.draft:
        md += [f"> **Draft: {args.draft}.** The figures below are not the measurement of "
               "record; regenerate after a full run (see the end of this file).", ""]
    md += ["What a circuit breaker costs per call: `breaker` against the two reference designs "
           "it replaces (written fresh in their shape in [`benches/baselines`](benches/baselines)) "
           "and the peer crates `failsafe` 1.3 and `recloser` 1.4, in one run on one machine. "
           "Each figure is criterion's median time per call; every ratio is between two "
           "figures of the same run. The benches pin their measuring thread to CPU 0, and "
           "a 2-thread group's threads to CPUs 0 and 1 (`benches/support`).", "",
           "![median time per call, by group](benches/report/chart.svg)", "",
           "## Machine", "", machine(), "",
           "## Command", "", "```sh", "export CARGO_TARGET_DIR=/work/target-bench",
           args.command, "python3 benches/report/generate.py", "```", "",
           f"Results written between {fmt_time(first)} and {fmt_time(last)} "
           f"({(last - first) / 60:.1f} min); measured time per benchmark "
           f"{measured[0]:.1f}–{measured[-1]:.1f} s (criterion's sampling, excluding warm-up).",
           ""]
    if last - first > 3600:
        md += ["> Warning: the results span more than an hour; they may not come from one "
               "run. Re-run every bench at once.", ""]
    if stale:
        md += [f"{len(stale)} older results in criterion's directory (benchmarks renamed or "
               "not run this time) are left out.", ""]
    md += ["## Targets: ours against the baselines, the peers and the enum path", "",
           "| target | measured | status |", "|---|---|---|"]
    for name, measured_text, met in targets(ix):
        md.append(f"| {md_escape(name)} | {md_escape(measured_text)} | {status(met)} |")
    md += ["", floor.section(), "## Results by group", ""]
    for group, rows in groups:
        md.append(table(group, rows, floor))
    notes = Path(__file__).resolve().parent / "notes.md"
    if notes.exists():
        md += [notes.read_text().strip(), ""]
    md += ["## Competitors", "",
           "- **ours**: `breaker`'s `CircuitBreaker` (`acquire()` then `Permit::success()`, "
           "or `call`), the `#[derive(CircuitBreakers)]` enum, the keyed `Registry`, the "
           "`#[circuit_breaker]` attribute.",
           "- **baseline: atomics (seed 000)**: three atomics and a probe flag, the system "
           "clock (`SystemTime`) read per rejected call, three stores per success "
           "([`benches/baselines/atomics.rs`](benches/baselines/atomics.rs)).",
           "- **baseline: RwLock&lt;HashMap&gt; (seed 001)**: per-model state in "
           "`parking_lot::RwLock<HashMap<String, State>>`, the write lock and a `String` key "
           "per check, the write lock per report "
           "([`benches/baselines/rwlock_map.rs`](benches/baselines/rwlock_map.rs)).",
           "- **peer: failsafe 1.3**: `consecutive_failures(5, constant(30 s))`, "
           "`is_call_permitted()` then `on_success()` (a mutex per step).",
           "- **peer: recloser 1.4**: `call()` (its only synchronous API), a failure rate of "
           "100% over a window of 5 calls, 30 s open.",
           "- `tower-resilience-circuitbreaker` is not measured: its only entry point is a "
           "`tower::Service` whose `call` boxes a future and takes a `tokio::sync::Mutex`; "
           "its breaker (`Circuit`) is private, so there is no synchronous call to compare.",
           "",
           "## Regenerating", "",
           "Run every bench in one go on a quiet machine, then the generator, which reads "
           "`$CARGO_TARGET_DIR/criterion/**/new/` and rewrites this file and the chart:", "",
           "```sh", "export CARGO_TARGET_DIR=/work/target-bench", args.command,
           "python3 benches/report/generate.py", "```", ""]
    args.out.write_text("\n".join(md))
    chart(groups, args.svg)
    print(f"wrote {args.out} and {args.svg} from {len(results)} results "
          f"(run of {when:%Y-%m-%d %H:%M} UTC)")
    if not floor.ok:
        for r in floor.failing:
            print(f"measures nothing: {r.full_id}: {fmt_ns(r.median)}, "
                  f"{fmt_ratio(floor.over[r.full_id])} its group's empty loop "
                  f"(at least {FLOOR_RATIO:g}x required)", file=sys.stderr)
        for g in floor.no_empty:
            print(f"no `{EMPTY_LOOP}` row in the group {g!r}", file=sys.stderr)
        sys.exit(1)


def fmt_time(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")


if __name__ == "__main__":
    main()
