"""三级督查 as inspection (DESIGN 15): an inspector of one tier walks a round under the tier's plan and records
findings; each finding is a report of source type `inspection`, filed directly like any trusted source, that
carries the tier and the inspector taken from the account, never from what the phone sends.

Where a finding is: the phone's position (gps, only on a secure page), else the first photo's EXIF position
(exif), else a pin set by hand (pin). A plan that requires a position refuses a finding without one.
The caller owns the transaction: these functions flush, they never commit; a refused finding writes nothing.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.audit.changelog import track
from engine.core import clock
from engine.core.models import (Campaign, Category, Event, Grid, InspectionFinding, InspectionPlan, InspectionRound,
                                Person, Street, SupervisionTier, Task, User)
from engine.core.states import TaskStatus
from engine.core.photos import Photo, PhotoFacts, inspect_photos, store_photo
from engine.handling.tasks import WORKING
from engine.intake.events import MAX_DESCRIPTION, IntakeSource, accept_event
from engine.people.staff import unit_and_below
from engine.space.geo import grid_for_point
from engine.supervision.board import tier_for
from rules.problems import InputError, Problem

#: The three regimes of the seeds' 三级督查 by tier, as the bureau names them.
TIERS: dict[int, tuple[str, str]] = {1: ("中队内部全面督查", "Squad internal full inspection"),
                                     2: ("督察中队定向督查", "Inspection squad targeted inspection"),
                                     3: ("局领导专项督查", "Bureau leadership special inspection")}
FREQUENCIES: dict[str, tuple[str, str]] = {"daily": ("每日", "Daily"), "weekly": ("每周", "Weekly"),
                                           "monthly": ("每月", "Monthly"), "as_needed": ("按需", "As needed")}
#: What a 督察中队 plan works from, besides places and topics.
WORKLISTS: dict[str, tuple[str, str]] = {"hotspots": ("热点问题清单", "Hotspot list"),
                                         "overdue": ("超期任务清单", "Overdue task list")}
#: The kinds a plan's scope names; a later kind (point types) joins here and in the admin form.
SCOPE_KINDS = ("grids", "streets", "categories", "worklists")
LOCATION_SOURCES: dict[str, tuple[str, str]] = {"gps": ("手机定位", "phone location"),
                                                "exif": ("照片位置", "photo position (EXIF)"),
                                                "pin": ("手动标点", "pin set by hand")}
#: The intake source of every finding: trusted, so its case is filed and dispatched at once.
SOURCE = IntakeSource("inspection-rounds", "inspection")
MAX_PHOTOS = 6
#: A spot is a hotspot of a 督察中队's work list from this many reports of one category in a grid within a week.
HOTSPOT_REPORTS = 3


track(InspectionPlan)  # a plan is configuration: its changes go to the change log with the admin who made them


def _refuse(field: str, en: str, zh: str) -> InputError:
    return InputError([Problem(field, en, zh)])


@dataclass(frozen=True)
class Position:
    """Where the inspector stood, and how the page knew it (gps from the phone, pin by hand)."""

    lat: float
    lon: float
    source: str


def parse_position(lat: Any, lon: Any, source: Any, problems: list[Problem]) -> Position | None:
    """A position from a form or a JSON body; none when both coordinates are left out."""
    if lat in (None, "") and lon in (None, ""):
        return None
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        lat_f = lon_f = float("nan")
    if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        problems.append(Problem("location", "latitude and longitude in degrees (WGS-84), e.g. 30.75, 120.76",
                                "请填写经纬度（WGS-84），例如 30.75, 120.76"))
        return None
    if source not in ("gps", "pin"):
        problems.append(Problem("location_source", "the position's source is gps (the phone) or pin (by hand)",
                                "位置来源须为 gps（手机定位）或 pin（手动标点）"))
        return None
    return Position(lat_f, lon_f, str(source))


def inspector_tier(session: Session, user: User) -> int | None:
    """The tier the account inspects for: its tier membership, else its level (engine/supervision/board.py)."""
    return tier_for(session, user)


def body_name(session: Session, level: int) -> tuple[str, str] | None:
    """The (zh, en) name of a supervising body (督办) at `level` as the active campaigns' rules name it, for its
    board's heading; one above the three inspection tiers (levels 4–6) walks no inspection rounds."""
    row = session.execute(select(SupervisionTier.name_zh, SupervisionTier.name_en)
                          .join(Campaign, Campaign.id == SupervisionTier.campaign_id)
                          .where(SupervisionTier.level == level, Campaign.status == "active")
                          .order_by(SupervisionTier.campaign_id)).first()
    return (row[0], row[1]) if row else None


