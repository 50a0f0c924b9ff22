"""Replay speed: N stored events of one month through the draft and the active version (goals: 100,000
events in at most 60 s, issue 3; 1,000,000 events in at most 120 s, issue 18), on SQLite and, when it answers,
PostgreSQL.

Setup, not timed: the demo campaign is loaded into a fresh database (a SQLite file in a temporary folder,
or PostgreSQL schema `bench_replay`, dropped and recreated, dropped again at the end). N events of
June 2026 (the demo pack's leaf categories in a Zipf-like mix, 12 grids, day-heavy hours) are inserted
(`engine.core.bulk.insert_rows`: COPY on PostgreSQL). Their facts are then computed as the pipeline computes
them — `engine.evaluation.enrich.History.of` and `facts_for` — with one History over all N events instead of
one per batch (the same facts: a report's repeats count every earlier report of its category and grid, and
the events have no place and no closed tasks), and stored in `Event.facts` with status `evaluated` (COPY to a
temporary table and one UPDATE, then VACUUM ANALYZE, on PostgreSQL), without recording tasks (running the
whole pipeline over 100,000 events would take ~15 minutes and measure the pipeline, not the replay). The
draft then gets two edits: a new zero-tolerance row for category 07001 (no rule covers it) and the
strict-management row SM6 with a 3-hour limit.

Timed, twice: `engine.authoring.replay.replay(active vs draft)` in this process, as the RQ job runs it (batches of
--batch events, a progress callback per batch) — once with every event through both rulesets (`skip_unchanged`
off: the case of an edit to a category-free rule), once as the job runs by default, where events of
categories both rulesets treat alike are skipped. Printed: events/s, total time, the ratios to both goals
(projected from the rate below their size), and one JSON line; each round is checked against the differences
the two edits must give (exit status 1 if not exact). `--profile` adds the top of a cProfile of the replay.

    .venv/bin/python bench/replay.py                       # 100,000 events, SQLite then PostgreSQL
    .venv/bin/python bench/replay.py --events 20000 --skip-postgres
    .venv/bin/python bench/replay.py --events 1000000 --skip-sqlite
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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import code_version, cpu_model  # noqa: E402
from measure import drop_postgres_schema, postgres_url  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "bench_replay"
GOAL_EVENTS, GOAL_SECONDS = 100_000, 60.0
LARGE_EVENTS, LARGE_SECONDS = 1_000_000, 120.0  # issue 18 point 5: a large city's year
TZ = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 6, 1), date(2026, 6, 30)
SEED = 20261202
NEW_CATEGORY, CHANGED_ROW = "07001", "SM6"


def prepare(url: str) -> None:
    from engine.authoring import demo
    from engine.core.db import session_factory
    from engine.core.worktime import seed_holidays
    from migrations import upgrade

    upgrade(url)
    with session_factory(url)() as session:
        seed_holidays(session)
        demo.load(session)
        session.commit()


def generate(url: str, n: int, chunk: int = 50_000) -> float:
    """Insert n events of June 2026 (COPY on PostgreSQL, executemany on SQLite: engine.core.bulk); return seconds."""
    from sqlalchemy import select

    from engine.core.bulk import insert_rows
    from engine.core.db import session_factory
    from engine.core.models import Category, Event, Grid
    from rules.packs import load_pack

    rng = random.Random(SEED)
    pack = load_pack("demo")
    leaves = [c["code"] for c in pack["categories"] if c.get("conditions")]
    rng.shuffle(leaves)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(leaves))]
    started = time.monotonic()
    with session_factory(url)() as session:
        cats = dict(session.execute(select(Category.code, Category.id)).all())
        grids = list(session.scalars(select(Grid.id)))
        month = (LAST - FIRST).days + 1
        for offset in range(0, n, chunk):
            rows = []
            for i in range(offset, min(n, offset + chunk)):
                day = FIRST + timedelta(days=rng.randrange(month))
                hour = rng.choices(range(24), [1] * 6 + [4] * 15 + [2] * 3)[0]
                at = datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=TZ)
                rows.append({"source": "bench-replay", "source_event_id": f"r{i}", "source_type": "hotline",
                             "category_id": cats[rng.choices(leaves, weights)[0]], "grid_id": rng.choice(grids),
                             "occurred_at": at, "received_at": at + timedelta(minutes=2), "description": "",
                             "address": "", "status": "pending", "attempts": 0, "points": 0})
            insert_rows(session, Event.__table__, rows)
        session.commit()
    return time.monotonic() - started


def write_facts(url: str, chunk: int = 50_000) -> float:
    """Store each event's facts as the pipeline would (`History.of` and `facts_for`), with status `evaluated`;
    return seconds. One History over all the events: each event's repeats count every earlier report of its
    category and grid, as per-batch History did with all the events stored (the pipeline's batches see the
    reports stored before them; the events have no place and there are no tasks, so the place and closure facts
    are empty either way). Written through a temporary table and one UPDATE on PostgreSQL."""
    from sqlalchemy import select, text, update

    from engine.core.db import session_factory
    from engine.core.models import Event
    from engine.evaluation.context import active_contexts
    from engine.evaluation.enrich import History, facts_for, load_reference

    started = time.monotonic()
    with session_factory(url)() as session:
        ctx = active_contexts(session)[0]
        ref = load_reference(session)
        events = session.execute(
            select(Event.id, Event.source, Event.source_type, Event.category_id, Event.grid_id, Event.lat, Event.lon,
                   Event.address, Event.filing_condition, Event.occurred_at, Event.received_at)
            .where(Event.source == "bench-replay").order_by(Event.id)).all()
        history = History.of(session, events)
        postgres = session.get_bind().dialect.name == "postgresql"
        encode = Event.__table__.c.facts.type._cached_bind_processor(session.get_bind().dialect)
        if postgres:
            session.execute(text("CREATE TEMPORARY TABLE bench_facts (id bigint PRIMARY KEY, facts json, "
                                 "evaluated_at timestamptz) ON COMMIT DROP"))
        for offset in range(0, len(events), chunk):
            rows = [{"id": e.id, "facts": {str(ctx.id): facts_for(e, ref, ctx, history)}, "status": "evaluated",
                     "evaluated_at": e.received_at + timedelta(seconds=1)} for e in events[offset:offset + chunk]]
            if not postgres:
                session.execute(update(Event), rows)
                continue
            driver = session.connection().connection.driver_connection
            with driver.cursor() as cursor, cursor.copy("COPY bench_facts (id, facts, evaluated_at) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((row["id"], encode(row["facts"]), row["evaluated_at"]))
        if postgres:
            session.execute(text("UPDATE events SET facts = f.facts, status = 'evaluated', "
                                 "evaluated_at = f.evaluated_at FROM bench_facts f WHERE events.id = f.id"))
        session.commit()
    if postgres:
        vacuum(url)
    return time.monotonic() - started


def vacuum(url: str) -> None:
    """VACUUM ANALYZE the events after the UPDATE, so autovacuum does not run during the timed replay."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE events"))
    finally:
        engine.dispose()


