"""Outbox rows written with the tasks are delivered once, keyed for idempotency."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select, update

from engine.core import clock
from engine.core.models import Delivery, OutboxMessage, Recipient, Unit
from engine.delivery import channels as notify, outbox
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import event, statements, unique


def _only_these_recipients(session) -> None:
    """Recipients other tests left enabled are switched off for this test alone (its transaction is rolled back)."""
    session.execute(update(Recipient).values(enabled=False))


def test_dispatch_and_notify_messages_are_delivered_once(factory, drain, session):
    with factory() as s:
        _only_these_recipients(s)
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


def test_a_round_of_many_rows_routes_and_settles_them_in_a_few_statements(factory):
    """240 rows in one round: each reaches the recipients its target names, and the round's SQL does not grow with
    the rows (it asked a handful of questions per row before the rows were routed and settled as a set)."""
    at = datetime(2020, 1, 6, 2, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in Beijing: office hours, no duty
    with factory() as s:
        _only_these_recipients(s)
        day, quiet = (Unit(code=unique("OB"), name_zh=f"投递轮次测试{n}", name_en=f"Round test {n}", type="squad")
                      for n in (1, 2))
        s.add_all([day, quiet])
        s.flush()
        mine = Recipient(name=unique("round-hook"), scope="unit", unit_id=day.id, channel="webhook",
                         address="https://example.invalid/hook", language="zh", enabled=True)
        s.add(mine)
        rows = [OutboxMessage(idempotency_key=unique("round"), kind="task_dispatched", channel="inbox",
                              target=f"unit:{(day if n < 3 else quiet).id}", payload={"n": n}, created_at=at,
                              next_attempt_at=at) for n in range(240)]
        s.add_all(rows)
        s.commit()
        row_ids, mine_id = [row.id for row in rows], mine.id
    sent: list[int] = []

    def sender(recipient, context, policy) -> notify.Outcome:
        sent.append(recipient.id)
        return notify.Outcome(ok=True)

    clock.set_clock(lambda: at)
    try:
        with factory() as s, statements(s.get_bind()) as seen:
            outbox.deliver_due(s, sender=sender)
    finally:
        clock.set_clock(None)
    with factory() as s:
        deliveries = s.execute(select(Delivery.outbox_id, Delivery.recipient_id, Delivery.status)
                               .where(Delivery.outbox_id.in_(row_ids))).all()
        status = {row.id: row.status for row in s.execute(select(OutboxMessage.id, OutboxMessage.status)
                                                          .where(OutboxMessage.id.in_(row_ids)))}
    assert sorted(d.outbox_id for d in deliveries if d.recipient_id == mine_id) == row_ids[:3]
    assert sent.count(mine_id) == 3 and all(d.status == "delivered" for d in deliveries if d.recipient_id == mine_id)
    assert {d.outbox_id for d in deliveries} == set(row_ids[:3])
    assert set(status.values()) == {"delivered"}
    assert len(seen) < 100, f"{len(seen)} statements for 240 rows"



def test_a_send_held_back_by_the_send_limit_is_due_at_once(factory):
    """The delivery job pauses between rounds only while rows trickle in; a round that hit its send limit leaves
    sends due now, and the job goes straight on to them."""
    at = datetime(2020, 1, 6, 2, 0, tzinfo=timezone.utc)
    with factory() as s:
        _only_these_recipients(s)
        unit = Unit(code=unique("OL"), name_zh="发送上限测试中队", name_en="Send limit test squad", type="squad")
        s.add(unit)
        s.flush()
        s.add_all(Recipient(name=unique("limit-hook"), scope="unit", unit_id=unit.id, channel="webhook",
                            address=f"https://example.invalid/{n}", language="zh", enabled=True) for n in range(3))
        s.add(OutboxMessage(idempotency_key=unique("limit"), kind="task_dispatched", channel="inbox",
                            target=f"unit:{unit.id}", payload={}, created_at=at, next_attempt_at=at))
        s.commit()
    clock.set_clock(lambda: at)
    try:
        with factory() as s:
            assert not outbox.sends_due(s)  # not routed yet: a fresh row, no send
            outbox.deliver_due(s, send_limit=2, sender=lambda recipient, context, policy: notify.Outcome(ok=True))
            assert outbox.sends_due(s)  # the third recipient's send was held back and is due now
            outbox.deliver_due(s, send_limit=2, sender=lambda recipient, context, policy: notify.Outcome(ok=True))
            assert not outbox.sends_due(s) and outbox.pending_count(s) == 0
    finally:
        clock.set_clock(None)
