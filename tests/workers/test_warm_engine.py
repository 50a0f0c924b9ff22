"""The warm engine (issue 18 point 2) and the lease heartbeat (issue 19): drains run in one long-lived evaluating
process that keeps only the active versions in its Host; a worker killed mid-batch holds its events for the short
heartbeat lease, not the whole CIVICRULES_LEASE_SECONDS."""
from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.authoring.drafts import publish
from engine.core import clock
from engine.core.models import Campaign, Event, Task
from engine.durable.evaluator import evaluator
from engine.evaluation import lease, pipeline
from engine.evaluation.context import active_contexts
from engine.evaluation.lease import Heartbeat
from workers import warm
from workers.warm import PROCESS_NAME
from tests.helpers import REPORT, event, start, stop, wait_for
from tests.workers.test_recovery import queue_drain, statuses, store

pytestmark = pytest.mark.slow
TIMEOUT = 180


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def evaluating_process(worker_pid: int) -> int | None:
    for pid in children(worker_pid):
        try:
            if Path(f"/proc/{pid}/comm").read_bytes().strip() == PROCESS_NAME:
                return pid
        except OSError:
            continue
    return None


def test_the_evaluating_host_keeps_only_the_active_versions_over_many_publishes(factory, demo, drain):
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.status == "active"))
    for n in range(12):
        store(factory, "warm-publish", [event("06029", "NC-02", hour=23)])
        with factory() as session:
            publish(session, session.get(Campaign, campaign.id), comment=f"warm engine {n}")
            session.commit()
        assert drain().evaluated == 1
        with factory() as session:
            active = {context.tag for context in active_contexts(session)}
        assert evaluator().tags == active, f"after publish {n} the Host holds retired versions"


def test_drains_run_in_one_long_lived_evaluating_process(factory, env, settings):
    worker = start(env, "worker")
    try:
        first = store(factory, "warm-first", [event("06029", "NC-02", hour=23)])
        queue_drain(settings)
        wait_for(lambda: statuses(factory, first) == {"evaluated": 1}, TIMEOUT, "the first event evaluated")
        evaluating = evaluating_process(worker.pid)
        assert evaluating is not None, "the worker runs no evaluating process"
        second = store(factory, "warm-second", [event("06029", "NC-02", hour=23)])
        queue_drain(settings)
        wait_for(lambda: statuses(factory, second) == {"evaluated": 1}, TIMEOUT, "the second event evaluated")
        assert evaluating_process(worker.pid) == evaluating, "the second drain ran in another process"
    finally:
        stop(worker)


def test_a_worker_killed_mid_batch_is_taken_over_within_the_heartbeat_lease(factory, env, settings):
    ids = store(factory, "warm-kill", [event("06029", "NC-02", hour=23) for _ in range(300)])
    queue_drain(settings)
    held = {"CIVICRULES_LEASE_SECONDS": "60", "CIVICRULES_LEASE_HEARTBEAT_SECONDS": "3", "CIVICRULES_BATCH_SIZE": "50"}
    worker = start(env, "worker", **held)

    def leased() -> dict[int, datetime]:
        with factory() as session:
            return dict(session.execute(select(Event.id, Event.lease_until).where(
                Event.id.in_(ids), Event.status == "pending", Event.lease_token.is_not(None))).all())
    try:
        wait_for(lambda: statuses(factory, ids).get("evaluated", 0) >= 50 and leased(), TIMEOUT,
                 "a batch in evaluation after the first 50 events", every=0.01)
    finally:
        stop(worker, signal.SIGKILL)  # the worker and its evaluating process, mid-batch
    held_until = leased()
    assert held_until, "the kill must land mid-batch"
    now = clock.now().replace(tzinfo=None)
    assert max(until.replace(tzinfo=None) for until in held_until.values()) <= now + timedelta(seconds=5), \
        "a batch is held for its short heartbeat lease, not the whole CIVICRULES_LEASE_SECONDS"
    orphans = list(held_until)
    killed_at = time.monotonic()
    worker = start(env, "worker", **held)
    sweeper = start(env, "sweep", "--every", "1")
    try:
        wait_for(lambda: statuses(factory, orphans) == {"evaluated": len(orphans)}, 30,
                 "the killed worker's batch evaluated well before its 60 s lease", every=0.25)
        taken_over = time.monotonic() - killed_at
        wait_for(lambda: statuses(factory, ids) == {"evaluated": len(ids)}, TIMEOUT, "every event evaluated", every=0.5)
    finally:
        stop(sweeper)
        stop(worker)
    REPORT.append(f"warm engine: a batch of a worker killed by SIGKILL evaluated {taken_over:.1f} s after the kill "
                  f"(heartbeat lease 3 s, longest hold 60 s)")
    with factory() as session:
        tasks = dict(session.execute(select(Task.event_id, func.count()).where(Task.event_id.in_(ids))
                                     .group_by(Task.event_id)).all())
    assert len(tasks) == len(ids) and set(tasks.values()) == {2}  # every event once: sub-district + night squad


def test_the_heartbeat_keeps_a_batch_leased_while_it_is_evaluated(factory, demo):
    ids = store(factory, "warm-heartbeat", [event("06029", "NC-02", hour=23) for _ in range(3)])
    with factory() as session:
        token, claimed, _ = pipeline.claim(session, 10, 1)
        first = session.scalar(select(func.max(Event.lease_until)).where(Event.lease_token == token))
    assert set(ids) <= set(claimed)
    with Heartbeat(factory, token, 1, 60) as beat:
        wait_for(lambda: beat.renewals >= 2, 30, "two renewals of the lease")
    with factory() as session:
        assert session.scalar(select(func.min(Event.lease_until)).where(Event.lease_token == token)) > first
        assert pipeline.evaluate_claimed(session, token, claimed) == len(claimed)
    assert lease.renew(factory, token, clock.now()) == 0  # recorded: nothing is held any more


def test_the_evaluating_process_is_recycled_once_it_outgrows_its_bound(factory, env, settings, demo, monkeypatch):
    monkeypatch.setattr(warm, "RECYCLE_GROWTH_MB", -1)  # every drain grows past it: recycled after each one
    engine = warm.WarmEngine()
    engine.start()
    try:
        first = engine.process.pid
        store(factory, "warm-recycle", [event("06029", "NC-02", hour=23)])
        assert engine.drain().evaluated == 1
        assert engine.alive() and engine.process.pid != first and engine.recycles == 1
        store(factory, "warm-recycle", [event("06029", "NC-02", hour=23)])
        assert engine.drain().evaluated == 1 and engine.restarts == 0  # a recycle is no crash: nothing released
    finally:
        engine.stop()


def test_a_drain_that_fails_in_the_evaluating_process_fails_the_job_and_keeps_the_process(env, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'civicrules.db'}")  # cannot be opened
    engine = warm.WarmEngine()
    engine.start()
    try:
        with pytest.raises(warm.DrainFailed, match="OperationalError"):
            engine.drain()  # RQ records the job failed and retries it, as when a horse raised
        assert engine.alive() and engine.restarts == 0
    finally:
        engine.stop()
