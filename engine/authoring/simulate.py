"""The simulator: what a ruleset would do with one event — which rules fire, every condition with the
fact value that made it true or false, and the tasks and deadlines the hit policy would create.

It writes nothing: the event is a transient row (never added to the session) and the session is
rolled back. Rules fire in durable_rules, as in production; the conditions' truth comes from the
plain-Python twin of the same documents (kept equal by tests/rules/test_twin_agreement.py).
Runs in an engine worker (workers/simulate.py); web processes never load durable_rules.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.admission import ADMISSION_NAMES, Policies, admission
from engine.core import clock
from engine.evaluation.context import CampaignContext, active_contexts
from engine.evaluation.enrich import History, Reference, load_reference
from engine.evaluation.verdict import Verdict, decide_batch
from rules.problems import InputError, Problem
from engine.durable.evaluator import evaluator
from engine.intake.events import IntakeSource, parse_event
from engine.core.models import Campaign, Event
from engine.core.states import EventStatus
from engine.authoring.versions import ruleset_context
from rules.twin import trace

SIMULATED_ID = 0  # the transient event's id: no stored event has it


def _event(session: Session, event: dict[str, Any] | None, event_id: int | None) -> Event:
    if event_id is not None:
        # An id no column can hold is simply no event (SQLite refuses integers past 64 bits).
        stored = session.get(Event, event_id) if 0 < event_id < 2 ** 63 else None
        if stored is None:
            raise InputError([Problem("event_id", "no such event", "无此事件")])
        return stored
    payload = dict(event or {})
    payload.setdefault("source_event_id", "simulation")
    payload.setdefault("occurred_at", clock.now().isoformat())
    values = parse_event(session, payload, IntakeSource("simulator", payload.get("source_type", "hotline")))
    return Event(id=SIMULATED_ID, received_at=clock.now(), status=EventStatus.PENDING, attempts=0, points=0, **values)


def contexts_for(session: Session, ruleset: Any) -> list[CampaignContext]:
    """'active' (what the workers run), 'draft' (what publishing would freeze) or a version number, for
    every active campaign (a version number: the campaigns that have it)."""
    if ruleset in (None, "active"):
        return active_contexts(session)
    campaigns = list(session.scalars(select(Campaign).where(Campaign.status == "active").order_by(Campaign.id)))
    found, missing = [], None
    for campaign in campaigns:
        try:
            found.append(ruleset_context(session, campaign, ruleset))
        except InputError as err:
            if ruleset == "draft" or not isinstance(ruleset, int) or isinstance(ruleset, bool):
                raise
            missing = err
    if found or missing is None:
        return found
    raise missing


def _explained(verdict: Verdict, ref: Reference, lang: str) -> dict[str, Any]:
    """One campaign's verdict for the page: every rule with its conditions' truth, and the tasks after the hit
    policy the pipeline applies."""
    ctx, facts, fired = verdict.context, verdict.facts, verdict.fired
    rules = []
    for key, doc in sorted(ctx.compiled.rules.items()):
        origin = doc.get("origin") or {}
        rules.append({"key": key, "title": (doc.get("title") or {}).get(lang) or key,
                      "list": origin.get("list", "custom"), "item": origin.get("item"),
                      "fired": key in fired, "conditions": trace(doc, facts)})
    tasks = [{"rule": t.rule_key, "list": t.list_kind, "unit": ref.units[t.unit_id].code,
              "template": t.template_code, "limit": {"value": t.limit_value, "unit": t.limit_unit},
              "deadline": t.deadline_at.isoformat()} for t in sorted(verdict.tasks.values(), key=lambda t: t.order)]
    return {"campaign": ctx.id, "ruleset": "draft" if ctx.version_id == 0 else ctx.version_number,
            "facts": facts, "fired": sorted(fired), "rules": sorted(rules, key=lambda r: (not r["fired"], r["key"])),
            "tasks": tasks,
            "superseded": [{"rule": t.rule_key, "unit": ref.units[t.unit_id].code} for t in verdict.superseded],
            "notifications": [n for f in verdict.firings for n in f.notifications],
            "escalations": [e for f in verdict.firings for e in f.escalations]}


def simulate(session: Session, event: dict[str, Any] | None = None, event_id: int | None = None,
             ruleset: Any = "active", lang: str = "zh") -> dict[str, Any]:
    """One event through one ruleset, explained; nothing is written."""
    try:
        target = _event(session, event, event_id)
        if target.grid_id is None:
            raise InputError([Problem("location", "this place lies in no grid: the report would wait for the "
                                      "dispatcher (待派遣), no rule would run",
                                      "该位置不在任何网格内：上报将进入待派遣，不运行任何规则")])
        contexts = contexts_for(session, ruleset)
        ref = load_reference(session)
        now = clock.now()
        verdicts = decide_batch([target], contexts, evaluator(), ref, History.of(session, [target]), now,
                                tag_prefix="sim")
        how = admission(target, Policies.load(session), any(f.list_kind == "zero_tolerance"
                                                             for v in verdicts for f in v.firings))
        return {"event": event_id, "simulated_at": now.isoformat(), "admission": how.value,
                "admission_name": ADMISSION_NAMES[how][0 if lang.startswith("zh") else 1],
                "campaigns": [_explained(verdict, ref, lang) for verdict in verdicts]}
    finally:
        session.rollback()
