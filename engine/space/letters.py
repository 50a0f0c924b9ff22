"""A frontage holder's responsibility letter (门前三包责任书) and frontage, checked before they are stored: every
problem at once, each named by its field, in both languages."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from shapely.errors import GEOSException
from shapely.geometry import mapping, shape

from engine.space.holders import DUTIES
from rules.problems import Problem

#: How far beyond its frontage a holder answers, at most (a pavement, not a street).
MAX_REACH_METRES = 100.0
SHAPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


@dataclass
class LetterInput:
    number: str | None = None
    signed_on: date | None = None
    signer: str | None = None
    duties: list[str] | None = None
    valid_from: date | None = None
    valid_until: date | None = None


def in_force(signed_on: date | None, valid_from: date | None, valid_until: date | None, day: date) -> bool:
    """A letter counts on a day when it is signed and the day lies in its period (an open end is no limit)."""
    return signed_on is not None and (valid_from is None or valid_from <= day) and (
        valid_until is None or day <= valid_until)


def _no_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are no coordinates


def frontage(raw: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The frontage as stored GeoJSON (rings closed), or None when none was given; a bad one is a problem."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, []
    try:
        geometry = json.loads(raw, parse_constant=_no_constant) if isinstance(raw, str) else raw
        ok = isinstance(geometry, dict) and geometry.get("type") in SHAPES
        shaped = shape(geometry) if ok else None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, GEOSException):
        shaped = None
    if shaped is None or shaped.is_empty:
        return None, [Problem("frontage", "a GeoJSON line, polygon or point in WGS-84, e.g. {\"type\": "
                                          "\"LineString\", \"coordinates\": [[lon, lat], [lon, lat]]}",
                              "须为 WGS-84 的 GeoJSON 线、多边形或点，例如 {\"type\": \"LineString\", "
                              "\"coordinates\": [[经度, 纬度], [经度, 纬度]]}")]
    x0, y0, x1, y1 = shaped.bounds
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        return None, [Problem("frontage", "coordinates are longitude, latitude in degrees", "坐标须为经度、纬度（度）")]
    if not shaped.is_valid:
        return None, [Problem("frontage", "the polygon crosses itself; draw its edges so that they do not cross",
                              "多边形边线自相交，请使边线互不交叉")]
    return json.loads(json.dumps(mapping(shaped))), []


def check_letter(letter: LetterInput) -> list[Problem]:
    """A letter is all or nothing: once any of it is given it needs its signed date, signer and duties; its period
    may not end before it starts; its duties are those engine.space.holders.DUTIES names."""
    problems: list[Problem] = []
    given = any([letter.number, letter.signed_on, letter.signer, letter.duties, letter.valid_from, letter.valid_until])
    if not given:
        return problems
    if letter.signed_on is None:
        problems.append(Problem("letter_signed_on", "the date the letter was signed", "须填写责任书签订日期"))
    if not (letter.signer or "").strip():
        problems.append(Problem("letter_signer", "who signed the letter for the holder", "须填写责任书签订人"))
    duties = letter.duties or []
    unknown = [d for d in duties if d not in DUTIES]
    if unknown:
        problems.append(Problem("letter_duties", f"unknown duty {', '.join(map(str, unknown))}; one of "
                                f"{', '.join(DUTIES)}", f"未知的责任 {'、'.join(map(str, unknown))}；须为 "
                                f"{'、'.join(zh for zh, _en in DUTIES.values())} 之一"))
    elif not duties:
        problems.append(Problem("letter_duties", "the duties the letter covers (at least one)",
                                "须选择责任书包含的责任（至少一项）"))
    if letter.valid_from and letter.valid_until and letter.valid_until < letter.valid_from:
        problems.append(Problem("letter_valid_until", "the letter's period ends before it starts",
                                "责任书有效期的结束日期早于开始日期"))
    return problems


def check_reach(reach: float | None) -> list[Problem]:
    if reach is None or not math.isfinite(reach) or not 0 <= reach <= MAX_REACH_METRES:
        return [Problem("reach_metres", f"metres beyond the frontage, from 0 to {MAX_REACH_METRES:g}",
                        f"责任范围外延（米）须在 0 到 {MAX_REACH_METRES:g} 之间")]
    return []
