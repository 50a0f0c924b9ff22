"""The home page's "your work": for each role the counts of what waits for it, each a link to the queue that
holds it, so an official sees on arrival what is in front of them rather than event statistics."""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Event, Task, User
from engine.core.states import TERMINAL, EventStatus, TaskStatus
from engine.supervision import board as supervision
from web.auth import task_scope
from web.common.extensions import db
from web.workflow import DISPATCH_STATES


@dataclass(frozen=True)
class Work:
    """One count on the home page and the queue it links to."""

    key: str
    label: str
    count: int
    link: str


def _tasks(user: User, *where) -> int:
    scope = task_scope(user).condition()
    query = select(func.count()).select_from(Task).where(*where, *([scope] if scope is not None else []))
    return db.session.scalar(query) or 0


def work_of(user: User) -> list[Work]:
    """What waits for this role, linked to where it is done; every role has at least its open and overdue tasks."""
    now, role = clock.now(), user.role
    open_tasks = Task.status.not_in(TERMINAL)
    work: list[Work] = []
    if role == "field_unit":
        work.append(Work("to-sign", _("Tasks awaiting signing"),
                         _tasks(user, Task.status == TaskStatus.DISPATCHED), url_for("pages.tasks", state="dispatched")))
        work.append(Work("returned", _("Tasks returned for rework"),
                         _tasks(user, Task.status == TaskStatus.RETURNED), url_for("pages.tasks", state="returned")))
    if role in ("checker", "collector", "admin"):
        work.append(Work("to-check", _("Awaiting check"), _tasks(user, Task.status == TaskStatus.SUBMITTED),
                         url_for("workflow.check_queue")))
    if role in ("dispatcher", "shift_leader", "admin"):
        work.append(Work("to-dispatch", _("Awaiting the dispatcher"), _tasks(user, Task.status.in_(DISPATCH_STATES)),
                         url_for("requests.queue")))
    if role == "supervisor":
        tier = supervision.tier_for(db.session, user)
        if tier:
            work.append(Work("board", _("Tasks on your supervision board"), len(supervision.board(db.session, tier)),
                             url_for("supervision.board")))
    work.append(Work("open", _("Open tasks"), _tasks(user, open_tasks), url_for("pages.tasks", state="open")))
    work.append(Work("overdue", _("Overdue tasks"), _tasks(user, open_tasks, Task.deadline_at < now),
                     url_for("pages.tasks", state="open", overdue=1)))
    if role in ("admin", "auditor", "assessor"):
        failed = db.session.scalar(select(func.count()).select_from(Event).where(Event.status == EventStatus.FAILED))
        work.append(Work("failed-events", _("Events that failed evaluation"), failed or 0,
                         url_for("event.index_view")))
    return work
