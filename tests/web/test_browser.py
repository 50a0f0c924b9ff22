"""A real browser (Debian's chromium through Playwright) logs in as a field unit on a phone-sized
screen and sees its tasks in Chinese. Skipped, with the reason, where chromium is not installed."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.helpers import bearer, event

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not shutil.which("chromium"),
                                reason="Debian's chromium is not installed (apt-get install chromium)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-dev-shm-usage", "--disable-quic", "--disable-sync"]


@pytest.fixture()
def live_server(app):
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_field_unit_logs_in_on_a_phone_and_sees_its_tasks_in_chinese(live_server, client, intake_token, drain,
                                                                      tmp_path):
    from playwright.sync_api import sync_playwright

    client.post("/api/v1/events", json=event("06029", "DC-04", hour=23), headers=bearer(intake_token))
    drain()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 740}, locale="zh-CN")
        page.goto(f"{live_server}/tasks")
        assert "/login" in page.url
        assert page.locator("h1").inner_text() == "登录"
        page.fill("input[name=username]", "dongcheng")
        page.fill("input[name=password]", "civicrules-demo")
        page.click("button[type=submit]")
        page.goto(f"{live_server}/tasks")
        assert page.locator("h1").inner_text() == "任务"
        rows = page.locator(".task-row")
        assert rows.count() >= 1
        assert "露天烧烤" in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
        page.locator(".task-row a").first.click()
        assert "任务由来" in page.content()
        page.screenshot(path=str(tmp_path / "task-360.png"), full_page=True)
        browser.close()
