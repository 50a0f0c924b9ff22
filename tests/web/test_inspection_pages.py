"""三级督查 through the pages and the API: the tier and inspector come from the account whatever the form says;
a finding without the location its plan requires gets the error next to the field and writes nothing; the
coverage page and API name the grids each tier went through, in local time."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from engine.core.models import ChangeLogEntry, Event, Evidence, InspectionFinding, InspectionPlan, InspectionRound
from tests.helpers import bearer, csrf_from, jpeg, user, user_token

DC01 = (35.025, 110.995)


def counts(session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(InspectionFinding.id))),
            session.scalar(select(func.count(Evidence.id))))


def plan_id(session, code: str) -> int:
    return session.scalar(select(InspectionPlan.id).where(InspectionPlan.code == code))


def test_a_finding_without_location_is_refused_next_to_the_field_and_nothing_is_written(client, login, session,
                                                                                      csrf_on):
    login(client, "squad_lead")
    page = client.get("/inspection?lang=zh_Hans_CN").get_data(as_text=True)
    assert "中队内部全面督查" in page and "东城中队网格全面督查" in page
    assert "开发区中队网格全面督查" not in page  # the 东城中队's 中队长 inspects his own squad's plan
    started = client.post("/inspection/rounds", data={"plan": plan_id(session, "ZD-DC-DAILY"),
                                                      "csrf_token": csrf_from(page)})
    assert started.status_code == 302
    round_url = started.headers["Location"]
    form = client.get(round_url).get_data(as_text=True)
    assert 'id="location-notice"' in form and "HTTPS" in form
    before = counts(session)
    refused = client.post(f"{round_url}/findings", data={
        "csrf_token": csrf_from(form), "category": "06029", "description": "露天烧烤", "location_source": "pin",
        "photos": (io.BytesIO(jpeg()), "no-gps.jpg")}, content_type="multipart/form-data")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    errors = re.search(r'<div id="location-errors">(.*?)</div>', html, re.S).group(1)
    assert "本督查计划要求记录问题位置" in errors
    assert 'value="06029" selected' in html  # what was typed is kept
    session.expire_all()
    assert counts(session) == before
    missing_csrf = client.post(f"{round_url}/findings", data={"category": "06029", "lat": DC01[0], "lon": DC01[1]})
    assert missing_csrf.status_code == 400 and counts(session) == before


def test_the_api_takes_the_tier_and_inspector_from_the_token_never_the_payload(client, session):
    token = user_token(client, "squad_lead")
    plans = client.get("/api/v1/inspection/plans", headers=bearer(token)).get_json()
    assert plans["tier"] == 1 and {p["code"] for p in plans["plans"]} == {"ZD-DC-DAILY"}  # his squad's 内部全面督查
    other_tier = client.post("/api/v1/inspection/rounds", json={"plan": plan_id(session, "JLD-SPECIAL")},
                             headers={**bearer(token), "Accept-Language": "zh-CN"})
    assert other_tier.status_code == 422 and "本层级" in other_tier.get_json()["errors"][0]["message"]
    started = client.post("/api/v1/inspection/rounds", json={"plan": plan_id(session, "ZD-DC-DAILY"),
                                                              "location": {"lat": DC01[0], "lon": DC01[1]}},
                          headers=bearer(token))
    assert started.status_code == 201, started.get_json()
    round_id = started.get_json()["id"]
    found = client.post(f"/api/v1/inspection/rounds/{round_id}/findings", data={
        "category": "06029", "description": "露天烧烤", "lat": DC01[0], "lon": DC01[1], "location_source": "gps",
        "inspection_tier": "3", "inspector_id": "1", "photos": (io.BytesIO(jpeg()), "site.jpg")},
        headers=bearer(token), content_type="multipart/form-data")
    assert found.status_code == 201, found.get_json()
    body = found.get_json()
    assert (body["tier"], body["inspector"], body["location_source"], body["grid"]) == (
        1, user(session, "squad_lead").id, "gps", "DC-01")
    assert len(body["photos"]) == 1
    ended = client.post(f"/api/v1/inspection/rounds/{round_id}/end", json={}, headers=bearer(token))
    assert ended.status_code == 200 and ended.get_json()["ended_at"]
    late = client.post(f"/api/v1/inspection/rounds/{round_id}/track",
                       json={"location": {"lat": DC01[0], "lon": DC01[1], "source": "gps"}}, headers=bearer(token))
    assert late.status_code == 422
    someone_else = client.get(f"/api/v1/inspection/rounds/{round_id}",
                              headers=bearer(user_token(client, "supervisor")))
    assert someone_else.status_code == 404

    coverage = client.get("/api/v1/inspection/coverage", headers=bearer(user_token(client, "assessor"))).get_json()
    grid = next(g for g in coverage["grids"] if g["code"] == "DC-01")
    assert grid["tiers"]["1"]["findings"] == 1 and grid["tiers"]["1"]["days"]
    assert coverage["findings"]["1"] >= 1 and coverage["timezone"] == "Asia/Shanghai"
    assert client.get("/api/v1/inspection/coverage",
                      headers=bearer(user_token(client, "dongcheng"))).status_code == 403


def test_the_coverage_page_shows_the_week_in_local_time(client, login, session):
    login(client, "assessor")
    page = client.get("/inspection/coverage?week=2026-W49&lang=zh_Hans_CN").get_data(as_text=True)
    assert "督查覆盖 · 2026年第49周" in page and "2026-W49</h1>" not in page
    assert "2026-11-30 至 2026-12-06" in page  # Monday to Sunday in Shanghai, no midnights, not 16:00 UTC the day before
    assert "2026-11-30 00:00" not in page and "2026-12-07 00:00" not in page
    assert "督察中队定向督查" in page and 'id="coverage-grids"' in page
    assert "计划内未督查" in page  # the 中队's grids nobody walked this week
    assert client.get("/inspection/coverage?week=2026-13").status_code == 404


def test_a_round_is_its_inspector_s_own(client, login, session):
    squad = user(session, "squad_lead")
    round_ = InspectionRound(plan_id=plan_id(session, "ZD-DC-DAILY"), campaign_id=1, inspector_id=squad.id,
                             tier_level=1, started_at=squad.created_at, track=[])
    session.add(round_)
    session.commit()
    login(client, "supervisor")
    assert client.get(f"/inspection/rounds/{round_.id}").status_code == 404


def test_an_administrator_sets_a_tier_s_plan_with_its_scope_and_frequency(client, login, session, csrf_on):
    login(client, "admin")
    form = client.get("/admin/inspectionplan/new/?lang=zh_Hans_CN").get_data(as_text=True)
    assert "频次" in form and "工作清单" in form and "热点问题清单" in form
    saved = client.post("/admin/inspectionplan/new/", data={
        "csrf_token": csrf_from(form), "campaign": "1", "code": "ZD-NC-MARKET", "tier_level": "1",
        "name_zh": "南城中队农贸市场周边督查", "name_en": "Nancheng squad: around the markets", "frequency": "daily",
        "grids": ["NC-01", "NC-02"], "streets": [], "categories": [], "worklists": [],
        "requires_location": "y", "active": "y"})
    assert saved.status_code == 302
    plan = session.scalar(select(InspectionPlan).where(InspectionPlan.code == "ZD-NC-MARKET"))
    assert plan.tier_level == 1 and plan.scope["grids"] == ["NC-01", "NC-02"] and plan.requires_location
    edit = client.get(f"/admin/inspectionplan/edit/?id={plan.id}").get_data(as_text=True)
    assert re.search(r'<option selected value="NC-01"|<option value="NC-01" selected', edit)
    logged = session.scalar(select(ChangeLogEntry).where(ChangeLogEntry.object_type == "InspectionPlan",
                                                         ChangeLogEntry.object_id == str(plan.id)))
    assert logged is not None and logged.username == "admin" and logged.action == "insert"


def test_a_supervising_body_above_the_three_tiers_is_named_and_sent_to_its_board(client, login):
    """Levels 4–5 (城管委办公室, 督考办) supervise on the board and walk no rounds: the page names the body
    and offers no plan instead of failing on a tier the three inspection tiers do not have."""
    for username, body in (("committee_office", "城管委办公室"), ("assessment_office", "督考办")):
        login(client, username)
        page = client.get("/inspection?lang=zh_Hans_CN")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "您的督办机构" in html and body in html and 'href="/supervision"' in html
        assert 'id="start-form"' not in html and "没有有效的督查计划" not in html


def _row(html: str, table: str, attr: str) -> str:
    body = html[html.find(f'id="{table}"'):]
    start = body.find(attr)
    return body[start:body.find("</tr>", start)] if start >= 0 else ""


def test_coverage_and_bulletin_show_rounds_against_each_plans_frequency_and_who_held_none(client, login, session):
    """Seed 002: the three tiers 随时掌握工作开展情况 and the week is reported once a week. 西城's squad walked on two
    days of W49; 开发区's squad and the bureau leaders walked none, and the pages say so in both languages."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from engine.core import clock
    shanghai = ZoneInfo("Asia/Shanghai")
    clock.set_clock(lambda: datetime(2026, 12, 8, 10, 0, tzinfo=shanghai))
    for day in (1, 3):
        start = datetime(2026, 12, day, 9, 0, tzinfo=shanghai)
        session.add(InspectionRound(plan_id=plan_id(session, "ZD-XC-DAILY"), campaign_id=1, tier_level=1,
                                    inspector_id=user(session, "squad_lead").id, started_at=start,
                                    ended_at=start + timedelta(hours=1), track=[]))
    session.commit()
    login(client, "assessor")
    zh = client.get("/inspection/coverage?week=2026-W49&lang=zh_Hans_CN").get_data(as_text=True)
    xicheng = _row(zh, "coverage-plans", 'data-code="ZD-XC-DAILY"')
    assert "西城中队网格全面督查" in xicheng and "每日" in xicheng and "2/7 天" in xicheng and "未达到督查频次" in xicheng
    assert "本期未开展督查" in _row(zh, "coverage-plans", 'data-code="ZD-KF-DAILY"')
    bureau = _row(zh, "coverage-tiers", 'data-tier="3"')
    assert "0 · 未开展督查" in bureau and "局领导专项督查（占道经营与露天烧烤）" in bureau
    assert "开发区中队网格全面督查" in _row(zh, "coverage-tiers", 'data-tier="1"')
    en = client.get("/inspection/coverage?week=2026-W49&lang=en").get_data(as_text=True)
    assert "2 of 7 days" in _row(en, "coverage-plans", 'data-code="ZD-XC-DAILY"')
    assert "no round held in the period" in _row(en, "coverage-plans", 'data-code="ZD-KF-DAILY"')
    assert "Development Zone squad: all its grids" in _row(en, "coverage-tiers", 'data-tier="1"')
    api = client.get("/api/v1/inspection/coverage?week=2026-W49", headers=bearer(user_token(client, "assessor")))
    plans = {p["code"]: p for p in api.get_json()["plans"]}
    assert plans["ZD-XC-DAILY"]["held"] == 2 and plans["ZD-KF-DAILY"]["status"]["code"] == "none"

    bulletin = client.get("/assessment/bulletins/2026-W49?lang=zh_Hans_CN").get_data(as_text=True)
    tiers = bulletin[bulletin.find("三级督查开展轮次（按层级）"):]
    tiers = tiers[:tiers.find("</table>")]
    assert "督察中队定向督查" in tiers and "局领导专项督查（占道经营与露天烧烤）" in tiers  # held none: shown, not left out
    plans_table = bulletin[bulletin.find("各督查计划按频次开展情况"):]
    plans_table = plans_table[:plans_table.find("</table>")]
    assert "2/7 天" in plans_table and "开发区中队网格全面督查" in plans_table and "本期未开展督查" in plans_table
    english = client.get("/assessment/bulletins/2026-W49?lang=en").get_data(as_text=True)
    assert "Inspection rounds against each plan&#39;s frequency" in english and "2 of 7 days" in english


