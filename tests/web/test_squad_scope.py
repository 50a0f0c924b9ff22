"""A squad's inspector (tier 1, 中队内部督查, an account of the squad) reads its own squad's inspection plans, their
rounds and coverage, and its own units' items of the task breakdown table, in lists, pages and the API; another
squad's are not listed and their pages answer 404 or refuse. Higher tiers read them all, as before."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.accounts.users import create_user
from engine.core import clock
from engine.core.models import InspectionPlan, InspectionRound, PlanItem, User
from engine.readiness import plan
from engine.supervision.inspection import Photo
from tests.conftest import DEMO_PASSWORD
from tests.helpers import bearer, jpeg, user, user_token

SHANGHAI = ZoneInfo("Asia/Shanghai")


def plan_id(session, code: str) -> int:
    return session.scalar(select(InspectionPlan.id).where(InspectionPlan.code == code))


def item_id(session, code: str) -> int:
    return session.scalar(select(PlanItem.id).where(PlanItem.code == code))


@pytest.fixture()
def squad_dc(session) -> str:
    """东城's squad inspector: a supervisor of tier 1 with the account of 东城街道执法中队."""
    create_user(session, "insp-zd-dc", "supervisor", DEMO_PASSWORD, "ZD-DC").tier_level = 1
    session.commit()
    return "insp-zd-dc"


def _rounds(session) -> None:
    """This week, 西城's plan walked twice by a bureau-wide tier-1 account (of no unit), 东城's once."""
    walker = session.scalar(select(User).where(User.username == "insp-all")) or create_user(
        session, "insp-all", "supervisor", DEMO_PASSWORD, None)
    walker.tier_level = 1
    clock.set_clock(lambda: datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI))
    for code, day in (("ZD-XC-DAILY", 7), ("ZD-XC-DAILY", 8), ("ZD-DC-DAILY", 8)):
        start = datetime(2026, 12, day, 9, 0, tzinfo=SHANGHAI)
        session.add(InspectionRound(plan_id=plan_id(session, code), campaign_id=1, tier_level=1,
                                    inspector_id=walker.id, started_at=start,
                                    ended_at=start + timedelta(hours=1), track=[]))
    session.commit()


def test_a_squads_inspector_lists_and_walks_only_its_own_squads_plans(client, login, session, squad_dc):
    _rounds(session)
    login(client, squad_dc)
    page = client.get("/inspection?lang=zh_Hans_CN").get_data(as_text=True)
    assert "东城中队网格全面督查" in page
    assert "西城中队网格全面督查" not in page and "开发区中队网格全面督查" not in page
    token = user_token(client, squad_dc)
    plans = client.get("/api/v1/inspection/plans", headers=bearer(token)).get_json()
    assert plans["tier"] == 1 and [p["code"] for p in plans["plans"]] == ["ZD-DC-DAILY"]
    other = client.post("/api/v1/inspection/rounds", json={"plan": plan_id(session, "ZD-XC-DAILY")},
                        headers={**bearer(token), "Accept-Language": "zh-CN"})
    assert other.status_code == 422 and "属于其他中队" in other.get_json()["errors"][0]["message"]
    assert session.scalar(select(InspectionRound).where(InspectionRound.inspector_id == user(session, squad_dc).id)) \
        is None
    own = client.post("/api/v1/inspection/rounds", json={"plan": plan_id(session, "ZD-DC-DAILY")},
                      headers=bearer(token))
    assert own.status_code == 201
    xicheng = session.scalar(select(InspectionRound.id).join(InspectionPlan).where(InspectionPlan.code == "ZD-XC-DAILY"))
    assert client.get(f"/inspection/rounds/{xicheng}").status_code == 404
    assert client.get(f"/api/v1/inspection/rounds/{xicheng}", headers=bearer(token)).status_code == 404


def test_a_squads_inspector_reads_only_its_own_squads_coverage(client, login, session, squad_dc):
    token = user_token(client, squad_dc)
    clock.set_clock(lambda: datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI))
    before = client.get("/api/v1/inspection/coverage?week=2026-W50", headers=bearer(token)).get_json()["rounds"]["1"]
    _rounds(session)  # other tests' rounds of 东城's plan in this week count too: this one adds one, 西城's none
    mine = client.get("/api/v1/inspection/coverage?week=2026-W50", headers=bearer(token)).get_json()
    assert [p["code"] for p in mine["plans"]] == ["ZD-DC-DAILY"] and mine["rounds"]["1"] == before + 1
    assert {g["code"][:3] for g in mine["grids"]} == {"DC-"}
    assert {s["code"] for s in mine["streets"]} >= {"ST-DC-01", "ST-DC-02"}
    assert not any(s["code"].startswith("ST-XC") for s in mine["streets"])
    login(client, squad_dc)
    page = client.get("/inspection/coverage?week=2026-W50&lang=zh_Hans_CN").get_data(as_text=True)
    assert 'data-code="ZD-DC-DAILY"' in page and 'data-code="ZD-XC-DAILY"' not in page
    assert 'data-code="DC-01"' in page and 'data-code="XC-01"' not in page
    higher = client.get("/api/v1/inspection/coverage?week=2026-W50",
                        headers=bearer(user_token(client, "supervisor"))).get_json()  # tier 2 reads them all
    assert {"ZD-DC-DAILY", "ZD-XC-DAILY", "DCZD-TARGETED"} <= {p["code"] for p in higher["plans"]}
    assert higher["rounds"]["1"] >= 3


def test_a_squads_inspector_reads_only_its_own_units_items_of_the_task_breakdown_table(client, login, session,
                                                                                          squad_dc, settings):
    photo = plan.report_progress(session, session.get(PlanItem, item_id(session, "1.2")), user(session, "xicheng"),
                                 10, "西城的进度", [Photo("site.jpg", jpeg())], settings.evidence.dir).photos[0]
    session.commit()
    assert client.get(f"/plan/{item_id(session, '1.2')}/photos/{photo}").status_code == 302  # signed in first
    login(client, squad_dc)
    page = client.get("/plan?lang=zh_Hans_CN").get_data(as_text=True)
    assert 'id="item-' + str(item_id(session, "1.1")) + '"' in page  # 东城's item, its squad cooperating
    assert 'id="item-' + str(item_id(session, "1.2")) + '"' not in page and "西城的进度" not in page
    assert client.get(f"/plan/{item_id(session, '1.2')}/photos/{photo}").status_code == 404
    token = user_token(client, squad_dc)
    assert [i["code"] for i in client.get("/api/v1/plan-items", headers=bearer(token)).get_json()["items"]] == ["1.1", "4.1"]
    report = client.get("/api/v1/plan/report?month=2026-12", headers=bearer(token)).get_json()
    assert not any(line["unit"]["code"] != "ZD-DC" for line in report["units"])
    login(client, "supervisor")
    assert client.get(f"/plan/{item_id(session, '1.2')}/photos/{photo}").status_code == 200
    higher = user_token(client, "supervisor")
    assert {"1.1", "1.2"} <= {i["code"] for i in client.get("/api/v1/plan-items", headers=bearer(higher))
                              .get_json()["items"]}
    assert "JD-XC" in {line["unit"]["code"] for line in client.get("/api/v1/plan/report?month=2026-12",
                                                                    headers=bearer(higher)).get_json()["units"]}
