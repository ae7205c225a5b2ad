#!/usr/bin/env python3
"""Compares the benches of two revisions, run alternately: old, new, old, new, ...

Each side (a git revision, or a directory holding a checkout such as a worktree) is built
once into its own target directory, its bench binaries copied aside, and then the chosen
benches run in turn, N rounds of old then new, with criterion's short timings. Every run
is a fresh process, so a slow spell of a shared machine lands on both sides rather than
on one. Prints each round's medians side by side and a summary per benchmark: the median
over the rounds of each side, new ÷ old, and the spread of the per-round ratios.

Python 3 standard library only. From anywhere inside the repository:

    python3 benches/report/ab.py main HEAD --bench closed_call --rounds 4
    python3 benches/report/ab.py /work/main /work/wt-x --bench per_model --filter '1 thread'

The benches pin their own threads (`benches/support`); pass `--taskset 0` to run a side
that predates that under `taskset -c 0` (both sides get the same wrapper).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import load as criterion_results  # noqa: E402  (criterion's JSON, read once)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def git_root():
    here = Path(__file__).resolve().parent
    out = sh(["git", "-C", str(here), "rev-parse", "--show-toplevel"],
             capture_output=True).stdout.strip()
    return Path(out)


class Side:
    """One of the two things compared: where its source is, what it is called."""

    def __init__(self, spec, repo, work, name):
        self.spec = spec
        self.name = name  # "old" or "new"
        path = Path(spec)
        if path.is_dir():
            self.source = path.resolve()
            self.label = f"{path.resolve().name} (directory)"
            self.checkout = None
        else:
            commit = sh(["git", "-C", str(repo), "rev-parse", "--verify", f"{spec}^{{commit}}"],
                        capture_output=True).stdout.strip()
            self.label = f"{spec} ({commit[:10]})"
            self.source = work / f"src-{name}-{commit[:12]}"
            self.checkout = (repo, commit)
        self.target = work / f"target-{name}"
        self.criterion = work / f"criterion-{name}"
        self.bin = work / f"bin-{name}"

    def prepare(self):
        """Exports the revision's tree (once; `git archive`, so no worktree is registered)."""
        if self.checkout is None or self.source.exists():
            return
        repo, commit = self.checkout
        partial = self.source.with_name(self.source.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.Popen(["git", "-C", str(repo), "archive", commit],
                                   stdout=subprocess.PIPE)
        # `-m`: the files dated now, not at the commit, so no build left in a target dir
        # looks newer than them.
        sh(["tar", "-x", "-m", "-C", str(partial)], stdin=archive.stdout)
        if archive.wait() != 0:
            sys.exit(f"git archive {commit} failed")
        partial.rename(self.source)

    def build(self, benches, cargo_flags, seed):
        """Builds the bench binaries into this side's target directory; copies them aside."""
        if seed and not self.target.exists():
            # Cargo reuses the seed's registry crates (their fingerprints do not depend on
            # where the workspace is) and rebuilds the workspace's own.
            print(f"[{self.name}] seeding {self.target} from {seed}", file=sys.stderr)
            (self.target / "release").parent.mkdir(parents=True)
            sh(["cp", "-a", "--reflink=auto", str(seed / "release"),
                str(self.target / "release")])
        env = dict(os.environ, CARGO_TARGET_DIR=str(self.target))
        # Cargo tells a workspace crate's builds apart by its path inside the workspace, not
        # by where the workspace is, and trusts a build newer than the sources: one left here
        # by another checkout (or copied from the seed) could pass for this one's. The
        # workspace's own crates are therefore always rebuilt; registry crates are reused.
        metadata = json.loads(sh(["cargo", "metadata", "--no-deps", "--format-version", "1"],
                                 cwd=self.source, env=env, capture_output=True).stdout)
        clean = ["cargo", "clean", "--release", "--quiet"]
        for package in metadata["packages"]:
            clean += ["-p", package["name"]]
        sh(clean, cwd=self.source, env=env)
        cmd = ["cargo", "bench", "--no-run", "--message-format=json-render-diagnostics",
               *cargo_flags]
        for bench in benches:
            cmd += ["--bench", bench]
        print(f"[{self.name}] building {', '.join(benches)} of {self.label} "
              f"into {self.target}", file=sys.stderr)
        out = sh(cmd, cwd=self.source, env=env, stdout=subprocess.PIPE).stdout
        found = {}
        for line in out.splitlines():
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            target = msg.get("target") or {}
            if (msg.get("reason") == "compiler-artifact" and msg.get("executable")
                    and "bench" in target.get("kind", []) and target.get("name") in benches):
                found[target["name"]] = msg["executable"]
        missing = [b for b in benches if b not in found]
        if missing:
            sys.exit(f"[{self.name}] no bench binary for {missing} in {self.label}")
        self.bin.mkdir(parents=True, exist_ok=True)
        self.binaries = {}
        for bench, exe in found.items():
            copy = self.bin / bench
            shutil.copy2(exe, copy)
            self.binaries[bench] = copy

    def run(self, bench, criterion_args, wrapper, log):
        """Runs one bench binary; returns {benchmark id: (median, lower, upper)} in ns."""
        env = dict(os.environ, CRITERION_HOME=str(self.criterion))
        env.pop("CARGO_TARGET_DIR", None)
        start = time.time()
        cmd = [*wrapper, str(self.binaries[bench]), "--bench", *criterion_args]
        with open(log, "a") as f:
            f.write(f"$ {' '.join(cmd)}\n")
            f.flush()
            try:
                sh(cmd, cwd=self.source, env=env, stdout=f, stderr=subprocess.STDOUT)
            except subprocess.CalledProcessError as e:
                sys.exit(f"[{self.name}] {bench} of {self.label} failed "
                         f"(exit status {e.returncode}); its output is in {log}")
        return read_results(self.criterion, since=start)


def read_results(criterion_dir, since):
    """The medians criterion wrote under `criterion_dir` since `since` (its `new/` dirs)."""
    return {r.full_id: (r.median, r.lower, r.upper)
            for r in criterion_results(criterion_dir) if r.mtime >= since - 1}


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1000:
        return f"{ns / 1000:.3g} µs"
    return f"{ns:.3g} ns" if ns >= 10 else f"{ns:.2f} ns"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.3f}"


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w)
                       for i, (x, w) in enumerate(zip(row, widths)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("old", help="a git revision, or a directory holding a checkout")
    parser.add_argument("new", help="a git revision, or a directory holding a checkout")
    parser.add_argument("--bench", action="append", required=True,
                        help="a bench target (benches/<name>.rs); repeat for several")
    parser.add_argument("--filter", default="",
                        help="criterion's filter: a regex on `group/function` (default: all)")
    parser.add_argument("--rounds", type=int, default=3, help="old+new pairs (default 3)")
    parser.add_argument("--warm-up-time", type=float, default=1.0, help="s (default 1)")
    parser.add_argument("--measurement-time", type=float, default=2.0, help="s (default 2)")
    parser.add_argument("--sample-size", type=int, default=None,
                        help="criterion's sample count (default: criterion's, 100)")
    parser.add_argument("--cargo-flags", default="--all-features",
                        help="flags for `cargo bench --no-run` (default: --all-features)")
    parser.add_argument("--taskset", default=None, metavar="CPUS",
                        help="run every bench under `taskset -c CPUS`")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the checkouts, target dirs and logs go (kept between "
                        "runs so a rebuild is incremental; default: "
                        "$TMPDIR/breaker-ab-<repo name>)")
    parser.add_argument("--seed-target", type=Path, default=None, metavar="DIR",
                        help="a target dir whose `release/` already holds the dependencies "
                        "built (such as the repository's own `target`): copied into a side's "
                        "target dir the first time, to save building them twice")
    parser.add_argument("--no-build", action="store_true",
                        help="reuse the binaries copied aside by the previous run")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    repo = git_root()
    work = (args.work_dir or Path(os.environ.get("TMPDIR", "/tmp")) / f"breaker-ab-{repo.name}")
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    old = Side(args.old, repo, work, "old")
    new = Side(args.new, repo, work, "new")
    sides = [old, new]

    for side in sides:
        side.prepare()
        if args.no_build:
            side.binaries = {b: side.bin / b for b in args.bench}
            missing = [str(p) for p in side.binaries.values() if not p.exists()]
            if missing:
                sys.exit(f"--no-build, but no binary at {missing}")
        else:
            side.build(args.bench, args.cargo_flags.split(), args.seed_target)

    criterion_args = ["--warm-up-time", str(args.warm_up_time),
                      "--measurement-time", str(args.measurement_time), "--noplot"]
    if args.sample_size:
        criterion_args += ["--sample-size", str(args.sample_size)]
    if args.filter:
        criterion_args.append(args.filter)
    wrapper = ["taskset", "-c", args.taskset] if args.taskset else []
    log = work / f"ab-{time.strftime('%Y%m%d-%H%M%S')}.log"

    print(f"old: {old.label}\nnew: {new.label}\n"
          f"benches: {', '.join(args.bench)}; filter: {args.filter or '(all)'}; "
          f"{args.rounds} rounds of old then new; warm-up {args.warm_up_time} s, "
          f"measurement {args.measurement_time} s; criterion output in {log}\n")
    sys.stdout.flush()

    # rounds[i][name] = {benchmark id: (median, lower, upper)}
    rounds = []
    order = []
    for i in range(args.rounds):
        medians = {}
        for side in sides:
            merged = {}
            for bench in args.bench:
                merged.update(side.run(bench, criterion_args, wrapper, log))
            medians[side.name] = merged
            for bid in merged:
                if bid not in order:
                    order.append(bid)
        rounds.append(medians)
        rows = []
        for bid in order:
            o = medians["old"].get(bid, (None,))[0]
            n = medians["new"].get(bid, (None,))[0]
            rows.append([bid, fmt_ns(o), fmt_ns(n), fmt_ratio(n / o if o and n else None)])
        print(f"round {i + 1} of {args.rounds} (medians; new ÷ old)")
        print(table(["benchmark", "old", "new", "new÷old"], rows))
        print()
        sys.stdout.flush()

    if not order:
        sys.exit(f"no benchmark matched the filter {args.filter!r}; see {log}")

    rows = []
    for bid in order:
        olds = [r["old"][bid][0] for r in rounds if bid in r["old"]]
        news = [r["new"][bid][0] for r in rounds if bid in r["new"]]
        ratios = [r["new"][bid][0] / r["old"][bid][0] for r in rounds
                  if bid in r["old"] and bid in r["new"] and r["old"][bid][0] > 0]
        if not olds or not news:
            rows.append([bid, fmt_ns(statistics.median(olds) if olds else None),
                         fmt_ns(statistics.median(news) if news else None), "-", "-", "-"])
            continue
        mo, mn = statistics.median(olds), statistics.median(news)
        faster = sum(1 for r in ratios if r < 1)
        rows.append([bid, fmt_ns(mo), fmt_ns(mn), fmt_ratio(mn / mo),
                     f"{min(ratios):.3f}–{max(ratios):.3f}", f"{faster}/{len(ratios)}"])
    print(f"summary over {args.rounds} rounds: each side's median of its round medians; "
          "the range of the per-round ratios; in how many rounds new was faster")
    print(table(["benchmark", "old", "new", "new÷old", "per-round new÷old", "new faster"],
                rows))
    print("\nA ratio range that spans 1.000 means the rounds disagree: no difference "
          "shown at this length; run more or longer rounds.")


if __name__ == "__main__":
    main()
