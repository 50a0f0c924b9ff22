"""The task breakdown table (创建任务分解表, issue 17 point 4): the campaign plan as items with a lead unit,
cooperating units, a named person, a due date and milestones. Units report progress (text, photos, percent); an
item past its due date and not done escalates like a task (督办 to its lead unit and the supervising body); the
monthly progress report for the 推进会 names who shares experience ("任务落实好的中队做经验交流") and who makes a
statement ("推进慢或停止不前的中队做表态发言"), as seed 002 has the monthly meeting."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.core import clock, outbox
from engine.core.models import Campaign, Person, PlanItem, PlanMilestone, PlanProgress, Unit, User
from engine.core.photos import store_photo
from engine.people.staff import unit_and_below
from engine.supervision.inspection import Photo, checked_photos
from rules.packs import load_pack
from rules.problems import InputError, Problem

MAX_TEXT = 2000
MAX_MILESTONES = 20


def _unit(session: Session, value: Any, where: str, problems: list[Problem]) -> Unit | None:
    if isinstance(value, Unit):
        return value
    row = session.scalar(select(Unit).where(Unit.code == str(value or "").strip())) if value else None
    if row is None:
        problems.append(Problem(where, f"no unit {value!r}" if value else "required: choose the unit",
                                f"没有这个单位：{value}" if value else "必填：请选择单位"))
    return row


def _day(value: Any, where: str, problems: list[Problem]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        problems.append(Problem(where, "a date such as 2026-12-31", "须为日期，例如 2026-12-31"))
        return None


def check_item(session: Session, campaign: Campaign, data: dict[str, Any],
               item: PlanItem | None = None) -> dict[str, Any]:
    """The item's columns and milestones from a form, request or import row, or InputError naming each field."""
    problems: list[Problem] = []
    code = str(data.get("code") or "").strip()
    if not code or len(code) > 32:
        problems.append(Problem("code", "required: 1–32 characters", "必填：1–32 个字符"))
    elif session.scalar(select(PlanItem.id).where(PlanItem.campaign_id == campaign.id, PlanItem.code == code,
                                                  PlanItem.id != (item.id if item else -1))):
        problems.append(Problem("code", f"item {code} exists already", f"任务编号 {code} 已存在"))
    title = str(data.get("title") or "").strip()
    if not title or len(title) > MAX_TEXT:
        problems.append(Problem("title", f"required: at most {MAX_TEXT} characters", f"必填：不超过 {MAX_TEXT} 个字符"))
    lead = _unit(session, data.get("lead_unit"), "lead_unit", problems)
    cooperating = [u for u in (_unit(session, code, "cooperating", problems) for code in data.get("cooperating") or [])
                   if u is not None]
    if lead is not None and any(u.id == lead.id for u in cooperating):
        problems.append(Problem("cooperating", "the lead unit cannot also cooperate", "牵头单位不能同时是配合单位"))
    person = None
    if not data.get("person"):  # 责任清单: each 攻坚任务 is put on a named person (具体人员), seed 002
        problems.append(Problem("person", "required: name the person responsible for this task",
                                "必填：请指定该任务的具体责任人"))
    else:
        person = session.scalar(select(Person).where(Person.code == str(data["person"])))
        if person is None:
            problems.append(Problem("person", f"no person {data['person']!r}", f"没有这个人员：{data['person']}"))
        elif lead is not None and person.unit_id not in unit_and_below(session, lead.id):
            problems.append(Problem("person", f"{person.name} is not in the lead unit", f"{person.name}不属于牵头单位"))
    due = _day(data.get("due_on"), "due_on", problems)
    if due is not None and (item is None or due != item.due_on) and not data.get("keep_late_due"):
        late = due_after_inspection(campaign, due)
        if late is not None:
            problems.append(late)
    milestones = []
    for i, raw in enumerate((data.get("milestones") or [])[:MAX_MILESTONES + 1]):
        where = f"milestones[{i}]"
        text = str((raw or {}).get("title") or "").strip()
        when = _day((raw or {}).get("due_on"), where, problems)
        if not text:
            problems.append(Problem(where, "a milestone needs its title", "节点须写明内容"))
        if when is not None and due is not None and when > due:
            problems.append(Problem(where, "a milestone falls after the item's due date", "节点时间晚于完成时限"))
        milestones.append((text, when))
    if len(milestones) > MAX_MILESTONES:
        problems.append(Problem("milestones", f"at most {MAX_MILESTONES} milestones",
                                f"节点不超过 {MAX_MILESTONES} 个"))
    if problems:
        raise InputError(problems)
    return {"code": code, "title": title, "lead_unit": lead, "cooperating": [u.id for u in cooperating],
            "person": person, "due_on": due, "milestones": milestones}


