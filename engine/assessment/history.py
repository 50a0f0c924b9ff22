"""A year of demo cases (`civicrules demo history`): reports month by month through the real pipeline with the
clock moved, units that handle, miss or overrun their tasks by fixed profiles, the timeline steps as time
passes, and each finished month's and quarter's sanctions list with a record (约谈纪要) for every sanction.

Like the pipeline it drives, it commits as it goes: each report, each task move and each kept list is one
transaction of its own, so a run stopped half-way leaves whole months behind it and `generate` skips them.
"""
from __future__ import annotations

import heapq
import random
import secrets
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Callable, Iterator, Optional
from zoneinfo import ZoneInfo

from shapely.geometry import Point, shape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from engine.accounts.users import create_user
from engine.assessment import sanction_records, sanctions
from engine.assessment.periods import Period, PeriodError, parse_period, period_containing
from engine.assessment.ranking import Ranked, ranking
from engine.core import clock
from engine.core.config import PipelineSettings
from engine.core.models import (Campaign, Category, Event, Firing, Grid, Person, SanctionDue, Task, TaskStep, Unit,
                                User)
from engine.core.states import TaskStatus
from engine.evaluation import pipeline
from engine.evaluation.handover import SOURCE as HANDOVER_SOURCE, Handover, hand_over
from engine.handling import tasks
from engine.intake.events import IntakeSource, accept_event
from engine.people.staff import LEADERS
from engine.supervision import escalation

SOURCE = IntakeSource("demo-history", "patrol")
#: Matters the sub-districts answer for (the seeds' 六个零容忍 and 严管理 rows fire on most of them).
SUBDISTRICT_MATTERS = ("06001", "08006", "06029", "06008", "09010", "09021", "09013", "09014", "06007", "09005")
#: The departments' share: reports of a matter a department leads or cooperates on by its duty list (环卫中心,
#: 住建局, 环保分局, 公安分局; 交通运输局 and 林业局 cooperate), and hand-overs by the committee (交办) of the
#: local matters the catalogue gives no filing condition, to the department the seed names for each.
DEPARTMENT_MATTERS = ("06012", "08007", "06028", "L0019", "L0001", "L0002")
HANDED_OVER = (("JTJ", "L0015"), ("GTFJ", "L0012"), ("SCJGJ", "L0013"), ("JJDD", "L0011"), ("NMSLJ", "L0016"),
               ("JXJ", "L0014"))
HANDOVER_LIMIT = (3, "working_days")
NIGHT_MATTER = "06029"  # a barbecue stall at night: the night squad's task (night-street-order) beside ZT4's
#: Share of a unit's tasks that end each way: on time, late, reworked once, extended once, never handled.
PROFILES: dict[str, dict[str, float]] = {
    "strong": {"on_time": 0.85, "late": 0.05, "rework": 0.04, "extension": 0.06, "missed": 0.0},
    "average": {"on_time": 0.6, "late": 0.15, "rework": 0.1, "extension": 0.05, "missed": 0.1},
    "weak": {"on_time": 0.3, "late": 0.25, "rework": 0.1, "extension": 0.05, "missed": 0.3},
}
PEER_TYPES = ("subdistrict", "department", "squad")
SPOT_STEP = 0.0015  # degrees between report spots in a grid (over 130 m: never linked into one case by place)
SANCTIONS_AT = time(9, 0)  # the lists of a finished month are kept on the next month's first morning


class HistoryError(ValueError):
    """A request `generate` cannot carry out (no campaign, a month not finished yet)."""


