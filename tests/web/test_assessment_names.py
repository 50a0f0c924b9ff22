"""What the assessment office reads names things as a reader would: rules by their wording (当月排名后3位), not
their codes; sanctions and stage clocks capitalised in English; people with their unit's name; the campaign's
time zone as 北京时间 / Beijing time rather than Asia/Shanghai."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.core import clock
from engine.core.models import Campaign, SanctionDue, SanctionRule, SanctionRun, Unit
from engine.core.zones import zone_label


@pytest.fixture()
def december(session):
    """Today is 5 December 2026; November's kept sanctions list names 东城 under a bottom-1 rule."""
    clock.set_clock(lambda: datetime(2026, 12, 5, 3, tzinfo=timezone.utc))
    campaign = session.scalars(select(Campaign).order_by(Campaign.id)).first()
    rule = session.scalar(select(SanctionRule).where(SanctionRule.campaign_id == campaign.id,
                                                     SanctionRule.code == "names-month"))
    if rule is None:  # the database is shared: an earlier test (or parameter) may have kept it, or November's run
        rule = SanctionRule(campaign_id=campaign.id, code="names-month", kind="month", bottom_n=1, periods=1,
                            sanction="self_criticism")
        session.add(rule)
    session.flush()
    november = select(SanctionRun).where(SanctionRun.campaign_id == campaign.id, SanctionRun.period == "2026-11")
    if session.scalar(november) is None:
        try:
            with session.begin_nested():  # a worker of another test may produce November's run meanwhile
                session.add(SanctionRun(campaign_id=campaign.id, period="2026-11", produced_at=clock.now()))
        except IntegrityError:
            pass
    run = session.scalar(november)
    unit = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    if session.scalar(select(SanctionDue).where(SanctionDue.run_id == run.id, SanctionDue.rule_id == rule.id)) is None:
        session.add(SanctionDue(run_id=run.id, rule_id=rule.id, unit_id=unit.id, sanction="self_criticism",
                                ranks=[{"period": "2026-11", "rank": 3, "size": 3}]))
    session.commit()
    return campaign


def _sheet_rows(client, campaign: Campaign, lang: str, name: str) -> list[tuple]:
    response = client.get(f"/assessment/bulletins/2026-11.xlsx?campaign={campaign.code}&lang={lang}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    return list(book[name].iter_rows(values_only=True))


@pytest.mark.parametrize("lang, sheet, rule, sanction, clocks", [
    ("zh_Hans_CN", "应问责单位", "当月排名后1位", "会上表态发言", ["受理", "核实", "派遣", "核查"]),
    ("en", "Sanctions due", "Bottom 1 in the current month", "Self-criticism at the meeting",
     ["Acceptance", "Verification", "Dispatch", "Check"])])
def test_sanctions_due_name_the_rule_and_the_sanction(app, december, login, lang, sheet, rule, sanction, clocks):
    client = app.test_client()
    login(client, "assessor")
    rows = _sheet_rows(client, december, lang, sheet)
    lines = [row for row in rows if row and row[0] == rule]
    assert lines and all(row[1] == sanction for row in lines), rows
    assert not any("names-month" in str(cell) for row in rows for cell in row)
    html = client.get(f"/assessment/bulletins/2026-11?campaign={december.code}&lang={lang}").get_data(as_text=True)
    assert re.search(rf">\s*{re.escape(rule)}\s*<", html) and "names-month" not in html
    for name in clocks:
        assert re.search(rf"<td>\s*{name}\s*</td>", html), name


@pytest.mark.parametrize("lang, zone", [("zh_Hans_CN", "北京时间"), ("en", "Beijing time")])
def test_pages_name_the_time_zone_in_words(app, december, login, lang, zone):
    client = app.test_client()
    login(client, "assessor")
    for url in (f"/assessment/bulletins/2026-11?campaign={december.code}", f"/assessment/?campaign={december.code}",
                f"/assessment/issues/?campaign={december.code}"):
        html = client.get(f"{url}&lang={lang}").get_data(as_text=True)
        assert "Asia/Shanghai" not in html, url
    bulletin = client.get(f"/assessment/bulletins/2026-11?campaign={december.code}&lang={lang}")
    assert zone in bulletin.get_data(as_text=True)
    issues = client.get(f"/assessment/issues/?campaign={december.code}&lang={lang}").get_data(as_text=True)
    assert zone in issues


def test_a_zone_without_a_word_of_ours_reads_as_its_common_name():
    assert zone_label("Asia/Shanghai", "zh") == "北京时间" and zone_label("Asia/Shanghai", "en") == "Beijing time"
    assert zone_label("Europe/Berlin", "zh") == "中欧时间"
    assert zone_label("Europe/Berlin", "en") == "Central European Time"
    assert zone_label("Nowhere/Atlantis", "en") == "Nowhere/Atlantis"


@pytest.mark.parametrize("lang, zone, rule, sanction", [
    ("zh_Hans_CN", "北京时间", "当月排名后1位", "会上表态发言"),
    ("en", "Beijing time", "Bottom 1 in the current month", "Self-criticism at the meeting")])
def test_the_bulletin_pdf_names_the_zone_rule_and_sanction(app, december, login, tmp_path, lang, zone, rule,
                                                            sanction):
    client = app.test_client()
    login(client, "assessor")
    response = client.get(f"/assessment/bulletins/2026-11.pdf?campaign={december.code}&lang={lang}")
    if response.status_code == 503 or shutil.which("pdftotext") is None:
        pytest.skip("no Chinese font or no pdftotext (poppler-utils): cannot read the PDF's text")
    path = tmp_path / "bulletin.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", text)
    assert zone in flat and "Asia/Shanghai" not in flat
    assert rule in flat and sanction in flat and "names-month" not in flat and "self_criticism" not in flat


@pytest.mark.parametrize("lang, unit", [("zh_Hans_CN", "城市管理综合执法局"), ("en", "Urban Management Bureau")])
def test_sanction_record_people_are_named_with_their_unit(app, december, login, lang, unit):
    client = app.test_client()
    login(client, "assessor")
    html = client.get(f"/assessment/sanction-records/new?campaign={december.code}&lang={lang}").get_data(as_text=True)
    options = re.findall(r"<option[^>]*>([^<]+·[^<]+)</option>", html)
    assert options and not any(re.search(r"· [A-Z]{2,}[A-Z0-9-]* ·", o) for o in options), options[:5]
    assert any(unit in o for o in options), options[:5]
