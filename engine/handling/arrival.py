"""Arrival on site (到达现场): the instant a field unit reached the place of a task, and where it was.

The first response indicator (engine/assessment/indicators.py) counts dispatch → arrival from these. Like
assignment, an arrival is not a move of state: a transition row with the action `arrive` and the status
unchanged records it, with the position and how it was obtained in its data, so the history and the audit
chain show it. The position comes from the phone (`device`, the browser's geolocation, which needs HTTPS or
localhost), from a photo of the task (`exif`, the newest with an EXIF position), or is typed or pinned on a map
(`manual`); each is recorded as such.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Evidence, Task, TaskTransition, User
from engine.core.states import TaskStatus
from engine.people.staff import unit_and_below
from rules.problems import InputError, Problem

SOURCES: dict[str, tuple[str, str]] = {
    "device": ("手机定位", "the phone's location"),
    "exif": ("照片位置（EXIF）", "a photo's EXIF position"),
    "manual": ("手动标注", "entered by hand"),
}
#: States in which the unit may still be on its way or on site.
OPEN = frozenset({TaskStatus.DISPATCHED, TaskStatus.SIGNED, TaskStatus.HANDLING, TaskStatus.RETURNED})


class ArrivalRefused(Exception):
    """The actor may not record an arrival on this task; nothing was written."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(en)

    def message(self, lang: str = "en") -> str:
        return self.zh if lang.startswith("zh") else self.en


def may_arrive(session: Session, task: Task, actor: Optional[User]) -> bool:
    """Only the task's own unit (its account, a unit above it, or the person it is assigned to), while it is open."""
    if actor is None or actor.role != "field_unit" or task.status not in OPEN:
        return False
    return task.unit_id in unit_and_below(session, actor.unit_id) or (
        task.assignee is not None and task.assignee.user_id == actor.id)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def position(session: Session, task: Task, data: dict[str, Any]) -> dict[str, Any]:
    """The checked position of an arrival: lat, lon, accuracy (metres, optional) and source; every problem at once."""
    source = data.get("source") or "device"
    problems: list[Problem] = []
    if source not in SOURCES:
        problems.append(Problem("source", f"one of {', '.join(SOURCES)}", f"须为 {'、'.join(SOURCES)} 之一"))
        raise InputError(problems)
    if source == "exif":
        photo = session.execute(select(Evidence.lat, Evidence.lon).where(
            Evidence.task_id == task.id, Evidence.lat.is_not(None), Evidence.lon.is_not(None))
            .order_by(Evidence.id.desc()).limit(1)).first()
        if photo is None:
            raise InputError([Problem("source", "no photo of this task carries a position (EXIF GPS); upload one "
                                                "taken on site, or enter the position by hand",
                                      "该任务的照片均无位置信息（EXIF GPS），请上传现场拍摄的照片或手动填写位置")])
        return {"lat": photo.lat, "lon": photo.lon, "accuracy": None, "source": source}
    lat, lon = _number(data.get("lat")), _number(data.get("lon"))
    if lat is None or not -90 <= lat <= 90:
        problems.append(Problem("lat", "the latitude where you are, from −90 to 90 (allow location, or enter it)",
                                "须填写所在位置的纬度（−90 至 90）：请允许定位或手动填写"))
    if lon is None or not -180 <= lon <= 180:
        problems.append(Problem("lon", "the longitude where you are, from −180 to 180",
                                "须填写所在位置的经度（−180 至 180）"))
    accuracy = data.get("accuracy")
    if accuracy not in (None, ""):
        accuracy = _number(accuracy)
        if accuracy is None or accuracy < 0:
            problems.append(Problem("accuracy", "the accuracy in metres, a number not below 0",
                                    "定位精度（米）须为不小于 0 的数字"))
    else:
        accuracy = None
    if problems:
        raise InputError(problems)
    return {"lat": round(lat, 7), "lon": round(lon, 7), "accuracy": accuracy, "source": source}


def record_arrival(session: Session, task: Task, actor: Optional[User], data: dict[str, Any], now: datetime,
                   comment: str = "") -> TaskTransition:
    """Record that the unit reached the task's place at `now`, with its position; flushes, never commits."""
    if not may_arrive(session, task, actor):
        raise ArrivalRefused("只有任务所属单位可以在任务办理期间登记到达现场。",
                             "Only the task's own unit may record arriving on site, while the task is open.")
    place = position(session, task, data)
    row = TaskTransition(task_id=task.id, from_status=task.status, to_status=task.status, action="arrive",
                         actor_id=actor.id, at=now, comment=comment, data=place)
    session.add(row)
    session.flush()
    return row


def first_arrival(session: Session, task_id: int) -> TaskTransition | None:
    return session.scalar(select(TaskTransition).where(TaskTransition.task_id == task_id,
                                                       TaskTransition.action == "arrive")
                          .order_by(TaskTransition.at, TaskTransition.id).limit(1))


def source_name(code: Any, lang: str) -> str:
    zh, en = SOURCES.get(code, (str(code), str(code)))
    return zh if lang.startswith("zh") else en
