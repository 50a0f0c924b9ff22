"""A generated November: lost points roll up person → squad → unit and add up exactly, the unit's total is
the ranking's points lost, a named person's points are the hand count of their tasks, and each point lost
stays with whoever held the task when it was lost, whoever holds it now ("谁丢分谁负责")."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.assessment import bulletin, indicators
from engine.assessment.holders import holder_at, holdings
from engine.assessment.rollup import UnitPoints, points_rollup
from engine.core.models import (Campaign, Category, Event, Firing, Grid, ListItem, Person, RuleList, RulesetVersion,
                                Task, TaskTemplate, TaskTransition, Unit, User)
from engine.handling.assignment import assign

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 12, 5, 3, tzinfo=timezone.utc)
#: The list row's points per happening: tenths, so a float sum would drift (0.1 + 0.2 != 0.3).
POINT_RULES = {"overdue": 2.5, "failed_check": 0.1, "rebound": 3, "inspection": 0.2}
HAND_POINTS = 0.7  # a task from a hand-written rule (no list row) loses its own points for every happening


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST)


@dataclass
class Month:
    session: object
    campaign: Campaign
    units: dict[str, Unit]
    people: dict[str, Person]
    version: RulesetVersion
    template: TaskTemplate
    category: Category
    grid: Grid
    tasks: dict[str, Task] = field(default_factory=dict)
    count: int = 0
    lost: list[Lost] = field(default_factory=list)

    def task(self, key: str, unit: str, created: datetime, days: float, moves=(), person: str | None = None,
             source: str = "patrol", listed: bool = True, status: str = "signed", recorded: bool = True,
             signed: bool = True) -> Task:
        """A task of `unit` assigned to `person`, dispatched at `created`, due `days` later, with its moves; its
        dispatch names the holder as dispatch does, unless it is from before the history named holders. A listed
        (zero-tolerance) task is signed for a minute after its dispatch unless `signed` is false: only then do
        its points count."""
        self.count += 1
        event = Event(source="points-test", source_event_id=f"points-{key}", source_type=source,
                      category_id=self.category.id, grid_id=self.grid.id, occurred_at=created, received_at=created)
        self.session.add(event)
        self.session.flush()
        row = Task(event_id=event.id, campaign_id=self.campaign.id, ruleset_version_id=self.version.id,
                   unit_id=self.units[unit].id, template_id=self.template.id, rule_key="PT1" if listed else "hand",
                   list_kind="zero_tolerance" if listed else "custom", status=status, limit_value=days,
                   limit_unit="urgent_days", deadline_at=created + timedelta(days=days),
                   points=1 if listed else HAND_POINTS, created_at=created,
                   assignee_id=self.people[person].id if person else None)
        self.session.add(row)
        self.session.flush()
        if listed:
            self.session.add(Firing(event_id=event.id, campaign_id=self.campaign.id, ruleset_version_id=self.version.id,
                                    rule_key="PT1", rule_version=1, list_kind="zero_tolerance", list_item="PT1",
                                    matched=[], decisions=[], points=1, task_id=row.id, fired_at=created))
        born = {"rule": row.rule_key} if recorded else None
        if recorded and person:
            born["assignee"] = self.people[person].id
        self.session.add(TaskTransition(task_id=row.id, from_status=None, to_status="dispatched", action="dispatch",
                                        at=created, data=born))
        if listed and signed:
            moves = [(created + timedelta(minutes=1), "sign", "signed"), *moves]
        self.session.add_all(TaskTransition(task_id=row.id, from_status=None, to_status=to, action=action, at=when)
                             for when, action, to in moves)
        self.tasks[key] = row
        return row

    def hand_over(self, task: Task, person: str, when: datetime, status: str) -> None:
        """A leader's assignment at `when`, recorded as engine/handling/assignment.py records it."""
        previous = self.session.get(Person, task.assignee_id) if task.assignee_id else None
        self.session.add(TaskTransition(task_id=task.id, from_status=status, to_status=status, action="assign",
                                        at=when, data={"person": self.people[person].id, "name": person,
                                                       "previous": previous.name if previous else None}))
        task.assignee_id = self.people[person].id

    def rebound(self, key: str, origin: Task, occurred: datetime) -> None:
        self.session.add(Event(source="points-test", source_event_id=f"points-rebound-{key}", source_type="hotline",
                               category_id=self.category.id, grid_id=self.grid.id, occurred_at=occurred,
                               received_at=occurred, rebound_task_id=origin.id))


def submitted(day: int, hour: int = 12):
    return (at(11, day, hour), "submit", "submitted")


