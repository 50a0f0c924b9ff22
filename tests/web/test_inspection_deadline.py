"""Seed 003 (确保所有测评点在3月22日之前整改到位): a task at an inspection point whose deadline was brought forward to
the inspection's start says why on its page, in the reader's language; a task elsewhere says nothing of it."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.core import clock
from engine.core.models import Campaign, Task
from tests.engine.test_inspection_points import SCHOOL, inspection_starts_soon, store
from tests.helpers import csrf_from
from tests.web.test_role_pages import placed_task, text, to_handling, version


def test_the_task_page_says_its_deadline_was_brought_forward_to_the_inspection(client, login, factory, drain,
                                                                                session):
    inspection_starts_soon(factory)
    at_point, elsewhere = store(factory, (SCHOOL, "DC-02"), ((35.0240, 111.0240), "DC-04"))
    drain()
    capped = session.scalar(select(Task).where(Task.event_id == at_point))
    kept = session.scalar(select(Task).where(Task.event_id == elsewhere))
    login(client, "admin")
    for lang, words in (("zh-CN", "测评开始时到期：该任务位于测评点位"), ("en", "Due when the inspection starts: this task is at an "
                                                                "inspection point (测评点位)")):
        page = client.get(f"/tasks/{capped.id}?lang={lang}").get_data(as_text=True)
        assert 'id="deadline-why"' in page and words in page, page[page.find('id="task-state"'):][:800]
        assert "10:30" in page[page.find('id="task-state"'):][:400]  # the deadline: the start, local time
        assert 'id="deadline-why"' not in client.get(f"/tasks/{kept.id}?lang={lang}").get_data(as_text=True)


def _inspection_after(factory, task_id: int, hours: int) -> datetime:
    """The demo campaign's inspection set to start `hours` after the task's deadline; returns the start."""
    with factory() as s:
        starts = s.get(Task, task_id).deadline_at + timedelta(hours=hours)
        campaign = s.scalar(select(Campaign).where(Campaign.status == "active"))
        campaign.inspection_starts_at, campaign.inspection_ends_at = starts, starts + timedelta(days=7)
        s.commit()
    return starts


def act(client, session, task_id: int, action: str, lang: str = "zh-CN", **form):
    """One action through the task page's form, read in `lang`."""
    token = csrf_from(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    return client.post(f"/tasks/{task_id}/act", headers={"Accept-Language": lang}, data={
        "action": action, "version": version(session, task_id), "csrf_token": token, **form})


def _shown(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def test_an_extension_past_the_inspection_start_is_refused_next_to_its_field_naming_the_latest_date(
        app, client, login, factory, drain, session):
    task = placed_task(factory, drain, session)  # beside the demo's school point (CP-006)
    starts = _inspection_after(factory, task.id, 2)
    to_handling(client, login, session, task.id)
    for lang, words in (("zh-CN", "延期后的期限最迟为"), ("en", "the extended deadline may be no later than")):
        refused = act(client, session, task.id, "request_extension", lang=lang, limit_value="1",
                      limit_unit="working_days", comment="需联合执法")
        shown = text(refused.get_data(as_text=True), "limit_value-errors-request_extension")
        assert refused.status_code == 422 and words in shown and _shown(starts) in shown, shown
    session.expire_all()
    assert session.get(Task, task.id).status == "handling"
    assert act(client, session, task.id, "request_extension", limit_value="1", limit_unit="urgent_hours",
               comment="需联合执法").status_code == 302

    login(client, "dispatcher")
    before = session.get(Task, task.id).deadline_at
    refused = act(client, session, task.id, "approve_extension", limit_value="5", limit_unit="urgent_hours")
    shown = text(refused.get_data(as_text=True), "limit_value-errors-approve_extension")
    assert refused.status_code == 422 and "测评" in shown and _shown(starts) in shown, shown
    assert act(client, session, task.id, "approve_extension", limit_value="2", limit_unit="urgent_hours"
               ).status_code == 302
    session.expire_all()
    assert session.get(Task, task.id).deadline_at == starts == before + timedelta(hours=2)


def test_resuming_a_parked_task_at_a_point_keeps_it_due_by_the_inspection(
        app, client, login, factory, drain, session):
    task = placed_task(factory, drain, session)
    starts = _inspection_after(factory, task.id, 1)
    to_handling(client, login, session, task.id)
    tomorrow = (clock.now().astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date().isoformat()
    assert act(client, session, task.id, "request_park", until=tomorrow, comment="等待产权单位答复").status_code == 302
    login(client, "dispatcher")
    assert act(client, session, task.id, "approve_park").status_code == 302
    later = clock.now() + timedelta(hours=3)
    clock.set_clock(lambda: later)
    assert act(client, session, task.id, "resume").status_code == 302
    session.expire_all()
    assert session.get(Task, task.id).deadline_at == starts  # not three hours on, after the inspection began
    page = client.get(f"/tasks/{task.id}?lang=zh-CN").get_data(as_text=True)
    assert 'id="deadline-why"' in page and _shown(starts)[-5:] in page[page.find('id="task-state"'):][:400]