@dataclass
class MonthReport:
    """What one month of the generated history did, as `demo history` prints it."""

    label: str
    skipped: bool = False
    reports: int = 0
    tasks: int = 0
    tasks_by_outcome: Counter = field(default_factory=Counter)
    firings: Counter = field(default_factory=Counter)  # rule key (list row) -> reports it fired on
    steps: Counter = field(default_factory=Counter)  # remind / order / escalate / list_publicly -> steps run
    no_cases: list[str] = field(default_factory=list)  # units in a peer group with nothing dispatched
    bottom: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # group -> bottom three (code, score)
    sanctions: list[tuple[str, str, str, str]] = field(default_factory=list)  # period, rule, sanction, unit code
    records: int = 0

    def lines(self) -> list[str]:
        """The month as `demo history` prints it."""
        if self.skipped:
            return [f"{self.label}: already generated, skipped (nothing written)"]
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.tasks_by_outcome.items()))
        fired = ", ".join(f"{rule} {n}" for rule, n in sorted(self.firings.items()))
        steps = ", ".join(f"{action} {n}" for action, n in sorted(self.steps.items()))
        out = [f"{self.label}: {self.reports} reports, {self.tasks} tasks ({outcomes})",
               f"  rules fired (reports): {fired or 'none'}", f"  steps run: {steps or 'none'}"]
        out += [f"  bottom three, {group}: " + ", ".join(f"{unit} {score:.2f}" for unit, score in units)
                for group, units in sorted(self.bottom.items())]
        out.append(f"  no cases (无案件): {', '.join(self.no_cases) or 'none'}")
        out += [f"  sanction {period} {rule:<34} {sanction:<19} {unit}"
                for period, rule, sanction, unit in self.sanctions]
        return out + [f"  sanction records written: {self.records}"]


@dataclass(order=True)
class _Move:
    at: datetime
    order: int
    task_id: int = field(compare=False)
    action: str = field(compare=False)


def months_ending(end: str, count: int, tz: str) -> list[Period]:
    """`count` months up to and including `end` (YYYY-MM), oldest first."""
    try:
        period = parse_period(end, tz)
    except PeriodError:
        period = None
    if period is None or period.kind != "month":
        raise HistoryError(f"--end is a month such as 2026-11, not {end!r} / --end 须为月份，如 2026-11")
    months = [period]
    while len(months) < count:
        months.append(months[-1].previous(tz))
    return months[::-1]


def profile_of(unit: Unit, seed: int) -> str:
    """A unit's fixed performance profile: the same for a seed on every run."""
    return random.Random(f"{seed}:{unit.code}").choice(["strong", "strong", "average", "average", "weak"])


def generated(session: Session, label: str) -> bool:
    return session.scalar(select(Event.id).where(Event.source == SOURCE.name,
                                                 Event.source_event_id.like(f"history-{label}-%")).limit(1)) is not None


@contextmanager
def _moved_clock() -> Iterator[Callable[[datetime], None]]:
    """The engine's clock, moved by the generator and put back afterwards."""
    previous = clock.current()
    instant: list[datetime] = [clock.now()]
    clock.set_clock(lambda: instant[0])
    try:
        yield lambda at: instant.__setitem__(0, at)
    finally:
        clock.set_clock(previous)


def generate(factory: sessionmaker, campaign_code: str, end: str, limits: PipelineSettings, months: int = 12,
             per_month: int = 40, seed: int = 1,
             progress: Optional[Callable[[MonthReport], None]] = None) -> list[MonthReport]:
    """Generate `months` months of reports ending with `end`; months generated before are skipped, untouched.

    `limits` are the pipeline's settings (settings.pipeline: batch size, lease, attempts)."""
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.code == campaign_code))
        if campaign is None:
            raise HistoryError(f"no campaign {campaign_code!r}: load the demo first (civicrules demo load) / "
                               f"没有专项行动 {campaign_code!r}：请先加载演示（civicrules demo load）")
        tz = campaign.timezone
        periods = months_ending(end, months, tz)
        if periods[-1].end > clock.now():
            raise HistoryError(f"{end} has not ended yet: the history covers finished months only / "
                               f"{end} 尚未结束：只生成已结束的月份")
        world = _World.read(session, campaign, seed)
        session.commit()
    reports = []
    with _moved_clock() as move_to:
        sim = _Simulation(factory, world, move_to, limits)
        for index, period in enumerate(periods):
            with factory() as session:
                done = generated(session, period.label)
            if done:
                report = MonthReport(period.label, skipped=True)
            else:
                report = sim.month(period, index, per_month)
            reports.append(report)
            if progress is not None:
                progress(report)
    return reports


