"""模拟测评 (issue 17 point 3) in a real browser at 360 px: a supervisor starts a round over one school point, scores
it on the phone page, is refused a score above an item's maximum next to the item with nothing written, then
loses points on one item with a photo; the case is the point's unit's and the round's page shows the rate.
The live server commits, so the round's day is one no other test ranks (October). Screenshots are kept."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.core import clock
from engine.core.models import EvaluationRound, EvaluationScore
from engine.readiness.checklists import items_for, save_item
from tests.helpers import artifacts, jpeg, no_sideways_scroll, phone_sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 10, 14, 9, 30, tzinfo=SHANGHAI)
ITEMS = ("MOCK-SCHOOL-1", "MOCK-SCHOOL-2")


def test_a_supervisor_scores_a_point_on_the_phone(live_server, browser, session, tmp_path):
    shots = artifacts(tmp_path, "mock-evaluation")
    for i, code in enumerate(ITEMS):
        save_item(session, {"type": "school", "code": code, "text": f"模拟测评校园周边项 {i + 1}", "max_score": 4,
                            "frequency": "round", "category_code": "06036", "position": 50 + i}, replace=True)
    session.commit()
    photo = tmp_path / "gate.jpg"
    photo.write_bytes(jpeg(size=120))
    clock.set_clock(lambda: DAY)
    name = f"浏览器模拟测评 {datetime.now().timestamp():.0f}"
    page = phone_sign_in(browser, live_server, "supervisor")
    page.goto(f"{live_server}/evaluation")
    page.fill("#start-form input[name=name]", name)
    page.fill("#start-form input[name=codes]", "CP-006")
    page.locator("#start-form button[type=submit]").click()
    page.wait_for_load_state()
    row = session.scalar(select(EvaluationRound).where(EvaluationRound.name == name))
    assert row is not None and row.starts_on.isoformat() == "2026-10-14"
    page.locator("#by-point a", has_text="CP-006").click()
    page.wait_for_load_state()
    codes = [i.code for i in items_for(session, _school_type(session))]
    assert page.locator("#score-form fieldset.item").count() == len(codes)
    for code in codes:
        page.locator(f"#item-{code} input[value=yes]").check()
    page.locator(f"#item-{ITEMS[0]} input[name=score-{ITEMS[0]}]").fill("5")
    page.locator("#score-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "得分须在 0 至本项满分 4 之间" in page.locator(f"#item-{ITEMS[0]}-errors").inner_text()
    assert session.scalar(select(EvaluationScore).where(EvaluationScore.round_id == row.id)) is None
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "1-score-above-maximum.png"), full_page=True)
    page.locator(f"#item-{ITEMS[0]} input[value=no]").check()
    page.locator(f"#item-{ITEMS[0]} input[name=score-{ITEMS[0]}]").fill("1")
    page.locator(f"#item-{ITEMS[0]} input[name=note-{ITEMS[0]}]").fill("校门口有占道经营")
    page.locator(f"#item-{ITEMS[0]} input[type=file]").set_input_files([str(photo)])
    page.locator("#score-form button[type=submit]").click()
    page.wait_for_load_state()
    failed = page.locator(f"#results li.failed[data-item='{ITEMS[0]}']")
    assert failed.count() == 1 and failed.locator("a.case-link[href^='/cases/']").count() == 1
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "2-scored-with-a-lost-item.png"), full_page=True)
    session.expire_all()
    scores = session.scalars(select(EvaluationScore).where(EvaluationScore.round_id == row.id)).all()
    lost = next(s for s in scores if not s.passed)
    assert lost.score == 1 and len(lost.photos) == 1 and lost.point.unit.code == "JD-DC"
    total = sum(s.max_score for s in scores)
    page.goto(f"{live_server}/evaluation/rounds/{row.id}")
    assert f"{(total - 3) / total * 100:.1f}%" in page.locator("#round-rate").inner_text()
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "3-round-rates.png"), full_page=True)


def _school_type(session) -> int:
    from engine.core.models import InspectionPointType

    return session.scalar(select(InspectionPointType.id).where(InspectionPointType.code == "school"))
