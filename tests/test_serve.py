"""The whole service as `make run` starts it: `civicrules serve` with gunicorn, the RQ worker, the
sweeper and (when REDIS_URL is unset) the embedded Redis; real HTTP in, a task out, clean stop."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.helpers import event

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_serve_runs_everything_evaluates_an_event_and_stops_cleanly(env, factory, intake_token, tmp_path):
    port = free_port()
    run_env = {**os.environ, **env, "CIVICRULES_INSTANCE": str(tmp_path)}
    embedded = not os.environ.get("REDIS_URL")
    if embedded:
        run_env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT, env=run_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "serve did not become healthy within 60 s"
            time.sleep(0.2)
        time.sleep(2)  # let the worker register with the queues
        posted = time.monotonic()
        status, body = call("POST", f"{base}/api/v1/events", intake_token, event("06029", "XC-04", hour=23))
        assert status == 202, body
        while True:
            status, data = call("GET", f"{base}/api/v1/events/{body['id']}", intake_token)
            if data.get("status") == "evaluated":
                break
            assert time.monotonic() - posted < 60, f"not evaluated within 60 s: {data}"
            time.sleep(0.05)
        latency = time.monotonic() - posted
        print(f"posted -> evaluated through serve: {latency:.3f} s (product promise: 2 s)")
        task = next(t for t in data["tasks"] if t["unit"]["code"] == "JD-XC")
        assert task["limit"] == {"value": 2.0, "unit": "urgent_hours", "text": "2 小时（连续计时）"} and task["list"] == "zero_tolerance"
        firing = next(f for f in data["firings"] if f["rule"] == "zero_tolerance.zt4")
        assert firing["matched"][0]["actual"] == "06029" and firing["task"] == task["id"]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the supervisor alone: it must stop its children
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert "CivicRules stopped" in output
    if embedded:
        leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "redis.sock")], capture_output=True, text=True)
        assert leftover.stdout.strip() == "", "a redis-server was left running"
