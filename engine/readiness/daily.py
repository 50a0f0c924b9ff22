"""Daily readiness (每日自查, DESIGN 17): during the inspection window each point's responsible person runs its
checklist every day before the campaign's readiness time (06:40 by default, seed 003). A failed item becomes a
case for the point's unit (source type `readiness`, no points lost: it is the unit's own check); a point not
checked by the time is escalated once that day, to the unit's leaders and the body above it.

The caller owns the transaction: `run_check` flushes and never commits; a refused check writes nothing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.authoring.campaigns import campaign_for
from engine.core import clock, outbox
from engine.core.models import (Campaign, Case, ChecklistItem, InspectionPoint, OutboxMessage, Person,
                                ReadinessCheck, User)
from engine.core.photos import Photo, PhotoFacts, inspect_photos, store_photo
from engine.people.staff import LEADERS
from engine.readiness.checklists import item_score, items_for
from engine.readiness.findings import Finding, open_case
from rules.problems import InputError, Problem

SOURCE_NAME = "readiness-checks"
SOURCE_TYPE = "readiness"
MAX_PHOTOS = 3  # per item
MAX_CHECK_PHOTOS = 12  # per check, all items together
MAX_NOTE = 500
#: A point's state today, as the board and the register show it.
STATES: dict[str, tuple[str, str]] = {"checked": ("已自查", "checked"), "failed": ("自查发现问题", "failed"),
                                      "pending": ("待自查", "not checked yet"),
                                      "missed": ("逾时未自查", "not checked by the deadline"),
                                      "closed": ("非测评期", "outside the inspection window")}


@dataclass(frozen=True)
class Answer:
    """One item as the person answered it: passed or not, a score (the item's maximum when left out), a note."""

    item: str
    passed: bool | None
    score: Any = None
    note: str = ""
    photos: list[Photo] = field(default_factory=list)


def readiness_campaign(session: Session) -> Campaign | None:
    return campaign_for(session, None)


def local_day(campaign: Campaign, now: datetime) -> date:
    return now.astimezone(ZoneInfo(campaign.timezone)).date()


def deadline(campaign: Campaign, day: date) -> datetime:
    """The readiness time of a local day, as an aware instant."""
    hours, minutes = (int(x) for x in (campaign.readiness_time or "06:40").split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(campaign.timezone))


def in_window(campaign: Campaign | None, now: datetime) -> bool:
    """Readiness runs in the campaign's inspection window (测评期), and only when it has one."""
    if campaign is None or campaign.status != "active" or campaign.inspection_starts_at is None:
        return False
    return campaign.inspection_starts_at <= now and (campaign.inspection_ends_at is None
                                                     or now <= campaign.inspection_ends_at)


def may_check(point: InspectionPoint, user: User) -> bool:
    """Only the point's responsible person (包点责任人), through their own account, runs its check."""
    return point.person is not None and point.person.user_id is not None and point.person.user_id == user.id


def points_of(session: Session, user: User) -> list[InspectionPoint]:
    """The active points whose responsible person the account is."""
    return list(session.scalars(select(InspectionPoint).join(Person, Person.id == InspectionPoint.person_id)
                                .where(Person.user_id == user.id, InspectionPoint.active.is_(True))
                                .order_by(InspectionPoint.code)))


def check_of(session: Session, point_id: int, day: date) -> ReadinessCheck | None:
    return session.scalar(select(ReadinessCheck).where(ReadinessCheck.point_id == point_id,
                                                       ReadinessCheck.day == day))


def _escalation_key(point_id: int, day: date) -> str:
    return f"readiness:{point_id}:{day.isoformat()}"


def item_photos(photos: list[Photo], where: str, max_bytes: int, zone: ZoneInfo,
                problems: list[Problem]) -> list[tuple[Photo, PhotoFacts]]:
    """An item's photos (at most MAX_PHOTOS) checked by size and content, as a daily check and a mock evaluation
    take them; each problem is named on the item, with the photo's file name."""
    if len(photos) > MAX_PHOTOS:
        problems.append(Problem(where, f"at most {MAX_PHOTOS} photos per item", f"每项最多 {MAX_PHOTOS} 张照片"))
    return inspect_photos(photos[:MAX_PHOTOS], where, max_bytes, zone, problems)


def _checked_answers(session: Session, point: InspectionPoint, answers: list[Answer], max_bytes: int, zone: ZoneInfo,
                     problems: list[Problem]) -> list[tuple[ChecklistItem, Answer, float, list[tuple[Photo, PhotoFacts]]]]:
    items = items_for(session, point.type_id, daily_only=True)
    if not items:
        problems.append(Problem("checklist", "this point type has no daily checklist items yet",
                                "该点位类型尚无每日自查内容"))
    given = {a.item: a for a in answers}
    checked = []
    for item in items:
        where = f"item-{item.code}"
        answer = given.get(item.code)
        if answer is None or answer.passed is None:
            problems.append(Problem(where, "answer this item: passed or failed", "请逐项填写：合格或不合格"))
            continue
        score = item_score(item, answer.score, item.max_score if answer.passed else 0.0, where, problems)
        if len(answer.note or "") > MAX_NOTE or "\x00" in (answer.note or ""):
            problems.append(Problem(where, f"a note of at most {MAX_NOTE} characters, without NUL bytes",
                                    f"说明不超过 {MAX_NOTE} 个字符，且不含空字符"))
        if not answer.passed and not answer.photos:
            problems.append(Problem(where, "a failed item needs a photo of the problem", "不合格项须拍照上传"))
        checked.append((item, answer, score, item_photos(answer.photos, where, max_bytes, zone, problems)))
    if sum(len(a.photos) for a in answers) > MAX_CHECK_PHOTOS:
        problems.append(Problem("checklist", f"at most {MAX_CHECK_PHOTOS} photos per check",
                                f"每次自查最多 {MAX_CHECK_PHOTOS} 张照片"))
    unknown = sorted(set(given) - {i.code for i in items})
    if unknown:
        problems.append(Problem("checklist", f"not items of this checklist: {', '.join(unknown)}",
                                f"不属于本点位自查内容：{'、'.join(unknown)}"))
    return checked


def run_check(session: Session, point: InspectionPoint, user: User, answers: list[Answer], folder: Path,
              max_bytes: int, now: datetime | None = None) -> ReadinessCheck:
    """Check everything first, then record today's check and open a case for each failed item."""
    now = now or clock.now()
    campaign = readiness_campaign(session)
    problems: list[Problem] = []
    if not may_check(point, user):
        raise InputError([Problem("point", "only the point's responsible person runs its daily check",
                                  "只有本点位的包点责任人可以进行每日自查")])
    if not in_window(campaign, now):
        raise InputError([Problem("point", "the daily check runs during the inspection window only",
                                  "每日自查仅在测评期内进行")])
    day = local_day(campaign, now)
    if check_of(session, point.id, day) is not None:
        raise InputError([Problem("point", "this point was already checked today", "该点位今天已完成自查")])
    zone = ZoneInfo(campaign.timezone)
    checked = _checked_answers(session, point, answers, max_bytes, zone, problems)
    if problems:
        raise InputError(problems)
    escalated = session.scalar(select(OutboxMessage.created_at)
                               .where(OutboxMessage.idempotency_key == _escalation_key(point.id, day)))
    row = ReadinessCheck(point=point, day=day, person_id=point.person_id, user_id=user.id, checked_at=now,
                         results=[], failed=sum(1 for _, a, _, _ in checked if not a.passed), escalated_at=escalated)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise InputError([Problem("point", "this point was already checked today", "该点位今天已完成自查")]) from None
    results = []
    for item, answer, score, photos in checked:
        result: dict[str, Any] = {"item": item.code, "passed": bool(answer.passed), "score": score,
                                  "note": (answer.note or "").strip(), "photos": [], "case": None}
        if not answer.passed:
            case = _open_case(session, campaign, point, item, result["note"], user, row, now)
            result["case"] = case.id
            result["photos"] = [store_photo(session, folder, f"readiness/{point.id}", facts, photo.filename,
                                            photo.data, user, case_id=case.id, field="readiness",
                                            stage="before").id for photo, facts in photos]
        results.append(result)
    row.results = results
    session.flush()
    return row


def _open_case(session: Session, campaign: Campaign, point: InspectionPoint, item: ChecklistItem, note: str,
               user: User, check: ReadinessCheck, now: datetime) -> Case:
    """A failed item's report (source type readiness, no points) and its case, dispatched to the point's unit."""
    text = f"{point.code} {point.name}：{item.text}（每日自查不合格）" + (f" {note}" if note else "")
    return open_case(session, campaign, point, item, Finding(
        SOURCE_NAME, SOURCE_TYPE, f"{check.id}-{item.code}", text,
        "每日自查不合格，交点位责任单位整改 / failed in the point's daily readiness check"), user, now)


def state_of(campaign: Campaign | None, check: ReadinessCheck | None, day: date, now: datetime) -> str:
    if check is not None:
        return "failed" if check.failed else "checked"
    if not in_window(campaign, now):
        return "closed"
    return "missed" if now >= deadline(campaign, day) else "pending"


def today(session: Session, points: list[InspectionPoint], now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """Each point's readiness today: its state, the check (when, how many items failed), whether it was escalated."""
    now = now or clock.now()
    campaign = readiness_campaign(session)
    if campaign is None:
        return {p.id: {"state": "closed", "day": None, "deadline": None, "checked_at": None, "failed": 0, "cases": [],
                       "escalated_at": None} for p in points}
    day = local_day(campaign, now)
    ids = [p.id for p in points]
    checks = {c.point_id: c for c in session.scalars(select(ReadinessCheck).where(
        ReadinessCheck.day == day, ReadinessCheck.point_id.in_(ids)))} if ids else {}
    keys = {_escalation_key(i, day): i for i in ids}
    raised = dict(session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.created_at)
                                  .where(OutboxMessage.idempotency_key.in_(list(keys)))).all()) if keys else {}
    found = {}
    for point in points:
        check = checks.get(point.id)
        escalated = raised.get(_escalation_key(point.id, day))
        found[point.id] = {"state": state_of(campaign, check, day, now), "day": day.isoformat(),
                           "deadline": deadline(campaign, day).isoformat(),
                           "checked_at": check.checked_at.isoformat() if check else None,
                           "failed": check.failed if check else 0,
                           "cases": [r["case"] for r in (check.results if check else []) if r.get("case")],
                           "escalated_at": escalated.isoformat() if escalated else None}
    return found


