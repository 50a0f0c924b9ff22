"""三级督查 in a real browser at 360 px (Debian's chromium through Playwright, skipped without it): a tier-2
inspector (督察中队) starts a round, records two findings with photos and the phone's location, and ends the round;
both findings become cases with the tier and the inspector. On a page that is not a secure context the page says
so and a pin typed by hand is recorded as such. Screenshots are kept (CIVICRULES_ARTIFACTS or the tmp folder)."""
from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.assessment import issues
from engine.core.models import BulletinIssue, Campaign, Event, InspectionRound
from tests.conftest import outer_transaction
from tests.helpers import PHONE, artifacts, jpeg, no_sideways_scroll, user

#: The test commits (a live server), so its findings stay for the tests after it: places and categories (乱堆物堆料,
#: 占道促销宣传, 垃圾站满溢) that no other test reports, lest a later report join one of these cases.
DC01 = {"latitude": 35.0231, "longitude": 110.9921}
DC03 = {"latitude": 35.0257, "longitude": 111.0153}
NC02 = (35.0461, 111.0071)


def phone(browser, base: str, username: str, **context):
    """A Chinese phone page signed in through the real form, with the context's geolocation and scripts."""
    scripts = context.pop("init_script", None)
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", **context)
    if scripts:
        ctx.add_init_script(scripts)
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "civicrules-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return ctx, page


