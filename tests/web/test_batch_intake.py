"""Batch intake stores its events in bulk (issue 18 point 4b) and still answers every item on its own."""
from __future__ import annotations

from sqlalchemy import func, select, text

from engine.core.models import Event
from tests.helpers import bearer, event


def test_a_large_batch_answers_each_item_in_order_with_repeats_and_refusals(client, intake_token, session):
    earlier = event()
    assert client.post("/api/v1/events", json=earlier, headers=bearer(intake_token)).status_code == 202
    items = [event() for _ in range(450)]  # more than one bulk INSERT's worth
    items[10] = dict(items[3])  # sent twice in the same batch
    items[20] = earlier  # sent before
    items[30] = {**event(), "category": "no-such-category"}
    answer = client.post("/api/v1/events/batch", json={"events": items}, headers=bearer(intake_token))
    assert answer.status_code == 207
    body = answer.get_json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(450))
    assert body["accepted"] == 449 and body["refused"] == 1
    assert results[30]["status"] == "refused" and results[30]["errors"][0]["field"] == "category"
    assert results[10]["duplicate"] and results[10]["id"] == results[3]["id"] and not results[3]["duplicate"]
    assert results[20]["duplicate"]
    assert session.get(Event, results[20]["id"]).source_event_id == earlier["source_event_id"]
    new_ids = {r["id"] for r in results if "id" in r and not r["duplicate"]}
    assert len(new_ids) == 447
    stored = session.scalar(select(func.count()).select_from(Event).where(Event.id.in_(new_ids)))
    assert stored == 447
    again = client.post("/api/v1/events/batch", json={"events": items}, headers=bearer(intake_token)).get_json()
    assert again["accepted"] == 449 and all(r["duplicate"] for r in again["results"] if "id" in r)


def test_items_the_database_refuses_are_refused_alone_in_a_full_batch(client, intake_token, session):
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:  # a value PostgreSQL cannot read (its text as a number), only in the descriptions that ask for it
        session.execute(text("ALTER TABLE events ADD CONSTRAINT ck_events_unstorable_probe CHECK ("
                             "CASE WHEN description LIKE 'unstorable%' THEN description::int IS NULL ELSE true END)"))
    else:  # SQLite reads any value: a trigger refuses those rows as a constraint would
        session.execute(text("CREATE TRIGGER tr_events_unstorable_probe BEFORE INSERT ON events "
                             "WHEN NEW.description LIKE 'unstorable%' BEGIN SELECT RAISE(ABORT, 'unstorable'); END"))
    session.commit()
    try:
        earlier = event()
        assert client.post("/api/v1/events", json=earlier, headers=bearer(intake_token)).status_code == 202
        items = [event() for _ in range(1000)]
        items[7] = event(description="unstorable one")
        items[600] = event(description="unstorable two")
        items[601] = dict(items[5])
        items[999] = earlier
        answer = client.post("/api/v1/events/batch", json={"events": items}, headers=bearer(intake_token))
    finally:
        session.execute(text("ALTER TABLE events DROP CONSTRAINT ck_events_unstorable_probe" if postgres
                             else "DROP TRIGGER tr_events_unstorable_probe"))
        session.commit()
    body = answer.get_json()
    assert answer.status_code == 207 and body["accepted"] == 998 and body["refused"] == 2
    for index in (7, 600):
        assert body["results"][index]["status"] == "refused"
        assert body["results"][index]["errors"] == [{"field": "(event)", "message": "含有数据库无法保存的值"}]
    assert body["results"][601]["duplicate"] and body["results"][601]["id"] == body["results"][5]["id"]
    assert body["results"][999]["duplicate"]
    sids = [item["source_event_id"] for item in items]
    stored = set(session.scalars(select(Event.source_event_id).where(Event.source_event_id.in_(sids))))
    assert stored == set(sids) - {items[7]["source_event_id"], items[600]["source_event_id"]}
