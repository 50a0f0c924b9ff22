"""Seed 003 (确保所有测评点在3月22日之前整改到位): a task at an inspection point whose deadline was brought forward to
the inspection's start says why on its page, in the reader's language; a task elsewhere says nothing of it."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.core import clock
from engine.core.models import Campaign, Task
from tests.engine.test_inspection_points import SCHOOL, store


def test_the_task_page_says_its_deadline_was_brought_forward_to_the_inspection(client, login, factory, drain,
                                                                                session):
    now = datetime(2026, 12, 9, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    clock.set_clock(lambda: now)
    starts = now + timedelta(minutes=30)
    with factory() as s:
        campaign = s.scalar(select(Campaign).where(Campaign.status == "active"))
        campaign.inspection_starts_at, campaign.inspection_ends_at = starts, starts + timedelta(days=7)
        s.commit()
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
