"""The place lookups of a batch (issue 16, point 7) against the real tables: the frontage holder a report lies
at is the nearest of those whose frontage reaches it, and a batch answers each report as it would alone."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.core.models import FrontageHolder, Grid
from engine.space import holders
from engine.space.holders import holders_at
from engine.space.index import table_stamp

SPOT = (35.1000, 111.1000)  # lat, lon: away from the demo's own holders
NOW = datetime(2026, 10, 15, 4, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def fresh_index():
    holders.clear()  # the test's holders roll back with it; the index must not outlive them
    yield
    holders.clear()


def moved(east: float, north: float) -> tuple[float, float]:
    lat = SPOT[0] + north / 111_132.0
    return lat, SPOT[1] + east / (111_320.0 * math.cos(math.radians(SPOT[0])))


def frontage(north: float) -> dict:
    """A 40 m shop front running east from the spot, `north` metres north of it."""
    return {"type": "LineString", "coordinates": [list(reversed(moved(0, north))), list(reversed(moved(40, north)))]}


def report(event_id: int, spot: tuple[float, float] | None) -> SimpleNamespace:
    lat, lon = spot if spot is not None else (None, None)
    return SimpleNamespace(id=event_id, lat=lat, lon=lon, occurred_at=NOW)


def test_the_nearest_holder_answers_for_a_report_that_several_frontages_reach(session):
    grid = session.scalar(select(Grid).order_by(Grid.id).limit(1))
    north = FrontageHolder(name="北侧商铺", address="test 1", grid=grid, frontage=frontage(12), reach_metres=15)
    south = FrontageHolder(name="南侧商铺", address="test 2", grid=grid, frontage=frontage(-4), reach_metres=15)
    kiosk = FrontageHolder(name="报刊亭", address="test 3", grid=grid, lat=moved(60, 0)[0], lon=moved(60, 0)[1],
                           reach_metres=10)
    session.add_all([north, south, kiosk])
    session.flush()
    batch = [report(1, moved(20, 0)), report(2, moved(20, 10)), report(3, moved(65, 0)), report(4, moved(20, 40)),
             report(5, None)]
    found = holders_at(session, batch)
    assert found == {1: south.id, 2: north.id, 3: kiosk.id}
    assert found == {k: v for e in batch for k, v in holders_at(session, [e]).items()}


def test_the_stamp_moves_when_a_holder_is_added_changed_or_removed(session):
    grid = session.scalar(select(Grid).order_by(Grid.id).limit(1))
    shop = FrontageHolder(name="便利店", address="test 4", grid=grid, lat=SPOT[0], lon=SPOT[1], updated_at=NOW)
    before = table_stamp(session, FrontageHolder.id, FrontageHolder.updated_at)
    session.add(shop)
    session.flush()
    added = table_stamp(session, FrontageHolder.id, FrontageHolder.updated_at)
    shop.updated_at = NOW.replace(year=2027)
    session.flush()
    changed = table_stamp(session, FrontageHolder.id, FrontageHolder.updated_at)
    session.delete(shop)
    session.flush()
    assert len({before, added, changed}) == 3
    assert table_stamp(session, FrontageHolder.id, FrontageHolder.updated_at)[0] == before[0]
