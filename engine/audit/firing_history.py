"""The firing history as auditors read it: filters, newest first, keyset pages of 50, no total count.

A page is read straight off a composite index ending in (fired_at, id) — the firing's unit, rule
version, or category and grid are copied onto the firing when it is recorded (migration 0014) — so
the first page costs the same whether the table holds ten thousand or ten million rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from engine.core.cells import local
from engine.core.models import DEFAULT_TIMEZONE, Firing, RulesetVersion, Task

PAGE = 50
OUTCOMES = ("task", "superseded", "none")  # created its own task / lost to another rule's task / asked for none


@dataclass(frozen=True)
class FiringFilter:
    rule_key: str | None = None
    rule_version: int | None = None
    ruleset_version_id: int | None = None
    campaign_id: int | None = None
    list_kind: str | None = None
    unit_id: int | None = None
    category_id: int | None = None
    grid_id: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    outcome: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the last row's (fired_at, id)."""

    fired_at: datetime
    id: int

    def token(self) -> str:
        return f"{self.fired_at.isoformat()}|{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> "Cursor | None":
        if not token or "|" not in token:
            return None
        moment, _, ident = token.rpartition("|")
        try:
            return cls(datetime.fromisoformat(moment), int(ident))
        except ValueError:
            return None


def query(f: FiringFilter) -> Select:
    q = select(Firing)
    for column, value in ((Firing.rule_key, f.rule_key), (Firing.rule_version, f.rule_version),
                          (Firing.ruleset_version_id, f.ruleset_version_id), (Firing.campaign_id, f.campaign_id),
                          (Firing.list_kind, f.list_kind), (Firing.unit_id, f.unit_id),
                          (Firing.category_id, f.category_id), (Firing.grid_id, f.grid_id)):
        if value is not None:
            q = q.where(column == value)
    if f.since is not None:
        q = q.where(Firing.fired_at >= f.since)
    if f.until is not None:
        q = q.where(Firing.fired_at < f.until)
    if f.outcome == "none":
        q = q.where(Firing.task_id.is_(None))
    elif f.outcome in ("task", "superseded"):
        own = select(Task.id).where(Task.id == Firing.task_id, Task.rule_key == Firing.rule_key).exists()
        q = q.where(Firing.task_id.is_not(None), own if f.outcome == "task" else ~own)
    return q


def page(session: Session, f: FiringFilter, after: Cursor | None = None, size: int = PAGE) -> tuple[list[Firing], Cursor | None]:
    """One page, newest first, and the cursor of the next page (None at the end)."""
    q = query(f)
    if after is not None:
        q = q.where(or_(Firing.fired_at < after.fired_at, and_(Firing.fired_at == after.fired_at, Firing.id < after.id)))
    rows = list(session.scalars(q.order_by(Firing.fired_at.desc(), Firing.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return rows, (Cursor(rows[-1].fired_at, rows[-1].id) if more and rows else None)


def stream(session: Session, f: FiringFilter, chunk: int = 1000) -> Iterator[Firing]:
    """Every matching firing, page after page, for exports that must keep memory flat."""
    after = None
    while True:
        rows, after = page(session, f, after, chunk)
        yield from rows
        session.expunge_all()
        if after is None:
            return


@dataclass(frozen=True)
class ExportNames:
    """What an export writes instead of database ids and codes, in the reader's language: "code name" by id, each
    campaign's time zone, the lists' names, each ruleset version's number, each rule's title by (version id, key)
    and a matched condition in words."""

    campaigns: dict[int, str]
    zones: dict[int, ZoneInfo]
    units: dict[int, str]
    categories: dict[int, str]
    grids: dict[int, str]
    versions: dict[int, str]
    lists: dict[str, str]
    phases: dict[str, str]
    titles: dict[tuple[int, str], str]
    condition: Callable[[dict[str, Any]], str]


def export_row(f: Firing, names: ExportNames) -> list[Any]:
    """A row of the CSV and XLSX exports: the local time of the firing's campaign, codes and names, not ids; the
    rule by its title, its key in the last column."""
    matched = "; ".join(names.condition(m) for m in f.matched or [])
    zone = names.zones.get(f.campaign_id, ZoneInfo(DEFAULT_TIMEZONE))
    return [f.id, local(f.fired_at, zone), names.campaigns.get(f.campaign_id, ""),
            names.versions.get(f.ruleset_version_id, ""),
            names.titles.get((f.ruleset_version_id, f.rule_key)) or f.rule_key, f.rule_version,
            names.phases.get(f.phase, f.phase), names.lists.get(f.list_kind, f.list_kind or ""), f.list_item or "", f.event_id, f.task_id,
            names.units.get(f.unit_id, ""), names.categories.get(f.category_id, ""), names.grids.get(f.grid_id, ""),
            f.points, matched, f.rule_key]


def rule_version(session: Session, firing: Firing) -> dict[str, Any] | None:
    """The exact rule document the firing ran under, frozen in its ruleset version."""
    version = session.get(RulesetVersion, firing.ruleset_version_id)
    return (version.rules or {}).get(firing.rule_key) if version else None
