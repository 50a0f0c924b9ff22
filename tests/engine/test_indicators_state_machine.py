"""The indicators read what the state machine writes: a demo task moved by real users through
engine/tasks.py (handled on time, failed at the check, reworked, closed) counts as the formulas say."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.assessment import indicators
from engine.intake import events as intake
from engine.handling import tasks
from engine.core.models import Campaign, Task, User
from tests.helpers import event

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
