"""A finding at an inspection point costs its units together exactly what the evaluation deducted: an official
deduction at the demo's farmers' market (CP-002, 东城街道 its area, 市场监管局 in charge) costs the sub-district
the points and names the department with 0 under `lead`, and costs each half under `shared`, alike in the ranking,
on the deductions page and on the round's page (AssessmentConfig.cooperation_points, seed 003)."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.assessment.indicators import period_containing
from engine.assessment.ranking import ranking
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import AssessmentConfig, OfficialDeduction, Unit
from engine.core.tables import read_table
from engine.readiness import official
from tests.engine.test_mock_evaluation import sheet
from tests.helpers import user

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
LATER = datetime(2026, 11, 20, 11, 0, tzinfo=SHANGHAI)
AREA, DEPARTMENT = "JD-DC", "SCJGJ"


def inspection_points(session, campaign) -> dict[int, Decimal]:
    period = period_containing("month", NOW, campaign.timezone)
    return {r.unit_id: r.indicators.points_by.get("inspection", Decimal(0))
            for r in ranking(session, campaign, period, LATER)}


def by_unit_points(page: str, code: str) -> float:
    """The points the deductions page's by-unit table gives a unit (0 when it is not listed)."""
    table = page[page.find('id="by-unit"'):page.find("</table>", page.find('id="by-unit"'))]
    row = re.search(rf'<tr data-unit="{code}">.*?class="points">([^<]*)<', table, re.DOTALL)
    return float(row.group(1)) if row else 0.0


def carriers_of(page: str, deduction_id: int) -> list[tuple[str, str, str]]:
    """(unit code, the unit as written, its points) of each unit answering for the deduction, in the page's order."""
    row = re.search(rf'<tr data-deduction="{deduction_id}">(.*?)</tr>', page, re.DOTALL)
    assert row, f"deduction {deduction_id} is listed"
    found = re.findall(r'<li data-unit="([^"]+)">(.*?)<span class="share">([^<]*)</span></li>', row.group(1), re.DOTALL)
    return [(code, " ".join(re.sub(r"<[^>]+>", " ", text).split()), points) for code, text, points in found]


@pytest.mark.parametrize("rule, area_lost, department_lost, shown", [
    ("lead", 1.0, 0.0, ("1", "0")), ("shared", 0.5, 0.5, ("0.5", "0.5"))])
def test_a_market_finding_costs_its_units_together_what_was_deducted(app, client, login, session, tmp_path, rule,
                                                                     area_lost, department_lost, shown):
    clock.set_clock(lambda: NOW)
    campaign = campaign_for(session, None)
    config = session.scalar(select(AssessmentConfig).where(AssessmentConfig.campaign_id == campaign.id))
    if config is None:
        config = AssessmentConfig(campaign_id=campaign.id, weights={}, peer_groups={})
        session.add(config)
    config.cooperation_points = rule
    session.flush()
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_([AREA, DEPARTMENT])))}
    login(client, "assessor")
    page_before = client.get("/evaluation/deductions?lang=zh-CN").get_data(as_text=True)
    before = inspection_points(session, campaign)
    report = official.import_deductions(session, campaign, read_table(sheet(tmp_path / "official.xlsx", [
        ["CP-002", "FM-01", 1, "垃圾箱满溢", "2026-11-19"]])), user(session, "assessor"))
    assert report.created == 1 and not report.problems
    session.commit()
    deduction = session.scalar(select(OfficialDeduction).where(OfficialDeduction.case_id.is_not(None))
                               .order_by(OfficialDeduction.id.desc()).limit(1))
    after = inspection_points(session, campaign)
    lost = {code: float(after.get(u.id, 0) - before.get(u.id, 0)) for code, u in units.items()}
    assert lost == {AREA: pytest.approx(area_lost), DEPARTMENT: pytest.approx(department_lost)}, \
        f"under {rule} the ranking charges the sub-district {area_lost} and 市场监管局 {department_lost}"
    assert sum(lost.values()) == pytest.approx(1), "the units together lose what the evaluation deducted"

    page = client.get("/evaluation/deductions?lang=zh-CN").get_data(as_text=True)
    assert carriers_of(page, deduction.id) == [
        (AREA, f"{units[AREA].name_zh} 属地（主办）", shown[0]),
        (DEPARTMENT, f"{units[DEPARTMENT].name_zh} 主管部门（协办）", shown[1])], \
        "the deduction names the sub-district and, beside it, the department in charge with its share"
    assert {code: by_unit_points(page, code) - by_unit_points(page_before, code) for code in units} == {
        AREA: pytest.approx(area_lost), DEPARTMENT: pytest.approx(department_lost)}
    assert re.search(rf'<tr data-unit="{DEPARTMENT}">', page), "the department is listed by unit, even at 0"
    assert ("仅计入主办单位" if rule == "lead" else "主办与协办单位均分") in page
    english = client.get("/evaluation/deductions?lang=en").get_data(as_text=True)
    assert [text for _, text, _ in carriers_of(english, deduction.id)] == [
        f"{units[AREA].name_en or units[AREA].name_zh} area (lead)",
        f"{units[DEPARTMENT].name_en or units[DEPARTMENT].name_zh} department in charge (cooperating)"]
    round_page = client.get(f"/evaluation/rounds/{deduction.round_id}?lang=zh-CN").get_data(as_text=True)
    assert [(code, points) for code, _, points in carriers_of(round_page, deduction.id)] == [
        (AREA, shown[0]), (DEPARTMENT, shown[1])], "the round's page shows the same shares"
