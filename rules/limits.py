"""The units a time limit (时限) is counted in, one row each: their names in both languages, how an amount
of them reads, and the longest limit the working-time calendar is asked to count.

Validation, the working-time calendar's wording and every editor's unit picker read this table.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LimitUnit:
    code: str
    label: tuple[str, str]  # zh, en: the unit's name in a picker
    amount: tuple[str, str]  # zh, en: an amount of it, with {n}
    most: int  # a year in this unit; the calendar refuses anything past three

    def label_in(self, lang: str) -> str:
        return self.label[0 if lang.startswith("zh") else 1]

    def amount_in(self, value: float, lang: str) -> str:
        """'2 工作时', '1 个工作日', '2 小时（连续计时）' and their English forms."""
        number = int(value) if float(value).is_integer() else value
        return self.amount[0 if lang.startswith("zh") else 1].format(n=number)


LIMIT_UNIT_TABLE: dict[str, LimitUnit] = {u.code: u for u in (
    LimitUnit("urgent_hours", ("小时（连续计时）", "hours (continuous)"),
              ("{n} 小时（连续计时）", "{n} h (continuous)"), 24 * 366),
    LimitUnit("working_hours", ("工作小时", "working hours"), ("{n} 工作时", "{n} working hour(s)"), 8 * 366),
    LimitUnit("working_days", ("工作日", "working days"), ("{n} 个工作日", "{n} working day(s)"), 366),
    LimitUnit("urgent_days", ("天（连续计时）", "days (continuous)"),
              ("{n} 天（连续计时）", "{n} day(s) (continuous)"), 366),
)}
LIMIT_UNITS = tuple(LIMIT_UNIT_TABLE)
#: The longest time limit per unit: a year; the working-time calendar refuses anything past three.
LIMIT_MAX = {code: u.most for code, u in LIMIT_UNIT_TABLE.items()}


def limit_units_for_editor(lang: str) -> list[dict[str, str]]:
    """Every unit as a picker offers it: its code and its name in `lang`."""
    return [{"code": code, "label": u.label_in(lang)} for code, u in LIMIT_UNIT_TABLE.items()]
