"""A case's stages (DESIGN 12) in both languages, and the only functions that move a case between them.

Each move appends a CaseStageChange row (from, to, when, who, why), so a case shows how it got where it is.
Cases are born in bulk with the batch of reports that opens them (`open_cases`); every later move is one
case at a time and checks the stage it leaves, like the task state machine.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from engine.core.models import Case, CaseStageChange, User
from engine.core.states import CASE_ENDED, CaseStage
from rules.problems import InputError, Problem

#: stage -> (zh, en), in the order a case passes them.
STAGE_NAMES: dict[str, tuple[str, str]] = {
    CaseStage.REPORTED: ("已受理", "reported"),
    CaseStage.VERIFYING: ("待核实", "verifying"),
    CaseStage.FILING: ("待立案", "awaiting filing"),
    CaseStage.AWAITING_DISPATCH: ("待派遣", "awaiting dispatch"),
    CaseStage.FILED: ("已立案", "filed"),
    CaseStage.NOT_FILED: ("不予立案", "not filed"),
    CaseStage.VOID: ("已作废", "void"),
    CaseStage.DISPATCHED: ("已派遣", "dispatched"),
    CaseStage.CLOSED: ("已结案", "closed"),
    CaseStage.REOPENED: ("已重启", "reopened"),
    CaseStage.REVISITED: ("已回访", "revisited"),
}

#: Which stage may follow which (the moves of this issue; 核实, 立案 and 回访 come later).
MOVES: dict[str, frozenset[str]] = {
    CaseStage.REPORTED: frozenset({CaseStage.DISPATCHED, CaseStage.AWAITING_DISPATCH}),
    CaseStage.AWAITING_DISPATCH: frozenset({CaseStage.DISPATCHED, CaseStage.VOID}),
    CaseStage.DISPATCHED: frozenset({CaseStage.CLOSED, CaseStage.VOID}),
}


def stage_name(stage: str, lang: str) -> str:
    names = STAGE_NAMES.get(stage)
    if names is None:
        return stage
    return names[0 if lang.startswith("zh") else 1]


@dataclass(frozen=True)
class NewCase:
    """A case a report opens: its matter, place and window start, and the stage its dispatch left it in."""

    campaign_id: int | None
    category_id: int
    grid_id: int
    lat: float | None
    lon: float | None
    reported_at: datetime
    filing_condition: str | None
    lead_unit_id: int | None
    stage: CaseStage  # dispatched (it has tasks) or awaiting_dispatch (nobody could be decided)


def open_cases(session: Session, cases: Sequence[NewCase], now: datetime) -> list[int]:
    """Create the cases of a batch, each accepted (reported) and at once moved on to its dispatch stage, with
    both moves in its history: two bulk inserts and one more for the history. Returns their ids in order."""
    if not cases:
        return []
    rows: list[dict[str, Any]] = [
        {"campaign_id": c.campaign_id, "category_id": c.category_id, "grid_id": c.grid_id, "lat": c.lat,
         "lon": c.lon, "stage": c.stage, "report_count": 1, "lead_unit_id": c.lead_unit_id,
         "filing_condition": c.filing_condition, "reported_at": c.reported_at, "opened_at": now,
         "closed_at": None, "version": 1} for c in cases]
    ids = session.scalars(insert(Case).returning(Case.id, sort_by_parameter_order=True)
                          .execution_options(render_nulls=True), rows).all()
    history = []
    for case_id, case in zip(ids, cases):
        history.append(_change(case_id, None, CaseStage.REPORTED, now, None, ""))
        history.append(_change(case_id, CaseStage.REPORTED, case.stage, now, None, ""))
    session.execute(insert(CaseStageChange).execution_options(render_nulls=True), history)
    return list(ids)


def _change(case_id: int, before: str | None, after: str, at: datetime, actor_id: int | None,
            comment: str) -> dict[str, Any]:
    return {"case_id": case_id, "from_stage": before, "to_stage": after, "at": at, "actor_id": actor_id,
            "comment": comment}


def move(session: Session, case: Case, to: CaseStage, now: datetime, actor: User | None = None,
         comment: str = "") -> None:
    """Move one case to `to` if its stage allows it, guarded by its version against a concurrent writer."""
    if to not in MOVES.get(case.stage, frozenset()):
        raise InputError([Problem("stage", f"a case {stage_name(case.stage, 'en')} cannot become "
                                           f"{stage_name(to, 'en')}",
                                  f"{stage_name(case.stage, 'zh')}的案件不能转为{stage_name(to, 'zh')}")])
    done = session.execute(update(Case).where(Case.id == case.id, Case.version == case.version)
                           .values(stage=to, version=case.version + 1,
                                   closed_at=now if to in CASE_ENDED else None)
                           .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise InputError([Problem("stage", "the case was changed by someone else meanwhile; reload it",
                                  "案件已被他人更改，请刷新后重试")])
    session.execute(insert(CaseStageChange), [_change(case.id, case.stage, to, now, actor.id if actor else None,
                                                      comment)])
    session.expire(case)


def note(session: Session, case: Case, now: datetime, actor: User | None, comment: str) -> None:
    """A line in the case's history that changes no stage (a report linked or unlinked by hand)."""
    session.execute(insert(CaseStageChange), [_change(case.id, case.stage, case.stage, now,
                                                      actor.id if actor else None, comment)])


def add_reports(session: Session, counts: dict[int, int]) -> None:
    """Linked reports make a case's report count grow (one statement per distinct increment)."""
    by_increment: dict[int, list[int]] = {}
    for case_id, added in counts.items():
        by_increment.setdefault(added, []).append(case_id)
    for added, case_ids in by_increment.items():
        session.execute(update(Case).where(Case.id.in_(case_ids))
                        .values(report_count=Case.report_count + added).execution_options(synchronize_session=False))


def awaiting_dispatch(session: Session, limit: int = 200) -> list[Case]:
    """Cases nobody could be decided for, oldest first: the dispatcher's and the 值班长's queue (待派遣)."""
    return list(session.scalars(select(Case).options(joinedload(Case.category), joinedload(Case.grid))
                                .where(Case.stage == CaseStage.AWAITING_DISPATCH)
                                .order_by(Case.opened_at, Case.id).limit(limit)))


def count_awaiting_dispatch(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case)
                          .where(Case.stage == CaseStage.AWAITING_DISPATCH)) or 0


def load_case(session: Session, case_id: int) -> Case | None:
    """A case with its reports, tasks and stage history loaded, for its page and the API."""
    return session.scalar(select(Case).where(Case.id == case_id).options(
        selectinload(Case.reports), selectinload(Case.tasks), selectinload(Case.stages),
        joinedload(Case.category), joinedload(Case.grid), joinedload(Case.lead_unit)))
