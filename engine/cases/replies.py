"""Replies to a case's sources (issue 14 point 8): when a case is closed, not filed (不予立案) or reopened, the
hotline platform or app that reported it hears so. Nothing ends silently for the citizen either.

A reply is an outbox row (engine/core/outbox.py) addressed to `source:<name>`, delivered at least once, retried and
recorded by engine/delivery like every other message, to the recipients of scope `source` the admin set up for
that source (its reply webhook). Its key names the case, the outcome and the stage change, so one move makes one
reply per source however often it is written. Open311 shows the same text as `status_notes`
(engine/intake/open311.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import outbox
from engine.core.models import DEFAULT_TIMEZONE, Campaign, Case, CaseStageChange, Event, OutboxMessage, Recipient
from engine.core.states import CaseStage

#: The stages a source hears about, by the outcome its reply names.
OUTCOMES: dict[str, str] = {CaseStage.CLOSED: "closed", CaseStage.NOT_FILED: "not_filed",
                            CaseStage.REOPENED: "reopened"}
KIND = "case_reply"


def reply_to_source(session: Session, case_id: int, now: datetime) -> list[str]:
    """Write the reply for the move the case has just made (closed, not filed or reopened) to each source of its
    reports that has a reply address; return the replies' keys. Writing it again for the same move adds nothing.
    The caller commits, with the move."""
    case = session.get(Case, case_id)
    outcome = OUTCOMES.get(case.stage) if case is not None else None
    if outcome is None:
        return []
    change = session.scalar(select(CaseStageChange).where(CaseStageChange.case_id == case.id,
                                                          CaseStageChange.to_stage == case.stage)
                            .order_by(CaseStageChange.id.desc()).limit(1))
    by_source: dict[str, list[str]] = {}
    for source, source_event_id in session.execute(select(Event.source, Event.source_event_id)
                                                   .where(Event.case_id == case.id).order_by(Event.id)):
        by_source.setdefault(source, []).append(source_event_id)
    answered = set(session.scalars(select(Recipient.source).where(
        Recipient.scope == "source", Recipient.enabled.is_(True), Recipient.source.in_(list(by_source)))))
    zone = ZoneInfo(session.scalar(select(Campaign.timezone).where(Campaign.id == case.campaign_id))
                    or DEFAULT_TIMEZONE) if case.campaign_id else ZoneInfo(DEFAULT_TIMEZONE)
    rows: dict[str, dict[str, Any]] = {}
    for source in sorted(answered):
        key = f"case-reply:{case.id}:{outcome}:{change.id}:{source}"
        rows[key] = outbox.message(key, KIND, f"source:{source}", {
            "case": case.id, "source": source, "source_event_ids": by_source[source], "outcome": outcome,
            "message": change.comment, "closing_condition": case.closing_condition if outcome == "closed" else None,
            "at": change.at.astimezone(zone).isoformat()}, now, event_id=None, channel="webhook")
    written = set(session.scalars(select(OutboxMessage.idempotency_key)
                                  .where(OutboxMessage.idempotency_key.in_(list(rows)))))
    outbox.write(session, [row for key, row in rows.items() if key not in written])
    return list(rows)

