"""The sanctions list of each finished month and quarter: the escalation poller asks, an RQ job produces.

Producing is idempotent per campaign and period (engine/sanctions.produce keeps one SanctionRun), so a
repeated or duplicated job changes nothing."""
from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.assessment import sanctions
from engine.core.config import Settings, load_settings
from engine.core.db import session_factory
from engine.core.models import Campaign, SanctionRun
from workers.queues import on_demand_queue

log = logging.getLogger(__name__)

_asked: set[tuple[int, str]] = set()  # what this poller process has already queued


def produce_sanctions(campaign_id: int, label: str) -> int:
    """RQ job: keep the campaign's sanctions list for a finished period; return how many units are due."""
    settings = load_settings()
    with session_factory(settings.database_url)() as session:
        campaign = session.get(Campaign, campaign_id)
        run = sanctions.produce(session, campaign, label, clock.now()) if campaign else None
        session.commit()
        count = len(run.entries) if run else 0
    if run:
        log.info("sanctions for %s %s: %s units due", campaign_id, label, count)
    return count


def enqueue_due(session: Session, settings: Settings | None = None) -> list[tuple[int, str]]:
    """Queue a job for each active campaign's last finished month and quarter not yet produced.

    Never raises for Redis: the escalation poller calls this and must keep running steps without Redis."""

    settings = settings or load_settings()
    now = clock.now()
    asked = []
    for campaign in session.scalars(select(Campaign).where(Campaign.status == "active")):
        done = set(session.scalars(select(SanctionRun.period).where(SanctionRun.campaign_id == campaign.id)))
        for label in sanctions.finished_periods(now, campaign.timezone):
            if label in done or (campaign.id, label) in _asked:
                continue
            try:
                on_demand_queue(settings).enqueue("workers.assessment.produce_sanctions", campaign.id, label,
                                                  job_timeout=600, result_ttl=600, failure_ttl=86400,
                                                  job_id=f"{settings.queues.prefix}-sanctions-{campaign.id}-{label}")
            except RedisError:  # escalation must not wait for Redis: ask again next round
                log.warning("could not queue the sanctions list of %s for campaign %s", label, campaign.id,
                            exc_info=True)
                return asked
            _asked.add((campaign.id, label))
            asked.append((campaign.id, label))
    return asked