def record(page, category: str, description: str, photo: str) -> None:
    form = page.locator("#finding-form")
    form.locator("select[name=category]").select_option(category)
    form.locator("textarea[name=description]").fill(description)
    form.locator("input[type=file]").set_input_files([photo])
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_a_tier_2_inspector_walks_a_round_and_its_findings_become_cases(live_server, browser, session, drain,
                                                                     tmp_path):
    shots = artifacts(tmp_path, "inspection-round")
    photos = []
    for n in (1, 2):
        path = tmp_path / f"finding-{n}.jpg"
        path.write_bytes(jpeg(size=300 + n))
        photos.append(str(path))
    ctx, page = phone(browser, live_server, "supervisor", geolocation=DC01, permissions=["geolocation"])
    page.goto(f"{live_server}/inspection")
    assert "督察中队定向督查" in page.locator("#inspection-tier").inner_text()
    assert "热点与超期" in page.locator("#start-form select[name=plan]").inner_text()
    page.wait_for_function("document.querySelector('#start-form input[name=lat]').value !== ''")
    page.locator("#start-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#location-notice").is_hidden()  # 127.0.0.1 is a secure context
    page.wait_for_function("document.querySelector('#finding-form input[name=lat]').value !== ''")
    assert page.locator("#finding-form input[name=location_source]").input_value() == "gps"
    assert "手机定位" in page.locator("#location-status").inner_text()
    record(page, "06036", "人行道上乱堆物堆料", photos[0])
    assert "已直接立案并派遣" in page.inner_text("main")
    ctx.set_geolocation(DC03)
    page.reload()
    page.wait_for_function("document.querySelector('#finding-form input[name=lat]').value.startsWith('35.0257')")
    record(page, "09022", "商铺占道促销宣传", photos[1])
    assert page.locator("#findings li.finding").count() == 2
    assert page.locator("#findings .photos img").count() == 2
    assert no_sideways_scroll(page)
    page.screenshot(path=str(shots / "1-round-with-findings.png"), full_page=True)
    page.locator("#end-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "本轮督查已结束" in page.inner_text("main")
    page.screenshot(path=str(shots / "2-round-ended.png"), full_page=True)

    drain()
    session.expire_all()
    inspector = user(session, "supervisor")
    round_ = session.scalars(select(InspectionRound).where(InspectionRound.inspector_id == inspector.id)
                             .order_by(InspectionRound.id.desc())).first()
    assert round_.ended_at is not None and round_.tier_level == 2
    assert {p["grid"] for p in round_.track} >= {"DC-01", "DC-03"}
    assert [f.location_source for f in round_.findings] == ["gps", "gps"]
    for finding in round_.findings:
        event = session.get(Event, finding.event_id)
        assert (event.source_type, event.inspection_tier, event.inspector_id) == ("inspection", 2, inspector.id)
        assert event.case is not None and event.tasks, "a finding is filed and dispatched at once"
        assert len(finding.photos) == 1
    page.goto(f"{live_server}/inspection/rounds/{round_.id}")
    assert page.locator("#findings a[href^='/cases/']").count() == 2
    page.locator("#findings a[href^='/cases/']").first.click()
    page.wait_for_load_state()
    picture = page.locator(".photos img").first  # the case page shows the inspector's photo of the finding
    picture.wait_for()
    assert page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    ctx.close()
    weekly_bulletin_counts(session, round_, tmp_path)


def weekly_bulletin_counts(session, round_: InspectionRound, tmp_path) -> None:
    """The scheduler's weekly bulletin of the round's week counts both tier-2 findings, is numbered and frozen, and
    its PDF has the charts and an embedded Chinese font. In a transaction rolled back afterwards: the live server's
    database is shared, and no later test may find this week already published."""
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    zone = ZoneInfo(campaign.timezone)
    found = round_.started_at.astimezone(zone)
    monday = datetime.combine(found.date() + timedelta(days=7 - found.weekday()), time(8), tzinfo=zone)
    with outer_transaction(session.get_bind()) as connection:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
            assert issues.run_due(s, now=monday - timedelta(minutes=1)) == []
            (issue_id,) = issues.run_due(s, now=monday)  # what the escalation poller runs at Monday 08:00 local
            issue = s.get(BulletinIssue, issue_id)
            assert issue.number >= 1 and issue.content["number"] == issue.number
            frozen = (issue.content_sha256, issue.pdf_zh)
            tier_2 = next(t for t in issue.content["findings"]["by_tier"] if t["tier"] == 2)
            assert tier_2["found"] >= 2, issue.content["findings"]
            assert issues.run_due(s, now=monday + timedelta(minutes=5)) == []  # never regenerated
            s.refresh(issue)
            assert (issue.content_sha256, issue.pdf_zh) == frozen
            pdf = tmp_path / "bulletin.pdf"
            pdf.write_bytes(issue.pdf_zh)
    if shutil.which("pdffonts") is None:
        return
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts if line.strip()), fonts
    assert any("wenquanyi" in line.lower() or "wqy" in line.lower() for line in fonts), fonts
    text = "".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())
    assert f"第{issue.number}期" in text and "督察中队定向督查" in text and "各层级发现问题数" in text


def test_without_a_secure_context_the_page_says_so_and_a_typed_pin_is_recorded(live_server, browser, session,
                                                                               tmp_path):
    shots = artifacts(tmp_path, "inspection-insecure")
    ctx, page = phone(browser, live_server, "squad_lead",
                      init_script="Object.defineProperty(window, 'isSecureContext', {get: () => false});")
    page.goto(f"{live_server}/inspection")
    page.locator("#start-form button[type=submit]").click()
    page.wait_for_load_state()
    notice = page.locator("#location-notice")
    assert notice.is_visible() and "HTTPS" in notice.inner_text()
    form = page.locator("#finding-form")
    form.locator("select[name=category]").select_option("06042")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "本督查计划要求记录问题位置" in page.locator("#location-errors").inner_text()
    page.screenshot(path=str(shots / "1-location-required.png"), full_page=True)
    form = page.locator("#finding-form")
    form.locator("input[name=lat]").fill(str(NC02[0]))
    form.locator("input[name=lon]").fill(str(NC02[1]))
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "标点" in page.locator("#findings").inner_text() or "手动标点" in page.locator("#findings").inner_text()
    assert no_sideways_scroll(page)
    page.locator("#end-form button[type=submit]").click()
    page.wait_for_load_state()
    ctx.close()
