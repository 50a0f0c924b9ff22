"""Memory of one long-lived evaluating process across many publishes.

durable_rules cannot redefine a ruleset, so every published version is registered under its own
names (`v<version id>_<hash>.<partition>`). This measures what that costs a process that lives
through many publishes: one process publishes 200 times, each a real change of the bundle (a list
row's points and a timeline step's delay change, so rules, hash and bundle differ), and after each
publish evaluates a few events through the normal path (intake -> pipeline.drain -> durable_rules
-> firings and tasks). It prints the resident set size (psutil) before the first publish and after
1, 50, 200, 500 and 1,000 publishes, the ratio last/1, and how many versions the process holds registered.

With --horses the evaluation after each publish runs the way the engine worker runs it (workers/worker.py:
RQ forks a work-horse per job, and durable_rules is imported in the horse only): a forked child evaluates
and reports its own RSS; the long-lived parent publishes and never loads the C engine.

    .venv/bin/python bench/publish_memory.py                 # SQLite in a temporary folder
    .venv/bin/python bench/publish_memory.py --horses        # evaluation in a forked horse per publish
    .venv/bin/python bench/publish_memory.py --warm          # in the warm engine's evaluating process (issue 18)
    .venv/bin/python bench/publish_memory.py --postgres      # BENCH_POSTGRES_URL, schema bench_publish_memory
    .venv/bin/python bench/publish_memory.py --publishes 500 --events 20
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import PG_BASE, recreate_schema  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCHEMA = "bench_publish_memory"
CHECKPOINTS = (1, 50, 200, 500, 1000)


def database_url(postgres: bool) -> str:
    if not postgres:
        folder = Path(tempfile.mkdtemp(prefix="cr-publish-memory-"))
        os.environ.setdefault("CIVICRULES_INSTANCE", str(folder))
        return f"sqlite:///{folder / 'bench.db'}"
    return recreate_schema(PG_BASE, SCHEMA)


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--publishes", type=int, default=200)
    parser.add_argument("--events", type=int, default=10, help="events evaluated after each publish")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--horses", action="store_true", help="evaluate in a forked child per publish, like RQ")
    parser.add_argument("--warm", action="store_true", help="evaluate in the warm engine's long-lived process")
    parser.add_argument("--recycle-mb", type=float, default=256.0,
                        help="with --warm: growth past which the evaluating process is replaced (default 256)")
    args = parser.parse_args()

    from sqlalchemy import select

    from engine.authoring import demo
    from engine.evaluation import pipeline
    from engine.evaluation.context import _compiled_cache
    from engine.authoring.drafts import draft_view, freeze
    from engine.core.db import session_factory
    from engine.durable.evaluator import evaluator
    from engine.intake.events import IntakeSource, accept_event
    from engine.core.models import Campaign, Event, Firing, ListItem, RuleList, Timeline
    from engine.core.worktime import seed_holidays
    from migrations import upgrade
    from tests.helpers import event

    url = database_url(args.postgres)
    upgrade(url)
    factory = session_factory(url)
    with factory() as session:
        seed_holidays(session)
        demo.load(session)
        session.commit()
    source = IntakeSource("bench-publish-memory", "patrol")

    def evaluate_some(drain=lambda: pipeline.drain(factory, 100, 30, 3)) -> int:
        with factory() as session:
            for hour in range(args.events):
                # night barbecue (zero tolerance), then exposed rubbish: rows of both lists fire
                accept_event(session, event("06029" if hour % 2 else "06011", "DC-01", hour=(20 + hour) % 24), source)
            session.commit()
        return drain().evaluated

    engine = None
    if args.warm:
        from workers import warm

        os.environ["DATABASE_URL"] = url  # the evaluating process reads its settings like the worker's
        warm.RECYCLE_GROWTH_MB = args.recycle_mb
        engine = warm.WarmEngine()
        engine.start()

    def in_warm() -> tuple[int, float]:
        """Evaluate in the worker's long-lived evaluating process (workers/warm.py); return its count and RSS."""
        evaluated = evaluate_some(engine.drain)
        pages = int(Path(f"/proc/{engine.process.pid}/statm").read_text().split()[1])
        return evaluated, pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def in_horse() -> tuple[int, float]:
        """Fork, evaluate in the child (fresh durable_rules host, as an RQ work-horse), return its count and RSS."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            factory.kw["bind"].dispose(close=False)  # the child opens its own connections
            evaluated = evaluate_some()
            gc.collect()
            os.write(write, json.dumps([evaluated, rss_mb()]).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            evaluated, rss = json.loads(pipe.read())
        os.waitpid(pid, 0)
        return evaluated, rss

    horse_rss: dict[int, float] = {}
    if args.horses or args.warm:
        (in_warm if args.warm else in_horse)()
    else:
        evaluate_some()  # the first version (the demo pack's) is registered and the process is warm
    gc.collect()
    figures = {"before": round(rss_mb(), 1)}
    started = time.monotonic()
    for n in range(1, args.publishes + 1):
        with factory() as session:
            campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
            row = session.scalar(select(ListItem).join(RuleList).where(RuleList.campaign_id == campaign.id)
                                 .order_by(ListItem.id).limit(1))
            row.points = 1 + n % 97  # the row's rule changes: new rules, new hash, new durable_rules names
            timeline = session.scalar(select(Timeline).where(Timeline.campaign_id == campaign.id).order_by(Timeline.id))
            timeline.steps[0].after_minutes = 30 + n  # and the bundle's timeline
            freeze(session, campaign, draft_view(session, campaign), comment=f"memory bench {n}")  # no scenario gate:
            # the changed points would fail the demo's scenarios, and the gate's own process is not what is measured
            session.commit()
        if args.horses or args.warm:
            evaluated, rss = (in_warm if args.warm else in_horse)()
        else:
            evaluated, rss = evaluate_some(), 0.0
        assert evaluated == args.events
        if n in CHECKPOINTS or n == args.publishes:
            gc.collect()
            figures[n] = round(rss_mb(), 1)
            if args.horses or args.warm:
                horse_rss[n] = round(rss, 1)
                print(f"after {n:>4} publishes: parent RSS {figures[n]:7.1f} MB (durable_rules loaded: "
                      f"{'durable.engine' in sys.modules}), {'evaluating process' if args.warm else 'horse'} RSS "
                      f"{rss:7.1f} MB" + (f", recycled {engine.recycles} times" if args.warm else ""), flush=True)
            else:
                print(f"after {n:>4} publishes: RSS {figures[n]:7.1f} MB, versions registered in durable_rules "
                      f"{len(evaluator()._layouts)}, compiled cache {len(_compiled_cache)}", flush=True)
    with factory() as session:
        events = session.query(Event).filter(Event.source == source.name).count()
        firings = session.query(Firing).join(Event).filter(Event.source == source.name).count()
    last = max(k for k in figures if k != "before")
    if engine is not None:
        engine.stop()
    result = {"mode": "warm engine (workers/warm.py)" if args.warm else "horse per publish" if args.horses
              else "one long-lived evaluating process",
              "database": "postgresql" if args.postgres else "sqlite", "publishes": args.publishes,
              "events_evaluated": events, "firings": firings, "rss_mb": figures,
              "ratio_last_to_first": round(figures[last] / figures[1], 2),
              "mb_per_publish": round((figures[last] - figures[1]) / max(1, last - 1), 3),
              "registered_versions": None if args.horses or args.warm else len(evaluator()._layouts),
              "horse_rss_mb": horse_rss or None, "seconds": round(time.monotonic() - started, 1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
