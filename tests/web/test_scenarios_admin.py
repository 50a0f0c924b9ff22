"""The admin's scenarios view: faults next to their fields (in the reader's language) with nothing stored, a save
that is then checked against the draft, and the simulator's outcome opening the form filled in."""
from __future__ import annotations

import html
import json
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from admin.simulator import as_scenario
from engine.core.models import Scenario
from tests.helpers import csrf_from


def _admin(app, login):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.251.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    assert login(client, "admin").status_code in (302, 303)
    return client


def _form(page: str, **fields) -> dict:
    base = {"csrf_token": csrf_from(page), "campaign": "1", "title": "东城占道经营", "tags": "ZT4", "category": "06029",
            "grid": "DC-03", "local_time": "2026-05-12 09:30", "source_type": "hotline", "facts": "", "history": "",
            "tasks": "JD-DC | zero_tolerance | 2 urgent_hours | 3", "fire": "zero_tolerance.zt4",
            "not_fire": "night-street-order", "stage": "file"}
    return {**base, **fields}


def _count(factory) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Scenario))


def test_faults_show_next_to_their_fields_and_nothing_is_stored(app, factory, csrf_on, login):
    client = _admin(app, login)
    page = client.get("/admin/scenarios/new?lang=zh").get_data(as_text=True)
    before = _count(factory)
    answer = client.post("/admin/scenarios/new?lang=zh", data=_form(page, local_time="5月12日晚上",
                                                                    tasks="NO-UNIT | zero_tolerance",
                                                                    fire="no-such-rule"))
    shown = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200
    beside = {name: shown.split(f'data-field="{name}"')[1].split('data-field=')[0]
              for name in ("local_time", "tasks", "fire")}
    assert "当地时间格式须如 2026-05-12 09:30" in beside["local_time"]
    assert "未知的单位 'NO-UNIT'" in beside["tasks"] and "未知的规则 'no-such-rule'" in beside["fire"]
    assert _count(factory) == before


def test_a_saved_scenario_passes_against_the_draft(app, factory, csrf_on, login):
    client = _admin(app, login)
    page = client.get("/admin/scenarios/new").get_data(as_text=True)
    saved = client.post("/admin/scenarios/new", data=_form(page))
    assert saved.status_code in (302, 303), saved.get_data(as_text=True)[:2000]
    listing = client.get("/admin/scenarios/").get_data(as_text=True)
    checked = client.post("/admin/scenarios/run/1", data={"csrf_token": csrf_from(listing)}).get_data(as_text=True)
    row = checked.split('data-title="东城占道经营"')[1].split("</tr>")[0]
    assert "badge-success" in row
    assert "露天烧烤（06029）" in row and "（DC-03）" in row  # category and grid by name, codes beside them


def test_the_simulators_outcome_opens_the_form_filled_in(app, csrf_on, login):
    answer = {"admission": "file", "campaigns": [{"fired": ["zero_tolerance.zt4"], "tasks": [
        {"unit": "JD-DC", "list": "zero_tolerance", "limit": {"value": 2.0, "unit": "urgent_hours"}}]}]}
    data = as_scenario({"category": "06029", "grid": "DC-03", "occurred_at": "2026-05-12T01:30:00+00:00"}, answer,
                       ZoneInfo("Asia/Shanghai"))
    assert data["event"]["local_time"] == "2026-05-12 09:30"  # the campaign's local time, not UTC
    urumqi = as_scenario({"category": "06029", "grid": "DC-03", "occurred_at": "2026-05-12T01:30:00+00:00"}, answer,
                         ZoneInfo("Asia/Urumqi"))
    assert urumqi["event"]["local_time"] == "2026-05-12 07:30"  # a campaign in another zone reads its own clock
    page = _admin(app, login).get("/admin/scenarios/new", query_string={"from": json.dumps(data)}).get_data(as_text=True)
    assert "JD-DC | zero_tolerance | 2 urgent_hours" in html.unescape(page) and 'value="zero_tolerance.zt4"' in page


def test_the_coverage_page_names_what_no_scenario_guards(app, factory, csrf_on, login):
    from engine.authoring.campaigns import campaign_for
    from engine.authoring.scenario_coverage import coverage

    with factory() as session:
        campaign = campaign_for(session, "chuangcheng-2026")
        found = coverage(session, campaign, "en")
        guarded = {e["rule"] for e in found.rows + found.rules if e["covered"]}
        assert {"zero_tolerance.zt4", "strict_management.sm10", "night-street-order", "rebound-alert"} <= guarded
        assert {e["rule"] for e in found.rows} - guarded == set()  # the demo guards all 16 list items
        open_routes = [e for e in found.routes if not e["covered"]]
        campaign_id = campaign.id
    page = _admin(app, login).get(f"/admin/scenarios/coverage/{campaign_id}").get_data(as_text=True)
    assert 'data-rule="zero_tolerance.zt4" data-covered="yes"' in page
    assert all(f'data-route="{e["unit"]}/{e["category"]}" data-covered="no"' in page for e in open_routes[:5])
    assert f"{found.uncovered}" in page.split('id="uncovered-count"')[1].split("</p>")[0]


def test_a_past_events_outcome_opens_the_form_filled_in(app, factory, drain, session, csrf_on, login):
    from tests.helpers import new_task

    task = new_task(factory, drain, session, grid="DC-02", unit="JD-DC")
    client = _admin(app, login)
    listing = client.get("/admin/event/").get_data(as_text=True)
    assert f"/admin/scenarios/from-event/{task.event_id}" in listing
    page = html.unescape(client.get(f"/admin/scenarios/from-event/{task.event_id}",
                                    follow_redirects=True).get_data(as_text=True))
    assert f"JD-DC | {task.list_kind} | " in page and 'selected value="DC-02"' in page


def test_the_rule_editor_warns_while_editing_which_scenarios_a_change_would_break(app, factory, csrf_on, login):
    from engine.core.models import Rule

    with factory() as session:
        night = session.scalar(select(Rule).where(Rule.key == "night-street-order"))
        doc = {**night.document, "enabled": True}
    client = _admin(app, login)
    page = client.get("/admin/rules/edit/?campaign=chuangcheng-2026&key=night-street-order").get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_from(page)}
    url = "/admin/rules/check?campaign=chuangcheng-2026&key=night-street-order&lang=zh"
    assert client.post(url, json={"document": doc}, headers=headers).get_json()["scenarios"] == []
    later = {**doc, "when": {"all": [doc["when"]["all"][0], {"fact": "local_hour", "op": "not_between", "value": [0, 23]}]}}
    warned = client.post(url, json={"document": later}, headers=headers).get_json()["scenarios"]
    assert [w["title"] for w in warned] == ["夜间店外经营派夜巡中队"]
    assert "规则 night-street-order 应触发但未触发" in [d["message"] for d in warned[0]["differences"]]