def passed(day: int, hour: int = 14):
    return (at(11, day, hour), "pass_check", "closed")


def failed(day: int, hour: int = 13):
    return (at(11, day, hour), "fail_check", "returned")


def hand_made(m: Month) -> None:
    """The sub-district 甲's tasks, every point counted by hand (see the test's comments)."""
    m.task("zw-overdue", "U-A", at(11, 2), 2, person="张伟")  # overdue 2.5
    m.task("zw-failed-twice", "U-A", at(11, 5), 3, [submitted(6), failed(7), submitted(7, 15), failed(9)],
           person="张伟")  # two failed checks 0.1 + 0.1; the second, after the deadline, of a submission made
    # in time: overdue 2.5 then, as rework does not reset the clock (brief b.4)
    m.task("zw-inspection", "U-A", at(11, 10), 2, [submitted(11), passed(11, 15)], person="张伟",
           source="inspection", status="closed")  # inspection finding 0.2
    m.task("zw-hand", "U-A", at(11, 15), 1, person="张伟", listed=False)  # overdue, hand rule 0.7
    old = m.task("zw-october", "U-A", at(10, 20), 2, [(at(10, 21), "submit", "submitted"),
                                                     (at(10, 21, 15), "pass_check", "closed")],
                 person="张伟", status="closed")
    m.rebound("zw", old, at(11, 20))  # rebound 3 in November, charged to the origin task's assignee
    m.task("zw-clean", "U-A", at(11, 20), 2, [submitted(21), passed(21, 15)], person="张伟", status="closed")
    m.task("ln-overdue", "U-A", at(11, 25), 1, person="李娜")  # overdue 2.5, re-assigned to 张伟 later
    m.task("wf-overdue", "U-A", at(11, 3), 1, person="王芳")  # the unit's own staff: overdue 2.5
    m.task("nobody", "U-A", at(11, 4), 1)  # no assignee: overdue 2.5 on the unit's unassigned line
    m.task("stale", "U-A", at(11, 6), 3, [submitted(7), failed(8), submitted(8, 15), passed(8, 16)],
           person="陈静", status="closed")  # held by a person of 丙 (from before a reroute): 0.1 unassigned
    m.task("voided", "U-A", at(11, 7), 1, [(at(11, 7, 12), "approve_void", "voided")], person="王芳",
           status="voided")  # voided before its deadline: no points


@dataclass
class Lost:
    """A point the generator knows a task lost: what, when, how much, and who held the task from when."""

    unit: str
    happening: str
    instant: datetime
    points: float
    held: list[tuple[datetime, str | None]]

    @property
    def holder(self) -> str | None:
        return [person for since, person in self.held if since <= self.instant][-1]

    @property
    def holder_now(self) -> str | None:
        return self.held[-1][1]


def generated(m: Month, seed: int = 13) -> list[Lost]:
    """Sixty tasks of the squad and of 乙 with random outcomes, persons, hand-overs and list rows, some from
    before the history named holders, and some rebounds; returns every point they lose, when."""
    rng = random.Random(seed)
    who = {"S-A": ["李娜", "张伟", None], "U-B": ["赵强", "孙敏", None]}
    lost: list[Lost] = []
    for n in range(60):
        unit = rng.choice(["S-A", "U-B"])
        created = at(rng.choice([10, 11, 11, 11]), rng.randint(1, 28), rng.randint(8, 18))
        days = rng.choice([0.5, 1, 2, 4])
        deadline = created + timedelta(days=days)
        outcome = rng.choice(["on_time", "late", "open", "failed", "void", "park"])
        moves = {"on_time": [(created + timedelta(days=days / 2), "submit", "submitted"),
                             (created + timedelta(days=days * 0.8), "pass_check", "closed")],
                 "late": [(deadline + timedelta(hours=5), "submit", "submitted")],
                 "open": [(created + timedelta(hours=1), "sign", "signed")],
                 "failed": [(created + timedelta(hours=2), "submit", "submitted"),
                            (created + timedelta(hours=3), "fail_check", "returned")],
                 "void": [(created + timedelta(hours=1), "approve_void", "voided")],
                 "park": [(created + timedelta(hours=1), "approve_park", "parked")]}[outcome]
        source = "inspection" if rng.random() < 0.2 else "patrol"
        listed = rng.random() < 0.7
        legacy = rng.random() < 0.15  # dispatched before the history named holders: never handed over
        person = rng.choice(who[unit])
        task = m.task(f"gen-{n}", unit, created, days, moves, person=person, source=source, listed=listed,
                      recorded=not legacy)
        held = [(created, person)]
        ended = next((when for when, action, _ in moves if action in ("pass_check", "approve_void")), None)
        for when in sorted(created + timedelta(days=days * 2 * rng.random()) for _ in range(rng.choice([0, 1, 1, 2]))):
            if not legacy and (ended is None or when < ended):
                status = ([to for moved, _, to in moves if moved <= when] or ["dispatched"])[-1]
                held.append((when, rng.choice([p for p in who[unit] if p and p != held[-1][1]])))
                m.hand_over(task, held[-1][1], when, status)
        points = POINT_RULES if listed else dict.fromkeys(POINT_RULES, HAND_POINTS)
        if outcome in ("late", "open", "park", "failed"):  # failed: returned and not redone by the deadline
            lost.append(Lost(unit, "overdue", deadline, points["overdue"], held))
        if outcome == "failed":
            lost.append(Lost(unit, "failed_check", created + timedelta(hours=3), points["failed_check"], held))
        if source == "inspection" and outcome != "void":
            lost.append(Lost(unit, "inspection", created, points["inspection"], held))
        if rng.random() < 0.3:
            occurred = created + timedelta(days=rng.uniform(0.1, days * 2 + 1))  # maybe before a hand-over
            m.rebound(f"gen-{n}", task, occurred)
            lost.append(Lost(unit, "rebound", occurred, points["rebound"], held))
    return lost


