"""The escalation poller: runs due timeline steps straight from SQL, so no step depends on Redis
or on RQ's scheduler (which fires up to 0.8 s early and takes minutes to fail over); it also
writes the units' daily readiness digests and publishes the weekly bulletins (周通报) when their time comes,
and seals the audit chain."""
from __future__ import annotations

import logging
import time

from engine.assessment import issues as bulletins
from engine.audit import seals as audit
from engine.delivery import digest
from engine.supervision import escalation
from engine.handling import tasks
from engine.core.config import load_settings
from engine.core.db import session_factory
from workers import assessment

log = logging.getLogger(__name__)


DIGEST_EVERY = 10.0  # digests, weekly bulletins and audit seals


def run_forever(every: float = 0.5) -> None:
    factory = session_factory(load_settings().database_url)
    next_digest = 0.0
    try:
        while True:
            started = time.monotonic()
            try:
                if started >= next_digest:
                    with factory() as session:
                        written = digest.run_due(session)
                    with factory() as session:
                        published = bulletins.run_due(session)
                    if published:
                        log.info("weekly bulletins published: %s", published)
                    with factory() as session:
                        resumed = tasks.resume_due(session)
                        session.commit()
                    if resumed:
                        log.info("parking ended, resumed tasks: %s", resumed)
                    with factory() as session:
                        sealed = audit.seal(session)
                    with factory() as session:
                        assessment.enqueue_due(session)  # sanctions lists of finished months and quarters
                    if written or sealed:
                        log.info("daily digests written: %s; audit segments sealed: %s", written, sealed)
                    next_digest = started + DIGEST_EVERY
                with factory() as session:
                    counts = escalation.run_due(session)
                if any(counts.values()):
                    log.info("escalation: %s", counts)
                    continue  # more may be due: poll again at once
            except Exception:  # the database may be restarting; try again next round
                log.exception("escalation poll failed")
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
