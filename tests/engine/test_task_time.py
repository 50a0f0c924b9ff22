"""Deadlines follow every change: an extension of a working-time limit counts working time; parking
moves the deadline and the pending timeline steps by the paused time."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from engine.core import clock
from engine.core.models import Task
from tests.helpers import act, new_task, steps_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_extending_a_working_hours_limit_counts_office_hours(factory, drain, session):
    task = new_task(factory, drain, session, grid="XC-02", unit="JD-XC")
    start = datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI)  # Wednesday before the National Day holiday
    with factory() as s:
        s.execute(update(Task).where(Task.id == task.id).values(
            limit_value=4, limit_unit="working_hours", deadline_at=datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI)))
        s.commit()
    clock.set_clock(lambda: start)
    for action, who in (("sign", "xicheng"), ("request_extension", "xicheng"), ("approve_extension", "dispatcher")):
        session.expire_all()
        act(session, session.get(Task, task.id), action, who, "需要更多时间")
    session.expire_all()
    # 17:00–17:30 on 30 September, then 08:30–12:00 on 8 October: four working hours.
    assert session.get(Task, task.id).deadline_at == datetime(2026, 10, 8, 12, 0, tzinfo=SHANGHAI)


def test_parking_moves_the_deadline_and_the_pending_steps(factory, drain, session):
    task = new_task(factory, drain, session, grid="DC-03", unit="JD-DC")
    deadline = task.deadline_at
    steps_before = {s.position: s.due_at for s in steps_of(session, task.id)}  # the rows and the steps planned
    now = clock.now()
    clock.set_clock(lambda: now)
    act(session, task, "sign", "dongcheng")
    session.expire_all()
    act(session, session.get(Task, task.id), "request_park", "dongcheng", "等待施工条件",
        {"until": (now + timedelta(days=3)).isoformat()})
    session.expire_all()
    act(session, session.get(Task, task.id), "approve_park", "dispatcher")
    clock.set_clock(lambda: now + timedelta(days=1))
    session.expire_all()
    act(session, session.get(Task, task.id), "resume", "dispatcher")
    session.expire_all()
    assert session.get(Task, task.id).deadline_at == deadline + timedelta(days=1)
    after = {s.position: s.due_at for s in steps_of(session, task.id)}
    assert len(after) == len(steps_before) > 1 and all(after[i] == steps_before[i] + timedelta(days=1) for i in after)
