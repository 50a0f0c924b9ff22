"""Recording an evaluation: the tasks of the reports being filed (through dispatch), every report's firings
marked with their phase, and the rules' notifications, each kind in one bulk insert.

Both evaluations of a case are stored (DESIGN 12): `intake`, when the report arrives, and `filing`, when its
case is filed. Only the filing evaluation's firings create tasks, carry points and send notifications. A case
filed in the job that received it was evaluated once, as both: its firings are stored once, `intake+filing`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.core import outbox
from engine.core.bulk import insert_rows
from engine.core.models import Firing
from engine.evaluation.verdict import Verdict
from engine.handling.dispatch import RuleEscalation, TaskOrder, dispatch

INTAKE = "intake"
FILING = "filing"
AT_ONCE = "intake+filing"  # one evaluation that was both: the case was filed in the job that received its report
FILING_PHASES = (FILING, AT_ONCE)  # the phases whose firings made the tasks
#: Each phase as the history and its exports name it (zh, en).
PHASE_NAMES = {INTAKE: ("受理评估", "Intake"), FILING: ("立案评估", "Filing"), AT_ONCE: ("受理即立案", "Intake and filing")}


def orders(verdicts: list[Verdict], case_id: int | None = None) -> list[TaskOrder]:
    """One event's winning tasks, one per unit in unit order, each with the rule escalations aimed at it
    (at the units the escalating rule asked tasks of, else at all the event's tasks)."""
    event = verdicts[0].event
    found: dict[int, TaskOrder] = {}
    won = sorted(((unit_id, decision, verdict) for verdict in verdicts for unit_id, decision in verdict.tasks.items()),
                 key=lambda item: item[0])
    for unit_id, decision, verdict in won:
        ctx = verdict.context
        found[unit_id] = TaskOrder(
            event_id=event.id, campaign_id=ctx.id, ruleset_version_id=ctx.version_id, unit_id=unit_id,
            template_id=ctx.template_id(decision.template_code), timeline_id=ctx.timeline_id(decision.timeline_code),
            rule_key=decision.rule_key, list_kind=decision.list_kind, limit_value=decision.limit_value,
            limit_unit=decision.limit_unit, deadline_at=decision.deadline_at, points=verdict.points_for(unit_id),
            steps=ctx.steps(decision.timeline_code), calendar=ctx.calendar, continuous_time=ctx.continuous_time,
            bodies=ctx.bodies, case_id=case_id)
    for verdict in verdicts:
        for firing in verdict.firings:
            for step in firing.escalations:
                message = f"{step['message']['zh']} / {step['message']['en']}"
                for unit_id in [t.unit_id for t in firing.tasks] or list(found):
                    found[unit_id].escalations.append(
                        RuleEscalation(step["tier"], step["list_publicly"], message, firing.rule_key,
                                       datetime.fromisoformat(step["rectify_by"]) if step.get("rectify_by") else None,
                                       step.get("authority")))
    return list(found.values())


def record(session: Session, filed: list[list[Verdict]], intake_only: list[list[Verdict]], case_of: dict[int, int],
           now: datetime, with_intake: bool = True) -> list[int]:
    """Write a batch. `filed`: reports whose case is filed now, their tasks dispatched and their firings stored as
    the filing evaluation (with `with_intake`, as the intake evaluation too: a case filed in the job that received
    its report, one row per firing). `intake_only`: reports waiting for 核实 or 立案, or joining an open case,
    whose firings are stored as the intake evaluation alone: no task, no points, no notification. Returns the new
    tasks' ids."""
    wanted = [order for verdicts in filed for order in orders(verdicts, case_of[verdicts[0].event.id])]
    task_of = dict(zip((order.key for order in wanted), dispatch(session, wanted, now)))
    firings: list[dict] = []
    messages: list[dict] = []
    filing_ids = {verdicts[0].event.id for verdicts in filed}
    for verdicts in filed + intake_only:
        event = verdicts[0].event
        filing = event.id in filing_ids
        for firing in (f for verdict in verdicts for f in verdict.firings):
            if not filing:
                firings.append(_row(event, firing, [dict(d) for d in firing.decisions], INTAKE, 0.0, None, now))
                continue
            linked = [task_of[(event.id, t.unit_id)] for t in firing.tasks]
            decisions = [dict(d) for d in firing.decisions]
            for decision, task_id in zip([d for d in decisions if d.get("do") == "create_task" and "unit" in d],
                                         linked):
                decision["task"] = task_id
            firings.append(_row(event, firing, decisions, AT_ONCE if with_intake else FILING, firing.points,
                                linked[0] if linked else None, now))
            messages += [outbox.message(f"notify:{event.id}:{firing.version_id}:{firing.rule_key}:{i}", "notify",
                                        note["to"], {"event": event.id, "rule": firing.rule_key}, now,
                                        event_id=event.id, task_id=linked[0] if linked else None,
                                        channel=note["channel"])
                         for i, note in enumerate(firing.notifications)]
    insert_rows(session, Firing.__table__, firings)  # one COPY (PostgreSQL) or one Core insert
    outbox.write(session, messages)
    return list(task_of.values())


def _row(event, firing, decisions: list[dict], phase: str, points: float, task_id: int | None,
         now: datetime) -> dict:
    """A firings row: the only place one is built (a per-row seal or MAC is added here)."""
    return {"event_id": event.id, "campaign_id": firing.campaign_id, "ruleset_version_id": firing.version_id,
            "rule_key": firing.rule_key, "rule_version": firing.rule_version, "list_kind": firing.list_kind,
            "list_item": firing.list_item, "matched": firing.matched, "decisions": decisions, "points": points,
            "task_id": task_id, "fired_at": now, "phase": phase,
            "unit_id": firing.tasks[0].unit_id if firing.tasks else None, "category_id": event.category_id,
            "grid_id": event.grid_id}
