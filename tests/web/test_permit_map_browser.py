"""The zone map in a real browser: a permit issued by a unit other than its kind's approver (migration 0052, seed
001) is drawn apart and its popup says it does not count, in the reader's language; one from the right unit says
it counts."""
from __future__ import annotations

from sqlalchemy import select

from engine.core.models import PermitKind, Unit
from engine.space.permits import PERMIT_INDEX, save_permit_kind

DESKTOP = {"width": 1280, "height": 900}
MARKET = (35.023, 111.026)  # the demo's CGW-2026-SC-001, a night market approved by 区城管委


def _approver(session, code: str) -> None:
    settings = session.scalar(select(PermitKind).where(PermitKind.kind == "temporary_market"))
    save_permit_kind(session, "temporary_market", session.scalar(select(Unit).where(Unit.code == code)),
                     settings.reviewer, settings.filing_required, settings)
    session.commit()


def _popup(page, lat: float, lon: float) -> str:
    page.evaluate("([lat, lon]) => document.getElementById('zone-map').leafletMap.setView([lat, lon], 17,"
                  " {animate: false})", [lat, lon])
    x, y = page.evaluate("([lat, lon]) => { const map = document.getElementById('zone-map').leafletMap;"
                         " const p = map.latLngToContainerPoint([lat, lon]);"
                         " const box = map.getContainer().getBoundingClientRect();"
                         " return [box.left + p.x, box.top + p.y]; }", [lat, lon])
    page.mouse.click(x, y - 20)  # on the marker, whose tip is the permit's place
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=5000)
    return popup.inner_text()


def test_the_map_popup_says_a_permit_from_the_wrong_unit_does_not_count(live_server, browser, browser_login, session):
    _approver(session, "CGJ")
    try:
        for locale, words in (("zh-CN", "不计入审批：临时市场（固定摊点、早夜市）须由城市管理综合执法局审批"),
                              ("en-US", "Does not count as an approval")):
            page = browser.new_page(viewport=DESKTOP, locale=locale)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            browser_login(page, live_server)
            page.goto(f"{live_server}/admin/zones/?lang={locale[:2] if locale == 'en-US' else locale}")
            text = _popup(page, *MARKET)
            assert "CGW-2026-SC-001" in text and words in text, text
            assert not errors, errors
            page.close()
    finally:
        _approver(session, "CGW")
        PERMIT_INDEX.clear()
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    browser_login(page, live_server)
    page.goto(f"{live_server}/admin/zones/?lang=zh-CN")
    text = _popup(page, *MARKET)
    assert "CGW-2026-SC-001" in text and "计入该种类在此处的审批" in text and "不计入" not in text, text
