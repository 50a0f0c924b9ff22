"""Frontage holders (门前三包) from a register: one row or feature per holder, matched on its code, with its grid
(short or 15-digit code, else the grid its place lies in), its place and its responsibility letter (责任书).

A column the file does not have leaves that field of an existing holder as it was; a blank cell clears it.
"""
from __future__ import annotations

import re
from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import FrontageHolder, Grid
from engine.core.tables import Columns, cell_date, cell_text
from engine.space import holders
from engine.space.datum import to_wgs84
from engine.space.letters import MAX_REACH_METRES as LETTER_MAX_REACH, LetterInput, check_letter
from engine.space.zones import checked_geometry
from rules.problems import Problem

HOLDER_COLUMNS: Columns = {
    "code": ("编号", "code", "责任单位编号"),
    "name": ("名称", "name", "单位名称", "商户名称"),
    "address": ("地址", "address"),
    "grid": ("网格", "grid", "网格编号", "网格编码", "grid_code"),
    "contact": ("联系方式", "contact", "联系人", "电话"),
    "lat": ("纬度", "lat", "latitude"),
    "lon": ("经度", "lon", "longitude"),
    "reach_metres": ("责任范围（米）", "责任范围", "reach_metres", "reach"),
    "letter_number": ("责任书编号", "letter_number", "letter_no"),
    "letter_signed_on": ("签订日期", "letter_signed_on", "signed_on"),
    "letter_signer": ("签订人", "letter_signer", "signer"),
    "letter_duties": ("责任内容", "letter_duties", "duties"),
    "letter_valid_from": ("有效期起", "letter_valid_from", "valid_from"),
    "letter_valid_until": ("有效期止", "letter_valid_until", "valid_until", "valid_to"),
}
TEXT_LIMITS = {"name": 200, "address": 300, "contact": 200, "letter_number": 64, "letter_signer": 100}
DATES = ("letter_signed_on", "letter_valid_from", "letter_valid_until")
MAX_REACH_METRES = LETTER_MAX_REACH  # as the admin form allows
DUTY_ALIASES = {alias.lower(): duty for duty, (zh, en) in holders.DUTIES.items() for alias in (duty, zh, en)}


def template_csv() -> str:
    """The holders' register as the import expects it: the header row, with a BOM so that Excel reads UTF-8."""
    return "\ufeff" + ",".join(hints[0] for hints in HOLDER_COLUMNS.values()) + "\r\n"


def _number(values: dict[str, Any], name: str, row: int, problems: list[Problem]) -> float | None:
    text = cell_text(values.get(name))
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        problems.append(Problem(name, f"a number, not {text!r}", f"须为数字，而不是「{text}」", row))
        return None


def _duties(text: str, row: int, problems: list[Problem]) -> list[str] | None:
    if not text:
        return None
    parts = [p.strip() for p in re.split(r"[,，、;；/\s]+", text) if p.strip()]
    unknown = [p for p in parts if p.lower() not in DUTY_ALIASES]
    if unknown:
        names = "、".join(zh for zh, _en in holders.DUTIES.values())
        problems.append(Problem("letter_duties", f"unknown duties {', '.join(unknown)} (known: "
                                f"{', '.join(en for _zh, en in holders.DUTIES.values())})",
                                f"未知的责任内容：{'、'.join(unknown)}（可用：{names}）", row))
        return None
    return list(dict.fromkeys(DUTY_ALIASES[p.lower()] for p in parts))


