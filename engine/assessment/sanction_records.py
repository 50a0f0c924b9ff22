"""The record of a sanction (约谈纪要): which unit and which of its leaders (主要/分管负责人) it targets, when it was
held, who attended, the minutes, the commitments made, the follow-up and whether the commitments were met. A
bureau that names a unit in the bottom three must be able to show what it then did; the pages, the API and the
cadre appraisal file all read these rows.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.assessment.periods import PeriodError, parse_period
from engine.assessment.sanctions import SANCTIONS
from engine.core.models import Campaign, Person, SanctionDue, SanctionRecord, Unit
from engine.people.staff import unit_and_below
from rules.problems import InputError, Problem

RESULTS: dict[str, tuple[str, str]] = {
    "pending": ("待跟踪", "follow-up pending"),
    "met": ("整改到位", "commitments met"),
    "not_met": ("未整改到位", "commitments not met"),
}
TEXTS = ("attendees", "minutes", "commitments", "follow_up")
MAX_TEXT = 10_000


MAX_ID = 2**31 - 1


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ""


def _key(value: Any) -> int | str | None:
    """An id (a whole number that fits the column) or a code (text without NUL, which PostgreSQL refuses)."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) < 12):
        number = int(value)
        return number if 0 < number <= MAX_ID else None
    if isinstance(value, str) and "\x00" not in value and len(value) <= 64:
        return value.strip()
    return None


def _held_on(value: Any) -> Optional[date]:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _unit(session: Session, value: Any) -> Optional[Unit]:
    key = _key(value)
    if isinstance(key, int):
        return session.get(Unit, key)
    return session.scalar(select(Unit).where(Unit.code == key)) if key else None


def _person(session: Session, value: Any) -> Optional[Person]:
    """A person by staff number (工号) first, else by id."""
    key = _key(value)
    if key is None:
        return None
    found = session.scalar(select(Person).where(Person.code == str(key)))
    return found if found is not None or not isinstance(key, int) else session.get(Person, key)


def check(session: Session, campaign: Campaign, data: dict[str, Any], today: date
          ) -> tuple[list[Problem], dict[str, Any]]:
    """Every fault of a record's fields, by field, in both languages; and the values read when there is none."""
    problems: list[Problem] = []
    unit = _unit(session, data.get("unit"))
    if unit is None:
        problems.append(Problem("unit", "Choose the unit the sanction is about.", "请选择受处理的单位。"))
    period = data.get("period") if isinstance(data.get("period"), str) else ""
    period = period.strip()
    try:
        kind = parse_period(period, campaign.timezone).kind
    except PeriodError:
        kind = None
    if kind not in ("month", "quarter"):
        problems.append(Problem("period", "Write the ranking period as 2026-11 (month) or 2026-Q4 (quarter).",
                                "排名期间请写作 2026-11（月）或 2026-Q4（季度）。"))
    sanction = data.get("sanction") if isinstance(data.get("sanction"), str) else ""
    if sanction not in SANCTIONS:
        problems.append(Problem("sanction", "Choose one of: " + ", ".join(en for _zh, en in SANCTIONS.values()) + ".",
                                "请选择：" + "、".join(zh for zh, _en in SANCTIONS.values()) + "。"))
    held_on = _held_on(data.get("held_on"))
    if held_on is None:
        problems.append(Problem("held_on", "Enter the date it was held as YYYY-MM-DD.", "请按 YYYY-MM-DD 填写日期。"))
    elif held_on > today:
        problems.append(Problem("held_on", "The date lies in the future; record a sanction once it was held.",
                                "日期晚于今天；请在实施后再记录。"))
    targets = {}
    for name, (en, zh) in (("principal", ("principal head", "主要负责人")), ("in_charge", ("leader in charge",
                                                                                       "分管负责人"))):
        person = _person(session, data.get(name))
        if data.get(name) not in (None, "") and person is None:
            problems.append(Problem(name, f"No such person as the {en}.", f"{zh}不存在。"))
        elif person is not None and unit is not None and person.unit_id not in unit_and_below(session, unit.id):
            problems.append(Problem(name, f"The {en} must be a person of {unit.name_en or unit.code}.",
                                    f"{zh}须为{unit.name_zh}的人员。"))
        targets[name] = person
    if targets["principal"] is None and targets["in_charge"] is None and not any(
            p.where in ("principal", "in_charge") for p in problems):
        problems.append(Problem("principal", "Name the person it targets: the principal head, the leader in "
                                             "charge, or both.", "请填写被约谈对象：主要负责人、分管负责人或两者。"))
    texts = {name: _text(data, name) for name in TEXTS}
    for name, en, zh in (("attendees", "Name who attended.", "请填写参加人员。"),
                         ("minutes", "Write the minutes.", "请填写纪要内容。")):
        if not texts[name]:
            problems.append(Problem(name, en, zh))
    for name, value in texts.items():
        if "\x00" in value:
            problems.append(Problem(name, "The text contains a NUL character.", "文字中含有空字符（NUL）。"))
        elif len(value) > MAX_TEXT:
            problems.append(Problem(name, f"At most {MAX_TEXT} characters.", f"不超过 {MAX_TEXT} 个字符。"))
    result = data.get("follow_up_result") or "pending"
    result = result if isinstance(result, str) else ""
    if result not in RESULTS:
        problems.append(Problem("follow_up_result", "Choose pending, met or not met.", "请选择待跟踪、整改到位或未整改到位。"))
    elif result != "pending" and not texts["follow_up"]:
        problems.append(Problem("follow_up", "Say how the commitments were followed up before giving the result.",
                                "填写跟踪结果前，请写明跟踪督办情况。"))
    due = _due(session, campaign, data.get("due"), unit, sanction, period, problems)
    return problems, {"unit": unit, "period": period, "sanction": sanction, "held_on": held_on, **targets,
                      **texts, "follow_up_result": result, "due": due}


