"""Rule documents: their JSON schema and the semantic checks the schema cannot express.

Every problem names the part of the document at fault (a JSON path such as `when.all[1].op`)
and carries its message in Chinese and English, so any interface can show it in the user's language.
"""
from __future__ import annotations

import math

from dataclasses import dataclass, field
from typing import Any, Iterable

import jsonschema

from rules.facts import FACTS
from rules.limits import LIMIT_MAX, LIMIT_UNITS
from rules.operators import OPERATORS
from rules.problems import InputError, Problem

ACTIONS = ("create_task", "notify", "escalate")
CHANNELS = ("inbox",)  # webhook and IM channels arrive with the notification work
LIST_KINDS = ("zero_tolerance", "strict_management", "custom")

_TEXT = {"type": "object", "properties": {"zh": {"type": "string", "minLength": 1},
                                           "en": {"type": "string", "minLength": 1}},
         "required": ["zh", "en"], "additionalProperties": False}

RULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["key", "title", "when", "then"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,79}$"},
        "title": _TEXT,
        "version": {"type": "integer", "minimum": 1},
        "enabled": {"type": "boolean"},
        "origin": {"type": "object", "properties": {
            "list": {"enum": list(LIST_KINDS)}, "item": {"type": "string"},
            "points": {"type": "number", "minimum": 0},
            "legal_basis": {"type": "string"}}, "additionalProperties": False},
        "when": {"$ref": "#/$defs/condition"},
        "then": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/action"}},
    },
    "$defs": {
        "condition": {"type": "object", "minProperties": 1},
        "action": {"type": "object", "required": ["do"], "properties": {"do": {"type": "string"}}},
    },
}


@dataclass
class Catalog:
    """Reference data a rule may name. Empty sets mean 'do not check this kind of name'."""

    categories: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    unit_types: set[str] = field(default_factory=set)
    templates: set[str] = field(default_factory=set)
    timelines: set[str] = field(default_factory=set)
    tiers: set[int] = field(default_factory=set)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def validate_rule(doc: Any, catalog: Catalog | None = None) -> dict[str, Any]:
    """Return the document when it is valid; raise InputError listing every problem."""
    catalog = catalog or Catalog()
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        raise InputError([Problem("(document)", "a rule must be a JSON object", "规则必须是 JSON 对象")])
    for err in sorted(jsonschema.Draft202012Validator(RULE_SCHEMA).iter_errors(doc), key=lambda e: list(e.path)):
        problems += [p for p in _schema_problems(err) if p not in problems]  # one 'required' error per missing name
    if "when" in doc:
        _check_condition(doc["when"], ["when"], catalog, problems, depth=0)
        if isinstance(doc.get("origin"), dict) and doc["origin"].get("list"):
            problems += _list_facts_read(doc["when"], ["when"])
    if isinstance(doc.get("then"), list):
        for i, action in enumerate(doc["then"]):
            _check_action(action, ["then", i], catalog, problems)
    if problems:
        raise InputError(problems)
    return doc


def _list_facts_read(cond: Any, path: list) -> list[Problem]:
    """A list row may not test `zero_tolerance` or `strict_management`: they say whether a row matches."""
    if not isinstance(cond, dict):
        return []
    for key in ("all", "any"):
        if isinstance(cond.get(key), list):
            return [p for i, sub in enumerate(cond[key]) for p in _list_facts_read(sub, path + [key, i])]
    if "not" in cond:
        return _list_facts_read(cond["not"], path + ["not"])
    if cond.get("fact") in ("zero_tolerance", "strict_management"):
        fact = FACTS[cond["fact"]]
        return [Problem(_path(path + ["fact"]), f"a list row cannot test '{fact.en}': that depends on the "
                        "rows themselves", f"清单条目不能以“{fact.zh}”为条件：它本身取决于清单条目是否命中")]
    return []


_TYPES = {"string": ("text", "文本"), "object": ("an object", "对象"), "array": ("a list", "列表"),
          "boolean": ("true or false", "布尔值（true 或 false）"), "integer": ("a whole number", "整数"),
          "number": ("a number", "数字")}


