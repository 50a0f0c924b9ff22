"""岗位考核 (brief d.1: GB/T 30428.4 evaluates regions, departments and posts): each person of the command centre
over a week, month or quarter, as far as the records name who acted. Formulas, per person:

- 监督员 (reporters and the grids' collectors): 有效上报率 = reports filed ÷ reports made, counting the reports
  that name their person (inspection findings, Event.inspector_id; a patrol or hotline report names only its
  source); 按时核实率 = verifications within the campaign's verify minutes ÷ verifications; 漏报率 = cases filed
  in the collector's grids that the public reported (hotline, citizen) and the collector did not ÷ cases filed
  in those grids (the grids named now: the register keeps no past assignments; a duplicate merged into another
  case, void, is left out).
- 受理员/派遣员 (shift leaders, dispatchers): 受理 is done at intake and names nobody, so a person's 立案率 =
  cases filed ÷ cases they decided at 待立案 (filed or not filed); the centre's 立案率 = filed ÷ accepted over
  the cases accepted in the period; 按时立案率 = filed within the 派遣 clock (from 待立案) ÷ filed; 准确立案率 =
  (filed − later void) ÷ filed; 按时派遣率 = dispatched within the 派遣 clock ÷ dispatched; 准确派遣率 =
  (dispatched − sent back by the unit, 退单) ÷ dispatched. A failed check (返工) judges the unit's work and
  counts in the unit's rework rate, not here. What was filed or dispatched with no centre person (trusted
  sources at intake, a point's own check) is one line of its own (系统自动立案), attributed to nobody.
- 核查员: 按时核查率 = checks of lead tasks decided within the campaign's check minutes ÷ checks decided, with
  the passes and returns (返工).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session, selectinload

from engine.assessment.periods import Period
from engine.cases.clocks import StageClock, decided_checks, stage_clocks
from engine.core.models import Campaign, Case, CaseStageChange, Event, Grid, Person, Task, TaskTransition, User
from engine.core.states import CaseStage, TaskStatus

#: The accounts that file and dispatch at the command centre (engine/evaluation/filing.py FILERS and the
#: dispatcher); a move by any other account (a point's own daily check) is no centre person's.
CENTRE_ROLES = frozenset({"dispatcher", "shift_leader", "admin"})
#: Reports from the public: a problem these found first in a collector's grid is one the collector missed.
PUBLIC_SOURCES = frozenset({"hotline", "citizen"})
#: A case is taken on (立案) once filed, or dispatched from 待派遣 without a filing step (a report outside
#: every grid).
TAKEN_ON = frozenset({CaseStage.FILED, CaseStage.DISPATCHED})
DISPATCHED_FROM = frozenset({CaseStage.FILED, CaseStage.AWAITING_DISPATCH})


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Who:
    """A person as the page names them: the staff name of the account, else its login name."""

    key: tuple[str, int]  # ("person", id) or ("user", id): one line per person, whichever account they used
    name: str


@dataclass
class Supervisor:
    """监督员: reports made and filed, verifications, and what the public reported first in their grids."""

    who: Who
    grids: int = 0
    reported: int = 0
    reported_filed: int = 0
    verified: int = 0
    verified_on_time: int = 0
    grid_filed: int = 0
    missed: int = 0

    @property
    def valid_report_rate(self) -> float | None:
        return _rate(self.reported_filed, self.reported)

    @property
    def on_time_verification_rate(self) -> float | None:
        return _rate(self.verified_on_time, self.verified)

    @property
    def missed_report_rate(self) -> float | None:
        return _rate(self.missed, self.grid_filed)


@dataclass
class Dispatcher:
    """受理员/派遣员: the filing decisions and dispatches they made; `who` None for the line of no person."""

    who: Who | None
    decided: int = 0
    filed: int = 0
    filed_on_time: int = 0
    filed_voided: int = 0
    dispatched: int = 0
    dispatched_on_time: int = 0
    sent_back: int = 0

    @property
    def filing_rate(self) -> float | None:
        return _rate(self.filed, self.decided)

    @property
    def on_time_filing_rate(self) -> float | None:
        return _rate(self.filed_on_time, self.filed)

    @property
    def accurate_filing_rate(self) -> float | None:
        return _rate(self.filed - self.filed_voided, self.filed)

    @property
    def on_time_dispatch_rate(self) -> float | None:
        return _rate(self.dispatched_on_time, self.dispatched)

    @property
    def accurate_dispatch_rate(self) -> float | None:
        return _rate(self.dispatched - self.sent_back, self.dispatched)


@dataclass
class Checker:
    """核查员 (or a 监督员 checking on site): checks decided, passed, returned and decided in time."""

    who: Who
    decided: int = 0
    passed: int = 0
    returned: int = 0
    on_time: int = 0

    @property
    def on_time_check_rate(self) -> float | None:
        return _rate(self.on_time, self.decided)


@dataclass
class Posts:
    campaign: Campaign
    period: Period
    cutoff: datetime
    accepted: int = 0  # cases accepted (受理) in the period
    accepted_filed: int = 0  # of them, taken on by the cut-off
    supervisors: list[Supervisor] = field(default_factory=list)
    dispatchers: list[Dispatcher] = field(default_factory=list)
    system: Dispatcher = field(default_factory=lambda: Dispatcher(None))
    checkers: list[Checker] = field(default_factory=list)

    @property
    def filing_rate(self) -> float | None:
        """The centre's 立案率: of the cases accepted in the period, those taken on."""
        return _rate(self.accepted_filed, self.accepted)


