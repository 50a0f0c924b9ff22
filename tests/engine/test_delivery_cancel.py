"""Disabling a recipient cancels its queued sends in the same transaction, and the admin lists them cancelled
with the reason; the outbound HTTP client's connect and read timeouts come from the settings."""
from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.models import Delivery, OutboxMessage, Recipient, Unit
from engine.delivery import channels as notify, http, outbox
from tests.helpers import csrf_from, unique


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers `status` after `delay` seconds and counts the calls."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status, self.delay, self.calls = status, delay, 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls += 1
                time.sleep(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the client timed out and left
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receivers(monkeypatch) -> Iterator[list[Receiver]]:
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "127.0.0.1/32")
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.close()


def _queued(session, *addresses: str) -> tuple[OutboxMessage, list[Recipient]]:
    """A unit with one webhook recipient per address and a message to the unit, not yet sent."""
    unit = Unit(code=unique("DC"), name_zh="投递取消测试中队", name_en="Cancel test squad", type="squad")
    session.add(unit)
    session.flush()
    recipients = [Recipient(name=unique("hook"), scope="unit", unit_id=unit.id, channel="webhook", address=address,
                            language="zh", enabled=True) for address in addresses]
    session.add_all(recipients)
    now = clock.now()
    row = OutboxMessage(idempotency_key=unique("cancel-test"), kind="task_dispatched", channel="inbox",
                        target=f"unit:{unit.id}", payload={"task": 4242}, created_at=now, next_attempt_at=now)
    session.add(row)
    session.flush()
    return row, recipients


def _deliver(factory, at: datetime) -> None:
    clock.set_clock(lambda: at)
    try:
        with factory() as s:
            outbox.deliver_due(s)
    finally:
        clock.set_clock(None)


def _deliveries(factory, row_id: int) -> tuple[OutboxMessage, dict[int, Delivery]]:
    with factory() as s:
        row = s.get(OutboxMessage, row_id)
        deliveries = {d.recipient_id: d for d in s.scalars(select(Delivery).where(Delivery.outbox_id == row_id))}
        s.expunge_all()
    return row, deliveries


def test_disabling_a_recipient_cancels_its_queued_sends_and_no_one_elses(factory, receivers):
    down, up = Receiver(status=503), Receiver(status=503)
    receivers += [down, up]
    with factory() as s:
        row, (gone, kept) = _queued(s, down.url, up.url)
        row_id, gone_id, kept_id = row.id, gone.id, kept.id
        s.commit()
    start = datetime.now(timezone.utc) + timedelta(seconds=1)
    _deliver(factory, start)  # both answer 503: both deliveries wait to be retried
    assert (down.calls, up.calls) == (1, 1)

    with factory() as s:
        assert outbox.disable(s, s.get(Recipient, gone_id)) == 1
        s.commit()
    row, deliveries = _deliveries(factory, row_id)
    assert deliveries[gone_id].status == "cancelled" and deliveries[gone_id].next_attempt_at is None
    assert deliveries[gone_id].last_error == outbox.RECIPIENT_DISABLED and "已停用" in deliveries[gone_id].last_error
    assert deliveries[kept_id].status == "pending" and row.status == "pending"

    up.status = 200
    _deliver(factory, start + timedelta(hours=2))  # well past every back-off
    assert (down.calls, up.calls) == (1, 2)  # the disabled one is never called again
    row, deliveries = _deliveries(factory, row_id)
    assert (deliveries[gone_id].status, deliveries[kept_id].status, row.status) == ("cancelled", "delivered",
                                                                                    "delivered")


def test_cancelling_rolls_back_with_the_change(factory, receivers):
    """The cancellation is part of the caller's transaction: a change that is not committed cancels nothing."""
    down = Receiver(status=503)
    receivers.append(down)
    with factory() as s:
        row, (recipient,) = _queued(s, down.url)
        row_id, recipient_id = row.id, recipient.id
        s.commit()
    _deliver(factory, datetime.now(timezone.utc) + timedelta(seconds=1))
    with factory() as s:
        outbox.disable(s, s.get(Recipient, recipient_id))
        s.rollback()
    row, deliveries = _deliveries(factory, row_id)
    assert deliveries[recipient_id].status == "pending" and row.status == "pending"


def test_the_admin_disabling_a_recipient_cancels_its_sends_and_lists_them(app, client, login, factory, receivers):
    down = Receiver(status=503)
    receivers.append(down)
    with factory() as s:
        row, (recipient,) = _queued(s, down.url)
        row_id, recipient_id, key, name = row.id, recipient.id, row.idempotency_key, recipient.name
        s.commit()
    _deliver(factory, datetime.now(timezone.utc) + timedelta(seconds=1))

    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    form = client.get(f"/admin/recipient/edit/?id={recipient_id}&lang=zh").get_data(as_text=True)
    saved = client.post(f"/admin/recipient/edit/?id={recipient_id}&lang=zh", follow_redirects=True, data={
        "name": name, "scope": "unit", "unit": "", "channel": "webhook", "address": down.url, "language": "zh",
        "csrf_token": csrf_from(form)})  # "enabled" left out: the box unticked
    assert saved.status_code == 200
    assert "1 个待发送的投递已取消" in saved.get_data(as_text=True)
    row, deliveries = _deliveries(factory, row_id)
    assert (deliveries[recipient_id].status, row.status) == ("cancelled", "cancelled")

    listing = client.get("/admin/failed_delivery/?lang=zh").get_data(as_text=True)
    assert key in listing and "已取消" in listing and "接收方已停用" in listing
    english = client.get("/admin/failed_delivery/?lang=en").get_data(as_text=True)
    assert "Cancelled" in english and "the recipient was disabled" in english


def test_the_read_timeout_comes_from_the_settings(receivers, monkeypatch):
    slow = Receiver(delay=3.0)
    receivers.append(slow)
    monkeypatch.setenv("CIVICRULES_HTTP_READ_TIMEOUT", "0.5")
    policy = notify.delivery_policy()
    assert (policy.connect_timeout, policy.read_timeout) == (3.0, 0.5)
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        http.post_json(slow.url, b"{}", {}, policy.connect_timeout, policy.read_timeout)
    assert 0.4 < time.monotonic() - began < 2.0


def test_the_connect_timeout_comes_from_the_settings(monkeypatch):
    """A server whose accept queue is full never completes the handshake: the connect timeout ends the wait."""
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "127.0.0.1/32")
    monkeypatch.setenv("CIVICRULES_HTTP_CONNECT_TIMEOUT", "0.5")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    held = []
    try:
        for _ in range(4):  # fill the accept queue; the kernel drops the SYNs that follow
            waiting = socket.socket()
            waiting.setblocking(False)
            waiting.connect_ex(("127.0.0.1", port))
            held.append(waiting)
        time.sleep(0.2)
        policy = notify.delivery_policy()
        assert (policy.connect_timeout, policy.read_timeout) == (0.5, 10.0)
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            http.post_json(f"http://127.0.0.1:{port}/hook", b"{}", {}, policy.connect_timeout, policy.read_timeout)
        assert 0.4 < time.monotonic() - began < 2.0
    finally:
        for waiting in held:
            waiting.close()
        listener.close()
