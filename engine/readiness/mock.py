"""Mock evaluation (模拟测评, issue 17 point 3): a round in which inspectors score a sample of points against their
checklists, as the national evaluation will. A failed item (below its maximum, or marked failed) becomes a case for
the point's unit with source type mock_evaluation, costing the points it missed as a finding from above the unit
would; score rates (obtained / maximum of the items scored) per point, type, unit and round, and their trend.

Who scores: the bureau's supervisors (督查) and the assessment office's assessors (督考办), who stand above the
units; a round's sample is drawn by type and count from a seed (the same seed, the same sample) or named by hand.
The caller owns the transaction: these functions flush, never commit; a refused submission writes nothing."""
from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import (Campaign, ChecklistItem, EvaluationRound, EvaluationScore, InspectionPoint,
                                InspectionPointType, User)
from engine.core.photos import store_photo
from engine.readiness.checklists import item_score, items_for
from engine.readiness.daily import MAX_CHECK_PHOTOS, MAX_NOTE, Answer, item_photos
from engine.readiness.findings import Finding, open_case
from rules.facts import POINT_TYPES
from rules.problems import InputError, Problem

SOURCE_NAME = "mock-evaluation"
SOURCE_TYPE = "mock_evaluation"
SCORER_ROLES = ("supervisor", "assessor")
KINDS: dict[str, tuple[str, str]] = {"mock": ("模拟测评", "mock evaluation"),
                                     "official": ("正式测评", "official evaluation")}
STATUSES: dict[str, tuple[str, str]] = {"open": ("进行中", "open"), "closed": ("已结束", "closed")}
MAX_NAME = 200
#: A seed is stored in an Integer column: PostgreSQL's holds at most 2³¹ − 1.
MAX_SEED = 2 ** 31 - 1


def may_score(user: User) -> bool:
    return user.role in SCORER_ROLES


def _local_today(campaign: Campaign, now: datetime) -> date:
    return now.astimezone(ZoneInfo(campaign.timezone)).date()


def sample(points: list[InspectionPoint], count: int | None, seed: int | None) -> list[InspectionPoint]:
    """`count` of the points (all when None), drawn with `seed` from the points in code order: reproducible."""
    ordered = sorted(points, key=lambda p: p.code)
    if count is None or count >= len(ordered):
        return ordered
    return sorted(random.Random(seed).sample(ordered, count), key=lambda p: p.code)


def start_round(session: Session, campaign: Campaign, user: User | None, name: str, starts_on: date | None = None,
                ends_on: date | None = None, types: Iterable[str] = (), count: int | None = None,
                seed: int | None = None, codes: Iterable[str] = (), now: datetime | None = None) -> EvaluationRound:
    """A new mock round over the points named by `codes`, else a seeded sample of `count` active points of
    `types` (all types when none); InputError naming each bad field, nothing written."""
    now = now or clock.now()
    problems: list[Problem] = []
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME or "\x00" in name:
        problems.append(Problem("name", f"required: 1–{MAX_NAME} characters", f"必填：1–{MAX_NAME} 个字符"))
    today = _local_today(campaign, now)
    starts_on, ends_on = starts_on or today, ends_on or starts_on or today
    if ends_on < starts_on:
        problems.append(Problem("ends_on", "the round cannot end before it starts", "结束日期不能早于开始日期"))
    if seed is not None and not 0 <= seed <= MAX_SEED:
        problems.append(Problem("seed", f"a whole number from 0 to {MAX_SEED}", f"须为 0 至 {MAX_SEED} 之间的整数"))
    types = [t for t in types if t]
    unknown = [t for t in types if t not in POINT_TYPES]
    if unknown:
        problems.append(Problem("types", f"no point type {', '.join(unknown)}", f"没有这个点位类型：{'、'.join(unknown)}"))
        types = [t for t in types if t in POINT_TYPES]  # only known ones reach the query (a NUL would fail it)
    codes = [c.strip() for c in codes if c and c.strip()]
    if any("\x00" in c for c in codes):
        problems.append(Problem("points", "point codes without NUL bytes", "点位编号不得含空字符"))
        codes = [c for c in codes if "\x00" not in c]
    active = InspectionPoint.active.is_(True)
    if codes:
        found = {p.code: p for p in session.scalars(select(InspectionPoint).where(InspectionPoint.code.in_(codes),
                                                                                 active))}
        missing = [c for c in codes if c not in found]
        if missing:
            problems.append(Problem("points", f"no active point {', '.join(missing)}",
                                    f"没有这个在用点位：{'、'.join(missing)}"))
        chosen = sorted(found.values(), key=lambda p: p.code)
        seed = None
    else:
        query = select(InspectionPoint).where(active)
        if types:
            query = query.join(InspectionPointType).where(InspectionPointType.code.in_(types))
        if count is not None and count < 1:
            problems.append(Problem("count", "at least one point", "至少抽取 1 个点位"))
        chosen = sample(list(session.scalars(query)), count, seed)
    if not chosen and not problems:
        problems.append(Problem("points", "no active point to score", "没有可测评的在用点位"))
    if problems:
        raise InputError(problems)
    number = (session.scalar(select(func.max(EvaluationRound.number))
                             .where(EvaluationRound.campaign_id == campaign.id)) or 0) + 1
    row = EvaluationRound(campaign_id=campaign.id, number=number, name=name, kind="mock", starts_on=starts_on,
                          ends_on=ends_on, run_by_id=user.id if user else None, status="open", seed=seed,
                          point_ids=[p.id for p in chosen], created_at=now)
    session.add(row)
    session.flush()
    return row


