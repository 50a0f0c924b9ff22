"""A timeline step run by the real escalation poller reaches the field unit's messages within seconds:
the poller addresses the step's row itself, so even a page that does not look for new rows (the task
list's header badge) counts it, and the unit reads it in its inbox; another unit does not."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.core import clock
from engine.core.models import Event, InboxAddress, OutboxMessage, TaskStep
from engine.delivery import inbox
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import bearer, event, start, stop, user_token, wait_for

pytestmark = pytest.mark.slow


def test_a_step_run_by_the_poller_is_in_the_units_messages_within_seconds(app, factory, env, drain, login):
    client = app.test_client()
    with factory() as session:
        event_id = accept_event(session, event("06029", "DC-03", hour=10), IntakeSource("inbox-e2e", "patrol"))[0].id
        session.commit()
    drain()
    with factory() as session:
        task = next(t for t in session.get(Event, event_id).tasks if t.list_kind == "zero_tolerance")
        task_id = task.id
        step = session.scalar(select(TaskStep).where(TaskStep.task_id == task_id, TaskStep.position == 0))
        step_id = step.id
        session.execute(update(TaskStep).where(TaskStep.id == step_id)
                        .values(due_at=clock.now() + timedelta(seconds=1)))  # the first step (催办) falls due now
        session.commit()

    def ran():
        with factory() as session:
            return session.scalar(select(TaskStep.ran_at).where(TaskStep.id == step_id, TaskStep.status == "done"))

    def addressed():
        with factory() as session:
            return session.scalar(select(InboxAddress.id).join(OutboxMessage, OutboxMessage.id == InboxAddress.outbox_id)
                                  .where(OutboxMessage.idempotency_key == f"step:{step_id}").limit(1))

    with factory() as session:  # rows earlier tests wrote with no poller running: the steady state has none
        while inbox.address_new(session):
            session.commit()
        session.commit()
    poller = start(env, "escalate", "--every", "0.2")
    try:
        ran_at = wait_for(ran, timeout=60, what="the poller to run the step", every=0.1)
        wait_for(addressed, timeout=60, what="the poller to address the step's message", every=0.1)
        seen_after = time.time() - ran_at.timestamp()
    finally:
        stop(poller)
    assert seen_after < 10, f"the step reached the inbox {seen_after:.1f} s after it ran"
    dongcheng = user_token(client, "dongcheng")
    data = client.get("/api/v1/inbox", headers={**bearer(dongcheng), "Accept-Language": "zh-CN"}).get_json()
    message = next(m for m in data["messages"] if m["task"] and m["task"]["id"] == task_id and m["kind"] == "remind")
    assert message["title"] == "催办" and message["from"].startswith("时限流程") and not message["read"]
    xicheng = client.get("/api/v1/inbox", headers=bearer(user_token(client, "xicheng")), query_string={"limit": 200})
    assert all(not m["task"] or m["task"]["id"] != task_id for m in xicheng.get_json()["messages"])
    login(client, "dongcheng")
    tasks_page = client.get("/tasks").get_data(as_text=True)
    assert f'id="unread-count" aria-label="未读">{data["unread"]}<' in tasks_page
