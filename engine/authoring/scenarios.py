"""Rule scenarios: an event and what a campaign's rules must make of it, saved once and checked against a
ruleset (the draft on every publish, the active version or any published one).

A scenario runs through the simulator's path (facts_for -> fire -> decide) against an empty history unless
it states one; rules fire in durable_rules in a child process (engine.durable.firing_check), so a publishing
web process never loads the C engine, and the plain-Python twin evaluates the same facts: a disagreement
between the two is itself a failure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.authoring.campaigns import campaign_zone
from engine.authoring.drafts import catalog_for, draft_bundle, validate_bundle
from engine.authoring.versions import ruleset_context
from engine.cases.admission import ADMISSION_NAMES, Admission, Policies, admission
from engine.core import clock
from engine.core.models import Campaign, Category, Event, FilingCondition, Grid, RulesetVersion, Scenario, Unit
from engine.core.states import EventStatus
from engine.durable import firing_check
from engine.evaluation.context import CampaignContext, context_for
from engine.evaluation.decide import ROUTINE
from engine.evaluation.enrich import History, Reference, facts_for, load_reference
from engine.evaluation.verdict import Verdict, decide, fire, per_event
from engine.space.geo import grid_for_point
from engine.space.permits import PlaceFacts
from rules.facts import SOURCE_TYPES, complete
from rules.list_facts import list_flags
from rules.limits import LIMIT_UNITS
from rules.problems import InputError, Problem
from rules.twin import explain, trace

TIME_FORMAT = "%Y-%m-%d %H:%M"  # the campaign's local time, as a bureau writes it
TASK_LISTS = ("zero_tolerance", "strict_management", "custom", ROUTINE)
FROM_THE_LISTS = ("zero_tolerance", "strict_management")
JOINED = "joined"  # the report joins its open case (engine/cases/linking.py): no new task, no new points
STAGES = tuple(a.value for a in Admission) + (JOINED,)
STAGE_NAMES = {**{a.value: names for a, names in ADMISSION_NAMES.items()}, JOINED: ("并入已有案件", "joins its open case")}
#: Place facts a scenario may state (unstated: none), with their kind.
PLACE_FACTS = {"in_zone": "set", "permits_valid": "set", "inspection_point": "str", "at_designated_site": "bool",
               "frontage_holder": "str", "frontage_holder_violations_90d": "int"}
#: History a scenario may state (unstated: an empty history).
HISTORY_FACTS = ("repeats_7d", "repeats_30d", "nearby_7d", "days_since_closed")
FIRST_ID = 1  # transient events are numbered from here; none is ever stored


@dataclass
class Difference:
    """One way the outcome differs from the expectation, with the rule and condition that made it."""

    what: str
    en: str
    zh: str
    rule: str | None = None
    conditions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"what": self.what, "message": self.zh if lang.startswith("zh") else self.en, "rule": self.rule,
                "conditions": self.conditions}


@dataclass
class Outcome:
    """One scenario's result: passed, or the differences; `actual` is what the rules made of the event."""

    scenario_id: int | None
    title: str
    actual: dict[str, Any]
    differences: list[Difference]

    @property
    def passed(self) -> bool:
        return not self.differences

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"id": self.scenario_id, "title": self.title, "passed": self.passed, "actual": self.actual,
                "differences": [d.as_dict(lang) for d in self.differences]}


# ---- validation -------------------------------------------------------------------------------------------


def known_rules(session: Session, campaign: Campaign) -> set[str]:
    """Rule keys a scenario may name: the draft's and every published version's."""
    keys = {d.get("key") for d in draft_bundle(session, campaign) if isinstance(d, dict)}
    for rules in session.scalars(select(RulesetVersion.rules).where(RulesetVersion.campaign_id == campaign.id)):
        keys |= set(rules or {})
    return {k for k in keys if isinstance(k, str)}