@pytest.fixture()
def month(session, demo) -> Month:
    campaign = Campaign(code="points-month", name_zh="扣分测试", name_en="points test", status="ended",
                        timezone="Asia/Shanghai")
    session.add(campaign)
    session.flush()
    zero = RuleList(campaign_id=campaign.id, kind="zero_tolerance", name_zh="零容忍", name_en="zero tolerance")
    zero.items.append(ListItem(position=1, key="PT1", title_zh="测试", title_en="test", categories=["06001"],
                               template_code="t", points=1, point_rules=POINT_RULES))
    top_a = Unit(code="U-A", name_zh="甲街道", name_en="Street A", type="subdistrict")
    top_b = Unit(code="U-B", name_zh="乙街道", name_en="Street B", type="subdistrict")
    top_c = Unit(code="U-C", name_zh="丙街道", name_en="Street C", type="subdistrict")
    session.add_all([zero, top_a, top_b, top_c])
    session.flush()
    squad = Unit(code="S-A", name_zh="甲中队", name_en="Squad A", type="squad", parent_id=top_a.id)
    session.add(squad)
    session.flush()
    units = {u.code: u for u in (top_a, top_b, top_c, squad)}
    people = {}
    for n, (name, position, unit) in enumerate([("王芳", "squad_chief", "U-A"), ("张伟", "responsible", "S-A"),
                                                 ("李娜", "responsible", "S-A"), ("赵强", "responsible", "U-B"),
                                                 ("陈静", "responsible", "U-C"), ("孙敏", "responsible", "U-B")]):
        people[name] = Person(code=f"PT-{n}", name=name, position=position, unit_id=units[unit].id,
                              phone=f"1770013{n:04d}")
    session.add_all(people.values())
    session.flush()
    m = Month(session, campaign, units, people, session.scalar(select(RulesetVersion).limit(1)),
              session.scalar(select(TaskTemplate).limit(1)),
              session.scalar(select(Category).where(Category.code == "06001")), session.scalar(select(Grid).limit(1)))
    hand_made(m)
    m.lost = generated(m)
    session.flush()
    return m


def by_code(rollup: list[UnitPoints]) -> dict[str, UnitPoints]:
    return {line.unit.code: line for line in rollup}


def persons_of(line: UnitPoints) -> dict[str, Decimal]:
    return {p.person.name: p.total for squad in line.squads for p in squad.persons}


def assert_adds_up(rollup: list[UnitPoints], ind: dict[int, indicators.Indicators]) -> None:
    """Persons = squad, squads + unassigned = unit, unit = the ranking's points lost; no unit left out."""
    for line in rollup:
        for squad in line.squads:
            assert sum((p.total for p in squad.persons), Decimal(0)) == squad.total
            for kind in indicators.HAPPENINGS:
                assert sum((p.by.get(kind, 0) for p in squad.persons), Decimal(0)) == squad.by.get(kind, 0)
        assert sum((s.total for s in line.squads), Decimal(0)) + line.unassigned == line.total
        assert float(line.total) == ind[line.unit.id].points_lost  # exactly, not approximately
        assert {k: v for k, v in ind[line.unit.id].points_by.items() if v} == {k: v for k, v in line.by.items() if v}
    listed = {line.unit.id for line in rollup}
    assert all(i.points_lost == 0 for uid, i in ind.items() if uid not in listed)
    assert [line.total for line in rollup] == sorted((line.total for line in rollup), reverse=True)


