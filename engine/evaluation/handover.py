"""交办: the committee (城乡综合管理委员会) hands an item over by hand to a lead unit and any cooperating units.

The item runs through the same lifecycle as any report: an Event stored by the normal intake function (source
"committee", type "leader", matter L0008 城管委交办事项, so it is counted like every report), a Case dispatched at
once, and a task per unit through `dispatch` under the campaign's routine template with the limit the committee
set and no points. The committee's materials (PDF, pictures, Word, Excel) are the case's attachments
(engine/cases/attachments.py). Composed here, beside hand routing, because it spans intake, cases, handling and
the campaign's context. Everything, the files included, is checked before anything is written.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.attachments import AttachmentFile, AttachmentStore, CheckedFile, check_files, store_files
from engine.cases.routing import BY_HAND
from engine.cases.stages import NewCase, note, open_cases
from engine.core.models import Case, Event, Grid, Unit, User
from engine.core.states import CaseStage, EventStatus
from engine.evaluation.context import active_contexts
from engine.evaluation.decide import ROUTINE, routine_task
from engine.handling.dispatch import TaskOrder, dispatch
from engine.space.holders import holder_of
from engine.space.points import points_at
from engine.intake.events import (
    MAX_ADDRESS,
    MAX_DESCRIPTION,
    IntakeSource,
    accept_event,
)
from rules.limit_text import parse_limit
from rules.limits import LIMIT_MAX, LIMIT_UNIT_TABLE, LIMIT_UNITS
from rules.problems import InputError, Problem

#: Where hand-overs come from, and the matter they are filed under (the duty lists' "承办区城管委交办的其他事项").
SOURCE = IntakeSource("committee", "leader")
CATEGORY = BY_HAND[0]
CONDITION = "default"
#: The rule key and list kind of a hand-over's tasks: no list item, no points.
RULE_KEY = LIST_KIND = "handover"
MAX_TITLE = 200
#: An amount as the form's box takes it: a decimal number, then perhaps the unit's name.
_AMOUNT = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(.*)$")


@dataclass(frozen=True)
class Handover:
    """What the committee writes: a title, a description, a place (grid, optionally a point and an address), the
    lead unit's code, the cooperating units' codes, a limit (an amount and a unit code or its Chinese name) and
    the files that come with it."""

    title: str
    description: str
    grid: str
    lead: str
    limit_value: str | float | None
    limit_unit: str | None
    cooperating: list[str] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    attachments: list[AttachmentFile] = field(default_factory=list)


@dataclass(frozen=True)
class HandedOver:
    """The stored hand-over: its event, its case and one task per unit (lead first)."""

    event_id: int
    case_id: int
    task_ids: list[int]


def read_limit(value: str | float | None, unit: str | None) -> tuple[float, str] | None:
    """A limit from an amount and a unit: the unit's code (working_days …) or how standards write it (工作日, 小时,
    紧急工作时 …); None when it cannot be read or lies outside the unit's range (limit_problem says which)."""
    unit = (unit or "").strip()
    text = _text(value)
    if unit in LIMIT_UNIT_TABLE:
        amount = _amount(text, unit)
        return (amount, unit) if amount is not None and 0 < amount <= LIMIT_MAX[unit] else None
    return parse_limit(text + unit)


def limit_problem(value: str | float | None, unit: str | None) -> Problem:
    """Why read_limit refused, in the form's terms (a number, its unit chosen beside it, the unit's range), each
    language in its own words."""
    unit = (unit or "").strip()
    code = unit if unit in LIMIT_UNIT_TABLE else (parse_limit("1" + unit) or (0.0, None))[1]
    if code is None:
        names = [u.label[0] for u in LIMIT_UNIT_TABLE.values()]
        return Problem("limit", f"choose the unit of the limit: {', '.join(LIMIT_UNITS[:-1])} or {LIMIT_UNITS[-1]}",
                       f"请选择时限单位：{'、'.join(names[:-1])}或{names[-1]}")
    most, (zh, en) = LIMIT_MAX[code], LIMIT_UNIT_TABLE[code].label
    if _amount(_text(value), code) is None:
        return Problem("limit", f"enter a number, e.g. 3, and choose the unit beside it; more than 0 and at most "
                                f"{most} {en}", f"请填写数字，例如 3，单位在旁边选择；须大于 0 且不超过 {most} {zh}")
    return Problem("limit", f"more than 0 and at most {most} {en}", f"须大于 0 且不超过 {most} {zh}")


