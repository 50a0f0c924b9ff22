"""Run a function on the on-demand queue from a web request and wait for its answer: web processes never
load durable_rules, so the simulator's evaluation happens in an engine worker."""
from __future__ import annotations

import time
from typing import Any

from rq.job import JobStatus

from engine.core.config import Settings
from workers.queues import on_demand_queue


class EngineUnavailable(RuntimeError):
    """No engine worker answered in time (none running, or all busy)."""


def call(settings: Settings, function: str, *args: Any, timeout: float = 20.0) -> Any:
    """Enqueue `function(*args)` at the front of the on-demand queue and wait up to `timeout` seconds."""
    job = on_demand_queue(settings).enqueue(function, *args, at_front=True, job_timeout=int(timeout) + 30,
                                            result_ttl=60, failure_ttl=600)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == JobStatus.FINISHED:
            return job.return_value(refresh=True)
        if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            raise RuntimeError(f"engine job {function} {status}")
        time.sleep(0.05)
    job.cancel()
    raise EngineUnavailable(f"no engine worker answered within {timeout:g} s")