def squad_scope(session: Session, user: User) -> set[int] | None:
    """The units whose plans, rounds and items a squad's inspector (tier 1, 中队内部督查, with a unit) reads: the
    squad and those below it. None for everyone else (higher tiers, administrators, a tier-1 account of no unit),
    who read them all."""
    if user.role != "supervisor" or user.unit_id is None or inspector_tier(session, user) != 1:
        return None
    return unit_and_below(session, user.unit_id)


def plan_units(session: Session, plans: list[InspectionPlan]) -> dict[int, set[int]]:
    """Per plan, the units it inspects for: those its grids and streets belong to, and those of the people who
    answer for them (包片, 包路), as a 中队's grids belong to its sub-district but are walked by its own people."""
    grid_codes = {c for p in plans for c in (p.scope or {}).get("grids") or []}
    street_codes = {c for p in plans for c in (p.scope or {}).get("streets") or []}
    owners: dict[tuple[str, str], set[int]] = {}
    for kind, model, codes in (("grids", Grid, grid_codes), ("streets", Street, street_codes)):
        if not codes:
            continue
        rows = session.execute(select(model.code, model.unit_id, Person.unit_id)
                               .outerjoin(Person, Person.id == model.responsible_id).where(model.code.in_(codes)))
        for code, unit_id, person_unit_id in rows:
            owners.setdefault((kind, code), set()).update(u for u in (unit_id, person_unit_id) if u is not None)
    return {p.id: {u for kind in ("grids", "streets") for c in (p.scope or {}).get(kind) or []
                   for u in owners.get((kind, c), ())} for p in plans}


def visible_plans(session: Session, user: User, plans: list[InspectionPlan]) -> list[InspectionPlan]:
    """The plans of `plans` the user may read: all, or for a squad's inspector its own squad's."""
    scope = squad_scope(session, user)
    if scope is None:
        return plans
    units = plan_units(session, plans)
    return [p for p in plans if units[p.id] & scope]


def plans_for(session: Session, tier: int | None, user: User | None = None) -> list[InspectionPlan]:
    """The active plans of a tier in the active campaigns; given the user, only those they may read."""
    if tier is None:
        return []
    plans = list(session.scalars(select(InspectionPlan).join(Campaign, Campaign.id == InspectionPlan.campaign_id)
                                 .where(InspectionPlan.tier_level == tier, InspectionPlan.active,
                                        Campaign.status == "active").order_by(InspectionPlan.code)))
    return plans if user is None else visible_plans(session, user, plans)


def open_round(session: Session, user: User) -> InspectionRound | None:
    return session.scalar(select(InspectionRound).where(InspectionRound.inspector_id == user.id,
                                                        InspectionRound.ended_at.is_(None)))


def rounds_of(session: Session, user: User, limit: int = 20) -> list[InspectionRound]:
    return list(session.scalars(select(InspectionRound).where(InspectionRound.inspector_id == user.id)
                                .order_by(InspectionRound.started_at.desc(), InspectionRound.id.desc()).limit(limit)))


def _track_point(session: Session, position: Position, now: datetime) -> dict[str, Any]:
    grid = grid_for_point(session, position.lat, position.lon)
    return {"at": now.isoformat(), "lat": position.lat, "lon": position.lon, "source": position.source,
            "grid": grid.code if grid else None}


def _tracked(round_: InspectionRound, point: dict[str, Any]) -> None:
    round_.track = [*(round_.track or []), point]  # a new list: the JSON column sees the change


