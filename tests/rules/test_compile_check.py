"""The durable_rules compile check runs in a child process and reports what durable_rules refuses."""
import subprocess
import sys

import pytest

from engine.compile_check import check
from rules.compiler import compile_ruleset
from tests.conftest import ROOT


def _doc(key="zt.r1"):
    return {"key": key, "title": {"zh": "甲", "en": "A"}, "enabled": True,
            "when": {"all": [{"fact": "category", "op": "in", "value": ["06011"]},
                             {"fact": "local_hour", "op": "between", "value": [0, 6]}]},
            "then": [{"do": "create_task", "template": "t", "assign": "grid_unit"}]}


@pytest.mark.slow
def test_a_compiled_ruleset_registers_and_a_broken_partition_is_reported():
    compiled = compile_ruleset([_doc()]).as_dict()
    assert check(compiled) == []
    broken = {"partitions": {"p": {"zt.r1": {"all": [{"m": {"$nonsense": {"category": 1}}}], "run": "zt.r1"}}},
              "routes": {}}
    problems = check(broken)
    assert problems and all(isinstance(p, str) for p in problems)
    probe = ("import sys; from engine.compile_check import check; from rules.compiler import compile_ruleset; "
             "from tests.rules.test_compile_check import _doc; "
             "assert check(compile_ruleset([_doc()]).as_dict()) == []; "
             "assert 'durable.engine' not in sys.modules, 'the checking process loaded the C engine'")
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True)  # a fresh process: other tests load it here
