"""Who reported an event (来电人/反映人 and their number) and how sure a camera was: the optional intake
fields, and who may read the reporter's phone back.

A hotline caller's number is personal data: it is stored once, read whole only by the roles that call
people back (engine.people.staff.PHONE_ROLES), masked for everyone else, and never stored for a caller
who asked to stay anonymous.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.core.models import Event
from engine.people.staff import shown_phone
from rules.problems import Problem

MAX_NAME = 64
#: What a phone number may contain once spaces and dashes are taken out: an optional +, then 6–30 digits.
PHONE_DIGITS = re.compile(r"\+?[0-9]{6,30}")
#: The source type whose reports carry a detection confidence.
CONFIDENCE_SOURCE = "camera"


@dataclass(frozen=True)
class Reporter:
    """The reporter as a reader may see them: the phone already masked for roles that do not call back."""

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


def shown_reporter(event: Event, role: str | None) -> Reporter | None:
    """The reporter as `role` may read them (None: an anonymous report, or nobody named)."""
    if event.anonymous or not (event.reporter_name or event.reporter_phone):
        return None
    phone = shown_phone(event.reporter_phone, role) if event.reporter_phone else None
    return Reporter(event.reporter_name, phone)
