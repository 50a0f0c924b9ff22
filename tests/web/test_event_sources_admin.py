"""The admin's events read their intake source by name (12345热线, 巡查App, 模拟测评), not the token's key, and the
facts an evaluation used as labelled values with names, not raw JSON."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from html import unescape

from sqlalchemy import select

from engine.core.models import Category, Event, Grid
from engine.core.states import EventStatus
from engine.readiness.mock import SOURCE_NAME
from tests.helpers import bearer, event, unique


def _cells(page: str) -> dict[str, str]:
    rows = re.findall(r"<td>\s*<b>(.*?)</b>\s*</td>\s*<td>(.*?)</td>", page, re.S)
    return {label.strip(): re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", value))).strip()
            for label, value in rows}


def test_events_name_their_source_and_facts(client, login, session, intake_token, patrol_token, drain):
    hotline = client.post("/api/v1/events", json=event("06029", "DC-02", hour=14),
                          headers=bearer(intake_token)).get_json()["id"]
    patrol = client.post("/api/v1/events", json=event("06029", "DC-02", hour=15),
                         headers=bearer(patrol_token)).get_json()["id"]
    drain()
    now = datetime.now(timezone.utc)
    mock = Event(source=SOURCE_NAME, source_event_id=unique(), source_type="mock_evaluation",
                 category_id=session.scalar(select(Category.id).where(Category.code == "06029")),
                 grid_id=session.scalar(select(Grid.id).where(Grid.code == "DC-02")), occurred_at=now,
                 received_at=now, status=EventStatus.EVALUATED, attempts=0, evaluated_at=now,
                 facts={"source_type": "mock_evaluation", "inspection_point": "main_road"})
    session.add(mock)
    session.flush()
    login(client, "admin")
    listed = unescape(client.get("/admin/event/").get_data(as_text=True))  # newest first: these three on page 1
    sources = {cell.strip() for cell in re.findall(r'<td class="col-source">(.*?)</td>', listed, re.S)}
    assert {"12345热线", "巡查App", "模拟测评"} <= sources
    assert not sources & {"hotline-12345", "patrol-app", SOURCE_NAME}
    cells = _cells(client.get(f"/admin/event/details/?id={mock.id}").get_data(as_text=True))
    assert cells["来源"] == "模拟测评"
    assert cells["评估所用事实"] == "来源类型：模拟测评 所在测评点位类型（不在点位时为空）：主次干道"
    cells = _cells(client.get(f"/admin/event/details/?id={hotline}").get_data(as_text=True))
    assert cells["来源"] == "12345热线" and "{" not in cells["评估所用事实"]
    assert "问题类别代码：露天烧烤（06029）" in cells["评估所用事实"] and "来源系统：12345热线" in cells["评估所用事实"]
    assert "是否周末：" in cells["评估所用事实"]
    english = _cells(client.get(f"/admin/event/details/?id={patrol}&lang=en").get_data(as_text=True))
    assert english["Source"] == "patrol app" and "source type: patrol" in english["Facts evaluated"]
