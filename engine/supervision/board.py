"""Supervision (督查) at three tiers: the board of what escalated to a tier, and the supervisor's
actions on a task — urge (催办), order handling with a required reply (督办), list publicly
(挂牌督办) — which the responsible unit sees and answers on its task. Every action is a row."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.core import clock, outbox
from rules.problems import InputError, Problem
from engine.core.models import Campaign, Event, RulesetVersion, Supervision, Task, TaskStep, Unit, User
from engine.core.states import TERMINAL

KINDS = ("urge", "order", "list_publicly")
LEVELS = range(1, 7)  # the bureau's three tiers and the committee's bodies (admin/fields.py BODY_LEVELS)
ESCALATING = ("order", "escalate", "list_publicly")


@dataclass
class BoardRow:
    task: Task
    since: datetime
    reached_by: str  # the timeline step (or supervisor action) that brought the task to this tier
    overdue: timedelta | None
    listed_publicly: bool
    open_orders: int


def tier_for(session: Session, user: User) -> int | None:
    """The tier whose board a supervisor works. Tiers are published with the rules: membership comes from
    each active campaign's published version (the user's own, else their unit's), then the account's level."""
    unit_code = session.scalar(select(Unit.code).where(Unit.id == user.unit_id)) if user.unit_id else None
    own: set[int] = set()
    through_unit: set[int] = set()
    versions = session.scalars(select(RulesetVersion).join(Campaign, Campaign.published_version_id == RulesetVersion.id)
                               .where(Campaign.status == "active"))
    for version in versions:
        for tier in (version.bundle or {}).get("tiers", []):
            members = tier.get("members", [])
            if {"user": user.username} in members:
                own.add(tier["level"])
            if unit_code is not None and {"unit": unit_code} in members:
                through_unit.add(tier["level"])
    levels = own or through_unit
    return max(levels) if levels else user.tier_level


def board(session: Session, tier: int, include_closed: bool = False) -> list[BoardRow]:
    """Tasks escalated to `tier` by their timeline or by a supervisor, most overdue first."""
    now = clock.now()
    reached: dict[int, tuple[datetime, str]] = {}
    for step in session.scalars(select(TaskStep).where(TaskStep.status == "done", TaskStep.tier_level == tier,
                                                       TaskStep.action.in_(ESCALATING))):
        if step.task_id not in reached or step.ran_at < reached[step.task_id][0]:
            reached[step.task_id] = (step.ran_at, step.action)
    actions = list(session.scalars(select(Supervision).where(Supervision.tier_level == tier)))
    for action in actions:
        if action.task_id not in reached or action.created_at < reached[action.task_id][0]:
            reached[action.task_id] = (action.created_at, action.kind)
    if not reached:
        return []
    tasks = session.scalars(select(Task).where(Task.id.in_(list(reached)))
                            .options(selectinload(Task.unit), selectinload(Task.event).selectinload(Event.category)))
    rows = []
    for task in tasks:
        if task.status in TERMINAL and not include_closed:
            continue
        mine = [a for a in actions if a.task_id == task.id]
        since, how = reached[task.id]
        rows.append(BoardRow(task, since, how, now - task.deadline_at if now > task.deadline_at else None,
                             any(a.kind == "list_publicly" for a in mine),
                             sum(1 for a in mine if a.kind == "order" and a.replied_at is None)))
    rows.sort(key=lambda r: (r.overdue is None, -(r.overdue or timedelta()).total_seconds(), r.since))
    return rows


def act(session: Session, task: Task, actor: User, tier: int, kind: str, message: str,
        reply_within_hours: float | None = None) -> Supervision:
    """Record a supervisor's action and notify the unit; an order needs a reply by a deadline, and a public
    listing by hand (挂牌督办, a leader's decision) a reason, recorded as its message."""
    problems = []
    if kind not in KINDS:
        problems.append(Problem("kind", f"one of {', '.join(KINDS)}", f"须为 {'、'.join(KINDS)} 之一"))
    if kind == "list_publicly" and not (message or "").strip():
        problems.append(Problem("message", "listing a task publicly (挂牌督办) by hand needs a reason: write why "
                                "in the message", "人工挂牌督办须写明理由：请在留言中说明挂牌原因"))
    elif not (message or "").strip() or len(message) > 2000:
        problems.append(Problem("message", "required, at most 2000 characters", "必填，不超过 2000 个字符"))
    if tier not in LEVELS:
        problems.append(Problem("tier", "a supervising body's level from 1 to 6", "督办机构层级须为 1–6"))
    if kind == "order" and (reply_within_hours is None or not 0 < reply_within_hours <= 24 * 30):
        problems.append(Problem("reply_within_hours", "an order needs a reply deadline (hours, up to 30 days)",
                                     "督办须设置回复时限（小时，不超过 30 天）"))
    if task.status in TERMINAL:
        problems.append(Problem("task", f"task {task.id} is already {task.status}", f"任务 {task.id} 已{task.status}"))
    if problems:
        raise InputError(problems)
    now = clock.now()
    row = Supervision(task_id=task.id, tier_level=tier, kind=kind, message=message.strip(), created_by=actor.id,
                      created_at=now, reply_due_at=now + timedelta(hours=reply_within_hours) if kind == "order" else None)
    session.add(row)
    session.flush()
    outbox.write(session, [outbox.message(f"supervision:{row.id}", f"supervision_{kind}", f"unit:{task.unit_id}",
                                          {"task": task.id, "supervision": row.id, "kind": kind, "tier": tier,
                                           "message": row.message}, now, event_id=task.event_id, task_id=task.id)])
    return row


def reply(session: Session, supervision: Supervision, actor: User, text: str) -> Supervision:
    """The unit's answer to an order (督办回复); answered once."""
    if supervision.kind != "order":
        raise InputError([Problem("supervision", "only an order (督办) takes a reply", "只有督办需要回复")])
    if supervision.replied_at is not None:
        raise InputError([Problem("supervision", "this order was already answered", "该督办已回复")])
    if not (text or "").strip() or len(text) > 4000:
        raise InputError([Problem("reply", "required, at most 4000 characters", "必填，不超过 4000 个字符")])
    supervision.reply_text, supervision.replied_by, supervision.replied_at = text.strip(), actor.id, clock.now()
    session.flush()
    return supervision


def for_task(session: Session, task_id: int) -> list[Supervision]:
    return list(session.scalars(select(Supervision).where(Supervision.task_id == task_id).order_by(Supervision.id)))