def close_round(session: Session, row: EvaluationRound) -> None:
    """A closed round takes no more scores; its rates stay."""
    row.status = "closed"
    session.flush()


def points_of(session: Session, row: EvaluationRound) -> list[InspectionPoint]:
    if not row.point_ids:
        return []
    return list(session.scalars(select(InspectionPoint).where(InspectionPoint.id.in_(row.point_ids))
                                .order_by(InspectionPoint.code)))


def scores_of(session: Session, row: EvaluationRound, point_id: int | None = None) -> list[EvaluationScore]:
    query = select(EvaluationScore).where(EvaluationScore.round_id == row.id)
    if point_id is not None:
        query = query.where(EvaluationScore.point_id == point_id)
    return list(session.scalars(query.order_by(EvaluationScore.id)))


def _checked(session: Session, point: InspectionPoint, answers: list[Answer], max_bytes: int, zone: ZoneInfo,
             problems: list[Problem]) -> list[tuple[ChecklistItem, Answer, float, bool, list]]:
    """Each item of the point's checklist with its score and verdict; a score above the item's maximum (or below
    0) is named on the item."""
    items = items_for(session, point.type_id)
    if not items:
        problems.append(Problem("checklist", "this point type has no checklist items yet", "该点位类型尚无测评内容"))
    given = {a.item: a for a in answers}
    checked = []
    for item in items:
        where = f"item-{item.code}"
        answer = given.get(item.code)
        if answer is None or (answer.passed is None and answer.score in (None, "")):
            problems.append(Problem(where, "score this item", "请为本项打分"))
            continue
        score = item_score(item, answer.score, item.max_score if answer.passed is not False else 0.0, where,
                           problems)
        if answer.passed is False and answer.score not in (None, "") and score >= item.max_score:
            problems.append(Problem(where, "an item not up to standard loses points: give a score below the "
                                    f"maximum {item.max_score:g}", f"不达标的项须扣分：得分应低于本项满分 {item.max_score:g}"))
        passed = answer.passed is not False and score >= item.max_score
        note = (answer.note or "").strip()
        if len(note) > MAX_NOTE or "\x00" in note:
            problems.append(Problem(where, f"a note of at most {MAX_NOTE} characters, without NUL bytes",
                                    f"说明不超过 {MAX_NOTE} 个字符，且不含空字符"))
        checked.append((item, answer, score, passed, item_photos(answer.photos, where, max_bytes, zone, problems)))
    if sum(len(a.photos) for a in answers) > MAX_CHECK_PHOTOS:
        problems.append(Problem("checklist", f"at most {MAX_CHECK_PHOTOS} photos per point",
                                f"每个点位最多 {MAX_CHECK_PHOTOS} 张照片"))
    unknown = sorted(set(given) - {i.code for i in items})
    if unknown:
        problems.append(Problem("checklist", f"not items of this checklist: {', '.join(unknown)}",
                                f"不属于本点位测评内容：{'、'.join(unknown)}"))
    return checked