class _Names:
    """Who each account and person is, read in two queries for the whole period."""

    def __init__(self, session: Session, user_ids: Iterable[int], person_ids: Iterable[int]) -> None:
        users, persons = set(user_ids), set(person_ids)
        rows = session.execute(select(Person.id, Person.name, Person.user_id).where(
            (Person.user_id.in_(users)) | (Person.id.in_(persons)))).all() if users or persons else []
        self.by_person = {pid: Who(("person", pid), name) for pid, name, _u in rows}
        self.person_of_user = {uid: pid for pid, _n, uid in rows if uid is not None}
        self.user_of_person = {pid: uid for pid, _n, uid in rows if uid is not None}
        accounts = session.execute(select(User.id, User.username, User.role).where(User.id.in_(users))).all() \
            if users else []
        self.logins = {uid: login for uid, login, _r in accounts}
        self.roles = {uid: role for uid, _l, role in accounts}

    def user(self, user_id: int) -> Who:
        pid = self.person_of_user.get(user_id)
        return self.by_person[pid] if pid is not None else Who(("user", user_id), self.logins.get(user_id, "?"))

    def person(self, person_id: int) -> Who:
        return self.by_person[person_id]


def _cases_moved(campaign: Campaign, start: datetime, cutoff: datetime) -> Select:
    """The campaign's cases with a move in [start, cutoff): their whole histories are read once."""
    moved = select(CaseStageChange.case_id).where(CaseStageChange.at >= start, CaseStageChange.at < cutoff)
    return select(Case.id).where(Case.campaign_id == campaign.id, Case.id.in_(moved))


def _taken_on(case: Case, cutoff: datetime) -> datetime | None:
    return next((h.at for h in case.stages if h.to_stage in TAKEN_ON and h.at < cutoff), None)


def _void(case: Case, cutoff: datetime) -> bool:
    return any(h.to_stage == CaseStage.VOID and h.at < cutoff for h in case.stages)


def compute(session: Session, campaign: Campaign, period: Period, now: datetime) -> Posts:
    """Every post's figures for the period, from the case histories, the reports and the checks: a fixed number of
    queries whatever the number of people or cases."""
    cutoff = min(period.end, now)
    posts = Posts(campaign, period, cutoff)
    ids = _cases_moved(campaign, period.start, cutoff)
    cases = list(session.scalars(select(Case).options(selectinload(Case.stages)).where(Case.id.in_(ids))))
    sent_back = {case_id for case_id, in session.execute(
        select(Task.case_id).join(TaskTransition, TaskTransition.task_id == Task.id)
        .where(Task.case_id.in_(ids), Task.reopening == 0, TaskTransition.action == "send_back",
               TaskTransition.at < cutoff))}
    reports = session.execute(
        select(Event.case_id, Event.inspector_id, Event.source_type, Event.occurred_at)
        .join(Case, Case.id == Event.case_id)
        .where(Case.campaign_id == campaign.id,
               Event.case_id.in_(ids) | (Event.inspector_id.is_not(None) & (Event.occurred_at >= period.start)
                                         & (Event.occurred_at < cutoff)))).all()
    reported_cases = {r.case_id for r in reports if r.inspector_id is not None
                      and period.start <= r.occurred_at < cutoff}
    case_of = {c.id: c for c in cases}
    missing = reported_cases - set(case_of)
    if missing:
        case_of.update({c.id: c for c in session.scalars(
            select(Case).options(selectinload(Case.stages)).where(Case.id.in_(missing)))})
    checked = select(Task.case_id).join(TaskTransition, TaskTransition.task_id == Task.id).where(
        Task.campaign_id == campaign.id, TaskTransition.from_status == TaskStatus.SUBMITTED,
        TaskTransition.at >= period.start, TaskTransition.at < cutoff)
    decisions = [(step, check) for case in session.scalars(
        select(Case).options(selectinload(Case.tasks).selectinload(Task.transitions)).where(Case.id.in_(checked)))
        for step, check in decided_checks(case, campaign) if period.start <= step.at < cutoff]
    collectors = dict(session.execute(select(Grid.id, Grid.collector_id).where(Grid.collector_id.is_not(None))).all())
    users = {h.actor_id for c in cases for h in c.stages if h.actor_id is not None}
    users |= {r.inspector_id for r in reports if r.inspector_id is not None}
    users |= {step.actor_id for step, _c in decisions if step.actor_id is not None}
    names = _Names(session, users, collectors.values())
    _centre(posts, cases, names, sent_back)
    posts.supervisors = _supervisors(posts, list(case_of.values()), reports, collectors, names)
    posts.checkers = _checkers(decisions, names)
    return posts


