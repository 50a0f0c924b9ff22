"""The escalation poller: runs due timeline steps straight from SQL, so no step depends on Redis
or on RQ's scheduler (which fires up to 0.8 s early and takes minutes to fail over); it also
writes the units' daily readiness digests, escalates inspection points not checked by the readiness time (每日自查),
raises overdue plan items (创建任务分解表), publishes the weekly bulletins (周通报) when their time comes,
seals the audit chain and exports its head, applies the retention periods hourly (engine/intake/retention.py), and addresses new outbox rows to the users whose messages (消息) they belong in."""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import sessionmaker

from engine.assessment import issues as bulletins
from engine.intake import retention
from engine.audit import heads
from engine.delivery import digest, inbox
from engine.readiness import daily as readiness
from engine.readiness import plan
from engine.supervision import escalation
from engine.handling import tasks
from engine.core.config import load_settings
from engine.core.db import session_factory
from workers import assessment

log = logging.getLogger(__name__)


DIGEST_EVERY = 10.0  # digests, readiness, weekly bulletins, audit seals, and inbox rows committed late
RETENTION_EVERY = 3600.0  # the security audit log and reporters' data are trimmed hourly
STEPS_PER_POLL = 200  # one short transaction each; a full poll means more are due at once
CATCH_UP = 500  # outbox rows addressed per round at most, so that due steps never wait behind a backlog
ADDRESS_EVERY = 1.0  # seconds: during a burst of due steps the inboxes are still addressed this often


def publish_bulletins(factory: sessionmaker) -> None:
    """The weekly bulletins due by now, in a thread of their own so that no timeline step waits for a PDF."""
    try:
        with factory() as session:
            published = bulletins.run_due(session)
        if published:
            log.info("weekly bulletins published: %s", published)
    except Exception:  # the database may be restarting; the next round tries again
        log.exception("publishing the weekly bulletins failed")


def run_forever(every: float = 0.5) -> None:
    settings = load_settings()
    factory = session_factory(settings.database_url)
    next_digest = next_retention = next_address = 0.0
    publisher: threading.Thread | None = None
    try:
        while True:
            started = time.monotonic()
            slow_round = started >= next_digest
            try:
                if slow_round:
                    with factory() as session:
                        written = digest.run_due(session)
                    with factory() as session:
                        missed = readiness.run_due(session)  # points not checked by the readiness time
                    if missed:
                        log.info("points not checked by the readiness time, escalated: %s", missed)
                    if publisher is None or not publisher.is_alive():  # the PDFs take seconds: not in the steps' way
                        publisher = threading.Thread(target=publish_bulletins, args=(factory,), daemon=True,
                                                     name="bulletins")
                        publisher.start()
                    with factory() as session:
                        resumed = tasks.resume_due(session)
                        session.commit()
                    if resumed:
                        log.info("parking ended, resumed tasks: %s", resumed)
                    with factory() as session:
                        sealed = heads.seal_and_export(session, settings.crypto.audit_head_file)
                    with factory() as session:
                        assessment.enqueue_due(session)  # sanctions lists of finished months and quarters
                    with factory() as session:
                        overdue_plan = plan.run_due(session)  # 创建任务分解表 items past their due date: 督办
                    if overdue_plan:
                        log.info("plan items overdue, raised: %s", overdue_plan)
                    if started >= next_retention:
                        with factory() as session:
                            removed, blanked = retention.purge_due(session, settings.privacy)
                        if removed or blanked:
                            log.info("retention: security audit entries removed %s, reporters blanked %s",
                                     removed, blanked)
                        next_retention = started + RETENTION_EVERY
                    if written or sealed:
                        log.info("daily digests written: %s; audit segments sealed: %s", written, sealed)
                    next_digest = started + DIGEST_EVERY
                with factory() as session:
                    counts = escalation.run_due(session, limit=STEPS_PER_POLL)
                if any(counts.values()):
                    log.info("escalation: %s", counts)
                if sum(counts.values()) >= STEPS_PER_POLL and started < next_address:
                    continue  # a burst: the rest of it is due now; the inboxes catch up at most a second later
                with factory() as session:  # the messages these steps and others wrote reach the users' inboxes
                    inbox.address_new(session, stragglers=slow_round, limit=CATCH_UP)
                    session.commit()
                next_address = started + ADDRESS_EVERY
                if any(counts.values()):
                    continue  # more may be due: poll again at once
            except Exception:  # the database may be restarting; try again next round
                log.exception("escalation poll failed")
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
