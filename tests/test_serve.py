"""The whole service as `make run` starts it: `civicrules serve` with gunicorn, the RQ worker, the
sweeper and (when REDIS_URL is unset) the embedded Redis; real HTTP in, a task out, clean stop."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from app.demo import credentials_text
from tests.helpers import ROOT, event, free_port, wait_for

pytestmark = pytest.mark.slow


def call(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_serve_runs_everything_evaluates_an_event_and_stops_cleanly(env, factory, intake_token, tmp_path):
    """Also what the terminal shows (issue 21 point 11): the children's logs go to <instance>/logs, and once the web
    answers, the last lines are the address, the demo logins and tokens, and where the logs are."""
    port = free_port()
    (tmp_path / "demo_credentials.txt").write_text(credentials_text(factory.demo), encoding="utf-8")
    run_env = {**os.environ, **env, "CIVICRULES_INSTANCE": str(tmp_path)}
    embedded = not os.environ.get("REDIS_URL")
    if embedded:
        run_env.pop("REDIS_URL", None)
    log = tmp_path / "serve.log"  # a file, not a pipe: a pipe nobody reads fills up and blocks the server's writes
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT, env=run_env,
                                stdout=sink, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        def evaluated(event_id: int) -> dict | None:
            data = call("GET", f"{base}/api/v1/events/{event_id}", intake_token)[1]
            return data if data.get("status") == "evaluated" else None

        wait_for(healthy, 120, "serve to answer /healthz", every=0.2)  # 2 shared cores can be busy
        summary = wait_for(lambda: _summary(log.read_text()), 30, "the summary once the web answers")
        assert summary[0] == f"CivicRules is running at {base}/" and summary[-1] == "Ctrl-C stops everything."
        assert any(line.split() == ["admin", "系统管理员", "(admin)"] for line in summary)
        assert any(line.split()[-1] == factory.demo["tokens"]["hotline-12345"] for line in summary)
        assert f"Logs: {tmp_path / 'logs'}/ (web.log, worker.log" in summary[-2]
        assert log.read_text().rstrip().endswith("Ctrl-C stops everything.")  # nothing after it
        status, warm = call("POST", f"{base}/api/v1/events", intake_token, event("06029", "XC-04", hour=23))
        assert status == 202, warm
        wait_for(lambda: evaluated(warm["id"]), 60, "a first event evaluated (the worker is listening)")
        posted = time.monotonic()
        status, body = call("POST", f"{base}/api/v1/events", intake_token, event("06029", "XC-04", hour=23))
        assert status == 202, body
        data = wait_for(lambda: evaluated(body["id"]), 60, "the event evaluated", every=0.05)
        latency = time.monotonic() - posted
        print(f"posted -> evaluated through serve: {latency:.3f} s (product promise: 2 s)")
        task = next(t for t in data["tasks"] if t["unit"]["code"] == "JD-XC")
        assert task["limit"] == {"value": 2.0, "unit": "urgent_hours", "text": "2 小时（连续计时）"} and task["list"] == "zero_tolerance"
        firing = next(f for f in data["firings"] if f["rule"] == "zero_tolerance.zt4" and f["phase"] != "intake")
        assert firing["matched"][0]["actual"] == "06029" and firing["task"] == task["id"]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the supervisor alone: it must stop its children
        proc.wait(timeout=60)
        output = log.read_text()
        print(output[-20000:])  # shown when the test fails
    assert proc.returncode == 0, output
    assert "CivicRules stopped" in output
    assert "GET /healthz" not in output and "GET /healthz" in (tmp_path / "logs" / "web.log").read_text()
    assert "Listening at" in (tmp_path / "logs" / "web.log").read_text() and "Listening at" not in output
    assert (tmp_path / "logs" / "worker.log").stat().st_size > 0
    if embedded:
        leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "redis.sock")], capture_output=True, text=True)
        assert leftover.stdout.strip() == "", "a redis-server was left running"


def _summary(output: str) -> list[str] | None:
    """The lines from "CivicRules is running at" to "Ctrl-C stops everything.", once both are printed."""
    lines = output.splitlines()
    start = next((n for n, line in enumerate(lines) if line.startswith("CivicRules is running at")), None)
    end = next((n for n, line in enumerate(lines) if line == "Ctrl-C stops everything."), None)
    return lines[start:end + 1] if start is not None and end is not None else None


def _children(pid: int) -> dict[int, str]:
    """The live processes whose parent is `pid`, with their command lines."""
    found = {}
    for stat in os.scandir("/proc"):
        if not stat.name.isdigit():
            continue
        try:
            with open(f"/proc/{stat.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{stat.name}/cmdline", "rb") as f:
                args = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(stat.name)] = args
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_workers_scheduler_does_not_outlive_serve(env, factory, tmp_path):
    """SIGKILL reaches the worker only; the RQ scheduler it forked must still stop when serve stops."""
    port = free_port()
    # The test run's Redis, which outlives serve as a production Redis does (an embedded one, stopped last, would
    # end the orphan by closing its connection); a queue prefix of its own, so the scheduler's locks are free.
    run_env = {**os.environ, **env, "CIVICRULES_INSTANCE": str(tmp_path),
               "CIVICRULES_QUEUE_PREFIX": f"serve-{tmp_path.name}-{os.getpid()}"}
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT, env=run_env,
                                stdout=sink, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    scheduler = None
    try:
        def worker() -> int | None:
            assert proc.poll() is None, log.read_text()
            return next((pid for pid, args in _children(proc.pid).items()
                         if "app.cli worker --queues evaluate" in args), None)  # the one with the scheduler

        first = wait_for(worker, 60, "the evaluation worker started by serve", every=0.2)
        scheduler = wait_for(lambda: next(iter(_children(first)), None), 60, "the worker's scheduler process",
                             every=0.2)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: (worker() or first) != first, 60, "serve restarting the worker", every=0.2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
        output = log.read_text()
        print(output[-20000:])
    left = scheduler is not None and _alive(scheduler)
    if left:
        os.kill(scheduler, signal.SIGKILL)  # not left behind by a failing run
    assert proc.returncode == 0 and "CivicRules stopped" in output
    assert scheduler is not None and not left, "the killed worker's scheduler outlived serve"