def _centre(posts: Posts, cases: list[Case], names: _Names, sent_back: set[int]) -> None:
    """受理, 立案 and 派遣: each move of the period to the person who made it, or to the line of no person."""
    start, cutoff, campaign = posts.period.start, posts.cutoff, posts.campaign
    lines: dict[tuple[str, int], Dispatcher] = {}

    def line(actor_id: int | None) -> Dispatcher:
        if actor_id is None or names.roles.get(actor_id) not in CENTRE_ROLES:
            return posts.system
        who = names.user(actor_id)
        return lines.setdefault(who.key, Dispatcher(who))

    for case in cases:
        if start <= case.opened_at < cutoff:
            posts.accepted += 1
            posts.accepted_filed += _taken_on(case, cutoff) is not None
        clock: StageClock | None = next((c for c in stage_clocks(case, campaign, None) if c.clock == "dispatch"),
                                        None)
        voided = _void(case, cutoff)
        for move in case.stages:
            if not start <= move.at < cutoff or move.from_stage == move.to_stage:  # a note moves nothing
                continue
            if move.from_stage == CaseStage.FILING and move.to_stage in (CaseStage.FILED, CaseStage.NOT_FILED):
                entry = line(move.actor_id)
                entry.decided += 1
            if move.to_stage == CaseStage.FILED:
                entry = line(move.actor_id)
                entry.filed += 1
                entry.filed_on_time += clock is None or not _late(clock, move.at)
                entry.filed_voided += voided
            elif move.to_stage == CaseStage.DISPATCHED and move.from_stage in DISPATCHED_FROM:
                entry = line(move.actor_id)
                entry.dispatched += 1
                entry.dispatched_on_time += clock is None or not _late(clock, move.at)
                entry.sent_back += case.id in sent_back
    posts.dispatchers = sorted(lines.values(), key=lambda d: (d.who.name if d.who else "", d.who.key if d.who else ()))


def _late(clock: StageClock, at: datetime) -> bool:
    """Whether a move at `at` came after the clock's minutes counted from its start."""
    return StageClock(clock.clock, clock.started, at, clock.limit_minutes).overdue(at)


def _supervisors(posts: Posts, cases: list[Case], reports: Sequence[Row[Any]], collectors: dict[int, int],
                 names: _Names) -> list[Supervisor]:
    """Reports that name their person, the verifications of the period, and the public's reports in each
    collector's grids."""
    start, cutoff, campaign = posts.period.start, posts.cutoff, posts.campaign
    lines: dict[tuple[str, int], Supervisor] = {}

    def line(who: Who) -> Supervisor:
        return lines.setdefault(who.key, Supervisor(who))

    for person_id in collectors.values():
        line(names.person(person_id)).grids += 1
    case_of = {c.id: c for c in cases}
    by_case: dict[int, list[Row[Any]]] = {}
    for report in reports:
        by_case.setdefault(report.case_id, []).append(report)
        if report.inspector_id is not None and start <= report.occurred_at < cutoff:
            entry = line(names.user(report.inspector_id))
            entry.reported += 1
            case = case_of.get(report.case_id)
            entry.reported_filed += case is not None and _taken_on(case, cutoff) is not None
    for case in cases:
        verify = next((c for c in stage_clocks(case, campaign, None) if c.clock == "verify"), None)
        for move in case.stages:
            if (start <= move.at < cutoff and move.from_stage == CaseStage.VERIFYING
                    and move.to_stage == CaseStage.FILING and move.actor_id is not None):
                entry = line(names.user(move.actor_id))
                entry.verified += 1
                entry.verified_on_time += verify is None or not _late(verify, move.at)
        taken = _taken_on(case, cutoff)
        person_id = collectors.get(case.grid_id) if case.grid_id is not None else None
        if taken is None or not start <= taken or person_id is None or _void(case, cutoff):
            continue  # a case voided as another's duplicate is no problem of its own
        entry = line(names.person(person_id))
        entry.grid_filed += 1
        own = names.user_of_person.get(person_id)
        told = by_case.get(case.id, [])
        entry.missed += (any(r.source_type in PUBLIC_SOURCES for r in told)
                         and not any(own is not None and r.inspector_id == own for r in told))
    return sorted(lines.values(), key=lambda s: (s.who.name, s.who.key))


def _checkers(decisions: list[tuple[TaskTransition, StageClock]], names: _Names) -> list[Checker]:
    lines: dict[tuple[str, int], Checker] = {}
    for step, check in decisions:
        if step.actor_id is None:
            continue
        who = names.user(step.actor_id)
        entry = lines.setdefault(who.key, Checker(who))
        entry.decided += 1
        entry.passed += step.action == "pass_check"
        entry.returned += step.action == "fail_check"
        entry.on_time += not check.overdue(step.at)
    return sorted(lines.values(), key=lambda c: (c.who.name, c.who.key))
