"""Timeline steps: planned at dispatch against the deadline, run once when due (never early), skipped once the
task got far enough; the clock is injected, so the hour the suite runs at does not matter."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from engine.core import clock
from engine.intake.events import IntakeSource, accept_event
from engine.core.models import Event, OutboxMessage, Task
from tests.helpers import act, event, steps_of, steps_run


def zero_tolerance_task(factory, drain, session, grid: str) -> Task:
    with factory() as s:
        event_id = accept_event(s, event("06029", grid, hour=23), IntakeSource("escalation-tests"))[0].id
        s.commit()
    drain()
    return next(t for t in session.get(Event, event_id).tasks if t.list_kind == "zero_tolerance")


def run_at(factory, instant) -> None:
    with factory() as s:
        steps_run(s, instant)


def test_the_zero_tolerance_ladder_runs_each_step_once_at_its_time(factory, drain, session):
    task = zero_tolerance_task(factory, drain, session, "DC-03")
    steps = steps_of(session, task.id)
    # a sub-district's task: 督办 by the committee's office, then the assessment office, then the district leader
    assert [(s.action, s.tier_level) for s in steps] == [("remind", None), ("order", 4), ("escalate", 5),
                                                          ("escalate", 6), ("list_publicly", 6)]
    limit = task.deadline_at - task.created_at  # two continuous hours: a barbecue at night
    assert [s.due_at - task.created_at for s in steps] == [limit * 0.8, limit] + [
        limit + timedelta(minutes=m) for m in (240, 1440, 2880)]
    run_at(factory, steps[0].due_at - timedelta(seconds=1))
    assert [s.status for s in steps_of(session, task.id)][:1] == ["pending"]  # never early
    run_at(factory, steps[1].due_at + timedelta(seconds=1))
    run_at(factory, steps[1].due_at + timedelta(seconds=2))  # a second poll runs nothing twice
    after = steps_of(session, task.id)
    assert [s.status for s in after] == ["done", "done", "pending", "pending", "pending"]
    keys = session.scalars(select(OutboxMessage.idempotency_key).where(OutboxMessage.task_id == task.id,
                                                                      OutboxMessage.kind.in_(["remind", "order"]))).all()
    assert sorted(keys) == sorted(f"step:{s.id}" for s in after[:2])
    order = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"step:{after[1].id}"))
    assert order.target == "tier:4" and order.payload["body"]["name"]["zh"] == "城管委办公室"


def test_a_task_that_reached_the_unless_state_is_not_escalated(factory, drain, session):
    task = zero_tolerance_task(factory, drain, session, "DC-04")
    with factory() as s:
        s.execute(update(Task).where(Task.id == task.id).values(status="submitted"))
        s.commit()
    steps = steps_of(session, task.id)
    run_at(factory, steps[2].due_at + timedelta(seconds=1))
    statuses = [(s.action, s.status) for s in steps_of(session, task.id)]
    # remind and order stop at "submitted"; escalations go on until the task is closed
    assert statuses[:3] == [("remind", "skipped"), ("order", "skipped"), ("escalate", "done")]


def test_clock_injection_drives_the_poller(factory, drain, session):
    task = zero_tolerance_task(factory, drain, session, "XC-01")
    first = steps_of(session, task.id)[0]
    clock.set_clock(lambda: first.due_at + timedelta(seconds=5))
    with factory() as s:
        steps_run(s)
    step = steps_of(session, task.id)[0]
    assert step.status == "done" and step.ran_at - step.due_at == timedelta(seconds=5)


def test_a_check_failed_past_the_deadline_runs_the_skipped_order_once(factory, drain, session):
    """Brief b.4 「退回重办继续计」: a two-hour order submitted at 100 minutes skips its 督办 at the deadline while it
    awaits its check; the check fails at 3 hours and the 督办 runs at the next poll, once, and never again."""
    task = zero_tolerance_task(factory, drain, session, "DC-04")
    steps = steps_of(session, task.id)
    start = task.created_at
    run_at(factory, steps[0].due_at + timedelta(seconds=1))  # the remind at 80 % runs as usual
    for minutes, action, who, comment in [(5, "sign", "dongcheng", ""), (6, "start", "dongcheng", ""),
                                          (100, "submit", "dongcheng", "已清理")]:
        clock.set_clock(lambda m=minutes: start + timedelta(minutes=m))
        act(session, task, action, who, comment)
    run_at(factory, steps[1].due_at + timedelta(seconds=1))
    assert [s.status for s in steps_of(session, task.id)][:2] == ["done", "skipped"]  # awaiting its check
    clock.set_clock(lambda: start + timedelta(hours=3))
    act(session, task, "fail_check", "checker", "现场仍有烤炉")
    assert [s.status for s in steps_of(session, task.id)][:3] == ["done", "pending", "pending"]
    run_at(factory, start + timedelta(hours=3, seconds=1))
    run_at(factory, start + timedelta(hours=3, seconds=2))

    def sent() -> list[str]:
        return sorted(session.scalars(select(OutboxMessage.kind).where(OutboxMessage.task_id == task.id,
                                                                      OutboxMessage.kind.in_(["remind", "order"]))))
    assert sent() == ["order", "remind"]
    order = steps_of(session, task.id)[1]
    assert (order.status, order.task_status) == ("done", "returned")
    for hours, action, who, comment in [(4, "start", "dongcheng", ""), (5, "submit", "dongcheng", "再次清理"),
                                        (6, "fail_check", "checker", "仍未清理")]:
        clock.set_clock(lambda h=hours: start + timedelta(hours=h))
        act(session, task, action, who, comment)
    run_at(factory, start + timedelta(hours=6, seconds=1))
    assert sent() == ["order", "remind"]  # failing again re-arms nothing that already ran
