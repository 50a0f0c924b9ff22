"""门前三包 performance per sub-district for the bulletin: how many of its frontage holders have a letter in force,
how many violations were reported at their frontages in the period, how many holders are repeat offenders at the
cut-off, and how many notices (告知书) its units issued in the period.

A holder answers to its own responsible unit, else to its grid's (the sub-district that signs its letter, seed:
"与临街单位、商户签订门前三包责任书"). Violations and repeat offenders are as engine/handling/holder_history.py counts
them; a letter is in force on the cut-off's local date when it is signed and that date lies in its period.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.models import Case, FrontageHolder, Grid, Task, TaskTransition, Unit
from engine.handling.holder_notice import NOTICE
from engine.space.holders import NOT_VIOLATIONS, REPEAT_DAYS, REPEAT_VIOLATIONS
from engine.space.letters import in_force


@dataclass
class FrontageLine:
    """One sub-district's 门前三包 figures for a period."""

    unit: Unit
    holders: int = 0
    letters: int = 0  # letters in force at the cut-off
    violations: int = 0  # reported in the period
    repeat_offenders: int = 0  # at the cut-off
    notices: int = 0  # issued in the period

    @property
    def letter_rate(self) -> float | None:
        return self.letters / self.holders if self.holders else None


def performance(session: Session, start: datetime, end: datetime, cutoff: datetime, zone: ZoneInfo) -> list[FrontageLine]:
    """Per sub-district with holders, by unit code: letters in force, violations, repeat offenders and notices."""
    owner: dict[int, int] = {}
    lines: dict[int, FrontageLine] = {}
    units = {u.id: u for u in session.scalars(select(Unit))}
    today = cutoff.astimezone(zone).date()
    for holder_id, unit_id, grid_unit, signed, valid_from, valid_until in session.execute(
            select(FrontageHolder.id, FrontageHolder.unit_id, Grid.unit_id, FrontageHolder.letter_signed_on,
                   FrontageHolder.letter_valid_from, FrontageHolder.letter_valid_until)
            .join(Grid, Grid.id == FrontageHolder.grid_id)):
        answerable = unit_id or grid_unit
        owner[holder_id] = answerable
        line = lines.setdefault(answerable, FrontageLine(units[answerable]))
        line.holders += 1
        line.letters += in_force(signed, valid_from, valid_until, today)
    if not lines:
        return []
    upto = min(end, cutoff)
    since = cutoff - timedelta(days=REPEAT_DAYS)
    recent: dict[int, int] = defaultdict(int)
    for holder_id, at in session.execute(select(Case.frontage_holder_id, Case.reported_at).where(
            Case.frontage_holder_id.is_not(None), Case.stage.not_in(NOT_VIOLATIONS),
            Case.reported_at >= min(start, since), Case.reported_at <= cutoff)):
        if holder_id not in owner:
            continue
        if start <= at < upto:
            lines[owner[holder_id]].violations += 1
        if at >= since:
            recent[holder_id] += 1
    for holder_id, count in recent.items():
        if count >= REPEAT_VIOLATIONS:
            lines[owner[holder_id]].repeat_offenders += 1
    for holder_id, count in session.execute(
            select(Task.frontage_holder_id, func.count()).join(TaskTransition, TaskTransition.task_id == Task.id)
            .where(TaskTransition.action == NOTICE, Task.frontage_holder_id.is_not(None),
                   TaskTransition.at >= start, TaskTransition.at < upto).group_by(Task.frontage_holder_id)):
        if holder_id in owner:
            lines[owner[holder_id]].notices += count
    return sorted(lines.values(), key=lambda line: line.unit.code)
