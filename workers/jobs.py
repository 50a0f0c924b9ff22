"""Thin RQ jobs: each takes no payload beyond what SQL already holds and calls one engine function."""
from __future__ import annotations

import logging
import time

from engine.delivery import outbox
from engine.evaluation import pipeline
from engine.core.config import load_settings
from engine.core.db import session_factory
from workers import warm
from workers.metrics import record_drain
from workers.queues import clear_delivery_flag, clear_drain_flag, enqueue_delivery, enqueue_drain
from engine.intake import imports

log = logging.getLogger(__name__)
DRAIN_JOB = "workers.jobs.drain_events"
DELIVERY_JOB = "workers.jobs.deliver_outbox"
#: Seconds between delivery rounds while rows trickle in: they gather into one round instead of a spin on a few each.
DELIVERY_PAUSE = 0.25


def drain_events() -> dict:
    """Evaluate every claimable pending event, in batches; queue a follow-up if time ran out."""
    settings = load_settings()
    clear_drain_flag(settings)  # events arriving from now on queue a fresh drain
    engine = warm.current()
    limits = settings.pipeline
    result = engine.drain() if engine is not None else pipeline.drain(
        session_factory(settings.database_url), limits.batch_size, limits.lease_seconds, limits.max_attempts,
        heartbeat_seconds=limits.heartbeat_seconds, gather_seconds=limits.gather_seconds,
        after_batch=lambda: enqueue_delivery(settings))
    with session_factory(settings.database_url)() as session:  # each recorded batch queued its own delivery
        record_drain(settings, session, result.event_ids)
        if pipeline.pending_count(session):
            enqueue_drain(settings)
    log.info("drain: %s evaluated, %s failed, %s to retry in %s batches",
             result.evaluated, result.failed, result.retried, result.batches)
    return {"evaluated": result.evaluated, "failed": result.failed, "retried": result.retried}


def deliver_outbox(time_budget: float = 60.0) -> int:
    """Send what SQL says is due (first sends and back-off retries) until none is due or time runs out."""
    settings = load_settings()
    clear_delivery_flag(settings)  # rows committed from now on queue a fresh delivery
    started, delivered = time.monotonic(), 0
    with session_factory(settings.database_url)() as session:
        while time.monotonic() - started < time_budget:
            delivered += outbox.deliver_due(session)
            waiting = outbox.pending_count(session)
            if not waiting:
                break
            if waiting < outbox.ROUND_ROWS and not outbox.sends_due(session):
                time.sleep(DELIVERY_PAUSE)
        else:
            enqueue_delivery(settings)
    log.info("outbox: %s messages delivered", delivered)
    return delivered


def import_events(run_id: int) -> dict:
    """Import one uploaded file of events, then queue their evaluation."""
    settings = load_settings()
    factory = session_factory(settings.database_url)
    try:
        job = imports.run(factory, run_id)
    except Exception as err:
        imports.fail(factory, run_id, err)
        raise
    if job.created:
        enqueue_drain(settings)
    log.info("import %s: %s created, %s repeats, %s refused", run_id, job.created, job.duplicates, job.refused)
    return {"created": job.created, "duplicates": job.duplicates, "refused": job.refused, "status": job.status}
