"""The place lookups per event (issue 16, point 7; goal under 0.2 ms per event on one core) with a city's
geography in a real database: 10,000 zones, 50,000 permits and 20,000 frontage holders (bench/geography.py),
inserted into a SQLite file, and into PostgreSQL when DATABASE_URL (or --postgres) names one.

Timed per database, in this process, pinned to one CPU:
  build     each kind's index from its table (the stamp, reading the rows, projecting, buffering, STRtree), as the
            first batch of a worker does; and the index alone from rows already read;
  stamp     each kind's change stamp, the one query a batch may ask (zones every batch, permits and holders at
            most every 5 s);
  lookup    zones_at + place_facts + holders_at for batches of located reports, as History.of calls them: wall
            and CPU ms per event, the median of several runs, and each lookup's share; with 2,000 evaluation
            points (points_at, issue 17) beside them where the code has them;
  rebuild   the first batch after one row of a kind changed in another session (its stamp changed), which
            rebuilds that index: the median of three changes.
Printed: the figures, the goal against the measured cost, and one JSON line per database.

    .venv/bin/python bench/places.py                          # SQLite; PostgreSQL too with DATABASE_URL set
    .venv/bin/python bench/places.py --zones 2000 --permits 10000 --holders 4000 --runs 3
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # numpy's helpers stay on the one core too
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import code_version, cpu_model  # noqa: E402
from measure import dispose_engines, drop_postgres_schema, postgres_url  # noqa: E402

import geography  # noqa: E402

GOAL_MS = 0.2
PG_SCHEMA = "placebench"


def _timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def load(url: str, sizes: dict[str, int], rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Migrate the database and insert the city's zones, permits and holders (with the unit, grid and campaign
    they name), then VACUUM ANALYZE them on PostgreSQL; returns the rows."""
    from sqlalchemy import insert, select, text

    from engine.core.db import session_factory
    from engine.core.models import Campaign, FrontageHolder, Grid, Permit, Unit, Zone
    from migrations import upgrade

    upgrade(url)
    with session_factory(url)() as session:
        unit = Unit(code="CGW", name_zh="区城管委", name_en="District committee", type="bureau")
        session.add_all([unit, Campaign(id=1, code="bench", name_zh="创城", name_en="Civilised city")])
        session.flush()
        grid = Grid(code="G001", name_zh="网格", name_en="Grid", unit_id=unit.id)
        session.add(grid)
        session.flush()
        rows = {"zones": geography.zone_rows(sizes["zones"], rng),
                "permits": geography.permit_rows(sizes["permits"], rng, unit.id),
                "holders": geography.holder_rows(sizes["holders"], rng, grid.id)}
        tables = [(Zone, "zones"), (Permit, "permits"), (FrontageHolder, "holders")]
        if sizes["points"]:
            from engine.core.models import InspectionPoint, InspectionPointType
            from rules.facts import POINT_TYPES

            session.add_all([InspectionPointType(code=code, departments=[]) for code in POINT_TYPES])
            session.flush()
            type_ids = list(session.scalars(select(InspectionPointType.id)))
            # their own random numbers, so that the other places and the reports are the same without them
            rows["points"] = geography.point_rows(sizes["points"], random.Random(17), unit.id, type_ids)
            tables.append((InspectionPoint, "points"))
        for model, name in tables:
            for start in range(0, len(rows[name]), 5_000):
                session.execute(insert(model), rows[name][start:start + 5_000])
        session.commit()
        if session.get_bind().dialect.name == "postgresql":  # as autovacuum would after a bulk load
            with session.get_bind().connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text(f"VACUUM ANALYZE zones, permits, frontage_holders{', inspection_points' if sizes['points'] else ''}"))
    return rows