def _due(session: Session, campaign: Campaign, value: Any, unit: Optional[Unit], sanction: str, period: str,
         problems: list[Problem]) -> Optional[SanctionDue]:
    """The kept list's entry the record answers, if one is named: the same campaign, unit, sanction and period."""
    if value in (None, ""):
        return None
    key = _key(value)
    due = session.get(SanctionDue, key) if isinstance(key, int) else None
    if due is None or due.run.campaign_id != campaign.id or (unit is not None and due.unit_id != unit.id) \
            or due.sanction != sanction or due.run.period != period:
        problems.append(Problem("due", "That entry of the sanctions list is not this unit's sanction for this "
                                       "period.", "该处理名单条目与本单位、本期间、本处理方式不符。"))
        return None
    return due


def save(session: Session, campaign: Campaign, data: dict[str, Any], now: datetime, user_id: Optional[int],
         record: Optional[SanctionRecord] = None) -> SanctionRecord:
    """Create or update a record from form or JSON fields; InputError names every bad field, nothing is written."""
    problems, values = check(session, campaign, data, now.astimezone(ZoneInfo(campaign.timezone)).date())
    if problems:
        raise InputError(problems)
    if record is None:
        record = SanctionRecord(campaign_id=campaign.id, recorded_at=now, recorded_by_id=user_id)
        session.add(record)
    record.unit_id, record.period, record.sanction = values["unit"].id, values["period"], values["sanction"]
    record.held_on, record.due_id = values["held_on"], values["due"].id if values["due"] else None
    record.principal_id = values["principal"].id if values["principal"] else None
    record.in_charge_id = values["in_charge"].id if values["in_charge"] else None
    for name in TEXTS:
        setattr(record, name, values[name])
    record.follow_up_result = values["follow_up_result"]
    session.flush()
    return record


def records_of(session: Session, campaign: Campaign, period: Optional[str] = None) -> list[SanctionRecord]:
    query = select(SanctionRecord).where(SanctionRecord.campaign_id == campaign.id)
    if period:
        if "\x00" in period:  # no period is called that (and PostgreSQL refuses a NUL byte in a query)
            return []
        query = query.where(SanctionRecord.period == period)
    return list(session.scalars(query.order_by(SanctionRecord.held_on.desc(), SanctionRecord.id.desc())))


def as_json(record: SanctionRecord) -> dict[str, Any]:
    """A record as the API gives it, names in both languages."""
    def person(p: Optional[Person]) -> Optional[dict[str, Any]]:
        return None if p is None else {"code": p.code, "name": p.name, "position": p.position}
    zh, en = SANCTIONS.get(record.sanction, (record.sanction, record.sanction))
    return {"id": record.id, "campaign": record.campaign.code, "period": record.period,
            "unit": {"code": record.unit.code, "zh": record.unit.name_zh, "en": record.unit.name_en},
            "sanction": record.sanction, "sanction_name": {"zh": zh, "en": en}, "due": record.due_id,
            "held_on": record.held_on.isoformat(), "principal": person(record.principal),
            "in_charge": person(record.in_charge), "attendees": record.attendees, "minutes": record.minutes,
            "commitments": record.commitments, "follow_up": record.follow_up,
            "follow_up_result": record.follow_up_result, "recorded_at": record.recorded_at.isoformat()}
