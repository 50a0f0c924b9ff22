"""The poller asks once per finished month and quarter; the RQ job keeps each period's sanctions list once."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from engine.core import clock
from engine.core.models import Campaign, SanctionRun
from workers import assessment
from workers.queues import connection, on_demand_queue


@pytest.fixture()
def december():
    """Today is 5 December 2026, for this test only (every test ends on the real clock)."""
    clock.set_clock(lambda: datetime(2026, 12, 5, 3, tzinfo=timezone.utc))


def test_finished_periods_are_produced_once(factory, settings, demo, december):
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.code == demo["campaign"]))
        asked = assessment.enqueue_due(session, settings)
        kept = set(session.scalars(select(SanctionRun.period).where(SanctionRun.campaign_id == campaign.id)))
    # A poller that ran earlier in the suite (a worker's, on the real clock) may have kept a period already.
    assert (campaign.id, "2026-11") in set(asked) or "2026-11" in kept
    queue = on_demand_queue(settings)
    SimpleWorker([queue], connection=connection(settings)).work(burst=True)
    with factory() as session:
        periods = set(session.scalars(select(SanctionRun.period).where(SanctionRun.campaign_id == campaign.id)))
        assert {"2026-11", "2026-Q3"} <= periods
        assessment._asked.clear()  # a restarted poller: the database, not memory, says it is done
        assert assessment.enqueue_due(session, settings) == []
    assert assessment.produce_sanctions(campaign.id, "2026-11") == 0  # produced already: nothing new



def test_without_redis_the_poller_goes_on(factory, settings, december):
    """Escalation steps must not wait for Redis: asking for a sanctions list then just tries again later."""
    from dataclasses import replace

    unreachable = replace(settings, redis_url="redis://127.0.0.1:1/0")
    assessment._asked.clear()
    with factory() as session:
        session.add(Campaign(code="no-redis-campaign", name_zh="无Redis", name_en="no Redis", status="active"))
        session.flush()
        assert assessment.enqueue_due(session, unreachable) == []
        session.rollback()
