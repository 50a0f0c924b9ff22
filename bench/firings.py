"""Firing-history queries over many firings on PostgreSQL: the first page of 50, newest first, no count.

Generates N firings (default 10 million) with SQL in a private schema `bench_firings` (events, firings
spread over one year, 12 grids, the demo's categories and rules, three rule versions), builds the
indexes of migration 0014, then times engine.audit.firing_history.page() for the issue's three questions:
  (a) one unit over one month, (b) one rule version, (c) one category in one grid over a quarter,
each with 50 different parameter draws after one warm-up, and prints p50 / p95 / max.

    .venv/bin/python bench/firings.py                  # 10,000,000 firings, about 5-10 minutes
    .venv/bin/python bench/firings.py --rows 1000000   # quicker
    .venv/bin/python bench/firings.py --keep           # keep the schema for EXPLAIN ANALYZE
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import code_version, cpu_model  # noqa: E402
from measure import drop_postgres_schema, recreate_schema  # noqa: E402

BASE = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA = "bench_firings"
GOAL_P95_MS = 200.0
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
FIRING_INDEXES = ("ix_firings_unit_time", "ix_firings_rule_time", "ix_firings_place_time", "ix_firings_time",
                  "ix_firings_event_id")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def prepare(rows: int) -> str:
    """A fresh schema, migrated, the demo loaded, then `rows` firings generated in SQL; returns its URL."""
    from sqlalchemy import create_engine, text

    url = recreate_schema(BASE, SCHEMA)
    os.environ["CIVICRULES_INSTANCE"] = str(Path("/tmp") / "crbench-firings")
    from engine.authoring import demo
    from engine.core.db import session_factory
    from migrations import upgrade

    upgrade(url)
    with session_factory(url)() as session:
        demo.load(session)
        session.commit()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    events = rows // 2
    with engine.connect() as conn:
        t = time.perf_counter()
        for name in FIRING_INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        conn.execute(text("ALTER TABLE firings DROP CONSTRAINT IF EXISTS uq_firings_event_id"))
        conn.execute(text("ALTER TABLE firings DROP CONSTRAINT IF EXISTS fk_firings_event_id_events"))
        conn.execute(text("ALTER TABLE firings DROP CONSTRAINT IF EXISTS fk_firings_task_id_tasks"))
        cats = [r[0] for r in conn.execute(text("SELECT id FROM categories ORDER BY id"))]
        grids = [(r[0], r[1]) for r in conn.execute(text("SELECT id, unit_id FROM grids ORDER BY id"))]
        campaign, version = conn.execute(text("SELECT id, published_version_id FROM campaigns LIMIT 1")).one()
        keys = [r for r in json.loads(conn.execute(text("SELECT rules::text FROM ruleset_versions WHERE id = :v"),
                                                    {"v": version}).scalar())]
        conn.execute(text("CREATE TEMP TABLE g (n int PRIMARY KEY, grid_id int, unit_id int)"))
        conn.execute(text("INSERT INTO g VALUES " + ",".join(f"({i},{g},{u})" for i, (g, u) in enumerate(grids))))
        conn.execute(text(f"""
            INSERT INTO events (id, source, source_event_id, source_type, category_id, grid_id, occurred_at,
                                received_at, description, address, status, attempts, points)
            SELECT e, 'bench', 'b' || e, 'hotline', (ARRAY{cats})[1 + e % {len(cats)}], g.grid_id,
                   timestamptz '{START.isoformat()}' + (e::float / {events} * interval '365 days'),
                   timestamptz '{START.isoformat()}' + (e::float / {events} * interval '365 days'),
                   '', '', 'evaluated', 0, 0
            FROM generate_series(1000000000, 1000000000 + {events} - 1) AS e
            JOIN g ON g.n = e % {len(grids)}"""))
        conn.execute(text(f"""
            INSERT INTO firings (event_id, campaign_id, ruleset_version_id, rule_key, rule_version, list_kind,
                                 list_item, matched, decisions, points, task_id, fired_at, unit_id, category_id, grid_id)
            SELECT e, {campaign}, {version}, (ARRAY{keys})[1 + (2 * e + k) % {len(keys)}], 1 + (e / 7 + k) % 3,
                   'custom', NULL, '[]', '[]', 0, NULL,
                   timestamptz '{START.isoformat()}' + ((e - 1000000000)::float / {events} * interval '365 days'),
                   g.unit_id, (ARRAY{cats})[1 + e % {len(cats)}], g.grid_id
            FROM generate_series(1000000000, 1000000000 + {events} - 1) AS e
            CROSS JOIN (VALUES (0), (1)) AS kk(k)
            JOIN g ON g.n = e % {len(grids)}"""))
        loaded = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute(text("CREATE INDEX ix_firings_unit_time ON firings (unit_id, fired_at, id)"))
        conn.execute(text("CREATE INDEX ix_firings_rule_time ON firings (rule_key, rule_version, fired_at, id)"))
        conn.execute(text("CREATE INDEX ix_firings_place_time ON firings (category_id, grid_id, fired_at, id)"))
        conn.execute(text("CREATE INDEX ix_firings_time ON firings (fired_at, id)"))
        conn.execute(text("ANALYZE firings"))
        indexed = time.perf_counter() - t
        count = conn.execute(text("SELECT count(*) FROM firings")).scalar()
        size = conn.execute(text("SELECT pg_size_pretty(pg_total_relation_size('firings'))")).scalar()
    engine.dispose()
    print(f"generated {count:,} firings ({events:,} events) in {loaded:.0f} s, indexes in {indexed:.0f} s; "
          f"table with indexes {size}", flush=True)
    return url


def measure(url: str, draws: int) -> dict[str, dict[str, float]]:
    from sqlalchemy import select

    from engine.core.db import session_factory
    from engine.audit.firing_history import FiringFilter, page
    from engine.core.models import Category, Firing, Grid, Unit

    rng = random.Random(20261122)
    results = {}
    with session_factory(url)() as session:
        units = [u for u in session.scalars(select(Unit.id).where(Unit.id.in_(select(Grid.unit_id))))]
        cats = list(session.scalars(select(Category.id)))
        grids = list(session.scalars(select(Grid.id)))
        rule_keys = list(session.scalars(select(Firing.rule_key).distinct()))

        def month() -> tuple[datetime, datetime]:
            m = rng.randrange(12)
            since = START.replace(month=1 + m)
            return since, (since + timedelta(days=32)).replace(day=1)

        def quarter() -> tuple[datetime, datetime]:
            q = rng.randrange(4)
            since = START.replace(month=1 + 3 * q)
            return since, (since + timedelta(days=95)).replace(day=1)

        questions = {
            "a) one unit, one month": lambda: FiringFilter(unit_id=rng.choice(units), since=(m := month())[0], until=m[1]),
            "b) one rule version": lambda: FiringFilter(rule_key=rng.choice(rule_keys), rule_version=rng.randrange(1, 4)),
            "c) one category in one grid, one quarter": lambda: FiringFilter(
                category_id=rng.choice(cats), grid_id=rng.choice(grids), since=(q := quarter())[0], until=q[1]),
        }
        for name, draw in questions.items():
            page(session, draw())  # warm-up
            times, found = [], []
            for _ in range(draws):
                f = draw()
                t = time.perf_counter()
                rows, _after = page(session, f)
                times.append((time.perf_counter() - t) * 1000)
                found.append(len(rows))
                session.expunge_all()
            results[name] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "max_ms": max(times),
                             "mean_rows": sum(found) / len(found)}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="firings to generate (default 10,000,000)")
    parser.add_argument("--draws", type=int, default=50, help="parameter draws per question (default 50)")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"CivicRules firing-history benchmark (code {code_version()}): {os.cpu_count()} cpu(s), {cpu_model()}, "
          f"{args.rows:,} firings, load average {load:.2f}", flush=True)
    url = prepare(args.rows)
    try:
        results = measure(url, args.draws)
    finally:
        if not args.keep:
            drop_postgres_schema(BASE, SCHEMA)
    print(f"\n{'question':<44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'rows':>6}")
    for name, r in results.items():
        print(f"{name:<44} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} {r['mean_rows']:>6.1f}")
    worst = max(r["p95_ms"] for r in results.values())
    print(f"goal: first page p95 <= {GOAL_P95_MS:.0f} ms for each question: {'met' if worst <= GOAL_P95_MS else 'MISSED'} "
          f"(worst p95 {worst:.1f} ms); load average after {os.getloadavg()[0]:.2f}")
    print(json.dumps({"bench": "firings", "code": code_version(), "rows": args.rows, "results": results}))
    return 0 if worst <= GOAL_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
