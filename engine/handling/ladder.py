"""A task's ladder (DESIGN 14): its timeline steps planned with due instants when the task is created; the first is
written as a row carrying the rest, and each later one becomes a row when the step before it runs.

Every step is anchored to the task's deadline: a share of the limit, a duration before it, at it, or overdue by
a duration, counted in the task's own time mode (working or continuous, as its deadline was). A public listing
(挂牌督办) is never planned before the deadline. Each step goes to a body: none (the unit itself), else the
supervising body of the step's rung for the task's kind of unit (the bureau's squads go up its own tiers,
sub-districts and departments to the committee's office and the assessment office).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Sequence

from engine.core.models import SupervisionTier, TimelineStep
from engine.core.worktime import CONTINUOUS_UNITS, WorkCalendar
from rules.problems import Problem

ANCHORS = ("share", "before", "at", "after")
ACTIONS = ("remind", "order", "escalate", "list_publicly")
TIERED = ("escalate", "list_publicly")
#: The supervisor's own kind of unit for a department of the bureau (its parent is of type `bureau`).
BUREAU_DEPARTMENT = "bureau_department"


@dataclass(frozen=True)
class FrozenStep:
    """A timeline step as frozen in a version's bundle (or read from the live timeline): what plan_steps needs."""

    position: int
    anchor: str
    share: float | None
    after_minutes: float
    action: str
    tier_level: int | None
    unless_state: str | None

    @classmethod
    def of(cls, step: TimelineStep) -> "FrozenStep":
        """A live timeline step, detached from the session, for a version published before bundles existed."""
        return cls(step.position, step.anchor, step.share, float(step.after_minutes or 0), step.action,
                   step.tier_level, step.unless_state)

    @classmethod
    def frozen(cls, data: dict[str, Any]) -> "FrozenStep":
        """A step from a bundle; one frozen before anchors (counted from dispatch) reads as migration 0026
        rewrote the live timelines: remind at 80 %, order at the deadline, the rest overdue by their time."""
        if "anchor" in data:
            return cls(data["position"], data["anchor"], data.get("share"), float(data.get("after_minutes") or 0),
                       data["action"], data.get("tier_level"), data.get("unless_state"))
        anchor, share, minutes = {"remind": ("share", 0.8, 0.0), "order": ("at", None, 0.0)}.get(
            data["action"], ("after", None, float(data.get("after_minutes") or 0)))
        return cls(data["position"], anchor, share, minutes, data["action"], data.get("tier_level"),
                   data.get("unless_state"))

    def as_bundle(self) -> dict[str, Any]:
        return {"position": self.position, "anchor": self.anchor, "share": self.share,
                "after_minutes": self.after_minutes, "action": self.action, "tier_level": self.tier_level,
                "unless_state": self.unless_state}


#: The campaign's default ladder when neither the list row, the category nor the campaign names one:
#: urge at 80 % of the limit, 督办 at the deadline (brief e.1).
DEFAULT_LADDER = (FrozenStep(0, "share", 0.8, 0.0, "remind", None, "submitted"),
                  FrozenStep(1, "at", None, 0.0, "order", 1, "submitted"))


@dataclass(frozen=True)
class Body:
    """A supervising body: its level (board, `tier:<level>`), the rung of the steps it takes, whom it supervises."""

    level: int
    rung: int
    unit_types: frozenset[str] | None
    name_zh: str
    name_en: str

    def name(self, lang: str = "zh") -> str:
        return self.name_zh if lang.startswith("zh") else self.name_en

    @classmethod
    def of(cls, tier: SupervisionTier) -> "Body":
        return cls(tier.level, tier.rung or tier.level, frozenset(tier.unit_types) if tier.unit_types else None,
                   tier.name_zh, tier.name_en)

    @classmethod
    def frozen(cls, data: dict[str, Any]) -> "Body":
        names = data.get("name") or {}
        types = data.get("unit_types")
        return cls(data["level"], data.get("rung") or data["level"], frozenset(types) if types else None,
                   names.get("zh", str(data["level"])), names.get("en", str(data["level"])))


