"""Open311 GeoReport v2 in the domain's terms: categories are services, events are service requests.

A request is "open" until its case ends: closed by the shift leader (`status_notes` then carry the closing
condition and comment), not filed (the refusal reason) or void. A report without a case reads as before: open
until every task it created is closed or voided. Its agency is the unit of the task the hit policy ranked first,
and its expected time that task's working-time deadline.
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.core import clock
from rules.problems import InputError, Problem
from engine.core.models import Case, CaseStageChange, Category, Event, Task
from engine.core.states import TERMINAL, CaseStage, EventStatus, TaskStatus
from engine.intake.events import AcceptedEvent, IntakeSource, accept_event

#: Intake's field names as the GeoReport form calls them.
FORM_NAMES = {"reporter_name": "first_name", "reporter_phone": "phone"}
LIST_WINDOW = timedelta(days=90)  # GeoReport's default and largest date range
MAX_LIST = 1000
#: GeoReport reads are public, so they show only what citizens filed through the public channel (a
#: request takes its api_key's source type, like any intake); hotline, patrol, camera and inspection
#: events (names, phone numbers, exact places) stay internal.
PUBLIC_SOURCE_TYPE = "citizen"

STATUS_NOTES = {
    EventStatus.PENDING: ("Received; the rules have not evaluated it yet.", "已受理，规则尚未研判。"),
    EventStatus.FAILED: ("Received; evaluation failed and an operator has been alerted.", "已受理，研判失败，已通知运维人员。"),
    "no_task": ("Evaluated: no rule of the campaign applies, no task was created.", "已研判：无适用规则，未派发任务。"),
    "open": ("Dispatched to the responsible unit.", "已派遣至责任单位。"),
    "closed": ("Handled and closed.", "已处置结案。"),
    "verifying": ("Received; being verified on the spot before filing.", "已受理，正在现场核实，待立案。"),
    "awaiting_dispatch": ("Filed; waiting for dispatch to the responsible unit.", "已立案，等待派遣至责任单位。"),
}
#: Open stages of a case and the note each reads as.
CASE_NOTES = {CaseStage.REPORTED: "verifying", CaseStage.VERIFYING: "verifying", CaseStage.FILING: "verifying",
              CaseStage.FILED: "awaiting_dispatch", CaseStage.AWAITING_DISPATCH: "awaiting_dispatch",
              CaseStage.DISPATCHED: "open", CaseStage.REOPENED: "open"}
#: How a case's ending reads for its reporter, by the stage that ended it: (en, zh).
ENDINGS: dict[str, tuple[str, str]] = {CaseStage.CLOSED: ("Handled and closed", "已处置结案"),
                                       CaseStage.NOT_FILED: ("Not filed", "不予立案"),
                                       CaseStage.VOID: ("Void", "已作废")}
ENDED = frozenset({CaseStage.CLOSED, CaseStage.REVISITED, CaseStage.NOT_FILED, CaseStage.VOID})


def _name(row: Any, lang: str) -> str:
    return row.name_zh if lang == "zh" else row.name_en


def services(session: Session, lang: str) -> list[dict[str, Any]]:
    """Every category that can be filed (has filing conditions), as GeoReport services."""
    rows = session.scalars(select(Category).options(selectinload(Category.conditions), selectinload(Category.parent))
                           .order_by(Category.code))
    return [{"service_code": c.code, "service_name": _name(c, lang),
             "description": _name(c, lang) + (f" / {_name(c.parent, lang)}" if c.parent else ""),
             "metadata": True, "type": "realtime", "keywords": c.code,
             "group": _name(c.parent, lang) if c.parent else _name(c, lang)}
            for c in rows if c.conditions]


def service_definition(session: Session, code: str, lang: str) -> dict[str, Any] | None:
    """A service's attributes: its filing conditions (立案条件) as one optional single-value list."""
    category = session.scalar(select(Category).where(Category.code == code).options(selectinload(Category.conditions)))
    if category is None or not category.conditions:
        return None
    values = [{"key": c.code, "name": _name(c, lang)} for c in category.conditions]
    return {"service_code": code, "attributes": [{
        "variable": True, "code": "filing_condition", "datatype": "singlevaluelist", "required": False,
        "datatype_description": "", "order": 1,
        "description": "Filing condition (立案条件)" if lang == "en" else "立案条件", "values": values}]}


