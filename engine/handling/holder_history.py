"""A frontage holder's history (门前三包): the violations at its frontage and the notices (告知书) it was given, and
the repeat offenders (屡犯) among the holders.

A violation is a case that names the holder (its report lay at the holder's frontage or was given by its address),
unless the case was not filed (不予立案) or voided. A holder with REPEAT_VIOLATIONS violations or more within
REPEAT_DAYS days up to now is a repeat offender (engine/space/holders.py names both numbers).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from engine.core.models import Case, FrontageHolder, Grid, Task, TaskTransition, User
from engine.handling.holder_notice import NOTICE
from engine.people.staff import unit_and_below
from engine.space.holders import NOT_VIOLATIONS, REPEAT_DAYS, REPEAT_VIOLATIONS

#: Roles that see every holder; anyone else sees the holders of their own unit (a sub-district) and below.
SEE_ALL = ("admin", "supervisor", "assessor", "auditor")


@dataclass(frozen=True)
class Violation:
    case_id: int
    reported_at: datetime
    category: Any
    stage: str
    recent: bool  # within REPEAT_DAYS up to now


@dataclass(frozen=True)
class Notice:
    task_id: int
    at: datetime
    number: str
    duties: list[str]
    rectify_by: datetime | None
    text: str
    issued_by: str


@dataclass
class Standing:
    """One holder with its counts: every violation, those within REPEAT_DAYS, and its notices."""

    holder: FrontageHolder
    violations: int = 0
    recent: int = 0
    notices: int = 0

    @property
    def repeat(self) -> bool:
        return self.recent >= REPEAT_VIOLATIONS


@dataclass
class HolderHistory:
    standing: Standing
    violations: list[Violation] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


def visible_units(session: Session, user: User | None) -> set[int] | None:
    """The units whose holders the user may see: None for every holder, else the user's unit and those below."""
    if user is None:
        return set()
    if user.role in SEE_ALL:
        return None
    return unit_and_below(session, user.unit_id) if user.unit_id is not None else set()


def may_see(session: Session, holder: FrontageHolder, user: User | None) -> bool:
    units = visible_units(session, user)
    return units is None or holder.unit_id in units or holder.grid.unit_id in units


def standings(session: Session, now: datetime, units: set[int] | None = None,
              repeat_only: bool = False) -> list[Standing]:
    """Every holder the units answer for (all with None), with its counts; repeat offenders first, then by code."""
    query = select(FrontageHolder).join(Grid, Grid.id == FrontageHolder.grid_id).options(
        selectinload(FrontageHolder.grid), selectinload(FrontageHolder.unit))
    if units is not None:
        query = query.where(or_(FrontageHolder.unit_id.in_(units), Grid.unit_id.in_(units)))
    found = {h.id: Standing(h) for h in session.scalars(query)}
    if not found:
        return []
    since = now - timedelta(days=REPEAT_DAYS)
    for holder_id, total, recent in session.execute(
            select(Case.frontage_holder_id, func.count(),
                   func.sum(case((Case.reported_at >= since, 1), else_=0)))
            .where(Case.frontage_holder_id.in_(list(found)), Case.stage.not_in(NOT_VIOLATIONS),
                   Case.reported_at <= now).group_by(Case.frontage_holder_id)):
        found[holder_id].violations, found[holder_id].recent = total, int(recent or 0)
    for holder_id, count in session.execute(
            select(Task.frontage_holder_id, func.count()).join(TaskTransition, TaskTransition.task_id == Task.id)
            .where(Task.frontage_holder_id.in_(list(found)), TaskTransition.action == NOTICE)
            .group_by(Task.frontage_holder_id)):
        found[holder_id].notices = count
    rows = [s for s in found.values() if s.repeat or not repeat_only]
    return sorted(rows, key=lambda s: (not s.repeat, -s.recent, s.holder.code or "", s.holder.name))


def holder_history(session: Session, holder: FrontageHolder, now: datetime) -> HolderHistory:
    """The holder's violations (newest first) and the notices it was given (newest first)."""
    since = now - timedelta(days=REPEAT_DAYS)
    cases = session.scalars(select(Case).options(selectinload(Case.category)).where(
        Case.frontage_holder_id == holder.id, Case.stage.not_in(NOT_VIOLATIONS), Case.reported_at <= now)
        .order_by(Case.reported_at.desc(), Case.id.desc())).all()
    violations = [Violation(c.id, c.reported_at, c.category, c.stage, c.reported_at >= since) for c in cases]
    notices = []
    for row, username in session.execute(
            select(TaskTransition, User.username).join(Task, Task.id == TaskTransition.task_id)
            .outerjoin(User, User.id == TaskTransition.actor_id)
            .where(Task.frontage_holder_id == holder.id, TaskTransition.action == NOTICE)
            .order_by(TaskTransition.at.desc(), TaskTransition.id.desc())):
        data = row.data or {}
        rectify = data.get("rectify_by")
        notices.append(Notice(row.task_id, row.at, data.get("number", ""), list(data.get("duties", [])),
                              datetime.fromisoformat(rectify) if rectify else None, row.comment or "",
                              username or ""))
    standing = Standing(holder, len(violations), sum(1 for v in violations if v.recent), len(notices))
    return HolderHistory(standing, violations, notices)
