"""Replay: the stored events of a period through two rulesets of one campaign (the draft against the
active version, or any two published versions) and the difference per responsible unit — tasks added
and removed, deadlines changed, points at risk. Nothing is written: no task, firing or outbox row.

Speed comes from not enriching again: each event's facts are the ones stored when it was evaluated
(`Event.facts[campaign id]`), so repeats, rebounds and hours are what the pipeline saw. Only the two
facts that depend on the ruleset itself (`zero_tolerance`, `strict_management`: whether a row of its
lists matches the event, on the stored facts) are recomputed for each side. Events without stored facts
for the campaign (still pending, or evaluated before the campaign existed) are enriched as the pipeline
does (`engine.evaluation.enrich`).
Events of a category that both rulesets treat alike (the same rule documents can match it, list rows
among them) cannot differ and are skipped unless `skip_unchanged` is off. The others are read in
batches from one streamed query; events with the same signature (`rules.signature`: the facts either ruleset
reads, numbers by their side of each rule constant) fire the same rules, so one event per signature runs
through both sides with the pipeline's Evaluator (`engine.evaluation.verdict.fire`). The rules' decisions
and the hit policy (`engine.evaluation.verdict.decide`, as in the pipeline) then run only for events where
the rules that fired differ or changed, with deadlines counted by the campaign's WorkCalendar from the
moment the event was evaluated.
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time, timedelta
from typing import Any, Callable, Iterable, NamedTuple

from sqlalchemy import DateTime, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from engine.evaluation.context import CampaignContext
from engine.evaluation.enrich import History, facts_for, load_reference
from engine.evaluation.verdict import Verdict, decide, fire
from rules.problems import InputError, Problem
from engine.core.models import DEFAULT_TIMEZONE, UTC, Campaign, Category, Event, Grid, Unit
from engine.core.states import EventStatus
from engine.authoring.versions import ruleset_context
from rules.compiler import categories_of
from rules.facts import complete
from rules.list_facts import LIST_FACTS, list_flags
from rules.signature import Signature
from zoneinfo import ZoneInfo
from engine.durable.evaluator import evaluator

BATCH_SIZE = 5000  # events per batch: progress is saved and Cancel is checked between batches
KNOWN_LIMIT = 200_000  # signatures remembered at most (a few thousand in practice)
DETAIL_LIMIT = 500
MAX_DAYS = 366


def period(campaign: Campaign, first: date, last: date) -> tuple[datetime, datetime]:
    """The instants [start, end) of local dates first..last (inclusive) in the campaign's time zone."""
    if last < first:
        raise InputError([Problem("date_to", "the period ends before it starts", "结束日期早于开始日期")])
    if (last - first).days >= MAX_DAYS:
        raise InputError([Problem("date_to", f"a period of at most {MAX_DAYS} days",
                                       f"期间不得超过 {MAX_DAYS} 天")])

    zone = ZoneInfo(campaign.timezone or DEFAULT_TIMEZONE)
    return (datetime.combine(first, clock_time(0), zone),
            datetime.combine(last + timedelta(days=1), clock_time(0), zone))


def _in_period(start: datetime, end: datetime, category_ids: set[int] | None = None):
    where = ((Event.occurred_at >= start) & (Event.occurred_at < end) & (Event.status != EventStatus.FAILED)
             & Event.grid_id.is_not(None))  # a report outside every grid was never evaluated
    return where if category_ids is None else where & Event.category_id.in_(sorted(category_ids))


def count_events(session: Session, start: datetime, end: datetime, category_ids: set[int] | None = None) -> int:
    return session.scalar(select(func.count()).select_from(Event).where(_in_period(start, end, category_ids))) or 0


def changed_categories(a: CampaignContext, b: CampaignContext, codes: Iterable[str]) -> set[str]:
    """The categories whose events the two rulesets may treat differently: a rule document that can match
    them differs (any difference in a category-free rule touches all), or their list rows differ."""
    def reachable(ctx: CampaignContext) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        bound: dict[str, dict[str, Any]] = defaultdict(dict)
        free: dict[str, Any] = {}
        for key, doc in ctx.compiled.rules.items():
            cats = categories_of(doc)
            if cats is None:
                free[key] = doc
            for code in cats or ():
                bound[code][key] = doc
        return bound, free

    (bound_a, free_a), (bound_b, free_b) = reachable(a), reachable(b)
    codes = set(codes)
    if free_a != free_b:
        return codes
    return {code for code in codes if bound_a.get(code, {}) != bound_b.get(code, {})
            or any(a.list_rows.get(n, {}).get(code) != b.list_rows.get(n, {}).get(code) for n in LIST_FACTS)}


@dataclass(frozen=True)
class Outcome:
    """The task one side would create for one unit of one event."""

    rule: str
    deadline: datetime
    points: float


def tasks_of(verdict: Verdict) -> dict[int, Outcome]:
    """The hit policy's tasks per unit, with the event's points on the unit they are charged to."""
    return {unit_id: Outcome(t.rule_key, t.deadline_at, verdict.points_for(unit_id))
            for unit_id, t in verdict.tasks.items()}


