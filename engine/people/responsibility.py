"""Who answers for what (包片、包点、包联): a grid's responsible person and collector, a street's
responsible person, a unit's paired leader; and the chain above a task, 责任人 → 中队长 → 大队长 → 分管领导.

"谁丢分谁负责": lost points and escalations follow these people, so every assignment is checked against
the unit it serves, and a grid left without a person, or a field worker left without an area, is easy to find.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy import or_, select, union
from sqlalchemy.orm import Session, aliased

from engine.core.models import Event, Grid, InspectionPoint, Person, Street, Unit
from engine.people.staff import position_name, unit_and_below
from rules.problems import InputError, Problem

CHAIN = ("responsible", "squad_chief", "brigade_chief", "leader_in_charge")
#: Who works in the field and so needs an area of their own (seed 004: 每名队员都要有自己的责任区域): team members
#: (责任人/队员), grid workers and collectors; leaders and the centre's shift leaders answer through the chain.
FIELD_POSITIONS = ("responsible", "grid_worker", "collector")


@dataclass(frozen=True)
class Link:
    """One step of the chain above a task: the position, and the person holding it (None: nobody named)."""

    position: str
    person: Optional[Person]

    def label(self, lang: str = "zh") -> str:
        return position_name(self.position, lang)


def _belongs(session: Session, person: Person, unit_id: int, field: str, what_en: str, what_zh: str) -> list[Problem]:
    if person.unit_id in unit_and_below(session, unit_id):
        return []
    unit = session.get(Unit, unit_id)
    return [Problem(field, f"{person.name} belongs to {person.unit.name_en}, not to {unit.name_en}, which {what_en}",
                    f"{person.name}属于「{person.unit.name_zh}」，不属于{what_zh}「{unit.name_zh}」")]


def check_grid(session: Session, grid: Grid, responsible: Optional[Person], collector: Optional[Person]
               ) -> list[Problem]:
    """A grid's 责任人 comes from its own unit (or a unit under it); its 监督员 is a collector from anywhere."""
    problems = []
    if responsible is not None:
        problems += _belongs(session, responsible, grid.unit_id, "responsible", "the grid belongs to", "网格所属单位")
    if collector is not None and collector.position != "collector":
        problems.append(Problem("collector", f"{collector.name} is a {position_name(collector.position, 'en')}, "
                                             f"not a collector", f"{collector.name}的职务是"
                                                                 f"{position_name(collector.position)}，不是监督员"))
    return problems


def assign_grid(session: Session, grid: Grid, responsible: Optional[Person], collector: Optional[Person]) -> None:
    problems = check_grid(session, grid, responsible, collector)
    if problems:
        raise InputError(problems)
    grid.responsible_id = responsible.id if responsible else None
    grid.collector_id = collector.id if collector else None
    session.flush()


def check_street(session: Session, street: Street, responsible: Optional[Person]) -> list[Problem]:
    if responsible is None:
        return []
    return _belongs(session, responsible, street.unit_id, "responsible", "the street belongs to", "道路所属单位")


def check_liaison(liaison: Optional[Person]) -> list[Problem]:
    """包联: the leader paired with a unit is a leader in charge, from the unit or from outside it."""
    if liaison is None or liaison.position == "leader_in_charge":
        return []
    return [Problem("liaison", f"{liaison.name} is a {position_name(liaison.position, 'en')}; a paired leader "
                               f"(包联) is a leader in charge", f"{liaison.name}的职务是{position_name(liaison.position)}，"
                                                                f"包联领导须为分管领导")]


def check_assignee(session: Session, task_unit_id: int, person: Person) -> list[Problem]:
    """A task goes to a person of its own unit (or a unit under it), never across units."""
    return _belongs(session, person, task_unit_id, "person", "the task belongs to", "任务所属单位")


def grids_missing_people(session: Session) -> list[Grid]:
    """Grids without a responsible person or without a collector: the admin flags each one."""
    return list(session.scalars(select(Grid).where(or_(Grid.responsible_id.is_(None), Grid.collector_id.is_(None)))
                                .order_by(Grid.code)))


