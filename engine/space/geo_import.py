"""Onboarding a city's geography (issue 16, point 6): grids, zones and frontage holders from GeoJSON or a Shapefile
(holders also from CSV/XLSX), all features or none, each bad one named by its number and field in both languages.

Attributes map to fields by name, Chinese or English, as the permits import maps its columns; a column nobody knows
is refused by name rather than ignored (GIS housekeeping such as OBJECTID and Shape_Area excepted). Grids are matched
on their short code, holders on their code and zones on kind, name and campaign, so importing the same file again
changes nothing. Every check runs before anything is written; the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Campaign, Grid, Unit, Zone
from engine.core.tables import Columns, cell_text
from engine.space import geo
from engine.space.geo_files import Feature, Layer, read_layer
from engine.space.grids import grid_code_problems
from engine.space.holder_import import HOLDER_COLUMNS, HolderRows
from engine.space.zones import KIND_NAMES, check, checked_geometry, save_zone, set_active
from rules.problems import InputError, Problem

TARGETS: dict[str, tuple[str, str]] = {"grids": ("网格", "grids"), "zones": ("区域", "zones"),
                                       "holders": ("门前三包责任单位", "frontage holders")}
GRID_COLUMNS: Columns = {
    "code": ("网格编号", "code", "短编码", "short_code"),
    "grid_code": ("网格编码", "grid_code", "标准编码", "标准网格编码"),
    "name_zh": ("网格名称", "name_zh", "名称", "name"),
    "name_en": ("英文名称", "name_en"),
    "unit": ("责任单位", "unit", "单位"),
}
ZONE_COLUMNS: Columns = {
    "kind": ("类型", "kind", "区域类型"),
    "name": ("名称", "name", "区域名称"),
    "width_metres": ("宽度（米）", "宽度", "width_metres", "width"),
    "buffer_metres": ("缓冲距离（米）", "缓冲距离", "buffer_metres", "buffer"),
    "campaign": ("专项行动", "campaign"),
}
COLUMNS: dict[str, Columns] = {"grids": GRID_COLUMNS, "zones": ZONE_COLUMNS, "holders": HOLDER_COLUMNS}
#: Attributes GIS tools add on their own: read past, never refused.
IGNORED = frozenset({"fid", "objectid", "id", "shape_leng", "shape_length", "shape_area", "shape_len"})
ZONE_KIND_ALIASES = {alias.lower(): kind for kind, (zh, en) in KIND_NAMES.items() for alias in (kind, zh, en)}


@dataclass
class GeoImport:
    """What an import did: counts, or (nothing stored) every problem, numbered by feature or by row."""

    target: str
    numbered: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def bad(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None})


class Rows(Protocol):
    """One target's checks and saves: `check` answers what to store for a feature, or the problems in it."""

    def check(self, number: int, values: dict[str, Any], geometry: dict[str, Any] | None
              ) -> tuple[Any, list[Problem]]: ...

    def save(self, plan: Any) -> str: ...


def at(problems: list[Problem], row: int) -> list[Problem]:
    return [Problem(p.where, p.en, p.zh, row) for p in problems]


def _polygon(number: int, geometry: dict[str, Any] | None, what: tuple[str, str]) -> tuple[Any, list[Problem]]:
    if geometry is None:
        return None, [Problem("geometry", f"no shape: {what[1]} is a polygon", f"没有图形：{what[0]}须为多边形", number)]
    if geometry["type"] not in ("Polygon", "MultiPolygon"):
        return None, [Problem("geometry", f"{what[1]} is a polygon, not a {geometry['type']}",
                              f"{what[0]}须为多边形，不能是 {geometry['type']}", number)]
    problems: list[Problem] = []
    checked = checked_geometry({"geometry": geometry}, None, "wgs84", problems)
    return checked, at(problems, number)


