"""谁主管、谁负责 (seed 003): an official deduction at the demo's farmers' market (CP-002, 市场监管局 in charge) and
construction site (CP-004, 住建局 in charge) reaches the department too: the case page names it beside the
sub-district, and the deductions page lists it by unit; under the default `lead` rule the sub-district alone
loses the points in the ranking (tests/web/test_point_shares.py has both rules)."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.assessment.indicators import period_containing
from engine.assessment.ranking import ranking
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import Case, OfficialDeduction, Unit
from engine.core.tables import read_table
from engine.readiness import official
from tests.engine.test_mock_evaluation import sheet
from tests.helpers import user

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
LATER = datetime(2026, 11, 20, 11, 0, tzinfo=SHANGHAI)


def test_an_official_deduction_at_a_market_or_a_site_reaches_the_department_in_charge(app, client, login, session,
                                                                                        tmp_path):
    clock.set_clock(lambda: NOW)
    campaign = campaign_for(session, None)
    units = {u.code: u.id for u in session.scalars(select(Unit))}
    period = period_containing("month", NOW, campaign.timezone)
    before = {r.unit_id: r for r in ranking(session, campaign, period, LATER)}
    report = official.import_deductions(session, campaign, read_table(sheet(tmp_path / "official.xlsx", [
        ["CP-002", "FM-01", 2, "垃圾箱满溢", "2026-11-19"], ["CP-004", "CS-01", 3, "围挡破损", "2026-11-19"]])),
        user(session, "assessor"))
    assert report.created == 2 and not report.problems
    session.commit()
    after = {r.unit_id: r for r in ranking(session, campaign, period, LATER)}
    login(client, "shift_leader")
    for point, area, department, lost in (("CP-002", "JD-DC", "SCJGJ", 2), ("CP-004", "JD-XC", "ZJJ", 3)):
        deduction = session.scalar(select(OfficialDeduction).where(OfficialDeduction.point.has(code=point)))
        case = session.get(Case, deduction.case_id)
        assert [t.unit.code for t in case.tasks] == [area, department]
        for code, charged in ((area, lost), (department, 0)):
            assert float(after[units[code]].indicators.points_by.get("inspection", 0)) == pytest.approx(charged)
            assert after[units[code]].score == pytest.approx(before[units[code]].score - charged), \
                f"{code} carries {charged} of the deduction at {point} in the ranking"
        page = client.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
        name = session.get(Unit, units[department]).name_zh
        assert re.search(rf"{name}\s*\(协办\)", page), f"the case page names {name} as cooperating"
        assert department not in re.sub(r"<[^>]+>", " ", page).split(), "names, not codes"
    login(client, "assessor")
    page = client.get("/evaluation/deductions?lang=zh-CN").get_data(as_text=True)
    table = page[page.find('id="by-unit"'):page.find("</table>", page.find('id="by-unit"'))]
    for code, name, lost in (("SCJGJ", "市场监督管理局", "0"), ("ZJJ", "住房和城乡建设局", "0")):
        row = re.search(rf'<tr data-unit="{code}">(.*?)</tr>', table, re.S)
        assert row and name in row.group(1) and f'class="points">{lost}<' in row.group(1), \
            f"谁主管、谁负责 names {name} for the deduction at its kind of point, carrying none of it under lead"


def test_a_failed_hoarding_item_opens_a_case_of_site_hoarding_problems(app, client, login, session, tmp_path):
    clock.set_clock(lambda: NOW)
    campaign = campaign_for(session, None)
    official.import_deductions(session, campaign, read_table(sheet(tmp_path / "official.xlsx", [
        ["CP-004", "CS-01", 2, "围挡公益广告不足", "2026-11-19"]])), user(session, "assessor"))
    session.commit()
    case = session.get(Case, session.scalar(select(OfficialDeduction.case_id)))
    assert case.category.code == "08007", "施工围挡 is 08007 施工工地围挡问题 (brief c.2 #43), not 07003 户外广告"
    login(client, "shift_leader")
    page = client.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
    assert "施工工地围挡问题" in page and "违规户外广告" not in page