@pytest.mark.parametrize("label", ["2026-11", "2026-Q4", "2026-W47"])
def test_points_add_up_per_person_squad_and_unit(month, label):
    period = indicators.parse_period(label, "Asia/Shanghai")
    rollup = points_rollup(month.session, month.campaign, period, NOW)
    ind = indicators.for_period(month.session, month.campaign, period, NOW)
    assert_adds_up(rollup, ind)
    if label != "2026-W47":
        lines = by_code(rollup)
        assert {"U-A", "S-A", "U-B"} <= set(lines) and lines["U-B"].unassigned > 0  # both kinds of line occur
        assert any(p.total for s in lines["S-A"].squads if s.own for p in s.persons)


def test_a_named_person_loses_the_hand_count_of_their_tasks(month):
    november = indicators.parse_period("2026-11", "Asia/Shanghai")
    street = by_code(points_rollup(month.session, month.campaign, november, NOW))["U-A"]
    # 张伟 (squad 甲中队) for 甲街道: overdue 2.5 + 2.5 + 0.7, failed checks 0.1 + 0.1, inspection 0.2, rebound 3
    squad, own = street.squads
    assert (squad.unit.code, squad.own, own.unit.code, own.own) == ("S-A", False, "U-A", True)
    zhang = next(p for p in squad.persons if p.person.name == "张伟")
    assert zhang.total == Decimal("9.1")
    assert zhang.by == {"overdue": Decimal("5.7"), "failed_check": Decimal("0.2"), "inspection": Decimal("0.2"),
                        "rebound": Decimal("3")}
    assert persons_of(street) == {"张伟": Decimal("9.1"), "李娜": Decimal("2.5"), "王芳": Decimal("2.5")}
    assert [p.person.name for p in squad.persons] == ["张伟", "李娜"]  # most points first
    assert street.unassigned == Decimal("2.6")  # nobody's overdue 2.5 + the stale holder's failed check 0.1
    assert street.total == Decimal("16.7")
    bulletin_lines = by_code(bulletin.build(month.session, month.campaign, november, NOW).points)
    assert persons_of(bulletin_lines["U-A"]) == persons_of(street)


def test_a_point_stays_with_whoever_held_the_task_when_it_was_lost(month):
    november = indicators.parse_period("2026-11", "Asia/Shanghai")
    before = by_code(points_rollup(month.session, month.campaign, november, NOW))
    admin = month.session.scalar(select(User).where(User.username == "admin"))
    # 李娜 let ln-overdue run overdue on 26 November; on 5 December her leader hands it to 张伟, and the task
    # nobody held when it ran overdue on 5 November to 王芳
    assign(month.session, month.tasks["ln-overdue"], month.people["张伟"], admin, NOW, "张伟 takes over")
    assign(month.session, month.tasks["nobody"], month.people["王芳"], admin, NOW, "王芳 takes over")
    after = by_code(points_rollup(month.session, month.campaign, november, NOW))
    assert persons_of(after["U-A"]) == persons_of(before["U-A"]) == {
        "张伟": Decimal("9.1"), "李娜": Decimal("2.5"), "王芳": Decimal("2.5")}  # November's point stays hers
    assert after["U-A"].unassigned == before["U-A"].unassigned == Decimal("2.6")  # and nobody's stays nobody's
    # 李娜's task runs overdue on the 17th, 张伟 takes it over on the 18th and his handling fails a check on the 20th
    handed = month.task("handed", "U-A", at(11, 16), 1, person="李娜")
    assign(month.session, handed, month.people["张伟"], admin, at(11, 18), "张伟 takes over")
    month.session.add_all(TaskTransition(task_id=handed.id, from_status=None, to_status=to, action=action, at=when)
                          for when, action, to in [submitted(19), failed(20)])
    month.session.flush()
    week = by_code(points_rollup(month.session, month.campaign, indicators.parse_period("2026-W47", "Asia/Shanghai"),
                                 NOW))["U-A"]
    # W47 (16-22 November): 张伟's zw-hand overdue 0.7, zw-october's rebound 3 and the failed check 0.1
    assert persons_of(week) == {"张伟": Decimal("3.8"), "李娜": Decimal("2.5")}
    street = by_code(points_rollup(month.session, month.campaign, november, NOW))["U-A"]
    assert persons_of(street) == {"张伟": Decimal("9.2"), "李娜": Decimal("5.0"), "王芳": Decimal("2.5")}
    assert street.total == Decimal("19.3")  # the unit loses the same points whoever held its tasks
    assert_adds_up(points_rollup(month.session, month.campaign, november, NOW),
                   indicators.for_period(month.session, month.campaign, november, NOW))


