"""What the task page reads besides the task itself: the unit's submitted form as label → value, the checker's
earlier fail reasons and the dispatcher's refusals (shown first, as people act on them), since when the task is
overdue, the place as map links a phone opens, and engine problems named by the field the user sees rather than by
their data path."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from flask_babel import gettext as _, lazy_gettext as _l

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.routing import ROLES, duty_behind
from engine.core.models import Campaign, Event, Evidence, Task, TaskTemplate, TaskTransition
from engine.evaluation.decide import ROUTINE
from engine.handling.overdue import overdue_since as ran_overdue
from engine.space.datum import from_wgs84
from rules.limits import LIMIT_UNIT_TABLE
from rules.problems import InputError
from web.common.display import name_of

REJECTIONS = ("reject_extension", "reject_park", "reject_void")
#: Reports whose finding goes to the inspection point's unit (engine/readiness/findings.py), not by the duty lists.
FINDING_SOURCES = ("readiness", "mock_evaluation", "official_evaluation")
#: The act form's own inputs, by the name a Problem carries (with or without its `data.` path).
ACT_FIELDS = {"comment": _l("Reason"), "until": _l("Parked until"), "limit_value": _l("Extension length"),
              "limit_unit": _l("Unit of the length"), "unit": _l("New unit"), "grounds": _l("Grounds"),
              "version": _l("Task version"), "action": _l("Action"), "data": _l("Form"), "stage": _l("Taken"),
              "field": _l("Photo field")}
#: The photo stages as captions.
STAGES = {"before": _l("before handling"), "after": _l("after handling")}


@dataclass
class Answer:
    name: str
    label: str
    value: str
    photos: list[Evidence]


def _label(spec: dict[str, Any], lang: str) -> str:
    return str(spec.get(lang) or spec.get("zh") or spec.get("name"))


def due_at_inspection(session: Session, task: Task) -> bool:
    """Whether the task is due when its campaign's inspection starts: a task at an inspection point whose
    working-time deadline would have fallen after it (engine.core.worktime.before_inspection), or was held there on
    resuming (engine.handling.inspection_deadline), so its page says why."""
    starts = session.scalar(select(Campaign.inspection_starts_at).where(Campaign.id == task.campaign_id))
    return starts is not None and task.deadline_at == starts


def overdue_since(task: Task, now: datetime) -> datetime | None:
    """When the task ran overdue, by the rule the indicators count (engine/handling/overdue.py): the unit sees
    that work returned after its deadline is late however often it was submitted in time."""
    moves = sorted(((x.at, x.id, x.action) for x in task.transitions), key=lambda m: (m[0], m[1]))
    return ran_overdue(((at, action) for at, _id, action in moves), task.deadline_at, now)


def latest(task: Task, action: str) -> TaskTransition | None:
    return next((x for x in reversed(task.transitions) if x.action == action), None)


def _shown(spec: dict[str, Any], value: Any, lang: str) -> str:
    """One answer in words: choices by their option's label, a checkbox as 是/否, a time without its T."""
    kind = spec.get("type", "text")
    names = {str(o.get("value")): o.get(lang) or o.get("zh") or str(o.get("value")) for o in spec.get("options", [])}
    if kind == "checkbox":
        return _("Yes") if value else _("No")
    if value in (None, "", []):
        return "—"
    if kind == "choice":
        return names.get(str(value), str(value))
    if kind == "multichoice":
        return "、".join(names.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value]))
    if kind == "datetime":
        return str(value).replace("T", " ")[:16]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def answers(template: TaskTemplate, data: dict[str, Any] | None, photos: list[Evidence], lang: str) -> list[Answer]:
    """The submitted form in the template's order, each field by its label; photo fields carry their photos."""
    data = data or {}
    rows = []
    for spec in template.fields or []:
        name = spec.get("name")
        if spec.get("type") == "photo":
            rows.append(Answer(name, _label(spec, lang), "", [p for p in photos if p.field == name]))
        elif name in data:
            rows.append(Answer(name, _label(spec, lang), _shown(spec, data.get(name), lang), []))
    return rows


