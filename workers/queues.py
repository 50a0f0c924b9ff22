"""Redis connections and the queues; enqueueing is deduplicated so bursts of events make few jobs.

Three groups, each served by its own worker process under `civicrules serve`, so evaluation never waits for
delivery: `evaluate` (drains of new events only), `delivery` (outbox sends, whose webhooks may hang until
their timeouts) and `on_demand` (replays, simulations, sanctions lists, imports). The enqueue functions
here and in the job modules are the only places that pick a queue."""
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


EVALUATE, DELIVERY, ON_DEMAND = "evaluate", "delivery", "on_demand"
GROUPS: tuple[str, ...] = (EVALUATE, DELIVERY, ON_DEMAND)
_QUEUE_NAMES = {EVALUATE: "evaluate", DELIVERY: "outbox", ON_DEMAND: "on-demand"}


def queue_for(group: str, settings: Settings, conn: Redis | None = None) -> Queue:
    return Queue(f"{settings.queues.prefix}-{_QUEUE_NAMES[group]}", connection=conn or connection(settings))


def evaluate_queue(settings: Settings, conn: Redis | None = None) -> Queue:
    return queue_for(EVALUATE, settings, conn)


def outbox_queue(settings: Settings, conn: Redis | None = None) -> Queue:
    return queue_for(DELIVERY, settings, conn)


def on_demand_queue(settings: Settings, conn: Redis | None = None) -> Queue:
    return queue_for(ON_DEMAND, settings, conn)


def all_queues(settings: Settings, conn: Redis | None = None) -> list[Queue]:
    return [queue_for(group, settings, conn) for group in GROUPS]


def parse_groups(text: str) -> list[str]:
    """The queue groups a worker serves, from `evaluate,delivery`; ValueError names an unknown one."""
    groups = [name.strip().replace("-", "_") for name in text.split(",") if name.strip()]
    unknown = [name for name in groups if name not in GROUPS]
    if unknown or not groups:
        raise ValueError(f"unknown queue group(s) {unknown or [text]}; choose from {', '.join(GROUPS)} / "
                         f"未知的队列组 {unknown or [text]}，可选：{', '.join(GROUPS)}")
    return list(dict.fromkeys(groups))


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
    on_demand_queue(settings).enqueue("workers.jobs.import_events", run_id, job_timeout=3600, result_ttl=600,
                                      failure_ttl=86400, job_id=f"{settings.queues.prefix}-import-{run_id}")
