"""The durable_rules compile check runs in a child process and reports what durable_rules refuses."""
import subprocess
import sys

import pytest

from engine.durable.compile_check import check, refusal
from rules.compiler import compile_ruleset
from tests.helpers import ROOT


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
    assert [(p.where, p.en, p.zh) for p in problems] == [
        ("(durable_rules)", "Could not create ruleset, error code: 202", "无法创建规则集，错误码：202")]
    probe = ("import sys; from engine.durable.compile_check import check; from rules.compiler import compile_ruleset; "
             f"assert check(compile_ruleset([{_doc()!r}]).as_dict()) == []; "
             "assert 'durable.engine' not in sys.modules, 'the checking process loaded the C engine'")
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True)  # a fresh process: other tests load it here


def test_a_refusal_reads_in_both_languages_and_a_stuck_check_says_so():
    unknown = refusal("rule zt.r1 has no action")
    assert unknown.message("en") == "rule zt.r1 has no action"
    assert unknown.message("zh").startswith("durable_rules 报告（原文）：") and "zt.r1" in unknown.message("zh")
    compiled = compile_ruleset([_doc()]).as_dict()
    [late] = check(compiled, timeout=0.001)
    assert "did not finish registering within" in late.en and "秒内完成注册" in late.zh


@pytest.mark.slow
def test_publishing_names_a_refusal_in_chinese_without_english_inside():
    from engine.authoring.drafts import registration_problems
    from rules.compiler import CompiledRuleset

    broken = {"partitions": {"p": {"zt.r1": {"all": [{"m": {"$nonsense": {"category": 1}}}], "run": "zt.r1"}}},
              "routes": {}}
    [problem] = registration_problems(CompiledRuleset.from_dict({}, broken, "broken"))
    assert problem.message("en") == ("durable_rules refuses the compiled rules: "
                                     "Could not create ruleset, error code: 202")
    assert problem.message("zh") == "durable_rules 无法注册编译后的规则：无法创建规则集，错误码：202"