def test_the_inspectors_page_shows_their_tiers_rounds_this_week(client, login, session):
    """A 中队 inspector sees, for each plan of the tier, this week's rounds against its frequency (seed 002:
    随时掌握工作开展情况): Wednesday afternoon, 东城 walked only today, 开发区 not at all."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from engine.core import clock
    shanghai = ZoneInfo("Asia/Shanghai")
    clock.set_clock(lambda: datetime(2026, 12, 2, 15, 0, tzinfo=shanghai))
    session.add(InspectionRound(plan_id=plan_id(session, "ZD-DC-DAILY"), campaign_id=1, tier_level=1,
                                inspector_id=user(session, "squad_lead").id, track=[],
                                started_at=datetime(2026, 12, 2, 9, 0, tzinfo=shanghai),
                                ended_at=datetime(2026, 12, 2, 10, 0, tzinfo=shanghai)))
    session.commit()
    login(client, "squad_lead")
    zh = client.get("/inspection?lang=zh_Hans_CN").get_data(as_text=True)
    assert "本层级本周督查开展情况" in zh
    dongcheng = _row(zh, "tier-week", 'data-code="ZD-DC-DAILY"')
    assert "东城中队网格全面督查" in dongcheng and "1/3 天" in dongcheng and "未达到督查频次" in dongcheng
    assert 'data-code="ZD-KF-DAILY"' not in zh  # another squad's plan: its own 中队长 reads it
    assert 'data-code="JLD-SPECIAL"' not in zh  # another tier's plan
    en = client.get("/inspection?lang=en").get_data(as_text=True)
    assert "1 of 3 days" in _row(en, "tier-week", 'data-code="ZD-DC-DAILY"')


def test_the_squad_leads_pages_name_the_person_not_the_login(client, login, session, csrf_on):
    """The demo's squad lead (tier 1, 中队内部全面督查) is a person like the squads' own logins: pages show a name."""
    login(client, "squad_lead")
    home = client.get("/?lang=zh_Hans_CN").get_data(as_text=True)
    nav = re.search(r'<span id="nav-user">(.*?)</span>', home, re.S).group(1)
    assert "韩立军" in nav and "squad_lead" not in nav, nav
    page = client.get("/inspection?lang=zh_Hans_CN").get_data(as_text=True)
    started = client.post("/inspection/rounds", data={"plan": plan_id(session, "ZD-DC-DAILY"),
                                                      "csrf_token": csrf_from(page)})
    round_page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "韩立军" in round_page and "squad_lead" not in round_page


@pytest.mark.parametrize("username, name", [("supervisor", "杨帆"), ("bureau_lead", "王建国"),
                                            ("committee_office", "杨振华")])
def test_the_supervising_tiers_logins_are_named_for_their_people(client, login, username, name):
    """督察中队 (tier 2), the bureau's leader (tier 3) and the committee office (tier 4) are people of the demo:
    the bar names them, not the login."""
    login(client, username)
    nav = re.search(r'<span id="nav-user">(.*?)</span>', client.get("/?lang=zh_Hans_CN").get_data(as_text=True),
                    re.S).group(1)
    assert name in nav and username not in nav, nav
