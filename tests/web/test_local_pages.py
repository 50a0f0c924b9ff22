"""Every role's pages in the campaign's local time and in words: a task created at 17:30 UTC on 12 May shows as
01:30 on 13 May in Asia/Shanghai, with no microseconds and no raw status codes, durations in hours and minutes,
and a home page that names the role and counts its work with links to the queues."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.models import Campaign, Event, Supervision, User
from engine.supervision.board import tier_for
from tests.helpers import bearer, csrf_from, event

CREATED = datetime(2026, 5, 12, 17, 30, 12, 345678, tzinfo=timezone.utc)
RAW = re.compile(r"(?<![\w-])(ext_requested|submitted|dispatched)(?![\w-])")


def visible_text(html: str) -> str:
    """What a reader sees: no tags, attributes, scripts, styles or hidden data (the admin's filter JSON)."""
    html = re.sub(r"<(script|style)\b.*?</\1>|<div[^>]*(?:display: ?none|d-none)[^>]*>.*?</div>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture()
def task_id(client, session, drain, intake_token) -> int:
    """A real task of the demo campaign (Asia/Shanghai), moved to 12 May 17:30 UTC, submitted and on the
    supervisor's board."""
    event_id = client.post("/api/v1/events", json=event("06029", "DC-01", hour=23),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    session.expire_all()
    found = session.get(Event, event_id)
    task = next(t for t in found.tasks if t.list_kind == "zero_tolerance")
    assert session.get(Campaign, task.campaign_id).timezone == "Asia/Shanghai"
    found.occurred_at = found.received_at = CREATED
    task.created_at, task.deadline_at, task.status = CREATED, CREATED + timedelta(hours=2), "submitted"
    supervisor = session.scalar(select(User).where(User.username == "supervisor"))
    session.add(Supervision(task_id=task.id, tier_level=tier_for(session, supervisor), kind="order",
                            message="立即处置", created_at=CREATED))
    session.commit()
    clock.set_clock(lambda: CREATED + timedelta(hours=2, minutes=40))
    return task.id


def page(client, login, username: str, path: str) -> str:
    client.post("/logout")
    login(client, username)
    answer = client.get(path + ("&" if "?" in path else "?") + "lang=zh_Hans_CN")
    assert answer.status_code == 200, (username, path)
    return answer.get_data(as_text=True)


@pytest.mark.parametrize("username, path", [
    ("admin", "/admin/task/"), ("admin", "/admin/event/"), ("supervisor", "/supervision"),
    ("checker", "/check"), ("checker", "/"), ("auditor", "/admin/task/"),
])
def test_pages_show_the_campaigns_local_day_without_codes(client, login, task_id, username, path):
    html = page(client, login, username, path)
    text = visible_text(html)
    assert "2026-05-13 01:30" in text or "2026-05-13 03:30" in text, (username, path)
    assert "2026-05-12 17:30" not in text and "+00:00" not in text and ".345678" not in text
    raw = [text[max(0, m.start() - 60):m.end() + 20] for m in RAW.finditer(text)]
    assert not raw, (username, path, raw)


def test_the_supervision_board_says_overdue_in_minutes(client, login, task_id):
    text = visible_text(page(client, login, "supervisor", "/supervision"))
    assert "已超期 40 分钟" in text and "0.6 小时" not in text and "UTC" not in text
    assert "待核查" in text and "督办" in text  # the status and how it got here, by name


def test_the_admin_task_list_names_status_list_and_rule(client, login, task_id):
    text = visible_text(page(client, login, "admin", "/admin/task/"))
    assert "待核查" in text and "零容忍清单" in text
    assert re.search(r"[\u4e00-\u9fff][^()]*\(zero_tolerance\.\w+\)", text)  # the rule's title, its key after it


def test_the_task_list_counts_down_in_hours_and_minutes(client, login, task_id):
    html = page(client, login, "admin", f"/tasks?q={task_id}")
    shown = re.findall(r'class="countdown".*?>\s*(剩余|超期)\s+([^<]+?)\s*</span>', html, flags=re.S)
    assert shown and all(re.fullmatch(r"\d+ 分钟|\d+ 小时( \d+ 分)?", span) for _word, span in shown), shown
    assert 'data-hours-minutes="{h} 小时 {m} 分"' in html  # the same wording once the page ticks on


@pytest.mark.parametrize("span, zh, en", [
    (timedelta(minutes=2), "2 分钟", "2 min"), (timedelta(minutes=59, seconds=59), "59 分钟", "59 min"),
    (timedelta(hours=3), "3 小时", "3 h"), (timedelta(hours=50, minutes=51), "50 小时 51 分", "50 h 51 min"),
    (-timedelta(minutes=5), "5 分钟", "5 min"),
])
def test_a_duration_is_hours_and_minutes(app, span, zh, en):
    from web.common.display import duration

    for lang, expected in (("zh_Hans_CN", zh), ("en", en)):
        with app.test_request_context(f"/?lang={lang}"):
            assert duration(span) == expected


def test_an_instant_without_a_campaign_uses_the_instance_zone(app, monkeypatch):
    from web.common.display import local_time

    with app.test_request_context("/"):
        assert local_time(CREATED) == "2026-05-13 01:30"
        assert local_time(CREATED.replace(tzinfo=None)) == "2026-05-13 01:30"  # naive: stored UTC
        monkeypatch.setenv("CIVICRULES_TIME_ZONE", "Europe/London")
        assert local_time(CREATED) == "2026-05-12 18:30"


@pytest.mark.parametrize("username, role, work", [
    ("checker", "核查员", "work-to-check"), ("dispatcher", "派遣员", "work-to-dispatch"),
    ("supervisor", "督查员", "work-board"), ("dongcheng", "处置单位", "work-to-sign"),
    ("auditor", "审计员", "work-failed-events"), ("assessor", "考核员", "work-overdue"),
    ("collector", "监督员", "work-to-check"), ("shift_leader", "值班长", "work-to-dispatch"),
    ("admin", "系统管理员", "work-to-check"),
])
def test_the_home_page_names_the_role_and_counts_its_work(client, login, task_id, username, role, work):
    html = page(client, login, username, "/")
    assert role in visible_text(html)
    item = re.search(rf'<li id="{work}"><a href="([^"]+)">[^<]+</a>[^<]*<strong>(\d+)</strong>', html)
    assert item, (username, work)
    assert client.get(item.group(1).replace("&amp;", "&")).status_code == 200
    if username in ("checker", "collector", "supervisor"):
        assert int(item.group(2)) >= 1  # the submitted, escalated task waits for them


def menu_links(html: str) -> list[tuple[str, str]]:
    """(label, target) of the page's menu: the site's <nav> and the admin's menu entries."""
    menus = "".join(re.findall(r"<nav\b.*?</nav>|<header\b.*?</header>", html, flags=re.S))
    found = re.findall(r'<a\b[^>]*href="([^"#]+)"[^>]*>(.*?)</a>', menus, flags=re.S)
    return [(re.sub(r"<[^>]+>|\s+", " ", label).strip(), href.split("?")[0]) for href, label in found]


@pytest.mark.parametrize("username", ["admin", "auditor", "assessor", "supervisor", "dispatcher", "dongcheng",
                                      "collector", "shift_leader", "security_admin", "audit_admin"])
def test_no_menu_label_leads_to_two_pages(client, login, username):
    client.post("/logout")
    login(client, username)
    for path in ("/", "/admin/"):
        got = client.get(path + "?lang=zh_Hans_CN")
        if got.status_code != 200:
            continue
        seen: dict[str, str] = {}
        for label, target in menu_links(got.get_data(as_text=True)):
            assert seen.setdefault(label, target) == target, (username, path, label, target, seen[label])


@pytest.mark.parametrize("username", ["auditor", "assessor"])
def test_readers_get_a_link_to_what_they_may_read(client, login, username):
    html = page(client, login, username, "/")
    assert 'id="nav-admin"' in html
    assert client.get("/admin/task/").status_code == 200


def test_the_simulator_shows_local_deadlines_and_conditions_in_words(client, login, monkeypatch):
    """The engine worker's hop is replaced by the same call in this process; the page is the admin's own."""
    from admin import simulator
    from engine.authoring.simulate import simulate
    from web.common.extensions import db

    monkeypatch.setattr(simulator, "run", lambda body: (200, simulate(
        db.session, body.get("event"), body.get("event_id"), body["ruleset"], "zh")))
    clock.set_clock(lambda: CREATED)
    client.post("/logout")
    login(client, "admin")
    token = csrf_from(client.get("/admin/simulator/").get_data(as_text=True))
    html = client.post("/admin/simulator/?lang=zh_Hans_CN", data={
        "csrf_token": token, "category": "06029", "grid": "DC-01", "occurred_at": "2026-05-13T01:20", "source_type": "hotline"}
    ).get_data(as_text=True)
    text = visible_text(html)
    # the simulation runs at 01:30 local on 13 May (17:30 UTC on the 12th): a 2-hour limit ends at 03:30 local
    assert "2026-05-13 03:30" in text and "2026-05-12" not in text and " UTC" not in text
    assert "category in" not in text and "['06029']" not in text
    assert re.search(r"（06029）", text)  # the category by name, its code after it


@pytest.mark.parametrize("username, key_shown", [("dongcheng", False), ("checker", False), ("admin", True)])
def test_field_staff_read_the_rule_by_its_title(client, login, task_id, username, key_shown):
    text = visible_text(page(client, login, username, f"/tasks/{task_id}"))
    assert "露天移动或固定的各类烧烤" in text  # the rule's title, on every role's card
    assert bool(re.search(r"zero_tolerance\.zt\d", text)) is key_shown


def test_the_change_history_shows_stored_instants_locally(client, login):
    text = visible_text(page(client, login, "admin", "/admin/changes/"))
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text)  # when each change was made, to the second
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+|\+00:00", text)


def test_the_board_in_english_names_status_and_step(client, login, task_id):
    client.post("/logout")
    login(client, "supervisor")
    text = visible_text(client.get("/supervision?lang=en").get_data(as_text=True))
    assert "Overdue by 40 min" in text and "submitted, awaiting check" in text and "order handling" in text
    assert "2026-05-13 01:30" in text  # here since: the local day, never the UTC one
    assert "2026-05-12" not in text


def test_a_time_zone_setting_that_names_no_zone_is_refused(tmp_path):
    from engine.core.config import read_settings

    with pytest.raises(ValueError, match="CIVICRULES_TIME_ZONE"):
        read_settings({"CIVICRULES_INSTANCE": str(tmp_path), "CIVICRULES_TIME_ZONE": "Beijing"})
    assert read_settings({"CIVICRULES_INSTANCE": str(tmp_path)}).time_zone == "Asia/Shanghai"


def test_the_task_list_says_how_much_of_the_limit_is_used(client, login, session, task_id):
    """The traffic light's reason in words: 1 h 42 min into a 2-hour urgent limit is 85 % of it, by the clock."""
    from engine.core.models import Task

    def row(html: str) -> str:
        [found] = re.findall(rf'<li class="task-row[^>]*>\s*<span class="light"[^>]*></span>\s*'
                             rf'<a href="/tasks/{task_id}">.*?</li>', html, flags=re.S)
        return found

    task = session.get(Task, task_id)
    task.limit_unit = "urgent_hours"
    session.commit()
    clock.set_clock(lambda: CREATED + timedelta(hours=1, minutes=42))
    mine = row(page(client, login, "admin", f"/tasks?q={task_id}"))
    assert '<span class="share-used">已用时限 85%</span>' in mine and "light-yellow" in mine
    english = row(client.get(f"/tasks?q={task_id}&lang=en").get_data(as_text=True))
    assert '<span class="share-used">85% of the time limit used</span>' in english
    clock.set_clock(lambda: CREATED + timedelta(hours=2, minutes=40))  # overdue: the countdown says it, no share
    assert 'class="share-used"' not in row(page(client, login, "admin", f"/tasks?q={task_id}"))
