"""The firing history's filters and keyset pages: newest first, no row twice or missed across pages,
each filter answered from the firing's own copied unit, category and grid."""
from __future__ import annotations

from sqlalchemy import select

from engine.audit.firing_history import Cursor, FiringFilter, page, stream
from engine.core.models import Category, Event, Firing, Grid, Task, Unit
from tests.helpers import bearer, event


def test_pages_filters_and_outcomes(client, intake_token, drain, session):
    ids = [client.post("/api/v1/events", json=event("06029", "NC-03", hour=23), headers=bearer(intake_token)).get_json()["id"]
           for _ in range(5)]
    drain()
    session.expire_all()
    grid = session.scalar(select(Grid).where(Grid.code == "NC-03"))
    category = session.scalar(select(Category).where(Category.code == "06029"))
    mine = FiringFilter(category_id=category.id, grid_id=grid.id)
    seen, after = [], None
    while True:
        rows, after = page(session, mine, after, size=4)
        seen += rows
        if after is None:
            break
    expected = session.scalars(select(Firing.id).where(Firing.event_id.in_(ids))).all()
    assert {f.id for f in seen} >= set(expected) and len(seen) == len({f.id for f in seen})
    assert [(f.fired_at, f.id) for f in seen] == sorted([(f.fired_at, f.id) for f in seen], reverse=True)

    unit = session.scalar(select(Unit).where(Unit.code == "JD-NC"))
    by_unit, _ = page(session, FiringFilter(unit_id=unit.id, rule_key="zero_tolerance.zt4"))
    assert by_unit and all(f.unit_id == unit.id and f.rule_key == "zero_tolerance.zt4" for f in by_unit)
    own = {f.id for f in stream(session, FiringFilter(category_id=category.id, grid_id=grid.id, outcome="task"))}
    for firing in session.scalars(select(Firing).where(Firing.event_id.in_(ids))):
        task = session.get(Task, firing.task_id) if firing.task_id else None
        assert (firing.id in own) == (task is not None and task.rule_key == firing.rule_key)
    assert Cursor.parse(Cursor(seen[0].fired_at, seen[0].id).token()) == Cursor(seen[0].fired_at, seen[0].id)
    assert Cursor.parse("garbage") is None
    assert all(f.category_id == category.id and f.grid_id == grid.id for f in seen)
    assert session.get(Event, ids[0]).grid_id == grid.id
