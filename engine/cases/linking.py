"""One problem, one case (DESIGN 13): a report of a matter near an open case of the same matter, within the
matter's window, joins that case instead of opening another, so it makes no new task and no new points.

The window is the category's (`link_metres`, `link_days`; default 50 m and 3 days), counted from the case's
first report. A report without a point is never linked here: it counts per grid and is linked only by hand.
Reports of one batch link to each other too, in the order they are recorded.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine.core.models import Case, Category, Task
from engine.core.states import CASE_ENDED, TERMINAL, CaseStage
from engine.space.geo import metres

DEFAULT_METRES = 50.0
DEFAULT_DAYS = 3.0


@dataclass(frozen=True)
class Window:
    metres: float
    days: float


@dataclass
class Links:
    """For each report of a batch: the open case it joins, or the earlier report of the batch whose new case it
    joins; a report in neither opens a case."""

    to_case: dict[int, int] = field(default_factory=dict)  # event id -> existing case id
    to_report: dict[int, int] = field(default_factory=dict)  # event id -> the batch's event that opens the case

    def opens(self, event_id: int) -> bool:
        return event_id not in self.to_case and event_id not in self.to_report


@dataclass(frozen=True)
class _Spot:
    key: tuple[str, int]  # ("case", id) or ("event", id)
    category_id: int
    lat: float
    lon: float
    reported_at: Any


def windows(session: Session, category_ids: set[int]) -> dict[int, Window]:
    """Each category's linking window, its own where set, else the default."""
    rows = session.execute(select(Category.id, Category.link_metres, Category.link_days)
                           .where(Category.id.in_(category_ids)))
    return {cid: Window(m if m is not None else DEFAULT_METRES, d if d is not None else DEFAULT_DAYS)
            for cid, m, d in rows}


def open_spots(session: Session, events: Sequence[Any], window_of: dict[int, Window]) -> list[_Spot]:
    """The located open cases a batch's reports could join: one query. A case is open while it waits for
    dispatch or has a task not yet closed or voided (once its work is done, a new report is a new problem)."""
    located = [e for e in events if e.lat is not None and e.lon is not None]
    if not located:
        return []
    longest = max(window_of[e.category_id].days for e in located)
    widest = max(window_of[e.category_id].metres for e in located)
    pad = widest / 111_000 * 1.5
    live = exists().where(Task.case_id == Case.id, Task.status.not_in(TERMINAL))
    rows = session.execute(select(Case.id, Case.category_id, Case.lat, Case.lon, Case.reported_at).where(
        Case.category_id.in_({e.category_id for e in located}), Case.stage.not_in(CASE_ENDED),
        Case.lat.is_not(None), Case.lat.between(min(e.lat for e in located) - pad, max(e.lat for e in located) + pad),
        Case.reported_at >= min(e.occurred_at for e in located) - timedelta(days=longest),
        Case.reported_at <= max(e.occurred_at for e in located) + timedelta(days=longest),
        or_(Case.stage == CaseStage.AWAITING_DISPATCH, live)).order_by(Case.id)).all()
    return [_Spot(("case", cid), cat, lat, lon, at) for cid, cat, lat, lon, at in rows]


def _nearest(event: Any, spots: list[_Spot], window: Window) -> _Spot | None:
    best: tuple[float, int] | None = None
    found = None
    for i, spot in enumerate(spots):
        if spot.category_id != event.category_id:
            continue
        if abs((event.occurred_at - spot.reported_at).total_seconds()) > window.days * 86400:
            continue
        distance = metres(event.lat, event.lon, spot.lat, spot.lon)
        if distance <= window.metres and (best is None or (distance, i) < best):
            best, found = (distance, i), spot
    return found


def link_batch(session: Session, events: Sequence[Any]) -> Links:
    """Decide, for a batch of reports in recording order, which join an open case or an earlier report's new
    case: two queries for the whole batch."""
    links = Links()
    window_of = windows(session, {e.category_id for e in events})
    spots = open_spots(session, events, window_of)
    for event in events:
        if event.lat is None or event.lon is None:
            continue
        spot = _nearest(event, spots, window_of[event.category_id])
        if spot is None:
            spots.append(_Spot(("event", event.id), event.category_id, event.lat, event.lon, event.occurred_at))
        elif spot.key[0] == "case":
            links.to_case[event.id] = spot.key[1]
        else:
            links.to_report[event.id] = spot.key[1]
    return links
