"""The escalation poller: runs due timeline steps straight from SQL, so no step depends on Redis
or on RQ's scheduler (which fires up to 0.8 s early and takes minutes to fail over); it also
writes the units' daily readiness digests when their time comes."""
from __future__ import annotations

import logging
import time

from engine import digest, escalation
from engine.config import load_settings
from engine.db import session_factory

log = logging.getLogger(__name__)


DIGEST_EVERY = 30.0


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
                    if written:
                        log.info("daily digests written: %s", written)
                    next_digest = started + DIGEST_EVERY
                with factory() as session:
                    counts = escalation.run_due(session)
                if any(counts.values()):
                    log.info("escalation: %s", counts)
                    if counts["done"] or counts["skipped"]:
                        continue  # more may be due: poll again at once
            except Exception:  # the database may be restarting; try again next round
                log.exception("escalation poll failed")
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
