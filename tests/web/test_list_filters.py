"""Every filter of every list (issue 21 point 10): each list page is requested with each of its filters, as a role
allowed to see it, and must answer 200 without refusing the value; the meaningful filters must narrow the list to
what they name (overdue shows only overdue tasks, a state only tasks in it). /tasks?overdue=1 once answered 500."""
from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Campaign, Category, Event, Grid, Task, Unit
from engine.core.states import TERMINAL, TaskStatus
from engine.handling.task_list import LISTS, STATE_CHOICES
from engine.people.staff import unit_and_below
from engine.supervision.board import LEVELS
from tests.helpers import bearer, event
from tests.web.test_authz_matrix import ACCESS_VIEWS, ACCOUNTS, MODEL_VIEWS, policy_for
from web.case_pages import QUEUES

ROW = re.compile(r'<li class="task-row[^"]*">\s*<span class="light"[^>]*></span>\s*<a href="/tasks/(\d+)"')
TOTAL = re.compile(r"(\d+) 个任务|(\d+) tasks?, page")

#: (path, query) for every filter of every web list page; "{campaign}", "{unit}", "{grid}" are filled in.
WEB_FILTERS: list[tuple[str, dict[str, str]]] = [
    *[("/tasks", {"state": str(s)}) for s in STATE_CHOICES],
    *[("/tasks", {"list": k}) for k in LISTS],
    ("/tasks", {"overdue": "1"}), ("/tasks", {"overdue": "1", "state": "all"}), ("/tasks", {"q": "解放路"}),
    ("/tasks", {"category": "06029"}), ("/tasks", {"unit": "{unit}"}), ("/tasks", {"mine": "1"}),
    ("/tasks", {"mine": "0"}), ("/tasks", {"page": "2"}),
    ("/tasks", {"overdue": "1", "list": "none", "category": "06029", "unit": "{unit}", "q": "路", "state": "all"}),
    *[("/cases", {"queue": q}) for q in QUEUES],
    ("/inbox", {"unread": "1"}), ("/inbox", {"unread": "0", "page": "1"}),
    ("/holders", {"repeat": "1"}),
    *[("/supervision", {"tier": str(t)}) for t in LEVELS],
    ("/inspection/coverage", {"campaign": "{campaign}"}), ("/inspection/coverage", {"week": "{week}"}),
    ("/plan", {"campaign": "{campaign}"}), ("/plan/report", {"campaign": "{campaign}", "month": "{month}"}),
    ("/assessment/", {"campaign": "{campaign}"}),
    ("/assessment/sanction-records/", {"campaign": "{campaign}"}),
    ("/assessment/sanction-records/", {"campaign": "{campaign}", "period": "{month}"}),
    *[("/admin/history/", {name: "{%s}" % value}) for name, value in (
        ("campaign_id", "campaign_id"), ("unit_id", "unit"), ("category_id", "category_id"), ("grid_id", "grid_id"),
        ("since", "day"), ("until", "day"))],
    *[("/admin/history/", {name: value}) for name, value in (
        ("rule", "zt-road-occupation"), ("rule_version", "1"), ("ruleset_version_id", "1"), ("list", "zero_tolerance"),
        ("outcome", "task"), ("outcome", "none"), ("outcome", "superseded"))],
    *[("/admin/changes/", {name: value}) for name, value in (
        ("object_type", "unit"), ("user", "admin"), ("interface", "admin"), ("interface", "cli"),
        ("since", "{day}"), ("until", "{day}"))],
    ("/admin/roster/", {"unit": "{unit}"}), ("/admin/roster/", {"week": "{day}"}),
]
#: A case queue is read by a role it belongs to; the supervision board's ?tier= by the administrator.
READER = {"/cases?queue=file": "shift_leader", "/cases?queue=close": "shift_leader",
          "/cases?queue=revisit": "shift_leader", "/cases?queue=verify": "collector"}


@pytest.fixture()
def filled(session, client, drain, intake_token) -> dict[str, str]:
    """Two reports (so tasks exist in two units) and the clock moved past their deadlines, so some are overdue."""
    for grid in ("DC-01", "XC-01"):
        answer = client.post("/api/v1/events", json=event("06029", grid, hour=23, address="解放路 1 号"),
                             headers=bearer(intake_token))
        assert answer.status_code == 202, answer.get_json()
    drain()
    latest = session.scalar(select(func.max(Task.deadline_at)))
    clock.set_clock(lambda: latest + timedelta(minutes=1))
    campaign = session.scalar(select(Campaign).order_by(Campaign.id))
    local = clock.now().astimezone(ZoneInfo(campaign.timezone))
    iso = local.isocalendar()
    return {"campaign": campaign.code, "campaign_id": str(campaign.id),
            "unit": str(session.scalar(select(Unit.id).where(Unit.code == "JD-DC"))),
            "category_id": str(session.scalar(select(Category.id).where(Category.code == "06029"))),
            "grid_id": str(session.scalar(select(Grid.id).where(Grid.code == "DC-01"))),
            "week": f"{iso.year}-W{iso.week:02d}", "month": local.strftime("%Y-%m"), "day": local.date().isoformat()}


