"""Time limits as city standards write them (2小时, 4工作时, 2紧急工作时, 1紧急工作日, 3天, 15天, 2工作日 …), read
into an amount of one of rules/limits.py's units.

The reading follows the standards' own convention: anything 紧急 runs on continuous time; 小时 and 工作时 are
working hours; 天, 日 and 工作日 are working days. Our own wording ("2 小时（连续计时）") reads back too.
"""
from __future__ import annotations

import re

from rules.limits import LIMIT_MAX

#: Spellings of each unit, longest first so that 紧急工作时 is not read as 工作时.
SPELLINGS: tuple[tuple[str, str], ...] = tuple(sorted((
    ("小时（连续计时）", "urgent_hours"), ("小时(连续计时)", "urgent_hours"),
    ("天（连续计时）", "urgent_days"), ("天(连续计时)", "urgent_days"),
    ("紧急工作小时", "urgent_hours"), ("紧急工作时", "urgent_hours"), ("紧急小时", "urgent_hours"),
    ("紧急工作日", "urgent_days"), ("紧急工作天", "urgent_days"), ("紧急日", "urgent_days"), ("紧急天", "urgent_days"),
    ("工作小时", "working_hours"), ("工作时", "working_hours"), ("小时", "working_hours"), ("时", "working_hours"),
    ("工作日", "working_days"), ("工作天", "working_days"), ("天", "working_days"), ("日", "working_days"),
    ("ewh", "urgent_hours"), ("ewd", "urgent_days"), ("wh", "working_hours"), ("h", "working_hours"),
    ("wd", "working_days"), ("d", "working_days"),
), key=lambda pair: -len(pair[0])))
_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?|[零一二两三四五六七八九十]+|半)")
_NOISE = re.compile(r"[\s个之以内]")


def _chinese_number(text: str) -> float | None:
    """一 … 九十九 and 半 (half), as limits are sometimes written out."""
    if text == "半":
        return 0.5
    if "十" not in text:
        return float(_DIGITS[text]) if len(text) == 1 else None
    tens, _, units = text.partition("十")
    if len(tens) > 1 or len(units) > 1:
        return None
    return float((_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[units] if units else 0))


def parse_limit(text: object) -> tuple[float, str] | None:
    """'2紧急工作时' → (2.0, 'urgent_hours'); None when the text is not an amount of a known unit within its range."""
    if not isinstance(text, str):
        return None
    cleaned = _NOISE.sub("", text).lower()
    match = _NUMBER.match(cleaned)
    if not match:
        return None
    number = match.group(1)
    value = float(number) if number[0].isdigit() else _chinese_number(number)
    rest = cleaned[match.end():]
    unit = next((code for spelling, code in SPELLINGS if rest == spelling), None)
    if value is None or unit is None or not 0 < value <= LIMIT_MAX[unit]:
        return None
    return value, unit