def event_payload(form: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a GeoReport POST form into an intake payload (intake validates it like any other); the
    source type is left to the api_key's token."""
    problems: list[Problem] = []
    payload: dict[str, Any] = {"source_event_id": f"open311-{uuid.uuid4().hex}",
                               "occurred_at": clock.now().isoformat()}
    code = str(form.get("service_code") or "").strip()
    if not code:
        problems.append(Problem("service_code", "required", "必填"))
    payload["category"] = code
    condition = form.get("attribute[filing_condition]")
    if condition:
        payload["filing_condition"] = str(condition)
    lat, lon = form.get("lat"), form.get("long")
    if lat not in (None, "") or lon not in (None, ""):
        try:
            payload["location"] = {"lat": float(lat), "lon": float(lon)}
        except (TypeError, ValueError):
            problems.append(Problem("lat", "lat and long are decimal degrees, given together",
                                         "lat 与 long 须同时给出，为十进制经纬度"))
    address = str(form.get("address_string") or "").strip()
    if address:
        payload["address"] = address
    elif "location" not in payload and not problems:
        problems.append(Problem("lat", "a location is required: lat and long, or a registered address_string",
                                     "须提供位置：lat 与 long，或已登记的 address_string"))
    for key in ("description", "media_url"):
        if form.get(key):
            payload[key] = str(form[key])
    name = reporter_name(str(form.get("first_name") or ""), str(form.get("last_name") or ""))
    if name:
        payload["reporter_name"] = name
    if str(form.get("phone") or "").strip():
        payload["reporter_phone"] = str(form["phone"])
    if problems:
        raise InputError(problems)
    return payload


def reporter_name(first: str, last: str) -> str:
    """GeoReport's two name fields as one: 张 + 伟 → 张伟 (family name first, no space) for Chinese names,
    "Jane Doe" otherwise."""
    first, last = first.strip(), last.strip()
    if any(ord(c) > 0x2E7F for c in first + last):  # CJK and beyond
        return last + first
    return f"{first} {last}".strip()


def file_request(session: Session, form: Mapping[str, Any], source: IntakeSource) -> tuple[AcceptedEvent, bool]:
    """A GeoReport POST through intake, like any event; a refusal names the form's fields (phone, not
    reporter_phone)."""
    payload = event_payload(form)
    try:
        return accept_event(session, payload, source)
    except InputError as err:
        raise InputError([replace(p, where=FORM_NAMES.get(p.where, p.where)) for p in err.problems]) from None


def _ending(case: Case) -> CaseStageChange | None:
    """The move that ended the case (closed, not filed, void) while it stays ended (a revisit keeps it so): its
    comment is the closing condition and comment, or the refusal reason, that the source's reply carried."""
    if case.stage not in ENDED:
        return None
    return next((h for h in reversed(case.stages) if h.to_stage in ENDINGS), None)


def ending_text(case: Case, lang: str) -> str | None:
    """'Handled and closed: <closing text>' or 'Not filed: <reason>' in the reader's language; None while open."""
    change = _ending(case)
    if change is None:
        return None
    en, zh = ENDINGS[change.to_stage]
    if not change.comment:
        return zh if lang == "zh" else en
    return f"{zh}：{change.comment}" if lang == "zh" else f"{en}: {change.comment}"


def _primary_task(event: Event) -> Task | None:
    """The task ranked first by the hit policy: zero tolerance, then strict management, then the earliest deadline."""
    rank = {"zero_tolerance": 0, "strict_management": 1}
    live = [t for t in event.tasks if t.status != TaskStatus.VOIDED] or list(event.tasks)
    return min(live, key=lambda t: (rank.get(t.list_kind, 2), t.deadline_at, t.id), default=None)


def request_json(event: Event, lang: str) -> dict[str, Any]:
    """One service request as GeoReport v2 describes it."""
    task = _primary_task(event)
    case = event.case
    ended = ending_text(case, lang) if case is not None else None
    if event.status != EventStatus.EVALUATED:
        state, note = "open", STATUS_NOTES[event.status]
    elif ended is not None:
        state, note = "closed", (ended, ended)
    elif case is not None and case.stage in CASE_NOTES:
        state, note = "open", STATUS_NOTES[CASE_NOTES[case.stage]]
    elif task is None:
        state, note = "closed", STATUS_NOTES["no_task"]
    elif all(t.status in TERMINAL for t in event.tasks):
        state, note = "closed", STATUS_NOTES["closed"]
    else:
        state, note = "open", STATUS_NOTES["open"]
    updated = (case.closed_at if ended is not None else None) or event.evaluated_at or event.received_at
    return {
        "service_request_id": str(event.id), "status": state, "status_notes": note[1] if lang == "zh" else note[0],
        "service_name": _name(event.category, lang), "service_code": event.category.code,
        "description": event.description, "agency_responsible": _name(task.unit, lang) if task else "",
        "service_notice": "", "requested_datetime": _w3(event.occurred_at), "updated_datetime": _w3(updated),
        "expected_datetime": _w3(task.deadline_at) if task else "", "address": event.address,
        "address_id": "", "zipcode": "", "lat": event.lat if event.lat is not None else "",
        "long": event.lon if event.lon is not None else "", "media_url": event.media_url or "",
    }


def _w3(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _parse_w3(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError([Problem(field, "a W3C date-time such as 2026-11-01T00:00:00Z",
                                       "须为 W3C 日期时间，例如 2026-11-01T00:00:00Z")]) from None
    if parsed.tzinfo is None:
        raise InputError([Problem(field, "the date-time needs a UTC offset", "日期时间缺少时区偏移")])
    return parsed


def find_requests(session: Session, args: Mapping[str, str]) -> list[Event]:
    """GET /requests: by ids (overriding the rest), else by service code, status and a ≤90-day date range."""
    query = select(Event).where(Event.source_type == PUBLIC_SOURCE_TYPE).options(
        selectinload(Event.tasks).selectinload(Task.unit), selectinload(Event.category),
        selectinload(Event.case).selectinload(Case.stages))
    ids = [part.strip() for part in (args.get("service_request_id") or "").split(",") if part.strip()]
    if ids:
        if not all(_request_id(part) is not None for part in ids):
            raise InputError([Problem("service_request_id", "comma-separated request ids",
                                           "以逗号分隔的请求编号")])
        return list(session.scalars(query.where(Event.id.in_([_request_id(p) for p in ids[:MAX_LIST]])).order_by(Event.id)))
    end = _parse_w3(args["end_date"], "end_date") if args.get("end_date") else clock.now()
    start = _parse_w3(args["start_date"], "start_date") if args.get("start_date") else end - LIST_WINDOW
    if end - start > LIST_WINDOW or start > end:
        raise InputError([Problem("start_date", "the range may span at most 90 days",
                                       "日期范围不得超过 90 天")])
    query = query.where(Event.occurred_at >= start, Event.occurred_at <= end)
    codes = [c.strip() for c in (args.get("service_code") or "").split(",") if c.strip()]
    if codes:
        query = query.join(Category, Category.id == Event.category_id).where(Category.code.in_(codes))
    events = list(session.scalars(query.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(MAX_LIST)))
    wanted = {s.strip() for s in (args.get("status") or "").split(",") if s.strip()}
    if wanted - {"open", "closed"}:
        raise InputError([Problem("status", "open or closed", "须为 open 或 closed")])
    if wanted:
        events = [e for e in events if request_json(e, "en")["status"] in wanted]
    return events


MAX_ID = 2**63 - 1


def _request_id(text: str) -> int | None:
    """An id a database column can hold, in ASCII digits: `isdigit` also passes `²`, which `int` refuses."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_ID:
        return None
    return int(text)


def find_request(session: Session, request_id: str) -> Event | None:
    number = _request_id(request_id)
    if number is None:
        return None
    return session.scalar(select(Event).where(Event.id == number, Event.source_type == PUBLIC_SOURCE_TYPE)
                          .options(selectinload(Event.tasks).selectinload(Task.unit), selectinload(Event.category),
                                   selectinload(Event.case).selectinload(Case.stages)))
