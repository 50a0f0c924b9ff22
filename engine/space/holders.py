"""Frontage holders (门前三包) by place: the holder whose frontage a report lies at, for the fact
`frontage_holder` and for naming the holder on the case and its tasks (DESIGN 16).

A holder's frontage is a GeoJSON line, polygon or point in WGS-84; it reaches `reach_metres` beyond it (the
pavement in front of a shop). Where several frontages reach a point, the nearest holder answers for it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.models import Event, FrontageHolder
from engine.space.index import Cached, Place, PlaceIndex

# The duties a responsibility letter (责任书) can cover: the three of 门前三包, and the two that some cities add
# (门前四包/五包).
DUTIES: dict[str, tuple[str, str]] = {
    "appearance": ("市容", "appearance"),
    "sanitation": ("环境卫生", "sanitation"),
    "greenery": ("绿化", "greenery"),
    "order": ("秩序", "order"),
    "facilities": ("设施", "facilities"),
}
THREE_DUTIES = ("appearance", "sanitation", "greenery")

_index: Cached[int] = Cached(ttl=5.0)


def holder_place(holder: FrontageHolder) -> dict[str, Any] | None:
    """The holder's frontage as GeoJSON, else its point; none when it has neither (found by address only)."""
    if holder.frontage:
        return holder.frontage
    if holder.lat is not None and holder.lon is not None:
        return {"type": "Point", "coordinates": [holder.lon, holder.lat]}
    return None


def touch(holder: FrontageHolder) -> None:
    """Mark a change, so that every process rebuilds its holder index within its ttl."""
    holder.updated_at = datetime.now(timezone.utc)


def _stamp(session: Session) -> tuple[Any, ...]:
    return tuple(session.execute(select(func.count(), func.max(FrontageHolder.id), func.max(FrontageHolder.updated_at))
                                 .select_from(FrontageHolder)).one())


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
    found = {}
    for e in located:
        keys = index.at(e.lat, e.lon)
        if len(keys) == 1:
            found[e.id] = keys[0]
        elif keys:
            position = {p.key: i for i, p in enumerate(index.places)}
            found[e.id] = min(keys, key=lambda k: index.distance(position[k], e.lat, e.lon))
    return found
