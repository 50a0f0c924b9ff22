"""Reading a period's rows from the database: list-row points per happening, rebounds, and which tasks matter."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.assessment import indicators
from engine.core.models import (Campaign, Category, Event, Firing, Grid, RulesetVersion, Task, TaskTemplate,
                                TaskTransition, Unit)

CST = timezone(timedelta(hours=8))


def at(year, month, day):
    return datetime(year, month, day, 10, tzinfo=CST)


@dataclass
class Ledger:
    """One test unit of its own in the demo campaign, and the 06001 reports and ZT1 tasks written for it."""

    session: object
    tag: str
    campaign: Campaign
    version: RulesetVersion
    template: TaskTemplate
    category: Category
    grid: Grid
    unit: Unit

    @classmethod
    def open(cls, session, demo, tag: str, name: str) -> Ledger:
        unit = Unit(code=f"R-{tag}", name_zh=name, name_en=f"{tag} test", type=f"t-{tag}")
        session.add(unit)
        session.flush()
        campaign = session.scalar(select(Campaign).where(Campaign.code == demo["campaign"]))
        return cls(session, tag, campaign,
                   session.scalar(select(RulesetVersion).where(RulesetVersion.campaign_id == campaign.id)),
                   session.scalar(select(TaskTemplate).limit(1)),
                   session.scalar(select(Category).where(Category.code == "06001")),
                   session.scalar(select(Grid).limit(1)), unit)

    def report(self, key: str, when: datetime, source: str = "patrol", rebound_of: Task | None = None) -> Event:
        event = Event(source="rows-test", source_event_id=f"{self.tag}-{key}", source_type=source,
                      category_id=self.category.id, grid_id=self.grid.id, occurred_at=when, received_at=when,
                      rebound_task_id=rebound_of.id if rebound_of else None)
        self.session.add(event)
        self.session.flush()
        return event

    def task(self, event: Event, status: str, moves) -> Task:
        """A ZT1 task of 5 points for `event`, with its transitions (`moves`: when, action, to)."""
        created = event.received_at
        row = Task(event_id=event.id, campaign_id=self.campaign.id, ruleset_version_id=self.version.id,
                   unit_id=self.unit.id, template_id=self.template.id, rule_key="ZT1", list_kind="zero_tolerance",
                   status=status, limit_value=2, limit_unit="urgent_days", deadline_at=created + timedelta(days=2),
                   points=5, created_at=created)
        self.session.add(row)
        self.session.flush()
        self.session.add_all(TaskTransition(task_id=row.id, from_status=None, to_status=to, action=action, at=when)
                             for when, action, to in moves)
        return row

    def firing(self, event: Event, task: Task, key: str, kind: str, points: int) -> None:
        self.session.add(Firing(event_id=event.id, campaign_id=self.campaign.id, ruleset_version_id=self.version.id,
                                rule_key=key, rule_version=1, list_kind=kind, list_item=key, matched=[],
                                decisions=[], points=points, task_id=task.id, fired_at=event.received_at))
        self.session.flush()


def test_december_2025_from_the_database(session, demo):
    ledger = Ledger.open(session, demo, "rows", "读取测试")

    def task(key, created, source="patrol", moves=()):
        event = ledger.report(key, created, source)
        row = ledger.task(event, "signed", [(created, "dispatch", "dispatched"), *moves])
        ledger.firing(event, row, "ZT1", "zero_tolerance", 5)
        return row

    # zero-tolerance tasks: their points count once the unit has signed for them (issue 14)
    old = task("A", at(2025, 10, 10), moves=[(at(2025, 10, 10) + timedelta(hours=1), "sign", "signed"),
                                              (at(2025, 10, 11), "submit", "submitted"),
                                              (at(2025, 12, 3), "fail_check", "returned")])
    task("B", at(2025, 12, 5), source="inspection", moves=[(at(2025, 12, 5) + timedelta(hours=1), "sign", "signed")])
    closed = task("C", at(2025, 9, 1), moves=[(at(2025, 9, 2), "submit", "submitted"),
                                               (at(2025, 9, 2), "pass_check", "closed")])
    unsigned = task("D", at(2025, 11, 1), moves=[(at(2025, 11, 2), "submit", "submitted"),
                                                  (at(2025, 11, 2), "pass_check", "closed")])
    ledger.report("rebound", at(2025, 12, 20), "hotline", rebound_of=old)
    ledger.report("rebound-unsigned", at(2025, 12, 21), "hotline", rebound_of=unsigned)

    december = indicators.parse_period("2025-12")
    rows, rebounds = indicators.read_rows(session, ledger.campaign, december)
    mine = {r.task_id for r in rows if r.unit_id == ledger.unit.id}
    assert old.id in mine and closed.id not in mine  # A failed a check in December; C is long closed
    ind = indicators.compute(rows, rebounds, december, at(2026, 1, 15))[ledger.unit.id]
    # B ran overdue on 7 December; A on 3 December, when the check of its October submission, made in time,
    # failed long after its deadline (rework does not reset the clock, brief b.4)
    assert (ind.due, ind.overdue, ind.overdue_unhandled, ind.failed_checks, ind.inspection_findings,
            ind.rebounds) == (1, 2, 1, 1, 1, 2)
    # ZT1's point_rules in the demo pack: overdue 5, failed_check 1, rebound 6, inspection 10; D was never
    # signed for, so its rebound counts but costs nothing
    assert ind.points_lost == 5 + 5 + 1 + 10 + 6
    assert {r.list_kind for r in rows if r.unit_id == ledger.unit.id} == {"zero_tolerance"}
    session.rollback()


@pytest.mark.parametrize("loser_first", [True, False], ids=["losing-row-recorded-first", "losing-row-recorded-last"])
def test_a_task_costs_the_points_of_the_list_row_that_made_it_not_of_a_row_that_lost(session, demo, loser_first):
    """A 06001 report fires 六个零容忍 ZT1 and 十个严管理 SM1; ZT1 wins and both firings name its task. Its failed check
    and its rebound cost what ZT1 says (1 and 6), never SM1's fallback to the task's 5 points, whichever firing the
    database returns first (PostgreSQL's order changes with the plan, so a past month's points changed with it)."""
    ledger = Ledger.open(session, demo, f"owner-{int(loser_first)}", "列表行测试")
    created = at(2025, 12, 2)
    event = ledger.report("report", created)
    task = ledger.task(event, "closed", [(created + timedelta(hours=hours), action, to) for hours, action, to in
                                         [(0, "dispatch", "dispatched"), (1, "sign", "signed"),
                                          (5, "submit", "submitted"), (6, "fail_check", "returned"),
                                          (8, "submit", "submitted"), (9, "pass_check", "closed")]])
    rows = [("ZT1", "zero_tolerance", 5), ("SM1", "strict_management", 2)]
    for key, kind, points in (rows[::-1] if loser_first else rows):
        ledger.firing(event, task, key, kind, points)
    ledger.report("rebound", at(2025, 12, 20), "hotline", rebound_of=task)

    december = indicators.parse_period("2025-12")
    rows, rebounds = indicators.read_rows(session, ledger.campaign, december)
    ind = indicators.compute(rows, rebounds, december, at(2026, 1, 15))[ledger.unit.id]
    assert (ind.failed_checks, ind.rebounds) == (1, 1)
    assert ind.points_by == {"failed_check": 1, "rebound": 6}  # ZT1's point_rules in the demo pack
    assert ind.points_lost == 7
    session.rollback()