def start_round(session: Session, user: User, plan: InspectionPlan | None,
                position: Position | None = None) -> InspectionRound:
    """Open a round under a plan of the inspector's own tier; one open round per inspector."""
    tier = inspector_tier(session, user)
    if tier is None:
        raise _refuse("plan", "your account belongs to no inspection tier", "您的账号不属于任何督查层级")
    if plan is None or not plan.active or plan.tier_level != tier:
        raise _refuse("plan", "choose an active plan of your own tier", "请选择本层级的有效督查计划")
    if not visible_plans(session, user, [plan]):
        raise _refuse("plan", "this plan is another squad's: choose one of your own squad's",
                      "该督查计划属于其他中队，请选择本中队的督查计划")
    if open_round(session, user) is not None:
        raise _refuse("plan", "you have a round under way: end it first", "您有一轮督查尚未结束，请先结束")
    now = clock.now()
    round_ = InspectionRound(plan=plan, campaign_id=plan.campaign_id, inspector_id=user.id, unit_id=user.unit_id,
                             tier_level=tier, started_at=now, track=[])
    if position is not None:
        _tracked(round_, _track_point(session, position, now))
    session.add(round_)
    session.flush()
    return round_


def _own_open_round(round_: InspectionRound, user: User) -> None:
    if round_.inspector_id != user.id:
        raise _refuse("round", "this round is another inspector's", "这是其他督查人员的督查轮次")
    if round_.ended_at is not None:
        raise _refuse("round", "this round has ended", "该轮督查已结束")


def end_round(session: Session, round_: InspectionRound, user: User,
              position: Position | None = None) -> InspectionRound:
    _own_open_round(round_, user)
    now = clock.now()
    if position is not None:
        _tracked(round_, _track_point(session, position, now))
    round_.ended_at = now
    session.flush()
    return round_


def add_position(session: Session, round_: InspectionRound, user: User, position: Position) -> dict[str, Any]:
    """One more point of the round's track (the page sends one now and then while the round is open)."""
    _own_open_round(round_, user)
    point = _track_point(session, position, clock.now())
    _tracked(round_, point)
    session.flush()
    return point


def checked_photos(photos: list[Photo], max_bytes: int, zone: ZoneInfo,
                   problems: list[Problem]) -> list[tuple[Photo, PhotoFacts]]:
    """Each photo checked (size, kind, EXIF), or its problems added under `photos` by file name."""
    if len(photos) > MAX_PHOTOS:
        problems.append(Problem("photos", f"at most {MAX_PHOTOS} photos", f"最多 {MAX_PHOTOS} 张照片"))
        return []
    return inspect_photos(photos, "photos", max_bytes, zone, problems)


def record_finding(session: Session, round_: InspectionRound, user: User, category: str, description: str,
                   photos: list[Photo], position: Position | None, folder: Path, max_bytes: int,
                   street: str | None = None, address: str = "") -> InspectionFinding:
    """Check everything first, then file the finding's report (tier and inspector from the round, which took them
    from the account), store its photos and add its position to the track."""
    problems: list[Problem] = []
    try:
        _own_open_round(round_, user)
    except InputError as err:
        problems.extend(err.problems)
    plan = round_.plan
    zone = ZoneInfo(session.scalar(select(Campaign.timezone).where(Campaign.id == round_.campaign_id)))
    topics = (plan.scope or {}).get("categories") or []
    if topics and category and category not in topics:
        problems.append(Problem("category", "this plan inspects other topics", "该问题类别不在本督查计划的专项范围内"))
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        problems.append(Problem("description", f"text of at most {MAX_DESCRIPTION} characters",
                                f"不超过 {MAX_DESCRIPTION} 个字符的文本"))
    street_row = None
    if street:
        street_row = session.scalar(select(Street).where(Street.code == street))
        if street_row is None:
            problems.append(Problem("street", f"unknown street {street!r}", f"未知的道路 {street!r}"))
    checked = checked_photos(photos, max_bytes, zone, problems)
    if position is None:
        located = next(((f.lat, f.lon) for _, f in checked if f.lat is not None and f.lon is not None), None)
        if located is not None:
            position = Position(located[0], located[1], "exif")
    if position is None and plan.requires_location:
        problems.append(Problem("location", "this plan requires the finding's location: allow the phone's location "
                                "(on an HTTPS page), send a photo with its GPS position, or enter the coordinates",
                                "本督查计划要求记录问题位置：请允许手机定位（须 HTTPS 页面），"
                                "或上传带 GPS 位置的照片，或手动填写经纬度"))
    if problems:
        raise InputError(problems)
    now = clock.now()
    payload: dict[str, Any] = {"source_event_id": f"round-{round_.id}-{uuid.uuid4().hex[:12]}", "category": category,
                               "occurred_at": now.isoformat(), "description": description or "",
                               "address": address or ""}
    if position is not None:
        payload["location"] = {"lat": position.lat, "lon": position.lon}
    elif street_row is not None and not address:
        payload["address"] = street_row.name_zh
    accepted, _ = accept_event(session, payload, SOURCE)  # a refused payload raises here, before any write
    session.execute(update(Event).where(Event.id == accepted.id)
                    .values(inspection_tier=round_.tier_level, inspector_id=round_.inspector_id))
    finding = InspectionFinding(round=round_, event_id=accepted.id, street=street_row,
                                location_source=position.source if position else None, created_at=now)
    session.add(finding)
    session.flush()
    for photo, facts in checked:
        store_photo(session, folder, f"inspection/{round_.id}", facts, photo.filename, photo.data, user,
                    finding_id=finding.id, field="finding", stage="before")
    if position is not None:
        _tracked(round_, _track_point(session, position, now))
    session.flush()
    return finding


