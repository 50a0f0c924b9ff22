"""Small helpers shared by the tests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, TypeVar
from zoneinfo import ZoneInfo

from engine.core import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent
RUN_ID = uuid.uuid4().hex[:8]
#: Figures a test wants in the CI log (request counts, totals after a fault): printed after the run.
REPORT: list[str] = []
#: A page script that collects Content Security Policy violations in window.__csp.
WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));"""


def unique(prefix: str = "ev") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, what: str = "the condition", every: float = 0.05) -> T:
    """Poll until `predicate` returns something truthy and return it; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(every)


def local_time(hour: int, days_ago: int = 1) -> str:
    """An ISO timestamp at a given Shanghai hour, `days_ago` days before the (injected) clock's today."""
    day = (clock.now() - timedelta(days=days_ago)).astimezone(SHANGHAI).date()
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI).isoformat()


def event(category: str = "06029", grid: str = "DC-01", hour: int = 23, **extra) -> dict:
    body = {"source_event_id": unique(), "category": category, "grid": grid, "occurred_at": local_time(hour),
            "description": "测试事件"}
    body.update(extra)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str = "civicrules-demo"):
    """Log in through the real form, CSRF token included."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def csrf_from(html: str) -> str:
    import re

    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def jpeg(taken_at: datetime | None = None, gps: tuple[float, float] | None = None, size: int = 64) -> bytes:
    """A real JPEG made with Pillow, with EXIF time (camera local time) and GPS position if given."""
    import io

    from PIL import Image

    image = Image.new("RGB", (size, size), (200, 80, 40))
    exif = Image.Exif()
    if taken_at is not None:
        exif.get_ifd(0x8769)[0x9003] = taken_at.astimezone(SHANGHAI).strftime("%Y:%m:%d %H:%M:%S")
    if gps is not None:
        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            degrees, minutes = int(value), int((abs(value) - int(value)) * 60)
            return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))
        exif.get_ifd(0x8825).update({1: "N" if gps[0] >= 0 else "S", 2: dms(gps[0]),
                                     3: "E" if gps[1] >= 0 else "W", 4: dms(gps[1])})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload_photo(client, token: str, task_id: int, data: bytes | None = None, field: str = "photos",
                 stage: str = "after", name: str = "photo.jpg", lang: str = "en"):
    import io

    return client.post(f"/api/v1/tasks/{task_id}/evidence", data={
        "field": field, "stage": stage, "file": (io.BytesIO(jpeg() if data is None else data), name)},
        headers={**bearer(token), "Accept-Language": lang}, content_type="multipart/form-data")


def browser_login(page, base: str, username: str = "admin", password: str = "civicrules-demo") -> None:
    """Sign in through the real login form in a Playwright page."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def user_token(client, username: str, password: str = "civicrules-demo") -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict, *args: str, entry: str = "app.cli", **extra: str) -> subprocess.Popen:
    """`civicrules <args>` (or a test entry point's) in a process group of its own, with the test run's environment."""
    return subprocess.Popen([sys.executable, "-m", entry, *args], cwd=ROOT,
                            env={**os.environ, **env, "CIVICRULES_LEASE_SECONDS": "3", **extra},
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a process started by `start`; a warm shutdown that outlasts a minute on a loaded machine is cut short."""
    if proc.poll() is None:
        if sig == signal.SIGKILL:  # RQ's work-horse has a process group of its own: kill it first
            subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