def _text(value: str | float | None) -> str:
    return str(value).strip() if value is not None and not isinstance(value, bool) else ""


def _amount(text: str, code: str) -> float | None:
    """The number typed, alone or followed by the chosen unit's name (3 工作日, 3 个工作日, 3 working days)."""
    match = _AMOUNT.match(text)
    if not match:
        return None
    words = " ".join(match.group(2).lower().split())
    label = LIMIT_UNIT_TABLE[code].label[1]
    if words and words not in (label, re.sub(r"s\b", "", label, count=1)) \
            and (parse_limit("1" + words) or (0.0, None))[1] != code:
        return None
    return float(match.group(1))


def _units(session: Session, handover: Handover, problems: list[Problem]) -> list[Unit]:
    lead_code = (handover.lead or "").strip()
    codes = [lead_code] + [(c or "").strip() for c in handover.cooperating]
    found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_([c for c in codes if c])))}
    lead = found.get(lead_code)
    if not lead_code:
        problems.append(Problem("lead", "required: the lead unit (主办)", "必填：主办单位"))
    elif lead is None:
        problems.append(Problem("lead", f"no such unit: {lead_code}", f"没有该单位：{lead_code}"))
    cooperating: list[Unit] = []
    for code in codes[1:]:
        if not code:
            continue
        if code == lead_code:
            problems.append(Problem("cooperating", f"{code} is already the lead unit",
                                    f"{code} 已是主办单位，不能同时协办"))
        elif code not in found:
            problems.append(Problem("cooperating", f"no such unit: {code}", f"没有该单位：{code}"))
        elif found[code] in cooperating:
            problems.append(Problem("cooperating", f"{code} is named twice", f"{code} 重复填写"))
        else:
            cooperating.append(found[code])
    return ([lead] if lead is not None else []) + cooperating


def _control_characters(handover: Handover) -> list[Problem]:
    """NUL bytes and the like: PostgreSQL refuses them in text, so they are named before any query runs."""
    fields = {"title": [handover.title], "description": [handover.description], "grid": [handover.grid],
              "lead": [handover.lead], "cooperating": list(handover.cooperating), "address": [handover.address],
              "limit": [handover.limit_unit if isinstance(handover.limit_unit, str) else ""]}
    return [Problem(name, "contains a control character (such as NUL)", "含有不可见的控制字符（如 NUL）")
            for name, values in fields.items()
            if any(isinstance(v, str) and "\x00" in v for v in values)]


def _check(session: Session, handover: Handover, store: AttachmentStore | None
           ) -> tuple[list[Unit], Grid | None, tuple[float, str] | None, list[CheckedFile]]:
    if handover.attachments and store is None:
        raise ValueError("a hand-over with attachments needs an AttachmentStore")
    problems = _control_characters(handover)
    if problems:
        raise InputError(problems)
    title = (handover.title or "").strip()
    if not title or len(title) > MAX_TITLE:
        problems.append(Problem("title", f"required: a title of at most {MAX_TITLE} characters",
                                f"必填：不超过 {MAX_TITLE} 个字符的标题"))
    if len(title) + len(handover.description or "") + 2 > MAX_DESCRIPTION:
        problems.append(Problem("description", f"title and description together at most {MAX_DESCRIPTION} characters",
                                f"标题与描述合计不超过 {MAX_DESCRIPTION} 个字符"))
    if len(handover.address or "") > MAX_ADDRESS:
        problems.append(Problem("address", f"at most {MAX_ADDRESS} characters", f"不超过 {MAX_ADDRESS} 个字符"))
    grid_code = (handover.grid or "").strip()
    grid = session.scalar(select(Grid).where(Grid.code == grid_code)) if grid_code else None
    if not grid_code:
        problems.append(Problem("grid", "required: the grid where the item is", "必填：事项所在网格"))
    elif grid is None:
        problems.append(Problem("grid", f"no such grid: {grid_code}", f"没有该网格：{grid_code}"))
    if (handover.lat is None) != (handover.lon is None):
        problems.append(Problem("location", "both latitude and longitude (WGS-84), or neither",
                                "请同时填写纬度和经度（WGS-84），或都不填"))
    elif handover.lat is not None and not (-90 <= handover.lat <= 90 and -180 <= handover.lon <= 180):
        problems.append(Problem("location", "latitude from -90 to 90 and longitude from -180 to 180 (WGS-84)",
                                "纬度须在 -90～90 之间，经度须在 -180～180 之间（WGS-84）"))
    units = _units(session, handover, problems)
    limit = read_limit(handover.limit_value, handover.limit_unit)
    if limit is None:
        problems.append(limit_problem(handover.limit_value, handover.limit_unit))
    contexts = active_contexts(session)
    if not contexts:
        problems.append(Problem("lead", "no active campaign to dispatch under", "没有进行中的专项行动，无法派遣"))
    elif ROUTINE not in contexts[0].templates:
        problems.append(Problem("lead", "the campaign has no routine task template", "专项行动缺少一般问题处置模板"))
    files, refused = check_files(handover.attachments, store.max_bytes) if store else ([], [])
    if problems or refused:
        raise InputError(problems + refused)
    return units, grid, limit, files


