"""Notifications outside the app: real HTTP and SMTP receivers on 127.0.0.1, retries driven by the clock."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.delivery import channels as notify, http, outbox
from engine.core.models import Delivery, OutboxMessage, Recipient, Unit
from tests.helpers import csrf_from, unique


@dataclass
class Received:
    path: str
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Receiver:
    """An HTTP receiver answering from a script; the last answer repeats."""

    answers: list[tuple[int, Any]]
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> tuple[int, Any]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def keyed(self, key: str) -> list[Received]:
        return [r for r in self.requests if r.headers.get("Idempotency-Key") == key]


@pytest.fixture()
def serve():
    """Start HTTP receivers on 127.0.0.1 in threads; stop them after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(*answers: tuple[int, Any]) -> Receiver:
        receiver = Receiver(list(answers) or [(200, {"ok": True})])

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(Received(self.path, self.headers, body))
                status, reply = receiver.answer()
                data = json.dumps(reply).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def allowed(monkeypatch):
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "127.0.0.1/32")


def _unit(session) -> Unit:
    unit = Unit(code=unique("NT"), name_zh="通知测试中队", name_en="Notification test squad", type="squad")
    session.add(unit)
    session.flush()
    return unit


def _recipient(session, **values: Any) -> Recipient:
    values.setdefault("name", unique("rcpt"))
    values.setdefault("language", "zh")
    values.setdefault("enabled", True)
    recipient = Recipient(**values)
    session.add(recipient)
    session.flush()
    return recipient


def _message(session, target: str, kind: str = "task_dispatched", **payload: Any) -> OutboxMessage:
    now = clock.now()
    row = OutboxMessage(idempotency_key=unique("notify-test"), kind=kind, channel="inbox", target=target,
                        payload={"task": 4242, "deadline": "2026-11-23T09:30:00+00:00", **payload},
                        created_at=now, next_attempt_at=now)
    session.add(row)
    session.flush()
    return row


def _deliver(factory, at: datetime) -> None:
    """Run the delivery loop at an injected instant until nothing is due then."""
    clock.set_clock(lambda: at)
    try:
        with factory() as s:
            outbox.deliver_due(s)
            while outbox.pending_count(s):
                outbox.deliver_due(s)
    finally:
        clock.set_clock(None)


def _state(factory, row_id: int) -> tuple[OutboxMessage, list[Delivery]]:
    with factory() as s:
        row = s.get(OutboxMessage, row_id)
        deliveries = list(s.scalars(select(Delivery).where(Delivery.outbox_id == row_id).order_by(Delivery.id)))
        s.expunge_all()
    return row, deliveries


def _start() -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=1)


def test_render_says_task_unit_and_deadline_in_both_languages():
    ctx = notify.Context(kind="order", idempotency_key="step:1", target="unit:3", payload={"task": 7},
                         task_id=7, unit={"zh": "东城中队", "en": "Dongcheng squad"},
                         deadline=datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc))
    zh, en = notify.render(ctx, "zh"), notify.render(ctx, "en")
    assert zh.title == "督办" and "#7" in zh.text and "东城中队" in zh.text and "2026-11-23 09:30" in zh.text
    assert en.title.startswith("Order to handle") and "Dongcheng squad" in en.text and "2026-11-23 09:30" in en.text
    for kind, zh_word in (("remind", "催办"), ("escalate", "第 2 级"), ("list_publicly", "挂牌督办"),
                          ("task_dispatched", "新任务"), ("notify", "规则")):
        escalated = notify.Context(kind=kind, idempotency_key="k", target="tier:2", payload={"task": 9, "tier": 2})
        assert zh_word in notify.render(escalated, "zh").text
        assert "#9" in notify.render(escalated, "en").text


