"""Each role's main path in Chinese, in a real browser (Debian's chromium through Playwright), at the width that role
works at: every page answers, shows local time (no UTC offset, no ISO `T`, no microseconds), names where internal
codes would otherwise show, and never scrolls sideways. Screenshots go to test-artifacts/role-walks/."""
from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest

from tests.helpers import upload_photo, user_token
from tests.web.test_role_pages import act, placed_task, to_handling

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}

#: What must never reach a reader's eyes: UTC offsets, ISO times, microseconds, internal statuses and rule keys.
LEAKS = {
    "a UTC offset": re.compile(r"\+00:00|\bUTC\b"),
    "an ISO time": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d"),
    "microseconds": re.compile(r"\d\d:\d\d:\d\d\.\d{3,6}"),
    "an internal status": re.compile(r"\b(ext_requested|park_requested|void_requested|submitted|dispatched|"
                                     r"in_progress|awaiting_dispatch|signed)\b"),
    "a rule key": re.compile(r"\b(zero_tolerance|strict_management)\.(zt|sm)\d+\b"),
}

WALKS = {
    "admin": (DESKTOP, ["/", "/tasks", "/cases", "/admin/", "/admin/task/", "/admin/event/", "/admin/changes/"]),
    "dispatcher": (DESKTOP, ["/", "/dispatch", "/cases", "/tasks", "/tasks/{task}"]),
    "checker": (DESKTOP, ["/", "/check", "/tasks/{task}"]),
    "dongcheng": (PHONE, ["/", "/tasks", "/tasks/{task}", "/inbox"]),
    "supervisor": (DESKTOP, ["/", "/supervision", "/command", "/tasks"]),
    "auditor": (DESKTOP, ["/", "/tasks/{task}", "/assessment/", "/admin/history/"]),
}
#: The roles that write or audit the rules read their keys beside their titles; everyone else sees titles only.
KEYS_READ = {"admin", "auditor"}
SPOTS = itertools.count(40)  # each test's task at its own point, so no report joins another test's case


@pytest.fixture
def submitted_task(client, login, factory, drain, session) -> int:
    """A task the unit has handled and submitted, with before/after photos, then failed once by the checker and
    submitted again: every role has something on its queue."""
    task = placed_task(factory, drain, session, stall=True, spot=next(SPOTS))
    to_handling(client, login, session, task.id)
    unit = user_token(client, "dongcheng")
    for stage in ("before", "after"):
        assert upload_photo(client, unit, task.id, field="scene", stage=stage).status_code == 201
    assert act(client, session, task.id, "submit", outcome="removed", told="y", checklist=["0"],
               result="摊点已清走，现场已恢复整洁").status_code == 302
    return task.id


@pytest.mark.parametrize("username", sorted(WALKS))
def test_each_role_walks_its_pages_in_chinese_in_local_time_and_without_sideways_scroll(
        username, submitted_task, live_server, browser, browser_login, tmp_path):
    viewport, paths = WALKS[username]
    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "role-walks"
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    browser_login(page, live_server, username)
    problems = []
    for path in (p.format(task=submitted_task) for p in paths):
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200, (username, path, response and response.status)
        page.wait_for_load_state("load")
        name = re.sub(r"\W+", "-", path).strip("-") or "home"
        page.screenshot(path=str(shots / f"{username}-{viewport['width']}-{name}.png"), full_page=True)
        text = page.inner_text("body")
        for what, pattern in LEAKS.items():
            if what == "a rule key" and username in KEYS_READ:
                continue
            found = pattern.search(text)
            if found:
                start = max(0, found.start() - 40)
                problems.append(f"{path}: {what} {found.group(0)!r} in …{text[start:found.end() + 40]!r}…")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > viewport["width"] + 1:
            problems.append(f"{path}: {width} px wide at a {viewport['width']} px window (sideways scroll)")
        assert "<html" not in text and re.search(r"[\u4e00-\u9fff]", text), (path, "no Chinese on the page")
    assert not problems, f"{username}:\n" + "\n".join(problems)
