"""The versions page under the scenario gate: a failing scenario refuses the publish with expected against actual,
an administrator asks for an override with a reason, a second administrator confirms it, and only then it publishes."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from engine.accounts.users import create_user
from engine.authoring import scenarios
from engine.core.models import Campaign, ListItem, RuleList, RulesetVersion, ScenarioOverride
from tests.engine.test_scenarios import ZT4
from tests.helpers import csrf_from, reviewed_hash

PASSWORD = "second-admin-Pw-2026!"


def _client(app, login, username: str, password: str | None = None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.252.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    answer = login(client, username, password) if password else login(client, username)
    assert answer.status_code in (302, 303)
    return client


def test_a_failing_scenario_refuses_the_publish_until_a_second_administrator_confirms(app, factory, csrf_on, login):
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
        scenarios.save(session, campaign, ZT4)
        session.scalar(select(ListItem).join(RuleList).where(RuleList.campaign_id == campaign.id,
                                                             ListItem.key == "ZT4")).assign = "unit_type:squad"
        create_user(session, "admin-two", "admin", PASSWORD)
        campaign_id, start = campaign.id, campaign.published_version_id
        session.commit()
    first = _client(app, login, "admin")
    url = f"/admin/versions/{campaign_id}/draft?lang=en"
    page = first.get(url).get_data(as_text=True)
    refused = first.post(url, data={"csrf_token": csrf_from(page), "reviewed": reviewed_hash(page), "comment": "moves ZT4"})
    shown = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "scenarios fail on the draft" in shown
    assert "an unexpected zero_tolerance task for ZD-DC (by zero_tolerance.zt4)" in shown and "category in" in shown
    asked = first.post(f"/admin/versions/{campaign_id}/override", data={
        "csrf_token": csrf_from(shown), "reviewed": reviewed_hash(shown), "reason": "测评组要求改由中队处置零容忍占道经营"})
    assert asked.status_code in (302, 303)
    waiting = first.get(url).get_data(as_text=True)
    assert "waiting for a second administrator" in waiting and "confirm-override" not in waiting
    again = first.post(url, data={"csrf_token": csrf_from(waiting), "reviewed": reviewed_hash(waiting), "comment": "x"})
    assert again.status_code == 200 and "scenarios fail on the draft" in again.get_data(as_text=True)

    second = _client(app, login, "admin-two", PASSWORD)
    with factory() as session:
        override_id = session.scalar(select(ScenarioOverride.id).where(ScenarioOverride.campaign_id == campaign_id))
    page = second.get(url).get_data(as_text=True)
    assert "confirm-override" in page
    confirmed = second.post(f"/admin/versions/{campaign_id}/override/{override_id}/confirm",
                            data={"csrf_token": csrf_from(page)})
    assert confirmed.status_code in (302, 303)
    page = first.get(url).get_data(as_text=True)
    published = first.post(url, data={"csrf_token": csrf_from(page), "reviewed": reviewed_hash(page),
                                      "comment": "ZT4 to the squads, overridden"})
    assert published.status_code in (302, 303), published.get_data(as_text=True)[:1500]
    with factory() as session:
        campaign = session.get(Campaign, campaign_id)
        version = session.get(RulesetVersion, campaign.published_version_id)
        override = session.get(ScenarioOverride, override_id)
        assert version.id != start and override.version_id == version.id and override.confirmed_by_id is not None
        assert override.reason.startswith("测评组")


def test_a_rollback_is_never_refused_and_names_the_scenarios_its_version_fails(app, factory, csrf_on, login):
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
        scenarios.save(session, campaign, {**ZT4, "title": "夜巡必到", "expected": {"fire": ["night-street-order"]}})
        first = session.scalar(select(RulesetVersion.number).where(RulesetVersion.campaign_id == campaign.id)
                               .order_by(RulesetVersion.number).limit(1))
        campaign_id = campaign.id
        session.commit()
    client = _client(app, login, "admin")
    page = client.get("/admin/versions/?lang=zh").get_data(as_text=True)
    answer = client.post(f"/admin/versions/{campaign_id}/rollback/{first}?lang=zh",
                         data={"csrf_token": csrf_from(page), "comment": "事故回退"}, follow_redirects=True)
    shown = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "夜巡必到" in shown and "规则 night-street-order 应触发但未触发" in shown
    with factory() as session:
        newest = session.get(Campaign, campaign_id).published_version_id
        assert session.get(RulesetVersion, newest).comment == "事故回退"
