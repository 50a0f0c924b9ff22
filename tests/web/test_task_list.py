"""The task list's search, filters and pages (issue 17): 50 tasks a page with the total and page links instead of
the first 200; search by task or case number, address and description; filters by state, category, unit, list and
overdue; a field unit never sees, finds or counts another unit's task; a bad filter is named next to its field."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, insert, select

from engine.core import clock
from engine.core.models import Event, Task, Unit
from engine.core.states import TERMINAL
from engine.people.staff import unit_and_below
from tests.helpers import bearer, event, unique


def rows(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="task-row[^"]*">\s*<span class="light"[^>]*></span>\s*'
                                       r'<a href="/tasks/(\d+)"', page)]


def reported(client, drain, intake_token, grid: str, **extra) -> Event:
    answer = client.post("/api/v1/events", json=event("06029", grid, hour=23, **extra), headers=bearer(intake_token))
    assert answer.status_code == 202, answer.get_json()
    drain()
    return answer.get_json()["id"]


def copies(session, task_id: int, n: int) -> None:
    """`n` more open tasks like this one (its reopenings, so the unique key holds), deadlines an hour apart."""
    task = session.get(Task, task_id)
    columns = {c.key: getattr(task, c.key) for c in Task.__table__.columns if c.key != "id"}
    session.execute(insert(Task), [{**columns, "reopening": 100 + i, "status": "dispatched",
                                    "deadline_at": task.deadline_at + timedelta(hours=i + 1)} for i in range(n)])
    session.commit()


def test_pages_of_fifty_with_the_total_and_links(client, login, session, intake_token, drain):
    event_id = reported(client, drain, intake_token, "DC-02")
    task = session.scalar(select(Task).where(Task.event_id == event_id).order_by(Task.id))
    copies(session, task.id, 120)
    expected = session.scalar(select(func.count()).select_from(Task).where(  # the unit and those under it
        Task.unit_id.in_(unit_and_below(session, task.unit_id)), Task.status.not_in(TERMINAL)))
    login(client, "admin")
    page = client.get(f"/tasks?unit={task.unit_id}").get_data(as_text=True)
    pages = -(-expected // 50)
    assert f"{expected} 个任务，第 1/{pages} 页" in page or f"{expected} tasks, page 1 of {pages}" in page
    first = rows(page)
    assert len(first) == 50 and 'rel="next"' in page and f"page={pages}" in page
    last = client.get(f"/tasks?unit={task.unit_id}&page={pages}").get_data(as_text=True)
    assert len(rows(last)) == expected - 50 * (pages - 1) and 'rel="next"' not in last
    assert not set(first) & set(rows(last))
    deadlines = [session.get(Task, i).deadline_at for i in first]
    assert deadlines == sorted(deadlines)  # by deadline
    beyond = client.get(f"/tasks?unit={task.unit_id}&page=9999").get_data(as_text=True)
    assert rows(beyond) == rows(last)  # past the end: the last page


def test_search_by_number_address_and_description(client, login, session, intake_token, drain):
    mark = unique("门牌")
    event_id = reported(client, drain, intake_token, "DC-01", address=f"解放路 {mark} 号", description="烧烤摊占道")
    task = session.scalar(select(Task).where(Task.event_id == event_id).order_by(Task.id))
    login(client, "admin")
    for q in (mark, f"#{task.id}", str(task.case_id), "烧烤摊占道"):
        found = rows(client.get("/tasks", query_string={"q": q, "state": "all"}).get_data(as_text=True))
        assert task.id in found, q
    nothing = client.get("/tasks", query_string={"q": unique("无此地址")}).get_data(as_text=True)
    assert rows(nothing) == [] and "0 个任务" in nothing
    wildcard = client.get("/tasks", query_string={"q": "%"}).get_data(as_text=True)
    assert task.id not in rows(wildcard)  # a % is searched for, not a wildcard


def test_filters_by_list_category_and_overdue(client, login, session, intake_token, drain):
    mark = unique("西城路")  # the search keeps the check to this report's tasks
    event_id = reported(client, drain, intake_token, "XC-01", address=mark)
    tasks = list(session.scalars(select(Task).where(Task.event_id == event_id)))
    login(client, "admin")
    for kind in ("zero_tolerance", "strict_management", "none"):
        shown = rows(client.get("/tasks", query_string={"list": kind, "q": mark}).get_data(as_text=True))
        expected = [t.id for t in tasks if (t.list_kind == kind) or (kind == "none" and t.list_kind not in (
            "zero_tolerance", "strict_management"))]
        assert sorted(shown) == sorted(expected), kind
    assert rows(client.get("/tasks", query_string={"category": "06030", "q": mark}).get_data(as_text=True)) == []
    clock.set_clock(lambda: max(t.deadline_at for t in tasks) + timedelta(minutes=1))
    late = rows(client.get("/tasks", query_string={"overdue": "1", "q": mark}).get_data(as_text=True))
    assert sorted(late) == sorted(t.id for t in tasks if t.status not in TERMINAL)


def test_a_field_unit_never_sees_or_counts_another_units_task(client, login, session, intake_token, drain):
    mark = unique("西城")
    event_id = reported(client, drain, intake_token, "XC-02", address=mark)
    other = session.scalar(select(Task).where(Task.event_id == event_id).order_by(Task.id))
    login(client, "dongcheng")
    for query in ({"q": mark}, {"q": f"#{other.id}"}, {"q": mark, "unit": str(other.unit_id)},
                  {"q": "", "unit": str(other.unit_id), "state": "all"}):
        page = client.get("/tasks", query_string=query).get_data(as_text=True)
        assert other.id not in rows(page), query
        assert "0 个任务" in page or query["q"].startswith("#"), query  # "#n" also finds its own case n
    page = client.get("/tasks").get_data(as_text=True)
    xicheng = session.scalar(select(Unit.name_zh).where(Unit.id == other.unit_id))
    assert f">{xicheng}</option>" not in page  # the unit filter offers only its own units


def test_a_bad_filter_is_shown_next_to_its_field_in_both_languages(client, login):
    login(client, "dispatcher")
    page = client.get("/tasks?category=ZZZ&list=weird").get_data(as_text=True)
    assert 'data-problem="category">没有类别 ZZZ。' in page and 'data-problem="list">清单只能是' in page
    assert rows(page) == []
    english = client.get("/tasks?category=ZZZ", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-problem="category">No category ZZZ.' in english


def test_a_superscript_digit_searches_as_text_and_picks_no_unit(client, login):
    """'²' passes str.isdigit() but not int(): the search and the unit filter read it as text, never a 500."""
    login(client, "admin")
    assert client.get("/tasks?q=²").status_code == 200
    assert client.get("/tasks?q=%23²").status_code == 200
    assert client.get("/tasks?unit=²").status_code in (200, 422)
    assert client.get("/command/state?zoom=²").status_code == 200