def test_an_escalation_names_its_body_and_a_digest_of_one_task_reads_in_the_singular():
    body = {"tier": 5, "name": {"zh": "督考办", "en": "Assessment office"}}
    escalated = notify.Context(kind="escalate", idempotency_key="k", target="tier:5",
                               payload={"task": 9, "tier": 5, "body": body})
    assert "由督考办督办" in notify.render(escalated, "zh").text
    assert "escalated to Assessment office" in notify.render(escalated, "en").text
    digest = notify.Context(kind="digest", idempotency_key="d", target="unit:3", payload={"open": 1, "overdue": 0})
    en = notify.render(digest, "en").text
    assert "1 open task today, not overdue." in en and "1 open tasks" not in en
    assert "今日未办结任务 1 件，其中超期 0 件" in notify.render(digest, "zh").text


def test_an_overdue_plan_items_message_names_the_item_in_the_channels_language():
    """Its payload holds the facts only: an English message no longer carries a Chinese sentence as its content."""
    ctx = notify.Context(kind="plan_overdue", idempotency_key="plan-overdue-2", target="tier:1",
                         payload={"plan_item": 2, "code": "1.2", "title": "背街小巷修补", "due_on": "2026-11-30",
                                  "percent": 40})
    en, zh = notify.render(ctx, "en").text, notify.render(ctx, "zh").text
    assert "Item 1.2 of the task breakdown table, “背街小巷修补”, is past its due date (2026-11-30) at 40% done" in en
    assert "已超过" not in en and "创建任务分解表第 1.2 项「背街小巷修补」已超过完成时限（2026-11-30），当前进度 40%" in zh


