"""Evaluation never waits for delivery: under `civicrules serve`, while a webhook receiver takes 30 s to answer,
an event posted is still evaluated within a second, and stopping the service ends every worker process (and
the work-horse still waiting on the receiver)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from engine.core import clock
from engine.core.models import OutboxMessage, Recipient, Unit
from engine.delivery import outbox
from tests.helpers import ROOT, event, free_port, unique, wait_for
from tests.test_serve import call

pytestmark = pytest.mark.slow

ANSWER_AFTER = 30.0


class SlowReceiver:
    """A webhook receiver that answers only after ANSWER_AFTER seconds; `waiting` counts calls not yet answered."""

    def __init__(self) -> None:
        self.calls = self.answered = 0
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls += 1
                receiver.released.wait(ANSWER_AFTER)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the sender gave up (the service stopped)
                    pass
                receiver.answered += 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def waiting(self) -> int:
        return self.calls - self.answered

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def _descendants(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    children = {int(child) for child in found}
    return children.union(*(_descendants(child) for child in children)) if children else set()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_a_receiver_answering_in_30_s_does_not_delay_evaluation(env, factory, intake_token, tmp_path):
    receiver = SlowReceiver()
    with factory() as s:
        unit = Unit(code=unique("SL"), name_zh="慢接收方测试中队", name_en="Slow receiver squad", type="squad")
        s.add(unit)
        s.flush()
        recipient = Recipient(name=unique("slow"), scope="unit", unit_id=unit.id, channel="webhook",
                              address=receiver.url, language="zh", enabled=True)
        s.add(recipient)
        s.flush()
        recipient_id, target = recipient.id, f"unit:{unit.id}"
        s.commit()

    port = free_port()
    run_env = {**os.environ, **env, "CIVICRULES_INSTANCE": str(tmp_path), "CIVICRULES_WEBHOOK_ALLOW": "127.0.0.1/32",
               "CIVICRULES_HTTP_READ_TIMEOUT": "60"}  # the receiver holds the send its full 30 s
    if not os.environ.get("REDIS_URL"):
        run_env.pop("REDIS_URL", None)
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT, env=run_env,
                                stdout=sink, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    processes: set[int] = set()
    try:
        def evaluated(event_id: int) -> dict | None:
            assert proc.poll() is None, log.read_text()
            try:
                data = call("GET", f"{base}/api/v1/events/{event_id}", intake_token)[1]
            except OSError:
                return None
            return data if data.get("status") == "evaluated" else None

        def posted() -> dict | None:
            try:
                status, body = call("POST", f"{base}/api/v1/events", intake_token, event("06029", "XC-04", hour=23))
            except OSError:
                return None
            return body if status == 202 else None

        warm = wait_for(posted, 60, "serve to accept an event", every=0.2)
        wait_for(lambda: evaluated(warm["id"]), 60, "a first event evaluated (the workers are listening)")

        with factory() as s:
            now = clock.now()
            s.add(OutboxMessage(idempotency_key=unique("slow-receiver"), kind="task_dispatched", channel="inbox",
                                target=target, payload={"task": 4242}, created_at=now, next_attempt_at=now))
            s.commit()
        wait_for(lambda: receiver.waiting, 60, "the delivery worker to call the slow receiver", every=0.1)
        hanging_since = time.monotonic()

        delays = []
        for _ in range(3):
            body = wait_for(posted, 10, "an event accepted")
            sent = time.monotonic()
            wait_for(lambda: evaluated(body["id"]), 20, "the event evaluated while the receiver hangs", every=0.02)
            delays.append(time.monotonic() - sent)
        assert receiver.waiting and receiver.answered == 0, "the receiver answered before the events were evaluated"
        print(f"posted -> evaluated while a webhook hangs: {', '.join(f'{d:.3f}' for d in delays)} s; "
              f"the receiver had been waited on for {time.monotonic() - hanging_since:.1f} s")
        assert min(delays) < 1.0 and max(delays) < 3.0, delays

        processes = _descendants(proc.pid)
    finally:
        began = time.monotonic()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
        stopped_in = time.monotonic() - began
        receiver.close()
        with factory() as s:
            outbox.disable(s, s.get(Recipient, recipient_id))  # later tests' messages never wait on it
            s.commit()
        output = log.read_text()
        print(output[-20000:])
    assert proc.returncode == 0, output
    assert "CivicRules stopped" in output
    print(f"serve stopped in {stopped_in:.1f} s with a send hanging")
    assert len(processes) >= 6, processes  # web, three workers, sweeper, escalator (and their children)
    left = sorted(pid for pid in processes if _alive(pid))
    assert not left, f"processes left running after serve stopped: {left}"
