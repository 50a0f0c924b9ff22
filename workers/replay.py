"""The replay as an RQ job on the on-demand queue: ids and dates in, the per-unit differences out as the
job's result (kept a day in Redis; nothing goes to the domain tables).

Progress is the job's meta (done/total, saved after every batch; only the job writes its meta, so the
web never overwrites it). Cancelling sets a Redis key the job checks between batches (a batch takes well
under a second); the job then returns what it compared so far, marked cancelled. A job still queued is
cancelled by RQ itself, and a second Cancel after STOP_GRACE seconds sends RQ's stop-job command.
The web imports this module to enqueue and read jobs; durable_rules loads only inside `run`.
"""
from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any

from rq.command import send_stop_job_command
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from engine.core.config import Settings, load_settings
from workers.queues import connection, on_demand_queue
from rq import get_current_job
from engine.core.db import session_factory
from rules.problems import InputError
from engine.authoring.replay import BATCH_SIZE, DETAIL_LIMIT, replay

JOB_FUNCTION = "workers.replay.run"
RESULT_TTL = 24 * 3600
JOB_TIMEOUT = 1800
RECENT = 20
STOP_GRACE = 5.0


def cancel_key(settings: Settings, job_id: str) -> str:
    return f"{settings.queues.prefix}:replay-cancel:{job_id}"


def _recent_key(settings: Settings) -> str:
    return f"{settings.queues.prefix}:replays"


def start(settings: Settings, request: dict[str, Any], by: str = "") -> str:
    """Queue a replay (after the events already waiting); return its job id."""
    conn = connection(settings)
    job_id = f"replay-{uuid.uuid4().hex}"
    on_demand_queue(settings, conn).enqueue(JOB_FUNCTION, request, job_id=job_id, job_timeout=JOB_TIMEOUT,
                                            result_ttl=RESULT_TTL, failure_ttl=RESULT_TTL,
                                            meta={"done": 0, "total": None, "by": by, "request": request})
    recent = _recent_key(settings)
    conn.lpush(recent, job_id)
    conn.ltrim(recent, 0, RECENT - 1)
    conn.expire(recent, RESULT_TTL)
    return job_id


def fetch(settings: Settings, job_id: str) -> Job | None:
    """The replay job with that id, or None (unknown, expired, or some other kind of job)."""
    try:
        job = Job.fetch(job_id, connection=connection(settings))
    except NoSuchJobError:
        return None
    return job if job.func_name == JOB_FUNCTION else None


def recent(settings: Settings) -> list[Job]:
    ids = [i.decode() for i in connection(settings).lrange(_recent_key(settings), 0, RECENT - 1)]
    return [job for job in Job.fetch_many(ids, connection=connection(settings)) if job is not None]


def request_cancel(settings: Settings, job: Job) -> None:
    """Ask the job to stop: RQ cancels a queued job; a running one stops before its next batch."""
    conn = connection(settings)
    status = job.get_status(refresh=True)
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        job.cancel()
        return
    if status != JobStatus.STARTED:
        return
    key = cancel_key(settings, job.id)
    if not conn.set(key, time.time(), nx=True, ex=RESULT_TTL):
        asked = float(conn.get(key) or 0)
        if time.time() - asked > STOP_GRACE:  # the job did not notice: let RQ kill its work-horse
            send_stop_job_command(conn, job.id)


def state(settings: Settings, job: Job) -> dict[str, Any]:
    """What the progress bar polls: RQ's status, done/total, whether a cancel was asked for."""
    job.refresh()
    status = job.get_status(refresh=False)
    meta = job.meta or {}
    return {"id": job.id, "status": status.value if status else "unknown", "done": meta.get("done", 0),
            "total": meta.get("total"), "cancel_requested": bool(connection(settings).exists(cancel_key(settings, job.id))),
            "finished": status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)}


def outcome(job: Job) -> dict[str, Any] | None:
    """The job's answer ({"ok": True, "result": ...} or {"ok": False, "problems": [...]}) once finished."""
    return job.return_value(refresh=True) if job.get_status(refresh=True) == JobStatus.FINISHED else None


def _ruleset(value: Any) -> Any:
    return value if value in ("draft", "active") else int(value)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """The on-demand job: replay the period, saving progress per batch and stopping when asked."""


    settings = load_settings()
    job = get_current_job()
    conn = connection(settings)

    def progress(done: int, total: int) -> None:
        if job is not None:
            job.meta.update(done=done, total=total)
            job.save_meta()

    def cancelled() -> bool:
        return job is not None and bool(conn.exists(cancel_key(settings, job.id)))

    with session_factory(settings.database_url)() as session:
        try:
            result = replay(session, int(request["campaign"]), date.fromisoformat(request["from"]),
                            date.fromisoformat(request["to"]), _ruleset(request.get("base", "active")),
                            _ruleset(request.get("other", "draft")),
                            batch_size=int(request.get("batch_size") or BATCH_SIZE),
                            detail_limit=int(request.get("detail_limit") or DETAIL_LIMIT),
                            skip_unchanged=bool(request.get("skip_unchanged", True)),
                            progress=progress, cancelled=cancelled)
        except InputError as err:
            return {"ok": False, "problems": [p.to_json() for p in err.problems]}
    return {"ok": True, "result": result}