@dataclass
class Lookups:
    """The master data a scenario names, read once for a whole batch."""

    categories: dict[str, int]
    grids: dict[str, int]
    units: dict[str, int]
    rules: set[str]
    conditions: set[tuple[str, str]]  # (category code, filing condition code)

    @classmethod
    def load(cls, session: Session, campaign: Campaign) -> Lookups:
        return cls(dict(session.execute(select(Category.code, Category.id)).all()),
                   dict(session.execute(select(Grid.code, Grid.id)).all()),
                   dict(session.execute(select(Unit.code, Unit.id)).all()), known_rules(session, campaign),
                   {(c, f) for c, f in session.execute(select(Category.code, FilingCondition.code)
                                                        .join(FilingCondition.category))})


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10 ** 6


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 10 ** 6


def clean(data: Any, campaign: Campaign, known: Lookups) -> dict[str, Any]:
    """A scenario's fields checked against the campaign's master data and rules; InputError names each
    fault by field (e.g. "expected.tasks[0].unit") and nothing is written."""
    problems: list[Problem] = []

    def fault(where: str, en: str, zh: str) -> None:
        problems.append(Problem(where, en, zh))

    if not isinstance(data, dict):
        raise InputError([Problem("(scenario)", "a scenario is an object", "场景须为对象")])
    title = data.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        fault("title", "required: a title of at most 200 characters", "必填：不超过 200 个字符的标题")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 80 for t in tags):
        fault("tags", "tags are a list of words of at most 80 characters", "标签须为不超过 80 个字符的词的列表")
    event = data.get("event") if isinstance(data.get("event"), dict) else {}
    if not isinstance(data.get("event"), dict):
        fault("event", "required: the event", "必填：事件")
    category = event.get("category")
    if category not in known.categories:
        fault("event.category", f"unknown category {category!r}", f"未知的问题类别 {category!r}")
    grid = event.get("grid")
    if grid is not None and grid not in known.grids:
        fault("event.grid", f"unknown grid {grid!r}", f"未知的网格 {grid!r}")
    if grid is None and not (_located(event)):
        fault("event.grid", "required: a grid code, or lat and lon", "必填：网格代码，或经纬度")
    condition = event.get("filing_condition")
    if condition is not None and category in known.categories and (category, condition) not in known.conditions:
        fault("event.filing_condition", f"{condition!r} is not a filing condition of category {category}",
              f"{condition!r} 不是类别 {category} 的立案条件")
    local_time = event.get("local_time")
    try:
        datetime.strptime(str(local_time), TIME_FORMAT)
    except ValueError:
        fault("event.local_time", f"a local time like 2026-05-12 09:30, not {local_time!r}",
              f"当地时间格式须如 2026-05-12 09:30，而非 {local_time!r}")
    source_type = event.get("source_type", "hotline")
    if source_type not in SOURCE_TYPES:
        fault("event.source_type", f"unknown source type {source_type!r}", f"未知的来源类型 {source_type!r}")
    facts = event.get("facts") or {}
    if not isinstance(facts, dict):
        fault("event.facts", "place facts are an object", "地点事实须为对象")
        facts = {}
    for name, value in facts.items():
        kind = PLACE_FACTS.get(name)
        fine = (kind == "set" and isinstance(value, list) and all(isinstance(v, str) for v in value)
                or kind == "str" and isinstance(value, str) or kind == "bool" and isinstance(value, bool)
                or kind == "int" and _int(value))
        if not fine:
            fault(f"event.facts.{name}", f"not a place fact a scenario may state, or not a {kind}",
                  "不是场景可设定的地点事实，或类型不符")
    history = data.get("history") or {}
    if not isinstance(history, dict):
        fault("history", "the stated history is an object", "设定的历史须为对象")
        history = {}
    for name, value in history.items():
        if name == "open_case":
            if not isinstance(value, bool):
                fault("history.open_case", "true or false", "须为是或否")
        elif name not in HISTORY_FACTS or not _int(value):
            fault(f"history.{name}", f"history states {', '.join(HISTORY_FACTS)} as whole numbers, and open_case",
                  f"历史只能设定 {'、'.join(HISTORY_FACTS)}（非负整数）及 open_case")
    expected = data.get("expected") if isinstance(data.get("expected"), dict) else {}
    if not isinstance(data.get("expected"), dict):
        fault("expected", "required: the expected outcome", "必填：预期结果")
    tasks = expected.get("tasks")
    if tasks is not None and not isinstance(tasks, list):
        fault("expected.tasks", "the expected tasks are a list", "预期任务须为列表")
        tasks = []
    for i, task in enumerate(tasks or []):
        where = f"expected.tasks[{i}]"
        if not isinstance(task, dict):
            fault(where, "a task is an object with unit, list, limit and points", "任务须为含单位、清单、时限、扣分的对象")
            continue
        if task.get("unit") not in known.units:
            fault(f"{where}.unit", f"unknown unit {task.get('unit')!r}", f"未知的单位 {task.get('unit')!r}")
        if task.get("list") is not None and task.get("list") not in TASK_LISTS:
            fault(f"{where}.list", f"the list is one of {', '.join(TASK_LISTS)}", f"清单须为 {'、'.join(TASK_LISTS)} 之一")
        limit = task.get("limit")
        if limit is not None and not (isinstance(limit, dict) and _number(limit.get("value"))
                                      and limit.get("unit") in LIMIT_UNITS):
            fault(f"{where}.limit", f"a limit is {{value, unit}} with unit one of {', '.join(LIMIT_UNITS)}",
                  f"时限须为 {{value, unit}}，单位为 {'、'.join(LIMIT_UNITS)} 之一")
        if task.get("points") is not None and not _number(task.get("points")):
            fault(f"{where}.points", "points are a number of at least 0", "扣分须为不小于 0 的数")
    for key in ("fire", "not_fire"):
        names = expected.get(key) or []
        if not isinstance(names, list):
            fault(f"expected.{key}", "a list of rule keys", "须为规则键的列表")
            continue
        for name in names:
            if name not in known.rules:
                fault(f"expected.{key}", f"unknown rule {name!r}", f"未知的规则 {name!r}")
    stage = expected.get("stage")
    if stage is not None and stage not in STAGES:
        fault("expected.stage", f"the stage is one of {', '.join(STAGES)}", f"立案阶段须为 {'、'.join(STAGES)} 之一")
    if not isinstance(expected.get("nothing", False), bool):
        fault("expected.nothing", "true or false", "须为是或否")
    if problems:
        raise InputError(problems)
    cleaned_event = {k: event[k] for k in ("category", "grid", "lat", "lon", "filing_condition") if k in event}
    cleaned_event.update(local_time=str(local_time), source_type=source_type, facts=dict(facts))
    return {"title": title.strip(), "tags": list(tags), "event": cleaned_event, "history": dict(history),
            "expected": {"tasks": tasks, "fire": list(expected.get("fire") or []),
                         "not_fire": list(expected.get("not_fire") or []), "stage": stage,
                         "nothing": bool(expected.get("nothing", False))}}


