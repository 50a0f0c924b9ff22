"""Evaluation latency (received → evaluated) kept as histogram counters in Redis.

Every worker adds to the same hash after each drain, so /metrics on any web process reports the
whole deployment. Counters restart from zero if Redis loses its data; Prometheus treats that as a
counter reset. Recording never fails a job.
"""
from __future__ import annotations

import logging
from typing import Iterable

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.config import Settings
from engine.core.models import Event
from engine.core.states import EventStatus
from workers.queues import connection

log = logging.getLogger(__name__)

#: Upper bounds (seconds) of the latency buckets; the last, +Inf, is implied.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_CHUNK = 1000


def latency_key(settings: Settings) -> str:
    return f"{settings.queues.prefix}:metrics:evaluation_latency"


def bucket_index(seconds: float) -> int:
    """Index of the first bucket whose bound holds `seconds` (len(LATENCY_BUCKETS) for +Inf)."""
    for index, bound in enumerate(LATENCY_BUCKETS):
        if seconds <= bound:
            return index
    return len(LATENCY_BUCKETS)


def evaluation_latencies(session: Session, event_ids: Iterable[int]) -> list[float]:
    ids, found = list(event_ids), []
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(select(Event.received_at, Event.evaluated_at).where(
            Event.id.in_(ids[start:start + _CHUNK]), Event.status == EventStatus.EVALUATED,
            Event.evaluated_at.is_not(None)))
        found += [max(0.0, (evaluated - received).total_seconds()) for received, evaluated in rows]
    return found


def record_latencies(settings: Settings, latencies: list[float], conn: Redis | None = None) -> None:
    if not latencies:
        return
    counts: dict[int, int] = {}
    for seconds in latencies:
        index = bucket_index(seconds)
        counts[index] = counts.get(index, 0) + 1
    key = latency_key(settings)
    pipe = (conn or connection(settings)).pipeline(transaction=True)
    for index, count in counts.items():
        pipe.hincrby(key, f"b{index}", count)
    pipe.hincrby(key, "count", len(latencies))
    pipe.hincrbyfloat(key, "sum", sum(latencies))
    pipe.execute()


def record_drain(settings: Settings, session: Session, event_ids: list[int]) -> None:
    """After a drain: add its events' latencies to the shared histogram (errors are logged, not raised)."""
    try:
        record_latencies(settings, evaluation_latencies(session, event_ids))
    except Exception:
        log.warning("could not record evaluation latencies", exc_info=True)


def read_histogram(settings: Settings, conn: Redis | None = None) -> tuple[list[tuple[str, float]], float]:
    """Cumulative (le, count) pairs ending with +Inf, and the sum, as Prometheus expects them."""
    raw = {k.decode(): v.decode() for k, v in (conn or connection(settings)).hgetall(latency_key(settings)).items()}
    buckets, running = [], 0.0
    for index, bound in enumerate((*LATENCY_BUCKETS, float("inf"))):
        running += int(raw.get(f"b{index}", 0))
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
    return buckets, float(raw.get("sum", 0.0))
