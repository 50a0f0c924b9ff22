"""Outbox rows written with the tasks are delivered once, keyed for idempotency."""
from __future__ import annotations

from sqlalchemy import select

from engine.delivery import outbox
from engine.intake.events import IntakeSource, accept_event
from engine.core.models import OutboxMessage
from tests.helpers import event


def test_dispatch_and_notify_messages_are_delivered_once(factory, drain, session):
    with factory() as s:
        event_id = accept_event(s, event("06029", "XC-01", hour=23), IntakeSource("outbox-tests"))[0].id
        s.commit()
    drain()
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.event_id == event_id)).all()
    kinds = sorted((r.kind, r.target) for r in rows)
    assert ("notify", "tier:1") in kinds and sum(1 for k, _ in kinds if k == "task_dispatched") == 2
    with factory() as s:  # earlier tests' rows may be due too, and the oldest go first, 500 at a time
        delivered = [outbox.deliver_due(s) for _ in range(50) if _mine_pending(s, event_id)]
        assert sum(delivered) >= len(rows)
    with factory() as s:
        assert outbox.deliver_due(s) == 0
        delivered = s.scalars(select(OutboxMessage).where(OutboxMessage.event_id == event_id)).all()
        assert {r.status for r in delivered} == {"delivered"} and {r.attempts for r in delivered} == {1}
        assert len({r.idempotency_key for r in delivered}) == len(delivered)


def _mine_pending(session, event_id: int) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.event_id == event_id,
                                                         OutboxMessage.status == "pending").limit(1)) is not None
