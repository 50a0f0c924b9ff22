"""Part A of bench/intake.py: pipeline rounds (accept_event in chunks, then pipeline.drain) and the database floor.

A round's processes are started with multiprocessing 'spawn' and import this module by name to run
_round_child (bench/ and the project are on the sys.path they inherit).
"""
from __future__ import annotations

import gc
import multiprocessing as mp
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from measure import busy_share, cpu_ticks

SEED = 20261122
TZ = ZoneInfo("Asia/Shanghai")

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


def prepare_database(url: str) -> None:
    """Migrate and load the demo campaign (once per database)."""
    from engine.authoring import demo
    from engine.core.db import session_factory
    from migrations import upgrade

    upgrade(url)
    with session_factory(url)() as session:
        demo.load(session)
        session.commit()


#: The tables evaluation and recording write, for the rows-per-event figures and their COPY floor.
RECORDED = ("events", "cases", "case_stages", "tasks", "task_transitions", "task_steps", "supervisions", "firings",
            "outbox", "inbox_addresses", "message_reads", "audit_seals", "change_log")


@contextmanager
def scratch_database(base: str, schema: str) -> Iterator[str | None]:
    """A fresh schema, migrated with the demo loaded, for one script's run: its URL (None, said on stdout, when
    PostgreSQL is unreachable); the engines are disposed of and the schema dropped afterwards, also on errors."""
    from measure import dispose_engines, drop_postgres_schema, postgres_url

    url = postgres_url(base, schema)
    if not url:
        yield None
        return
    try:
        prepare_database(url)
        yield url
    finally:
        dispose_engines()
        drop_postgres_schema(base, schema)


def store_events(factory: Any, items: list[dict[str, Any]], chunk: int = 200) -> None:
    """Store `items` as the bench's trusted patrol source's events (filed at intake), `chunk` per commit."""
    from engine.intake.events import IntakeSource, accept_event

    source = IntakeSource("bench", "patrol")
    for start in range(0, len(items), chunk):
        with factory() as session:
            for payload in items[start:start + chunk]:
                accept_event(session, payload, source)
            session.commit()


def table_counts(url: str) -> dict[str, int]:
    """Rows in each recorded table, for the difference a round makes."""
    from sqlalchemy import text

    from engine.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in RECORDED}
    finally:
        engine.dispose()


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


# --------------------------------------------------------------------------- rounds

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
        with factory() as session:  # as the RQ worker's parent does before it forks a horse (workers/worker.py) ...
            pipeline.warm(session)
        gc.freeze()  # ... and as the horse does with the heap it inherits
        intake_source = IntakeSource(source, "patrol")  # trusted: filed and dispatched at intake
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
        totals = {"evaluated": 0, "failed": 0, "retried": 0, "batches": 0}
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
    before = table_counts(url)
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
    totals = {k: sum(d[2][k] for d in drains) for k in ("evaluated", "failed", "retried", "batches")}
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
    written = {t: v - before.get(t, 0) for t, v in table_counts(url).items()}
    result["rows_per_event"] = {t: round(v / n, 3) for t, v in written.items() if v}
    if profiles:
        result["profiles"] = profiles
    result.update({"intake_s": intake_s, "drain_s": drain_s, "intake_per_s": n / intake_s,
                   "drain_per_s": n / drain_s, "overall_per_s": n / (intake_s + drain_s), **totals, **counts,
                   "all_evaluated": counts.get("events_evaluated", 0) == n
                   and all(v == 0 for k, v in counts.items() if k.startswith("events_") and k != "events_evaluated")})
    return result


# --------------------------------------------------------------------------- the database's floor

def checkpoint(url: str) -> bool:
    """Write out PostgreSQL's dirty pages now, so that the timing that follows does not pay for a checkpoint of
    what came before (a round writes about 400,000 rows; a checkpoint under way slowed the floor by a third).
    False where the role may not (CHECKPOINT needs a superuser or pg_checkpoint)."""
    from sqlalchemy.exc import DBAPIError

    from engine.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")
        return True
    except DBAPIError:
        return False
    finally:
        engine.dispose()


def database_floor(url: str, n: int, repeats: int = 3) -> dict[str, Any]:
    """The database's own rate for the same rows, without CivicRules: n event rows inserted in batches of
    500 by executemany, then by COPY, into a scratch copy of the events table (same columns, indexes). Each is
    timed `repeats` times and the median kept: one COPY of 20,000 rows lasts under a second, and a single timing
    moved by ±15 % from run to run on the same machine."""

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
            rates = []
            for _ in range(repeats):
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
                rates.append(n / (time.perf_counter() - started))
            result[f"{label}_per_s"] = statistics.median(rates)
            result[f"{label}_runs"] = [round(rate) for rate in rates]
        cur.execute("DROP TABLE floor_events")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return result


def rows_floor(url: str, tables: tuple[str, ...] = RECORDED) -> dict[str, Any]:
    """The database's COPY rate for the rows a round wrote: every row of the recorded tables is copied out, then
    copied back into scratch copies of those tables (same columns and indexes, no foreign keys) 500 rows per COPY
    and commit. Returns rows/s over all of them and the seconds per table."""
    from engine.core.db import make_engine

    engine = make_engine(url)
    raw = engine.raw_connection()
    result: dict[str, Any] = {"rows": 0, "seconds": 0.0, "tables": {}}
    try:
        cur = raw.cursor()
        for table in tables:
            data = bytearray()
            with cur.copy(f"COPY {table} TO STDOUT") as copy:
                for block in copy:
                    data += block
            lines = bytes(data).splitlines(keepends=True)
            if not lines:
                continue
            cur.execute(f"DROP TABLE IF EXISTS floor_{table}")
            cur.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            raw.commit()
            started = time.perf_counter()
            for i in range(0, len(lines), 500):
                with cur.copy(f"COPY floor_{table} FROM STDIN") as copy:
                    copy.write(b"".join(lines[i:i + 500]))
                raw.commit()
            seconds = time.perf_counter() - started
            cur.execute(f"DROP TABLE floor_{table}")
            raw.commit()
            result["rows"] += len(lines)
            result["seconds"] += seconds
            result["tables"][table] = round(seconds, 4)
    finally:
        raw.close()
        engine.dispose()
    result["copy_per_s"] = result["rows"] / result["seconds"] if result["seconds"] else None
    return result

