"""The daily readiness digest: once per unit and day, after the campaign's digest time (06:40)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.delivery import digest
from engine.intake.events import IntakeSource, accept_event
from engine.core.models import Digest, OutboxMessage, Unit
from tests.helpers import event

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_digests_are_written_after_0640_once_per_unit_and_day(factory, drain, session):
    with factory() as s:
        accept_event(s, event("06029", "NC-03", hour=23), IntakeSource("digest-tests"))
        s.commit()
    drain()
    tomorrow = (datetime.now(SHANGHAI) + timedelta(days=1)).date()
    before = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 6, 39, tzinfo=SHANGHAI)
    with factory() as s:
        assert digest.run_due(s, now=before) == 0
    with factory() as s:
        written = digest.run_due(s, now=before + timedelta(minutes=2))
    with factory() as s:
        assert digest.run_due(s, now=before + timedelta(minutes=3)) == 0
    rows = session.scalars(select(Digest).where(Digest.day == tomorrow)).all()
    assert written == len(rows) > 0
    unit_id = session.scalar(select(Unit.id).where(Unit.code == "JD-NC"))
    nancheng = next(r for r in rows if r.unit_id == unit_id)
    assert nancheng.open_count >= 1 and nancheng.overdue_count >= 1  # the 2-hour barbecue task is overdue by then
    message = session.scalar(select(OutboxMessage).where(
        OutboxMessage.idempotency_key == f"digest:{nancheng.campaign_id}:{nancheng.unit_id}:{tomorrow.isoformat()}"))
    assert message.payload["open"] == nancheng.open_count >= 1
    assert message.payload["overdue"] == nancheng.overdue_count


def test_a_unit_whose_digest_is_missing_after_the_day_settled_gets_it_when_a_new_task_is_born(factory, drain, session):
    """Once a day's digests are all written the poller looks only at tasks born since: a unit without its digest
    that gets a new task later that day still gets one (here its digest of a far day is removed to make it so)."""
    from sqlalchemy import delete

    from engine.core.models import Delivery, InboxAddress, MessageRead

    day = datetime(2027, 2, 10, 6, 41, tzinfo=SHANGHAI)
    with factory() as s:
        accept_event(s, event("06029", "NC-03", hour=23), IntakeSource("digest-settle-tests"))
        s.commit()
    drain()
    with factory() as s:
        assert digest.run_due(s, now=day) > 0
    with factory() as s:
        assert digest.run_due(s, now=day + timedelta(minutes=1)) == 0  # settled for the day
    unit_id = session.scalar(select(Unit.id).where(Unit.code == "JD-NC"))
    with factory() as s:
        key = f"digest:{s.scalar(select(Digest.campaign_id).where(Digest.unit_id == unit_id, Digest.day == day.date()))}" \
              f":{unit_id}:{day.date().isoformat()}"
        message_id = s.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
        for table in (InboxAddress, MessageRead, Delivery):
            s.execute(delete(table).where(table.outbox_id == message_id))
        s.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))
        s.execute(delete(Digest).where(Digest.unit_id == unit_id, Digest.day == day.date()))
        s.commit()
    with factory() as s:
        assert digest.run_due(s, now=day + timedelta(minutes=2)) == 0  # no task born since: nothing is read again
        accept_event(s, event("06029", "NC-03", hour=22), IntakeSource("digest-settle-tests"))
        s.commit()
    drain()
    with factory() as s:
        assert digest.run_due(s, now=day + timedelta(hours=3)) == 1  # the new task's unit, and only it
    assert session.scalar(select(Digest.open_count).where(Digest.unit_id == unit_id, Digest.day == day.date())) >= 2
