"""Scores a bureau can defend, as users reach them (issue 17 point 6): the rankings API by role, a sanction's
record written on its form (errors next to the fields) and through the API, and the cadre appraisal XLSX read
back with openpyxl, its record column linking to the record."""
from __future__ import annotations

import io
import re
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from engine.assessment.indicators import period_containing
from engine.core import clock
from engine.core.models import SanctionDue, SanctionRecord, SanctionRule, SanctionRun, Unit
from tests.helpers import bearer, csrf_from, new_task, user_token


def _month() -> str:
    return period_containing("month", clock.now(), "Asia/Shanghai").label


def _day() -> str:
    return clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_rankings_give_each_unit_its_score_rank_and_no_cases_to_the_assessment_roles(app, factory, drain, session):
    new_task(factory, drain, session)  # JD-DC has a case this month; most other units have none
    client = app.test_client()
    month = _month()
    for role in ("admin", "auditor", "assessor"):
        answer = client.get(f"/api/v1/assessment/rankings?period={month}", headers=bearer(user_token(client, role)))
        assert answer.status_code == 200, role
        units = {u["unit"]: u for u in answer.get_json()["units"]}
        assert units["JD-DC"]["no_cases"] is False and units["JD-DC"]["dispatched"] >= 1
        assert isinstance(units["JD-DC"]["rank"], int)
        assert all(u["score"] >= 0 for u in units.values())
        idle = [u for u in units.values() if u["no_cases"]]
        assert idle and all(u["rank"] is None and u["dispatched"] == 0 for u in idle)  # 无案件: not ranked first
    for role in ("dispatcher", "dongcheng", "supervisor"):
        refused = client.get(f"/api/v1/assessment/rankings?period={month}", headers=bearer(user_token(client, role)))
        assert refused.status_code == 403, role
    assert client.get(f"/api/v1/assessment/rankings?period={month}").status_code == 401
    bad = client.get("/api/v1/assessment/rankings?period=2026-13", headers=bearer(user_token(client, "assessor")))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "period"


def test_a_record_through_the_api_names_every_bad_field_then_saves(app, session):
    client = app.test_client()
    token = user_token(client, "assessor")
    body = {"unit": "JD-DC", "period": "2026-11", "sanction": "interview", "held_on": "2026-12-03",
            "principal": "DC-001", "attendees": "督考办 王建国；东城街道 许海", "minutes": "通报排名情况，分析原因。",
            "commitments": "一周内整改到位", "follow_up": "", "follow_up_result": "pending"}
    wrong = {**body, "unit": "JD-XX", "held_on": "2099-01-01", "minutes": "", "sanction": "fine",
             "follow_up_result": "met"}
    refused = client.post("/api/v1/assessment/sanction-records", json=wrong, headers=bearer(token))
    assert refused.status_code == 422
    assert {e["field"] for e in refused.get_json()["errors"]} == {"unit", "held_on", "minutes", "sanction",
                                                                  "follow_up"}
    other = client.post("/api/v1/assessment/sanction-records?lang=zh_Hans_CN", json={**body, "principal": "XC-001"},
                        headers=bearer(token))
    assert other.status_code == 422 and other.get_json()["errors"] == [
        {"field": "principal", "message": "主要负责人须为东城街道办事处的人员。"}]
    assert session.scalar(select(SanctionRecord.id)) is None  # nothing half-written
    assert client.post("/api/v1/assessment/sanction-records", json=body,
                       headers=bearer(user_token(client, "auditor"))).status_code == 403
    saved = client.post("/api/v1/assessment/sanction-records", json=body, headers=bearer(token))
    assert saved.status_code == 201
    record = saved.get_json()
    assert record["principal"]["name"] == "许海" and record["unit"]["code"] == "JD-DC"
    listed = client.get("/api/v1/assessment/sanction-records?period=2026-11",
                        headers=bearer(user_token(client, "auditor"))).get_json()["records"]
    assert [r["id"] for r in listed] == [record["id"]] and listed[0]["minutes"] == "通报排名情况，分析原因。"


def _near(html: str, field: str, text: str) -> bool:
    """The message is inside the field's own block."""
    block = re.search(rf'id="field-{field}">(.*?)</div>\s*(?:<div class="field|<button|\{{|$)', html, re.S)
    return block is not None and text in block.group(1)


