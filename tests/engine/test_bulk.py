"""Rows written in bulk (a binary COPY on PostgreSQL, a Core insert elsewhere) read back as they were given:
aware times in any zone come back as the same instant in UTC, JSON keeps its text, numbers and nesting, and a
refused row raises the IntegrityError callers catch, with nothing of the batch written."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, select
from sqlalchemy.exc import IntegrityError

from engine.core import outbox
from engine.core.models import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_rows_written_in_bulk_read_back_as_given(session):
    at = datetime(2026, 12, 7, 9, 30, 15, 250000, tzinfo=SHANGHAI)
    payload = {"event": 7, "rule": "zero_tolerance.zt4", "message": {"zh": "露天烧烤\t“夜间”\\", "en": "grill"},
               "share": 0.5, "steps": [1, [2, None], {"due": "2026-12-07T09:30:00+08:00"}], "empty": {}}
    outbox.write(session, [
        outbox.message("bulk-test:1", "notify", "tier:2", payload, at),
        outbox.message("bulk-test:2", "notify", "unit:JD-DC", [], at + timedelta(minutes=1)),
    ])
    session.flush()
    first, second = session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("bulk-test:%"))
                                    .order_by(OutboxMessage.idempotency_key)).all()
    assert first.payload == payload and second.payload == []
    assert first.created_at == at and first.created_at.utcoffset() == timedelta(0)
    assert first.created_at.astimezone(timezone.utc).hour == 1  # 09:30 in Shanghai is 01:30 UTC
    assert second.next_attempt_at - first.next_attempt_at == timedelta(minutes=1)
    assert first.event_id is None and first.delivered_at is None and first.status == "pending"


def test_a_json_null_is_stored_as_json_null_and_none_as_no_value(session):
    at = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
    outbox.write(session, [{**outbox.message("bulk-null:1", "notify", "tier:1", {}, at), "payload": JSON.NULL}])
    session.flush()
    stored = session.scalar(select(OutboxMessage.payload).where(OutboxMessage.idempotency_key == "bulk-null:1"))
    assert stored is None  # JSON's null, read back as None; not a number, not an error


def test_a_refused_row_writes_nothing_of_its_batch(session):
    at = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
    outbox.write(session, [outbox.message("bulk-dup:1", "notify", "tier:1", {}, at)])
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        outbox.write(session, [outbox.message("bulk-dup:2", "notify", "tier:1", {}, at),
                               outbox.message("bulk-dup:1", "notify", "tier:1", {}, at)])
    keys = session.scalars(select(OutboxMessage.idempotency_key)
                           .where(OutboxMessage.idempotency_key.like("bulk-dup:%"))).all()
    assert keys == ["bulk-dup:1"]