def _reader(app, path: str, query: dict[str, str]) -> str:
    """The demo account of a role the authorisation matrix lets through to this page."""
    if path == "/cases":
        return READER[f"/cases?queue={query['queue']}"]
    if path == "/supervision":
        return "admin"
    endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    allowed = policy_for(endpoint) or frozenset()
    for role in ("admin", "dispatcher", "supervisor", "assessor", "auditor", "shift_leader", "field_unit"):
        if role in allowed:
            return ACCOUNTS[role]
    raise AssertionError(f"no demo account may read {path} ({endpoint})")


def _shown(page: str) -> list[int]:
    return [int(n) for n in ROW.findall(page)]


def _total(page: str) -> int:
    found = TOTAL.search(page)
    assert found, "the task list names its total"
    return int(found.group(1) or found.group(2))


@pytest.mark.parametrize(("path", "query"), WEB_FILTERS, ids=[f"{p}?{'&'.join(q)}" for p, q in WEB_FILTERS])
def test_every_web_list_filter_answers(app, client, login, session, filled, path, query):
    asked = {k: v.format(**filled) for k, v in query.items()}
    login(client, _reader(app, path, asked))
    answer = client.get(path, query_string=asked)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200, (path, asked, page[:500])
    assert "data-problem=" not in page and 'aria-invalid="true"' not in page, (path, asked)
    if path != "/tasks":
        return
    now = clock.now()
    tasks = [session.get(Task, i) for i in _shown(page)]
    if asked.get("overdue"):
        assert tasks, "tasks past their deadline are listed"
        assert all(t.deadline_at < now and t.status not in (*TERMINAL, TaskStatus.PARKED) for t in tasks)
        overdue = session.scalar(select(func.count()).select_from(Task).where(
            Task.deadline_at < now, Task.status.not_in([*TERMINAL, TaskStatus.PARKED]),
            *([Task.unit_id.in_(unit_and_below(session, int(asked["unit"])))] if "unit" in asked else [])))
        assert _total(page) <= overdue and ("unit" in asked or _total(page) == overdue)
    if asked.get("state") == "closed":
        assert all(t.status in TERMINAL for t in tasks)
    elif asked.get("state") in (None, "open"):
        assert all(t.status not in TERMINAL for t in tasks)
    elif asked["state"] not in ("all", "closed"):
        assert all(t.status == asked["state"] for t in tasks)
    if asked.get("list") in ("zero_tolerance", "strict_management"):
        assert all(t.list_kind == asked["list"] for t in tasks)
    if "category" in asked:
        assert tasks and all(t.event.category.code == asked["category"] for t in tasks)
    if "unit" in asked:
        below = unit_and_below(session, int(asked["unit"]))
        assert tasks and all(t.unit_id in below for t in tasks)


def _listed(page: str) -> int:
    """The count Flask-Admin shows on the List tab ("列表 (12)" / "List (12)")."""
    found = re.search(r'class="nav-link active">(?:List|列表)(?: \((\d+)\))?</a>', page)
    assert found, "no List tab on the page: the narrowing below could not be checked"
    return int(found.group(1) or 0)  # Flask-Admin leaves the count out when it is 0


@pytest.mark.parametrize("endpoint", MODEL_VIEWS + ACCESS_VIEWS + ("security_audit",))
def test_every_admin_list_filter_answers_and_narrows(app, client, login, filled, endpoint):
    """Each Flask-Admin column filter with a value it accepts (its first option, else a typed sample): 200, the
    value taken (no "Invalid filter value"), and never more rows than the unfiltered list."""
    view = next(v for admin in app.extensions["admin"] for v in admin._views if v.endpoint == endpoint)
    role = next(r for r in ("admin", "security_admin", "audit_admin") if r in policy_for(f"{endpoint}.index_view"))
    login(client, ACCOUNTS[role])
    with app.test_request_context():
        everything = _listed(client.get(view.get_url(f"{view.endpoint}.index_view")).get_data(as_text=True))
        requested = []
        for index, flt in enumerate(view._filters or []):
            options = list(flt.get_options(view) or [])
            samples = [str(options[0][0])] if options else ["1", "a", filled["day"], f"{filled['day']} 00:00:00",
                                                               f"{filled['day']} to {filled['day']}"]
            value = next((s for s in samples if flt.validate(s)), None)
            assert value is not None, (endpoint, flt.name)
            requested.append((flt, view.get_url(f"{view.endpoint}.index_view", **{f"flt0_{view.get_filter_arg(index, flt)}": value})))
    for flt, url in requested:
        answer = client.get(url)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200, (url, page[:500])
        assert "Invalid Filter Value" not in page and "无效的过滤值" not in page, url
        assert _listed(page) <= everything, url


def test_an_admin_status_filter_lists_only_that_status(app, client, login, session, filled):
    """The event list's status filter: exactly the events in that status."""
    view = next(v for admin in app.extensions["admin"] for v in admin._views if v.endpoint == "event")
    login(client, "admin")
    status = session.scalar(select(Event.status).limit(1))
    with app.test_request_context():
        index = next(i for i, f in enumerate(view._filters) if "status" in str(f.column) and f.validate(status)
                     and f.operation() in ("equals", "等于"))
        url = view.get_url(f"{view.endpoint}.index_view", **{f"flt0_{view.get_filter_arg(index, view._filters[index])}": status})
    expected = session.scalar(select(func.count()).select_from(Event).where(Event.status == status))
    assert expected > 0
    assert _listed(client.get(url).get_data(as_text=True)) == expected