class HolderRows:
    """Holders by code. Points in a table are in the declared datum; a feature's geometry is already WGS-84."""

    def __init__(self, session: Session, datum: str = "wgs84") -> None:
        self.session, self.datum = session, datum
        self.holders = {h.code: h for h in session.scalars(select(FrontageHolder).where(
            FrontageHolder.code.is_not(None)))}
        grids = list(session.scalars(select(Grid).order_by(Grid.code)))
        self.grids = {g.code: g for g in grids} | {g.grid_code: g for g in grids if g.grid_code}
        self.boundaries = [(g, shape(g.boundary)) for g in grids if g.boundary]
        self.seen: dict[str, int] = {}

    def _grid_at(self, place: dict[str, Any]) -> Grid | None:
        point = shape(place).representative_point()
        return next((g for g, boundary in self.boundaries if boundary.contains(point)), None)

    def _place(self, row: int, values: dict[str, Any], geometry: dict[str, Any] | None,
               plan: dict[str, Any], problems: list[Problem]) -> dict[str, Any] | None:
        """Sets lat/lon and frontage in `plan` from the columns or the feature's geometry; answers the place."""
        if geometry is not None:
            if geometry["type"] == "Point":
                plan["lon"], plan["lat"] = geometry["coordinates"][:2]
                plan["frontage"] = None
                return geometry
            found: list[Problem] = []
            plan["frontage"] = checked_geometry({"geometry": geometry}, None, "wgs84", found)
            problems += [Problem(p.where, p.en, p.zh, row) for p in found]
            return plan["frontage"]
        if "lat" not in values and "lon" not in values:
            return None
        lat, lon = _number(values, "lat", row, problems), _number(values, "lon", row, problems)
        if (lat is None) != (lon is None):
            problems.append(Problem("lat", "give both latitude and longitude, or neither", "经纬度须同时填写或都不填",
                                    row))
        elif lat is not None and lon is not None:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                problems.append(Problem("lat", "latitude −90…90 and longitude −180…180 in degrees",
                                        "纬度须在 −90…90、经度须在 −180…180 度之间", row))
                return None
            lat, lon = to_wgs84(lat, lon, self.datum)
        plan["lat"], plan["lon"] = lat, lon
        return {"type": "Point", "coordinates": [lon, lat]} if lat is not None else None

    def check(self, row: int, values: dict[str, Any], geometry: dict[str, Any] | None) -> tuple[Any, list[Problem]]:
        problems: list[Problem] = []
        code = cell_text(values.get("code"))
        if not code or len(code) > 32:
            problems.append(Problem("code", "required: the holder's code in the register, 1–32 characters",
                                    "必填：责任单位编号，1–32 个字符", row))
        elif code in self.seen:
            problems.append(Problem("code", f"holder {code} appears twice (also {self.seen[code]})",
                                    f"编号 {code} 重复出现（另见 {self.seen[code]}）", row))
        self.seen.setdefault(code, row)
        existing = self.holders.get(code)
        plan: dict[str, Any] = {"code": code}
        for name, limit in TEXT_LIMITS.items():
            if name in values:
                plan[name] = cell_text(values[name]) or None
                if plan[name] and len(plan[name]) > limit:
                    problems.append(Problem(name, f"at most {limit} characters", f"最多 {limit} 个字符", row))
        for name, (zh, en) in (("name", ("名称", "name")), ("address", ("地址", "address"))):
            if not plan.get(name, existing and getattr(existing, name)):
                problems.append(Problem(name, f"required: the holder's {en}", f"必填：{zh}", row))
        place = self._place(row, values, geometry, plan, problems)
        if "reach_metres" in values:
            reach = _number(values, "reach_metres", row, problems)
            if reach is not None and not 0 <= reach <= MAX_REACH_METRES:
                problems.append(Problem("reach_metres", f"metres, 0 to {MAX_REACH_METRES:.0f}",
                                        f"以米计，0 至 {MAX_REACH_METRES:.0f}", row))
            plan["reach_metres"] = reach if reach is not None else 15.0
        for name in DATES:
            if name in values:
                plan[name] = None
                if cell_text(values[name]):
                    try:
                        plan[name] = cell_date(values[name])
                    except ValueError:
                        problems.append(Problem(name, "a date such as 2026-09-25", "须为日期，例如 2026-09-25", row))
        if "letter_duties" in values:
            plan["letter_duties"] = _duties(cell_text(values["letter_duties"]), row, problems)

        def current(name: str) -> Any:
            return plan.get(name, getattr(existing, name) if existing is not None else None)
        if not any(p.where.startswith("letter_") for p in problems):  # the admin form's rule: all or nothing
            letter = LetterInput(current("letter_number"), current("letter_signed_on"), current("letter_signer"),
                                 current("letter_duties"), current("letter_valid_from"), current("letter_valid_until"))
            problems += [Problem(p.where, p.en, p.zh, row) for p in check_letter(letter)]
        grid_text = cell_text(values.get("grid"))
        if grid_text:
            plan["grid"] = self.grids.get(grid_text)
            if plan["grid"] is None:
                problems.append(Problem("grid", f"no grid with the code {grid_text!r}", f"没有编号为「{grid_text}」的网格",
                                        row))
        elif place is not None and not any(p.where in ("geometry", "lat", "lon") for p in problems):
            plan["grid"] = self._grid_at(place)
        if plan.get("grid") is None and (existing is None or "grid" in plan) \
                and not any(p.where == "grid" for p in problems):
            problems.append(Problem("grid", "required: the grid's code, or a place inside a grid",
                                    "必填：网格编号，或位于某个网格内的位置", row))
        return plan, problems

    def save(self, plan: dict[str, Any]) -> str:
        holder = self.holders.get(plan["code"])
        if holder is None:
            holder = FrontageHolder(**plan)
            holders.touch(holder)
            self.session.add(holder)
            outcome = "created"
        elif all(getattr(holder, k) == v for k, v in plan.items()):
            return "unchanged"
        else:
            for key, value in plan.items():
                setattr(holder, key, value)
            holders.touch(holder)
            outcome = "updated"
        holders.clear()
        return outcome
