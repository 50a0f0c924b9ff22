"""The task breakdown table (issue 17 point 4): units report progress on their own items only; an item past its due
date and not done is raised once (督办 to its lead unit and tier 1); the monthly report for the 推进会 lists who
is behind, most behind first; bad rows are refused field by field with nothing written."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from engine.accounts.users import create_user
from engine.core import clock
from engine.core.models import Campaign, OutboxMessage, PlanItem, PlanProgress, Unit, User
from engine.delivery.inbox import read_page, reader_of
from engine.readiness import plan
from rules.problems import InputError

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.usefixtures("messages_caught_up")  # the overdue items' messages are the inbox's newest


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def item(session, code: str) -> PlanItem:
    return session.scalar(select(PlanItem).where(PlanItem.code == code))


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def test_an_overdue_item_is_raised_once_to_its_lead_unit_and_tier_1(session):
    session.execute(update(PlanItem).values(escalated_at=None))  # a running poller may have raised them already
    clock.set_clock(lambda: at(2026, 12, 1, 9, 0))
    assert plan.run_due(session) == 1  # 1.2 was due on 30 November; 1.1 is due on 20 December
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "plan_overdue",
                                                       OutboxMessage.created_at == at(2026, 12, 1, 9, 0))).all()
    xicheng = session.scalar(select(Unit.id).where(Unit.code == "JD-XC"))
    assert sorted(r.target for r in rows) == ["tier:1", f"unit:{xicheng}"]
    assert rows[0].payload["code"] == "1.2" and "message" not in rows[0].payload  # facts, worded when read
    assert plan.run_due(session) == 0
    clock.set_clock(lambda: at(2026, 12, 21, 9, 0))
    assert plan.run_due(session) == 1  # 1.1, due on 20 December; 2.2 is due on the 31st
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "plan_overdue",
                                                       OutboxMessage.created_at >= at(2026, 12, 1, 9, 0)))
    raised = {r.payload["code"] for r in rows}
    assert raised == {"1.1", "1.2"}


def test_the_lead_units_report_sets_progress_and_100_marks_it_done(session):
    clock.set_clock(lambda: at(2026, 12, 10, 16, 0))
    row = item(session, "1.1")
    plan.report_progress(session, row, user(session, "dongcheng"), "60", "已完成摸底建档，集中整治进行中")
    assert row.percent == 60 and row.done_on is None
    market = create_user(session, "plan-scjgj", "field_unit", "x" * 12, "SCJGJ")  # a cooperating bureau
    plan.report_progress(session, row, market, "90", "市场周边清理 12 处")
    assert row.percent == 60  # a cooperating unit's report does not move the item
    plan.report_progress(session, row, user(session, "squad_dc"), "70", "中队清理 20 处")  # a unit under the lead
    assert row.percent == 70
    with pytest.raises(InputError):  # a reading role never writes progress, whatever its unit
        plan.report_progress(session, row, create_user(session, "plan-auditor", "auditor", "x" * 12, "JD-DC"), 80, "x")
    plan.report_progress(session, row, user(session, "dongcheng"), 100, "全部完成")
    assert row.percent == 100 and row.done_on.isoformat() == "2026-12-10"


def test_a_report_on_someone_elses_item_is_refused_and_nothing_is_written(session):
    row = item(session, "1.2")  # 西城's item
    before = session.scalar(select(func.count()).select_from(PlanProgress))
    with pytest.raises(InputError) as refused:
        plan.report_progress(session, row, user(session, "dongcheng"), "50", "越权报送")
    [problem] = refused.value.problems
    assert problem.where == "item" and "不属于贵单位" in problem.zh
    with pytest.raises(InputError) as bad:
        plan.report_progress(session, row, user(session, "xicheng"), "150", "")
    assert {p.where for p in bad.value.problems} == {"percent", "text"}
    assert session.scalar(select(func.count()).select_from(PlanProgress)) == before and row.percent == 0


def test_the_monthly_report_lists_who_is_behind_most_behind_first(session):
    clock.set_clock(lambda: at(2026, 12, 25, 9, 0))
    campaign = session.get(Campaign, item(session, "1.1").campaign_id)
    plan.report_progress(session, item(session, "2.2"), user(session, "admin"), 10, "围挡排查启动")
    lines = {line.unit.code: line for line in plan.monthly_report(session, campaign, "2026-12")}
    assert [i.code for i in lines["JD-DC"].behind] == ["1.1"] and lines["JD-DC"].due == 1
    assert [i.code for i in lines["JD-XC"].behind] == ["1.2"]
    assert lines["ZJJ"].due == 1 and lines["ZJJ"].behind == []  # due on the 31st: not late on the 25th
    assert lines["SCJGJ"].due == 0
    november = plan.monthly_report(session, campaign, "2026-11")
    assert [line.unit.code for line in november][0] == "JD-XC"  # most behind first
    for bad in ("2026-13", "9999-12", "0001-01"):
        with pytest.raises(InputError):
            plan.monthly_report(session, campaign, bad)


@pytest.mark.parametrize("change, field", [
    ({"due_on": "2026-02-30"}, "due_on"),
    ({"lead_unit": "NOPE"}, "lead_unit"),
    ({"cooperating": ["JD-DC"]}, "cooperating"),  # the lead cannot cooperate with itself
    ({"person": "XC-002"}, "person"),  # a 西城 person is not in the 东城 lead unit
    ({"person": ""}, "person"),  # 责任清单: every task names its person (具体人员)
    ({"person": None}, "person"),
    ({"milestones": [{"title": "验收", "due_on": "2027-02-01"}]}, "milestones[0]"),
    ({"code": "1.1"}, "code"),
    ({"title": ""}, "title"),
])
def test_a_bad_row_is_refused_at_its_field(session, change, field):
    campaign = session.get(Campaign, item(session, "1.1").campaign_id)
    good = {"code": "9.1", "title": "公厕保洁提升", "lead_unit": "JD-DC", "cooperating": ["HWZX"], "person": "DC-002",
            "due_on": "2027-01-31", "milestones": [{"title": "排查", "due_on": "2027-01-10"}]}
    with pytest.raises(InputError) as refused:
        plan.save_item(session, campaign, {**good, **change})
    assert field in {p.where for p in refused.value.problems}
    assert item(session, "9.1") is None


def test_every_demo_task_is_put_on_a_named_person(session):
    """责任清单: the seed puts each 攻坚任务 on a specific person (具体人员); the demo's 2.1 names 市场监管局's."""
    rows = session.scalars(select(PlanItem).order_by(PlanItem.code)).all()
    assert rows and all(row.person is not None for row in rows)
    assert item(session, "2.1").person.name == "吕建平"


def _row(session, code: str, due_on: str) -> dict:
    """The item as its form would send it, with another due date."""
    row = item(session, code)
    return {"code": row.code, "title": row.title, "lead_unit": row.lead_unit.code, "person": row.person.code,
            "cooperating": [session.get(Unit, u).code for u in row.cooperating or []], "due_on": due_on}


def test_an_item_whose_due_date_moves_back_to_a_raised_one_is_raised_again_and_others_still_are(session):
    """1.2 was raised for 30 November; moved to 10 December, then back to 30 November, it is overdue again under
    the same due date. Its second 督办 must not collide with the first (which aborted every item's 督办 in the
    same poll, and every poll after it): it is raised again, and 1.1, overdue for the first time, too."""
    session.execute(update(PlanItem).values(escalated_at=None))  # a running poller may have raised them already
    campaign = session.get(Campaign, item(session, "1.2").campaign_id)
    clock.set_clock(lambda: at(2026, 12, 1, 9, 0))
    assert plan.run_due(session) == 1
    plan.save_item(session, campaign, _row(session, "1.2", "2026-12-10"), item(session, "1.2"))
    plan.save_item(session, campaign, _row(session, "1.2", "2026-11-30"), item(session, "1.2"))
    plan.save_item(session, campaign, _row(session, "1.1", "2026-11-28"), item(session, "1.1"))
    session.commit()
    clock.set_clock(lambda: at(2026, 12, 1, 10, 0))
    assert plan.run_due(session) == 2
    again = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "plan_overdue",
                                                        OutboxMessage.created_at == at(2026, 12, 1, 10, 0))).all()
    xicheng, dongcheng = (session.scalar(select(Unit.id).where(Unit.code == code)) for code in ("JD-XC", "JD-DC"))
    assert sorted((r.payload["code"], r.target) for r in again) == [
        ("1.1", "tier:1"), ("1.1", f"unit:{dongcheng}"), ("1.2", "tier:1"), ("1.2", f"unit:{xicheng}")]
    assert all(r.payload["due_on"] in ("2026-11-28", "2026-11-30") for r in again)
    assert item(session, "1.2").escalated_at is not None and item(session, "1.1").escalated_at is not None
    assert plan.run_due(session) == 0  # and once only
    inbox = read_page(session, reader_of(session, user(session, "xicheng")), unread_only=True, limit=500)
    assert {r.id for r in again if r.target == f"unit:{xicheng}"} <= {m.row.id for m in inbox.messages}