@dataclass
class UnitSummary:
    added: int = 0
    removed: int = 0
    deadlines: int = 0
    rules: int = 0
    points: float = 0.0


@dataclass
class Comparison:
    """What the replay found so far; differences beyond `limit` are counted, not kept."""

    limit: int
    units: dict[int, UnitSummary] = field(default_factory=lambda: defaultdict(UnitSummary))
    differences: list[dict[str, Any]] = field(default_factory=list)
    difference_count: int = 0

    def add(self, row, base: dict[int, Outcome], other: dict[int, Outcome]) -> None:
        for unit_id in sorted(base.keys() | other.keys()):
            before, after = base.get(unit_id), other.get(unit_id)
            if before == after:
                continue
            summary = self.units[unit_id]
            if before is None:
                kind = "added"
                summary.added += 1
            elif after is None:
                kind = "removed"
                summary.removed += 1
            elif before.rule != after.rule:  # counted whatever else changed: the summary agrees with the details
                kind = "rule"
            elif before.deadline != after.deadline:
                kind = "deadline"
            else:
                kind = "points"
            if before is not None and after is not None:
                summary.rules += before.rule != after.rule
                summary.deadlines += before.deadline != after.deadline
            delta = (after.points if after else 0.0) - (before.points if before else 0.0)
            summary.points += delta
            self.difference_count += 1
            if len(self.differences) < self.limit:
                self.differences.append({
                    "event": row.id, "occurred_at": row.occurred_at.isoformat(), "category_id": row.category_id,
                    "grid_id": row.grid_id, "unit_id": unit_id, "kind": kind,
                    "rule_before": before.rule if before else None, "rule_after": after.rule if after else None,
                    "deadline_before": before.deadline.isoformat() if before else None,
                    "deadline_after": after.deadline.isoformat() if after else None,
                    "points": delta})


def _side_facts(facts: dict[str, Any], ctx: CampaignContext) -> dict[str, Any]:
    """The stored facts with the list flags this ruleset's list rows give the event (as enrichment computes them)."""
    flags = list_flags(ctx.list_rows, complete(facts))
    return facts if all(facts.get(k) == v for k, v in flags.items()) else {**facts, **flags}


def _batches(session: Session, start: datetime, end: datetime, category_ids: set[int] | None,
             size: int) -> Iterable[list]:
    """The period's events in id order, streamed in batches (a server-side cursor on PostgreSQL: one query, not one
    per batch). The facts come as text, decoded by `_facts` without the driver's per-value JSON loader, and the times
    as the driver gives them, made UTC (`_report_of`) only for the events that may differ."""
    raw = DateTime(timezone=True)
    result = session.execute(
        select(Event.id, Event.category_id, Event.grid_id, type_coerce(Event.occurred_at, raw).label("occurred_at"),
               type_coerce(Event.evaluated_at, raw).label("evaluated_at"),
               type_coerce(Event.received_at, raw).label("received_at"), cast(Event.facts, Text).label("facts"))
        .where(_in_period(start, end, category_ids)).order_by(Event.id).execution_options(yield_per=size))
    try:
        yield from result.partitions(size)
    finally:
        result.close()


class Report(NamedTuple):
    """An event that may differ, with what deciding and the details read."""

    id: int
    category_id: int
    grid_id: int
    occurred_at: datetime
    evaluated_at: datetime | None
    received_at: datetime


def _report_of(row, dialect) -> Report:
    """The row with its times as Event's columns read them (aware, UTC)."""
    utc = UTC.process_result_value
    return Report(row.id, row.category_id, row.grid_id, utc(row.occurred_at, dialect), utc(row.evaluated_at, dialect),
                  utc(row.received_at, dialect))


def _facts(session: Session, rows: list, ctx: CampaignContext, ref) -> tuple[dict[int, dict[str, Any]], int]:
    """Each event's stored facts for the campaign; those without are enriched now (returned count)."""
    key = str(ctx.id)
    found = {}
    for r in rows:
        stored = json.loads(r.facts) if r.facts else None
        if stored and key in stored:
            found[r.id] = stored[key]
    missing = [r.id for r in rows if r.id not in found]
    if missing:
        events = list(session.scalars(select(Event).where(Event.id.in_(missing)).order_by(Event.id)))
        history = History.of(session, events)
        for event in events:
            found[event.id] = facts_for(event, ref, ctx, history)
    return found, len(missing)