def worklist(session: Session, plan: InspectionPlan, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
    """What a 督察中队 plan works from: open tasks past their deadline, and spots with repeated reports this week."""
    wanted = set((plan.scope or {}).get("worklists") or [])
    result: dict[str, list[dict[str, Any]]] = {}
    now = clock.now()
    if "overdue" in wanted:
        rows = session.execute(
            select(Task.id, Task.deadline_at, Category.name_zh, Category.name_en, Grid.name_zh, Grid.name_en)
            .join(Event, Event.id == Task.event_id).join(Category, Category.id == Event.category_id)
            .outerjoin(Grid, Grid.id == Event.grid_id)
            .where(Task.campaign_id == plan.campaign_id, Task.deadline_at < now, Task.status.in_((*WORKING, TaskStatus.DISPATCHED)))
            .order_by(Task.deadline_at).limit(limit))
        result["overdue"] = [{"task": r[0], "deadline_at": r[1], "category": (r[2], r[3]), "grid": (r[4], r[5])}
                             for r in rows]
    if "hotspots" in wanted:
        count = func.count(Event.id)
        rows = session.execute(
            select(Category.name_zh, Category.name_en, Grid.name_zh, Grid.name_en, count)
            .join(Category, Category.id == Event.category_id).join(Grid, Grid.id == Event.grid_id)
            .where(Event.occurred_at >= now - timedelta(days=7))
            .group_by(Category.name_zh, Category.name_en, Grid.name_zh, Grid.name_en)
            .having(count >= HOTSPOT_REPORTS).order_by(count.desc()).limit(limit))
        result["hotspots"] = [{"category": (r[0], r[1]), "grid": (r[2], r[3]), "reports": r[4]} for r in rows]
    return result


def finding_json(finding: InspectionFinding, lang: str = "zh") -> dict[str, Any]:
    event = finding.event
    case = event.case
    return {"id": finding.id, "event": event.id, "case": event.case_id, "tier": event.inspection_tier,
            "inspector": event.inspector_id, "category": event.category.code,
            "category_name": event.category.name_zh if lang == "zh" else event.category.name_en,
            "description": event.description, "grid": event.grid.code if event.grid else None,
            "street": finding.street.code if finding.street else None,
            "lat": event.lat, "lon": event.lon, "location_source": finding.location_source,
            "photos": [p.id for p in finding.photos], "created_at": finding.created_at.isoformat(),
            "case_stage": case.stage if case is not None else None}


def round_json(round_: InspectionRound, lang: str = "zh") -> dict[str, Any]:
    return {"id": round_.id, "plan": round_.plan.code, "tier": round_.tier_level, "inspector": round_.inspector_id,
            "unit": round_.unit_id, "started_at": round_.started_at.isoformat(),
            "ended_at": round_.ended_at.isoformat() if round_.ended_at else None, "track": round_.track or [],
            "findings": [finding_json(f, lang) for f in round_.findings]}
