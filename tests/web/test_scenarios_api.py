"""POST /api/v1/scenarios/run: what `civicrules scenarios run` prints, for a bureau's CI, in the caller's language."""
from __future__ import annotations

from engine.authoring import scenarios
from engine.authoring.campaigns import campaign_for
from tests.engine.test_scenarios import ZT4
from tests.helpers import bearer, user_token


def test_an_auditor_runs_the_scenarios_and_reads_each_result(client, factory, demo):
    with factory() as session:
        campaign = campaign_for(session, demo["campaign"])
        scenarios.save(session, campaign, ZT4)
        scenarios.save(session, campaign, {**ZT4, "title": "错的", "expected": {"fire": ["night-street-order"]}})
        session.commit()
    token = user_token(client, "auditor")
    answer = client.post("/api/v1/scenarios/run", json={"campaign": demo["campaign"], "ruleset": "active"},
                         headers={**bearer(token), "Accept-Language": "zh-CN"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    by_title = {s["title"]: s for s in body["scenarios"]}
    assert body["passed"] is False and by_title[ZT4["title"]]["passed"] is True
    assert by_title["错的"]["differences"][0]["message"] == "规则 night-street-order 应触发但未触发"


def test_a_ruleset_that_is_not_one_is_named(client, demo):
    token = user_token(client, "admin")
    answer = client.post("/api/v1/scenarios/run", json={"ruleset": "tomorrow"}, headers=bearer(token))
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "ruleset"