def unit_kind(unit_type: str, parent_type: str | None) -> str:
    """What a body supervises: the unit's type, a department of the bureau counting as the bureau's own."""
    return BUREAU_DEPARTMENT if unit_type == "department" and parent_type == "bureau" else unit_type


def body_for(bodies: Sequence[Body], rung: int | None, kind: str | None) -> Body | None:
    """The body a step of `rung` goes to for a unit of `kind`: among the bodies that supervise that kind (else
    those that name no kind), the highest rung not above the step's, else the lowest; None without any."""
    if rung is None:
        return None
    mine = [b for b in bodies if b.unit_types is not None and kind in b.unit_types] or \
        [b for b in bodies if b.unit_types is None]
    if not mine:
        return None
    reach = [b for b in mine if b.rung <= rung]
    return max(reach, key=lambda b: (b.rung, b.level)) if reach else min(mine, key=lambda b: (b.rung, b.level))


def body_level(bodies: Sequence[Body], rung: int | None, kind: str | None) -> int | None:
    """The level a step's notification goes to; the rung itself where the campaign has no bodies."""
    body = body_for(bodies, rung, kind)
    return body.level if body is not None else rung


def _key(step: FrozenStep) -> tuple[int, float]:
    """Due order within comparable anchors: shares ascending, durations before the deadline descending."""
    rank = ANCHORS.index(step.anchor) if step.anchor in ANCHORS else 0
    offset = {"share": step.share or 0, "before": -step.after_minutes, "at": 0, "after": step.after_minutes}
    return rank, offset.get(step.anchor, 0)


def order_problems(steps: Iterable[FrozenStep], field: str = "steps") -> list[Problem]:
    """A ladder is read top to bottom: each step due no earlier than the one above it, and a public listing
    never before the deadline."""
    problems = []
    previous: FrozenStep | None = None
    for number, step in enumerate(steps, start=1):
        here = f"{field}[{number - 1}]"
        if step.anchor not in ANCHORS:
            problems.append(Problem(f"{here}.anchor", f"one of {', '.join(ANCHORS)}", f"须为 {'、'.join(ANCHORS)} 之一"))
            continue
        if step.anchor == "share" and not (step.share is not None and 0 < step.share < 1):
            problems.append(Problem(f"{here}.share", "a share of the limit between 0 and 1 (e.g. 0.8)",
                                    "须为时限的比例，介于 0 与 1 之间（如 0.8）"))
        if step.anchor in ("before", "after") and not step.after_minutes > 0:
            problems.append(Problem(f"{here}.after_minutes", "a duration above zero", "须为大于零的时长"))
        if step.action == "list_publicly" and step.anchor in ("share", "before"):
            problems.append(Problem(f"{here}.anchor",
                                    f"step {number} lists the task publicly before its deadline; a ladder may list "
                                    "a task publicly (挂牌督办) only at or after the deadline",
                                    f"第 {number} 步在期限前挂牌督办；时限流程只能在期限届满时或逾期后挂牌督办"))
        if previous is not None and _key(step) < _key(previous):
            problems.append(Problem(f"{here}.anchor", f"step {number} is due before step {number - 1}: "
                                    "put the steps in the order they fall due",
                                    f"第 {number} 步早于第 {number - 1} 步到期：请按到期先后排列各步"))
        previous = step
    return problems


@dataclass(frozen=True)
class Clock:
    """How a task counts time: its limit in minutes of its own mode, from `start`."""

    calendar: WorkCalendar
    working: bool
    limit_minutes: float

    @classmethod
    def of(cls, calendar: WorkCalendar, limit_value: float, limit_unit: str, continuous: bool) -> "Clock":
        if limit_unit in CONTINUOUS_UNITS:
            return cls(calendar, False, limit_value * CONTINUOUS_UNITS[limit_unit])
        if continuous:
            return cls(calendar, False, limit_value * (60 if limit_unit == "working_hours" else 24 * 60))
        return cls(calendar, True, limit_value * (60 if limit_unit == "working_hours" else calendar.day_minutes))

    def add(self, start: datetime, minutes: float) -> datetime:
        return self.calendar.add_working_minutes(start, minutes) if self.working else start + timedelta(minutes=minutes)

    def due(self, anchor: str, share: float | None, minutes: float, start: datetime, deadline: datetime) -> datetime:
        if anchor == "share":
            return self.add(start, self.limit_minutes * (share or 0))
        if anchor == "before":
            return self.add(start, max(0.0, self.limit_minutes - minutes))
        if anchor == "after":
            return self.add(deadline, minutes)
        return deadline