def expected(lost: list[Lost], period: indicators.Period, now_held: bool = False
             ) -> dict[str, dict[str | None, Decimal]]:
    """The generator's own count per unit and holder (None: nobody) of the points lost in the period."""
    cutoff = min(period.end, NOW)
    result: dict[str, dict[str | None, Decimal]] = {}
    for point in lost:
        if period.start <= point.instant < cutoff:
            person = point.holder_now if now_held else point.holder
            line = result.setdefault(point.unit, {})
            line[person] = line.get(person, Decimal(0)) + Decimal(repr(point.points))
    return {unit: {k: v for k, v in line.items() if v} for unit, line in result.items()}


@pytest.mark.parametrize("label", ["2026-11", "2026-Q4", "2026-W47"])
def test_each_generated_point_goes_to_whoever_held_the_task_then(month, label):
    """The squad's and 乙's tasks were handed over at random instants: each point lost is charged to the holder
    at its instant (overdue: the deadline; failed check: its time; inspection: dispatch; rebound: the event)."""
    period = indicators.parse_period(label, "Asia/Shanghai")
    lines = by_code(points_rollup(month.session, month.campaign, period, NOW))
    want = expected(month.lost, period)
    got = {}
    for unit in ("S-A", "U-B"):
        if unit in lines:
            got[unit] = {**persons_of(lines[unit]), None: lines[unit].unassigned}
            got[unit] = {k: v for k, v in got[unit].items() if v}
    assert got == {unit: line for unit, line in want.items() if line}
    assert expected(month.lost, period, now_held=True) != want  # charging whoever holds it now would differ


def test_unnamed_holders_in_a_history_are_resolved():
    t0, t1, t2 = at(11, 1), at(11, 2), at(11, 3)
    # born unassigned (the dispatch names nobody), then assigned from nobody: nobody held it before
    assert holdings([(t0, "dispatch", {"rule": "r"}), (t1, "assign", {"person": 7, "previous": None})], 7) \
        == [(t0, None), (t1, 7)]
    # dispatched before the history named holders and never handed over: the current assignee since dispatch
    assert holdings([(t0, "dispatch", None)], 5) == [(t0, 5)]
    # ... then handed over by a holder the history does not name: the current assignee (as before holders)
    assert holdings([(t0, "dispatch", {}), (t1, "assign", {"person": 7, "previous": "张伟"})], 7) == [(t0, 7), (t1, 7)]
    held = holdings([(t0, "dispatch", {"assignee": 5}), (t1, "reroute", {"assignee": None}),
                     (t2, "assign", {"person": 7, "previous": None})], 7)
    assert [holder_at(held, 7, t) for t in (t0 - timedelta(hours=1), t0, t1 - timedelta(seconds=1), t1, t2)] \
        == [5, 5, 5, None, 7]
    assert holder_at([], 9, t0) == 9  # no history at all: the current assignee


def test_an_unsigned_zero_tolerance_order_costs_nobody_points(month):
    """李娜's zero-tolerance order runs overdue before anyone signed for it, and a rebound is charged to it: both
    count for 甲街道 but cost neither her nor the unit a point, in the roll-up as in the ranking (issue 14)."""
    november = indicators.parse_period("2026-11", "Asia/Shanghai")
    before = by_code(points_rollup(month.session, month.campaign, november, NOW))
    counted = indicators.for_period(month.session, month.campaign, november, NOW)[month.units["U-A"].id]
    unsigned = month.task("ln-unsigned", "U-A", at(11, 3), 1, person="李娜", signed=False)
    month.rebound("ln-unsigned", unsigned, at(11, 6))
    month.session.flush()
    after = by_code(points_rollup(month.session, month.campaign, november, NOW))
    ind = indicators.for_period(month.session, month.campaign, november, NOW)
    street = ind[month.units["U-A"].id]
    assert (street.overdue, street.rebounds) == (counted.overdue + 1, counted.rebounds + 1)
    assert street.points_lost == counted.points_lost
    assert persons_of(after["U-A"]) == persons_of(before["U-A"]) and after["U-A"].total == before["U-A"].total
    assert_adds_up(list(after.values()), ind)
