"""A task's ladder is written one step ahead (issue 18 point 4): a new task writes its first step, which carries the
rest of the plan; the poller writes each next step in the transaction that runs the one before it. A task that ended
before its ladder started writes no more steps, and its page still shows every step of the plan."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from engine.core.models import Task, TaskStep
from engine.supervision.steps import ladder
from tests.engine.test_escalation import zero_tolerance_task
from tests.helpers import steps_of, steps_run


def rows_of(session, task_id: int) -> list[tuple[int, str, int]]:
    session.expire_all()
    return [(s.position, s.status, len(s.later or [])) for s in session.scalars(
        select(TaskStep).where(TaskStep.task_id == task_id).order_by(TaskStep.position))]


def test_a_new_task_writes_its_first_step_and_each_next_one_when_the_one_before_runs(factory, drain, session):
    task = zero_tolerance_task(factory, drain, session, "DC-02")
    planned = steps_of(session, task.id)
    assert rows_of(session, task.id) == [(0, "pending", 4)]  # one row, carrying the four steps after it
    with factory() as s:
        steps_run(s, planned[1].due_at + timedelta(seconds=1))
    # the urge and the 督办 ran; the first escalation is written, pending, and carries the last two
    assert rows_of(session, task.id) == [(0, "done", 0), (1, "done", 0), (2, "pending", 2)]
    assert [s.due_at for s in steps_of(session, task.id)] == [s.due_at for s in planned]  # the plan did not move
    view = ladder(session, session.get(Task, task.id))
    assert [(v.action, v.status) for v in view] == [("remind", "done"), ("order", "done"), ("escalate", "pending"),
                                                    ("escalate", "pending"), ("list_publicly", "pending")]


def test_a_task_closed_before_its_ladder_started_writes_no_more_steps(factory, drain, session):
    task = zero_tolerance_task(factory, drain, session, "XC-02")
    planned = steps_of(session, task.id)
    with factory() as s:
        s.execute(update(Task).where(Task.id == task.id).values(status="closed"))
        s.commit()
    with factory() as s:
        steps_run(s, planned[-1].due_at + timedelta(seconds=1))
    assert rows_of(session, task.id) == [(0, "skipped", 4)]  # skipped at its time; the rest never became rows
    assert session.scalar(select(func.count()).select_from(TaskStep).where(TaskStep.task_id == task.id)) == 1
    view = ladder(session, session.get(Task, task.id))
    assert [v.status for v in view] == ["skipped"] * 5  # the page still shows the whole ladder, none of it pending
    assert [v.status_name("zh") for v in view][1:] == ["已跳过"] * 4
