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
unix socket in the temporary folder, gunicorn on a free port and the other children of `civicrules serve`
(its evaluation, delivery and on-demand workers apart), then POSTs single events at a fixed rate from a thread pool
(http.client, one connection per request). Reported: POST latency p50/p99 measured from each
request's scheduled time; "posted -> evaluated" for a sample of events, polling
GET /api/v1/events/{id}; and, for every event of the phase, the server-side received_at ->
evaluated_at. Every process the script starts is stopped at the end (also on errors or Ctrl-C).

Part A lives in bench/intake_rounds.py, part B in bench/http_intake.py (run_http); this script runs them and reports.

    .venv/bin/python bench/intake.py              # 5,000 events per round, 50 req/s for 10 s (~4-5 min)
    .venv/bin/python bench/intake.py --quick      # 300 events per round, 50 req/s for 5 s (~40 s)
    .venv/bin/python bench/intake.py --skip-http  # part A only
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_intake import Processes, run_http  # noqa: E402
from intake_rounds import checkpoint, database_floor, prepare_database, rows_floor, run_round  # noqa: E402
from machine import code_version, cpu_model  # noqa: E402
from measure import PG_BASE, dispose_engines, drop_postgres_schema, ms, pct, postgres_url  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SCHEMA = "bench"
GOAL_EVENTS_PER_S = 2_500  # issue 18 point 4 (stretch 5,000/s)
GOAL_COPY_RATIO = 0.025  # on other machines: of the same run's COPY floor of the event rows
GOAL_POSTED_TO_TASK_S = 2.0


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
        if r["failed"] or r["retried"]:
            check += f" (failed {r['failed']}, retried {r['retried']})"
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
    parser.add_argument("--schema", default=PG_SCHEMA,
                        help=f"the scratch schema (default {PG_SCHEMA}; another name lets two runs share a database)")
    parser.add_argument("--skip-2proc", action="store_true", help="skip the two-process PostgreSQL round")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and the bench schema")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile intake and drain in the one-process rounds and print the top functions")
    args = parser.parse_args()
    schema = args.schema
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
    floor: dict[str, Any] | None = None
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
            pg_url = postgres_url(args.postgres, schema)
            if pg_url:
                t = time.perf_counter()
                prepare_database(pg_url)
                print(f"postgresql: schema {schema} recreated, migrated and demo loaded in "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
                plan.append(("pg", pg_url, 1))
                if not args.skip_2proc:
                    plan.append(("pg-2proc", pg_url, 2))
        else:
            print("PostgreSQL skipped (--skip-postgres)", flush=True)
        for index, (label, url, nprocs) in enumerate(plan):
            if url == pg_url and index > 0 and plan[index - 1][1] == pg_url:
                # a fresh schema, so this round's repeat counts (and so its firings) match the previous round's
                postgres_url(args.postgres, schema)
                prepare_database(pg_url)
            if url == pg_url:
                checkpoint(pg_url)
            print(f"round {label}: storing and evaluating {n} events with {nprocs} process(es) ...", flush=True)
            try:
                r = run_round(label, url, n, nprocs, args.chunk, args.batch, args.profile)
            except Exception as err:
                r = {"round": label, "error": f"{type(err).__name__}: {err}"}
                exit_code = 1
            else:
                print(f"  intake {r['intake_per_s']:,.0f}/s, evaluation+recording {r['drain_per_s']:,.0f}/s, "
                      f"overall {r['overall_per_s']:,.0f}/s", flush=True)
                exit_code |= 0 if r["all_evaluated"] and not r["failed"] and not r["retried"] else 1
            rounds.append(r)
        if pg_url:
            checked = checkpoint(pg_url)
            floor = database_floor(pg_url, n)
            floor["after_checkpoint"] = checked
            print(f"database floor (PostgreSQL, {n} event rows in batches of 500): executemany "
                  f"{floor['executemany_per_s']:,.0f} rows/s, COPY {floor['copy_per_s']:,.0f} rows/s", flush=True)
            for r in rounds:
                if r.get("round", "").startswith("pg") and r.get("overall_per_s"):
                    print(f"  {r['round']}: end to end {r['overall_per_s']:,.0f}/s = "
                          f"{r['overall_per_s'] / floor['executemany_per_s']:.3f}x the executemany floor, "
                          f"{r['overall_per_s'] / floor['copy_per_s']:.3f}x COPY", flush=True)
            written = next((r["rows_per_event"] for r in reversed(rounds) if r.get("round", "").startswith("pg")
                            and r.get("rows_per_event")), None)
            if written:  # the schema holds the last PostgreSQL round's rows
                rows = rows_floor(pg_url, tuple(written))
                per_event = sum(written.values())
                floor["rows_copy_per_s"] = rows["copy_per_s"]
                floor["rows_per_event"] = per_event
                floor["rows_copy_events_per_s"] = rows["copy_per_s"] / per_event
                print(f"rows written per event ({per_event:.2f} in all): "
                      + ", ".join(f"{t} {v:.2f}" for t, v in written.items()), flush=True)
                print(f"database floor for those rows (COPY of {rows['rows']:,} rows as written, 500 per COPY): "
                      f"{rows['copy_per_s']:,.0f} rows/s = {floor['rows_copy_events_per_s']:,.0f} events/s", flush=True)
                for r in rounds:
                    if r.get("round", "").startswith("pg") and r.get("overall_per_s"):
                        r["ratio_to_rows_copy"] = r["overall_per_s"] / floor["rows_copy_events_per_s"]
                        r["ratio_to_event_copy"] = r["overall_per_s"] / floor["copy_per_s"]
                        print(f"  {r['round']}: end to end {r['overall_per_s']:,.0f}/s = "
                              f"{r['ratio_to_rows_copy']:.3f}x the COPY floor of its rows "
                              f"(goal elsewhere: >= {GOAL_COPY_RATIO}x the COPY floor of the event rows: "
                              f"{r['ratio_to_event_copy']:.3f}x)", flush=True)
        if not args.skip_http:
            url = pg_url or sqlite_url
            if url == sqlite_url and args.skip_sqlite:
                prepare_database(sqlite_url)
            print(f"HTTP: gunicorn -w 2 + serve's workers + embedded Redis on {url.split(':')[0]}, "
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
        dispose_engines()
        if pg_url and not args.keep:
            drop_postgres_schema(args.postgres, schema)
        if args.keep:
            print(f"kept {tmp}" + (f" and schema {schema}" if pg_url else ""))
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
        print("  CPU during the load, in cores: " + ", ".join(f"{k} {v:.2f}" for k, v in http["cpu_cores"].items())
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
            if "ratio_to_event_copy" in r:
                verdict = "meets" if r["ratio_to_event_copy"] >= GOAL_COPY_RATIO else "MISSES"
                print(f"goal >= {GOAL_COPY_RATIO}x the COPY floor of the event rows: {r['round']} {verdict} it "
                      f"({r['ratio_to_event_copy']:.3f}x)")
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
                      "floor": rounded(floor) if floor else None,
                      "goals": {"events_per_s": GOAL_EVENTS_PER_S, "copy_ratio": GOAL_COPY_RATIO,
                                "posted_to_task_s": GOAL_POSTED_TO_TASK_S},
                      "loadavg": [round(load_before[0], 2), round(load_after[0], 2)]}, ensure_ascii=False))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
