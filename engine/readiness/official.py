"""The official evaluation's deductions (实地考察扣分), imported from CSV or XLSX after the visit, one row per point
and item: all rows or none, each bad row and column named. Each deduction opens a case for the point's unit
(source type official_evaluation) whose points count against the unit in the assessment, and is attributed to the
point's unit and responsible person as they stand at import (谁丢分谁负责). The caller owns the transaction."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.cooperation import COOPERATION_POINTS, DEFAULT_COOPERATION_POINTS
from engine.core import clock
from engine.core.models import (Campaign, ChecklistItem, EvaluationRound, InspectionPoint, OfficialDeduction,
                                Person, Unit, User)
from engine.core.tables import ImportReport, Table, cell_date, cell_text, checked_columns
from engine.evaluation.context import cooperation_rules
from engine.readiness.findings import Finding, Share, finding_shares, open_case
from engine.readiness.mock import MAX_NOTE
from rules.problems import Problem

SOURCE_NAME = "official-evaluation"
SOURCE_TYPE = "official_evaluation"
COLUMNS: dict[str, tuple[str, ...]] = {
    "point": ("点位编号", "点位", "point"),
    "item": ("测评项目编号", "测评内容编号", "项目编号", "item"),
    "points": ("扣分", "points"),
    "note": ("说明", "扣分说明", "note"),
    "visited_on": ("测评日期", "考察日期", "visited_on", "date"),
}
REQUIRED = ("point", "item", "points", "visited_on")


def template_headers() -> list[str]:
    return [hints[0] for hints in COLUMNS.values()]


@dataclass(frozen=True)
class Row:
    point: InspectionPoint
    item: ChecklistItem
    points: float
    note: str
    visited_on: date


def _checked_row(session: Session, cell: dict[str, Any], row: int, points: dict[str, InspectionPoint],
                 problems: list[Problem]) -> Row | None:
    found = len(problems)
    code = cell_text(cell.get("point"))
    point = points.get(code)
    if point is None:
        problems.append(Problem("point", f"no point {code!r}", f"没有这个点位：{code}", row))
    item_code = cell_text(cell.get("item"))
    item = None
    if "\x00" in item_code:
        problems.append(Problem("item", "an item code without NUL bytes", "测评内容编号不得含空字符", row))
    elif point is not None:
        item = session.scalar(select(ChecklistItem).where(ChecklistItem.type_id == point.type_id,
                                                          ChecklistItem.code == item_code))
        if item is None:
            problems.append(Problem("item", f"{item_code!r} is not an item of point {code}'s checklist",
                                    f"{item_code} 不是点位 {code} 的测评内容", row))
    try:
        deducted = float(cell_text(cell.get("points")))
    except ValueError:
        deducted = -1.0
    if not deducted > 0 or (item is not None and deducted > item.max_score):
        top = f"{item.max_score:g}" if item is not None else None
        problems.append(Problem("points", "points deducted: a number above 0" + (f", at most the item's {top}" if top
                                                                                  else ""),
                                "扣分须为大于 0 的数" + (f"，且不超过本项满分 {top}" if top else ""), row))
    note = cell_text(cell.get("note"))
    if len(note) > MAX_NOTE or "\x00" in note:
        problems.append(Problem("note", f"at most {MAX_NOTE} characters, without NUL bytes",
                                f"不超过 {MAX_NOTE} 个字符，且不含空字符", row))
    try:
        visited_on = cell_date(cell.get("visited_on"))
    except ValueError:
        problems.append(Problem("visited_on", "a date such as 2026-11-20", "须为日期，如 2026-11-20", row))
        visited_on = None
    if len(problems) > found:
        return None
    return Row(point, item, deducted, note, visited_on)


def import_deductions(session: Session, campaign: Campaign, table: Table, user: User | None = None,
                      name: str = "", now: datetime | None = None) -> ImportReport:
    """Store every deduction and open its case, or none when any row is bad (the report names them all, by row
    and column); one official round per import. Flushes, never commits."""
    now = now or clock.now()
    columns = checked_columns(table.headers, COLUMNS, REQUIRED)
    points = {p.code: p for p in session.scalars(select(InspectionPoint))}
    report = ImportReport()
    if "\x00" in (name or ""):
        report.problems.append(Problem("name", "a round name without NUL bytes", "测评名称不得含空字符"))
    checked: list[Row] = []
    seen: set[tuple[int, int, date]] = set()
    for row, raw in enumerate(table.rows, start=2):
        cell = {t: raw[i] if i < len(raw) else None for t, i in columns.items()}
        values = _checked_row(session, cell, row, points, report.problems)
        if values is None:
            continue
        key = (values.point.id, values.item.id, values.visited_on)
        if key in seen:
            report.problems.append(Problem("item", "the same point, item and date appear twice",
                                           "同一点位、测评内容和日期重复出现", row))
        elif session.scalar(select(OfficialDeduction.id).where(
                OfficialDeduction.point_id == key[0], OfficialDeduction.item_id == key[1],
                OfficialDeduction.visited_on == key[2])) is not None:
            report.problems.append(Problem("item", "this deduction was already imported", "该扣分已导入过", row))
        seen.add(key)
        checked.append(values)
    if not report.problems and not checked:
        report.problems.append(Problem("file", "the file has no deductions", "文件中没有扣分记录"))
    if report.problems:
        return report
    days = sorted(r.visited_on for r in checked)
    number = max((r.number for r in session.scalars(select(EvaluationRound).where(
        EvaluationRound.campaign_id == campaign.id))), default=0) + 1
    title = (name or f"正式测评 {days[0].isoformat()}")[:200]
    round_row = EvaluationRound(campaign_id=campaign.id, number=number, name=title, kind="official",
                                starts_on=days[0], ends_on=days[-1], run_by_id=user.id if user else None,
                                status="closed", seed=None, point_ids=sorted({r.point.id for r in checked}),
                                created_at=now)
    session.add(round_row)
    session.flush()
    for values in checked:
        point, item = values.point, values.item
        deduction = OfficialDeduction(round_id=round_row.id, visited_on=values.visited_on, point=point, item=item,
                                      points=values.points, note=values.note or None, unit_id=point.unit_id,
                                      person_id=point.person_id, imported_at=now)
        session.add(deduction)
        session.flush()
        text = (f"{point.code} {point.name}：{item.text}（{values.visited_on.isoformat()} 正式测评扣 "
                f"{values.points:g} 分）" + (f" {values.note}" if values.note else ""))
        case = open_case(session, campaign, point, item, Finding(
            SOURCE_NAME, SOURCE_TYPE, f"{deduction.id}", text,
            "正式测评扣分，交点位责任单位整改 / deducted in the official evaluation", values.points,
            _visited_at(campaign, values.visited_on, now)), user, now)
        deduction.case_id = case.id
        report.created += 1
    session.flush()
    return report


def _visited_at(campaign: Campaign, visited_on: date, now: datetime) -> datetime:
    """The visit as an instant: noon of its day in the campaign's time (never after now), so the deduction is
    counted in the period of the visit, not of the import."""
    return min(datetime.combine(visited_on, time(12), ZoneInfo(campaign.timezone)), now)


def deductions(session: Session, campaign: Campaign) -> list[OfficialDeduction]:
    return list(session.scalars(select(OfficialDeduction).join(EvaluationRound)
                                .where(EvaluationRound.campaign_id == campaign.id)
                                .order_by(OfficialDeduction.visited_on, OfficialDeduction.id)))


@dataclass(frozen=True)
class Carrier:
    """A unit answering for one deduction, with the points it carries: the point's unit as at import (属地, the
    lead) or a department in charge of that kind of point (主管部门, 协办)."""

    unit: Unit
    lead: bool
    points: float


def carriers(session: Session, campaign: Campaign, listed: list[OfficialDeduction]) -> dict[int, list[Carrier]]:
    """Each of the campaign's deductions' units, lead first, with their share as `finding_shares` decides it; they
    add up to the deduction's points (one without a case stays whole with the point's unit)."""
    shares = finding_shares(session, campaign.id, [d.case_id for d in listed if d.case_id is not None])
    found: dict[int, list[Carrier]] = {}
    for d in listed:
        parts = shares.get(d.case_id) or [Share(0, d.unit_id, True, Decimal(repr(float(d.points))))]
        by_unit: dict[int, Decimal] = {}
        for share in parts:  # the lead's share is the point's unit's as at import, whoever holds the task now
            unit_id = d.unit_id if share.lead else share.unit_id
            by_unit[unit_id] = by_unit.get(unit_id, Decimal(0)) + share.points
        found[d.id] = [Carrier(session.get(Unit, unit_id), unit_id == d.unit_id, float(points))
                       for unit_id, points in by_unit.items()]
    return found


@dataclass(frozen=True)
class Responsibility:
    """The campaign's deductions with who answers for each (`carriers`), and the points per unit and per person."""

    deductions: list[OfficialDeduction]
    carriers: dict[int, list[Carrier]]
    by_unit: list[tuple[Unit, float, int]]
    by_person: list[tuple[Person | None, Unit, float, int]]
    #: The campaign's AssessmentConfig.cooperation_points the shares follow: `lead` or `shared`.
    rule: str


