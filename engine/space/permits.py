"""The permits register (审批/备案): saving a permit whole or not at all, and the place facts it gives an event.

A report at the place of a valid permit during its period counts as approved for that kind (fact
`permits_valid`), when the permit is from the unit the kind's settings name as its approver (PermitKind: seed
001 names 区城管委 for temporary markets and 城管局 for street promotion and construction waste); a construction-waste report at a valid permit's designated site (指定消纳场所) is where
the waste belongs (fact `at_designated_site`). The lookup is a PlaceIndex of the valid permits, rebuilt
when the register or the kinds' approvers change; the period is checked per event, so a permit lapses without a rebuild.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from typing import Any, Optional

from shapely.errors import GEOSException
from shapely.geometry import mapping, shape
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import Event, FrontageHolder, Permit, PermitKind, Unit
from engine.space.index import Cached, Place, PlaceIndex, table_stamp
from rules.facts import PERMIT_KINDS
from rules.problems import InputError, Problem

#: Each kind's name as the seeds' duty lists word it (zh, en); night works is our own extension for SM4.
KIND_NAMES: dict[str, tuple[str, str]] = {
    "temporary_market": ("临时市场（固定摊点、早夜市）", "Temporary market (fixed stalls, morning and night markets)"),
    "outdoor_ad": ("户外广告（横幅、彩虹门、演出台、商业宣传）",
                   "Outdoor advertising (banners, rainbow arches, stages, street promotion)"),
    "road_occupation": ("临时占用、挖掘道路绿地", "Temporary occupation or digging of roads and green space"),
    "construction_waste": ("建筑垃圾处置（含指定消纳场所）", "Construction-waste disposal (with its designated site)"),
    "recycling_site": ("废旧品回收站点", "Waste-recycling site"),
    "site_shed": ("工地临时工棚", "Temporary site shed"),
    "night_works": ("夜间施工", "Night works"),
}
#: What a form left on its blank kind ("—") is told, as the other forms word a required choice.
KIND_REQUIRED = Problem("kind", "Required: choose the permit kind", "必填：请选择审批种类")
#: Other words the seeds and people use for a kind, accepted by the import.
KIND_ALIASES: dict[str, str] = {
    **{alias: kind for kind, (zh, en) in KIND_NAMES.items() for alias in (kind, zh, en)},
    "临时市场": "temporary_market", "固定摊点": "temporary_market", "早夜市": "temporary_market",
    "马路市场": "temporary_market", "户外广告": "outdoor_ad", "横幅": "outdoor_ad", "条幅": "outdoor_ad",
    "彩虹门": "outdoor_ad", "演出台": "outdoor_ad", "商业宣传": "outdoor_ad", "临时占用挖掘道路绿地": "road_occupation",
    "占道挖掘": "road_occupation", "建筑垃圾处置": "construction_waste", "建筑垃圾": "construction_waste",
    "废旧品回收": "recycling_site", "工地临时工棚": "site_shed", "临时工棚": "site_shed",
}
#: Only a valid permit counts; the others are kept for the record.
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "pending": ("申请中", "Applied for"), "valid": ("有效", "Valid"), "revoked": ("已撤销", "Revoked"),
    "expired": ("已过期", "Expired"),
}
STATUS_ALIASES = {alias: code for code, (zh, en) in STATUS_NAMES.items() for alias in (code, zh, en.lower())}
MAX_RADIUS_M = 5_000.0


def kind_name(kind: str, lang: str = "zh") -> str:
    names = KIND_NAMES.get(kind)
    return (names[0] if lang.startswith("zh") else names[1]) if names else kind


def status_name(status: str, lang: str = "zh") -> str:
    names = STATUS_NAMES.get(status)
    return (names[0] if lang.startswith("zh") else names[1]) if names else status


def point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


@dataclass
class PermitInput:
    """What a form or an import row gives: the place is a point (lat, lon) with a radius, a GeoJSON polygon, or
    a frontage holder's location; text as entered, so every fault can be named."""

    number: str = ""
    kind: str = ""
    holder_name: str = ""
    holder_contact: str = ""
    holder: Optional[FrontageHolder] = None
    lat: Optional[float] = None
    lon: Optional[float] = None
    radius_m: Optional[float] = None
    polygon: str = ""
    site_lat: Optional[float] = None
    site_lon: Optional[float] = None
    site_radius_m: Optional[float] = None
    site_polygon: str = ""
    starts_at: Optional[datetime] = None
    ends_at: Optional[datetime] = None
    status: str = "valid"
    approved_by: Optional[Unit] = None
    filed_on: Optional[date] = None
    filing_reference: str = ""
    declared_by: Optional[Unit] = None
    reviewed_by: Optional[Unit] = None


