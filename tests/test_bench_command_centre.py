"""The command centre's bench in the test suite (issue 17, must-show): bench/command_centre.py seeds 100,000 open
tasks in a SQLite file of its own and times the command centre's JSON (50 requests, without and with filters) and
the task list's first and a deep page; the figures are printed under "CivicRules figures". The goal (p95 ≤ 300 ms)
is judged in docs/BENCHMARKS.md on a quiet machine; here, with the suite's other process sharing the cores (p95
0.74-0.85 s seen), a p95 over two seconds, what loading the tasks one by one would cost, fails."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPORT, ROOT

CEILING_MS = 2000.0


@pytest.mark.slow
def test_the_command_centre_answers_with_100000_open_tasks(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(CIVICRULES_INSTANCE=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "bench/command_centre.py", "--quick", "--no-postgres"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["open"] == 100_000 and result["overdue"] > 0
    for name, t in result["timings"].items():
        REPORT.append(f"command centre bench (SQLite, 100,000 open tasks): {name} p50 {t['p50']} ms, "
                      f"p95 {t['p95']} ms, max {t['max']} ms over {t['n']}")
    for name in ("command-centre", "command-centre all three"):
        assert result["timings"][name]["n"] >= 50
        assert result["timings"][name]["p95"] < CEILING_MS, result["timings"][name]