def _located(event: dict[str, Any]) -> bool:
    return all(_number(abs(event.get(k))) if isinstance(event.get(k), (int, float)) else False for k in ("lat", "lon"))


def save(session: Session, campaign: Campaign, data: Any, scenario: Scenario | None = None) -> Scenario:
    """Create or update a scenario after checking every field (the caller commits)."""
    values = clean(data, campaign, Lookups.load(session, campaign))
    same = session.scalar(select(Scenario).where(Scenario.campaign_id == campaign.id,
                                                 Scenario.title == values["title"]))
    if same is not None and same is not scenario:
        raise InputError([Problem("title", "another scenario of the campaign has this title",
                                  "本专项行动已有同名场景")])
    if scenario is None:
        scenario = Scenario(campaign_id=campaign.id)
        session.add(scenario)
    for name, value in values.items():
        setattr(scenario, name, value)
    scenario.updated_at = clock.now()
    session.flush()
    return scenario


def as_data(scenario: Scenario) -> dict[str, Any]:
    """A stored scenario in the shape `save` takes."""
    return {"title": scenario.title, "tags": list(scenario.tags or []), "event": dict(scenario.event),
            "history": dict(scenario.history or {}), "expected": dict(scenario.expected)}


def of_campaign(session: Session, campaign: Campaign) -> list[Scenario]:
    return list(session.scalars(select(Scenario).where(Scenario.campaign_id == campaign.id).order_by(Scenario.id)))


