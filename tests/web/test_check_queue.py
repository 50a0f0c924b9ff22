"""The checker's queue (核查) with the check clock: each submitted lead task shows when its check falls due in the
campaign's local time and, once past it, by how many minutes it is late; the check that falls due first stands at
the top; the task API gives the due time with its offset."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.cases.cooperation import lead_task
from engine.core import clock
from engine.core.models import Event, Task, User
from engine.handling.tasks import apply
from tests.helpers import bearer, event, user_token

#: 10:00 in Beijing on a Thursday in June 2027, a month no other test submits in.
T = datetime(2027, 6, 10, 2, tzinfo=UTC)


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def report(client, patrol_token, drain, session, received: datetime) -> tuple[int, int]:
    """A patrol report of 店外经营 in DC-03 received at `received`: its id and its case's lead task's (东城's)."""
    clock.set_clock(lambda: received)
    body = event("09005", "DC-03", occurred_at=(received - timedelta(minutes=5)).isoformat())
    event_id = client.post("/api/v1/events", json=body, headers=bearer(patrol_token)).get_json()["id"]
    drain()
    task = lead_task(session.get(Event, event_id).case)
    assert task.unit.code == "JD-DC", task.unit.code
    return event_id, task.id


def submit(session, task_id: int, at: datetime) -> None:
    """东城 signs, starts and submits the task, the submission at `at`."""
    task, unit = session.get(Task, task_id), user(session, "dongcheng")
    for moment, action, comment in ((at - timedelta(minutes=2), "sign", ""), (at - timedelta(minutes=1), "start", ""),
                                    (at, "submit", "已劝离")):
        clock.set_clock(lambda moment=moment: moment)
        session.refresh(task)
        apply(session, task, action, unit, comment, None, expected_version=task.version)
    session.commit()


@pytest.fixture()
def waiting(client, patrol_token, drain, session):
    """Two lead tasks waiting for their check: the later report's, submitted at T (due at 10:30 Beijing time), and
    the earlier report's, whose deadline comes first, submitted at T + 40 min (due at 11:10)."""
    earlier = report(client, patrol_token, drain, session, T - timedelta(hours=3))
    later = report(client, patrol_token, drain, session, T - timedelta(hours=2))
    submit(session, later[1], T)
    submit(session, earlier[1], T + timedelta(minutes=40))
    return {"late": later, "on_time": earlier}


def rows(html: str) -> dict[int, str]:
    """The check queue's rows by task id, as text."""
    queue = re.search(r'<ul class="task-list" id="queue-tasks">(.*?)</ul>', html, re.DOTALL).group(1)
    return {int(task_id): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for task_id, row in re.findall(r'<li class="task-row[^"]*" id="task-(\d+)">(.*?)</li>', queue, re.DOTALL)}


@pytest.mark.parametrize("lang, after, due, late, marker", [
    ("zh-CN", 50, "核查时限 {}", "核查超时 20 分钟", "核查超时"),
    ("en", 50, "Check due {}", "check overdue by 20 minutes", "check overdue"),
    ("en", 31, "Check due {}", "check overdue by 1 minute", "check overdue"),
])
def test_the_checker_sees_when_each_check_falls_due_and_which_is_late(client, login, waiting, lang, after, due, late,
                                                                     marker):
    clock.set_clock(lambda: T + timedelta(minutes=after))
    login(client, "checker")
    html = client.get(f"/check?lang={lang}").get_data(as_text=True)
    found = rows(html)
    late_id, on_time_id = waiting["late"][1], waiting["on_time"][1]
    late_row, on_time_row = found[late_id], found[on_time_id]
    assert due.format("2027-06-10 10:30") in late_row and late in late_row
    assert due.format("2027-06-10 11:10") in on_time_row and marker not in on_time_row
    order = list(found)
    assert order.index(late_id) < order.index(on_time_id)  # due first, though its deadline is later
    assert f'<li class="task-row check-late" id="task-{late_id}">' in html
    assert f'<li class="task-row" id="task-{on_time_id}">' in html


def test_the_task_api_gives_the_checker_the_due_time_with_its_offset(client, waiting):
    clock.set_clock(lambda: T + timedelta(minutes=50))
    token = bearer(user_token(client, "checker"))
    for name, due, overdue in (("late", T + timedelta(minutes=30), True),
                               ("on_time", T + timedelta(minutes=70), False)):
        event_id, task_id = waiting[name]
        listed = client.get(f"/api/v1/tasks?status=submitted&event={event_id}", headers=token).get_json()["tasks"]
        [check] = [t["check_clock"] for t in listed if t["id"] == task_id]
        assert client.get(f"/api/v1/tasks/{task_id}", headers=token).get_json()["check_clock"] == check
        assert datetime.fromisoformat(check["due_at"]) == due and check["due_at"].endswith("+00:00")
        assert (check["clock"], check["limit_minutes"], check["overdue"]) == ("check", 30, overdue)
