"""Evidence photos: checked by their content (Pillow), stored by hash under the evidence folder, their
EXIF time and place read, and a template's evidence rules checked before a task may be submitted.

Evidence rules of a template (all optional):
  {"min_before": 1, "min_after": 1,            # photos per stage, over all photo fields
   "within_metres": 200,                       # a photo's GPS position near the event's location
   "taken_after_dispatch": true}               # a photo's EXIF time not before the task was created
A photo breaking a rule it can be checked against is refused at upload; the counts are checked at submit.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rules.problems import InputError, Problem
from engine.core.models import Event, Evidence, InspectionFinding, Task, User
from engine.core.photos import check_size, inspect_photo, store_photo
from engine.handling.tasks import WORKING

STAGES = ("before", "after")



def _refuse(field: str, en: str, zh: str) -> InputError:
    return InputError([Problem(field, en, zh)])


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    rad = math.radians
    a = (math.sin(rad(lat2 - lat1) / 2) ** 2
         + math.cos(rad(lat1)) * math.cos(rad(lat2)) * math.sin(rad(lon2 - lon1) / 2) ** 2)
    return 6_371_000 * 2 * math.asin(math.sqrt(a))


def photo_fields(task: Task) -> list[str]:
    return [f["name"] for f in task.template.fields or [] if f.get("type") == "photo"]


def add_photo(session: Session, folder: Path, task: Task, uploader: User, field: str, stage: str,
              filename: str, data: bytes, max_bytes: int, zone: ZoneInfo) -> Evidence:
    """Check and store one photo for a task (the caller commits; a refused photo leaves no file or row)."""
    if task.status not in WORKING:
        raise _refuse("task", "photos are added while the task is being handled (signed, handling or returned)",
                      "仅在任务签收后、处置中或返工时可上传照片")
    if field not in photo_fields(task):
        raise _refuse("field", f"the template has no photo field {field!r}", f"任务模板中没有照片字段 {field!r}")
    if stage not in STAGES:
        raise _refuse("stage", "before or after", "须为 before（处置前）或 after（处置后）")
    check_size(data, max_bytes)
    facts = inspect_photo(data, zone)
    rules = task.template.evidence_rules or {}
    if rules.get("taken_after_dispatch") and facts.taken_at and facts.taken_at < task.created_at:
        raise _refuse("file", "the photo was taken before the task was dispatched (EXIF time)",
                      "照片拍摄时间早于任务派遣时间（EXIF 时间）")
    limit = rules.get("within_metres")
    event = task.event
    if limit and facts.lat is not None and event.lat is not None:
        distance = metres(facts.lat, facts.lon, event.lat, event.lon)
        if distance > float(limit):
            raise _refuse("file", f"the photo was taken {distance:.0f} m from the event; at most {limit} m",
                          f"照片拍摄地点距事件 {distance:.0f} 米，超过 {limit} 米")
    return store_photo(session, folder, f"{task.id}", facts, filename, data, uploader, task_id=task.id, field=field,
                       stage=stage)


def submission_problems(session: Session, task: Task) -> list[Problem]:
    """What the template's evidence demands and the task lacks: required photo fields, photos per stage."""
    counts = dict(session.execute(select(Evidence.stage, func.count()).where(Evidence.task_id == task.id)
                                  .group_by(Evidence.stage)).all())
    by_field = set(session.scalars(select(Evidence.field).where(Evidence.task_id == task.id).distinct()))
    problems = [Problem(f["name"], "at least one photo is required", "至少需要一张照片")
                for f in task.template.fields or [] if f.get("type") == "photo" and f.get("required")
                and f["name"] not in by_field]
    rules = task.template.evidence_rules or {}
    for stage, zh in (("before", "处置前"), ("after", "处置后")):
        wanted = int(rules.get(f"min_{stage}") or 0)
        if counts.get(stage, 0) < wanted:
            problems.append(Problem(f"photos.{stage}", f"at least {wanted} photo(s) taken {stage} handling",
                                         f"至少需要 {wanted} 张{zh}照片"))
    return problems


def for_task(session: Session, task_id: int) -> list[Evidence]:
    return list(session.scalars(select(Evidence).where(Evidence.task_id == task_id).order_by(Evidence.id)))


def _of_case(case_id: int):
    """A case's photos: its collector's (核实) and those an inspector took of a finding that reported it."""
    findings = (select(InspectionFinding.id).join(Event, Event.id == InspectionFinding.event_id)
                .where(Event.case_id == case_id))
    return or_(Evidence.case_id == case_id, Evidence.finding_id.in_(findings))


def for_case(session: Session, case_id: int) -> list[Evidence]:
    return list(session.scalars(select(Evidence).where(_of_case(case_id)).order_by(Evidence.id)))


def of_case(session: Session, evidence_id: int, case_id: int) -> Evidence | None:
    """One photo of the case, or None when the photo is not the case's."""
    return session.scalar(select(Evidence).where(Evidence.id == evidence_id, _of_case(case_id)))


def evidence_json(row: Evidence) -> dict[str, Any]:
    return {"id": row.id, "task": row.task_id, "case": row.case_id, "field": row.field, "stage": row.stage, "sha256": row.sha256,
            "content_type": row.content_type, "size": row.size, "width": row.width, "height": row.height,
            "taken_at": row.taken_at.isoformat() if row.taken_at else None, "lat": _finite(row.lat), "lon": _finite(row.lon),
            "created_at": row.created_at.isoformat()}


def _finite(value: float | None) -> float | None:
    """A position stored before intake refused NaN would make the listing invalid JSON: it reads as none."""
    return value if value is not None and math.isfinite(value) else None
