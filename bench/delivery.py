"""What a delivery round costs: N events stored and drained (their outbox rows written as the demo workload writes
them), then every row delivered by `outbox.deliver_due` rounds until none is due, on PostgreSQL (schema `delivery`,
dropped afterwards). Prints Python CPU and SQL statements per row and ends with one JSON line. The demo enables no
channel, so this is the round's own cost (routing, duty out of office hours, settling), not a send's.

    .venv/bin/python bench/delivery.py [--events 3000] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--postgres", default=PG_BASE, metavar="URL")
    parser.add_argument("--schema", default="delivery")
    args = parser.parse_args()
    with scratch_database(args.postgres, args.schema) as url:
        if not url:
            return 1
        from sqlalchemy import event as sa_event, func, select

        from engine.core.db import session_factory
        from engine.core.models import OutboxMessage
        from engine.delivery import outbox
        from engine.evaluation import pipeline

        factory = session_factory(url)
        store_events(factory, payloads("delivery", args.events))
        pipeline.drain(factory, 200, 60, 3, time_budget=3600)
        with factory() as session:
            rows = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        statements = [0]

        def count(*_args) -> None:
            statements[0] += 1
        sa_event.listen(factory.kw["bind"], "before_cursor_execute", count)
        load = os.getloadavg()[0]
        started, cpu0, delivered, rounds = time.perf_counter(), time.process_time(), 0, 0
        with factory() as session:
            while True:
                delivered += outbox.deliver_due(session)
                rounds += 1
                if not outbox.pending_count(session):
                    break
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
        code = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
        print(f"delivery of {rows} outbox rows ({args.events} events) in {rounds} rounds: {delivered} delivered; "
              f"Python CPU {1000 * cpu / rows:.3f} ms per row, {statements[0] / rows:.3f} SQL statements per row, "
              f"wall {wall:.2f} s ({rows / wall:,.0f} rows/s); load average {load:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after")
        print(json.dumps({"bench": "delivery", "code": code, "events": args.events, "rows": rows,
                          "delivered": delivered, "rounds": rounds, "cpu_ms_per_row": round(1000 * cpu / rows, 4),
                          "statements_per_row": round(statements[0] / rows, 4), "wall_s": round(wall, 3),
                          "loadavg": [round(load, 2), round(os.getloadavg()[0], 2)]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