@dataclass
class _World:
    """The campaign's units, grids and spots, and the accounts that act, read once."""

    campaign_id: int
    tz: str
    seed: int
    subdistricts: list[int]  # those with a grid to report in
    grids_of: dict[int, list[tuple[str, list[tuple[float, float]]]]]  # unit id -> (grid code, spots)
    idle_unit: int  # the sub-district that gets no reports every fourth month
    actors: dict[int, int]  # unit id -> field-unit user id
    checker_id: int
    dispatcher_id: int
    profiles: dict[int, str]

    @classmethod
    def read(cls, session: Session, campaign: Campaign, seed: int) -> _World:
        units = list(session.scalars(select(Unit).where(Unit.type.in_(PEER_TYPES)).order_by(Unit.code)))
        grids_of: dict[int, list[tuple[str, list[tuple[float, float]]]]] = {}
        for grid in session.scalars(select(Grid).order_by(Grid.code)):
            spots = _spots(grid)
            if spots:
                grids_of.setdefault(grid.unit_id, []).append((grid.code, spots))
        subdistricts = [u.id for u in units if u.type == "subdistrict" and u.id in grids_of]
        if not subdistricts:
            raise HistoryError("the campaign has no sub-districts to report in / 没有可上报案件的街道（镇）")
        return cls(campaign.id, campaign.timezone, seed, subdistricts, grids_of,
                   random.Random(f"{seed}:idle").choice(subdistricts),
                   {u.id: _actor(session, u) for u in units},
                   _account(session, "checker"), _account(session, "dispatcher"),
                   {u.id: profile_of(u, seed) for u in units})


def _spots(grid: Grid) -> list[tuple[float, float]]:
    """Points inside the grid, SPOT_STEP apart, for reports that are never linked to one another."""
    if not grid.boundary:
        return []
    area = shape(grid.boundary)
    west, south, east, north = area.bounds
    spots = []
    lat = south + SPOT_STEP / 2
    while lat < north:
        lon = west + SPOT_STEP / 2
        while lon < east:
            if area.contains(Point(lon, lat)):
                spots.append((round(lat, 6), round(lon, 6)))
            lon += SPOT_STEP
        lat += SPOT_STEP
    return spots


def _actor(session: Session, unit: Unit) -> int:
    """The unit's own field-unit account; a unit without one gets `history_<code>`, whose password nobody knows."""
    found = session.scalar(select(User.id).where(User.role == "field_unit", User.unit_id == unit.id,
                                                 User.active.is_(True)).order_by(User.id).limit(1))
    if found is not None:
        return found
    name = f"history_{unit.code.lower()}"
    existing = session.scalar(select(User.id).where(User.username == name))
    return existing if existing is not None else create_user(session, name, "field_unit", secrets.token_urlsafe(24),
                                                             unit.code).id


def _account(session: Session, role: str) -> int:
    found = session.scalar(select(User.id).where(User.role == role, User.active.is_(True)).order_by(User.id).limit(1))
    return found if found is not None else create_user(session, f"history_{role}", role,
                                                       secrets.token_urlsafe(24)).id


