"""Routing by the duty lists (DESIGN 12): which unit leads (主办) a matter in a grid, which units cooperate (协办),
and where the lists contradict themselves (two leads) or leave a catalogue matter to nobody.

A routing row is a DutyItem with a role. It names a matter or its group (a top-level category) and an area: a
list of grid codes, or None for wherever its unit answers. A unit answers for the grids of its own subtree (a
sub-district for its grids, the bureau above it for theirs); a unit with none answers where its nearest
ancestor with grids does (a sub-district's squad for the sub-district), and a unit with no such ancestor (a
department) answers district-wide. Among the rows that match, a row naming the matter beats a group row, and
a row with an area beats one without; two units leading at the best rank are a conflict, and the case then
waits for the dispatcher rather than going to either.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, joinedload

from engine.core.models import Category, DutyItem, FilingCondition, Grid, ListItem, Unit
from rules.problems import Problem

LEAD, COOPERATE = "lead", "cooperate"
#: role -> (zh, en): 主办 leads the case, 协办 gets a task beside it; None (不派遣) routes nothing.
ROLES: dict[str, tuple[str, str]] = {LEAD: ("主办", "lead"), COOPERATE: ("协办", "cooperate")}


@dataclass(frozen=True)
class Routing:
    """Who a matter in a grid goes to. `lead` is None when nobody leads or when `conflict` names two or more."""

    lead: Unit | None
    cooperating: list[Unit] = field(default_factory=list)
    conflict: list[Unit] = field(default_factory=list)
    duties: list[DutyItem] = field(default_factory=list)  # the rows that decided: leading, then cooperating


@dataclass(frozen=True)
class Conflict:
    """Two or more units lead one matter (or group) in these grids at the same rank."""

    category: Category
    units: list[Unit]
    grids: list[Grid]
    everywhere: bool  # every grid of the district


@dataclass(frozen=True)
class Territory:
    """Units as a tree, and the unit whose grids each one answers for (None: district-wide)."""

    parent: dict[int, int | None]
    holders: frozenset[int]  # units with grids in their subtree

    def home(self, unit_id: int) -> int | None:
        """The unit itself if it has grids below it, else its nearest ancestor that has, else None."""
        seen: set[int] = set()
        current: int | None = unit_id
        while current is not None and current not in seen:
            if current in self.holders:
                return current
            seen.add(current)
            current = self.parent.get(current)
        return None

    def answers(self, unit_id: int, grid: Grid | None) -> bool:
        home = self.home(unit_id)
        return home is None or (grid is not None and home in _above(self.parent, grid.unit_id))


def _above(parent: dict[int, int | None], unit_id: int | None) -> set[int]:
    """The unit and every unit above it."""
    found: set[int] = set()
    while unit_id is not None and unit_id not in found:
        found.add(unit_id)
        unit_id = parent.get(unit_id)
    return found


def territory(session: Session) -> Territory:
    """One query: every unit's parent and whether a grid names it."""
    has_grid = exists().where(Grid.unit_id == Unit.id)
    rows = session.execute(select(Unit.id, Unit.parent_id, has_grid)).all()
    parent = {uid: pid for uid, pid, _ in rows}
    holders: set[int] = set()
    for uid, _, held in rows:
        if held:
            holders |= _above(parent, uid)
    return Territory(parent, frozenset(holders))


def _covers(row: DutyItem, grid: Grid | None, land: Territory) -> bool:
    if row.area is not None:
        return grid is not None and grid.code in row.area
    return land.answers(row.unit_id, grid)


def _rank(row: DutyItem, matter_id: int) -> tuple[bool, bool]:
    """Naming the matter beats naming its group; an area beats wherever the unit answers."""
    return row.category_id == matter_id, row.area is not None


def _units(rows: Iterable[DutyItem]) -> list[Unit]:
    by_id = {r.unit_id: r.unit for r in rows}
    return sorted(by_id.values(), key=lambda u: u.code)