def _schema_problems(err: jsonschema.ValidationError) -> list[Problem]:
    """A schema error in both languages, at the exact field: a missing or unknown field is named by its own path."""
    kind, at = err.validator, list(err.path)
    if kind == "required":
        return [Problem(_path(at + [name]), f"{name!r} is required", f"缺少必填项“{name}”")
                for name in err.validator_value if isinstance(err.instance, dict) and name not in err.instance]
    if kind == "additionalProperties" and isinstance(err.instance, dict):
        known = set(err.schema.get("properties", {}))
        return [Problem(_path(at + [name]), f"unknown field {name!r}", f"未知的字段“{name}”")
                for name in sorted(set(err.instance) - known)]
    if kind == "type":
        en, zh = _TYPES.get(str(err.validator_value), (str(err.validator_value), str(err.validator_value)))
        return [Problem(_path(at), f"must be {en}; got {err.instance!r}", f"须为{zh}，而给出的是 {err.instance!r}")]
    if kind == "pattern" and at == ["key"]:
        return [Problem("key", "a key is 1–80 lowercase letters, digits, '.', '_' or '-', starting with a letter "
                               f"or digit; got {err.instance!r}",
                        f"键须为 1–80 个小写字母、数字、“.”“_”或“-”，以字母或数字开头；而给出的是 {err.instance!r}")]
    if kind == "minLength":
        return [Problem(_path(at), "must not be empty", "不能为空")]
    if kind == "minimum":
        return [Problem(_path(at), f"must be at least {err.validator_value}", f"不能小于 {err.validator_value}")]
    if kind == "enum":
        allowed = ", ".join(map(str, err.validator_value))
        return [Problem(_path(at), f"must be one of {allowed}; got {err.instance!r}",
                        f"须为以下之一：{allowed}；而给出的是 {err.instance!r}")]
    if kind == "minProperties" and at == ["when"]:
        return [Problem("when", "a rule needs a condition", "规则须有条件")]
    if kind == "minItems" and at == ["then"]:
        return [Problem("then", "a rule needs at least one action", "规则至少需要一个动作")]
    return [Problem(_path(at), err.message, f"格式错误：{err.message}")]


def _check_condition(cond: Any, path: list, catalog: Catalog, problems: list[Problem], depth: int) -> None:
    here = _path(path)
    if depth > 12:
        problems.append(Problem(here, "conditions nest too deeply (more than 12 levels)", "条件嵌套过深（超过 12 层）"))
        return
    if not isinstance(cond, dict):
        problems.append(Problem(here, "a condition must be an object", "条件必须是对象"))
        return
    groups = [k for k in ("all", "any", "not") if k in cond]
    if groups:
        if len(cond) != 1:
            problems.append(Problem(here, f"'{groups[0]}' must stand alone in its object",
                                    f"“{groups[0]}”所在对象不能含其他键"))
            return
        key = groups[0]
        if key == "not":
            _check_condition(cond["not"], path + ["not"], catalog, problems, depth + 1)
            return
        items = cond[key]
        if not isinstance(items, list) or not items:
            problems.append(Problem(_path(path + [key]), f"'{key}' needs a non-empty list of conditions",
                                    f"“{key}”需要非空的条件列表"))
            return
        for i, sub in enumerate(items):
            _check_condition(sub, path + [key, i], catalog, problems, depth + 1)
        return
    _check_leaf(cond, path, catalog, problems)


