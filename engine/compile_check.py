"""Registering a compiled ruleset with durable_rules in a child process, so the web process can
check a rule on save without ever importing the C engine (a hang or crash stays in the child).

`check(compiled)` runs `python -m engine.compile_check` with the compiled JSON on stdin and
returns the registration problems (empty when durable_rules accepts every partition).
"""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

TIMEOUT_SECONDS = 10.0


def check(compiled: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> list[str]:
    """Problems durable_rules reports registering `compiled` ({"partitions": ..., "routes": ...})."""
    try:
        done = subprocess.run([sys.executable, "-m", "engine.compile_check"], input=json.dumps(compiled),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [f"durable_rules did not finish registering within {timeout:g} s"]
    try:
        return list(json.loads(done.stdout.strip().splitlines()[-1])["problems"])
    except (IndexError, ValueError, KeyError):
        return [f"the compile check ended with status {done.returncode}: {done.stderr.strip()[-300:]}"]


def _register(compiled: dict[str, Any]) -> list[str]:
    from engine.evaluation import Evaluator
    from rules.compiler import CompiledRuleset

    ruleset = CompiledRuleset.from_dict({}, compiled, "compile-check")
    try:
        Evaluator()._ensure("check", ruleset)
    except Exception as err:  # durable_rules raises bare Exceptions for rejected definitions
        return [str(err)]
    return []


if __name__ == "__main__":
    print(json.dumps({"problems": _register(json.load(sys.stdin))}))
