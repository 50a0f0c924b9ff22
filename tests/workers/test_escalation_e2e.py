"""Escalation end to end with real processes: the SQL poller runs each step of an unsigned task at
its time (a signed task is left alone), the RQ worker delivers each step to real HTTP receivers on
127.0.0.1 with its own idempotency key — retrying a receiver that fails twice and a DingTalk-style
robot that answers errcode 310000 — and a Redis flush between steps changes nothing."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from engine.supervision import board as supervision
from engine.handling import tasks
from engine.authoring.drafts import publish
from engine.intake.events import IntakeSource, accept_event
from engine.core.models import (Campaign, OutboxMessage, Recipient, Rule, Task, TaskStep, Timeline, TimelineStep, Unit, User)
from tests.helpers import event, start, stop, wait_for

pytestmark = pytest.mark.slow
SECRET = "e2e-shared-secret"


class Receiver:
    """Answers from a script (the last answer repeats) and keeps every request."""

    def __init__(self, *answers):
        self.answers, self.requests = list(answers) or [(200, {"ok": True})], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, dict(self.headers), body))
                status, reply = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def keys(self) -> list[str]:
        return [headers.get("Idempotency-Key") for _, headers, _ in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_steps_escalate_on_time_and_reach_the_receivers(factory, env, settings):
    unit_hook, tier1_robot, tier2_flaky, tier3_hook = (
        Receiver(), Receiver((200, {"errcode": 310000, "errmsg": "sign not match"}), (200, {"errcode": 0})),
        Receiver((500, {}), (500, {}), (200, {"ok": True})), Receiver())
    with factory() as s:  # messages earlier tests left undelivered would reach these receivers first: defer them
        s.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                  .values(next_attempt_at=datetime(2100, 1, 1, tzinfo=timezone.utc)))
        s.commit()
    with factory() as s:
        campaign = Campaign(code="e2e-escalation", name_zh="升级端到端", name_en="Escalation e2e", status="active",
                            timezone="Asia/Shanghai")
        s.add(campaign)
        s.flush()
        ladder = Timeline(campaign_id=campaign.id, code="fast", name_zh="快速督办", name_en="Fast ladder")
        # anchored to a 7.2-second limit: urge half way, 督办 at the deadline, then 3 and 6 seconds overdue
        ladder.steps = [TimelineStep(position=i, anchor=anchor, share=share, after_minutes=seconds / 60,
                                     action=action, tier_level=tier, unless_state="signed")
                        for i, (anchor, share, seconds, action, tier) in enumerate([
                            ("share", 0.5, 0, "remind", None), ("at", None, 0, "order", 1),
                            ("after", None, 3, "escalate", 2), ("after", None, 6, "escalate", 3)])]
        s.add(ladder)
        s.add(Rule(campaign_id=campaign.id, key="e2e-burning", document={
            "key": "e2e-burning", "title": {"zh": "焚烧", "en": "Burning"},
            "when": {"all": [{"fact": "category", "op": "eq", "value": "06020"},
                             {"fact": "grid", "op": "eq", "value": "XC-01"}]},
            "then": [{"do": "create_task", "template": "sm-rectify", "assign": "grid_unit", "timeline": "fast",
                      "limit": {"value": 0.002, "unit": "urgent_hours"}}]}))
        s.flush()
        publish(s, campaign, comment="e2e")
        unit_id = s.scalar(select(Unit.id).where(Unit.code == "JD-XC"))
        s.add_all([
            Recipient(name="xicheng hook", scope="unit", unit_id=unit_id, channel="webhook", address=unit_hook.url,
                      secret=SECRET, language="zh", enabled=True),
            Recipient(name="tier 1 robot", scope="tier", campaign_id=campaign.id, tier_level=1, channel="dingtalk",
                      address=tier1_robot.url + "?access_token=t1", secret="ding-secret", language="zh", enabled=True),
            Recipient(name="tier 2 hook", scope="tier", campaign_id=campaign.id, tier_level=2, channel="webhook",
                      address=tier2_flaky.url, secret=SECRET, language="en", enabled=True),
            Recipient(name="tier 3 hook", scope="tier", campaign_id=campaign.id, tier_level=3, channel="webhook",
                      address=tier3_hook.url, secret=SECRET, language="zh", enabled=True)])
        campaign_id = campaign.id
        s.commit()
    extra = {"CIVICRULES_WEBHOOK_ALLOW": "127.0.0.1/32", "CIVICRULES_DELIVERY_BACKOFF_SECONDS": "1"}
    processes = [start(env, "worker", **extra), start(env, "sweep", "--every", "1", **extra),
                 start(env, "escalate", "--every", "0.2", **extra)]
    try:
        with factory() as s:
            ids = [accept_event(s, event("06020", "XC-01", hour=10), IntakeSource("e2e-escalation", "patrol"))[0].id
                   for _ in range(2)]
            s.commit()
        from workers.queues import connection, enqueue_drain
        enqueue_drain(settings)

        def task_ids():
            with factory() as s:
                found = [s.scalar(select(Task.id).where(Task.event_id == i, Task.campaign_id == campaign_id)) for i in ids]
                return found if all(found) else None
        unsigned, signed = wait_for(task_ids, timeout=60, every=0.1)
        with factory() as s:  # the unit signs one of the two at once
            task = s.get(Task, signed)
            tasks.apply(s, task, "sign", s.scalar(select(User).where(User.username == "xicheng")),
                        expected_version=task.version)
            s.commit()

        def steps(task_id):
            with factory() as s:
                return list(s.scalars(select(TaskStep).where(TaskStep.task_id == task_id).order_by(TaskStep.position)))
        wait_for(lambda: [r.status for r in steps(unsigned)][1:2] == ["done"], timeout=60, every=0.2)
        connection(settings).flushdb()  # Redis loses everything between two steps
        done = wait_for(lambda: (lambda rows: rows if all(r.status == "done" for r in rows) else None)(steps(unsigned)),
                        timeout=60, every=0.2)
        assert [r.action for r in done] == ["remind", "order", "escalate", "escalate"]
        assert all(0 <= (r.ran_at - r.due_at).total_seconds() < 5 for r in done)  # never early; 2 s is measured in bench/
        assert [r.status for r in steps(signed)] == ["skipped"] * 4
        with factory() as s:
            assert unsigned in {row.task.id for row in supervision.board(s, 2)}
            assert signed not in {row.task.id for row in supervision.board(s, 2)}
        step_keys = {r.position: f"step:{r.id}" for r in done}
        wait_for(lambda: step_keys[2] in tier2_flaky.keys()[2:] and step_keys[3] in tier3_hook.keys()
                 and step_keys[1] in tier1_robot.keys()[1:] and step_keys[0] in unit_hook.keys(), timeout=90, every=0.5)
    finally:
        for proc in processes:
            stop(proc)
        with factory() as s:
            s.get(Campaign, campaign_id).status = "ended"
            s.commit()
    # one message per step and recipient, retried under the same key until it got through
    assert tier2_flaky.keys().count(step_keys[2]) == 3
    assert tier1_robot.keys().count(step_keys[1]) == 2 and "sign=" in tier1_robot.requests[-1][0]
    assert tier3_hook.keys().count(step_keys[3]) == 1
    assert unit_hook.keys().count(step_keys[0]) == 1 and step_keys[2] not in unit_hook.keys()
    _, headers, body = next(r for r in tier3_hook.requests if r[1].get("Idempotency-Key") == step_keys[3])
    expected = hmac.new(SECRET.encode(), f"{headers['X-CivicRules-Timestamp']}.".encode() + body, hashlib.sha256)
    assert headers["X-CivicRules-Signature"] == f"sha256={expected.hexdigest()}"
    for receiver in (unit_hook, tier1_robot, tier2_flaky, tier3_hook):
        receiver.close()
