"""Lost points (扣分) rolled up person → squad → unit: "谁丢分谁负责".

A task's points go to its unit (as the indicators count them) and, within the unit, to the person who held
the task at the instant each point was lost (read from the task's history: engine/assessment/holders.py), so
a task handed on after it ran overdue leaves the overdue point with the one who let it; a rebound goes to its
origin task's unit and to whoever held that task when the event occurred. A person's squad is the person's
own unit: a squad under the unit (张伟 of ZD-DC answering for JD-DC's grid) or the unit itself (its own staff,
本级). A point lost while nobody held the task, or while a person outside the unit and the units below it
held it (before a reroute), counts on the unit's "not assigned to a person" line, so nothing is dropped.

The persons' points are the unit indicators' own computation keyed by (unit, holder), summed as exact
decimals: persons add up to their squad, squads and the unassigned line to the unit, and the unit to its
`points_lost` in the ranking, exactly. See docs/ASSESSMENT.md.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.assessment.indicators import (HAPPENINGS, ZERO, Indicators, Period, ReboundRow, TaskRow, compute_by,
                                          read_rows)
from engine.core.models import Campaign, Person, Unit

Points = dict[str, Decimal]  # happening (HAPPENINGS) -> points lost


def _total(points: Points) -> Decimal:
    return sum(points.values(), ZERO)


def _add(into: Points, points: Points) -> None:
    for happening, value in points.items():
        into[happening] = into.get(happening, ZERO) + value


@dataclass
class PersonPoints:
    """One person's points lost for the unit's tasks, per happening."""

    person: Person
    by: Points

    @property
    def total(self) -> Decimal:
        return _total(self.by)


@dataclass
class SquadPoints:
    """The persons of one squad (their own unit) who lost the unit points; `own` when it is the unit itself."""

    unit: Unit
    own: bool
    persons: list[PersonPoints] = field(default_factory=list)

    @property
    def by(self) -> Points:
        points: Points = {}
        for person in self.persons:
            _add(points, person.by)
        return points

    @property
    def total(self) -> Decimal:
        return sum((person.total for person in self.persons), ZERO)


@dataclass
class UnitPoints:
    """A unit's points lost in a period: per squad and person, and what no person answers for."""

    unit: Unit
    squads: list[SquadPoints] = field(default_factory=list)
    unassigned_by: Points = field(default_factory=dict)

    @property
    def unassigned(self) -> Decimal:
        return _total(self.unassigned_by)

    @property
    def by(self) -> Points:
        points: Points = dict(self.unassigned_by)
        for squad in self.squads:
            _add(points, squad.by)
        return points

    @property
    def total(self) -> Decimal:
        return sum((squad.total for squad in self.squads), self.unassigned)


def _holder(row: TaskRow | ReboundRow, instant: datetime) -> tuple[int, int | None]:
    return row.unit_id, row.holder_at(instant)


def lost_by_person(rows: Iterable[TaskRow], rebounds: Iterable[ReboundRow], period: Period,
                   now: datetime) -> dict[tuple[int, int | None], Indicators]:
    """The period's indicators per (unit, holder at each happening or None): a pure function of the rows,
    like `compute`."""
    return compute_by(rows, rebounds, period, now, _holder)


def _within(unit_id: int, person_unit_id: int, parents: dict[int, int | None]) -> bool:
    """The person's unit is the unit or below it (the walk stops at the top or on a loop)."""
    seen: set[int] = set()
    current: int | None = person_unit_id
    while current is not None and current not in seen:
        if current == unit_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _ordered(units: Iterable[UnitPoints]) -> list[UnitPoints]:
    result = []
    for unit in units:
        for squad in unit.squads:
            squad.persons = [p for p in squad.persons if p.total]
            squad.persons.sort(key=lambda p: (-p.total, p.person.name, p.person.code))
        unit.squads = [s for s in unit.squads if s.persons]
        unit.squads.sort(key=lambda s: (-s.total, not s.own, s.unit.code))
        if unit.total:
            result.append(unit)
    return sorted(result, key=lambda u: (-u.total, u.unit.code))


def points_from_rows(session: Session, rows: Iterable[TaskRow], rebounds: Iterable[ReboundRow], period: Period,
                     now: datetime) -> list[UnitPoints]:
    """The roll-up of rows already read (the bulletin reads them once); two queries: units, then persons.

    Units, squads and persons that lost no points are left out; each level is ordered by points, most first.
    """
    lost = lost_by_person(rows, rebounds, period, now)
    units = {u.id: u for u in session.scalars(select(Unit))}
    parents = {uid: unit.parent_id for uid, unit in units.items()}
    person_ids = {pid for _uid, pid in lost if pid is not None}
    persons = ({p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
               if person_ids else {})
    rolled: dict[int, UnitPoints] = {}
    squads: dict[tuple[int, int], SquadPoints] = {}
    for (unit_id, person_id), ind in lost.items():
        line = rolled.setdefault(unit_id, UnitPoints(units[unit_id]))
        person = persons.get(person_id) if person_id is not None else None
        if person is None or not _within(unit_id, person.unit_id, parents):
            _add(line.unassigned_by, ind.points_by)
            continue
        squad = squads.get((unit_id, person.unit_id))
        if squad is None:
            squad = squads[(unit_id, person.unit_id)] = SquadPoints(units[person.unit_id], person.unit_id == unit_id)
            line.squads.append(squad)
        squad.persons.append(PersonPoints(person, {h: ind.points_by[h] for h in HAPPENINGS if h in ind.points_by}))
    return _ordered(rolled.values())


def points_rollup(session: Session, campaign: Campaign, period: Period, now: datetime) -> list[UnitPoints]:
    """The campaign's points lost in `period` (up to min(its end, now)) per unit, squad and person."""
    rows, rebounds = read_rows(session, campaign, period)
    return points_from_rows(session, rows, rebounds, period, now)