def check(session: Session, handover: Handover) -> None:
    """The hand-over's refusals (an InputError) without storing anything or reading its files: a form whose own
    checks failed still names every other problem at once."""
    _check(session, replace(handover, attachments=[]), None)


def hand_over(session: Session, handover: Handover, actor: User | None, now: datetime,
              store: AttachmentStore | None = None) -> HandedOver:
    """Store one hand-over as an event, a dispatched case with its attachments (written to `store`) and a task
    per unit; nothing is written on a refusal, no file either. The caller commits."""
    units, grid, limit, files = _check(session, handover, store)
    title = handover.title.strip()
    description = (handover.description or "").strip()
    payload = {"source_event_id": f"HO-{now:%Y%m%d%H%M%S}-{secrets.token_hex(4)}", "category": CATEGORY,
               "filing_condition": CONDITION, "grid": grid.code, "occurred_at": now.isoformat(),
               "description": f"{title}\n\n{description}" if description else title,
               "address": (handover.address or "").strip()}
    if handover.lat is not None:
        payload["location"] = {"lat": handover.lat, "lon": handover.lon}
    accepted, _ = accept_event(session, payload, SOURCE)
    ctx = active_contexts(session)[0]
    holder = holder_of(session, session.get(Event, accepted.id))
    [case_id] = open_cases(session, [NewCase(
        campaign_id=ctx.id, category_id=session.get(Event, accepted.id).category_id, grid_id=grid.id,
        lat=handover.lat, lon=handover.lon, reported_at=now, filing_condition=CONDITION, lead_unit_id=units[0].id,
        path=(CaseStage.FILED, CaseStage.DISPATCHED), frontage_holder_id=holder)], now)
    event = session.get(Event, accepted.id)
    event.case_id, event.status, event.evaluated_at, event.points = case_id, EventStatus.EVALUATED, now, 0.0
    event.facts = {}  # evaluated by no rule: the committee decided who does it
    session.flush()
    note(session, session.get(Case, case_id), now, actor, "handed over by the committee / 城管委交办")
    orders = []
    at_point = event.id in points_at(session, [event])
    for unit in units:
        decision = routine_task(ctx, unit.id, limit, now, at_point=at_point)
        orders.append(TaskOrder(
            event_id=event.id, campaign_id=ctx.id, ruleset_version_id=ctx.version_id, unit_id=unit.id,
            template_id=ctx.template_id(ROUTINE), timeline_id=ctx.timeline_id(decision.timeline_code),
            rule_key=RULE_KEY, list_kind=LIST_KIND, limit_value=decision.limit_value,
            limit_unit=decision.limit_unit, deadline_at=decision.deadline_at, points=0.0,
            steps=ctx.steps(decision.timeline_code), calendar=ctx.calendar, continuous_time=ctx.continuous_time,
            bodies=ctx.bodies, case_id=case_id))
    task_ids = dispatch(session, orders, now)
    if files:  # last, so that no file is written for a hand-over refused on the way
        store_files(session, store.folder, case_id, files, actor, now)
    return HandedOver(event.id, case_id, task_ids)