def _top_leads(rows: list[DutyItem], matter_id: int, grid: Grid | None, land: Territory) -> list[DutyItem]:
    leads = [r for r in rows if r.role == LEAD and _covers(r, grid, land)]
    if not leads:
        return []
    best = max(_rank(r, matter_id) for r in leads)
    return [r for r in leads if _rank(r, matter_id) == best]


def decide(rows: list[DutyItem], matter_id: int, grid: Grid | None, land: Territory) -> Routing:
    """The routing of one matter in one grid (None: outside every grid) from the rows naming it or its group."""
    top = _top_leads(rows, matter_id, grid, land)
    leading = _units(top)
    taken = {u.id for u in leading}
    helping = [r for r in rows if r.role == COOPERATE and r.unit_id not in taken and _covers(r, grid, land)]
    return Routing(lead=leading[0] if len(leading) == 1 else None, cooperating=_units(helping),
                   conflict=leading if len(leading) > 1 else [], duties=top + helping)


def _group_of(session: Session, category: Category) -> Category:
    """The top-level category above a matter (itself when it is top-level)."""
    seen: set[int] = set()
    while category.parent_id is not None and category.id not in seen:
        seen.add(category.id)
        category = category.parent or session.get(Category, category.parent_id)
    return category


def _routing_rows(session: Session, category_ids: Iterable[int]) -> list[DutyItem]:
    return list(session.scalars(select(DutyItem).options(joinedload(DutyItem.unit))
                                .where(DutyItem.role.in_(ROLES), DutyItem.category_id.in_(set(category_ids)))
                                .order_by(DutyItem.unit_id, DutyItem.position, DutyItem.id)))


def route(session: Session, category_id: int, grid_id: int | None) -> Routing:
    """The lead and cooperating units of a matter in a grid by the duty lists; a grid of None is a place
    outside every grid, where only units answering district-wide match."""
    category = session.get(Category, category_id)
    if category is None:
        return Routing(lead=None)
    grid = session.get(Grid, grid_id) if grid_id is not None else None
    group = _group_of(session, category)
    return decide(_routing_rows(session, {category.id, group.id}), category.id, grid, territory(session))


def duty_behind(session: Session, category_id: int, grid_id: int | None, unit_id: int) -> DutyItem | None:
    """The duty-list row that gives a routine task to its unit (主办 or 协办), so the task page can say why the
    task is the unit's; None when the lists name the unit no longer (the dispatcher chose it, or they changed)."""
    return next((row for row in route(session, category_id, grid_id).duties if row.unit_id == unit_id), None)


def conflicts(session: Session) -> list[Conflict]:
    """Every matter (or group) that two units lead in the same grids at the same rank, with those grids.

    A conflict among group rows is named once, on the group, not again on each matter under it."""
    rows = list(session.scalars(select(DutyItem).options(joinedload(DutyItem.unit), joinedload(DutyItem.category))
                                .where(DutyItem.role == LEAD, DutyItem.category_id.is_not(None))
                                .order_by(DutyItem.unit_id, DutyItem.position, DutyItem.id)))
    land = territory(session)
    grids = list(session.scalars(select(Grid).order_by(Grid.code)))
    named: dict[int, list[DutyItem]] = {}
    for row in rows:
        named.setdefault(row.category_id, []).append(row)
    found: dict[tuple[int, tuple[int, ...]], tuple[Category, list[Unit], list[Grid]]] = {}
    for category_id, own in named.items():
        category = own[0].category
        candidates = own + named.get(category.parent_id, []) if category.parent_id is not None else own
        for grid in grids:
            top = _top_leads(candidates, category_id, grid, land)
            units = _units(top)
            if len(units) < 2 or not any(r.category_id == category_id for r in top):
                continue
            key = (category_id, tuple(u.id for u in units))
            found.setdefault(key, (category, units, []))[2].append(grid)
    return [Conflict(category=c, units=u, grids=g, everywhere=len(g) == len(grids))
            for c, u, g in sorted(found.values(), key=lambda f: (f[0].code, [u.code for u in f[1]]))]