def edit_draft(url: str) -> int:
    """The draft's two edits (a new zero-tolerance row, SM6's limit); return the campaign id."""
    from sqlalchemy import select

    from engine.core.db import session_factory
    from engine.core.models import Campaign, ListItem, RuleList

    with session_factory(url)() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.status == "active"))
        zero = session.scalar(select(RuleList).where(RuleList.campaign_id == campaign.id,
                                                     RuleList.kind == "zero_tolerance"))
        zero.items.append(ListItem(position=len(zero.items), key="ZT-BENCH", title_zh="张贴喷涂零容忍",
                                   title_en="Posting or spraying, zero tolerance", categories=[NEW_CATEGORY],
                                   conditions=[], assign="grid_unit", template_code="zt-clearance",
                                   timeline_code="zt-ladder", points=4, enabled=True))
        row = session.scalar(select(ListItem).where(ListItem.key == CHANGED_ROW))
        row.limit = {"value": 3, "unit": "urgent_hours"}
        session.commit()
        return campaign.id


def timed_replay(url: str, campaign_id: int, batch: int, skip: bool, profile: bool) -> dict[str, Any]:
    from engine.core.db import session_factory
    from engine.authoring.replay import replay

    ticks: list[tuple[float, int]] = []
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    with session_factory(url)() as session:
        started, cpu = time.monotonic(), time.process_time()
        if prof:
            prof.enable()
        result = replay(session, campaign_id, FIRST, LAST, "active", "draft", batch_size=batch, skip_unchanged=skip,
                        progress=lambda done, total: ticks.append((time.monotonic() - started, done)))
        if prof:
            prof.disable()
        seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    out = {"seconds": seconds, "cpu_seconds": cpu, "events": result["in_period"], "compared": result["compared"],
           "differences": result["difference_count"], "totals": result["totals"],
           "reenriched": result["reenriched"], "progress_updates": len(ticks)}
    if prof:
        import io
        import pstats

        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(25)
        out["profile"] = text.getvalue()
    return out