def _check_leaf(cond: dict, path: list, catalog: Catalog, problems: list[Problem]) -> None:
    unknown = set(cond) - {"fact", "op", "value"}
    if unknown:
        problems.append(Problem(_path(path), f"unknown keys {sorted(unknown)}; a condition has fact, op, value",
                                f"未知的键 {sorted(unknown)}；条件只含 fact、op、value"))
    name, op = cond.get("fact"), cond.get("op")
    fact = FACTS.get(name) if isinstance(name, str) else None
    if name is None:
        problems.append(Problem(_path(path + ["fact"]), "a condition needs a fact", "条件须指定事实"))
    elif fact is None:
        problems.append(Problem(_path(path + ["fact"]), f"unknown fact {name!r}; see the fact catalogue",
                                f"未知的事实 {name!r}；请查看事实目录"))
    if op is None:
        problems.append(Problem(_path(path + ["op"]), "a condition needs an operator", "条件须指定运算符"))
        return
    operator = OPERATORS.get(op) if isinstance(op, str) else None
    if operator is None:
        problems.append(Problem(_path(path + ["op"]), f"unknown operator {op!r}; allowed: {', '.join(OPERATORS)}",
                                f"未知的运算符 {op!r}；可用：{', '.join(OPERATORS)}"))
        return
    if fact is None:
        return
    vpath = _path(path + ["value"])
    value = cond.get("value")
    if operator.operand == "flag":
        if fact.type not in operator.types:
            problems.append(Problem(_path(path + ["op"]), f"'{op}' applies to text facts; {fact.name} is always present",
                                    f"“{op}”只适用于文本事实；{fact.name} 总是存在"))
        elif "value" in cond and not isinstance(value, bool):
            problems.append(Problem(vpath, f"'{op}' takes true or false", f"“{op}”的值须为 true 或 false"))
        return
    if "value" not in cond:
        problems.append(Problem(vpath, f"operator '{op}' needs a value", f"运算符“{op}”需要取值"))
        return
    if (fact.type == "set") != ("set" in operator.types):
        problems.append(Problem(_path(path + ["op"]), f"'{op}' does not apply to {fact.name} (a {fact.type})",
                                f"“{op}”不适用于 {fact.name}（类型 {fact.type}）"))
        return
    if operator.numeric and fact.type not in operator.types:
        problems.append(Problem(_path(path + ["op"]), f"'{op}' compares numbers, but {fact.name} is a {fact.type}",
                                f"“{op}”用于数值比较，但 {fact.name} 的类型是 {fact.type}"))
        return
    if operator.operand == "pair":
        if (not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value)
                or value[0] > value[1]):
            problems.append(Problem(vpath, f"'{op}' takes [low, high] with low ≤ high",
                                    f"“{op}”的值须为 [下限, 上限]，且下限 ≤ 上限"))
        return
    if operator.operand == "list":
        if not isinstance(value, list) or not value:
            problems.append(Problem(vpath, f"'{op}' takes a non-empty list", f"“{op}”的值须为非空列表"))
            return
        for i, v in enumerate(value):
            _check_value(fact, v, _path(path + ["value", i]), catalog, problems)
        return
    if operator.operand == "number":
        if not _is_number(value):
            problems.append(Problem(vpath, f"'{op}' takes a number", f"“{op}”的值须为数字"))
        return
    _check_value(fact, value, vpath, catalog, problems)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_value(fact, value: Any, path: str, catalog: Catalog, problems: list[Problem]) -> None:
    expected = {"str": str, "int": int, "bool": bool, "set": str}[fact.type]
    if not isinstance(value, expected) or (fact.type == "int" and isinstance(value, bool)):
        problems.append(Problem(path, f"{fact.name} is a {fact.type}; got {value!r}",
                                f"{fact.name} 的类型是 {fact.type}，而给出的是 {value!r}"))
        return
    if fact.choices and value not in fact.choices:
        problems.append(Problem(path, f"{value!r} is not one of {', '.join(fact.choices)}",
                                f"{value!r} 不在可选值 {', '.join(fact.choices)} 之中"))
    if fact.name in ("category", "category_parent") and catalog.categories and value not in catalog.categories:
        problems.append(Problem(path, f"unknown category {value!r}", f"未知的问题类别 {value!r}"))
    if fact.name == "unit" and catalog.units and value not in catalog.units:
        problems.append(Problem(path, f"unknown unit {value!r}", f"未知的单位 {value!r}"))


