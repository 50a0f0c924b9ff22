"""A notice to a frontage holder (门前三包告知书): the unit tells the holder whose frontage a task is at which of its
letter's duties it breached and by when to put it right.

Like an arrival, a notice is not a move of state: a transition row with the action `holder_notice` and the status
unchanged records it, with the holder, the duties, the rectify-by time and the notice's number in its data and its
text as the comment, so the task's history, the holder's history (engine/handling/holder_history.py) and the audit
chain all show it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.models import Task, TaskTransition, User
from engine.handling.arrival import OPEN
from engine.people.staff import unit_and_below
from engine.space.holders import DUTIES
from rules.problems import InputError, Problem

NOTICE = "holder_notice"
MAX_TEXT = 2000


class NoticeRefused(Exception):
    """The actor may not issue a notice on this task; nothing was written."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(en)

    def message(self, lang: str = "en") -> str:
        return self.zh if lang.startswith("zh") else self.en


def may_notify(session: Session, task: Task, actor: Optional[User]) -> bool:
    """The task's own unit (its account or a unit above it) or an administrator, while the task is open and its
    report lies at a holder's frontage."""
    if actor is None or task.frontage_holder_id is None or task.status not in OPEN:
        return False
    if actor.role == "admin":
        return True
    return actor.role == "field_unit" and actor.unit_id is not None and task.unit_id in unit_and_below(
        session, actor.unit_id)


def duty_name(key: str, lang: str) -> str:
    zh, en = DUTIES.get(key, (key, key))
    return zh if lang.startswith("zh") else en


def _moment(raw: Any, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 time; one without an offset (a form's datetime-local) is in the campaign's local time."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def checked(data: dict[str, Any], now: datetime, zone: ZoneInfo) -> tuple[list[str], datetime, str]:
    """The duties breached, the rectify-by time and the notice's text, every problem at once."""
    problems: list[Problem] = []
    duties = data.get("duties")
    if isinstance(duties, str):
        duties = [duties]
    if not isinstance(duties, list) or not duties or not all(isinstance(d, str) for d in duties):
        problems.append(Problem("duties", "choose at least one duty the holder breached",
                                "请至少选择一项未履行的责任"))
        duties = []
    else:
        unknown = [d for d in duties if d not in DUTIES]
        if unknown:
            problems.append(Problem("duties", f"unknown duty {', '.join(unknown)}; one of {', '.join(DUTIES)}",
                                    f"未知的责任 {'、'.join(unknown)}；须为 "
                                    f"{'、'.join(zh for zh, _en in DUTIES.values())} 之一"))
    rectify_by = _moment(data.get("rectify_by"), zone)
    if rectify_by is None:
        problems.append(Problem("rectify_by", "the rectify-by time: when the holder must have put it right, e.g. "
                                              "2026-10-02T18:00", "须填写整改期限，例如 2026-10-02T18:00"))
    elif rectify_by <= now:
        problems.append(Problem("rectify_by", "the rectify-by time must be later than now",
                                "整改期限须晚于当前时间"))
    text = data.get("text")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        problems.append(Problem("text", "the notice's text: what was found and what the holder must do",
                                "须填写告知内容：发现的问题及责任人应做的整改"))
    elif len(text) > MAX_TEXT or "\x00" in text:
        problems.append(Problem("text", f"at most {MAX_TEXT} characters, without NUL bytes",
                                f"最多 {MAX_TEXT} 个字符，且不含空字符"))
    if problems:
        raise InputError(problems)
    return list(dict.fromkeys(duties)), rectify_by, text


def issue_notice(session: Session, task: Task, actor: Optional[User], data: dict[str, Any], now: datetime,
                 zone: ZoneInfo) -> TaskTransition:
    """Record a 告知书 to the holder of the task's frontage; flushes, never commits."""
    if not may_notify(session, task, actor):
        raise NoticeRefused("只有任务所属单位可以在任务办理期间向门前三包责任单位发出告知书，且事发地须在其责任范围内。",
                            "Only the task's own unit may issue a notice, while the task is open and its report lies "
                            "at a frontage holder's frontage.")
    duties, rectify_by, text = checked(data, now, zone)
    holder = task.frontage_holder
    issued = session.scalar(select(func.count()).select_from(TaskTransition).where(
        TaskTransition.task_id == task.id, TaskTransition.action == NOTICE)) or 0
    row = TaskTransition(task_id=task.id, from_status=task.status, to_status=task.status, action=NOTICE,
                         actor_id=actor.id, at=now, comment=text,
                         data={"holder": holder.id, "holder_name": holder.name, "duties": duties,
                               "rectify_by": rectify_by.isoformat(), "number": f"GZS-{task.id}-{issued + 1}"})
    session.add(row)
    session.flush()
    return row