# ---- running ----------------------------------------------------------------------------------------------


class TwinEvaluator:
    """The Evaluator's `evaluate`, answered by the plain-Python twin: the editors' live warnings, in process."""

    def evaluate(self, tag: str, compiled: Any, items: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
        return {item_id: [key for key, doc in compiled.rules.items() if explain(doc, facts) is not None]
                for item_id, facts in items}


def warnings(session: Session, campaign: Campaign, docs: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The scenarios a draft edit (the bundle `docs`, validated) would break, by the twin, as the editor shows them."""
    if not of_campaign(session, campaign):
        return []
    return warnings_for(session, campaign, validate_bundle(docs, catalog_for(session, campaign)), lang)


def warnings_for(session: Session, campaign: Campaign, compiled: Any, lang: str) -> list[dict[str, Any]]:
    """The same for a draft already compiled (the rule editor's live check compiles it)."""
    stored = of_campaign(session, campaign)
    if not stored:
        return []
    ctx = context_for(session, campaign, 0, 0, compiled)
    return [o.as_dict(lang) for o in run_in(session, campaign, ctx, stored, TwinEvaluator()) if not o.passed]


class ChildEvaluator:
    """The Evaluator's `evaluate`, answered by durable_rules in a child process."""

    def evaluate(self, tag: str, compiled: Any, items: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
        return firing_check.fired(compiled.as_check(), list(items))


def _event(number: int, data: dict[str, Any], campaign: Campaign, known: Lookups, session: Session) -> Event:
    event = data["event"]
    occurred = datetime.strptime(event["local_time"], TIME_FORMAT).replace(tzinfo=campaign_zone(campaign))
    grid_id = known.grids.get(event.get("grid")) if event.get("grid") else None
    lat, lon = event.get("lat"), event.get("lon")
    if grid_id is None and lat is not None:
        grid = grid_for_point(session, lat, lon)
        grid_id = grid.id if grid is not None else None
    return Event(id=number, source="scenario", source_event_id=f"scenario-{number}", source_type=event["source_type"],
                 category_id=known.categories[event["category"]], filing_condition=event.get("filing_condition"),
                 grid_id=grid_id, lat=lat, lon=lon, occurred_at=occurred, received_at=occurred,
                 status=EventStatus.PENDING, attempts=0, points=0, description="", address="")


def _history(events: dict[int, dict[str, Any]]) -> History:
    """An empty history, but for what each scenario states."""
    repeats, nearby, closures, places = {}, {}, {}, {}
    for number, data in events.items():
        stated = data.get("history") or {}
        repeats[number] = (int(stated.get("repeats_7d", 0)), int(stated.get("repeats_30d", 0)))
        if "nearby_7d" in stated:
            nearby[number] = int(stated["nearby_7d"])
        if "days_since_closed" in stated:
            closures[number] = (0, float(stated["days_since_closed"]))
        facts = data["event"].get("facts") or {}
        places[number] = PlaceFacts(list(facts.get("permits_valid", [])), bool(facts.get("at_designated_site")))
    return History(repeats, nearby, closures, places)


def _actual(verdict: Verdict, ref: Reference, twin: set[str], how: Admission) -> dict[str, Any]:
    tasks = [{"unit": ref.units[t.unit_id].code, "list": t.list_kind, "rule": t.rule_key,
              "limit": {"value": t.limit_value, "unit": t.limit_unit}, "points": verdict.points_for(t.unit_id)}
             for t in sorted(verdict.tasks.values(), key=lambda t: t.order)]
    return {"tasks": tasks, "fired": sorted(verdict.fired), "twin": sorted(twin), "stage": how.value}


def _why(doc: dict[str, Any] | None, facts: dict[str, Any], held: bool) -> list[dict[str, Any]]:
    """The conditions that made a rule fire (held) or that kept it from firing (not held)."""
    if doc is None:
        return []
    if held:
        return explain(doc, facts) or []
    return [c for c in trace(doc, facts) if not c["held"]]


def disagreements(fired: set[str], twin: set[str], rules: dict[str, Any], facts: dict[str, Any]) -> list[Difference]:
    """Rules durable_rules and the twin judge differently: a failure of its own, whatever the expectation."""
    return [Difference("twin", f"durable_rules and the twin disagree on rule {key} "
                       f"(durable_rules: {'fired' if key in fired else 'not fired'})",
                       f"durable_rules 与孪生求值对规则 {key} 的结论不一致（durable_rules：{'触发' if key in fired else '未触发'}）",
                       key, _why(rules.get(key), facts, key in twin)) for key in sorted(fired ^ twin)]


def compare(data: dict[str, Any], verdict: Verdict, actual: dict[str, Any]) -> list[Difference]:
    """Expected against actual, each difference with the rule and condition that made it."""
    expected, facts, rules = data["expected"], verdict.facts, verdict.context.compiled.rules
    fired = set(actual["fired"])
    found = disagreements(fired, set(actual["twin"]), rules, facts)
    for key in expected.get("fire") or []:
        if key not in fired:
            found.append(Difference("fire", f"rule {key} must fire but did not", f"规则 {key} 应触发但未触发", key,
                                    _why(rules.get(key), facts, False)))
    for key in expected.get("not_fire") or []:
        if key in fired:
            found.append(Difference("not_fire", f"rule {key} must not fire but did", f"规则 {key} 不应触发但触发了", key,
                                    _why(rules.get(key), facts, True)))
    if expected.get("nothing"):
        for task in actual["tasks"]:
            if task["list"] in FROM_THE_LISTS:
                found.append(Difference("nothing", f"nothing from the lists expected, but {task['rule']} gives "
                                        f"{task['unit']} a {task['list']} task",
                                        f"预期不触发清单，但 {task['rule']} 给 {task['unit']} 派了 {task['list']} 任务",
                                        task["rule"], _why(rules.get(task["rule"]), facts, True)))
    if expected.get("stage") and expected["stage"] != actual["stage"]:
        want, got = STAGE_NAMES[expected["stage"]], STAGE_NAMES[actual["stage"]]
        found.append(Difference("stage", f"stage {want[1]} expected, {got[1]} given", f"预期{want[0]}，实际{got[0]}"))
    if expected.get("tasks") is not None:
        found += _task_differences(expected["tasks"], actual["tasks"], rules, facts)
    return found


def _task_differences(wanted: list[dict[str, Any]], given: list[dict[str, Any]], rules: dict[str, Any],
                      facts: dict[str, Any]) -> list[Difference]:
    found: list[Difference] = []
    by_unit = {t["unit"]: t for t in given}
    for want in wanted:
        got = by_unit.pop(want["unit"], None)
        if got is None:
            found.append(Difference("tasks", f"a task for {want['unit']} expected, none given",
                                    f"预期给 {want['unit']} 派任务，实际没有"))
            continue
        why = _why(rules.get(got["rule"]), facts, True)
        if want.get("list") is not None and want["list"] != got["list"]:
            found.append(Difference("tasks", f"{want['unit']}: list {want['list']} expected, {got['list']} given "
                                    f"(by {got['rule']})", f"{want['unit']}：预期清单 {want['list']}，实际 {got['list']}"
                                    f"（来自 {got['rule']}）", got["rule"], why))
        limit = want.get("limit")
        if limit is not None and (float(limit["value"]), limit["unit"]) != (float(got["limit"]["value"]),
                                                                              got["limit"]["unit"]):
            found.append(Difference("tasks", f"{want['unit']}: limit {limit['value']} {limit['unit']} expected, "
                                    f"{got['limit']['value']:g} {got['limit']['unit']} given (by {got['rule']})",
                                    f"{want['unit']}：预期时限 {limit['value']} {limit['unit']}，实际 "
                                    f"{got['limit']['value']:g} {got['limit']['unit']}（来自 {got['rule']}）",
                                    got["rule"], why))
        if want.get("points") is not None and abs(float(want["points"]) - float(got["points"])) > 1e-9:
            found.append(Difference("tasks", f"{want['unit']}: {want['points']:g} points expected, {got['points']:g} "
                                    f"given (by {got['rule']})", f"{want['unit']}：预期扣 {want['points']:g} 分，"
                                    f"实际 {got['points']:g} 分（来自 {got['rule']}）", got["rule"], why))
    for unit, got in by_unit.items():
        found.append(Difference("tasks", f"an unexpected {got['list']} task for {unit} (by {got['rule']})",
                                f"给 {unit} 派了预期之外的 {got['list']} 任务（来自 {got['rule']}）", got["rule"],
                                _why(rules.get(got["rule"]), facts, True)))
    return found


def run_in(session: Session, campaign: Campaign, ctx: CampaignContext, scenarios: Sequence[Scenario | dict[str, Any]],
           evaluator: Any = None) -> list[Outcome]:
    """Scenarios (stored, or as `save` takes them) against one campaign context; nothing is written."""
    known = Lookups.load(session, campaign)
    ref = load_reference(session)
    items = [(s.id, as_data(s)) if isinstance(s, Scenario) else (None, s) for s in scenarios]
    events = {FIRST_ID + i: _event(FIRST_ID + i, data, campaign, known, session) for i, (_, data) in enumerate(items)}
    by_number = {FIRST_ID + i: data for i, (_, data) in enumerate(items)}
    history = _history(by_number)
    placeable = [e for e in events.values() if e.grid_id is not None]

    def facts(event: Event, context: CampaignContext) -> dict[str, Any]:
        stated = {k: v for k, v in (by_number[event.id]["event"].get("facts") or {}).items()}
        merged = complete({**facts_for(event, ref, context, history), **stated})
        flags = list_flags(context.list_rows, merged)  # again: a stated zone or permit may decide a row
        return {**merged, **{name: flag for name, flag in flags.items() if name not in stated}}

    verdicts = {v[0].event.id: v[0] for v in per_event(fire(placeable, [ctx], facts, evaluator or ChildEvaluator(),
                                                            "scn"))}
    policies = Policies.load(session)
    outcomes = []
    for number, (scenario_id, data) in zip(events, items):
        verdict = verdicts.get(number)
        if verdict is None:
            how = admission(events[number], policies, False)
            outcomes.append(Outcome(scenario_id, data["title"], {"tasks": [], "fired": [], "twin": [],
                                                                 "stage": how.value},
                                    [Difference("event", "the place lies in no grid: no rule would run",
                                                "该位置不在任何网格内：不运行任何规则")]))
            continue
        decide([verdict], ref, verdict.event.occurred_at)
        twin = {key for key, doc in ctx.compiled.rules.items()
                if doc.get("enabled", True) and explain(doc, verdict.facts) is not None}
        how = admission(verdict.event, policies, any(f.list_kind == "zero_tolerance" for f in verdict.firings))
        actual = _actual(verdict, ref, twin, how)
        if (data.get("history") or {}).get("open_case"):  # joins its open case: no new task, no new points
            actual.update(tasks=[], stage=JOINED)
        outcomes.append(Outcome(scenario_id, data["title"], actual, compare(data, verdict, actual)))
    return outcomes


def run(session: Session, campaign: Campaign, ruleset: Any = "draft") -> list[Outcome]:
    """The campaign's scenarios against "draft", "active" or a published version number."""
    return run_in(session, campaign, ruleset_context(session, campaign, ruleset), of_campaign(session, campaign))


def failures(outcomes: Sequence[Outcome], lang: str = "zh") -> list[dict[str, Any]]:
    return [o.as_dict(lang) for o in outcomes if not o.passed]