def board(session: Session, now: datetime | None = None) -> list[tuple[InspectionPoint, dict[str, Any]]]:
    """Every active point with its state today, those needing attention first."""
    points = list(session.scalars(select(InspectionPoint).where(InspectionPoint.active.is_(True))
                                  .order_by(InspectionPoint.code)))
    states = today(session, points, now)
    order = {"missed": 0, "failed": 1, "pending": 2, "checked": 3, "closed": 4}
    return sorted(((p, states[p.id]) for p in points), key=lambda ps: (order[ps[1]["state"]], ps[0].code))


def _leaders(session: Session, unit_id: int) -> list[int]:
    return list(session.scalars(select(Person.id).where(Person.unit_id == unit_id, Person.active.is_(True),
                                                        Person.position.in_(LEADERS)).order_by(Person.id)))


def run_due(session: Session, now: datetime | None = None) -> int:
    """Escalate each point not checked by today's readiness time, once per point and day (the message's key);
    commits; returns how many were raised. The escalation poller calls it on its slow round."""
    now = now or clock.now()
    campaign = readiness_campaign(session)
    if not in_window(campaign, now):
        return 0
    day = local_day(campaign, now)
    if now < deadline(campaign, day) or campaign.inspection_starts_at > deadline(campaign, day):
        return 0  # before the time, or on a first day whose window opened after it
    points = list(session.scalars(select(InspectionPoint).where(
        InspectionPoint.active.is_(True),
        InspectionPoint.id.not_in(select(ReadinessCheck.point_id).where(ReadinessCheck.day == day)))))
    raised = set(session.scalars(select(OutboxMessage.idempotency_key).where(
        OutboxMessage.idempotency_key.in_([_escalation_key(p.id, day) for p in points])))) if points else set()
    written = 0
    for point in points:
        key = _escalation_key(point.id, day)
        if key in raised:
            continue
        unit = point.unit
        chain = sorted({*_leaders(session, unit.id), *([unit.liaison_id] if unit.liaison_id else [])})
        message = (f"{point.code} {point.name}：{day.isoformat()} {campaign.readiness_time} 前未完成每日自查"
                   f"（{unit.name_zh}）。 / {point.code} was not checked by {campaign.readiness_time} on "
                   f"{day.isoformat()} ({unit.name_en}).")
        try:
            with session.begin_nested():
                outbox.write(session, [outbox.message(key, "readiness_missed", f"unit:{unit.id}", {
                    "point": point.code, "day": day.isoformat(), "deadline": campaign.readiness_time,
                    "unit": unit.code, "person": point.person_id, "chain": chain, "body": unit.parent_id,
                    "message": message}, now)])
            written += 1
        except IntegrityError:
            continue  # another poller raised it first
    session.commit()
    return written
