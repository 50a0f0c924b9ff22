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