def responsibility(session: Session, campaign: Campaign) -> Responsibility:
    """Points deducted (and how many deductions) per unit and per (person, unit), most lost first: 谁丢分谁负责. A
    unit is the point's, and each department in charge that the deduction's case went to (谁主管、谁负责), each with
    its share (`carriers`), so the units add up to what the evaluation deducted; a person answers for the lead's."""
    units: dict[int, list] = defaultdict(lambda: [Decimal(0), 0])
    persons: dict[tuple[int | None, int], list] = defaultdict(lambda: [Decimal(0), 0])
    listed = deductions(session, campaign)
    shares = carriers(session, campaign, listed)
    for d in listed:
        for carrier in shares[d.id]:
            tallies = [units[carrier.unit.id]] + ([persons[(d.person_id, d.unit_id)]] if carrier.lead else [])
            for tally in tallies:
                tally[0] += Decimal(repr(carrier.points))
                tally[1] += 1
    unit_rows = [(session.get(Unit, uid), float(total), n) for uid, (total, n) in units.items()]
    person_rows = [(session.get(Person, pid) if pid else None, session.get(Unit, uid), float(total), n)
                   for (pid, uid), (total, n) in persons.items()]
    unit_rows.sort(key=lambda r: (-r[1], r[0].code))
    person_rows.sort(key=lambda r: (-r[2], r[1].code, r[0].code if r[0] else ""))
    rule = cooperation_rules(session, [campaign.id]).get(campaign.id)
    rule = rule if rule in COOPERATION_POINTS else DEFAULT_COOPERATION_POINTS
    return Responsibility(listed, shares, unit_rows, person_rows, rule)


def by_responsible(session: Session, campaign: Campaign) -> tuple[list[tuple[Unit, float, int]],
                                                                  list[tuple[Person | None, Unit, float, int]]]:
    """`responsibility`'s points per unit and per (person, unit)."""
    found = responsibility(session, campaign)
    return found.by_unit, found.by_person