class GridRows:
    """Grids by short code: a new grid needs its name, unit and boundary; the 15-digit code is checked and unique."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.grids = {g.code: g for g in session.scalars(select(Grid))}
        self.units = {u.code: u for u in session.scalars(select(Unit))}
        self.units |= {u.name_zh: u for u in list(self.units.values())}
        self.seen: dict[str, int] = {}
        self.seen_codes: dict[str, int] = {}

    def check(self, number: int, values: dict[str, Any], geometry: dict[str, Any] | None
              ) -> tuple[Any, list[Problem]]:
        problems: list[Problem] = []
        code = cell_text(values.get("code"))
        if not code or len(code) > 32:
            problems.append(Problem("code", "required: the grid's short code, 1–32 characters",
                                    "必填：网格编号，1–32 个字符", number))
        elif code in self.seen:
            problems.append(Problem("code", f"grid {code} is also feature {self.seen[code]}",
                                    f"网格 {code} 与要素 {self.seen[code]} 重复", number))
        self.seen.setdefault(code, number)
        existing = self.grids.get(code)
        grid_code = cell_text(values.get("grid_code")) or None
        problems += grid_code_problems(self.session, grid_code, existing.id if existing else None, number)
        if grid_code and grid_code in self.seen_codes:
            problems.append(Problem("grid_code", f"{grid_code} is also feature {self.seen_codes[grid_code]}'s code",
                                    f"编码 {grid_code} 与要素 {self.seen_codes[grid_code]} 重复", number))
        if grid_code:
            self.seen_codes.setdefault(grid_code, number)
        name_zh = cell_text(values.get("name_zh")) or (existing.name_zh if existing else "")
        name_en = cell_text(values.get("name_en")) or (existing.name_en if existing else name_zh)
        if not name_zh or len(name_zh) > 200 or len(name_en) > 200:
            problems.append(Problem("name_zh", "required: the grid's name, 1–200 characters",
                                    "必填：网格名称，1–200 个字符", number))
        unit_text = cell_text(values.get("unit"))
        unit = self.units.get(unit_text) if unit_text else (existing.unit if existing else None)
        if unit_text and unit is None:
            problems.append(Problem("unit", f"unknown unit {unit_text!r}", f"未知的单位「{unit_text}」", number))
        elif unit is None:
            problems.append(Problem("unit", "required for a new grid: its responsible unit's code or name",
                                    "新网格必填：责任单位的代码或名称", number))
        boundary, found = _polygon(number, geometry, ("网格", "a grid"))
        problems += found
        plan = {"code": code, "grid_code": grid_code or (existing.grid_code if existing else None),
                "name_zh": name_zh, "name_en": name_en, "unit": unit, "boundary": boundary}
        return plan, problems

    def save(self, plan: dict[str, Any]) -> str:
        grid = self.grids.get(plan["code"])
        if grid is not None and all(getattr(grid, k) == v for k, v in plan.items()):
            return "unchanged"
        geo.recheck()
        if grid is None:
            self.session.add(Grid(**plan))
            return "created"
        for key, value in plan.items():
            setattr(grid, key, value)
        return "updated"


class ZoneRows:
    """Zones checked exactly as the map saves them (engine.space.zones.check), matched on kind, name and campaign;
    new zones are drafts unless `publish`."""

    def __init__(self, session: Session, campaign_id: int | None, publish: bool) -> None:
        self.session, self.campaign_id, self.publish = session, campaign_id, publish
        self.zones = {(z.kind, z.name, z.campaign_id): z for z in session.scalars(select(Zone).order_by(Zone.id))}
        self.campaigns = {c.code: c.id for c in session.scalars(select(Campaign))}
        self.seen: dict[tuple[Any, ...], int] = {}

    def check(self, number: int, values: dict[str, Any], geometry: dict[str, Any] | None
              ) -> tuple[Any, list[Problem]]:
        problems: list[Problem] = []
        kind = cell_text(values.get("kind"))
        campaign = cell_text(values.get("campaign"))
        campaign_id = self.campaigns.get(campaign) if campaign else self.campaign_id
        if campaign and campaign_id is None:
            problems.append(Problem("campaign", f"no campaign {campaign!r}", f"没有专项行动「{campaign}」", number))
        data = {"kind": ZONE_KIND_ALIASES.get(kind.lower(), kind), "name": cell_text(values.get("name")),
                "geometry": geometry, "campaign_id": campaign_id,
                "width_metres": cell_text(values.get("width_metres")),
                "buffer_metres": cell_text(values.get("buffer_metres"))}
        if geometry is None:
            problems.append(Problem("geometry", "no shape: a zone is an area, a line or points",
                                    "没有图形：区域须为面、线或点", number))
        try:
            checked = check(self.session, data)
        except InputError as err:
            problems += at([p for p in err.problems if geometry is not None or p.where != "geometry"], number)
            return None, problems
        key = (checked["kind"], checked["name"], checked["campaign_id"])
        if key in self.seen:
            problems.append(Problem("name", f"the {KIND_NAMES[key[0]][1]} {key[1]!r} is also feature {self.seen[key]}",
                                    f"{KIND_NAMES[key[0]][0]}「{key[1]}」与要素 {self.seen[key]} 重复", number))
        self.seen.setdefault(key, number)
        return (data, checked), problems

    def save(self, plan: tuple[dict[str, Any], dict[str, Any]]) -> str:
        data, checked = plan
        zone = self.zones.get((checked["kind"], checked["name"], checked["campaign_id"]))
        if zone is not None and all(getattr(zone, k) == v for k, v in checked.items()) \
                and (zone.active or not self.publish):
            return "unchanged"
        outcome = "created" if zone is None else "updated"
        zone = save_zone(self.session, data, zone)
        if self.publish and not zone.active:
            set_active(self.session, zone, True)
        return outcome


def _rows(session: Session, target: str, layer: Layer, campaign_id: int | None, publish: bool) -> Rows:
    if target == "grids":
        return GridRows(session)
    if target == "zones":
        return ZoneRows(session, campaign_id, publish)
    return HolderRows(session, layer.datum)


def _unknown_columns(layer: Layer, columns: Columns) -> list[Problem]:
    known = {hint.lower() for hints in columns.values() for hint in hints}
    unknown = [f.strip() for f in layer.fields or [] if f.strip() and f.strip().lower() not in known | IGNORED]
    listed = ", ".join(hints[0] for hints in columns.values())
    row = 1 if layer.numbered == "row" else None
    return [Problem(name, f"unknown column {name!r} (known: {listed})", f"未知的列「{name}」（可用的列：{listed}）", row)
            for name in unknown]


def _values(feature: Feature, columns: Columns, check_names: bool) -> tuple[dict[str, Any], list[Problem]]:
    known = {hint.lower(): target for target, hints in columns.items() for hint in hints}
    values: dict[str, Any] = {}
    problems = []
    for name, value in feature.properties.items():
        target = known.get(str(name).strip().lower())
        if target is not None:
            values.setdefault(target, value)
        elif check_names and str(name).strip().lower() not in IGNORED:
            listed = ", ".join(hints[0] for hints in columns.values())
            problems.append(Problem(str(name), f"unknown property {name!r} (known: {listed})",
                                    f"未知的属性「{name}」（可用的属性：{listed}）", feature.number))
    return values, problems


def import_layer(session: Session, target: str, layer: Layer, campaign_id: int | None = None,
                 publish: bool = False) -> GeoImport:
    """Store every feature of `layer` as `target`, or none when any is bad (the report names them all); flushes,
    never commits."""
    if target not in TARGETS:
        raise InputError([Problem("target", f"one of {', '.join(TARGETS)}", "须为网格、区域或门前三包责任单位之一")])
    if target != "holders" and layer.numbered == "row":
        raise InputError([Problem("file", f"{TARGETS[target][1]} come from GeoJSON or a zipped Shapefile",
                                  f"{TARGETS[target][0]}须从 GeoJSON 或 Shapefile 压缩包导入")])
    if not layer.features:
        raise InputError([Problem("file", "the file has no features", "文件中没有要素")])
    columns = COLUMNS[target]
    report = GeoImport(target, layer.numbered, problems=_unknown_columns(layer, columns))
    rows = _rows(session, target, layer, campaign_id, publish)
    plans = []
    for feature in layer.features:
        values, problems = _values(feature, columns, layer.fields is None)
        plan, found = rows.check(feature.number, values, feature.geometry)
        named = {p.where for p in feature.problems}
        report.problems += feature.problems + problems + [p for p in found if p.where not in named]
        plans.append(plan)
    if report.problems:
        report.problems.sort(key=lambda p: (p.row or 0, p.where))
        return report
    for plan in plans:
        outcome = rows.save(plan)
        setattr(report, outcome, getattr(report, outcome) + 1)
    session.flush()
    return report


def import_file(session: Session, target: str, path: Path, crs: str | None = None, campaign_id: int | None = None,
                publish: bool = False) -> GeoImport:
    """Read `path` (GeoJSON, a zipped or plain Shapefile, or a holders' CSV/XLSX) and import it as `target`."""
    return import_layer(session, target, read_layer(path, crs), campaign_id, publish)
