"""The command centre (智慧城管指挥平台, issue 17 point 5) with 100,000 open tasks: its JSON's response time (goal p95
≤ 300 ms) and the task list's first and a deep page, on SQLite and on PostgreSQL.

Per database: migrate, load the demo pack (units, grids, tiers, inspection points, roster), then insert with Core
executemany 100,000 open tasks on as many reports spread over the demo's grids, units, six categories and the two
lists (and none), deadlines from two days ago to three days ahead (about 40 % overdue), a done escalation step of
tier 1 or 2 on a third of the overdue ones, and 2,000 open cases reported 1-20 times (the hotspots). Then, through
the Flask test client in this process (no network), a user token's GET /api/v1/command-centre ≥ 50 times without
filters and with each filter, and a signed-in dispatcher's /tasks page 1 and page 1,000: p50, p95 and max.

    .venv/bin/python bench/command_centre.py                   # SQLite, then PostgreSQL ($DATABASE_URL or the bench's)
    .venv/bin/python bench/command_centre.py --tasks 20000 --requests 20 --no-postgres
    .venv/bin/python bench/command_centre.py --quick --no-postgres   # what tests/test_bench_command_centre.py runs
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import PG_BASE, dispose_engines, drop_postgres_schema, percentile, postgres_url  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_P95_MS = 300.0
PG_SCHEMA = "bench_command"
CHUNK = 5_000
CATEGORIES = 6
LISTS = ("zero_tolerance", "strict_management", "custom")


def prepare(url: str) -> dict[str, Any]:
    """Migrate, seed holidays, load the demo pack; the ids the tasks are hung on."""
    from sqlalchemy import select

    from engine.authoring import demo
    from engine.core.db import session_factory
    from engine.core.models import Campaign, Category, Grid, TaskTemplate
    from engine.core.worktime import seed_holidays
    from migrations import upgrade

    upgrade(url)
    with session_factory(url)() as session:
        seed_holidays(session)
        demo.load(session)
        session.commit()
        campaign = session.scalars(select(Campaign).order_by(Campaign.id)).first()
        return {"campaign_id": campaign.id, "ruleset_version_id": campaign.published_version_id,
                "grids": [(g.id, g.unit_id, g.boundary) for g in session.scalars(select(Grid).order_by(Grid.id))],
                "template_id": session.scalars(select(TaskTemplate.id).order_by(TaskTemplate.id)).first(),
                "categories": list(session.execute(select(Category.id, Category.code).where(
                    Category.parent_id.is_not(None), Category.kind == "matter").order_by(Category.id)
                    .limit(CATEGORIES)))}


def _spot(boundary: dict[str, Any] | None, rng: random.Random) -> tuple[float | None, float | None]:
    if not boundary:
        return None, None
    ring = boundary["coordinates"][0] if boundary["type"] == "Polygon" else boundary["coordinates"][0][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    return rng.uniform(min(lats), max(lats)), rng.uniform(min(lons), max(lons))


def seed(url: str, ids: dict[str, Any], total: int, rng: random.Random) -> float:
    """`total` open tasks on as many reports, escalation steps on some overdue ones, 2,000 open cases."""
    from sqlalchemy import insert, select

    from engine.core.db import session_factory
    from engine.core.models import Case, Event, Task, TaskStep

    engine = session_factory(url).kw["bind"]
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    grids, categories = ids["grids"], ids["categories"]
    with engine.begin() as conn:
        cases = []
        for i in range(2_000):
            grid_id, _, boundary = grids[i % len(grids)]
            lat, lon = _spot(boundary, rng)
            cases.append({"campaign_id": ids["campaign_id"], "category_id": categories[i % len(categories)][0],
                          "grid_id": grid_id, "lat": lat, "lon": lon, "stage": "dispatched",
                          "report_count": rng.randint(1, 20), "reported_at": now - timedelta(days=1),
                          "opened_at": now - timedelta(days=1), "version": 1})
        conn.execute(insert(Case), cases)
        picks = [rng.randrange(len(grids)) for _ in range(total)]
        cats = [categories[rng.randrange(len(categories))][0] for _ in range(total)]
        events = []
        for i in range(total):
            grid_id, _, boundary = grids[picks[i]]
            lat, lon = _spot(boundary, rng) if i % 4 == 0 else (None, None)
            events.append({"source": "bench-command", "source_event_id": f"cc-{i}", "source_type": "hotline",
                           "category_id": cats[i], "grid_id": grid_id, "lat": lat, "lon": lon,
                           "occurred_at": now, "received_at": now, "description": f"占道经营 第 {i} 号",
                           "address": f"解放路 {i} 号", "status": "evaluated", "attempts": 0, "points": 0,
                           "evaluated_at": now})
        for i in range(0, total, CHUNK):
            conn.execute(insert(Event), events[i:i + CHUNK])
        event_ids = list(conn.scalars(select(Event.id).where(Event.source == "bench-command").order_by(Event.id)))
        tasks = []
        for i, event_id in enumerate(event_ids):
            unit_id = grids[picks[i]][1]
            tasks.append({"event_id": event_id, "unit_id": unit_id, "campaign_id": ids["campaign_id"],
                          "ruleset_version_id": ids["ruleset_version_id"], "template_id": ids["template_id"],
                          "rule_key": "bench-command", "list_kind": LISTS[i % len(LISTS)],
                          "status": ("dispatched", "signed", "handling")[i % 3], "limit_value": 2,
                          "limit_unit": "hours", "deadline_at": now + timedelta(minutes=rng.uniform(-2880, 4320)),
                          "points": 0, "created_at": now - timedelta(days=2), "version": 1, "rework_count": 0,
                          "extension_count": 0, "paused_seconds": 0})
        for i in range(0, total, CHUNK):
            conn.execute(insert(Task), tasks[i:i + CHUNK])
        late = list(conn.scalars(select(Task.id).where(Task.rule_key == "bench-command", Task.deadline_at < now)))
        steps = [{"task_id": task_id, "position": 0, "action": "escalate", "tier_level": rng.choice((1, 2)),
                  "due_at": now - timedelta(hours=1), "status": "done", "ran_at": now - timedelta(hours=1)}
                 for task_id in late[::3]]
        for i in range(0, len(steps), CHUNK):
            conn.execute(insert(TaskStep), steps[i:i + CHUNK])
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE tasks, events, task_steps, cases")
    return time.perf_counter() - started


def timed(client, path: str, n: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """p50 / p95 / max in ms of `n` GETs after two warm-ups; every answer must be a 200."""
    for _ in range(2):
        assert client.get(path, headers=headers).status_code == 200, path
    spent = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        response.get_data()
        spent.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return {"n": n, "p50": round(percentile(spent, 50), 1), "p95": round(percentile(spent, 95), 1),
            "max": round(max(spent), 1)}


def measure(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import select

    from app import create_app
    from engine.accounts.users import issue_user_token
    from engine.core.config import load_settings
    from engine.core.db import session_factory
    from engine.core.models import Unit, User

    started = time.perf_counter()
    ids = prepare(url)
    prepare_s = time.perf_counter() - started
    seed_s = seed(url, ids, args.tasks, random.Random(7))
    print(f"[{label}] demo loaded in {prepare_s:.1f} s; {args.tasks:,} open tasks seeded in {seed_s:.1f} s",
          flush=True)
    os.environ["DATABASE_URL"] = url
    app = create_app(load_settings(), {"TESTING": True})
    with session_factory(url)() as session:
        dispatcher = session.scalar(select(User).where(User.username == "dispatcher"))
        token = issue_user_token(session, dispatcher)[0]
        unit = session.scalar(select(Unit.id).where(Unit.id == ids["grids"][0][1]))
        session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = dispatcher.get_id()
        flask_session["_fresh"] = True
    category = ids["categories"][0][1]
    result: dict[str, Any] = {"database": label, "tasks": args.tasks, "seed_s": round(seed_s, 1), "timings": {},
                              "load_before": round(os.getloadavg()[0], 2)}
    state = client.get("/api/v1/command-centre", headers=headers).get_json()
    result["open"], result["overdue"] = state["totals"]["open"], state["totals"]["overdue"]
    paths = {"command-centre": "/api/v1/command-centre",
             "command-centre ?category": f"/api/v1/command-centre?category={category}",
             "command-centre ?list": "/api/v1/command-centre?list=zero_tolerance",
             "command-centre ?unit": f"/api/v1/command-centre?unit={unit}",
             "command-centre all three": f"/api/v1/command-centre?category={category}&list=none&unit={unit}"}
    pages = {"/tasks page 1": "/tasks?mine=0", "/tasks page 1,000": "/tasks?mine=0&page=1000",
             "/tasks search": "/tasks?mine=0&q=%E8%A7%A3%E6%94%BE%E8%B7%AF%2077777",
             "/tasks overdue + list": "/tasks?mine=0&overdue=1&list=strict_management&page=20"}
    if args.quick:  # the test suite's run: no filter and all three, the first and a deep page
        paths = {name: paths[name] for name in ("command-centre", "command-centre all three")}
        pages = {name: pages[name] for name in ("/tasks page 1", "/tasks page 1,000")}
    for name, path in paths.items():
        result["timings"][name] = timed(client, path, args.requests, headers)
    for name, path in pages.items():
        result["timings"][name] = timed(client, path, max(10, args.requests // 5))
    result["load_after"] = round(os.getloadavg()[0], 2)
    dispose_engines()
    return result


def show(result: dict[str, Any]) -> None:
    print(f"\n{result['database']}: {result['open']:,} open tasks, {result['overdue']:,} overdue "
          f"(load average {result['load_before']} before, {result['load_after']} after, 2 cores)")
    print(f"  {'request':32} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, t in result["timings"].items():
        mark = "" if not name.startswith("command") else ("  ok" if t["p95"] <= GOAL_P95_MS else "  MISSED")
        print(f"  {name:32} {t['n']:>4} {t['p50']:>8} {t['p95']:>8} {t['max']:>8}{mark}")


def run(args: argparse.Namespace, base: str, instance: Path, results: list[dict[str, Any]]) -> None:
    """SQLite in the instance folder, then PostgreSQL in a schema of its own (dropped afterwards)."""
    if not args.no_sqlite:
        results.append(measure(f"sqlite:///{instance / 'civicrules.db'}", "SQLite", args))
    if not args.no_postgres:
        url = postgres_url(base, PG_SCHEMA)
        if url:
            try:
                results.append(measure(url, "PostgreSQL", args))
            finally:
                dispose_engines()
                drop_postgres_schema(base, PG_SCHEMA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--quick", action="store_true", help="two command-centre requests and two task list pages")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or PG_BASE  # read before each round points DATABASE_URL at its database
    instance = Path(tempfile.mkdtemp(prefix="cr-bench-command-"))
    os.environ["CIVICRULES_INSTANCE"] = str(instance)
    results: list[dict[str, Any]] = []
    try:
        run(args, base, instance, results)
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    for result in results:
        show(result)
    print()
    for result in results:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
