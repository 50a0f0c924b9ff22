"""The hit policy: from the rules that fired for one event to at most one task per responsible unit.

Zero tolerance beats strict management beats custom rules; among equals the earliest deadline
wins. Every firing is kept and linked to the task of its unit. Points count once per event: the
highest-scoring row that fired, charged to the unit that row named.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.evaluation.enrich import Reference
from rules.lists import LIST_RANK
from rules.twin import explain

@dataclass
class TaskDecision:
    rule_key: str
    list_kind: str
    unit_id: int
    template_code: str
    timeline_code: str | None
    limit_value: float
    limit_unit: str
    deadline_at: datetime

    @property
    def order(self) -> tuple:
        return (LIST_RANK.get(self.list_kind, 9), self.deadline_at, self.rule_key)


@dataclass
class FiringDecision:
    campaign_id: int
    version_id: int
    rule_key: str
    rule_version: int
    list_kind: str
    list_item: str | None
    points: float
    matched: list[dict[str, Any]]
    decisions: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[TaskDecision] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)


def firing_decisions(event, facts: dict[str, Any], fired: list[str], ctx, ref: Reference,
                     now: datetime, explained: bool = True) -> list[FiringDecision]:
    """Turn the rule keys durable_rules fired into decisions, explained by the twin (unless `explained` is off: replay
    compares the tasks only, and leaves `matched` empty)."""
    out = []
    grid_unit_id = ref.grids[event.grid_id][1]
    for rule_key in sorted(set(fired)):
        doc = ctx.compiled.rules[rule_key]
        origin = doc.get("origin") or {}
        matched = explain(doc, facts) if explained else []
        firing = FiringDecision(ctx.id, ctx.version_id, rule_key, doc.get("version", ctx.version_number),
                                origin.get("list", "custom"), origin.get("item"), float(origin.get("points", 0)),
                                matched if matched is not None else [])
        if matched is None:
            firing.decisions.append({"warning": "the plain-Python twin disagrees with durable_rules"})
        for action in doc["then"]:
            if action["do"] == "create_task":
                unit = _assign(action["assign"], grid_unit_id, ref)
                if unit is None:
                    firing.decisions.append({"do": "create_task", "error": f"no unit for {action['assign']}"})
                    continue
                value, unit_of_time = ((action["limit"]["value"], action["limit"]["unit"]) if action.get("limit")
                                       else ref.limit_for(event.category_id, facts.get("filing_condition")))
                due = ctx.due(now, value, unit_of_time, bool(facts.get("inspection_point")))
                timeline = ctx.ladder_code(action.get("timeline"), ref.categories[event.category_id].timeline_code,
                                           DEFAULT_TIMELINE)
                task = TaskDecision(rule_key, firing.list_kind, unit.id, action["template"], timeline,
                                    value, unit_of_time, due)
                firing.tasks.append(task)
                firing.decisions.append({"do": "create_task", "unit": unit.code, "template": action["template"],
                                         "limit": {"value": value, "unit": unit_of_time}})
            elif action["do"] == "escalate":
                step = {"do": "escalate", "tier": action["tier"], "list_publicly": bool(action.get("list_publicly")),
                        "message": action.get("message") or doc["title"]}
                if step["list_publicly"]:  # the rule's own rectification deadline and ordering authority
                    limit = action["deadline"]
                    step.update({"rectify_by": ctx.calendar.deadline(now, limit["value"], limit["unit"],
                                                                     ctx.continuous_time).isoformat(),
                                 "authority": action["authority"]})
                firing.escalations.append(step)
                firing.decisions.append(step)
            elif action["do"] == "notify":
                note = {"do": "notify", "channel": action.get("channel", "inbox"), "to": action["to"]}
                firing.notifications.append(note)
                firing.decisions.append(note)
        out.append(firing)
    return out


def _assign(assign: str, grid_unit_id: int, ref: Reference):
    if assign == "grid_unit":
        return ref.units[grid_unit_id]
    if assign.startswith("unit:"):
        return ref.units_by_code.get(assign[5:])
    return ref.nearest_of_type(grid_unit_id, assign[len("unit_type:"):])


#: The rule key, list kind and template code of routine dispatch (DESIGN 12): not a rule, ranked below them all.
ROUTINE = "routine"
#: The campaign's default timeline (DESIGN 14); without one, the built-in ladder (engine/handling/ladder.py).
DEFAULT_TIMELINE = "default"
#: The timelines a routine task follows after its category's, the first the campaign has.
ROUTINE_TIMELINES = ("routine", DEFAULT_TIMELINE)


def routine_tasks(event, facts: dict[str, Any], ctx, ref: Reference, now: datetime) -> list[TaskDecision]:
    """The tasks every report gets by the duty lists: its lead unit's and each cooperating unit's, with the
    catalogue's limit for its filing condition; none where the campaign has no routine template."""
    if ROUTINE not in ctx.templates:
        return []
    routing = ref.routing(event.category_id, event.grid_id)
    units = ([routing.lead] if routing.lead is not None else []) + list(routing.cooperating)
    if not units:
        return []
    limit = ref.limit_for(event.category_id, facts.get("filing_condition"))
    category_timeline = ref.categories[event.category_id].timeline_code
    at_point = bool(facts.get("inspection_point"))
    return [routine_task(ctx, unit.id, limit, now, category_timeline, at_point) for unit in units]


def routine_task(ctx, unit_id: int, limit: tuple[float, str], now: datetime,
                 category_timeline: str | None = None, at_point: bool = False) -> TaskDecision:
    """A routine task for one unit under its category's timeline, else the campaign's routine or default one
    (else the built-in ladder), due within `limit` (at an inspection point, by the inspection's start at the latest)."""
    timeline = ctx.ladder_code(category_timeline, *ROUTINE_TIMELINES)
    due = ctx.due(now, limit[0], limit[1], at_point)
    return TaskDecision(ROUTINE, ROUTINE, unit_id, ROUTINE, timeline, limit[0], limit[1], due)


def winners(firings: list[FiringDecision], routine: list[TaskDecision] | None = None) -> dict[int, TaskDecision]:
    """One task decision per unit: the best by list rank, then deadline; a rule's task beats a routine one."""
    best: dict[int, TaskDecision] = {}
    for task in [t for firing in firings for t in firing.tasks] + list(routine or []):
        if task.unit_id not in best or task.order < best[task.unit_id].order:
            best[task.unit_id] = task
    return best


def points_owner(firings: list[FiringDecision]) -> tuple[float, int | None]:
    """The event's points (the highest row that fired) and the unit they are charged to."""
    top = max((f for f in firings if f.points > 0), key=lambda f: (f.points, -LIST_RANK.get(f.list_kind, 9)),
              default=None)
    if top is None:
        return 0.0, None
    return top.points, (top.tasks[0].unit_id if top.tasks else None)