def ticked(task: Task) -> set[int]:
    """The checklist items ticked in the unit's latest submission."""
    row = latest(task, "submit")
    ticks = (row.data or {}).get("checklist") if row is not None else None
    return {t for t in ticks if isinstance(t, int)} if isinstance(ticks, list) else set()


def checklist_ticks(template: TaskTemplate, given: list[str]) -> list[int]:
    """The ticked items of a submitted checklist, as indices into the template's list."""
    size = len(template.checklist or [])
    return sorted({int(v) for v in given if v.isdecimal() and int(v) < size})


def refusals(task: Task) -> tuple[list[TaskTransition], list[TaskTransition]]:
    """The checker's fail reasons and the dispatcher's rejections, newest first."""
    rows = list(reversed(task.transitions))
    return [x for x in rows if x.action == "fail_check"], [x for x in rows if x.action in REJECTIONS]


def map_links(event: Event) -> dict[str, str] | None:
    """A `geo:` link (WGS-84, RFC 5870) the phone's map app opens, and Gaode's web marker, which reads GCJ-02."""
    if event.lat is None or event.lon is None:
        return None
    label = quote(event.address or "", safe="")
    geo = f"geo:{event.lat:.6f},{event.lon:.6f}?q={event.lat:.6f},{event.lon:.6f}" + (f"({label})" if label else "")
    lat, lon = from_wgs84(event.lat, event.lon, "gcj02")
    amap = "https://uri.amap.com/marker?" + urlencode({"position": f"{lon:.6f},{lat:.6f}",
                                                        "name": event.address or "", "coordinate": "gaode"})
    return {"geo": geo, "amap": amap}


def field_name(template: TaskTemplate, where: str, lang: str) -> str:
    """A problem's field as the user sees it labelled: the act form's inputs, else the template's fields."""
    name = where.removeprefix("data.")
    if name in ACT_FIELDS:
        return str(ACT_FIELDS[name])
    if name.startswith("photos.") and name[7:] in STAGES:
        return str(STAGES[name[7:]])
    spec = next((f for f in template.fields or [] if f.get("name") == name), None)
    return _label(spec, lang) if spec else name


def by_input(err: InputError, lang: str) -> dict[str, list[str]]:
    """The problems per act-form field (their `data.` path dropped), for the form to show next to each input."""
    found: dict[str, list[str]] = {}
    for problem in err.problems:
        found.setdefault(problem.where.removeprefix("data."), []).append(problem.message(lang))
    return found


def limit_units(lang: str) -> list[tuple[str, str]]:
    return [(code, u.label_in(lang)) for code, u in LIMIT_UNIT_TABLE.items()]


def routine_origin(session: Session, task: Task, lang: str) -> str | None:
    """Why a task no rule made exists, in one line: the duty lists gave it to the unit (常规派遣（职责清单）：主办 ·
    the duty row), an evaluation or readiness finding went to its point's unit, or the dispatcher named the unit;
    None for a task a rule made, which has its rule cards."""
    if task.rule_key != ROUTINE or task.firings:
        return None
    source = task.event.source_type
    if source in FINDING_SOURCES:
        return _("Found by the %(source)s; sent to the responsible unit of the inspection point",
                 source=name_of("source_type", source, lang))
    category_id = task.case.category_id if task.case is not None else task.event.category_id
    duty = duty_behind(session, category_id, task.event.grid_id, task.unit_id)
    if duty is None:
        return _("Routine dispatch (the dispatcher named the unit)")
    role = ROLES.get(duty.role or "", ("", ""))[0 if lang == "zh" else 1]
    text = duty.text_zh if lang == "zh" or not duty.text_en else duty.text_en
    return _("%(dispatch)s: %(role)s · %(duty)s", dispatch=name_of("list_kind", ROUTINE, lang), role=role, duty=text)
