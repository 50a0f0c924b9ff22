"""Where tasks are born: one call turns a batch of orders into tasks, their first transitions, their
ladder steps, the units' messages and rule escalations, inside the caller's transaction, once per
(event, unit)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import OutboxMessage, Supervision, Task, TaskStep, TaskTransition, Unit
from engine.evaluation.context import active_contexts
from engine.handling.dispatch import RuleEscalation, TaskOrder, dispatch
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import event, steps_of

SOURCE = IntakeSource("dispatch-tests", "patrol")


def _orders(session) -> list[TaskOrder]:
    """Two units' tasks for one stored (not yet evaluated) event; the first escalated by its rule."""
    stored = accept_event(session, event("06029", "DC-01", hour=23), SOURCE)[0]
    ctx = active_contexts(session)[0]
    units = dict(session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(["JD-DC", "ZD-DC"]))).all())
    now = clock.now()

    def order(code: str, hours: int, escalations: list[RuleEscalation]) -> TaskOrder:
        return TaskOrder(event_id=stored.id, campaign_id=ctx.id, ruleset_version_id=ctx.version_id,
                         unit_id=units[code], template_id=ctx.template_id("zt-clearance"),
                         timeline_id=ctx.timeline_id("zt-ladder"), rule_key="zero_tolerance.zt4",
                         list_kind="zero_tolerance", limit_value=hours, limit_unit="urgent_hours",
                         deadline_at=now + timedelta(hours=hours), points=3 if code == "JD-DC" else 0,
                         steps=ctx.steps("zt-ladder"), calendar=ctx.calendar, continuous_time=True,
                         escalations=escalations)
    return [order("JD-DC", 2, [RuleEscalation(2, True, "挂牌 / listed", "zero_tolerance.zt4")]),
            order("ZD-DC", 4, [])]


def _counts(session, task_ids: list[int]) -> tuple[int, ...]:
    def count(model, column) -> int:
        return session.scalar(select(func.count()).select_from(model).where(column.in_(task_ids)))
    return (count(Task, Task.id), count(TaskTransition, TaskTransition.task_id), count(TaskStep, TaskStep.task_id),
            count(OutboxMessage, OutboxMessage.task_id), count(Supervision, Supervision.task_id))


def test_a_batch_of_orders_becomes_tasks_with_everything_born_with_them(session):
    orders = _orders(session)
    now = clock.now()
    ids = dispatch(session, orders, now)

    tasks = [session.get(Task, task_id) for task_id in ids]
    assert [(t.unit_id, t.status, t.version, t.deadline_at, t.points) for t in tasks] == [
        (o.unit_id, "dispatched", 1, o.deadline_at, o.points) for o in orders]
    assert {t.template_id for t in tasks} == {orders[0].template_id}
    for task in tasks:
        assert [(r.from_status, r.to_status, r.action, r.data) for r in task.transitions] == [
            (None, "dispatched", "dispatch", {"rule": "zero_tolerance.zt4", "assignee": task.assignee_id})]
        assert task.assignee.name == "张伟"  # DC-01's 责任人, of the squad under JD-DC
        # one step row, its first, carrying the rest of the plan: the poller writes each next one as it runs
        [first] = session.scalars(select(TaskStep).where(TaskStep.task_id == task.id)).all()
        assert [first.position] + [s["position"] for s in first.later] == [s.position for s in orders[0].steps]
        order = next(o for o in orders if o.unit_id == task.unit_id)
        assert first.due_at == now + timedelta(hours=order.limit_value) * 0.8  # urged at 80 % of the limit
        assert [s.due_at for s in steps_of(session, task.id)][1] == order.deadline_at  # 督办 at the deadline
        assert session.scalar(select(OutboxMessage.target).where(
            OutboxMessage.idempotency_key == f"task-dispatched:{task.id}")) == f"unit:{task.unit_id}"
    listed = session.scalars(select(Supervision).where(Supervision.task_id.in_(ids))).all()
    assert [(s.task_id, s.tier_level, s.kind, s.created_by) for s in listed] == [(ids[0], 2, "list_publicly", None)]
    message = session.scalar(select(OutboxMessage).where(
        OutboxMessage.idempotency_key == f"rule-escalation:{ids[0]}:zero_tolerance.zt4:2"))
    assert (message.kind, message.target, message.status) == ("supervision_list_publicly", "tier:2", "pending")

    session.rollback()  # dispatch never commits: the caller's rollback takes every row with it
    assert _counts(session, ids) == (0, 0, 0, 0, 0)


def test_dispatching_the_same_event_and_unit_again_writes_nothing_twice(session):
    orders = _orders(session)
    first = dispatch(session, orders, clock.now())
    written = _counts(session, first)
    assert written[0] == 2 and all(written)

    again = dispatch(session, [orders[1], orders[0], orders[1]], clock.now())
    assert again == [first[1], first[0], first[1]]
    assert _counts(session, first) == written
    session.rollback()