def test_the_form_shows_errors_next_to_fields_and_the_appraisal_file_links_the_record(app, session, login, csrf_on):
    client = app.test_client()
    login(client, "assessor")
    month = _month()
    page = client.get("/assessment/sanction-records/new?lang=zh_Hans_CN&unit=JD-DC&sanction=elimination&period="
                      + month).get_data(as_text=True)
    assert '<option selected value="elimination">末位淘汰' in page and '<option selected value="JD-DC">' in page
    fields = {"csrf_token": csrf_from(page), "unit": "JD-DC", "period": month, "sanction": "elimination",
              "held_on": "2099-01-01", "principal": "", "in_charge": "", "attendees": "", "minutes": "纪要",
              "commitments": "", "follow_up": "", "follow_up_result": "pending"}
    refused = client.post("/assessment/sanction-records/new?lang=zh_Hans_CN", data=fields)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert _near(html, "held_on", "日期晚于今天") and _near(html, "attendees", "请填写参加人员")
    assert _near(html, "principal", "请填写被约谈对象")
    assert session.scalar(select(SanctionRecord.id)) is None
    saved = client.post("/assessment/sanction-records/new?lang=zh_Hans_CN",
                        data={**fields, "held_on": _day(), "in_charge": "DC-002", "attendees": "督考办；东城街道"})
    assert saved.status_code == 302
    record = session.scalar(select(SanctionRecord))
    assert record.in_charge.name == "何平" and record.sanction == "elimination"
    assert "何平" in client.get("/assessment/sanction-records/?lang=zh_Hans_CN").get_data(as_text=True)

    unit = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    rule = session.scalar(select(SanctionRule).where(SanctionRule.code == "seed-3-quarters-subdistricts"))
    run = SanctionRun(campaign_id=rule.campaign_id, period=month, produced_at=clock.now())
    session.add(run)
    session.flush()
    session.add(SanctionDue(run_id=run.id, rule_id=rule.id, unit_id=unit.id, sanction="elimination",
                            ranks=[{"period": month, "rank": 3, "size": 3, "score": 50.0, "group": "subdistricts"}]))
    session.commit()
    bulletin = client.get(f"/assessment/bulletins/{month}?lang=zh_Hans_CN").get_data(as_text=True)
    assert "记录处理落实情况" in bulletin and "unit=JD-DC" in bulletin and "sanction=elimination" in bulletin
    answer = client.get(f"/assessment/appraisal/{month}.xlsx?lang=zh_Hans_CN")
    assert answer.status_code == 200 and f"appraisal-{month}.xlsx" in answer.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(answer.data)).active
    header = [c.value for c in sheet[2]]
    assert header[:6] == ["单位代码", "单位", "同类组", "期间", "得分", "名次"] and header[-1] == "处理记录"
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=3) if r[0].value}
    dc = rows["JD-DC"]
    assert dc[3].value == month and dc[8].value == "末位淘汰" and dc[4].value >= 0
    assert dc[-1].hyperlink.target.endswith(f"/assessment/sanction-records/{record.id}")
    idle = [r for code, r in rows.items() if r[7].value == "是"]
    assert idle and all(r[5].value == "无案件" for r in idle)
    assert client.get(f"/assessment/appraisal/{month}.xlsx").status_code == 200
    login(client, "dongcheng")
    assert client.get(f"/assessment/appraisal/{month}.xlsx").status_code == 403


def test_the_admin_sets_the_caps_and_where_units_with_no_cases_go(app, session, login, csrf_on):
    import uuid

    from engine.assessment.ranking import DEFAULT_WEIGHTS, scoring_for
    from engine.core.models import Campaign

    client = app.test_client()
    assert login(client, "admin").status_code == 302
    campaign = Campaign(code=f"scores-{uuid.uuid4().hex[:8]}", name_zh="扣分上限测试", name_en="Caps test")
    session.add(campaign)
    session.commit()
    page = client.get("/admin/assessmentconfig/new/?lang=zh_Hans_CN").get_data(as_text=True)
    assert "扣分上限（扣完为止）" in page and "不参与排名" in page and 'name="deduction_caps-points_lost" value="20"' in page
    data = {"csrf_token": csrf_from(page), "campaign": str(campaign.id), "weights": "boxes",
            **{f"weights-{key}": "" for key in DEFAULT_WEIGHTS}, "peer_groups": "rows",
            "peer_groups-0-name": "subdistricts", "peer_groups-0-types": ["subdistrict"],
            "deduction_caps": "boxes", "deduction_caps-points_lost": "-5", "deduction_caps-rebounds": "",
            "no_case_placement": "last", "cooperation_points": "lead", "response_hours": "2",
            "basic_satisfaction_weight": "1"}
    refused = client.post("/admin/assessmentconfig/new/?lang=zh_Hans_CN", data=data).get_data(as_text=True)
    at = refused.find('name="deduction_caps-points_lost"')
    assert at > 0 and "请输入不小于 0 的数" in refused[at:at + 1200]  # next to its box
    assert scoring_for(session, campaign).no_cases == "unranked"  # nothing saved
    saved = client.post("/admin/assessmentconfig/new/?lang=zh_Hans_CN",
                        data={**data, "deduction_caps-points_lost": "35"})
    assert saved.status_code == 302
    session.expire_all()
    scoring = scoring_for(session, campaign)
    assert scoring.caps == {"points_lost": 35, "rebounds": 20} and scoring.no_cases == "last"
