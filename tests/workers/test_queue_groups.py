"""Each kind of job lands on its group's queue, so the evaluation worker only ever sees drains; a worker is
started on named groups, and an unknown group is refused in both languages before anything runs."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import pytest

from engine.core.config import QueueSettings
from tests.helpers import ROOT, unique
from workers import replay
from workers.engine_call import EngineUnavailable, call
from workers.queues import (DELIVERY, EVALUATE, GROUPS, ON_DEMAND, all_queues, connection, enqueue_delivery,
                            enqueue_drain, enqueue_import, parse_groups, queue_for)
from workers.worker import EngineWorker


@pytest.fixture()
def own(settings):
    """Settings with a queue prefix of this test's own, so nothing else queues into what it counts."""
    return replace(settings, queues=QueueSettings(prefix=unique("groups")))


def _functions(settings, group: str) -> list[str]:
    return [job.func_name for job in queue_for(group, settings).get_jobs()]


def test_each_job_goes_to_its_group(own):
    assert enqueue_drain(own) and enqueue_delivery(own)
    enqueue_import(own, 4242)
    replay.start(own, {"campaign": 1})
    with pytest.raises(EngineUnavailable):  # no worker listens on this prefix: the call gives up, cancelled
        call(own, "workers.simulate.job", {}, timeout=0.2)
    assert _functions(own, EVALUATE) == ["workers.jobs.drain_events"]
    assert _functions(own, DELIVERY) == ["workers.jobs.deliver_outbox"]
    assert _functions(own, ON_DEMAND) == ["workers.jobs.import_events", "workers.replay.run"]
    assert queue_for(ON_DEMAND, own).canceled_job_registry.count == 1  # the simulation waited there
    assert queue_for(EVALUATE, own).canceled_job_registry.count == 0
    assert {queue_for(group, own).name for group in GROUPS} == {
        f"{own.queues.prefix}-evaluate", f"{own.queues.prefix}-outbox", f"{own.queues.prefix}-on-demand"}


def test_groups_are_read_from_the_option():
    assert parse_groups("evaluate") == [EVALUATE]
    assert parse_groups(" delivery, on-demand ,delivery") == [DELIVERY, ON_DEMAND]
    with pytest.raises(ValueError) as refused:
        parse_groups("evaluate,webhooks")
    assert "webhooks" in str(refused.value) and "未知的队列组" in str(refused.value)


def test_the_worker_command_refuses_an_unknown_group(env):
    done = subprocess.run([sys.executable, "-m", "app.cli", "worker", "--queues", "evaluate,outbox-only", "--burst"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "outbox_only" in done.stderr and "unknown queue group" in done.stderr and "未知的队列组" in done.stderr


def test_the_evaluation_workers_scheduler_moves_due_retries_of_every_queue(own):
    """Only the evaluation worker runs the scheduler under serve: a delivery retry waiting its interval must
    still reach the delivery queue."""
    conn = connection(own)
    outbox_queue = queue_for(DELIVERY, own, conn)
    job = outbox_queue.enqueue_in(timedelta(seconds=0), "workers.jobs.deliver_outbox")
    assert outbox_queue.count == 0 and outbox_queue.scheduled_job_registry.count == 1
    worker = EngineWorker([queue_for(EVALUATE, own, conn)], connection=conn)
    worker.warming, worker.scheduled = False, all_queues(own, conn)
    worker.work(burst=True, with_scheduler=True)
    assert outbox_queue.get_job_ids() == [job.id] and outbox_queue.scheduled_job_registry.count == 0
