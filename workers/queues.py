"""Redis connections and the queues; enqueueing is deduplicated so bursts of events make few jobs."""
from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue, Retry

from engine.core.config import Settings, load_settings

DRAIN_FLAG_SECONDS = 30


@lru_cache(maxsize=4)
def _connection(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def connection(settings: Settings | None = None) -> Redis:
    return _connection((settings or load_settings()).redis_url)


def evaluate_queue(settings: Settings, conn: Redis | None = None) -> Queue:
    return Queue(f"{settings.queues.prefix}-evaluate", connection=conn or connection(settings))


def outbox_queue(settings: Settings, conn: Redis | None = None) -> Queue:
    return Queue(f"{settings.queues.prefix}-outbox", connection=conn or connection(settings))


def all_queues(settings: Settings, conn: Redis | None = None) -> list[Queue]:
    return [evaluate_queue(settings, conn), outbox_queue(settings, conn)]


def _flag(settings: Settings, name: str) -> str:
    return f"{settings.queues.prefix}:{name}-queued"


def enqueue_drain(settings: Settings, conn: Redis | None = None) -> bool:
    """Queue one evaluation drain unless one is already waiting; True if a job was queued."""
    conn = conn or connection(settings)
    if not conn.set(_flag(settings, "drain"), 1, nx=True, ex=DRAIN_FLAG_SECONDS):
        return False
    evaluate_queue(settings, conn).enqueue("workers.jobs.drain_events", job_timeout=600, result_ttl=60,
                                           failure_ttl=86400, retry=Retry(max=3, interval=[1, 5, 15]))
    return True


def clear_drain_flag(settings: Settings, conn: Redis | None = None) -> None:
    (conn or connection(settings)).delete(_flag(settings, "drain"))


def enqueue_delivery(settings: Settings, conn: Redis | None = None) -> bool:
    conn = conn or connection(settings)
    if not conn.set(_flag(settings, "outbox"), 1, nx=True, ex=DRAIN_FLAG_SECONDS):
        return False
    outbox_queue(settings, conn).enqueue("workers.jobs.deliver_outbox", job_timeout=300, result_ttl=60,
                                         failure_ttl=86400, retry=Retry(max=5, interval=[2, 10, 30, 120, 600]))
    return True


def clear_delivery_flag(settings: Settings, conn: Redis | None = None) -> None:
    (conn or connection(settings)).delete(_flag(settings, "outbox"))


def enqueue_import(settings: Settings, run_id: int) -> None:
    """Queue the import of one uploaded file (the job reads everything else from its ImportRun row)."""
    evaluate_queue(settings).enqueue("workers.jobs.import_events", run_id, job_timeout=3600, result_ttl=600,
                                     failure_ttl=86400, job_id=f"{settings.queues.prefix}-import-{run_id}")
