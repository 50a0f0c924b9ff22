"""The Content-Security-Policy in a real browser: our pages, the API docs, the admin and the queue
dashboard work under it, with no violation reported, and the admin's inline handlers (bulk actions) still run."""
from __future__ import annotations

import pytest

from tests.helpers import WATCH, bearer, event

pytestmark = pytest.mark.slow


def test_pages_admin_and_dashboard_run_under_the_policy(live_server, browser, client, intake_token, drain, settings):
    client.post("/api/v1/events", json=event("06029", "DC-03", hour=23), headers=bearer(intake_token))
    drain()
    violations: list[str] = []
    page = browser.new_page(locale="en-US")
    page.add_init_script(WATCH)
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    def visit(path: str) -> None:
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        violations.extend(page.evaluate("window.__csp"))

    visit("/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "civicrules-demo")
    page.click("button[type=submit]")
    for path in ("/", "/tasks", "/supervision", "/admin/", "/admin/holiday/new/", "/admin/failed_delivery/",
                 "/admin/zones/"):  # Leaflet and Leaflet.draw, served by the app
        visit(path)
    visit("/tasks")
    page.locator("main a[href^='/tasks/']").first.click()  # a task page with its form and countdown
    page.wait_for_load_state("networkidle")
    violations.extend(page.evaluate("window.__csp"))

    visit("/api/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=10_000)  # Swagger UI started from a file, no inline script
    violations.extend(page.evaluate("window.__csp"))

    visit("/rq/")
    page.wait_for_selector(f"text={settings.queues.prefix}-evaluate", timeout=10_000)  # drawn by inline script
    violations.extend(page.evaluate("window.__csp"))
    page = browser.new_page(locale="en-US")  # tokens are the security administrator's (三员分立)
    page.add_init_script(WATCH)
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    visit("/login")
    page.fill("input[name=username]", "security_admin")
    page.fill("input[name=password]", "civicrules-demo")
    page.click("button[type=submit]")
    visit("/admin/token/")
    page.locator("input.action-checkbox").first.check()
    page.locator("a.dropdown-toggle", has_text="With selected").click()
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.locator("a.dropdown-item", has_text="Revoke").click()  # an inline onclick handler of Flask-Admin
    page.wait_for_timeout(300)
    assert asked and "Revoke the selected tokens" in asked[0]

    assert not violations, violations