def _polygon(text: str, where: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        geometry = json.loads(text, parse_constant=_no_constant)
        ok = isinstance(geometry, dict) and geometry.get("type") in ("Polygon", "MultiPolygon")
        shaped = shape(geometry) if ok else None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, GEOSException):
        ok, shaped = False, None
    if not ok or shaped is None or shaped.is_empty:
        return None, [Problem(where,
                              "a GeoJSON Polygon, e.g. {\"type\": \"Polygon\", \"coordinates\": [[[lon, lat], …]]}",
                              "须为 GeoJSON 多边形，例如 {\"type\": \"Polygon\", \"coordinates\": [[[经度, 纬度], …]]}")]
    minx, miny, maxx, maxy = shaped.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return None, [Problem(where, "coordinates are longitude, latitude in degrees", "坐标须为经度、纬度（度）")]
    if not shaped.is_valid:
        return None, [Problem(where, "the polygon crosses itself", "多边形自相交")]
    return json.loads(json.dumps(mapping(shaped))), []  # rings closed, as GeoJSON requires


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a coordinate")


def _point(lat: Optional[float], lon: Optional[float], radius: Optional[float], where: str,
           radius_where: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems = []
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)) or not (
            -90 <= lat <= 90 and -180 <= lon <= 180):
        problems.append(Problem(where, "a latitude (−90…90) and a longitude (−180…180)",
                                "须填写纬度（−90…90）与经度（−180…180）"))
    if radius is None or not math.isfinite(radius) or not 0 < radius <= MAX_RADIUS_M:
        problems.append(Problem(radius_where, f"a radius in metres, more than 0 and at most {MAX_RADIUS_M:g}",
                                f"半径须为大于 0、不超过 {MAX_RADIUS_M:g} 的米数"))
    return (None, problems) if problems else (point(lat, lon), [])


def _place(v: PermitInput) -> tuple[dict[str, Any] | None, float, list[Problem]]:
    """The permit's own place: a polygon, else a point with its radius, else the frontage holder's location."""
    if v.polygon.strip():
        geometry, problems = _polygon(v.polygon, "polygon")
        return geometry, 0.0, problems
    if v.lat is not None or v.lon is not None:
        geometry, problems = _point(v.lat, v.lon, v.radius_m, "place", "radius_m")
        return geometry, v.radius_m or 0.0, problems
    if v.holder is not None:
        if v.holder.lat is None or v.holder.lon is None:
            return None, 0.0, [Problem("holder",
                                       f"{v.holder.name} has no location on the map; give a point or a polygon",
                                       f"「{v.holder.name}」没有地图位置，请填写点位或多边形")]
        radius = v.radius_m if v.radius_m is not None else 30.0
        geometry, problems = _point(v.holder.lat, v.holder.lon, radius, "holder", "radius_m")
        return geometry, radius, problems
    return None, 0.0, [Problem("place", "a place: a point with a radius, a polygon, or a frontage holder",
                               "须给出地点：点位加半径、多边形，或门前三包责任单位")]