def kinds(with_points: bool) -> dict[str, dict[str, Any]]:
    """Per kind: its lookup, its index getter, its cache, its stamp, its table and how the index is made; the
    evaluation points (issue 17) when asked for."""
    from sqlalchemy import select

    from engine.core.models import FrontageHolder, Permit, Zone
    from engine.space import holders, permits, zones
    from engine.space.index import PlaceIndex

    found = {
        "zones": {"lookup": zones.zones_at, "index": zones.zone_index, "cache": zones._index, "stamp": zones._stamp,
                  "model": Zone, "column": Zone.updated_at,
                  "make": lambda s: PlaceIndex(zones.places(s.scalars(select(Zone).where(Zone.active.is_(True))
                                                                      .order_by(Zone.id)).all()))},
        "permits": {"lookup": permits.place_facts, "index": permits.permit_index, "cache": permits.PERMIT_INDEX,
                    "stamp": permits._stamp, "model": Permit, "column": Permit.updated_at,
                    "make": permits._build},
        "holders": {"lookup": holders.holders_at, "index": holders.holder_index, "cache": holders._index,
                    "stamp": holders._stamp, "model": FrontageHolder, "column": FrontageHolder.updated_at,
                    "make": holders._build},
    }
    if with_points:
        from engine.core.models import InspectionPoint
        from engine.space import points

        found["points"] = {"lookup": points.points_at, "index": points.point_index, "cache": points._index,
                           "stamp": points._stamp, "model": InspectionPoint, "column": InspectionPoint.updated_at,
                           "make": points._build}
    return found


