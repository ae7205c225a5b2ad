#!/usr/bin/env python3
"""Tests of generate.py's floor check, on criterion output written here by hand.

    python3 benches/report/test_generate.py
"""

import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

GENERATE = Path(__file__).resolve().parent / "generate.py"
ONE_THREAD = "closed call, 1 thread"
MARK = "— **measures nothing**"


def write_result(root, group, function, median):
    """One benchmark's `new/` directory, as criterion leaves it."""
    new = root / group.replace(":", "_") / function.replace(":", "_") / "new"
    new.mkdir(parents=True)
    (new / "benchmark.json").write_text(json.dumps({
        "group_id": group, "function_id": function, "value_str": None,
        "full_id": f"{group}/{function}"}))
    ci = {"lower_bound": median * 0.99, "upper_bound": median * 1.01}
    (new / "estimates.json").write_text(json.dumps({
        "median": {"point_estimate": median, "confidence_interval": ci}}))
    (new / "sample.json").write_text(json.dumps({"times": [1e9]}))


class FloorCheck(unittest.TestCase):
    def generate(self, rows):
        """Runs generate.py on `rows` ({group: {function: median ns}}); (status, report)."""
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for group, functions in rows.items():
                for function, median in functions.items():
                    write_result(tmp / "criterion", group, function, median)
            done = subprocess.run(
                [sys.executable, str(GENERATE), "--criterion", str(tmp / "criterion"),
                 "--out", str(tmp / "BENCHMARKS.md"), "--svg", str(tmp / "chart.svg")],
                capture_output=True, text=True)
            report = (tmp / "BENCHMARKS.md").read_text()
        return done.returncode, report, done.stderr

    def closed_call(self, atomics):
        return {ONE_THREAD: {"reference: empty loop": 0.5,
                             "ours: acquire + success": 3.0,
                             "baseline: atomics (seed 000)": atomics,
                             "peer: failsafe 1.3": 20.0}}

    def test_rows_above_the_floor_pass(self):
        status, report, stderr = self.generate(self.closed_call(atomics=1.0))
        self.assertEqual(status, 0, stderr)
        self.assertNotIn(MARK, report)
        self.assertIn("Every row costs at least 1.5x its group's empty loop", report)
        self.assertIn("ours ÷ atomics = 3.00x | **not met** |", report)

    def test_a_row_at_the_empty_loop_measures_nothing(self):
        status, report, stderr = self.generate(self.closed_call(atomics=0.6))
        self.assertEqual(status, 1)
        self.assertIn("measures nothing: closed call, 1 thread/baseline: atomics (seed 000)",
                      stderr)
        self.assertIn(f"| baseline: atomics (seed 000) {MARK} | 0.60 ns |", report)
        # The target that compares it is not judged; the one that does not still is.
        self.assertIn("ours ÷ atomics = 5.00x | **not judged**", report)
        self.assertIn("ours ÷ failsafe = 0.15x | **met** |", report)

    def test_a_group_without_an_empty_loop_fails(self):
        rows = self.closed_call(atomics=1.0)
        del rows[ONE_THREAD]["reference: empty loop"]
        status, report, stderr = self.generate(rows)
        self.assertEqual(status, 1)
        self.assertIn("no `reference: empty loop` row in the group 'closed call, 1 thread'",
                      stderr)
        self.assertIn("**no empty loop** in the group", report)

    def test_the_unguarded_reference_is_exempt(self):
        rows = {"closed call: attribute vs by hand": {
            "reference: empty loop": 0.5, "reference: unguarded": 0.55,
            "ours: by hand (acquire + success)": 3.0, "ours: #[circuit_breaker]": 3.0}}
        status, report, stderr = self.generate(rows)
        self.assertEqual(status, 0, stderr)
        self.assertNotIn(MARK, report)


if __name__ == "__main__":
    unittest.main()