def check_permit(session: Session, v: PermitInput,
                 permit_id: int | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Every fault of a permit, named by field, and the column values when there is none."""
    problems: list[Problem] = []
    number, kind = v.number.strip(), v.kind.strip()
    if not number:
        problems.append(Problem("number", "a permit number", "须填写审批编号"))
    elif len(number) > 64:
        problems.append(Problem("number", "at most 64 characters", "最多 64 个字符"))
    else:
        other = session.scalar(select(Permit.id).where(Permit.number == number))
        if other is not None and other != permit_id:
            problems.append(Problem("number", f"permit {number} already exists", f"审批编号 {number} 已存在"))
    if not kind:
        problems.append(KIND_REQUIRED)
    elif kind not in PERMIT_KINDS:
        problems.append(Problem("kind", f"unknown kind {kind!r}; one of {', '.join(PERMIT_KINDS)}",
                                f"未知的审批种类「{kind}」，须为 {'、'.join(KIND_NAMES[k][0] for k in PERMIT_KINDS)} 之一"))
    if not v.holder_name.strip() and v.holder is None:
        problems.append(Problem("holder_name", "the holder's name", "须填写持证人名称"))
    place, radius, place_problems = _place(v)
    problems += place_problems
    site, site_radius = None, 0.0
    if v.site_polygon.strip():
        site, site_problems = _polygon(v.site_polygon, "site_polygon")
        problems += site_problems
    elif v.site_lat is not None or v.site_lon is not None:
        site, site_problems = _point(v.site_lat, v.site_lon, v.site_radius_m, "site", "site_radius_m")
        site_radius = v.site_radius_m or 0.0
        problems += site_problems
    if site is not None and kind != "construction_waste":
        problems.append(Problem("site", "only a construction-waste permit has a designated site",
                                "只有建筑垃圾处置审批才有指定消纳场所"))
    if v.starts_at is None:
        problems.append(Problem("starts_at", "when the permit starts", "须填写有效期开始时间"))
    if v.ends_at is None:
        problems.append(Problem("ends_at", "when the permit ends", "须填写有效期结束时间"))
    if v.starts_at is not None and v.ends_at is not None and v.ends_at <= v.starts_at:
        problems.append(Problem("ends_at", "the period ends before it starts", "有效期结束时间早于开始时间"))
    if v.status not in STATUS_NAMES:
        problems.append(Problem("status", f"unknown status {v.status!r}; one of {', '.join(STATUS_NAMES)}",
                                f"未知的状态「{v.status}」，须为 {'、'.join(n[0] for n in STATUS_NAMES.values())} 之一"))
    if v.approved_by is None:
        problems.append(Problem("approved_by", "the approving body (a unit, e.g. CGW or CGJ)",
                                "须填写审批单位（如区城管委 CGW、执法局 CGJ）"))
    if len(v.filing_reference.strip()) > 100:
        problems.append(Problem("filing_reference", "at most 100 characters", "最多 100 个字符"))
    problems += _kind_problems(session.scalar(select(PermitKind).where(PermitKind.kind == kind)), v)
    if problems:
        return {}, problems
    holder_name = v.holder_name.strip() or (v.holder.name if v.holder is not None else "")
    return {"number": number, "kind": kind, "holder_name": holder_name,
            "holder_contact": v.holder_contact.strip() or (v.holder.contact if v.holder is not None else None),
            "holder_id": v.holder.id if v.holder is not None else None, "place": place, "radius_m": radius,
            "site": site, "site_radius_m": site_radius, "starts_at": v.starts_at, "ends_at": v.ends_at,
            "status": v.status, "approved_by_id": v.approved_by.id, "filed_on": v.filed_on,
            "filing_reference": v.filing_reference.strip() or None,
            "declared_by_id": v.declared_by.id if v.declared_by is not None else None,
            "reviewed_by_id": v.reviewed_by.id if v.reviewed_by is not None else None}, []


def _kind_problems(settings: PermitKind | None, v: PermitInput) -> list[Problem]:
    """What the kind's settings ask: its approver only (a permit from another unit is no 审批 of the kind), its
    reviewer (审定) if one is named, and a written filing with the committee (书面备案) once approved."""
    if settings is None:
        return []
    problems = []
    approver, reviewer = settings.approver, settings.reviewer
    if approver is not None and v.approved_by is not None and v.approved_by.id != approver.id:
        problems.append(Problem(
            "approved_by", f"{kind_name(settings.kind, 'en')}: approved by {approver.name_en} alone, not by "
                           f"{v.approved_by.name_en} (see Permit kinds)",
            f"{kind_name(settings.kind)}须由{approver.name_zh}审批，{v.approved_by.name_zh}无权审批（见审批种类）"))
    if reviewer is not None and v.reviewed_by is not None and v.reviewed_by.id != reviewer.id:
        problems.append(Problem(
            "reviewed_by", f"{reviewer.name_en} reviews this kind (审定), not {v.reviewed_by.name_en}",
            f"该种类由{reviewer.name_zh}审定，不是{v.reviewed_by.name_zh}"))
    if settings.filing_required and v.status != "pending":
        if not v.filing_reference.strip():
            problems.append(Problem(
                "filing_reference", "the filing reference: this kind's approvals are filed in writing with the "
                                    "committee's office (书面备案)",
                "须填写备案文号：该种类的审批须上报区城管委办公室书面备案"))
        if v.filed_on is None:
            problems.append(Problem("filed_on", "the day the approval was filed with the committee's office",
                                    "须填写向区城管委办公室书面备案的日期"))
    return problems


def save_permit_kind(session: Session, kind: str, approver: Unit | None, reviewer: Unit | None,
                     filing_required: bool, settings: PermitKind | None = None) -> PermitKind:
    """Set who approves and reviews a kind and whether it is filed (a new row, or `settings`); the permit index then
    recounts the register. Raises InputError for an unknown kind or one set already; flushes, never commits."""
    if not kind:
        raise InputError([KIND_REQUIRED])
    if kind not in PERMIT_KINDS:
        raise InputError([Problem("kind", f"unknown kind {kind!r}; one of {', '.join(PERMIT_KINDS)}",
                                  f"未知的审批种类「{kind}」")])
    other = session.scalar(select(PermitKind).where(PermitKind.kind == kind))
    if other is not None and other is not settings:
        raise InputError([Problem("kind", "this kind has its settings already: change them there",
                                  "该种类已有设置，请在原记录中修改")])
    settings = settings or PermitKind(kind=kind)
    settings.kind = kind
    settings.approver, settings.reviewer, settings.filing_required = approver, reviewer, filing_required
    settings.updated_at = clock.now()
    session.add(settings)
    session.flush()
    PERMIT_INDEX.clear()
    return settings


def save_permit(session: Session, v: PermitInput, permit: Permit | None = None) -> Permit:
    """Create or change a permit, or raise InputError naming every fault (nothing written); flushes, never commits."""
    values, problems = check_permit(session, v, permit.id if permit is not None else None)
    if problems:
        raise InputError(problems)
    if permit is None:
        permit = Permit(**values, updated_at=clock.now())
        session.add(permit)
    else:
        for key, value in values.items():
            setattr(permit, key, value)
        permit.updated_at = clock.now()
    session.flush()
    PERMIT_INDEX.clear()
    return permit


def approvers(session: Session) -> dict[str, Unit]:
    """Each kind's approving unit as its settings name it (PermitKind), for saying whether a permit counts."""
    return {k.kind: k.approver for k in session.scalars(select(PermitKind).where(PermitKind.approver_id.is_not(None)))}


def not_counted_because(permit: Permit, approver: Unit | None, lang: str = "zh") -> str | None:
    """Why evaluation does not count the permit (fact `permits_valid`) in the reader's language, or None when it
    does: a map or a checking system must not show a permit from the wrong unit as an approval."""
    zh = lang.startswith("zh")
    reasons = []
    if permit.status != "valid":
        reasons.append(f"状态为「{status_name(permit.status)}」" if zh
                       else f"its status is {status_name(permit.status, 'en').lower()}")
    if approver is not None and permit.approved_by_id != approver.id:
        issuer = permit.approved_by
        reasons.append(f"{kind_name(permit.kind)}须由{approver.name_zh}审批，本审批由{issuer.name_zh}出具，无效" if zh
                       else f"{kind_name(permit.kind, 'en')} is approved by {approver.name_en} alone, and this "
                            f"permit was issued by {issuer.name_en}, so it is not valid")
    if not reasons:
        return None
    return "不计入审批：" + "；".join(reasons) if zh else "Does not count as an approval: " + "; ".join(reasons)


def geojson(permit: Permit, lang: str = "zh", zone: tzinfo = timezone.utc,
            approver: Unit | None = None) -> dict[str, Any]:
    """A permit as a GeoJSON Feature (its place; the designated site, if any, in properties.site), its period
    in the campaign's zone, and whether it counts given its kind's `approver` (None: the kind names none)."""
    reason = not_counted_because(permit, approver, lang)
    return {"type": "Feature", "id": permit.id, "geometry": permit.place, "properties": {
        "counts": reason is None, "not_counted_because": reason,
        "number": permit.number, "kind": permit.kind, "kind_name": kind_name(permit.kind, lang),
        "holder": permit.holder_name, "radius_m": permit.radius_m, "site": permit.site,
        "site_radius_m": permit.site_radius_m, "starts_at": permit.starts_at.astimezone(zone).isoformat(),
        "ends_at": permit.ends_at.astimezone(zone).isoformat(), "status": permit.status,
        "status_name": status_name(permit.status, lang),
        "approved_by": {"code": permit.approved_by.code,
                        "name": permit.approved_by.name_zh if lang.startswith("zh") else permit.approved_by.name_en},
        "filed_on": permit.filed_on.isoformat() if permit.filed_on else None,
        "filing_reference": permit.filing_reference,
        "declared_by": _unit(permit.declared_by, lang), "reviewed_by": _unit(permit.reviewed_by, lang)}}


def _unit(unit: Unit | None, lang: str) -> dict[str, str] | None:
    return None if unit is None else {"code": unit.code, "name": unit.name_zh if lang.startswith("zh") else unit.name_en}


# --- place facts -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PermitPlace:
    """One indexed place of a valid permit: its own place, or (site) its designated site."""

    permit_id: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    site: bool = False

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at <= self.ends_at


@dataclass(frozen=True)
class PlaceFacts:
    permits_valid: list[str] = field(default_factory=list)
    at_designated_site: bool = False


PERMIT_INDEX: Cached = Cached(ttl=5.0)


def _stamp(session: Session) -> tuple[Any, ...]:
    return table_stamp(session, Permit.id, Permit.updated_at) + table_stamp(session, PermitKind.id,
                                                                             PermitKind.updated_at)


def _build(session: Session) -> PlaceIndex[PermitPlace]:
    places: list[Place[PermitPlace]] = []
    columns = (Permit.id, Permit.kind, Permit.place, Permit.radius_m, Permit.site, Permit.site_radius_m,
               Permit.starts_at, Permit.ends_at)  # rows, not ORM objects
    approvers = dict(session.execute(select(PermitKind.kind, PermitKind.approver_id)
                                     .where(PermitKind.approver_id.is_not(None))).tuples().all())
    approved = or_(Permit.kind.not_in(approvers), *(and_(Permit.kind == kind, Permit.approved_by_id == unit)
                                                   for kind, unit in approvers.items()))
    for p in session.execute(select(*columns).where(Permit.status == "valid", approved).order_by(Permit.id)):
        places.append(Place(PermitPlace(p.id, p.kind, p.starts_at, p.ends_at), p.place, p.radius_m or 0.0))
        if p.site is not None and p.kind == "construction_waste":
            places.append(Place(PermitPlace(p.id, p.kind, p.starts_at, p.ends_at, site=True), p.site,
                                p.site_radius_m or 0.0))
    return PlaceIndex(places)


def permit_index(session: Session) -> PlaceIndex[PermitPlace]:
    """The valid permits' places, each from its kind's approver, rebuilt when a permit is added, changed or
    removed, or a kind's approver changes."""
    bind = str(session.get_bind().engine.url)
    return PERMIT_INDEX.get(bind, lambda: _stamp(session), lambda: _build(session))


def place_facts(session: Session, events: list[Event]) -> dict[int, PlaceFacts]:
    """Per located event: the kinds of permit valid at its place and time, and whether it lies at a valid
    construction-waste permit's designated site. Events without a place get none (empty facts)."""
    located = [e for e in events if e.lat is not None and e.lon is not None]
    if not located:
        return {}
    index = permit_index(session)
    if not len(index):
        return {}
    found = {}
    for e, keys in zip(located, index.at_each([e.lat for e in located], [e.lon for e in located])):
        hits = [key for key in keys if key.covers(e.occurred_at)]
        found[e.id] = PlaceFacts(sorted({k.kind for k in hits if not k.site}), any(k.site for k in hits))
    return found
