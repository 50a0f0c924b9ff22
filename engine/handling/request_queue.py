"""The dispatcher's queue of requests (延期, 挂账, 作废) and orders sent back (退单): search by task number,
address or unit, filters by kind, unit and age, pages by the time of the request, and bulk decisions, each
made through the state machine as one person would, so a refused one leaves the others decided."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from engine.core.models import Event, Task, TaskTransition, Unit, User
from engine.core.states import TaskStatus
from engine.handling import extension
from engine.handling.task_list import _like, _numbers
from engine.handling.tasks import TransitionError, apply
from rules.problems import InputError, Problem

PAGE_SIZE = 30
MAX_SEARCH = 100
#: Each kind of request: the state it waits in and the action it asks for.
KINDS: dict[str, tuple[str, str]] = {"extension": (TaskStatus.EXT_REQUESTED, "request_extension"),
                                     "park": (TaskStatus.PARK_REQUESTED, "request_park"),
                                     "void": (TaskStatus.VOID_REQUESTED, "request_void"),
                                     "sent_back": (TaskStatus.SENT_BACK, "send_back")}
KIND_NAMES = {"extension": ("延期", "extension"), "park": ("挂账", "parking"), "void": ("作废", "voiding"),
              "sent_back": ("退单", "sent back")}
DECIDABLE = ("extension", "park", "void")  # a send-back is rerouted one by one, to a unit
KIND_OF = {state: kind for kind, (state, _action) in KINDS.items()}
#: How long a request has waited, at least, in hours.
AGES = (1, 4, 24, 72)


@dataclass(frozen=True)
class QueueFilters:
    search: str = ""
    kind: str | None = None
    unit_id: int | None = None
    older_than_hours: int | None = None


@dataclass
class Request:
    """A task waiting for the dispatcher with what the unit asked: its reason, the length or end it wants."""

    task: Task
    kind: str
    asked: TaskTransition | None
    length: tuple[float, str] | None


@dataclass
class QueuePage:
    requests: list[Request]
    total: int
    page: int
    pages: int
    numbers: list[int] = field(default_factory=list)


def filters_from(session: Session, args: Mapping[str, str]) -> QueueFilters:
    """The queue's filters from the query string; a bad one is named by its field."""
    problems: list[Problem] = []
    search = (args.get("q") or "").strip()
    if len(search) > MAX_SEARCH:
        problems.append(Problem("q", f"Search for at most {MAX_SEARCH} characters.", f"搜索内容最多 {MAX_SEARCH} 个字。"))
    kind = (args.get("kind") or "").strip() or None
    if kind is not None and kind not in KINDS:
        problems.append(Problem("kind", "No such kind of request.", "没有这种申请。"))
    unit_id = None
    if unit := (args.get("unit") or "").strip():
        unit_id = session.scalar(select(Unit.id).where(Unit.id == int(unit))) if unit.isdecimal() and len(unit) < 10 \
            else None
        if unit_id is None:
            problems.append(Problem("unit", "No such unit.", "没有这个单位。"))
    age = (args.get("age") or "").strip()
    if age and not (age.isdecimal() and int(age) in AGES):
        problems.append(Problem("age", "No such age.", "没有这个等待时长。"))
    if problems:
        raise InputError(problems)
    return QueueFilters(search, kind, unit_id, int(age) if age else None)


def _asked_at() -> Any:
    """When each task's latest request or send-back was made."""
    return (select(TaskTransition.task_id, func.max(TaskTransition.at).label("at"))
            .where(TaskTransition.action.in_([action for _state, action in KINDS.values()]))
            .group_by(TaskTransition.task_id).subquery())


def page_of(session: Session, filters: QueueFilters, now: datetime, page: int = 1) -> QueuePage:
    """One page of the waiting requests, the longest-waiting first, with each one's request."""
    asked = _asked_at()
    states = [KINDS[filters.kind][0]] if filters.kind else [state for state, _action in KINDS.values()]
    conditions: list[Any] = [Task.status.in_(states)]
    if filters.unit_id is not None:
        conditions.append(Task.unit_id == filters.unit_id)
    if filters.older_than_hours is not None:
        conditions.append(asked.c.at <= now - timedelta(hours=filters.older_than_hours))
    if filters.search:
        text, number = filters.search, filters.search.lstrip("#")
        matches = [Event.address.ilike(_like(text), escape="\\"), Unit.name_zh.ilike(_like(text), escape="\\"),
                   Unit.name_en.ilike(_like(text), escape="\\"), Unit.code == text]
        if number.isdecimal() and len(number) < 18:
            matches.append(Task.id == int(number))
        conditions.append(or_(*matches))
    base = (select(Task).join(Event, Event.id == Task.event_id).join(Unit, Unit.id == Task.unit_id)
            .outerjoin(asked, asked.c.task_id == Task.id).where(*conditions))
    total = session.scalar(select(func.count()).select_from(base.with_only_columns(Task.id).subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    tasks = list(session.scalars(base.options(selectinload(Task.unit), selectinload(Task.transitions),
                                              selectinload(Task.event).selectinload(Event.category))
                                 .order_by(asked.c.at, Task.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return QueuePage([describe(t) for t in tasks], total, page, pages, _numbers(page, pages))


def describe(task: Task) -> Request:
    kind = KIND_OF[task.status]
    action = KINDS[kind][1]
    asked = next((x for x in reversed(task.transitions) if x.action == action), None)
    return Request(task, kind, asked, extension.requested(task) if kind == "extension" else None)


@dataclass
class Outcome:
    decided: list[int]
    refused: dict[int, str]


def decide(session: Session, picked: list[tuple[int, int]], approve: bool, reason: str, actor: User,
           lang: str) -> Outcome:
    """Approve or reject each picked (task, version read) with one reason; one refused leaves the rest decided.
    A rejection without a reason is refused as a whole, next to the reason."""
    if not approve and not reason.strip():
        raise InputError([Problem("comment", "a reason is required to reject the requests",
                                  "驳回申请须填写理由")])
    outcome = Outcome([], {})
    for task_id, version in picked:
        task = session.get(Task, task_id)
        kind = KIND_OF.get(task.status) if task is not None else None
        if task is None or kind not in DECIDABLE:
            outcome.refused[task_id] = "不是待审批的申请" if lang == "zh" else "not a request awaiting a decision"
            continue
        try:
            with session.begin_nested():
                apply(session, task, f"{'approve' if approve else 'reject'}_{kind}", actor, reason.strip(),
                      expected_version=version)
        except TransitionError as err:
            outcome.refused[task_id] = err.message(lang)
        except InputError as err:
            outcome.refused[task_id] = "; ".join(p.message(lang) for p in err.problems)
        else:
            outcome.decided.append(task_id)
    return outcome
