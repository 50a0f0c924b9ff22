"""Evidence photos: checked by their content (Pillow), stored by hash under the evidence folder, their
EXIF time and place read, and a template's evidence rules checked before a task may be submitted.

Evidence rules of a template (all optional):
  {"min_before": 1, "min_after": 1,            # photos per stage, over all photo fields
   "within_metres": 200,                       # a photo's GPS position near the event's location
   "taken_after_dispatch": true}               # a photo's EXIF time not before the task was created
A photo breaking a rule it can be checked against is refused at upload; the counts are checked at submit.
"""
from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core import clock
from rules.problems import InputError, Problem
from engine.core.models import Evidence, Task, User
from engine.handling.tasks import WORKING
from PIL import Image, UnidentifiedImageError

IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
STAGES = ("before", "after")
MAX_PIXELS = 60_000_000  # refuse decompression bombs long before Pillow's own limit


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    extension: str
    width: int
    height: int
    taken_at: datetime | None
    lat: float | None
    lon: float | None


def _refuse(field: str, en: str, zh: str) -> InputError:
    return InputError([Problem(field, en, zh)])


def inspect_photo(data: bytes, zone: ZoneInfo) -> PhotoFacts:
    """What the bytes really are (never the name or the claimed type), with EXIF time and GPS if present."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise _refuse("file", "not a photo: the content is not a JPEG, PNG or WebP image",
                      "不是照片：文件内容不是 JPEG、PNG 或 WebP 图像") from err
    if image.format not in IMAGE_TYPES:
        raise _refuse("file", f"{image.format} images are not accepted; send JPEG, PNG or WebP",
                      f"不接受 {image.format} 格式的图像，请上传 JPEG、PNG 或 WebP")
    if image.width * image.height > MAX_PIXELS:
        raise _refuse("file", "the image has too many pixels", "图像像素过多")
    content_type, extension = IMAGE_TYPES[image.format]
    taken_at, lat, lon = _exif(image, zone)
    return PhotoFacts(content_type, extension, image.width, image.height, taken_at, lat, lon)


def _exif(image: Any, zone: ZoneInfo) -> tuple[datetime | None, float | None, float | None]:
    try:
        exif = image.getexif()
    except Exception:
        return None, None, None
    taken_at = None
    raw = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, else DateTime
    offset = exif.get_ifd(0x8769).get(0x9011)  # OffsetTimeOriginal, e.g. "+08:00"
    if isinstance(raw, str):
        try:
            taken_at = datetime.strptime(raw.strip(), "%Y:%m:%d %H:%M:%S")
            if isinstance(offset, str) and len(offset) == 6:
                taken_at = datetime.fromisoformat(taken_at.isoformat() + offset)
            else:
                taken_at = taken_at.replace(tzinfo=zone)  # cameras write local time
        except ValueError:
            taken_at = None
    gps = exif.get_ifd(0x8825)
    lat = _degrees(gps.get(2), gps.get(1))
    lon = _degrees(gps.get(4), gps.get(3))
    return taken_at, lat, lon


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError):
        return None
    result = d + m / 60 + s / 3600
    return -result if ref in ("S", "W") else result


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


def check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise _refuse("file", "the file is empty", "文件为空")
    if len(data) > max_bytes:
        raise _refuse("file", f"a photo may be at most {max_bytes // 2**20} MB", f"照片不得超过 {max_bytes // 2**20} MB")


def store_photo(session: Session, folder: Path, subfolder: str, facts: PhotoFacts, filename: str, data: bytes,
                uploader: User | None, **owner: Any) -> Evidence:
    """Write a checked photo under its hash (never half-written under its final name) and add its row; `owner`
    names its task (with field and stage) or its case."""
    digest = hashlib.sha256(data).hexdigest()
    stored = f"{subfolder}/{digest}.{facts.extension}"
    path = folder / stored
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    row = Evidence(**owner, uploader_id=uploader.id if uploader else None,
                   stored_name=stored, original_name=(filename or "photo")[:255], sha256=digest,
                   content_type=facts.content_type, size=len(data), width=facts.width, height=facts.height,
                   taken_at=facts.taken_at, lat=facts.lat, lon=facts.lon, created_at=clock.now())
    session.add(row)
    session.flush()
    return row


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


def for_case(session: Session, case_id: int) -> list[Evidence]:
    return list(session.scalars(select(Evidence).where(Evidence.case_id == case_id).order_by(Evidence.id)))


def evidence_json(row: Evidence) -> dict[str, Any]:
    return {"id": row.id, "task": row.task_id, "case": row.case_id, "field": row.field, "stage": row.stage, "sha256": row.sha256,
            "content_type": row.content_type, "size": row.size, "width": row.width, "height": row.height,
            "taken_at": row.taken_at.isoformat() if row.taken_at else None, "lat": row.lat, "lon": row.lon,
            "created_at": row.created_at.isoformat()}
