"""Explanation cards of firings: the rule's title and version, each condition in plain words with
the value that satisfied it, the list row, the timeline applied and what the firing decided — in the reader's
language."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from engine.core.models import (Campaign, Category, FilingCondition, Firing, Grid, SupervisionTier, TaskTemplate,
                               Timeline, Unit)
from engine.core.worktime import describe_limit
from engine.space.permits import KIND_NAMES as PERMIT_KIND_NAMES
from engine.space.points import TYPE_NAMES as POINT_TYPE_NAMES
from engine.space.zones import KIND_NAMES as ZONE_KIND_NAMES
from rules.facts import FACTS
from rules.wording import BOOL, describe_condition, describe_origin
from web.common.display import local_time, source_name
from web.common.display import name_of as code_name
from web.common.extensions import db


def namer() -> Any:
    """A namer of the codes a condition holds: categories, grids and units, and filing conditions (a code such as
    building_materials is no word an official knows) where no category, grid or unit has that code."""
    names: dict[str, tuple[str, str]] = {}
    for model in (Category, Grid, Unit):
        for code, zh, en in db.session.execute(select(model.code, model.name_zh, model.name_en)):
            names[code] = (zh, en)
    for code, zh, en in db.session.execute(select(FilingCondition.code, FilingCondition.name_zh,
                                                  FilingCondition.name_en)):
        names.setdefault(code, (zh, en))

    def name_of(lang: int, value: Any) -> str:
        if not (isinstance(value, str) and value in names):
            return str(value)
        return f"{names[value][0]}（{value}）" if lang == 0 else f"{names[value][1]} ({value})"
    return name_of


def cards(firings: list[Firing], lang: str, timeline_id: int | None = None) -> list[dict[str, Any]]:
    name_of = namer()
    i = 0 if lang == "zh" else 1
    timeline = db.session.get(Timeline, timeline_id) if timeline_id else None
    out = []
    for f in firings:
        doc = f.ruleset_version.rules.get(f.rule_key, {})
        title = (doc.get("title") or {}).get("zh" if i == 0 else "en", f.rule_key)
        out.append({"firing": f.id, "rule": f.rule_key, "title": title, "rule_version": f.rule_version,
                    "ruleset_version": f.ruleset_version.number,
                    "conditions": [describe_condition(m, lang, name_of) for m in f.matched],
                    "origin": describe_origin(doc.get("origin"), lang),
                    "timeline": (timeline.name_zh if i == 0 else timeline.name_en) if timeline else None})
    return out


def _in(lang: str, zh: str | None, en: str | None) -> str:
    return (zh or en or "") if lang == "zh" else (en or zh or "")


def _coded(name: str, code: str, lang: str) -> str:
    """A name with its code after it, bracketed as the reader's language brackets (as `namer` does)."""
    return f"{name}（{code}）" if lang == "zh" else f"{name} ({code})"


def assignment(assign: str | None, lang: str, name_of: Any = None) -> str:
    """Who a rule's task goes to (grid_unit, unit:CODE, unit_type:TYPE), as the list editor words it."""
    name_of = name_of or namer()
    assign = assign or "grid_unit"
    if assign.startswith("unit:"):
        return f"{_('a fixed unit')}: {name_of(0 if lang == 'zh' else 1, assign[5:])}"
    if assign.startswith("unit_type:"):
        return f"{_('nearest unit of a type')}: {code_name('unit_type', assign[10:], lang)}"
    return _("the grid's responsible unit") if assign == "grid_unit" else assign


