"""Seed 003 (所有测评点在3月22日之前整改到位) once a task exists: a task at an inspection point that is due by the
inspection's start stays due by then when it is extended or resumed (its first deadline is capped by
engine.core.worktime.before_inspection)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.core.models import Campaign, Task
from engine.space.points import points_at
from rules.problems import InputError, Problem


def inspection_cap(session: Session, task: Task, campaign: Campaign) -> datetime | None:
    """The latest deadline a task may be moved to: the inspection's start for a task at an inspection point that is
    due by then (seed 003); None elsewhere, or for a task set once the inspection began (it keeps its own)."""
    starts = campaign.inspection_starts_at
    if starts is None or task.deadline_at > starts or task.event_id not in points_at(session, [task.event]):
        return None
    return starts


def refuse_past_inspection(session: Session, task: Task, campaign: Campaign, deadline: datetime) -> None:
    """Refuse an extension that would end after the inspection starts, naming the latest deadline allowed in the
    campaign's local time, next to the length the user typed."""
    cap = inspection_cap(session, task, campaign)
    if cap is None or deadline <= cap:
        return
    shown = cap.astimezone(ZoneInfo(campaign.timezone)).strftime("%Y-%m-%d %H:%M")
    if task.deadline_at >= cap:
        raise InputError([Problem(
            "limit_value", f"this task is at an inspection point and is already due when the inspection starts "
                           f"({shown}); it cannot be extended past that",
            f"该任务位于测评点位，期限已是测评开始时间（{shown}），测评点须在测评前整改到位，不能再延期")])
    raise InputError([Problem(
        "limit_value", f"this task is at an inspection point, to be put right before the inspection: the extended "
                       f"deadline may be no later than {shown}, when the inspection starts; ask for a shorter length",
        f"该任务位于测评点位，须在测评前整改到位：延期后的期限最迟为 {shown}（测评开始时间），请缩短延期时长")])
