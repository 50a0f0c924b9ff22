"""The RQ worker that evaluates events. A worker serving the evaluation group hands each drain to its long-lived
evaluating process (workers/warm.py), which keeps its durable_rules Host and compiled versions; every other job
runs in a forked work-horse. Either way a crash of the C engine (even SIGSEGV) kills only that process; the
worker then releases its leases at once, and those events are retried alone until they pass or are marked failed.

A worker serves one or more queue groups (workers.queues.GROUPS); `civicrules serve` runs one process per
group, so a webhook hanging until its timeout or a long replay never holds the evaluation worker. Delivery rounds
run in the worker itself: they touch no C engine, and a horse per round cost more than the round."""
from __future__ import annotations

import gc
import logging
import signal
import uuid

from rq import Queue, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.scheduler import RQScheduler
from rq.worker import WorkerStatus

from engine.evaluation import pipeline
from engine.core.config import load_settings
from engine.core.db import session_factory
from workers import warm
from workers.jobs import DELIVERY_JOB, DRAIN_JOB
from workers.queues import DELIVERY, EVALUATE, GROUPS, all_queues, connection, enqueue_drain, queue_for

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
    warming = True  # a delivery-only worker never evaluates: nothing to warm
    scheduled: list[Queue] | None = None  # the queues its scheduler serves; None: its own

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """One scheduler moves the due retries of every queue, not only this worker's: the worker started with
        the scheduler serves it for the others (RQ's lock keeps a second one idle)."""
        self.scheduler = RQScheduler(self.scheduled or self.queues, connection=self.connection,
                                     logging_level=logging_level or "INFO", date_format=date_format,
                                     log_format=log_format, serializer=self.serializer)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    def warm(self) -> None:
        """Warm this parent, so that every forked horse starts with the ORM configured, statements compiled and
        the active rules read: an event is then evaluated in a fraction of a second, not one."""
        if not self.warming:
            return
        try:
            with session_factory(load_settings().database_url)() as session:
                pipeline.warm(session)
        except StopRequested:  # SIGTERM while warming: RQ's handler raised it here, and it must reach the work loop
            raise
        except Exception:  # the database may be restarting: the horses will do it themselves
            log.warning("warming the worker failed", exc_info=True)

    def main_work_horse(self, job, queue) -> None:
        """A horse ends with its job: the parent's warmed heap is frozen out of its garbage collections, which would
        otherwise walk it again and again while a batch allocates its rows (and copy its pages on write)."""
        gc.freeze()
        super().main_work_horse(job, queue)

    def execute_job(self, job, queue):
        """A drain goes to the evaluating process and a delivery round runs here, both without a fork (a horse
        per job cost a delivery worker about 0.3 s of CPU each, most of a core at two events a second); the
        C engine, which can crash, runs only in the evaluating process or a horse."""
        if (job.func_name == DRAIN_JOB and warm.current() is not None) or job.func_name == DELIVERY_JOB:
            self.prepare_execution(job)  # as RQ's SimpleWorker
            self.perform_job(job, queue)
            self.set_state(WorkerStatus.IDLE)
            return None
        result = super().execute_job(job, queue)
        self.warm()  # a version published meanwhile is read here once, not in every horse
        return result

    def get_heartbeat_ttl(self, job) -> int:
        """A job run in this process has no horse monitor to renew its heartbeat: it lasts the whole job (as RQ's
        SimpleWorker's does), or the registry's cleanup would call a long delivery round abandoned and rerun it."""
        if job.func_name in (DRAIN_JOB, DELIVERY_JOB) and job.timeout and job.timeout > 0:
            return int(job.timeout) + 60
        return super().get_heartbeat_ttl(job)

    def teardown(self) -> None:
        engine = warm.current()
        if engine is not None:
            engine.stop()
            warm.install(None)
        super().teardown()

    def handle_work_horse_killed(self, job, retpid: int, ret_val: int, rusage) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        settings = load_settings()
        prefix = pipeline.lease_owner().rsplit("/", 2)[0] + f"/{retpid}/"
        with session_factory(settings.database_url)() as session:
            released = pipeline.release(session, prefix, _describe(ret_val))
        log.warning("work-horse %s died (%s); released %s leased events", retpid, _describe(ret_val), released)
        enqueue_drain(settings)


def run(burst: bool = False, with_scheduler: bool = True, groups: tuple[str, ...] = GROUPS) -> None:
    """Start a worker on the given queue groups (default all, for a one-process deployment), preloading
    SQLAlchemy before forking; a delivery-only worker is not warmed with the active rules."""
    import engine.evaluation.enrich  # noqa: F401  preload: horses fork with the ORM already imported
    import engine.evaluation.decide  # noqa: F401

    settings = load_settings()
    conn = connection(settings)
    worker = EngineWorker([queue_for(group, settings, conn) for group in groups], connection=conn,
                          name=f"{'+'.join(groups)}.{uuid.uuid4().hex[:8]}")
    worker.warming = groups != (DELIVERY,)
    worker.scheduled = all_queues(settings, conn)
    worker.warm()
    if EVALUATE in groups:
        engine = warm.WarmEngine()
        engine.start()  # forked before RQ starts its threads, from the warmed parent
        warm.install(engine)
    try:
        worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")
    finally:
        if warm.current() is not None:
            warm.current().stop(kill=True)
            warm.install(None)