def measure(url: str, label: str, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from sqlalchemy import update

    from engine.core.db import session_factory

    sizes = {"zones": args.zones, "permits": args.permits, "holders": args.holders, "points": args.points}
    started = time.perf_counter()
    rows = load(url, sizes, rng)
    load_s = time.perf_counter() - started
    near = geography.anchors(rows["zones"], rows["permits"], rows["holders"])
    batches = [geography.events(args.batch, rng, near, first_id=1 + b * args.batch) for b in range(args.batches)]
    table = kinds(bool(args.points))
    result: dict[str, Any] = {"database": label, "load_s": round(load_s, 2), "build": {}, "stamp_ms": {},
                              "rebuild_s": {}, "rebuild_cpu_s": {}}
    with session_factory(url)() as session:
        for name, kind in table.items():
            kind["cache"].clear()
            wall, cpu, index = _timed(lambda: kind["index"](session))
            alone_wall, alone_cpu, _ = _timed(lambda: type(index)(index.places))
            stamps = [_timed(lambda: kind["stamp"](session))[0] for _ in range(5)]
            result["build"][name] = {"places": len(index), "from_table_s": round(wall, 3),
                                     "from_table_cpu_s": round(cpu, 3), "index_only_s": round(alone_wall, 3),
                                     "index_only_cpu_s": round(alone_cpu, 3)}
            result["stamp_ms"][name] = round(statistics.median(stamps) * 1000, 3)
        session.commit()

        per_run, per_lookup = [], {name: [] for name in table}
        hits = {name: 0 for name in table}
        for run in range(args.runs):
            wall_total = cpu_total = 0.0
            spent = {name: 0.0 for name in table}
            spent_cpu = {name: 0.0 for name in table}
            for batch in batches:
                for name, kind in table.items():
                    wall, cpu, found = _timed(lambda: kind["lookup"](session, batch))
                    wall_total, cpu_total, spent[name] = wall_total + wall, cpu_total + cpu, spent[name] + wall
                    spent_cpu[name] += cpu
                    if run == 0:
                        hits[name] += sum(1 for value in found.values()
                                          if value and (not hasattr(value, "permits_valid") or value.permits_valid
                                                        or value.at_designated_site))
            events = args.batch * args.batches
            three = [n for n in table if n != "points"]
            per_run.append((wall_total * 1000 / events, cpu_total * 1000 / events,
                            sum(spent[n] for n in three) * 1000 / events, sum(spent_cpu[n] for n in three) * 1000 / events))
            for name in table:
                per_lookup[name].append(spent[name] * 1000 / events)
        session.commit()
        result["lookup_ms"] = {"wall": round(statistics.median(r[0] for r in per_run), 4),
                               "cpu": round(statistics.median(r[1] for r in per_run), 4),
                               "three_wall": round(statistics.median(r[2] for r in per_run), 4),
                               "three_cpu": round(statistics.median(r[3] for r in per_run), 4),
                               "runs_wall": [round(r[0], 4) for r in per_run],
                               "each": {name: round(statistics.median(v), 4) for name, v in per_lookup.items()}}
        result["hit_share"] = {name: round(n / (args.batch * args.batches), 3) for name, n in hits.items()}

        for name, kind in table.items():
            rebuilds = []
            for change in range(3):
                session.commit()  # no snapshot held while the other session writes
                with session_factory(url)() as other:  # the change comes from another process's session
                    model = kind["model"]
                    other.execute(update(model).where(model.id == 1 + change).values(
                        {kind["column"].key: geography.NOW.replace(day=2 + change)}))
                    other.commit()
                ttl, kind["cache"].ttl = kind["cache"].ttl, 0.0  # the batch after the ttl: its stamp is asked
                try:
                    rebuilds.append(_timed(lambda: kind["lookup"](session, batches[0]))[:2])
                finally:
                    kind["cache"].ttl = ttl
            result["rebuild_s"][name] = round(statistics.median(r[0] for r in rebuilds), 3)
            result["rebuild_cpu_s"][name] = round(statistics.median(r[1] for r in rebuilds), 3)
        session.commit()
    for kind in table.values():
        kind["cache"].clear()
    return result


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    lookup = result["lookup_ms"]
    print(f"\n{result['database']}: {args.zones:,} zones, {args.permits:,} permits, {args.holders:,} holders "
          f"(inserted in {result['load_s']:.1f} s); {args.runs} runs of {args.batches} batches of {args.batch:,} "
          f"located reports")
    for name, build in result["build"].items():
        print(f"  build {name:<8} {build['places']:>7,} places  {build['from_table_s']:5.2f} s "
              f"({build['from_table_cpu_s']:.2f} s CPU) from the table, {build['index_only_s']:.2f} s "
              f"({build['index_only_cpu_s']:.2f} s CPU) the index alone; stamp {result['stamp_ms'][name]:.2f} ms; "
              f"batch after a change {result['rebuild_s'][name]:.2f} s ({result['rebuild_cpu_s'][name]:.2f} s CPU)")
    each = ", ".join(f"{name} {ms:.4f}" for name, ms in lookup["each"].items())
    print(f"  lookup per event  {lookup['three_wall']:.4f} ms wall, {lookup['three_cpu']:.4f} ms CPU for zones, "
          f"permits and holders; {each} ms wall")
    if "points" in lookup["each"]:
        print(f"  with the {args.points:,} evaluation points (issue 17)  {lookup['wall']:.4f} ms wall, "
              f"{lookup['cpu']:.4f} ms CPU (runs: {', '.join(f'{v:.4f}' for v in lookup['runs_wall'])})")
    print("  reports with a hit: " + ", ".join(f"{name} {share:.0%}" for name, share in result["hit_share"].items()))
    verdict = "met" if lookup["three_wall"] < GOAL_MS else "NOT met"
    print(f"  goal < {GOAL_MS} ms per event on one core for zones, permits and holders: {verdict} "
          f"({lookup['three_wall']:.4f} ms, {lookup['three_wall'] / GOAL_MS:.0%} of the goal)")


def _has_points() -> bool:
    try:
        import engine.space.points  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--permits", type=int, default=50_000)
    parser.add_argument("--holders", type=int, default=20_000)
    parser.add_argument("--points", type=int, default=2_000 if _has_points() else 0,
                        help="evaluation points (issue 17) looked up beside the three (default 2,000 where the code "
                             "has them)")
    parser.add_argument("--batch", type=int, default=1_000, help="located reports per batch (default 1,000)")
    parser.add_argument("--batches", type=int, default=5, help="batches per run (default 5)")
    parser.add_argument("--runs", type=int, default=5, help="runs; the median is reported (default 5)")
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL database for schema 'placebench' (default: $DATABASE_URL, else none)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU")
    args = parser.parse_args()
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"{cpu_model()}, {os.cpu_count()} CPUs (pinned to {len(os.sched_getaffinity(0))}), load average "
          f"{os.getloadavg()[0]:.2f}; code {code_version()}")
    results = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="places-bench-") as folder:
            results.append(measure(f"sqlite:///{folder}/places.db", "sqlite", args, random.Random(16)))
            dispose_engines()
        report(results[-1], args)
    base = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1) if args.postgres else ""
    url = postgres_url(base, PG_SCHEMA) if base.startswith("postgresql") else None
    if url is not None:
        try:
            results.append(measure(url, "postgresql", args, random.Random(16)))
        finally:
            dispose_engines()
            drop_postgres_schema(base, PG_SCHEMA)
        report(results[-1], args)
    print(f"load average {os.getloadavg()[0]:.2f} after")
    for result in results:
        print(json.dumps({"bench": "places", "code": code_version(), "zones": args.zones, "permits": args.permits,
                          "holders": args.holders, "points": args.points, "batch": args.batch, **result}))


if __name__ == "__main__":
    main()