def expected_totals(url: str) -> dict[str, float]:
    """What the draft's two edits must show: per NEW_CATEGORY event the routine task the duty lists give the
    grid's sub-district becomes the new row's (a rule changed, 4 points each); a deadline changed per event of
    SM6's category (3 hours never equals its category's limit); nothing else."""
    from sqlalchemy import func, select

    from engine.core.db import session_factory
    from engine.core.models import Category, Event

    with session_factory(url)() as session:
        counts = dict(session.execute(select(Category.code, func.count()).join(Event, Event.category_id == Category.id)
                                      .where(Category.code.in_([NEW_CATEGORY, "09004"])).group_by(Category.code)).all())
    return {"added": 0, "removed": 0, "deadlines": counts.get("09004", 0), "rules": counts.get(NEW_CATEGORY, 0),
            "points": 4.0 * counts.get(NEW_CATEGORY, 0)}


def run(label: str, url: str, n: int, batch: int, profile: bool) -> list[dict[str, Any]]:
    started = time.monotonic()
    prepare(url)
    inserted = generate(url, n)
    facts = write_facts(url)
    campaign_id = edit_draft(url)
    expected = expected_totals(url)
    print(f"{label}: demo loaded, {n:,} events inserted in {inserted:.1f} s, facts written in {facts:.1f} s "
          f"(setup {time.monotonic() - started:.0f} s)", flush=True)
    out = []
    for mode, skip in (("all events compared", False), ("unchanged categories skipped", True)):
        load = os.getloadavg()[0]
        result = timed_replay(url, campaign_id, batch, skip, profile)
        rate = result["events"] / result["seconds"]
        goals = {}
        for events, seconds in ((GOAL_EVENTS, GOAL_SECONDS), (LARGE_EVENTS, LARGE_SECONDS)):
            taken = events / rate
            how = "measured" if events == result["events"] else "projected"
            goals[events] = (taken / seconds, "met" if taken <= seconds else "missed",
                             f"{events:,} events {how} at {taken:.1f} s = {taken / seconds:.0%} of the "
                             f"{seconds:.0f} s goal ({'met' if taken <= seconds else 'missed'})")
        exact = result["totals"] == expected
        print(f"{label}, {mode}: {result['events']:,} events ({result['compared']:,} through both rulesets) in "
              f"{result['seconds']:.1f} s ({result['cpu_seconds']:.1f} s CPU) = {rate:,.0f} events/s; "
              f"{goals[GOAL_EVENTS][2]}; {goals[LARGE_EVENTS][2]}; {result['differences']:,} differences "
              f"{result['totals']} ({'exact' if exact else f'WRONG, expected {expected}'}); "
              f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after", flush=True)
        if profile:
            print(result.pop("profile"))
        out.append({"round": label, "mode": mode, "events": result["events"], "compared": result["compared"],
                    "seconds": round(result["seconds"], 2), "cpu_seconds": round(result["cpu_seconds"], 2),
                    "events_per_s": round(rate), "exact": exact,
                    "ratio_to_goal": round(goals[GOAL_EVENTS][0], 3), "verdict": goals[GOAL_EVENTS][1],
                    "ratio_to_large_goal": round(goals[LARGE_EVENTS][0], 3), "large_verdict": goals[LARGE_EVENTS][1],
                    "differences": result["differences"], "totals": result["totals"],
                    "reenriched": result["reenriched"], "progress_updates": result["progress_updates"],
                    "setup_seconds": round(inserted + facts, 1), "load_before": round(load, 1),
                    "load_after": round(os.getloadavg()[0], 1)})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=GOAL_EVENTS)
    parser.add_argument("--batch", type=int, default=None, help="events per batch (default: the RQ job's BATCH_SIZE)")
    parser.add_argument("--postgres", default=PG_BASE)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.batch is None:
        from engine.authoring.replay import BATCH_SIZE

        args.batch = BATCH_SIZE
    print(f"code {code_version()}, {cpu_model()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="civicrules-replay-"))
    rounds = []
    try:
        if not args.skip_sqlite:
            rounds += (run("sqlite", f"sqlite:///{tmp / 'replay.db'}", args.events, args.batch, args.profile))
        if not args.skip_postgres:
            url = postgres_url(args.postgres, PG_SCHEMA, "PostgreSQL round skipped")
            if url:
                try:
                    rounds += run("postgresql", url, args.events, args.batch, args.profile)
                finally:
                    if not args.keep:
                        drop_postgres_schema(args.postgres, PG_SCHEMA)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"bench": "replay", "code": code_version(), "rounds": rounds}))
    return 0 if all(r["exact"] for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
