"""Firing a batch of fact sets in durable_rules in a child process, so a publishing web process can check the
campaign's scenarios without importing the C engine (as engine.durable.compile_check does for registration).

`fired(compiled, items)` runs `python -m engine.durable.firing_check` with the compiled JSON and the
(id, facts) pairs on stdin and returns the rule keys fired per id, or raises FiringCheckFailed.
"""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from rules.compiler import CompiledRuleset

TIMEOUT_SECONDS = 60.0


class FiringCheckFailed(RuntimeError):
    """The child did not answer: durable_rules refused, crashed or took too long."""


def fired(compiled: dict[str, Any], items: list[tuple[str, dict[str, Any]]],
          timeout: float = TIMEOUT_SECONDS) -> dict[str, list[str]]:
    """The rule keys durable_rules fires for each (id, facts) pair under `compiled`."""
    body = json.dumps({"compiled": compiled, "items": items}, default=str)
    try:
        done = subprocess.run([sys.executable, "-m", "engine.durable.firing_check"], input=body,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise FiringCheckFailed(f"durable_rules did not finish within {timeout:g} s") from err
    try:
        return {str(k): list(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1])["fired"].items()}
    except (IndexError, ValueError, KeyError, AttributeError) as err:
        raise FiringCheckFailed(f"status {done.returncode}: {done.stderr.strip()[-300:]}") from err


def _fire(body: dict[str, Any]) -> dict[str, list[str]]:
    from engine.durable.evaluator import Evaluator

    ruleset = CompiledRuleset.from_dict(body["compiled"].get("rules") or {}, body["compiled"], "scenarios")
    return dict(Evaluator().evaluate("scenarios", ruleset, [(str(i), f) for i, f in body["items"]]))


if __name__ == "__main__":
    print(json.dumps({"fired": _fire(json.load(sys.stdin))}))
