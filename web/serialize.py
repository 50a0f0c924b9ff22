"""JSON shapes of events, firings and tasks, shared by the API and the pages."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import g

from engine.cases.clocks import StageClock
from engine.cases.cooperation import answers, role_of
from engine.cases.revisits import rating_name
from engine.cases.stages import stage_name
from engine.cases.verification import finding_name
from engine.core import clock
from engine.core.models import Case, Event, Firing, FrontageHolder, Person, Task
from engine.core.states import EventStatus
from engine.core.worktime import describe_limit
from engine.intake.reporter import shown_reporter
from engine.people.responsibility import Organisation, chain
from engine.people.staff import position_name
from engine.supervision.steps import StepView, ladder
from web.common.extensions import db
from web.openapi import ref


def _name(obj: Any, lang: str) -> str:
    return obj.name_zh if lang == "zh" else obj.name_en


def firing_json(f: Firing) -> dict[str, Any]:
    return {"id": f.id, "rule": f.rule_key, "rule_version": f.rule_version,
            "ruleset_version": {"id": f.ruleset_version_id, "number": f.ruleset_version.number,
                                "content_hash": f.ruleset_version.content_hash},
            "list": f.list_kind, "list_item": f.list_item, "points": f.points,
            "matched": f.matched, "decisions": f.decisions, "task": f.task_id, "fired_at": f.fired_at.isoformat(),
            "phase": f.phase}


def person_json(p: Person | None, lang: str) -> dict[str, Any] | None:
    """A person as the reference data show them: name, position (code and name) and unit; no phone."""
    if p is None:
        return None
    return {"id": p.id, "name": p.name, "position": p.position, "position_name": position_name(p.position, lang),
            "unit": {"code": p.unit.code, "name": _name(p.unit, lang)}}


def chain_json(t: Task, lang: str) -> list[dict[str, Any]]:
    """The people above the task (责任人 → 中队长 → 大队长 → 分管领导), each link named or null; tasks of a
    listing often share unit, grid and assignee, so one request derives each chain once."""
    cache = g.setdefault("people_chains", {})
    key = (t.unit_id, t.event.grid_id, t.assignee_id)
    if key not in cache:
        if "organisation" not in g:
            g.organisation = Organisation.load(db.session)
        cache[key] = chain(db.session, t.unit_id, t.event.grid_id, t.assignee, g.organisation)
    return [{"position": link.position, "position_name": link.label(lang),
             "name": link.person.name if link.person is not None else None} for link in cache[key]]


#: The task as task_json gives it, for the OpenAPI description (web/api.py).
TASK_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["id", "event", "status", "unit", "deadline", "version"], "properties": {
    "id": {"type": "integer"}, "event": {"type": "integer"}, "status": {"type": "string"},
    "unit": {"type": "object"}, "template": {"type": "object"}, "rule": {"type": "string"},
    "list": {"type": "string"}, "ruleset_version": {"type": "integer"}, "limit": {"type": "object"},
    "deadline": {"type": "string", "format": "date-time"}, "points": {"type": "number"},
    "version": {"type": "integer"}, "rework_count": {"type": "integer"}, "extension_count": {"type": "integer"},
    "frontage_holder": {"type": "object", "nullable": True,
                        "description": "门前三包: the holder whose frontage the report lies at (GET /api/v1/frontage-holders/{id})",
                        "properties": {"id": {"type": "integer"}, "code": {"type": "string", "nullable": True},
                                       "name": {"type": "string"}, "address": {"type": "string"}}},
    "check_clock": {"allOf": [ref("StageClock")], "nullable": True, "description": "核查: the running check "
                    "clock of a lead task waiting for its check, due_at when the decision falls due; else null"},
    "role": {"type": "string", "nullable": True, "enum": ["lead", "cooperating", None],
             "description": "主办/协办 in its case: the lead unit's task, or a cooperating unit's (whose "
                            "submission answers the lead); null for a task of no case"},
    "assignee": {"type": "object", "nullable": True, "description": "The person handling it (我的任务)",
                 "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                "position": {"type": "string"}}},
    "chain": {"type": "array", "description": "责任人 → 中队长 → 大队长 → 分管领导; name null for nobody",
              "items": {"type": "object", "properties": {
                  "position": {"type": "string"}, "position_name": {"type": "string"},
                  "name": {"type": "string", "nullable": True}}}},
    "transitions": {"type": "array", "items": {"type": "object"}},
    "steps": {"type": "array", "description": "The task's ladder (DESIGN 14), in order: each step anchored to the "
              "deadline, the body it goes to (tier null: the task's unit), when it falls due, and what became of it",
              "items": {"type": "object", "required": ["action", "body", "due_at", "status", "done_at"],
                        "properties": {
                  "action": {"type": "string", "enum": ["remind", "order", "escalate", "list_publicly"]},
                  "action_name": {"type": "string"},
                  "body": {"type": "object", "properties": {"tier": {"type": "integer", "nullable": True},
                                                            "name": {"type": "string"}}},
                  "due_at": {"type": "string", "format": "date-time"},
                  "status": {"type": "string", "enum": ["pending", "done", "skipped"]},
                  "done_at": {"type": "string", "format": "date-time", "nullable": True}}}},
    "firings": {"type": "array", "items": {"type": "object"}},
    "explanation": {"type": "array", "items": {"type": "object"}}}}


def task_json(t: Task, lang: str, detail: bool = False,
              checks: Mapping[int, StageClock] | None = None) -> dict[str, Any]:
    """A task as the API shows it; given `checks` (engine.cases.clocks.running_checks of the page), its running 核查
    clock too, null for a task that waits for no check."""
    body = {"id": t.id, "event": t.event_id, "status": t.status,
            "unit": {"code": t.unit.code, "name": _name(t.unit, lang)},
            "template": {"code": t.template.code, "version": t.template.version, "name": _name(t.template, lang)},
            "rule": t.rule_key, "list": t.list_kind, "ruleset_version": t.ruleset_version_id,
            "limit": {"value": t.limit_value, "unit": t.limit_unit,
                      "text": describe_limit(t.limit_value, t.limit_unit, lang)},
            "deadline": t.deadline_at.isoformat(),
            "points": t.points, "created_at": t.created_at.isoformat(),
            "version": t.version, "rework_count": t.rework_count, "extension_count": t.extension_count,
            "assignee": ({"id": t.assignee.id, "name": t.assignee.name, "position": t.assignee.position}
                         if t.assignee is not None else None),
            "chain": chain_json(t, lang),
            "role": role_of(t) if t.case_id is not None else None,
            "frontage_holder": holder_json(t.frontage_holder)}
    if checks is not None:
        check = checks.get(t.id)
        body["check_clock"] = check.as_json(clock.now(), lang) if check is not None else None
    if detail:
        body["instructions"] = t.template.instructions_zh if lang == "zh" else t.template.instructions_en
        body["firings"] = [firing_json(f) for f in t.firings]
        body["transitions"] = [{"from": x.from_status, "to": x.to_status, "action": x.action, "at": x.at.isoformat(),
                                "actor": x.actor_id, "comment": x.comment, "data": x.data} for x in t.transitions]
        body["steps"] = [step_json(s, lang) for s in ladder(db.session, t)]
    return body


def holder_json(h: FrontageHolder | None) -> dict[str, Any] | None:
    """The frontage holder (门前三包) a case or task names: whose frontage its report lies at."""
    return {"id": h.id, "code": h.code, "name": h.name, "address": h.address} if h is not None else None


def step_json(s: StepView, lang: str) -> dict[str, Any]:
    """One ladder step: what it does, the body it goes to (its tier level, else the unit's), when."""
    return {"action": s.action, "action_name": s.action_name(lang),
            "body": {"tier": s.tier, "name": s.body(lang)}, "due_at": s.due_at.isoformat(),
            "status": s.status, "done_at": s.done_at.isoformat() if s.done_at else None}


def reporter_json(e: Event, role: str | None) -> dict[str, Any] | None:
    """The reporter with the phone masked for every role (the whole number is a separate, logged request);
    nobody for an anonymous report."""
    reporter = shown_reporter(e, role)
    return None if reporter is None else {"name": reporter.name, "phone": reporter.phone}


def event_json(e: Event, lang: str, sees: Callable[[Task], bool] | None = None,
               role: str | None = None) -> dict[str, Any]:
    """The event with its tasks; `sees` (a field unit's scope) hides other units' tasks and the firings;
    `role` decides whether the reporter's phone is read whole (None, as for an intake token: masked)."""
    tasks = [t for t in e.tasks if sees is None or sees(t)]
    return {"id": e.id, "status": e.status, "source": e.source, "source_event_id": e.source_event_id,
            "source_type": e.source_type, "category": {"code": e.category.code, "name": _name(e.category, lang)},
            "filing_condition": e.filing_condition, "grid": e.grid.code if e.grid else None, "address": e.address,
            "description": e.description, "occurred_at": e.occurred_at.isoformat(),
            "received_at": e.received_at.isoformat(),
            "evaluated_at": e.evaluated_at.isoformat() if e.evaluated_at else None,
            "attempts": e.attempts, "error": e.last_error if e.status == EventStatus.FAILED else None,
            "points": e.points, "anonymous": e.anonymous, "reporter": reporter_json(e, role),
            "confidence": e.confidence,
            "firings": [firing_json(f) for f in e.firings] if sees is None else [],
            "tasks": [task_json(t, lang) for t in tasks],
            "case": ({"id": e.case.id, "stage": e.case.stage, "report_count": e.case.report_count}
                     if e.case is not None else None)}


def case_json(c: Case, lang: str, sees: Callable[[Task], bool] | None = None,
              role: str | None = None) -> dict[str, Any]:
    """The case: matter, place, stage (code and name), lead unit, its stage history, reports and tasks, and the
    cooperating units' answers to the lead; `sees` (a field unit's scope) hides other units' tasks."""
    return {"id": c.id, "stage": c.stage, "stage_name": stage_name(c.stage, lang),
            "category": {"code": c.category.code, "name": _name(c.category, lang)},
            "filing_condition": c.filing_condition, "grid": c.grid.code if c.grid else None,
            "place": {"lat": c.lat, "lon": c.lon} if c.lat is not None and c.lon is not None else None,
            "lead_unit": {"code": c.lead_unit.code, "name": _name(c.lead_unit, lang)} if c.lead_unit else None,
            "report_count": c.report_count, "campaign": c.campaign_id, "frontage_holder": holder_json(c.frontage_holder),
            "reported_at": c.reported_at.isoformat(), "opened_at": c.opened_at.isoformat(),
            "closed_at": c.closed_at.isoformat() if c.closed_at else None,
            "stages": [{"from": h.from_stage, "to": h.to_stage, "to_name": stage_name(h.to_stage, lang),
                        "at": h.at.isoformat(), "actor": h.actor_id, "comment": h.comment} for h in c.stages],
            "reports": [{"id": e.id, "source": e.source, "source_type": e.source_type,
                         "occurred_at": e.occurred_at.isoformat(), "address": e.address,
                         "description": e.description, "reporter": reporter_json(e, role)} for e in c.reports],
            "tasks": [task_json(t, lang) for t in c.tasks if sees is None or sees(t)],
            "cooperating": cooperating_json(c, lang),
            "stage_due_at": c.stage_due_at.isoformat() if c.stage_due_at else None,
            "verifier": {"code": c.verifier.code, "name": c.verifier.name} if c.verifier else None,
            "verification": _verification_json(c.verification, lang),
            "closing_condition": c.closing_condition,
            "revisits": [{"reached": r.reached, "rating": r.rating, "rating_name": rating_name(r.rating, lang),
                          "resolved": r.resolved, "comment": r.comment, "actor": r.actor_id, "source": r.source,
                          "at": r.at.isoformat()} for r in c.revisits]}


def cooperating_json(c: Case, lang: str) -> list[dict[str, Any]]:
    """Each cooperating unit (协办) with its task and its answer to the lead (its latest submission: comment and form
    answers, and when); `answered` while that submission stands (the task submitted or closed), `status` tells a
    voided task (nothing owed) from one still being handled or sent back for rework."""
    return [{"unit": {"code": a.unit.code, "name": _name(a.unit, lang)}, "task": a.task.id, "status": a.status,
             "answered": a.answered, "answer": a.text(lang) if a.at is not None else None,
             "answered_at": a.at.isoformat() if a.at is not None else None} for a in answers(c)]


def _verification_json(record: dict[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """What the collector found (核实), with the finding's name in the reader's language."""
    if not record:
        return None
    return {**{k: record.get(k) for k in ("finding", "note", "filing_condition", "photos", "at")},
            "finding_name": finding_name(record.get("finding", ""), lang)}
