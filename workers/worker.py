"""The RQ worker that evaluates events: each job runs in a forked work-horse, so a crash of the
C engine (even SIGSEGV) kills only that horse; the worker then releases the horse's leases at
once, and those events are retried alone until they pass or are marked failed."""
from __future__ import annotations

import logging
import signal

from rq import Worker
from rq.exceptions import StopRequested

from engine.evaluation import pipeline
from engine.core.config import load_settings
from engine.core.db import session_factory
from workers.queues import all_queues, connection, enqueue_drain

log = logging.getLogger(__name__)


def _describe(ret_val: int) -> str:
    if ret_val and ret_val & 0x7F:
        number = ret_val & 0x7F
        try:
            return f"evaluating process died by signal {number} ({signal.Signals(number).name})"
        except ValueError:
            return f"evaluating process died by signal {number}"
    return f"evaluating process exited unexpectedly (status {ret_val})"


class EngineWorker(Worker):
    def warm(self) -> None:
        """Warm this parent, so that every forked horse starts with the ORM configured, statements compiled and
        the active rules read: an event is then evaluated in a fraction of a second, not one."""
        try:
            with session_factory(load_settings().database_url)() as session:
                pipeline.warm(session)
        except StopRequested:  # SIGTERM while warming: RQ's handler raised it here, and it must reach the work loop
            raise
        except Exception:  # the database may be restarting: the horses will do it themselves
            log.warning("warming the worker failed", exc_info=True)

    def execute_job(self, job, queue):
        result = super().execute_job(job, queue)
        self.warm()  # a version published meanwhile is read here once, not in every horse
        return result

    def handle_work_horse_killed(self, job, retpid: int, ret_val: int, rusage) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        settings = load_settings()
        prefix = pipeline.lease_owner().rsplit("/", 2)[0] + f"/{retpid}/"
        with session_factory(settings.database_url)() as session:
            released = pipeline.release(session, prefix, _describe(ret_val))
        log.warning("work-horse %s died (%s); released %s leased events", retpid, _describe(ret_val), released)
        enqueue_drain(settings)


def run(burst: bool = False, with_scheduler: bool = True) -> None:
    """Start the worker on the evaluation and outbox queues (preloading SQLAlchemy before forking)."""
    import engine.evaluation.enrich  # noqa: F401  preload: horses fork with the ORM already imported
    import engine.evaluation.decide  # noqa: F401

    settings = load_settings()
    conn = connection(settings)
    worker = EngineWorker(all_queues(settings, conn), connection=conn)
    worker.warm()
    worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")
