"""Photos as evidence, wherever they are taken (a unit's handling, a collector's 核实): what the bytes really are,
their EXIF time and place, and storage by content hash that never leaves a half-written file.

The caller owns the transaction: `store_photo` flushes its row, never commits.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import Evidence, User
from rules.problems import InputError, Problem

IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_PIXELS = 60_000_000  # refuse decompression bombs long before Pillow's own limit


@dataclass(frozen=True)
class Photo:
    """A photo as uploaded: its file name (named in problems only, never trusted) and its bytes."""

    filename: str
    data: bytes


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
    too_many = _refuse("file", f"the image has too many pixels (at most {MAX_PIXELS:,})",
                       f"图像像素过多（最多 {MAX_PIXELS:,} 像素）")
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only: the size is known before decoding
            if probe.width * probe.height > MAX_PIXELS:
                raise too_many
            probe.verify()
        image = Image.open(io.BytesIO(data))
    except InputError:
        raise
    except Image.DecompressionBombError as err:  # Pillow's own limit, should a format report its size late
        raise too_many from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise _refuse("file", "not a photo: the content is not a JPEG, PNG or WebP image",
                      "不是照片：文件内容不是 JPEG、PNG 或 WebP 图像") from err
    if image.format not in IMAGE_TYPES:
        raise _refuse("file", f"{image.format} images are not accepted; send JPEG, PNG or WebP",
                      f"不接受 {image.format} 格式的图像，请上传 JPEG、PNG 或 WebP")
    if image.width * image.height > MAX_PIXELS:
        raise too_many
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
    if isinstance(offset, str) and offset.strip("\x00 ") and not _valid_offset(offset.strip("\x00 ")):
        raise _refuse("file", f"the photo's EXIF time offset {offset.strip()!r} is not a valid UTC offset",
                      f"照片 EXIF 时间的时区偏移 {offset.strip()!r} 无效")
    if isinstance(raw, str):
        try:
            taken_at = datetime.strptime(raw.strip(), "%Y:%m:%d %H:%M:%S")
            if isinstance(offset, str) and offset.strip("\x00 "):
                taken_at = datetime.fromisoformat(taken_at.isoformat() + offset.strip("\x00 "))
            else:
                taken_at = taken_at.replace(tzinfo=zone)  # cameras write local time
        except ValueError:
            taken_at = None
    gps = exif.get_ifd(0x8825)
    lat = _degrees(gps.get(2), gps.get(1), 90)
    lon = _degrees(gps.get(4), gps.get(3), 180)
    return taken_at, lat, lon


OFFSET = re.compile(r"[+-](\d\d):(\d\d)")


def _valid_offset(text: str) -> bool:
    """±HH:MM within the offsets clocks use (UTC-12:00 to UTC+14:00)."""
    match = OFFSET.fullmatch(text)
    return bool(match) and int(match[1]) * 60 + int(match[2]) <= 14 * 60 and int(match[2]) < 60


def _degrees(value: Any, ref: Any, most: float) -> float | None:
    """Degrees from EXIF's rationals; a zero denominator or a value off the globe is no position at all."""
    try:
        d, m, s = (float(x) for x in value)
        result = d + m / 60 + s / 3600
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(result) or not 0 <= result <= most:
        return None
    return -result if ref in ("S", "W") else result


def check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise _refuse("file", "the file is empty", "文件为空")
    if len(data) > max_bytes:
        raise _refuse("file", f"a photo may be at most {max_bytes // 2**20} MB", f"照片不得超过 {max_bytes // 2**20} MB")


def inspect_photos(photos: list[Photo], where: str, max_bytes: int, zone: ZoneInfo,
                   problems: list[Problem]) -> list[tuple[Photo, PhotoFacts]]:
    """Each photo's size and content checked; what is wrong is added under `where`, named by the file name, so
    one bad photo among several is told apart."""
    checked = []
    for photo in photos:
        try:
            check_size(photo.data, max_bytes)
            checked.append((photo, inspect_photo(photo.data, zone)))
        except InputError as err:
            problems.extend(Problem(where, f"{photo.filename}: {p.en}", f"{photo.filename}：{p.zh}")
                            for p in err.problems)
    return checked


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
    name = (filename or "").replace("\x00", "")[:255] or "photo"  # PostgreSQL refuses a NUL byte in text
    row = Evidence(**owner, uploader_id=uploader.id if uploader else None,
                   stored_name=stored, original_name=name, sha256=digest,
                   content_type=facts.content_type, size=len(data), width=facts.width, height=facts.height,
                   taken_at=facts.taken_at, lat=facts.lat, lon=facts.lon, created_at=clock.now())
    session.add(row)
    session.flush()
    return row
