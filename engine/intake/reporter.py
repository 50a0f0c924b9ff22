"""Who reported an event (来电人/反映人 and their number) and how sure a camera was: the optional intake
fields, and who may read the reporter's phone back.

A hotline caller's number is personal data (PIPL): it is stored once, shown masked to everyone, and read
whole only by an explicit "show number" of a role that calls or meets reporters (REPORTER_PHONE_ROLES), each
such view written to the security audit log; it is never stored for a caller who asked to stay anonymous,
and blanked once the case has been over for CIVICRULES_REPORTER_DATA_DAYS (forget_reporters).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import Case, Event
from engine.core.states import CASE_ENDED
from engine.audit.security_log import Actor, record
from engine.people.staff import mask_phone
from rules.problems import InputError, Problem

MAX_NAME = 64
#: What a phone number may contain once spaces and dashes are taken out: an optional +, then 6–30 digits.
PHONE_DIGITS = re.compile(r"\+?[0-9]{6,30}")
#: Who may show a reporter's whole number: dispatchers and shift leaders call reporters back (回访), collectors
#: meet them on site (核实). The system, security and audit administrators, auditors, assessors, checkers,
#: supervisors and field units never need it.
REPORTER_PHONE_ROLES = frozenset({"dispatcher", "shift_leader", "collector"})
#: The source type whose reports carry a detection confidence.
CONFIDENCE_SOURCE = "camera"


@dataclass(frozen=True)
class Reporter:
    """The reporter as a reader may see them: the phone always masked (reveal_phone shows it whole)."""

    name: str | None
    phone: str | None


def reporter_values(payload: dict[str, Any], source_type: str, problems: list[Problem]) -> dict[str, Any]:
    """The Event columns of the optional reporter fields, each fault appended to `problems` by field name.

    An anonymous report keeps neither name nor phone, even when they are sent (and valid)."""
    name = _name(payload.get("reporter_name"), problems)
    phone = _phone(payload.get("reporter_phone"), problems)
    anonymous = payload.get("anonymous", False)
    if anonymous is None:
        anonymous = False
    if not isinstance(anonymous, bool):
        problems.append(Problem("anonymous", "true or false", "须为 true 或 false"))
        anonymous = False
    if anonymous:
        name = phone = None
    return {"reporter_name": name, "reporter_phone": phone, "anonymous": anonymous,
            "confidence": _confidence(payload.get("confidence"), source_type, problems)}


def _name(value: Any, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > MAX_NAME:
        problems.append(Problem("reporter_name", f"the reporter's name, at most {MAX_NAME} characters",
                                f"反映人姓名，不超过 {MAX_NAME} 个字符"))
        return None
    return value.strip() or None


def _phone(value: Any, problems: list[Problem]) -> str | None:
    """Digits as sent, with spaces and dashes taken out (0359-2021234 → 03592021234)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    digits = re.sub(r"[\s\-]", "", value) if isinstance(value, str) else ""
    if not PHONE_DIGITS.fullmatch(digits):
        problems.append(Problem("reporter_phone", "a phone number of 6–30 digits (an optional leading +)",
                                "电话号码须为 6–30 位数字（可带前导 +）"))
        return None
    return digits


def _confidence(value: Any, source_type: str, problems: list[Problem]) -> float | None:
    if value is None:
        return None
    if source_type != CONFIDENCE_SOURCE:
        problems.append(Problem("confidence", f"only camera sources send a confidence; this token's source type "
                                f"is {source_type}", f"仅视频监控（camera）来源可提供置信度；该令牌的来源类型为 {source_type}"))
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        problems.append(Problem("confidence", "a number from 0 to 1", "须为 0 到 1 之间的数"))
        return None
    return float(value)


def shown_reporter(event: Event, role: str | None = None) -> Reporter | None:
    """The reporter with the phone masked, whatever the role (None: an anonymous report, or nobody named)."""
    if event.anonymous or not (event.reporter_name or event.reporter_phone):
        return None
    phone = mask_phone(event.reporter_phone) if event.reporter_phone else None
    return Reporter(event.reporter_name, phone)


def may_reveal(role: str | None, event: Event) -> bool:
    """Whether a "show number" is offered: a role that contacts reporters, on a report that kept a number."""
    return role in REPORTER_PHONE_ROLES and bool(event.reporter_phone) and not event.anonymous


def reveal_phone(session: Session, event: Event, actor: Actor) -> str:
    """The reporter's whole number for a role that contacts reporters, written to the security audit log;
    InputError for any other role or a report without a number (nothing is logged then)."""
    role = actor.user.role if actor.user is not None else None
    if role not in REPORTER_PHONE_ROLES:
        raise InputError([Problem("role", "only dispatchers, shift leaders and collectors see a reporter's number",
                                  "只有派遣员、值班长和监督员可以查看反映人电话")])
    if not may_reveal(role, event):
        raise InputError([Problem("event", "this report keeps no reporter's number", "该上报没有保存反映人电话")])
    record(session, actor, "reporter_phone", f"查看报告人电话：事件 {event.id}（案件 {event.case_id}） / event {event.id} (case {event.case_id})", subject=f"event {event.id}")
    return event.reporter_phone or ""


def forget_reporters(session: Session, days: int, now: datetime | None = None) -> int:
    """PIPL retention: blank the reporter's name and phone on the reports of cases that ended more than `days`
    ago (closed, revisited, not filed, void); returns how many reports were blanked."""
    if days < 1:
        raise InputError([Problem("days", "at least 1 day", "至少 1 天")])
    cutoff = (now or clock.now()) - timedelta(days=days)
    ended = select(Case.id).where(Case.stage.in_(tuple(CASE_ENDED)), Case.closed_at.is_not(None),
                                  Case.closed_at < cutoff)
    result = session.execute(update(Event).where(Event.case_id.in_(ended), (Event.reporter_name.is_not(None))
                                                 | (Event.reporter_phone.is_not(None)))
                             .values(reporter_name=None, reporter_phone=None)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0