def test_webhook_gets_one_signed_message_per_row(factory, serve, allowed):
    receiver = serve()
    with factory() as s:
        unit = _unit(s)
        _recipient(s, scope="unit", unit_id=unit.id, channel="webhook", address=receiver.url, secret="s3cret",
                   language="en")
        rows = [_message(s, f"unit:{unit.id}"), _message(s, f"unit:{unit.id}", kind="remind")]
        keys, ids = [r.idempotency_key for r in rows], [r.id for r in rows]
        s.commit()
    start = _start()
    _deliver(factory, start)
    _deliver(factory, start + timedelta(minutes=5))
    for key, row_id in zip(keys, ids):
        (got,) = receiver.keyed(key)
        timestamp = got.headers["X-CivicRules-Timestamp"]
        expected = hmac.new(b"s3cret", timestamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
        assert got.headers["X-CivicRules-Signature"] == f"sha256={expected}"
        body = got.json()
        assert body["idempotency_key"] == key and body["task"] == 4242 and body["language"] == "en"
        assert "Notification test squad" in body["text"] and "#4242" in body["text"]
        row, deliveries = _state(factory, row_id)
        assert (row.status, row.attempts) == ("delivered", 1)
        assert [(d.status, d.attempts) for d in deliveries] == [("delivered", 1)]
    assert "Reminder" in receiver.keyed(keys[1])[0].json()["text"]


def test_a_receiver_failing_twice_gets_it_on_the_third_try_with_the_same_key(factory, serve, allowed):
    flaky = serve((500, {"error": "busy"}), (500, {"error": "busy"}), (200, {"ok": True}))
    steady = serve()
    with factory() as s:
        unit = _unit(s)
        _recipient(s, scope="unit", unit_id=unit.id, channel="webhook", address=flaky.url, secret="k1")
        _recipient(s, scope="unit", unit_id=unit.id, channel="webhook", address=steady.url)
        row = _message(s, f"unit:{unit.code}", kind="escalate", tier=2)
        key, row_id = row.idempotency_key, row.id
        s.commit()
    start = _start()
    _deliver(factory, start)
    row, deliveries = _state(factory, row_id)
    assert row.status == "pending" and "HTTP 500" in row.last_error
    assert [d.status for d in deliveries] == ["pending", "delivered"]
    assert deliveries[0].next_attempt_at == start + timedelta(seconds=2)
    _deliver(factory, start + timedelta(seconds=1))  # not due yet: nothing is sent
    assert len(flaky.keyed(key)) == 1
    _deliver(factory, start + timedelta(seconds=2))
    _, deliveries = _state(factory, row_id)
    assert deliveries[0].next_attempt_at == start + timedelta(seconds=2 + 4)
    _deliver(factory, start + timedelta(seconds=6))
    _deliver(factory, start + timedelta(minutes=10))
    assert len(flaky.keyed(key)) == 3 and len(steady.keyed(key)) == 1  # the retry resent only what failed
    assert {r.json()["idempotency_key"] for r in flaky.keyed(key)} == {key}
    row, deliveries = _state(factory, row_id)
    assert row.status == "delivered" and row.last_error is None
    assert [(d.status, d.attempts) for d in deliveries] == [("delivered", 3), ("delivered", 1)]


def test_dingtalk_errcode_is_a_failure_and_the_signed_url_verifies(factory, serve, allowed):
    robot = serve((200, {"errcode": 310000, "errmsg": "sign not match"}), (200, {"errcode": 0, "errmsg": "ok"}))
    secret = "SEC" + "0123456789abcdef" * 2
    with factory() as s:
        unit = _unit(s)
        _recipient(s, scope="unit", unit_id=unit.id, channel="dingtalk",
                   address=robot.url + "?access_token=abc", secret=secret)
        row = _message(s, f"unit:{unit.id}", kind="list_publicly")
        row_id = row.id
        s.commit()
    start = _start()
    _deliver(factory, start)
    row, deliveries = _state(factory, row_id)
    assert row.status == "pending" and "310000" in deliveries[0].last_error
    _deliver(factory, start + timedelta(seconds=3))
    row, deliveries = _state(factory, row_id)
    assert row.status == "delivered" and deliveries[0].attempts == 2
    assert len(robot.requests) == 2
    for got in robot.requests:
        query = parse_qs(urlsplit(got.path).query)
        assert query["access_token"] == ["abc"]
        timestamp, sign = query["timestamp"][0], query["sign"][0]
        expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        assert sign == expected and f"sign={quote_plus(expected)}" in got.path
        body = got.json()
        assert body["msgtype"] == "text" and "挂牌督办" in body["text"]["content"]


def test_wecom_payload_shape_and_errcode(factory, serve, allowed):
    robot = serve((200, {"errcode": 0, "errmsg": "ok"}))
    with factory() as s:
        unit = _unit(s)
        _recipient(s, scope="unit", unit_id=unit.id, channel="wecom", address=robot.url + "?key=xyz")
        row = _message(s, f"unit:{unit.id}", kind="order")
        key, row_id = row.idempotency_key, row.id
        s.commit()
    _deliver(factory, _start())
    (got,) = robot.keyed(key)
    body = got.json()
    assert set(body) == {"msgtype", "text"} and body["msgtype"] == "text"
    assert "督办" in body["text"]["content"] and "#4242" in body["text"]["content"]
    assert "通知测试中队" in body["text"]["content"] and "2026-11-23 17:30" in body["text"]["content"]
    assert _state(factory, row_id)[0].status == "delivered"


def test_tier_and_on_call_recipients_are_fanned_out(factory, serve, allowed):
    receiver = serve()
    tier = 901  # no demo recipient serves it
    with factory() as s:
        tier_recipient = _recipient(s, scope="tier", tier_level=tier, channel="webhook", address=receiver.url)
        on_call = _recipient(s, scope="oncall", channel="webhook", address=receiver.url, language="en")
        other_tier = _recipient(s, scope="tier", tier_level=tier + 1, channel="webhook", address=receiver.url)
        row = _message(s, f"tier:{tier}", kind="escalate", tier=tier)
        key, row_id, ids = row.idempotency_key, row.id, (tier_recipient.id, on_call.id, other_tier.id)
        s.commit()
    _deliver(factory, _start())
    _, deliveries = _state(factory, row_id)
    assert sorted(d.recipient_id for d in deliveries) == sorted(ids[:2])
    texts = sorted(r.json()["text"] for r in receiver.keyed(key))
    assert len(texts) == 2 and any(f"第 {tier} 级" in t for t in texts) and any(f"tier {tier}" in t for t in texts)


def test_email_arrives_with_the_idempotency_key(factory, monkeypatch):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.mails: list[bytes] = []

        async def handle_DATA(self, server, session, envelope) -> str:
            self.mails.append(envelope.content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CIVICRULES_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CIVICRULES_SMTP_PORT", str(port))
    monkeypatch.setenv("CIVICRULES_SMTP_FROM", "civicrules@example.org")
    try:
        with factory() as s:
            unit = _unit(s)
            _recipient(s, scope="unit", unit_id=unit.id, channel="email", address="duty@example.org")
            row = _message(s, f"unit:{unit.id}", kind="remind")
            key, row_id = row.idempotency_key, row.id
            s.commit()
        _deliver(factory, _start())
    finally:
        controller.stop()
    (mail,) = [m for m in map(message_from_bytes, inbox.mails) if m["X-CivicRules-Idempotency-Key"] == key]
    assert mail["Message-ID"] == notify.message_id(key, "duty@example.org") and mail["To"] == "duty@example.org"
    assert "催办" in mail.get_payload(decode=True).decode("utf-8")
    assert _state(factory, row_id)[0].status == "delivered"


def test_loopback_is_refused_without_the_allow_list_and_the_admin_requeues_it(
        factory, serve, monkeypatch, app, client, login):
    monkeypatch.delenv("CIVICRULES_WEBHOOK_ALLOW", raising=False)
    receiver = serve()
    with factory() as s:
        unit = _unit(s)
        _recipient(s, scope="unit", unit_id=unit.id, channel="webhook", address=receiver.url)
        row = _message(s, f"unit:{unit.id}")
        key, row_id = row.idempotency_key, row.id
        s.commit()
    _deliver(factory, _start())
    row, (delivery,) = _state(factory, row_id)
    assert receiver.requests == []
    assert (row.status, delivery.status, delivery.attempts) == ("failed", "failed", 1)
    assert "refused" in delivery.last_error and "127.0.0.1" in delivery.last_error and "loopback" in row.last_error

    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    listing = client.get("/admin/failed_delivery/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert key in listing and "重新投递" in listing
    response = client.post("/admin/failed_delivery/action/", data={
        "action": "requeue", "rowid": [str(delivery.id)], "csrf_token": csrf_from(listing)})
    assert response.status_code == 302
    row, (delivery,) = _state(factory, row_id)
    assert (row.status, delivery.status, delivery.attempts) == ("pending", "pending", 0)

    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "127.0.0.1/32")
    _deliver(factory, _start() + timedelta(seconds=1))
    assert len(receiver.keyed(key)) == 1
    row, (delivery,) = _state(factory, row_id)
    assert (row.status, delivery.status) == ("delivered", "delivered") and row.last_error is None
    assert key not in client.get("/admin/failed_delivery/").get_data(as_text=True)


def test_allow_list_accepts_host_names_and_refuses_reserved_addresses(monkeypatch):
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "localhost")
    assert http.resolve_allowed("localhost", 80) in ("127.0.0.1", "::1")
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "10.0.0.0/8")
    for address in ("169.254.169.254", "192.168.1.5", "127.0.0.1", "0.0.0.0", "64:ff9b::7f00:1"):
        with pytest.raises(http.Refused):
            http.resolve_allowed(address, 80)
    assert http.resolve_allowed("10.1.2.3", 80) == "10.1.2.3"


def test_attempts_are_capped_then_the_delivery_fails(factory, serve, allowed, monkeypatch):
    monkeypatch.setenv("CIVICRULES_DELIVERY_MAX_ATTEMPTS", "2")
    down = serve((503, {"error": "down"}))
    with factory() as s:
        unit = _unit(s)
        _recipient(s, scope="unit", unit_id=unit.id, channel="webhook", address=down.url)
        row = _message(s, f"unit:{unit.id}")
        key, row_id = row.idempotency_key, row.id
        s.commit()
    start = _start()
    for seconds in (0, 2, 30, 3600):
        _deliver(factory, start + timedelta(seconds=seconds))
    row, (delivery,) = _state(factory, row_id)
    assert len(down.keyed(key)) == 2 and (delivery.status, delivery.attempts) == ("failed", 2)
    assert row.status == "failed" and "HTTP 503" in row.last_error
