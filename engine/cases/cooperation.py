"""主办/协办 (issue 14, point 6): a case has one lead unit and any number of cooperating units, each with its own
task. A cooperating unit answers the lead by submitting its task (its comment and form answers); the case closes
once the lead's task has passed its check and every cooperating unit has answered (engine/cases/closing.py).
Whose tasks carry the case's points is the campaign's choice: the lead's only, or shared equally.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from engine.core.models import Case, Task, Unit
from engine.core.states import TaskStatus

LEAD = "lead"
COOPERATING = "cooperating"
#: A cooperating unit has answered the lead once its task is submitted (or checked and closed).
ANSWERED: frozenset[str] = frozenset({TaskStatus.SUBMITTED, TaskStatus.CLOSED})
#: No answer is outstanding: answered, or the task was voided (the unit has nothing to do).
SETTLED: frozenset[str] = ANSWERED | {TaskStatus.VOIDED}

#: Whose tasks carry a case's points (AssessmentConfig.cooperation_points), in (zh, en).
COOPERATION_POINTS: dict[str, tuple[str, str]] = {
    "lead": ("仅计入主办单位", "the lead unit only"),
    "shared": ("主办与协办单位均分", "shared equally by the lead and cooperating units"),
}
DEFAULT_COOPERATION_POINTS = "lead"
#: Shares are counted in hundredths; what they leave goes to the unit the points row named.
SHARE_STEP = Decimal("0.01")


def latest_round(case: Case) -> list[Task]:
    """The case's tasks of its latest round: those it got when it was last reopened, else all of them."""
    latest = max((t.reopening for t in case.tasks), default=0)
    return [t for t in case.tasks if t.reopening == latest]


def lead_task(case: Case) -> Task | None:
    """The task of the case's lead unit (主办), else its first live task, in its latest round (a reopened case)."""
    live = [t for t in latest_round(case) if t.status != TaskStatus.VOIDED]
    return next((t for t in live if t.unit_id == case.lead_unit_id), live[0] if live else None)


def lead_tasks(case: Case) -> list[Task]:
    """The lead task of every round, as `lead_task` picks it in the latest, so a reopened case's earlier checks
    still count (the 核查 clock)."""
    found = []
    for reopening in sorted({t.reopening for t in case.tasks}):
        live = [t for t in case.tasks if t.reopening == reopening and t.status != TaskStatus.VOIDED]
        lead = next((t for t in live if t.unit_id == case.lead_unit_id), live[0] if live else None)
        if lead is not None:
            found.append(lead)
    return found


def role_of(task: Task) -> str | None:
    """`lead` or `cooperating` for a task of a case, None for a task of no case."""
    if task.case is None:
        return None
    return LEAD if lead_task(task.case) is task else COOPERATING


@dataclass(frozen=True)
class Answer:
    """What one cooperating unit has told the lead: its latest submission (comment and form answers), if any."""

    task: Task
    unit: Unit
    status: str
    comment: str
    fields: tuple[tuple[str, str, Any, dict[str, Any]], ...]  # (zh label, en label, value, field spec)
    at: datetime | None

    @property
    def answered(self) -> bool:
        return self.status in ANSWERED

    def text(self, lang: str) -> str:
        """The comment, then each form answer as `label: value`, in the reader's language."""
        zh = lang.startswith("zh")
        parts = [self.comment] if self.comment else []
        for label_zh, label_en, value, spec in self.fields:
            parts.append(f"{label_zh if zh else label_en}{'：' if zh else ': '}{_value_text(value, spec, zh)}")
        return ("；" if zh else "; ").join(parts)


def _value_text(value: Any, spec: dict[str, Any], zh: bool) -> str:
    options = {str(o.get("value")): (o.get("zh") or str(o.get("value")), o.get("en") or o.get("zh")
                                     or str(o.get("value"))) for o in spec.get("options", [])}
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    items = value if isinstance(value, list) else [value]
    shown = [options[str(v)][0 if zh else 1] if str(v) in options else str(v) for v in items]
    return ("、" if zh else ", ").join(shown)


def answers(case: Case) -> list[Answer]:
    """Each cooperating unit's answer to the lead, in task order: the tasks of the case other than the lead's."""
    lead = lead_task(case)
    return [answer_of(task) for task in latest_round(case) if task is not lead]


def answer_of(task: Task) -> Answer:
    """A task's latest submission as an answer: a task never submitted has none."""
    submitted = next((x for x in reversed(task.transitions) if x.action == "submit"), None)
    specs = {spec["name"]: spec for spec in (task.template.fields or []) if spec.get("type") != "photo"}
    data = (submitted.data or {}) if submitted is not None else {}
    fields = tuple((spec.get("zh") or name, spec.get("en") or spec.get("zh") or name, data[name], spec)
                   for name, spec in specs.items() if data.get(name) not in (None, "", [], False))
    return Answer(task, task.unit, task.status, (submitted.comment or "").strip() if submitted else "", fields,
                  submitted.at if submitted is not None else None)


def unanswered(case: Case) -> list[Answer]:
    """The cooperating units that still owe the lead their answer (a voided task owes nothing)."""
    return [a for a in answers(case) if a.status not in SETTLED]


def split(points: float, units: list[int], named: int) -> dict[int, float]:
    """A case's points shared equally by `units`, in hundredths; `named` (the unit the points row named) takes
    what the hundredths leave, so the shares add up exactly to the points (3 by 2 units: 1.5 each; 1 by 3:
    0.34 and 0.33 twice)."""
    whole = Decimal(repr(float(points)))  # the decimal it was configured as, as the indicators count it
    share = (whole / len(units)).quantize(SHARE_STEP, rounding=ROUND_DOWN)
    shares = {unit: float(share) for unit in units}
    shares[named] = float(whole - share * (len(units) - 1))
    return shares
