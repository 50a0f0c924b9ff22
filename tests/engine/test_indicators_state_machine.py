"""The indicators read what the state machine writes: a demo task moved by real users through
engine/tasks.py (handled on time, failed at the check, reworked, closed) counts as the formulas say; orders
sent back (退单) and rerouted count in accurate dispatch, and a zero-tolerance order costs points only once
signed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.assessment import bulletin, indicators
from engine.assessment.rollup import lost_by_person
from engine.intake import events as intake
from engine.handling import tasks
from engine.core.models import Campaign, Task, User
from engine.assessment.ranking import DEFAULT_WEIGHTS, score
from tests.helpers import TASK_SOURCE, event

START = datetime(2026, 12, 14, 2, tzinfo=timezone.utc)  # Monday 14 December, 10:00 in Shanghai


@pytest.fixture()
def moving_clock():
    now = {"t": START}
    clock.set_clock(lambda: now["t"])
    return now


def test_a_task_failed_at_the_check_then_closed(factory, demo, drain, moving_clock):
    body = event("06029", "DC-03", occurred_at=(START - timedelta(hours=1)).isoformat())
    with factory() as session:
        accepted, _created = intake.accept_event(session, body, intake.IntakeSource("hotline-12345"))
        session.commit()
    drain()
    with factory() as session:
        task = session.scalar(select(Task).where(Task.event_id == accepted.id))
        users = {u.username: u for u in session.scalars(select(User))}
        assert task.unit.code == "JD-DC"  # the Dongcheng sub-district office, the demo's "dongcheng" login
        steps = [("sign", "dongcheng"), ("start", "dongcheng"), ("submit", "dongcheng"), ("fail_check", "checker"),
                 ("start", "dongcheng"), ("submit", "dongcheng"), ("pass_check", "checker")]
        for action, who in steps:
            moving_clock["t"] += timedelta(minutes=5)
            tasks.apply(session, task, action, users[who], "整改不到位" if action == "fail_check" else "",
                        expected_version=task.version)
        session.commit()
        campaign = session.scalar(select(Campaign).where(Campaign.code == demo["campaign"]))
        week = indicators.parse_period("2026-W51", campaign.timezone)
        rows, rebounds = indicators.read_rows(session, campaign, week)
        mine = [r for r in rows if r.task_id == task.id]
        ind = indicators.compute(mine, rebounds, week, moving_clock["t"] + timedelta(days=1))[task.unit_id]
        assert task.deadline_at > moving_clock["t"], task.deadline_at  # all within the time limit
        assert (ind.due, ind.handled, ind.handled_on_time, ind.closed, ind.closed_on_time) == (1, 1, 1, 1, 1)
        assert (ind.reworked, ind.failed_checks, ind.overdue, ind.overdue_unhandled) == (1, 1, 0, 0)
        assert ind.points_lost == mine[0].points["failed_check"]


def test_orders_sent_back_and_rerouted_count_by_hand(factory, demo, drain, moving_clock):
    """Four zero-tolerance barbecue orders to 东城 (JD-DC): one signed, one never signed, one sent back and
    rerouted to 西城 (JD-XC), who signs it, one sent back and left waiting; all run overdue."""
    with factory() as session:
        ids = [intake.accept_event(session, event("06029", "DC-03", occurred_at=(START - timedelta(hours=1))
                                                  .isoformat()), TASK_SOURCE)[0].id for _ in range(4)]
        session.commit()
    drain()
    with factory() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        signed, unsigned, rerouted, waiting = [
            session.scalar(select(Task).join(Task.unit).where(Task.event_id == eid, Task.unit.has(code="JD-DC")))
            for eid in ids]
        assert {t.list_kind for t in (signed, unsigned, rerouted, waiting)} == {"zero_tolerance"}

        def act(task, action, who, comment="", data=None):
            moving_clock["t"] += timedelta(minutes=5)
            tasks.apply(session, task, action, users[who], comment, data, expected_version=task.version)

        act(signed, "sign", "dongcheng")
        act(rerouted, "send_back", "dongcheng", "该点位属西城", {"grounds": "outside_area"})
        act(waiting, "send_back", "dongcheng", "与上一单重复", {"grounds": "duplicate"})
        act(rerouted, "reroute", "dispatcher", "改派西城", {"unit": "JD-XC"})
        act(rerouted, "sign", "xicheng")
        session.commit()
        campaign = session.scalar(select(Campaign).where(Campaign.code == demo["campaign"]))
        week = indicators.parse_period("2026-W51", campaign.timezone)
        rows, rebounds = indicators.read_rows(session, campaign, week)
        mine = [r for r in rows if r.task_id in {signed.id, unsigned.id, rerouted.id, waiting.id}]
        later = moving_clock["t"] + timedelta(days=1)  # every deadline has passed, nothing was submitted
        result = indicators.compute(mine, [], week, later)
        dc, xc = signed.unit_id, rerouted.unit_id
        overdue_points = mine[0].points["overdue"]
        assert overdue_points > 0
        assert (result[dc].dispatched, result[dc].sent_back) == (4, 2)
        assert (result[xc].dispatched, result[xc].sent_back) == (1, 0)
        assert result[dc].rates()["accurate_dispatch_rate"] == 0.5 and result[xc].rates()["accurate_dispatch_rate"] == 1
        assert (result[dc].overdue, result[xc].overdue) == (3, 1)  # the rerouted order runs overdue with 西城
        assert result[dc].points_lost == overdue_points  # the signed one; never signed and sent back cost 0
        assert result[xc].points_lost == overdue_points  # 西城 signed for it
        people = lost_by_person(mine, [], week, later)
        for unit_id in (dc, xc):
            assert sum(i.points_lost for (u, _p), i in people.items() if u == unit_id) == overdue_points


def test_work_redone_after_a_check_failed_past_the_deadline_is_overdue(factory, demo, drain, moving_clock):
    """The reviewer's case (brief b.4 「退回重办继续计」, seed 002 「工作不达标不放过」): a two-hour zero-tolerance order
    submitted at 100 minutes, failed at its check at 3 hours and really fixed on day 3 is overdue from the failed
    check and not handled on time: it loses the overdue points besides the failed check's, and the bulletin lists
    it among the overdue tasks."""
    with factory() as session:
        event_id = intake.accept_event(session, event("06029", "DC-03", occurred_at=(START - timedelta(hours=1))
                                                      .isoformat()), TASK_SOURCE)[0].id
        session.commit()
    drain()
    with factory() as session:
        task = session.scalar(select(Task).where(Task.event_id == event_id, Task.unit.has(code="JD-DC")))
        users = {u.username: u for u in session.scalars(select(User))}
        start = task.created_at
        assert (task.list_kind, task.deadline_at - start) == ("zero_tolerance", timedelta(hours=2))
        failed = start + timedelta(hours=3)
        for after, action, who in [(timedelta(minutes=5), "sign", "dongcheng"),
                                   (timedelta(minutes=6), "start", "dongcheng"),
                                   (timedelta(minutes=100), "submit", "dongcheng"),
                                   (timedelta(hours=3), "fail_check", "checker"),
                                   (timedelta(days=2), "start", "dongcheng"),
                                   (timedelta(days=2, hours=1), "submit", "dongcheng"),
                                   (timedelta(days=2, hours=2), "pass_check", "checker")]:
            moving_clock["t"] = start + after
            tasks.apply(session, task, action, users[who], "现场仍有烤炉" if action == "fail_check" else "",
                        expected_version=task.version)
        session.commit()
        campaign = session.scalar(select(Campaign).where(Campaign.code == demo["campaign"]))
        month = indicators.parse_period("2026-12", campaign.timezone)
        rows, _rebounds = indicators.read_rows(session, campaign, month)
        mine = [r for r in rows if r.task_id == task.id]
        ind = indicators.compute(mine, [], month, moving_clock["t"] + timedelta(days=1))[task.unit_id]
        assert (ind.handled, ind.handled_on_time, ind.closed, ind.closed_on_time) == (1, 0, 1, 0)
        assert (ind.overdue, ind.failed_checks, ind.reworked) == (1, 1, 1)
        assert ind.rates()["on_time_handling_rate"] == 0.0 and ind.rates()["rework_rate"] == 1.0
        points = mine[0].points
        assert ind.points_lost == points["overdue"] + points["failed_check"] and points["overdue"] > 0
        # handled 30, on time 0 (20 by the first submission), reworked 1 of 1: 0, none unhandled 20, none extended 10
        assert score(ind, DEFAULT_WEIGHTS) == round(30 + 0 + 0 + 20 + 10 - ind.points_lost, 2)

        def overdue_listed(now: datetime) -> int:
            return sum(n for _tier, n in bulletin.build(session, campaign, month, now).overdue_by_tier)
        assert overdue_listed(failed + timedelta(seconds=1)) == overdue_listed(failed) + 1
