"""The task list's search, filters and pages (issue 17): a page of 50 tasks by deadline with the total, instead of
the first 200. The caller passes the reader's scope as a condition, so a field unit never counts or sees another
unit's tasks; filters are checked first and a bad one is named next to its field."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import Session, selectinload

from engine.core.models import Category, Event, Task, Unit
from engine.core.states import TERMINAL, TaskStatus
from engine.handling.tasks import STATES
from engine.people.staff import unit_and_below
from rules.problems import InputError, Problem

PAGE_SIZE = 50
MAX_SEARCH = 100
LISTS = {"zero_tolerance": ("零容忍清单", "Zero-tolerance list"),
         "strict_management": ("严管理清单", "Strict-management list"),
         "none": ("不在清单", "On no list")}
LISTED = ("zero_tolerance", "strict_management")
STATE_CHOICES = ("open", "closed", "all", *STATES)


@dataclass(frozen=True)
class TaskFilters:
    """What the reader asked for; `unit_ids` is the chosen unit with those under it."""

    search: str = ""
    state: str = "open"
    category_id: int | None = None
    unit_ids: frozenset[int] | None = None
    list_kind: str | None = None
    overdue: bool = False
    assignee_id: int | None = None


@dataclass
class TaskPage:
    tasks: list[Task]
    total: int
    page: int
    pages: int
    size: int = PAGE_SIZE
    numbers: list[int] = field(default_factory=list)  # the page links around this page


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filters_from(session: Session, args: Mapping[str, str], assignee_id: int | None = None) -> TaskFilters:
    """The list's filters from the query string; an unknown state, category, unit or list is refused."""
    problems: list[Problem] = []
    search = (args.get("q") or "").strip()
    if len(search) > MAX_SEARCH:
        problems.append(Problem("q", f"Search for at most {MAX_SEARCH} characters.", f"搜索内容最多 {MAX_SEARCH} 个字。"))
    state = args.get("state") or "open"
    if state not in STATE_CHOICES:
        problems.append(Problem("state", "No such state.", "没有这个状态。"))
    category_id = None
    if code := (args.get("category") or "").strip():
        category_id = session.scalar(select(Category.id).where(Category.code == code)) if len(code) <= 16 else None
        if category_id is None:
            problems.append(Problem("category", f"No category {code[:16]}.", f"没有类别 {code[:16]}。"))
    unit_ids = None
    if unit := (args.get("unit") or "").strip():
        unit_id = session.scalar(select(Unit.id).where(Unit.id == int(unit))) if unit.isdecimal() and len(unit) < 10 \
            else None
        if unit_id is None:
            problems.append(Problem("unit", "No such unit.", "没有这个单位。"))
        else:
            unit_ids = frozenset(unit_and_below(session, unit_id))
    list_kind = (args.get("list") or "").strip() or None
    if list_kind is not None and list_kind not in LISTS:
        problems.append(Problem("list", "The list must be zero_tolerance, strict_management or none.",
                                "清单只能是 zero_tolerance、strict_management 或 none。"))
    if problems:
        raise InputError(problems)
    return TaskFilters(search, state, category_id, unit_ids, list_kind, bool(args.get("overdue")), assignee_id)


def _conditions(filters: TaskFilters, now: datetime) -> list[Any]:
    found: list[Any] = []
    if filters.state == "open":
        found.append(Task.status.not_in(TERMINAL))
    elif filters.state == "closed":
        found.append(Task.status.in_(TERMINAL))
    elif filters.state in STATES:
        found.append(Task.status == filters.state)
    if filters.overdue:
        found += [Task.deadline_at < now, Task.status.not_in([*TERMINAL, TaskStatus.PARKED])]
    if filters.category_id is not None:
        found.append(Event.category_id == filters.category_id)
    if filters.unit_ids is not None:
        found.append(Task.unit_id.in_(filters.unit_ids))
    if filters.list_kind == "none":
        found.append(Task.list_kind.not_in(LISTED))
    elif filters.list_kind is not None:
        found.append(Task.list_kind == filters.list_kind)
    if filters.assignee_id is not None:
        found.append(Task.assignee_id == filters.assignee_id)
    if filters.search:
        found.append(Task.id.in_(_matching(filters.search)))
    return found


def _matching(text: str) -> Any:
    """The ids of the tasks a search finds: by report (its number, address or description), by task or case
    number. A union of lookups, so each part uses its own index instead of one scan ordered by deadline."""
    events = select(Event.id).where(or_(Event.source_event_id == text, Event.address.ilike(_like(text), escape="\\"),
                                        Event.description.ilike(_like(text), escape="\\")))
    parts = [select(Task.id).where(Task.event_id.in_(events))]
    number = text.lstrip("#")
    if number.isdecimal() and len(number) < 18:
        parts += [select(Task.id).where(Task.id == int(number)), select(Task.id).where(Task.case_id == int(number))]
    return union(*parts)


def _numbers(page: int, pages: int, around: int = 2) -> list[int]:
    """The first and last page and those near this one."""
    return sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)} - {0})


def page_of(session: Session, filters: TaskFilters, scope: Any, now: datetime, page: int = 1) -> TaskPage:
    """One page of the tasks the reader may see that match, by deadline, with the total and the page links."""
    conditions = _conditions(filters, now) + ([scope] if scope is not None else [])
    needs_event = filters.category_id is not None
    counted = select(func.count()).select_from(Task)
    if needs_event:
        counted = counted.join(Event, Event.id == Task.event_id)
    total = session.scalar(counted.where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    query = select(Task).options(selectinload(Task.assignee), selectinload(Task.unit),
                                 selectinload(Task.event).selectinload(Event.category),
                                 selectinload(Task.event).selectinload(Event.grid))
    if needs_event:
        query = query.join(Event, Event.id == Task.event_id)
    tasks = list(session.scalars(query.where(*conditions).order_by(Task.deadline_at, Task.id)
                                 .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return TaskPage(tasks, total, page, pages, numbers=_numbers(page, pages))
