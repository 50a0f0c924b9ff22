"""A task's ladder as people read it (DESIGN 14): each step with the body it goes to, when it falls due and
what became of it; the next step of many tasks at once; and which tasks escalated (for the task list)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.models import Supervision, Task, TaskStep, Unit
from engine.core.states import TERMINAL
from engine.handling.ladder import PlannedStep
from engine.supervision.escalation import body_names

ESCALATING = ("order", "escalate", "list_publicly")
#: A step's action as a person reads it: (zh, en).
ACTION_NAMES = {"remind": ("催办提醒", "urge"), "order": ("督办", "order handling"),
                "escalate": ("上报督办", "escalate"), "list_publicly": ("挂牌督办", "list publicly")}
STATUS_NAMES = {"pending": ("待执行", "pending"), "done": ("已执行", "done"), "skipped": ("已跳过", "skipped")}


@dataclass(frozen=True)
class StepView:
    position: int
    action: str
    tier: int | None  # the body's level; None: the step goes to the task's unit
    body_zh: str
    body_en: str
    due_at: datetime
    status: str
    done_at: datetime | None
    again: bool = False  # an earlier step took the same action to the same body: the unit has no higher one

    def body(self, lang: str = "zh") -> str:
        return self.body_zh if lang.startswith("zh") else self.body_en

    def action_name(self, lang: str = "zh") -> str:
        names = ACTION_NAMES.get(self.action, (self.action, self.action))
        return names[0] if lang.startswith("zh") else names[1]

    def status_name(self, lang: str = "zh") -> str:
        names = STATUS_NAMES.get(self.status, (self.status, self.status))
        return names[0] if lang.startswith("zh") else names[1]


def _view(step: TaskStep | PlannedStep, task: Task, unit: tuple[str, str],
          bodies: dict[tuple[int, int], dict[str, str]], status: str | None = None) -> StepView:
    """A step as read: a row, or a step planned after the last row (`status` given: it has none of its own)."""
    status = status or step.status
    if step.tier_level:
        names = bodies.get((task.campaign_id, step.tier_level)) or {"zh": f"{step.tier_level} 级督查",
                                                                    "en": f"Tier {step.tier_level}"}
        zh, en = names["zh"], names["en"]
    else:
        zh, en = unit
    return StepView(step.position, step.action, step.tier_level, zh, en, step.due_at, status,
                    step.ran_at if status == "done" else None)


def ladder(session: Session, task: Task) -> list[StepView]:
    """The task's steps in order, each with its body's name; a step that repeats an earlier one's action to the
    same body (a rung above the unit's highest body) is marked, so the page does not show one line twice."""
    unit = session.execute(select(Unit.name_zh, Unit.name_en).where(Unit.id == task.unit_id)).one()
    bodies = body_names(session, {task.campaign_id})
    rows = list(session.scalars(select(TaskStep).where(TaskStep.task_id == task.id).order_by(TaskStep.position)))
    # The steps planned after the last row: pending, or moot once the task has ended without reaching them.
    moot = "skipped" if task.status in TERMINAL else "pending"
    planned = [(PlannedStep.of(data), moot) for row in rows[-1:] for data in row.later or []]
    views, seen = [], set()
    for step, status in [*((row, None) for row in rows), *planned]:
        view = _view(step, task, (unit[0], unit[1]), bodies, status)
        key = (view.action, view.tier)
        views.append(replace(view, again=True) if view.tier and key in seen else view)
        seen.add(key)
    return views


def upcoming(session: Session, tasks: list[Task]) -> dict[int, StepView]:
    """Each task's next pending step (the earliest due), for a listing: two queries for the page."""
    if not tasks:
        return {}
    by_id = {t.id: t for t in tasks}
    first = (select(TaskStep.task_id, func.min(TaskStep.due_at).label("due"))
             .where(TaskStep.task_id.in_(list(by_id)), TaskStep.status == "pending")
             .group_by(TaskStep.task_id).subquery())
    steps = session.scalars(select(TaskStep).join(first, (first.c.task_id == TaskStep.task_id)
                                                  & (first.c.due == TaskStep.due_at))
                            .where(TaskStep.status == "pending").order_by(TaskStep.position))
    bodies = body_names(session, {t.campaign_id for t in tasks})
    out: dict[int, StepView] = {}
    for step in steps:
        task = by_id[step.task_id]
        out.setdefault(step.task_id, _view(step, task, (task.unit.name_zh, task.unit.name_en), bodies))
    return out


def escalated(session: Session, task_ids: list[int]) -> set[int]:
    """The tasks a ladder step or a supervisor has taken above the unit (督办, escalated, listed publicly)."""
    if not task_ids:
        return set()
    by_step = select(TaskStep.task_id).where(TaskStep.task_id.in_(task_ids), TaskStep.status == "done",
                                             TaskStep.action.in_(ESCALATING))
    by_hand = select(Supervision.task_id).where(Supervision.task_id.in_(task_ids),
                                                Supervision.kind.in_(("order", "list_publicly")))
    return set(session.scalars(by_step.union(by_hand)))