def due_after_inspection(campaign: Campaign, due: date, now: datetime | None = None) -> Problem | None:
    """Seed 003 has every point and indicator put right before the evaluation team arrives (3月22日之前整改到位): a due
    day ending after the inspection starts, while it is still to come or running, is named with the local start."""
    start = campaign.inspection_starts_at
    ended = campaign.inspection_ends_at is not None and campaign.inspection_ends_at <= (now or clock.now())
    if start is None or ended:
        return None
    zone = ZoneInfo(campaign.timezone)
    if datetime.combine(due + timedelta(days=1), time(), zone) <= start:
        return None
    shown = f"{start.astimezone(zone):%Y-%m-%d %H:%M}"
    return Problem("due_on", f"due after the inspection starts ({shown}): every point and indicator is to be put right "
                   "before it; tick \"keep this due date\" to save it anyway",
                   f"完成时限晚于测评开始时间（{shown}），所有测评点、测评指标须在测评开始前整改到位；确需保留请勾选“保留该完成时限”")


def save_item(session: Session, campaign: Campaign, data: dict[str, Any], item: PlanItem | None = None) -> PlanItem:
    """Create or change an item from checked input; its milestones are replaced. Flushes; the caller commits."""
    values = check_item(session, campaign, data, item)
    if item is None:
        item = PlanItem(campaign_id=campaign.id, percent=0, created_at=clock.now())
        session.add(item)
    milestones = values.pop("milestones")
    for name, value in values.items():
        setattr(item, name, value)
    if item.escalated_at is not None and item.done_on is None and item.due_on >= _today(campaign):
        item.escalated_at = None  # a new due date: escalate again if it is missed
    item.milestones = [PlanMilestone(title=text, due_on=when) for text, when in milestones]
    session.flush()
    return item


def load_demo(session: Session, pack: dict[str, Any] | None = None) -> int:
    """The demo pack's rows of the table (one of them already overdue), once; returns how many were added."""
    pack = pack or load_pack("demo")
    campaign = session.scalar(select(Campaign).where(Campaign.code == pack["campaign"]["code"]))
    if campaign is None:
        return 0
    known = set(session.scalars(select(PlanItem.code).where(PlanItem.campaign_id == campaign.id)))
    added = [save_item(session, campaign, {**spec, "keep_late_due": True}) for spec in pack.get("plan_items", [])
             if spec["code"] not in known]
    return len(added)