def staff_without_area(session: Session) -> list[Person]:
    """Active field staff holding no grid, street or active inspection point (责任区域): the admin flags each one."""
    held = union(select(Grid.responsible_id).where(Grid.responsible_id.is_not(None)),
                 select(Grid.collector_id).where(Grid.collector_id.is_not(None)),
                 select(Street.responsible_id).where(Street.responsible_id.is_not(None)),
                 select(InspectionPoint.person_id).where(InspectionPoint.person_id.is_not(None),
                                                         InspectionPoint.active.is_(True)))
    return list(session.scalars(select(Person).where(Person.active.is_(True), Person.position.in_(FIELD_POSITIONS),
                                                     Person.id.not_in(select(held.subquery().c[0])))
                                .order_by(Person.code)))


def responsible_for_events(session: Session, event_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Event id -> (the 责任人 of its grid, that person's unit), for tasks born assigned to them."""
    ids = set(event_ids)
    if not ids:
        return {}
    person = aliased(Person)
    rows = session.execute(select(Event.id, person.id, person.unit_id).join(Grid, Grid.id == Event.grid_id)
                           .join(person, person.id == Grid.responsible_id)
                           .where(Event.id.in_(ids), person.active.is_(True)))
    return {event_id: (person_id, unit_id) for event_id, person_id, unit_id in rows}


@dataclass(frozen=True)
class Organisation:
    """The unit tree, each unit's paired leader and its active leaders by position, read in two queries:
    the chain above a task is then walked in memory (a listing of 200 tasks reads it once)."""

    parent: dict[int, int | None]
    liaison: dict[int, int | None]
    leaders: dict[tuple[int, str], Person]
    responsible: dict[int, Person]  # grid id -> its 责任人
    paired: dict[int, Person]  # person id -> a paired leader (包联), held here: the session only holds them weakly

    @classmethod
    def load(cls, session: Session) -> "Organisation":
        units = session.execute(select(Unit.id, Unit.parent_id, Unit.liaison_id)).all()
        leaders: dict[tuple[int, str], Person] = {}
        for person in session.scalars(select(Person).where(Person.active.is_(True), Person.position.in_(CHAIN[1:]))
                                      .order_by(Person.code)):
            leaders.setdefault((person.unit_id, person.position), person)
        people = {p.id: p for p in session.scalars(select(Person).where(
            Person.id.in_(select(Grid.responsible_id).union(select(Unit.liaison_id)))))}
        responsible = {grid_id: people[person_id] for grid_id, person_id in
                       session.execute(select(Grid.id, Grid.responsible_id).where(Grid.responsible_id.is_not(None)))}
        return cls({u.id: u.parent_id for u in units}, {u.id: u.liaison_id for u in units}, leaders, responsible,
                   {u.liaison_id: people[u.liaison_id] for u in units if u.liaison_id in people})

    def upwards(self, unit_id: int | None) -> list[int]:
        """The unit and its parents, nearest first (a cycle stops the walk)."""
        seen: list[int] = []
        while unit_id is not None and unit_id not in seen:
            seen.append(unit_id)
            unit_id = self.parent.get(unit_id)
        return seen

    def nearest(self, unit_id: int, position: str) -> Person | None:
        return next((self.leaders[(u, position)] for u in self.upwards(unit_id) if (u, position) in self.leaders), None)

    def below(self, unit_id: int) -> set[int]:
        return {u for u in self.parent if unit_id in self.upwards(u)}


def chain(session: Session, unit_id: int, grid_id: Optional[int] = None, assignee: Optional[Person] = None,
          org: Organisation | None = None) -> list[Link]:
    """The people above a task of `unit_id`: its assignee or the grid's 责任人, then the squad chief and
    brigade chief nearest to that person, then the unit's paired leader (else its own leader in charge)."""
    org = org or Organisation.load(session)
    responsible = assignee
    holder = org.responsible.get(grid_id) if assignee is None and grid_id is not None else None
    if holder is not None and holder.unit_id in org.below(unit_id):
        responsible = holder
    start = responsible.unit_id if responsible is not None else unit_id
    paired = next((org.liaison[u] for u in org.upwards(unit_id) if org.liaison.get(u)), None)
    leader = (org.paired.get(paired) or session.get(Person, paired)) if paired is not None \
        else org.nearest(unit_id, "leader_in_charge")
    return [Link("responsible", responsible), Link("squad_chief", org.nearest(start, "squad_chief")),
            Link("brigade_chief", org.nearest(start, "brigade_chief")), Link("leader_in_charge", leader)]
