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

from engine.core.bulk import insert_returning_ids, insert_rows
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

#: Which stage may follow which (DESIGN 12). A report that needs it is verified (核实) and then filed or refused
#: by the shift leader; trusted sources and zero-tolerance items are filed at once; a case nobody could be decided
#: for waits for the dispatcher; a closed case may be revisited (回访) and reopened.
MOVES: dict[str, frozenset[str]] = {
    CaseStage.REPORTED: frozenset({CaseStage.VERIFYING, CaseStage.FILED, CaseStage.DISPATCHED,
                                   CaseStage.AWAITING_DISPATCH}),
    CaseStage.VERIFYING: frozenset({CaseStage.FILING, CaseStage.VOID}),
    CaseStage.FILING: frozenset({CaseStage.FILED, CaseStage.NOT_FILED, CaseStage.VOID}),
    CaseStage.FILED: frozenset({CaseStage.DISPATCHED, CaseStage.AWAITING_DISPATCH}),
    CaseStage.AWAITING_DISPATCH: frozenset({CaseStage.DISPATCHED, CaseStage.VOID}),
    CaseStage.DISPATCHED: frozenset({CaseStage.CLOSED, CaseStage.VOID}),
    CaseStage.CLOSED: frozenset({CaseStage.REVISITED, CaseStage.REOPENED}),
    CaseStage.REVISITED: frozenset({CaseStage.REOPENED}),
    CaseStage.REOPENED: frozenset({CaseStage.DISPATCHED, CaseStage.AWAITING_DISPATCH}),
}

#: The stage clocks (DESIGN 12): which stages each clock runs through, and the campaign's minutes for it. 核查
#: runs through no case stage: it runs while the lead task waits for its check (engine/cases/clocks.py).
CLOCKS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({CaseStage.REPORTED}), "accept_minutes"),
    "verify": (frozenset({CaseStage.VERIFYING}), "verify_minutes"),
    "dispatch": (frozenset({CaseStage.FILING, CaseStage.FILED, CaseStage.AWAITING_DISPATCH}), "dispatch_minutes"),
    "check": (frozenset(), "check_minutes"),
}
CLOCK_NAMES: dict[str, tuple[str, str]] = {"accept": ("受理", "Acceptance"), "verify": ("核实", "Verification"),
                                           "dispatch": ("派遣", "Dispatch"), "check": ("核查", "Check")}


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
    #: the stages it passes at intake after 受理, the last its stage: [verifying], [filed, dispatched],
    #: [filed, awaiting_dispatch] or [awaiting_dispatch]
    path: tuple[CaseStage, ...]
    verifier_id: int | None = None  # the grid's collector, for a case waiting for 核实
    stage_due_at: datetime | None = None  # when the clock of its last stage runs out
    comment: str = ""  # why it took that path, in both languages (e.g. outside every grid)
    frontage_holder_id: int | None = None  # 门前三包: the holder whose frontage it is at


def open_cases(session: Session, cases: Sequence[NewCase], now: datetime) -> list[int]:
    """Create the cases of a batch, each accepted (reported) and at once moved along its path, with every move in
    its history: one bulk insert for the cases and one for the history. Returns their ids in order."""
    if not cases:
        return []
    rows: list[dict[str, Any]] = [
        {"campaign_id": c.campaign_id, "category_id": c.category_id, "grid_id": c.grid_id, "lat": c.lat,
         "lon": c.lon, "stage": c.path[-1], "report_count": 1, "lead_unit_id": c.lead_unit_id,
         "filing_condition": c.filing_condition, "reported_at": c.reported_at, "opened_at": now,
         "closed_at": None, "version": 1, "verifier_id": c.verifier_id, "stage_due_at": c.stage_due_at,
         "verification": None, "closing_condition": None, "frontage_holder_id": c.frontage_holder_id} for c in cases]
    ids = insert_returning_ids(session, Case.__table__, rows)
    history = []
    for case_id, case in zip(ids, cases):
        history.append(_change(case_id, None, CaseStage.REPORTED, now, None, ""))
        for before, after in zip((CaseStage.REPORTED,) + case.path, case.path):
            history.append(_change(case_id, before, after, now, None, case.comment if after == case.path[-1] else ""))
    insert_rows(session, CaseStageChange.__table__, history)
    return list(ids)


def _change(case_id: int, before: str | None, after: str, at: datetime, actor_id: int | None,
            comment: str) -> dict[str, Any]:
    return {"case_id": case_id, "from_stage": before, "to_stage": after, "at": at, "actor_id": actor_id,
            "comment": comment}


def move(session: Session, case: Case, to: CaseStage, now: datetime, actor: User | None = None,
         comment: str = "", due: datetime | None = None, **values: Any) -> None:
    """Move one case to `to` if its stage allows it, guarded by its version against a concurrent writer; `due` is
    the new stage's clock, `values` other columns written with the move (the filing condition, the verification).
    A revisit keeps the closing time: an ended case stays ended since it first ended."""
    if "\x00" in comment:
        raise InputError([Problem("comment", "the text holds a NUL byte", "文本中含有空字符（NUL）")])
    if to not in MOVES.get(case.stage, frozenset()):
        raise InputError([Problem("stage", f"a case {stage_name(case.stage, 'en')} cannot become "
                                           f"{stage_name(to, 'en')}",
                                  f"{stage_name(case.stage, 'zh')}的案件不能转为{stage_name(to, 'zh')}")])
    done = session.execute(update(Case).where(Case.id == case.id, Case.version == case.version)
                           .values(stage=to, version=case.version + 1, stage_due_at=due,
                                   closed_at=(case.closed_at or now) if to in CASE_ENDED else None, **values)
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
    return in_stage(session, CaseStage.AWAITING_DISPATCH, limit)


def in_stage(session: Session, stage: CaseStage, limit: int = 200, verifier_id: int | None = None) -> list[Case]:
    """The cases in one stage, the earliest clock first: a role's queue (待核实 of one collector, with the cases of
    grids that name no collector, which any collector may take; 待立案; 待派遣)."""
    query = (select(Case).options(joinedload(Case.category), joinedload(Case.grid), joinedload(Case.verifier))
             .where(Case.stage == stage).order_by(Case.stage_due_at, Case.opened_at, Case.id).limit(limit))
    if verifier_id is not None:
        query = query.where((Case.verifier_id == verifier_id) | Case.verifier_id.is_(None))
    return list(session.scalars(query))


def count_awaiting_dispatch(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case)
                          .where(Case.stage == CaseStage.AWAITING_DISPATCH)) or 0


def load_case(session: Session, case_id: int) -> Case | None:
    """A case with its reports, tasks and stage history loaded, for its page and the API."""
    return session.scalar(select(Case).where(Case.id == case_id).options(
        selectinload(Case.reports), selectinload(Case.tasks), selectinload(Case.stages), selectinload(Case.revisits),
        joinedload(Case.category), joinedload(Case.grid), joinedload(Case.lead_unit)))