def _check_action(action: Any, path: list, catalog: Catalog, problems: list[Problem]) -> None:
    here = _path(path)
    if not isinstance(action, dict):
        problems.append(Problem(here, "an action must be an object", "动作必须是对象"))
        return
    kind = action.get("do")
    if kind not in ACTIONS:
        problems.append(Problem(_path(path + ["do"]), f"unknown action {kind!r}; allowed: {', '.join(ACTIONS)}",
                                f"未知的动作 {kind!r}；可用：{', '.join(ACTIONS)}"))
        return
    allowed = {"create_task": {"do", "template", "assign", "limit", "timeline"},
               "notify": {"do", "channel", "to", "message"},
               "escalate": {"do", "tier", "list_publicly", "message", "deadline", "authority"}}[kind]
    for extra in sorted(set(action) - allowed):
        problems.append(Problem(_path(path + [extra]), f"'{kind}' has no field {extra!r}",
                                f"“{kind}”动作没有字段 {extra!r}"))
    if kind == "create_task":
        template = action.get("template")
        if not isinstance(template, str) or not template:
            problems.append(Problem(_path(path + ["template"]), "a task template is required", "必须指定任务模板"))
        elif catalog.templates and template not in catalog.templates:
            problems.append(Problem(_path(path + ["template"]), f"unknown task template {template!r}",
                                    f"未知的任务模板 {template!r}"))
        _check_assign(action.get("assign"), _path(path + ["assign"]), catalog, problems)
        if "limit" in action:
            _check_limit(action["limit"], _path(path + ["limit"]), problems)
        timeline = action.get("timeline")
        if timeline is not None and (not isinstance(timeline, str) or
                                     (catalog.timelines and timeline not in catalog.timelines)):
            problems.append(Problem(_path(path + ["timeline"]), f"unknown timeline {timeline!r}",
                                    f"未知的时限流程 {timeline!r}"))
    elif kind == "escalate":
        tier = action.get("tier")
        if not isinstance(tier, int) or isinstance(tier, bool) or tier not in (catalog.tiers or {1, 2, 3, 4, 5, 6}):
            problems.append(Problem(_path(path + ["tier"]), "escalate needs a supervision tier of the campaign (a body's level, 1–6)",
                                    "升级须指定本专项行动的督查层级（督办机构的级别，1–6）"))
        if "list_publicly" in action and not isinstance(action["list_publicly"], bool):
            problems.append(Problem(_path(path + ["list_publicly"]), "list_publicly is true or false",
                                    "list_publicly 须为 true 或 false"))
        elif action.get("list_publicly"):  # 挂牌督办 by a rule (DESIGN 14): its own deadline and who orders it
            if "deadline" not in action:
                problems.append(Problem(_path(path + ["deadline"]),
                                        "a rule that lists a case publicly (挂牌督办) needs its own rectification "
                                        "deadline, e.g. {\"value\": 3, \"unit\": \"working_days\"}",
                                        "规则挂牌督办须设定整改期限，如 {\"value\": 3, \"unit\": \"working_days\"}"))
            else:
                _check_limit(action["deadline"], _path(path + ["deadline"]), problems)
            authority = action.get("authority")
            if not isinstance(authority, str) or not authority.strip():
                problems.append(Problem(_path(path + ["authority"]),
                                        "a rule that lists a case publicly (挂牌督办) names the authority that orders it",
                                        "规则挂牌督办须写明挂牌督办单位"))
    else:
        channel = action.get("channel", "inbox")
        if channel not in CHANNELS:
            problems.append(Problem(_path(path + ["channel"]), f"unknown channel {channel!r}; allowed: {', '.join(CHANNELS)}",
                                    f"未知的通知渠道 {channel!r}；可用：{'、'.join(CHANNELS)}"))
        _check_target(action.get("to"), _path(path + ["to"]), catalog, problems)


def _check_assign(assign: Any, path: str, catalog: Catalog, problems: list[Problem]) -> None:
    if assign == "grid_unit":
        return
    if isinstance(assign, str) and assign.startswith("unit:"):
        code = assign[5:]
        if not code or (catalog.units and code not in catalog.units):
            problems.append(Problem(path, f"unknown unit {code!r}", f"未知的单位 {code!r}"))
        return
    if isinstance(assign, str) and assign.startswith("unit_type:"):
        kind = assign[10:]
        if not kind or (catalog.unit_types and kind not in catalog.unit_types):
            problems.append(Problem(path, f"unknown unit type {kind!r}", f"未知的单位类型 {kind!r}"))
        return
    problems.append(Problem(path, "assign must be grid_unit, unit:CODE or unit_type:TYPE",
                            "责任单位须为 grid_unit、unit:代码 或 unit_type:类型"))


def _check_target(target: Any, path: str, catalog: Catalog, problems: list[Problem]) -> None:
    if target in ("assignee", "grid_unit"):
        return
    if isinstance(target, str) and target.startswith("tier:"):
        level = target[5:]
        if not level.isdecimal() or (catalog.tiers and int(level) not in catalog.tiers):
            problems.append(Problem(path, f"unknown supervision tier {level!r}", f"未知的督查层级 {level!r}"))
        return
    if isinstance(target, str) and target.startswith("unit:"):
        if catalog.units and target[5:] not in catalog.units:
            problems.append(Problem(path, f"unknown unit {target[5:]!r}", f"未知的单位 {target[5:]!r}"))
        return
    problems.append(Problem(path, "to must be assignee, grid_unit, tier:N or unit:CODE",
                            "通知对象须为 assignee、grid_unit、tier:N 或 unit:代码"))


def _check_limit(limit: Any, path: str, problems: list[Problem]) -> None:
    if (not isinstance(limit, dict) or set(limit) != {"value", "unit"} or not _is_number(limit.get("value"))
            or not math.isfinite(limit["value"]) or limit["value"] <= 0 or limit.get("unit") not in LIMIT_UNITS):
        problems.append(Problem(path, f"a time limit is {{value > 0, unit: {'|'.join(LIMIT_UNITS)}}}",
                                f"时限格式为 {{value > 0, unit: {'|'.join(LIMIT_UNITS)}}}"))
    elif limit["value"] > LIMIT_MAX[limit["unit"]]:
        most = LIMIT_MAX[limit["unit"]]
        problems.append(Problem(path, f"a time limit is at most a year ({most} {limit['unit']})",
                                f"时限最长一年（{most} {limit['unit']}）"))