def plan_steps(task_id: int | None, start: datetime, deadline: datetime, clock: Clock, steps: Sequence[FrozenStep],
               bodies: Sequence[Body] = (), kind: str | None = None) -> list[dict[str, Any]]:
    """The task's step rows (column values for one bulk insert), each due at its anchor; the default ladder
    when the task has none. A public listing is never due before the deadline."""
    rows = []
    for step in steps or DEFAULT_LADDER:
        due = clock.due(step.anchor, step.share, step.after_minutes, start, deadline)
        if step.action == "list_publicly" and due < deadline:
            due = deadline
        rows.append({"task_id": task_id, "position": step.position, "action": step.action,
                     "tier_level": body_level(bodies, step.tier_level, kind), "unless_state": step.unless_state,
                     "anchor": step.anchor, "share": step.share, "offset_minutes": step.after_minutes,
                     "due_at": due, "status": "pending", "ran_at": None, "task_status": None})
    return rows


#: A planned step's fields as its row has them; `later` keeps these, `due_at` as ISO text.
PLANNED = ("position", "action", "tier_level", "unless_state", "anchor", "share", "offset_minutes", "due_at")


@dataclass(frozen=True)
class PlannedStep:
    """A step planned after a task's pending one and not yet a row: read for the task page and moved with the
    deadline (an extension, a resume) like the row it will become."""

    position: int
    action: str
    tier_level: int | None
    unless_state: str | None
    anchor: str | None
    share: float | None
    offset_minutes: float | None
    due_at: datetime

    @classmethod
    def of(cls, data: dict[str, Any]) -> "PlannedStep":
        return cls(**{**{name: data.get(name) for name in PLANNED}, "due_at": datetime.fromisoformat(data["due_at"])})

    def as_later(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in PLANNED}, "due_at": self.due_at.isoformat()}

    def row(self, task_id: int, later: list[dict[str, Any]] | None) -> dict[str, Any]:
        """The step's row once the step before it has run, carrying the steps after it."""
        return {"task_id": task_id, **{name: getattr(self, name) for name in PLANNED}, "status": "pending",
                "ran_at": None, "task_status": None, "later": later or None}


def first_step(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The one row a new task writes (issue 18 point 4): its first step, carrying the rest of the plan. Most tasks
    close before their ladder starts, so the rest become rows only as each step before them runs."""
    first, rest = rows[0], rows[1:]
    later = [PlannedStep(**{name: step[name] for name in PLANNED}).as_later() for step in rest]
    return {**first, "later": later or None}


def next_step(task_id: int, later: list[dict[str, Any]]) -> dict[str, Any]:
    """The row of the step planned next after one that ran, carrying the steps after it."""
    return PlannedStep.of(later[0]).row(task_id, later[1:])


def moved_later(later: list[dict[str, Any]] | None, due: Callable[[PlannedStep], datetime]
                ) -> list[dict[str, Any]] | None:
    """The steps planned after a pending one, each due where `due` moves it (an extension, a resume), as their rows
    would move."""
    if not later:
        return later
    return [replace(planned, due_at=due(planned)).as_later() for planned in map(PlannedStep.of, later)]


def replan(step: Any, start: datetime, deadline: datetime, clock: Clock, moved: timedelta) -> datetime:
    """A pending step's due instant after the deadline moved to `deadline` (from `start`, the old deadline, for
    an extension); a step planned before anchors existed moves with the deadline."""
    if step.anchor is None:
        return step.due_at + moved
    due = clock.due(step.anchor, step.share, step.offset_minutes or 0, start, deadline)
    return max(due, deadline) if step.action == "list_publicly" else due
