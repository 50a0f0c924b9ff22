"""Where one drain's time goes: N events stored (trusted source, so filed and dispatched at intake), then ONE
pipeline.drain of them under cProfile, on PostgreSQL (schema `drain_profile`, dropped afterwards). Prints wall and
CPU per event, SQL statements per event, and the top functions by own time (tottime) -- on a shared machine the
CPU per event is the figure to compare, not the wall clock.

    .venv/bin/python bench/drain_profile.py                 # 2,000 events, top 35
    .venv/bin/python bench/drain_profile.py --events 5000 --top 50 --ours 40   # also our functions by cumulative time

It prints `draining N events` when the drain starts, so the server's side can be sampled over the drain alone, e.g.
`perf record -g -u postgres -- sleep 8` started on that line, then `perf report --children --sort symbol -g none`.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake_rounds import payloads, scratch_database, store_events  # noqa: E402
from measure import PG_BASE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--top", type=int, default=35, help="functions listed by tottime")
    parser.add_argument("--ours", type=int, default=0, help="also list this many of our functions by cumulative time")
    parser.add_argument("--postgres", default=PG_BASE, metavar="URL")
    parser.add_argument("--schema", default="drain_profile")
    parser.add_argument("--dump", metavar="FILE", help="also write the profile for pstats or snakeviz")
    args = parser.parse_args()
    with scratch_database(args.postgres, args.schema) as url:
        if not url:
            return 1
        from sqlalchemy import event as sa_event

        from engine.core.db import session_factory
        from engine.durable.evaluator import evaluator
        from engine.evaluation import pipeline

        factory = session_factory(url)
        statements = [0]

        def count(*_args) -> None:
            statements[0] += 1
        sa_event.listen(factory.kw["bind"], "before_cursor_execute", count)
        evaluator()
        store_events(factory, payloads("profile", args.events))
        with factory() as session:  # as the RQ worker's parent does, and its horse (workers/worker.py)
            pipeline.warm(session)
        gc.freeze()
        statements[0] = 0
        load = os.getloadavg()[0]
        print(f"draining {args.events} events (pid {os.getpid()}) ...", flush=True)
        prof = cProfile.Profile()
        started, cpu0 = time.perf_counter(), time.process_time()
        prof.enable()
        result = pipeline.drain(factory, args.batch, 60, 3, time_budget=3600)
        prof.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
        n = args.events
        print(f"one drain of {n} events: {result.evaluated} evaluated, {result.retried} retried; wall {wall:.2f} s "
              f"({n / wall:,.0f}/s), Python CPU {1000 * cpu / n:.3f} ms/event (profiled), "
              f"{statements[0] / n:.2f} SQL statements/event; load average {load:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after")
        if args.dump:
            prof.dump_stats(args.dump)
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("tottime").print_stats(args.top)
        if args.ours:
            stats.sort_stats("cumulative").print_stats(str(ROOT), args.ours)
        print(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