class _Simulation:
    """The moved clock's timeline: reports, task moves and due timeline steps, run in time order."""

    def __init__(self, factory: sessionmaker, world: _World, move_to: Callable[[datetime], None],
                 limits: PipelineSettings) -> None:
        self.factory, self.world, self.move_to = factory, world, move_to
        self.limits = (limits.batch_size, limits.lease_seconds, limits.max_attempts)
        self.queue: list[_Move] = []
        self.serial = 0
        self.outcomes: Counter = Counter()
        self.spot_turn: Counter = Counter()

    def month(self, period: Period, index: int, per_month: int) -> MonthReport:
        report = MonthReport(period.label)
        self.outcomes = Counter()
        for at, payload in self._reports(period, index, per_month):
            self._until(at)
            self.move_to(at)
            if "handover" in payload:
                task_ids = self._hand_over(at, payload)
            else:
                with self.factory() as session:
                    accept_event(session, payload, SOURCE)
                    session.commit()
                pipeline.drain(self.factory, *self.limits)
                with self.factory() as session:
                    task_ids = list(session.scalars(select(Task.id).join(Event, Event.id == Task.event_id).where(
                        Event.source == SOURCE.name, Event.source_event_id == payload["source_event_id"])))
            with self.factory() as session:
                for task_id in task_ids:
                    self._plan(session.get(Task, task_id), period)
        produced_at = datetime.combine(period.end.astimezone(ZoneInfo(self.world.tz)).date(), SANCTIONS_AT,
                                       ZoneInfo(self.world.tz))
        self._until(produced_at)
        self.move_to(produced_at)
        report.tasks_by_outcome = self.outcomes
        self._count(report, period)
        labels = [period.label]
        quarter = period_containing("quarter", period.start, self.world.tz)
        if quarter.end == period.end:
            labels.append(quarter.label)
        with self.factory() as session:
            campaign = session.get(Campaign, self.world.campaign_id)
            report.bottom, report.no_cases = _bottom(session, campaign, period, produced_at)
            for label in labels:
                report.records += self._sanctions(session, campaign, label, produced_at, report)
            session.commit()
        return report

    def _reports(self, period: Period, index: int, per_month: int) -> list[tuple[datetime, dict]]:
        """The month's reports: every other one a sub-district's matter in its grids (the idle sub-district gets
        none every fourth month, so 无案件 shows), the others a department's matter; some barbecues at night."""
        rng = random.Random(f"{self.world.seed}:{period.label}")
        zone = ZoneInfo(self.world.tz)
        days = (period.end.astimezone(zone).date() - period.first_day).days
        idle = index % 4 == 3
        working = [u for u in self.world.subdistricts if not (idle and u == self.world.idle_unit)]
        every_grid = [g for unit, grids in self.world.grids_of.items() for g in grids
                      if not (idle and unit == self.world.idle_unit)]
        out = []
        for n in range(per_month):
            if n % 2 == 0:
                unit = working[(n // 2) % len(working)]
                grids = self.world.grids_of[unit]
                grid = grids[(n // 2 // len(working)) % len(grids)]
                matter = rng.choice(SUBDISTRICT_MATTERS)
            else:
                grid = every_grid[rng.randrange(len(every_grid))]
                turn = (n // 2 + index * 5) % (len(DEPARTMENT_MATTERS) + len(HANDED_OVER))
                matter = DEPARTMENT_MATTERS[turn] if turn < len(DEPARTMENT_MATTERS) else None
            hour = 23 if matter == NIGHT_MATTER and rng.random() < 0.5 else rng.randint(8, 16)
            day = period.first_day + timedelta(days=min(days - 3, n * (days - 3) // per_month))
            at = datetime.combine(day, time(hour, rng.randint(0, 59)), zone)
            code, spots = grid
            lat, lon = spots[self.spot_turn[code] % len(spots)]
            self.spot_turn[code] += 1
            key = f"history-{period.label}-{n:04d}"
            if matter is None:
                out.append((at, {"handover": HANDED_OVER[turn - len(DEPARTMENT_MATTERS)], "grid": code,
                                 "lat": lat, "lon": lon, "key": key}))
                continue
            out.append((at, {"source_event_id": key, "category": matter, "grid": code,
                             "location": {"lat": lat, "lon": lon}, "occurred_at": at.isoformat(),
                             "description": "演示历史案件 / generated demo history"}))
        return sorted(out, key=lambda item: item[0])

    def _hand_over(self, at: datetime, spec: dict) -> list[int]:
        """The committee hands a department the matter the seed names it for (交办); its tasks' ids."""
        unit_code, matter = spec["handover"]
        with self.factory() as session:
            name = session.scalar(select(Category.name_zh).where(Category.code == matter)) or matter
            done = hand_over(session, Handover(
                title=f"{name}（城管委交办）", description=f"演示历史 {spec['key']} / generated demo history",
                grid=spec["grid"], lead=unit_code, limit_value=HANDOVER_LIMIT[0], limit_unit=HANDOVER_LIMIT[1],
                lat=spec["lat"], lon=spec["lon"]), None, at)
            session.commit()
            return done.task_ids

    def _plan(self, task: Task, period: Period) -> None:
        """Schedule a new task's moves by its unit's profile: on time, late, reworked, extended or never handled.
        Drawn by what the task is for, not its id: PostgreSQL's ids depend on what the database did before."""
        event = task.event
        report = event.source_event_id if event.source_event_id.startswith("history-") else (
            f"{task.created_at:%Y%m%d%H%M%S}:{event.category.code}")  # a hand-over's key is random
        rng = random.Random(f"{self.world.seed}:{period.label}:{report}:{task.unit_id}")
        shares = PROFILES[self.world.profiles.get(task.unit_id, "average")]
        outcome = rng.choices(list(shares), weights=list(shares.values()))[0]
        self.outcomes[outcome] += 1
        start, span = task.created_at, task.deadline_at - task.created_at
        plans = {
            "on_time": [(0.1, "sign"), (0.2, "start"), (0.5, "submit"), (0.6, "pass_check")],
            "late": [(0.1, "sign"), (0.2, "start"), (1.4, "submit"), (1.5, "pass_check")],
            "rework": [(0.1, "sign"), (0.2, "start"), (0.3, "submit"), (0.35, "fail_check"), (0.4, "start"),
                       (0.6, "submit"), (0.7, "pass_check")],
            "extension": [(0.1, "sign"), (0.2, "start"), (0.3, "request_extension"), (0.35, "approve_extension"),
                          (1.5, "submit"), (1.6, "pass_check")],
            "missed": [(0.1, "sign")],
        }
        for share, action in plans[outcome]:
            self.serial += 1
            heapq.heappush(self.queue, _Move(start + span * share, self.serial, task.id, action))

    def _until(self, at: datetime) -> None:
        """Run every task move and timeline step due before `at`, in time order, each at its own instant."""
        while True:
            step_at = self._next_step()
            move_at = self.queue[0].at if self.queue else None
            due = [t for t in (step_at, move_at) if t is not None and t <= at]
            if not due:
                return
            if step_at is not None and step_at in due and (move_at is None or step_at <= move_at):
                self.move_to(step_at)
                with self.factory() as session:
                    escalation.run_due(session, now=step_at)
            else:
                self._move(heapq.heappop(self.queue))

    def _next_step(self) -> Optional[datetime]:
        with self.factory() as session:
            return session.scalar(select(func.min(TaskStep.due_at)).join(Task, Task.id == TaskStep.task_id)
                                  .where(TaskStep.status == "pending", Task.status != TaskStatus.PARKED))

    def _move(self, move: _Move) -> None:
        self.move_to(move.at)
        with self.factory() as session:
            task = session.get(Task, move.task_id)
            who = {"pass_check": self.world.checker_id, "fail_check": self.world.checker_id,
                   "approve_extension": self.world.dispatcher_id}.get(move.action, self.world.actors.get(task.unit_id))
            comment = "核查未通过，请返工 / redo it" if move.action == "fail_check" else ""
            data = {"result": "已按要求处置（演示历史）"} if move.action == "submit" else None
            try:
                tasks.apply(session, task, move.action, session.get(User, who), comment, data,
                            expected_version=task.version)
                session.commit()
            except (tasks.TransitionError, tasks.VersionConflict):
                session.rollback()  # the task went another way meanwhile (a step, a reroute): nothing to do

    def _count(self, report: MonthReport, period: Period) -> None:
        with self.factory() as session:
            events = select(Event.id).where(or_(
                (Event.source == SOURCE.name) & Event.source_event_id.like(f"history-{period.label}-%"),
                (Event.source == HANDOVER_SOURCE.name) & Event.description.like(f"%history-{period.label}-%")))
            report.reports = session.scalar(select(func.count()).select_from(events.subquery())) or 0
            report.tasks = session.scalar(select(func.count(Task.id)).where(Task.event_id.in_(events))) or 0
            report.firings = Counter(dict(session.execute(
                select(Firing.rule_key, func.count(Firing.event_id.distinct())).where(Firing.event_id.in_(events))
                .group_by(Firing.rule_key)).tuples().all()))
            report.steps = Counter(dict(session.execute(
                select(TaskStep.action, func.count(TaskStep.id)).where(
                    TaskStep.status == "done", TaskStep.ran_at >= period.start, TaskStep.ran_at < period.end,
                    TaskStep.task_id.in_(select(Task.id).where(Task.event_id.in_(select(Event.id).where(
                        Event.source.in_([SOURCE.name, HANDOVER_SOURCE.name])))))).group_by(TaskStep.action))
                .tuples().all()))

    def _sanctions(self, session: Session, campaign: Campaign, label: str, now: datetime,
                   report: MonthReport) -> int:
        """Keep the period's sanctions list (the `sanctions produce` path) and write each sanction's record."""
        run = sanctions.produce(session, campaign, label, now)
        if run is None:
            return 0
        written = 0
        for due in session.scalars(select(SanctionDue).where(SanctionDue.run_id == run.id).order_by(SanctionDue.id)):
            report.sanctions.append((label, due.rule.code, due.sanction, due.unit.code))
            leader = _leader(session, due.unit_id)
            if leader is None:
                continue
            sanction_records.save(session, campaign, {
                "unit": due.unit.code, "period": label, "sanction": due.sanction, "due": due.id,
                "held_on": now.astimezone(ZoneInfo(campaign.timezone)).date().isoformat(), "principal": leader.code,
                "attendees": f"{leader.name}；区城管委办公室；督考办",
                "minutes": f"{due.unit.name_zh}{label}排名处于后三位（{due.rule.code}），按规定{_sanction_zh(due.sanction)}。",
                "commitments": "逐项分析扣分原因，一个月内完成整改并书面报告。"}, now, None)
            written += 1
        return written


def _sanction_zh(code: str) -> str:
    return sanctions.SANCTIONS.get(code, (code, code))[0]


def _leader(session: Session, unit_id: int) -> Optional[Person]:
    """The person a sanction targets: the unit's leader, else the first of its staff."""
    people = list(session.scalars(select(Person).where(Person.unit_id == unit_id).order_by(Person.code)))
    return next((p for p in people if p.position in LEADERS), people[0] if people else None)


def _bottom(session: Session, campaign: Campaign, period: Period, now: datetime
            ) -> tuple[dict[str, list[tuple[str, float]]], list[str]]:
    """Each peer group's bottom three (the units `in_bottom(3)`, lowest first) and the units with no cases."""
    ranked: list[Ranked] = ranking(session, campaign, period, now)
    codes = dict(session.execute(select(Unit.id, Unit.code)).tuples().all())
    bottom: dict[str, list[tuple[str, float]]] = {}
    for r in sorted(ranked, key=lambda r: (r.score, codes[r.unit_id])):
        if r.in_bottom(3):
            bottom.setdefault(r.group, []).append((codes[r.unit_id], r.score))
    return bottom, sorted(codes[r.unit_id] for r in ranked if r.no_cases)


def finished_month(now: datetime, tz: str) -> str:
    """The last month that ended before `now` (the default end of the history)."""
    return period_containing("month", now, tz).previous(tz).label
