"""The sweep: re-derive pending work from SQL and queue it, so losing Redis loses nothing."""
from __future__ import annotations

import logging
import time

from engine.delivery import outbox
from engine.evaluation import pipeline
from engine.core.config import Settings, load_settings
from engine.core.db import session_factory
from workers.queues import enqueue_delivery, enqueue_drain

log = logging.getLogger(__name__)


def sweep(settings: Settings) -> dict[str, int]:
    """Queue a drain if SQL holds claimable events and a delivery if outbox rows are due."""
    with session_factory(settings.database_url)() as session:
        events = pipeline.pending_count(session)
        messages = outbox.pending_count(session)
    if events:
        enqueue_drain(settings)
    if messages:
        enqueue_delivery(settings)
    return {"pending_events": events, "due_messages": messages}


def run_forever(every: float = 5.0) -> None:
    settings = load_settings()
    try:
        _loop(settings, every)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; stop quietly
        pass


def _loop(settings: Settings, every: float) -> None:
    while True:
        try:
            found = sweep(settings)
            if any(found.values()):
                log.info("sweep: %s", found)
        except Exception:  # a sweep that fails (Redis or the database down) tries again next round
            log.exception("sweep failed")
        time.sleep(every)