#: Matters whose units are named by hand, never by the duty lists: the committee's hand-overs (交办).
BY_HAND = ("L0008",)


def gaps(session: Session) -> list[Category]:
    """Catalogue matters (with filing conditions, or named by a list) that no unit leads anywhere, by code; the
    matters assigned by hand (BY_HAND) are no gap."""
    listed = set(chain.from_iterable(c or [] for c in session.scalars(select(ListItem.categories))))
    led = select(DutyItem.category_id).where(DutyItem.role == LEAD, DutyItem.category_id.is_not(None))
    used = exists().where(FilingCondition.category_id == Category.id)
    return list(session.scalars(
        select(Category).options(joinedload(Category.parent))
        .where(Category.kind == "matter", or_(used, Category.code.in_(listed)), Category.code.not_in(BY_HAND),
                               Category.id.not_in(led),
                               or_(Category.parent_id.is_(None), Category.parent_id.not_in(led)))
        .order_by(Category.code)))


def check_duty(category: Category | None, role: str | None, area: list[str] | None,
               grid_codes: set[str]) -> list[Problem]:
    """A routing row names the matter it routes, a known role, and grids that exist."""
    problems = []
    if role is not None and role not in ROLES:
        problems.append(Problem("role", f"unknown role {role!r}: lead, cooperate or none",
                                f"未知的派遣角色「{role}」：应为主办、协办或不派遣"))
    if role is not None and category is None:
        problems.append(Problem("category", "a duty that leads or cooperates names the matter it routes",
                                "主办或协办的职责须指定事项"))
    unknown = sorted(set(area or []) - grid_codes)
    if unknown:
        problems.append(Problem("area", f"no such grid: {', '.join(unknown)}", f"没有这些网格：{'、'.join(unknown)}"))
    return problems


@dataclass(frozen=True)
class Review:
    """What an editor of the duty lists has to settle: two leads for one matter and area, and matters nobody leads."""

    conflicts: list[Conflict]
    gaps: list[Category]


def review(session: Session) -> Review:
    return Review(conflicts=conflicts(session), gaps=gaps(session))


@dataclass
class Router:
    """Routing for a whole batch of reports: the routing rows, the units' tree and the grids read once, each
    (matter, grid) decided once."""

    rows: dict[int, list[DutyItem]]
    parents: dict[int, int | None]
    grids: dict[int, Grid]
    land: Territory
    decided: dict[tuple[int, int | None], Routing] = field(default_factory=dict)

    def route(self, category_id: int, grid_id: int | None) -> Routing:
        key = (category_id, grid_id)
        if key not in self.decided:
            group, seen = category_id, set()
            while self.parents.get(group) is not None and group not in seen:
                seen.add(group)
                group = self.parents[group]
            rows = self.rows.get(category_id, []) + (self.rows.get(group, []) if group != category_id else [])
            self.decided[key] = decide(rows, category_id, self.grids.get(grid_id) if grid_id else None, self.land)
        return self.decided[key]


def router(session: Session) -> Router:
    """Everything routing needs, in four queries, for deciding many (matter, grid) pairs."""
    rows: dict[int, list[DutyItem]] = {}
    for row in session.scalars(select(DutyItem).options(joinedload(DutyItem.unit))
                               .where(DutyItem.role.in_(ROLES), DutyItem.category_id.is_not(None))
                               .order_by(DutyItem.unit_id, DutyItem.position, DutyItem.id)):
        rows.setdefault(row.category_id, []).append(row)
    parents = dict(session.execute(select(Category.id, Category.parent_id)).all())
    grids = {g.id: g for g in session.scalars(select(Grid))}
    return Router(rows, parents, grids, territory(session))