def decision_lines(firing: Firing, lang: str) -> list[str]:
    """What a firing decided (tasks, escalations, notices) in the reader's words, units, templates and tiers
    named: the raw decisions are the engine's record, not something an official can read."""
    name_of, i = namer(), 0 if lang == "zh" else 1
    templates = {t.code: _in(lang, t.name_zh, t.name_en) for t in db.session.scalars(select(TaskTemplate))}
    tiers = {t.level: _in(lang, t.name_zh, t.name_en) for t in db.session.scalars(
        select(SupervisionTier).where(SupervisionTier.campaign_id == firing.campaign_id))}

    def tier(level: Any) -> str:
        return _("Tier %(level)s: %(name)s", level=level, name=tiers[level]) if level in tiers else \
            _("Tier %(n)s", n=level)

    def target(to: str) -> str:
        if to.startswith("tier:") and to[5:].isdecimal():
            return tier(int(to[5:]))
        if to == "assignee":
            return _("the task's assignee")
        return assignment(to, lang, name_of)

    lines = []
    for d in firing.decisions or []:
        if "warning" in d:
            lines.append(_("The rule engine and its plain-Python check disagreed on this firing: check the rule."))
        elif d.get("do") == "create_task" and "error" in d:
            lines.append(_("No task: no unit found for %(assign)s",
                           assign=assignment(d["error"].removeprefix("no unit for "), lang, name_of)))
        elif d.get("do") == "create_task":
            limit = d.get("limit") or {}
            template = d.get("template", "")
            words = {"unit": name_of(i, d.get("unit")),
                     "template": _coded(templates[template], template, lang) if template in templates else template,
                     "limit": describe_limit(limit["value"], limit["unit"], lang) if limit.get("unit") else "—"}
            lines.append(_("Task #%(task)s for %(unit)s: %(template)s, time limit %(limit)s", task=d["task"], **words)
                         if d.get("task") else _("Task for %(unit)s: %(template)s, time limit %(limit)s", **words))
        elif d.get("do") == "escalate":
            message = d.get("message")
            message = _in(lang, message.get("zh"), message.get("en")) if isinstance(message, dict) else message
            line = _("Escalated to %(tier)s", tier=tier(d.get("tier")))
            if d.get("list_publicly"):
                line += _("; listed publicly (挂牌督办) by %(authority)s, to be rectified by %(deadline)s",
                          authority=d.get("authority", ""), deadline=local_time(d.get("rectify_by"), firing))
            lines.append(f"{line}: {message}" if message else line)
        elif d.get("do") == "notify":
            lines.append(_("Notice to %(target)s in the inbox", target=target(d.get("to", "")))
                         if d.get("channel", "inbox") == "inbox" else
                         _("Notice to %(target)s by %(channel)s", target=target(d.get("to", "")), channel=d["channel"]))
        else:
            lines.append(str(d))
    return lines


#: Names of the values of the facts that hold a kind of thing by code (zones, permits, point types).
VALUE_NAMES = {"in_zone": ZONE_KIND_NAMES, "permits_valid": PERMIT_KIND_NAMES, "inspection_point": POINT_TYPE_NAMES}
#: Facts whose codes are named by web.common.display.name_of.
CODE_KINDS = {"source_type": "source_type", "unit_type": "unit_type"}


def fact_lines(facts: dict[str, Any] | None, lang: str) -> list[str]:
    """An event's evaluated facts as "label: value" in the reader's language, codes named; facts kept per campaign
    (by campaign id) are headed by the campaign's name when there are several."""
    if not facts:
        return []
    if all(isinstance(v, dict) for v in facts.values()):
        campaigns = {str(c.id): _in(lang, c.name_zh, c.name_en) for c in db.session.scalars(select(Campaign))}
        if len(facts) == 1:
            return fact_lines(next(iter(facts.values())), lang)
        return [f"{campaigns.get(key, key)} · {line}" for key, values in facts.items()
                for line in fact_lines(values, lang)]
    name_of, i = namer(), 0 if lang == "zh" else 1

    def shown(fact: str, value: Any) -> str:
        if value in ("", None, []):
            return "—"
        if isinstance(value, bool):
            return BOOL[value][i]
        if isinstance(value, list):
            return ("、" if i == 0 else ", ").join(shown(fact, v) for v in value)
        if fact == "source":
            return source_name(value, facts.get("source_type"), lang)
        if fact in CODE_KINDS:
            return code_name(CODE_KINDS[fact], value, lang)
        if fact in VALUE_NAMES and value in VALUE_NAMES[fact]:
            return VALUE_NAMES[fact][value][i]
        return name_of(i, value)

    return [f"{(FACTS[f].zh if i == 0 else FACTS[f].en) if f in FACTS else f}{'：' if i == 0 else ': '}{shown(f, v)}"
            for f, v in facts.items()]
