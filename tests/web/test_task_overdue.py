"""The field unit reads on its task page since when the task is overdue, by the rule the indicators count: work
submitted in time whose check fails after the deadline is late (brief b.4 「退回重办继续计」, seed 002)."""
from __future__ import annotations

import html as markup
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from engine.core import clock
from tests.helpers import act, new_task


def overdue_note(client, task_id: int, lang: str) -> str | None:
    page = client.get(f"/tasks/{task_id}?lang={lang}").get_data(as_text=True)
    found = re.search(r'<strong id="overdue"[^>]*>(.*?)</strong>', page, re.S)
    return markup.unescape(re.sub(r"\s+", " ", found.group(1))) if found else None


def light_of(client, task_id: int) -> str:
    page = client.get(f"/tasks?q={task_id}").get_data(as_text=True)
    return re.search(rf'<li class="task-row light-(\w+)">\s*<span class="light"[^>]*></span>\s*'
                     rf'<a href="/tasks/{task_id}">', page).group(1)


def test_work_failed_after_its_deadline_reads_as_overdue_since_the_failed_check(client, login, factory, drain,
                                                                               session):
    task = new_task(factory, drain, session)  # two urgent hours
    start = task.created_at
    for minutes, action, who, comment in [(5, "sign", "dongcheng", ""), (6, "start", "dongcheng", ""),
                                          (100, "submit", "dongcheng", "已清理")]:
        clock.set_clock(lambda m=minutes: start + timedelta(minutes=m))
        act(session, task, action, who, comment)
    clock.set_clock(lambda: start + timedelta(hours=2, minutes=30))
    client.post("/logout")
    login(client, "dongcheng")
    assert overdue_note(client, task.id, "zh_Hans_CN") is None  # submitted in time, awaiting its check
    failed = start + timedelta(hours=3)
    clock.set_clock(lambda: failed)
    act(session, task, "fail_check", "checker", "现场仍有烤炉")
    clock.set_clock(lambda: failed + timedelta(minutes=5))
    local = failed.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert overdue_note(client, task.id, "zh_Hans_CN") == f"自 {local} 起超时 · 退回重办继续计时：期限过后重办完成的仍算超时。"
    english = overdue_note(client, task.id, "en")
    assert english.startswith(f"Overdue since {local}") and "does not reset the clock" in english
    assert light_of(client, task.id) == "red"