def _today(campaign: Campaign, now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(ZoneInfo(campaign.timezone)).date()


def may_report(session: Session, item: PlanItem, user: User) -> bool:
    """An administrator for anyone; a field unit's account for the items its unit (or one above it) leads or
    cooperates on. Reading roles never write progress."""
    if user.role == "admin":
        return True
    if user.role != "field_unit":
        return False
    units = unit_and_below(session, user.unit_id)
    return item.lead_unit_id in units or bool(units & set(item.cooperating or []))


def report_progress(session: Session, item: PlanItem, user: User, percent: Any, text: str,
                    photos: list[Photo] | None = None, folder: Path | None = None, max_bytes: int = 10 * 2**20,
                    now: datetime | None = None) -> PlanProgress:
    """A unit's progress on the item, with photos stored under `folder`; the lead unit's report sets the item's
    percent, and 100 % marks it done. Someone else's item is refused, as is any bad field, with nothing written.
    Flushes; the caller commits."""
    problems: list[Problem] = []
    campaign = session.get(Campaign, item.campaign_id)
    if not may_report(session, item, user):
        raise InputError([Problem("item", "this item is not your unit's: only its lead and cooperating units "
                                  "report on it", "该任务不属于贵单位：只有牵头单位和配合单位可以报送进度")])
    try:
        value = int(str(percent).strip())
        if not 0 <= value <= 100:
            raise ValueError
    except ValueError:
        problems.append(Problem("percent", "a whole number from 0 to 100", "须为 0 到 100 的整数"))
        value = 0
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT or "\x00" in text:
        problems.append(Problem("text", f"required: what was done, at most {MAX_TEXT} characters",
                                f"必填：说明完成情况，不超过 {MAX_TEXT} 个字符"))
    checked = checked_photos(photos or [], max_bytes, ZoneInfo(campaign.timezone), problems)
    if checked and folder is None:
        raise ValueError("photos need the evidence folder")
    if problems:
        raise InputError(problems)
    now = now or clock.now()
    stored = [store_photo(session, folder, f"plan/{item.id}", facts, photo.filename, photo.data, user,
                          field="progress", stage="after").id
              for photo, facts in checked]
    unit_id = user.unit_id if user.unit_id is not None else item.lead_unit_id
    row = PlanProgress(item_id=item.id, unit_id=unit_id, user_id=user.id, percent=value, text=text,
                       photos=stored, reported_at=now)
    session.add(row)
    if user.unit_id is None or item.lead_unit_id in unit_and_below(session, user.unit_id) \
            or unit_id in unit_and_below(session, item.lead_unit_id):  # the lead unit or a unit under it
        item.percent = value
        item.done_on = _today(campaign, now) if value == 100 else None
    session.flush()
    return row


def run_due(session: Session, now: datetime | None = None) -> int:
    """Raise every item past its due date and not done, once: a 督办 message to its lead unit and to the
    supervising body of the first rung. An item raised again (its due date moved, then back) gets a new 督办
    under its key's next repeat. Commits; returns how many were raised."""
    now = now or clock.now()
    raised = 0
    for campaign in session.scalars(select(Campaign).where(Campaign.status == "active")):
        today = _today(campaign, now)
        overdue = session.scalars(select(PlanItem).where(
            PlanItem.campaign_id == campaign.id, PlanItem.done_on.is_(None), PlanItem.escalated_at.is_(None),
            PlanItem.due_on < today).options(selectinload(PlanItem.lead_unit))).all()
        messages = []
        for item in overdue:
            # the facts alone: each reader's inbox and channel word them in that reader's language
            payload = {"plan_item": item.id, "campaign": campaign.id, "code": item.code, "title": item.title[:200],
                       "due_on": item.due_on.isoformat(), "percent": item.percent}
            for target in (f"unit:{item.lead_unit_id}", "tier:1"):
                key = outbox.unused_key(session, f"plan-overdue-{item.id}-{item.due_on}-{target}")
                messages.append(outbox.message(key, "plan_overdue", target, payload, now))
            item.escalated_at = now
            raised += 1
        outbox.write_once(session, messages)
    session.commit()
    return raised


@dataclass
class UnitProgress:
    """One unit's line in the monthly report: its items due by the month's end, done, and behind."""

    unit: Unit
    due: int = 0
    done: int = 0
    behind: list[PlanItem] = field(default_factory=list)
    lagging: list[PlanItem] = field(default_factory=list)  # not due yet, but short of the time elapsed

    @property
    def on_time_rate(self) -> float | None:
        return None if self.due == 0 else self.done / self.due

    @property
    def shares_experience(self) -> bool:
        """任务落实好 (经验交流 at the 推进会): every item due by the month's end done on time, at least one, and
        none of its other items behind the time elapsed."""
        return self.due > 0 and self.done == self.due and not self.lagging

    @property
    def makes_pledge(self) -> bool:
        """推进慢或停止不前 (表态发言 at the 推进会): an item overdue, or one behind the time elapsed."""
        return bool(self.behind or self.lagging)


def expected_percent(item: PlanItem, today: date, zone: ZoneInfo | None = None) -> int:
    """How far the item should be by `today` if work ran evenly from its creation (local day) to its due date."""
    start = item.created_at.astimezone(zone).date() if zone is not None else item.created_at.date()
    if today >= item.due_on:
        return 100
    span = max((item.due_on - start).days, 1)
    return max(0, min(100, round(100 * (today - start).days / span)))


def monthly_report(session: Session, campaign: Campaign, month: str,
                   now: datetime | None = None) -> list[UnitProgress]:
    """Per lead unit, most behind first: items due by the month's end and done on time, those overdue and not done
    (as at the month's end, or today in a running month), and those more than 20 points short of the time elapsed."""
    try:
        first = date.fromisoformat(f"{month}-01")
        if not 2000 <= first.year <= 2999:
            raise ValueError(month)
    except ValueError as err:
        raise InputError([Problem("month", "a month such as 2026-11", "须为月份，例如 2026-11")]) from err
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    today = min(last + timedelta(days=1), _today(campaign, now))  # a finished month: as at its end
    lines: dict[int, UnitProgress] = {}
    for item in session.scalars(select(PlanItem).where(PlanItem.campaign_id == campaign.id)
                                .options(selectinload(PlanItem.lead_unit)).order_by(PlanItem.code)):
        line = lines.setdefault(item.lead_unit_id, UnitProgress(item.lead_unit))
        if item.due_on <= last:
            line.due += 1
            if item.done_on is not None and item.done_on <= item.due_on:
                line.done += 1
            elif item.due_on < today and (item.done_on is None or item.done_on > today):
                line.behind.append(item)
        elif item.done_on is None and item.percent + 20 < expected_percent(item, today, ZoneInfo(campaign.timezone)):
            line.lagging.append(item)
    return sorted(lines.values(), key=lambda line: (-len(line.behind), -len(line.lagging), line.unit.code))
