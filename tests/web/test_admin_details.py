"""Admin detail pages read as the reader's language: records named (事件 #12, 第 1 版), every field labelled in
Chinese, yes/no for a flag and a boundary summed up, never a Python repr, an English field name or raw GeoJSON."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.core.models import Campaign, Firing, Grid
from tests.helpers import new_api_task

ZH = {"Accept-Language": "zh-CN"}
#: Field names Flask-Admin would print on its own (prettified), and Python's values as they are.
RAW = re.compile(r"object at 0x|Received At|Lease Token|Last Error|Rework Count|Paused Seconds|Unit Id|"
                 r"<b>\s*Mac\s*</b>|Title En|Effective From|>\s*(True|False)\s*<|&#34;coordinates&#34;")


def details(client, view: str, record_id: int) -> str:
    page = client.get(f"/admin/{view}/details/?id={record_id}", headers=ZH)
    assert page.status_code == 200
    return page.get_data(as_text=True)


@pytest.mark.parametrize("role", ["admin", "assessor", "auditor"])
def test_records_are_named_and_labelled_in_chinese(client, login, session, intake_token, drain, role):
    task = new_api_task(client, intake_token, drain)
    login(client, role)
    firing = session.scalar(select(Firing).where(Firing.task_id == task["id"]))
    campaign = session.scalar(select(Campaign).where(Campaign.published_version_id.is_not(None)))
    pages = {"event": details(client, "event", task["event"]),
             "task": details(client, "task", task["id"]), "firing": details(client, "firing", firing.id),
             "campaign": details(client, "campaign", campaign.id),
             "grid": details(client, "grid", session.scalar(select(Grid.id).where(Grid.code == "DC-01")))}
    for view, html in pages.items():
        assert not RAW.search(html), (view, RAW.search(html).group(0))
    assert "接收时间" in pages["event"] and "案件 #" in pages["event"]
    assert "事件 #" in pages["task"] and "返工次数" in pages["task"] and "暂停时长" in pages["task"]
    assert "第 " in pages["firing"] and "完整性校验" in pages["firing"] and "东城街道办事处" in pages["firing"]
    assert "周一" in pages["campaign"] and "否" in pages["campaign"]
    assert re.search(r"多边形，共 \d+ 个点", pages["grid"])