def score_point(session: Session, row: EvaluationRound, point: InspectionPoint, user: User, answers: list[Answer],
                folder: Path, max_bytes: int, now: datetime | None = None) -> list[EvaluationScore]:
    """Check every item first, then record the point's scores and open a case for each failed item."""
    now = now or clock.now()
    campaign = session.get(Campaign, row.campaign_id)
    if not may_score(user):
        raise InputError([Problem("point", "only supervisors and assessors score a mock evaluation",
                                  "只有督查人员和考核人员可以进行模拟测评打分")])
    if row.kind != "mock" or row.status != "open":
        raise InputError([Problem("round", "this round is closed", "本轮测评已结束")])
    if point.id not in row.point_ids:
        raise InputError([Problem("point", "this point is not in the round's sample", "该点位不在本轮测评抽样中")])
    if scores_of(session, row, point.id):
        raise InputError([Problem("point", "this point was already scored in this round", "该点位本轮已测评")])
    problems: list[Problem] = []
    checked = _checked(session, point, answers, max_bytes, ZoneInfo(campaign.timezone), problems)
    if problems:
        raise InputError(problems)
    scores = []
    for item, answer, score, passed, photos in checked:
        note = (answer.note or "").strip()
        entry = EvaluationScore(round_id=row.id, point=point, item=item, unit_id=point.unit_id, score=score,
                                max_score=item.max_score, passed=passed, note=note or None, photos=[],
                                inspector_id=user.id, scored_at=now)
        session.add(entry)
        session.flush()
        case_id = None
        if not passed:
            lost = round(item.max_score - score, 2)  # 3 − 2.7 is 0.30000000000000004 in floating point
            text = (f"{point.code} {point.name}：{item.text}（第{row.number}轮模拟测评失分 "
                    f"{lost:g} 分）" + (f" {note}" if note else ""))
            case = open_case(session, campaign, point, item, Finding(
                SOURCE_NAME, SOURCE_TYPE, f"{row.id}-{point.id}-{item.code}", text,
                "模拟测评失分，交点位责任单位整改 / lost points in a mock evaluation round", lost), user, now)
            entry.case_id = case_id = case.id
        entry.photos = [store_photo(session, folder, f"evaluation/{row.id}/{point.id}", facts, photo.filename,
                                    photo.data, user, case_id=case_id, field="mock_evaluation", stage="before").id
                        for photo, facts in photos]
        scores.append(entry)
    session.flush()
    return scores


@dataclass
class Tally:
    """Score obtained over the maximum of the items scored; the rate is None when nothing was scored."""

    obtained: float = 0.0
    maximum: float = 0.0
    items: int = 0
    failed: int = 0

    def add(self, score: EvaluationScore) -> None:
        self.obtained += score.score
        self.maximum += score.max_score
        self.items += 1
        self.failed += not score.passed

    @property
    def rate(self) -> float | None:
        return self.obtained / self.maximum if self.maximum else None

    def json(self) -> dict[str, Any]:
        return {"obtained": round(self.obtained, 2), "maximum": round(self.maximum, 2), "items": self.items,
                "failed": self.failed, "rate": None if self.rate is None else round(self.rate, 4)}


@dataclass
class Rates:
    """A round's score rates: the round's, and per point id, point type code and unit id."""

    round: Tally = field(default_factory=Tally)
    points: dict[int, Tally] = field(default_factory=dict)
    types: dict[str, Tally] = field(default_factory=dict)
    units: dict[int, Tally] = field(default_factory=dict)
    scored_points: int = 0


def rates(session: Session, row: EvaluationRound) -> Rates:
    """Per point, type, unit (the point's unit when scored) and the whole round: Σ score / Σ item maximum."""
    result = Rates()
    for score in scores_of(session, row):
        result.round.add(score)
        result.points.setdefault(score.point_id, Tally()).add(score)
        result.types.setdefault(score.point.type.code, Tally()).add(score)
        result.units.setdefault(score.unit_id, Tally()).add(score)
    result.scored_points = len(result.points)
    return result


def rounds(session: Session, campaign: Campaign, kind: str | None = None) -> list[EvaluationRound]:
    query = select(EvaluationRound).where(EvaluationRound.campaign_id == campaign.id)
    if kind:
        query = query.where(EvaluationRound.kind == kind)
    return list(session.scalars(query.order_by(EvaluationRound.number)))


def trend(session: Session, campaign: Campaign) -> list[tuple[EvaluationRound, Tally]]:
    """The mock rounds in order, each with its whole score rate: is readiness improving round on round?"""
    return [(r, rates(session, r).round) for r in rounds(session, campaign, "mock")]


def demo_rounds(session: Session, folder: Path, now: datetime | None = None) -> list[EvaluationRound]:
    """For the demo loader to call, once: two mock rounds by the demo's supervisor over the points whose type has a
    checklist, the first losing one point on each point's first item (a case each), the second at full marks, so
    the trend rises. Returns the rounds made (none when a mock round exists or nothing can be scored)."""
    now = now or clock.now()
    campaign = campaign_for(session, None)
    inspector = session.scalar(select(User).where(User.role == "supervisor").order_by(User.id).limit(1))
    if campaign is None or inspector is None or rounds(session, campaign, "mock"):
        return []
    points = [p for p in session.scalars(select(InspectionPoint).where(InspectionPoint.active.is_(True))
                                         .order_by(InspectionPoint.code)) if items_for(session, p.type_id)]
    if not points:
        return []
    made = []
    for number, name in ((1, "第一轮模拟测评（示例）"), (2, "第二轮模拟测评（示例）")):
        row = start_round(session, campaign, inspector, name, codes=[p.code for p in points], now=now)
        for point in points:
            items = items_for(session, point.type_id)
            answers = [Answer(i.code, True) for i in items]
            if number == 1:
                answers[0] = Answer(items[0].code, False, max(items[0].max_score - 1, 0), "示例：模拟测评发现的问题")
            score_point(session, row, point, inspector, answers, folder, 0, now)
        close_round(session, row)
        made.append(row)
    return made
