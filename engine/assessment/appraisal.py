"""What the cadre appraisal (科级领导班子实绩考核) takes from the assessment: per unit and period its score, rank (or
无案件), the sanctions it was due and the records of what was done about them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.assessment import sanctions
from engine.assessment.periods import Period
from engine.assessment.ranking import Ranked
from engine.assessment.sanction_records import records_of
from engine.core.models import Campaign, SanctionDue, SanctionRecord, Unit


@dataclass
class AppraisalLine:
    unit: Unit
    ranked: Ranked
    sanctions: list[str] = field(default_factory=list)  # codes of SANCTIONS the unit was due, each once
    records: list[SanctionRecord] = field(default_factory=list)


def lines(session: Session, campaign: Campaign, period: Period, now: datetime) -> tuple[list[AppraisalLine], bool]:
    """One line per ranked unit, in ranking order; and whether the sanctions come from the kept list (else a
    provisional one, computed as the bulletin does until the period's list is kept)."""
    rankings = sanctions.ranking_cache(session, campaign, now)
    ranked = rankings(period)
    run = sanctions.kept(session, campaign, period.label) if period.kind != "week" else None
    if run is not None:
        due = [(e.unit_id, e.sanction) for e in session.scalars(select(SanctionDue).where(SanctionDue.run_id == run.id)
                                                                 .order_by(SanctionDue.id))]
    elif period.kind == "week":
        due = []
    else:
        due = [(d.unit_id, d.rule.sanction) for d in sanctions.due_for(session, campaign, period, now, rankings)]
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_([r.unit_id for r in ranked])))}
    result = {r.unit_id: AppraisalLine(units[r.unit_id], r) for r in ranked}
    for unit_id, sanction in due:
        if unit_id in result and sanction not in result[unit_id].sanctions:
            result[unit_id].sanctions.append(sanction)
    for record in records_of(session, campaign, period.label):
        if record.unit_id in result:
            result[record.unit_id].records.append(record)
    return list(result.values()), run is not None
