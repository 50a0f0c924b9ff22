"""Batch intake stores its events in bulk (issue 18 point 4b) and still answers every item on its own."""
from __future__ import annotations

from sqlalchemy import func, select

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
