"""Frontage holders (门前三包) by place: the holder whose frontage a report lies at, for the fact
`frontage_holder` and for naming the holder on the case and its tasks (DESIGN 16).

A holder's frontage is a GeoJSON line, polygon or point in WGS-84; it reaches `reach_metres` beyond it (the
pavement in front of a shop). Where several frontages reach a point, the nearest holder answers for it.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Case, Event, FrontageHolder
from engine.core.states import CaseStage
from engine.space.geo import holders_by_address
from engine.space.index import Cached, Place, PlaceIndex, table_stamp

# The duties a responsibility letter (责任书) can cover: the three of 门前三包, and the two that some cities add
# (门前四包/五包).
DUTIES: dict[str, tuple[str, str]] = {
    "appearance": ("市容", "appearance"),
    "sanitation": ("环境卫生", "sanitation"),
    "greenery": ("绿化", "greenery"),
    "order": ("秩序", "order"),
    "facilities": ("设施", "facilities"),
}
#: A repeat offender (屡犯): a holder with at least REPEAT_VIOLATIONS violations (cases at its frontage, other than
#: those not filed or void) within REPEAT_DAYS days.
REPEAT_VIOLATIONS = 2
REPEAT_DAYS = 90
#: Cases that are no violation: the report was not filed (不予立案) or voided.
NOT_VIOLATIONS = (CaseStage.NOT_FILED, CaseStage.VOID)

_index: Cached[int] = Cached(ttl=5.0)


def holder_point(holder: FrontageHolder | None) -> tuple[float | None, float | None]:
    """Where a report given by the holder's address is placed: its point, else a point on its frontage."""
    if holder is None:
        return None, None
    if holder.lat is not None and holder.lon is not None:
        return holder.lat, holder.lon
    if holder.frontage:
        point = shape(holder.frontage).representative_point()
        return round(point.y, 7), round(point.x, 7)
    return None, None


def touch(holder: FrontageHolder) -> None:
    """Mark a change, so that every process rebuilds its holder index within its ttl."""
    holder.updated_at = datetime.now(timezone.utc)


def _stamp(session: Session) -> tuple[Any, ...]:
    return table_stamp(session, FrontageHolder.id, FrontageHolder.updated_at)


def _build(session: Session) -> PlaceIndex[int]:
    rows = session.execute(select(FrontageHolder.id, FrontageHolder.frontage, FrontageHolder.lat, FrontageHolder.lon,
                                  FrontageHolder.reach_metres).order_by(FrontageHolder.id)).all()
    places = []
    for holder_id, frontage, lat, lon, reach in rows:
        geometry = frontage or ({"type": "Point", "coordinates": [lon, lat]} if lat is not None and lon is not None
                                else None)
        if geometry is not None:
            places.append(Place(holder_id, geometry, float(reach or 0.0)))
    return PlaceIndex(places)


def holder_index(session: Session) -> PlaceIndex[int]:
    """The holders' frontages in a spatial index, rebuilt when a holder is added, changed or removed."""
    bind = str(session.get_bind().engine.url)
    return _index.get(bind, lambda: _stamp(session), lambda: _build(session))


def clear() -> None:
    _index.clear()


def holders_at(session: Session, events: list[Event]) -> dict[int, int]:
    """Per located event: the id of the holder whose frontage it lies at (the nearest, if several reach it)."""
    located = [e for e in events if e.lat is not None and e.lon is not None]
    if not located:
        return {}
    index = holder_index(session)
    if not len(index):
        return {}
    nearest = index.nearest_each([e.lat for e in located], [e.lon for e in located])
    return {e.id: key for e, key in zip(located, nearest) if key is not None}


@dataclass(frozen=True)
class HolderMark:
    """The holder a report names, as the rules see it: its id, its label (code, else name) and its violations
    within REPEAT_DAYS before the report."""

    id: int
    label: str
    earlier: int = 0


def marks(session: Session, events: list[Event]) -> dict[int, HolderMark]:
    """Per event: the holder it names, by its place (the index) or, for a report without one, by its registered
    address; with the holder's earlier violations. At most three queries per batch, none when no holder is named."""
    found = holders_at(session, events)
    found.update(holders_by_address(session, [e for e in events if e.id not in found and e.address
                                              and (e.lat is None or e.lon is None)]))
    if not found:
        return {}
    labels = {hid: code or name for hid, code, name in session.execute(
        select(FrontageHolder.id, FrontageHolder.code, FrontageHolder.name)
        .where(FrontageHolder.id.in_(set(found.values()))))}
    by_id = {e.id: e for e in events}
    start = min(by_id[eid].occurred_at for eid in found) - timedelta(days=REPEAT_DAYS)
    series: dict[int, list[datetime]] = defaultdict(list)
    for holder_id, at in session.execute(select(Case.frontage_holder_id, Case.reported_at).where(
            Case.frontage_holder_id.in_(set(found.values())), Case.reported_at >= start,
            Case.stage.not_in(NOT_VIOLATIONS))):
        series[holder_id].append(at)
    for times in series.values():
        times.sort()
    result = {}
    for event_id, holder_id in found.items():
        at, times = by_id[event_id].occurred_at, series.get(holder_id, [])
        earlier = bisect.bisect_left(times, at) - bisect.bisect_left(times, at - timedelta(days=REPEAT_DAYS))
        result[event_id] = HolderMark(holder_id, labels.get(holder_id, ""), earlier)
    return result


def holder_of(session: Session, event: Event) -> int | None:
    """The holder one report names, for a case opened outside the evaluation batch (by hand, a hand-over)."""
    mark = marks(session, [event]).get(event.id)
    return mark.id if mark is not None else None