class Firings:
    """The rules each side fired per signature (rules.signature), evaluated once per signature through the pipeline's
    Evaluator; whether they are the same unchanged rules, which give the same tasks on both sides."""

    def __init__(self, sides: tuple[CampaignContext, CampaignContext], engine) -> None:
        self.sides, self.engine = sides, engine
        self.signature = Signature(ctx.compiled for ctx in sides)
        self.same_rules = {k for k, doc in sides[0].compiled.rules.items() if sides[1].compiled.rules.get(k) == doc}
        self.known: dict[Any, tuple[list[str], list[str], bool]] = {}

    def of(self, rows: list, stored: dict[int, dict[str, Any]]) -> list[tuple[list[str], list[str], bool]]:
        """Per row: the rules fired before, after, and whether they are alike."""
        if len(self.known) > KNOWN_LIMIT or not self.signature.complete:
            self.known.clear()
        signs = [self.signature.of(stored[r.id]) if self.signature.complete else r.id for r in rows]
        first = {}
        for r, sign in zip(rows, signs):
            if sign not in self.known and sign not in first:
                first[sign] = r
        if first:
            fresh = list(first.values())
            verdicts = [fire(fresh, [ctx], lambda r, side: _side_facts(stored[r.id], side), self.engine)
                        for ctx in self.sides]
            for sign, before, after in zip(first, *verdicts):
                keys = set(before.fired)
                self.known[sign] = (before.fired, after.fired, keys == set(after.fired) and keys <= self.same_rules)
        return [self.known[sign] for sign in signs]


def replay(session: Session, campaign_id: int, first: date, last: date, base: Any = "active",
           other: Any = "draft", batch_size: int = BATCH_SIZE, detail_limit: int = DETAIL_LIMIT,
           skip_unchanged: bool = True, progress: Callable[[int, int], None] | None = None,
           cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Compare what `base` and `other` would have done with the period's events; nothing is written."""
    started = time.monotonic()
    try:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise InputError([Problem("campaign", "no such campaign", "没有该专项行动")])
        start, end = period(campaign, first, last)
        sides = (ruleset_context(session, campaign, base), ruleset_context(session, campaign, other))
        if sides[1].calendar == sides[0].calendar:  # one calendar: an event's deadlines are counted once for both
            sides[1].calendar = sides[0].calendar
        ref = load_reference(session)
        category_ids = None
        if skip_unchanged:
            changed = changed_categories(*sides, (c.code for c in ref.categories.values()))
            category_ids = {c.id for c in ref.categories.values() if c.code in changed}
        in_period = count_events(session, start, end)
        total = in_period if category_ids is None else count_events(session, start, end, category_ids)
        firings = Firings(sides, evaluator())
        dialect = session.get_bind().dialect
        result = Comparison(detail_limit)
        done = reenriched = 0
        status = "finished"
        if progress:
            progress(0, total)
        for rows in _batches(session, start, end, category_ids, max(1, batch_size)) if total else ():
            if cancelled and cancelled():
                status = "cancelled"
                break
            stored, enriched = _facts(session, rows, sides[0], ref)
            reenriched += enriched
            for row, (fired_before, fired_after, alike) in zip(rows, firings.of(rows, stored)):
                if alike:
                    continue  # the same unchanged rules fired on both sides: the same tasks
                r = _report_of(row, dialect)
                before, after = (Verdict(r, ctx, _side_facts(stored[r.id], ctx), list(fired))
                                 for ctx, fired in zip(sides, (fired_before, fired_after)))
                for verdict in (before, after):
                    decide([verdict], ref, r.evaluated_at or r.received_at, explained=False)
                result.add(r, tasks_of(before), tasks_of(after))
            done += len(rows)
            if progress:
                progress(done, total)
        counts = {"in_period": in_period, "total": total, "compared": done, "skipped": in_period - total,
                  "reenriched": reenriched}
        return _report(session, campaign, first, last, sides, result, status, counts, time.monotonic() - started)
    finally:
        session.rollback()


def _label(ctx: CampaignContext) -> str | int:
    return "draft" if ctx.version_id == 0 else ctx.version_number


def _report(session: Session, campaign: Campaign, first: date, last: date, sides, result: Comparison,
            status: str, counts: dict[str, int], seconds: float) -> dict[str, Any]:
    """JSON for the page: units with their names, differences with codes instead of ids."""
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(result.units))))}
    grids = dict(session.execute(select(Grid.id, Grid.code)).all())
    categories = dict(session.execute(select(Category.id, Category.code)).all())
    rows = [{"unit": units[uid].code, "name_zh": units[uid].name_zh, "name_en": units[uid].name_en,
             "added": s.added, "removed": s.removed,
             "deadlines": s.deadlines, "rules": s.rules, "points": round(s.points, 2)}
            for uid, s in result.units.items()]
    rows.sort(key=lambda r: (-(r["added"] + r["removed"] + r["deadlines"] + r["rules"]), -abs(r["points"]), r["unit"]))
    differences = [{**{k: v for k, v in d.items() if k not in ("unit_id", "grid_id", "category_id")},
                    "unit": units[d["unit_id"]].code, "grid": grids.get(d["grid_id"]),
                    "category": categories.get(d["category_id"])} for d in result.differences]
    return {"status": status, "campaign": {"id": campaign.id, "code": campaign.code, "name_zh": campaign.name_zh,
                                           "name_en": campaign.name_en},
            "from": first.isoformat(), "to": last.isoformat(), "base": _label(sides[0]), "other": _label(sides[1]),
            **counts, "seconds": round(seconds, 3),
            "units": rows, "differences": differences, "difference_count": result.difference_count,
            "totals": {k: sum(r[k] for r in rows) for k in ("added", "removed", "deadlines", "rules", "points")}}
