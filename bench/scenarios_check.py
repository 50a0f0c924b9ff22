"""Scenario check speed (issue 20 point 6): N rule scenarios checked against the demo's draft as the publish gate
checks them — facts in this process, rules fired in durable_rules in one child process, the twin beside it —
goal: 1,000 scenarios in at most 5 s on this machine's two cores.

Setup, not timed: the demo campaign is loaded into a fresh SQLite file (its 23 scenarios included), and N
scenarios are made by cycling those 23 over the demo's grids and the hours of a day (titles made unique), all
stored. Timed, `--rounds` times: `engine.authoring.scenario_gate.against_draft` over every stored scenario (what a
publish waits for). Printed: scenarios/s, the time per round, the ratio to the 5 s goal and one JSON line; the
exit status is 1 if a demo scenario fails (the demo's scenarios must pass on its own draft).

    .venv/bin/python bench/scenarios_check.py                   # 1,000 scenarios, 3 rounds
    .venv/bin/python bench/scenarios_check.py --scenarios 5000 --rounds 1
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from machine import code_version, cpu_model  # noqa: E402

GOAL_SECONDS = 5.0


def prepare(url: str, n: int) -> None:
    """The demo, and N scenarios made from its own (same events on other grids and hours, expectations dropped
    where a grid or hour would change them: those keep only the rules that must fire or must not)."""
    from engine.authoring import demo
    from engine.authoring.campaigns import campaign_for
    from engine.core.db import session_factory
    from engine.core.models import Grid, Scenario
    from migrations import upgrade
    from rules.packs import load_pack
    from sqlalchemy import select

    upgrade(url)
    with session_factory(url)() as session:
        demo.load(session)
        session.commit()
        campaign = campaign_for(session, None)
        grids = list(session.scalars(select(Grid.code).order_by(Grid.code)))
        base = load_pack("demo")["scenarios"]
        made = len(base)
        i = 0
        while made < n:
            data = copy.deepcopy(base[i % len(base)])
            data["title"] = f"{data['title']} #{i}"
            data["event"]["grid"] = grids[i % len(grids)]
            data["expected"] = {"fire": [k for k in data["expected"].get("fire") or [] if not k.startswith("night")],
                                "not_fire": []}
            session.add(Scenario(campaign_id=campaign.id, title=data["title"], tags=data["tags"], event=data["event"],
                                 expected=data["expected"], history=data.get("history") or {}))
            made += 1
            i += 1
        session.commit()


def check(url: str) -> tuple[float, int, list[str]]:
    from engine.authoring import scenario_gate
    from engine.authoring.campaigns import campaign_for
    from engine.authoring.drafts import draft_view
    from engine.core.db import session_factory

    with session_factory(url)() as session:
        campaign = campaign_for(session, None)
        draft = draft_view(session, campaign)
        start = time.perf_counter()
        outcomes = scenario_gate.against_draft(session, campaign, draft)
        seconds = time.perf_counter() - start
        session.rollback()
    return seconds, len(outcomes), [o.title for o in outcomes if not o.passed]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-scenarios-")
    url = f"sqlite:///{folder}/bench.db"
    os.environ.setdefault("CIVICRULES_INSTANCE", folder)
    prepare(url, args.scenarios)
    times, failing, count = [], [], 0
    for _ in range(args.rounds):
        seconds, count, failing = check(url)
        times.append(seconds)
    best, worst = min(times), max(times)
    print(f"{count} scenarios checked against the draft: best {best:.2f} s ({count / best:,.0f}/s), worst "
          f"{worst:.2f} s; goal {GOAL_SECONDS:g} s for 1,000 -> {best / GOAL_SECONDS * 1000 / max(count, 1):.2f}× "
          f"of the budget; failing: {len(failing)}")
    print(json.dumps({"bench": "scenarios_check", "scenarios": count, "best_s": round(best, 3),
                      "worst_s": round(worst, 3), "rounds": args.rounds, "failing": failing[:5],
                      "code": code_version(), "cpu": cpu_model()}, ensure_ascii=False))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
