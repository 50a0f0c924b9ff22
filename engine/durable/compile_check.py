"""Registering a compiled ruleset with durable_rules in a child process, so the web process can
check a rule on save without ever importing the C engine (a hang or crash stays in the child).

`check(compiled)` runs `python -m engine.durable.compile_check` with the compiled JSON on stdin and
returns the registration problems in English and Chinese (empty when durable_rules accepts every partition).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from rules.problems import Problem
from engine.durable.evaluator import Evaluator
from rules.compiler import CompiledRuleset

TIMEOUT_SECONDS = 10.0
PATH = "(durable_rules)"
_ERROR_CODE = re.compile(r"^Could not create ruleset, error code: (\d+)$")


def check(compiled: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> list[Problem]:
    """Problems durable_rules reports registering `compiled` ({"partitions": ..., "routes": ...}, and "rules" for the
    layout by category: `CompiledRuleset.as_check()`)."""
    try:
        done = subprocess.run([sys.executable, "-m", "engine.durable.compile_check"], input=json.dumps(compiled),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [Problem(PATH, f"durable_rules did not finish registering within {timeout:g} s",
                        f"durable_rules 未能在 {timeout:g} 秒内完成注册")]
    try:
        refusals = list(json.loads(done.stdout.strip().splitlines()[-1])["problems"])
    except (IndexError, ValueError, KeyError):
        detail = done.stderr.strip()[-300:]
        return [Problem(PATH, f"the compile check ended with status {done.returncode}: {detail}",
                        f"编译检查异常结束（状态 {done.returncode}）：{detail}")]
    return [refusal(str(message)) for message in refusals]


def refusal(message: str) -> Problem:
    """durable_rules' own (English) refusal, with a Chinese text; an unknown message is quoted as it came."""
    code = _ERROR_CODE.match(message)
    if code:
        return Problem(PATH, message, f"无法创建规则集，错误码：{code.group(1)}")
    return Problem(PATH, message, f"durable_rules 报告（原文）：{message}")


def _register(compiled: dict[str, Any]) -> list[str]:
    ruleset = CompiledRuleset.from_dict(compiled.get("rules") or {}, compiled, "compile-check")
    try:
        Evaluator()._ensure("check", ruleset)
    except Exception as err:  # durable_rules raises bare Exceptions for rejected definitions
        return [str(err)]
    return []


if __name__ == "__main__":
    print(json.dumps({"problems": _register(json.load(sys.stdin))}))
